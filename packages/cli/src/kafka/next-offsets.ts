import type { Consumer } from 'kafkajs'

/** What NextOffsets uses of a consumer: its join event, and a seek. */
export type JoiningConsumer = Pick<Consumer, 'on' | 'events' | 'seek'>

/** A partition's first offset and next offset now, as kafkajs's fetchTopicOffsets gives them. */
export type PartitionEnds = { partition: number; low: string; high: string }

/**
 * What NextOffsets uses to find a topic made again since its offsets were taken: each partition's ends,
 * the consumer to seek, and who is told of a partition moved back to its start.
 */
export type RecreatedTopics = {
  /** The first and next offset of each partition of `topic` now. */
  ends(topic: string): Promise<readonly PartitionEnds[]>
  consumer: Pick<Consumer, 'seek'>
  /** Told of a partition whose next offset `was` is past its end now, moved back to its start `now`. */
  rewound(topic: string, partition: number, was: number, now: number): void
}

/**
 * The next offset to take of each partition of each topic, for a read that starts from offsets taken
 * before its consumer joins (a topic's ends, its starts, a range's first offset) and takes each record
 * once. Its group commits nothing to resume from, so each rejoin kafkajs makes (the session lost while
 * the process was stopped or blocked on a full pipe, a broker restart outlasting the retries) would put
 * the consumer where a new group starts: at the topic's end, the records written meanwhile never taken,
 * or at its start, every retained record taken again. So every join seeks each partition to its next
 * offset (seekAtEachJoin), and a record below it, a batch fetched again after a rejoin, is not taken a
 * second time (takes). A partition assigned at a join and not known (one added to its topic since the
 * start, or a topic not there at the start) is sought to its start, offset 0: made since the start,
 * every record of it is new; read from where kafkajs puts a new group, one subscribed to new records
 * (fromBeginning: false) missed each record written to it before kafkajs's metadata, 5 min old by
 * default, had it. It is known from the first record taken of it. The consumer should subscribe
 * fromBeginning: a partition whose offset 0 retention has deleted is then read from its start, not its end.
 *
 * A topic deleted and made again under the same name starts its offsets again from 0: kafkajs, finding
 * its consumer's offset past the new end, puts it where a new group starts, and no record below the old
 * next offset was taken; nothing of the new topic was taken until it passed the old one's end. With
 * `recreated`, a record not taken has its topic's ends asked (one question at a time a topic): a
 * partition whose end is below its next offset is moved back to its start, sought there and
 * `recreated.rewound` told. A record fetched again after a rejoin is below an end past the next offset,
 * and asks for nothing more. The consumer must subscribe fromBeginning for the new topic's records to
 * come again to be found so.
 */
export type NextOffsets = {
  /** The next offset to take of a partition: 0 for one not known, whose every record is taken. */
  of(topic: string, partition: number): number
  /**
   * Whether to take a record: not one below its partition's next offset, taken already (or, with
   * `recreated`, of a topic made again: its ends are asked).
   */
  takes(topic: string, partition: number, offset: number): boolean
  /** Moves a partition's next offset on to `next` (past a record taken); never back. */
  advance(topic: string, partition: number, next: number): void
  /**
   * Seeks, at each join of `consumer`, each partition known (and kept by `only`) to its next offset. In
   * the join's listener, before its first fetch: a seek once run() returned failed when the join had
   * crashed meanwhile (a coordinator still loading), and the command died of kafkajs's "consumer#run
   * must be called first" in place of the crash's own error. A partition the join assigns and not known
   * (kept by `only`) is sought to offset 0.
   */
  seekAtEachJoin(consumer: JoiningConsumer, only?: (topic: string, partition: number) => boolean): void
}

/** NextOffsets from `start`: by topic, each partition's first offset to take. */
export function createNextOffsets(
  start: ReadonlyMap<string, ReadonlyMap<number, number>>,
  recreated?: RecreatedTopics,
): NextOffsets {
  const next = new Map([...start].map(([topic, partitions]) => [topic, new Map(partitions)]))
  const of = (topic: string, partition: number) => next.get(topic)?.get(partition) ?? 0
  const known = (topic: string, partition: number) => next.get(topic)?.has(partition) ?? false
  // The topics whose ends are being asked.
  const asking = new Set<string>()
  const rewindIfRecreated = async (topic: string, check: RecreatedTopics) => {
    asking.add(topic)
    try {
      for (const { partition, low, high } of await check.ends(topic)) {
        const was = of(topic, partition)
        if (!known(topic, partition) || Number(high) >= was) continue
        const now = Number(low)
        next.get(topic)!.set(partition, now)
        check.rewound(topic, partition, was, now)
        // Out of the join's listener: a seek that fails (the consumer crashed meanwhile) is left to the
        // join of its restart, which seeks the offset moved back.
        try {
          check.consumer.seek({ topic, partition, offset: String(now) })
        } catch {}
      }
    } catch {
      // Not answered: the next record not taken asks again.
    } finally {
      asking.delete(topic)
    }
  }
  return {
    of,
    takes(topic, partition, offset) {
      if (offset >= of(topic, partition)) return true
      if (recreated && !asking.has(topic)) void rewindIfRecreated(topic, recreated)
      return false
    },
    advance(topic, partition, to) {
      if (to <= of(topic, partition)) return
      const partitions = next.get(topic) ?? next.set(topic, new Map()).get(topic)!
      partitions.set(partition, to)
    },
    seekAtEachJoin(consumer, only = () => true) {
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        for (const [topic, partitions] of next)
          for (const [partition, offset] of partitions)
            if (only(topic, partition)) consumer.seek({ topic, partition, offset: String(offset) })
        // The partitions the join assigns (a stand-in's join may name none).
        const assigned: Record<string, number[]> = event?.payload?.memberAssignment ?? {}
        for (const [topic, partitions] of Object.entries(assigned))
          for (const partition of partitions)
            if (!known(topic, partition) && only(topic, partition))
              consumer.seek({ topic, partition, offset: '0' })
      })
    },
  }
}

import type { Consumer } from 'kafkajs'

/** What NextOffsets uses of a consumer: its join event, and a seek. */
export type JoiningConsumer = Pick<Consumer, 'on' | 'events' | 'seek'>

/**
 * The next offset to take of each partition of each topic, for a read that starts from offsets taken
 * before its consumer joins (a topic's ends, its starts, a range's first offset) and takes each record
 * once. Its group commits nothing to resume from, so each rejoin kafkajs makes (the session lost while
 * the process was stopped or blocked on a full pipe, a broker restart outlasting the retries) would put
 * the consumer where a new group starts: at the topic's end, the records written meanwhile never taken,
 * or at its start, every retained record taken again. So every join seeks each partition to its next
 * offset (seekAtEachJoin), and a record below it, a batch fetched again after a rejoin, is not taken a
 * second time (takes). A partition not known at the start is not sought: it is read from where kafkajs
 * puts a new group, and known from the first record taken of it.
 */
export type NextOffsets = {
  /** The next offset to take of a partition: 0 for one not known, whose every record is taken. */
  of(topic: string, partition: number): number
  /** Whether to take a record: not one below its partition's next offset, taken already. */
  takes(topic: string, partition: number, offset: number): boolean
  /** Moves a partition's next offset on to `next` (past a record taken); never back. */
  advance(topic: string, partition: number, next: number): void
  /**
   * Seeks, at each join of `consumer`, each partition known (and kept by `only`) to its next offset. In
   * the join's listener, before its first fetch: a seek once run() returned failed when the join had
   * crashed meanwhile (a coordinator still loading), and the command died of kafkajs's "consumer#run
   * must be called first" in place of the crash's own error.
   */
  seekAtEachJoin(consumer: JoiningConsumer, only?: (topic: string, partition: number) => boolean): void
}

/** NextOffsets from `start`: by topic, each partition's first offset to take. */
export function createNextOffsets(start: ReadonlyMap<string, ReadonlyMap<number, number>>): NextOffsets {
  const next = new Map([...start].map(([topic, partitions]) => [topic, new Map(partitions)]))
  const of = (topic: string, partition: number) => next.get(topic)?.get(partition) ?? 0
  return {
    of,
    takes: (topic, partition, offset) => offset >= of(topic, partition),
    advance(topic, partition, to) {
      if (to <= of(topic, partition)) return
      const partitions = next.get(topic) ?? next.set(topic, new Map()).get(topic)!
      partitions.set(partition, to)
    },
    seekAtEachJoin(consumer, only = () => true) {
      consumer.on(consumer.events.GROUP_JOIN, () => {
        for (const [topic, partitions] of next)
          for (const [partition, offset] of partitions)
            if (only(topic, partition)) consumer.seek({ topic, partition, offset: String(offset) })
      })
    },
  }
}

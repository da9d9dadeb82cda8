import type { HealthCheck, InRecord } from '@tradepulse/platform'

/** A partition's offsets at the gateway's start: the records it holds are [low, high). */
export type PartitionOffsets = { partition: number; low: number; high: number }

/** A moment that comes once: those waiting for it are told then, those who ask after it at once. */
function createMoment() {
  let come = false
  const waiting = new Set<() => void>()
  return {
    get come() {
      return come
    },
    reach() {
      if (come) return
      come = true
      const told = [...waiting]
      waiting.clear()
      for (const f of told) f()
    },
    /** Calls `f` once it has come (at once if it has); returns what stops that. */
    on(f: () => void): () => void {
      if (come) {
        f()
        return () => {}
      }
      waiting.add(f)
      return () => waiting.delete(f)
    },
  }
}

/**
 * Whether the gateway has read what the alerts topic held when it started: until then its feed lacks
 * alerts it is about to read (a resumed stream would get a `gap`, GET /api/alerts would miss the newest),
 * so it is not ready and a load balancer sends readers to the gateways that are. Once caught up it stays
 * so: what comes after is the live stream. A partition counts as read to its end when this gateway's
 * consumer has moved past its last offset (the runner's position: past the records handled and past the
 * transaction markers and aborted records that no handler sees, so a partition that ends in a marker is
 * read to its end too), or when the consumer group committed past it (KAFKA_GROUP_ID: a restart resumes
 * at its commits, so records read before it are not handed to it again).
 */
export function createCatchUp() {
  // Every partition's end at the start, the empty ones' too: a record past it was written after the start.
  let atStart: Map<number, number> | undefined
  // The partitions holding records at the start, with their ends: the ones to read.
  let ends: Map<number, number> | undefined
  const read = new Map<number, number>()
  const endsKnown = createMoment()
  const caughtUp = createMoment()
  const advance = (partition: number, next: number) => {
    if (next > (read.get(partition) ?? 0)) read.set(partition, next)
  }
  const behind = () => {
    if (!ends) return undefined
    let n = 0
    for (const [p, high] of ends) if ((read.get(p) ?? 0) < high) n++
    return n
  }
  const check = () => {
    if (!caughtUp.come && behind() === 0) caughtUp.reach()
  }
  return {
    /** The topic's offsets at the start (partitions holding nothing need no reading). */
    setEnds(offsets: readonly PartitionOffsets[]) {
      atStart = new Map(offsets.map((o) => [o.partition, o.high]))
      ends = new Map(offsets.filter((o) => o.high > o.low).map((o) => [o.partition, o.high]))
      endsKnown.reach()
      check()
    },
    /**
     * Calls `f` once the ends at the start are known (at once if they are); returns what stops that. A
     * stream that does not resume is answered only then (alert-stream.ts): answered before, an alert
     * written between its answer and the ends' read would lie before them, history to it.
     */
    onEndsKnown: endsKnown.on,
    /**
     * Whether a record was written after the start: at or past its partition's end then (a partition
     * the topic did not have then: any record). An alert read during the catch-up may be one, read with
     * the last of what the topic held; a stream opened meanwhile is sent it as live (alert-stream.ts).
     * False while the ends are unknown.
     */
    isNews(partition: number, offset: number): boolean {
      return atStart !== undefined && offset >= (atStart.get(partition) ?? 0)
    },
    /** The group's committed offsets (the next offset each partition's reader takes; < 0: none). */
    committed(offsets: readonly { partition: number; offset: number }[]) {
      for (const { partition, offset } of offsets) advance(partition, offset)
      check()
    },
    /** Records handled (after the handler took them). */
    handled(records: readonly InRecord[]) {
      for (const r of records) advance(r.partition, Number(r.offset) + 1)
      check()
    },
    /**
     * The consumer's position in a partition: the next offset it reads (BatchRunner.onPosition), past
     * control records and aborted records as well as those handled.
     */
    position(partition: number, next: number) {
      advance(partition, next)
      check()
    },
    get caughtUp() {
      return caughtUp.come
    },
    /** Calls `f` once caught up (at once if so already); returns what stops that. */
    onCaughtUp: caughtUp.on,
    health: (async () => {
      if (caughtUp.come) return { status: 'ok', ready: true }
      const n = behind()
      return {
        status: 'ok',
        ready: false,
        detail:
          n === undefined
            ? "catching up: reading the alerts topic's ends"
            : `catching up: ${n} partition(s) of the alerts topic still being read`,
      }
    }) satisfies HealthCheck,
  }
}

export type CatchUp = ReturnType<typeof createCatchUp>

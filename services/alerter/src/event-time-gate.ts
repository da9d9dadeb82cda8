import {
  type BatchHandler,
  type HandlerContext,
  type InRecord,
  isKafkaAclRefusal,
  normalizeError,
  type Outcome,
} from '@tradepulse/platform'

type Submission = {
  source: string
  records: InRecord[]
  ctx: HandlerContext
  times: number[]
  /** Each record's outcome, filled in as the rounds handle them. */
  outcomes: (Outcome | undefined)[]
  /** records[i] has been handed to a round when taken[i]. */
  taken: boolean[]
  left: number
  /** The newest event time of its records (the source's progress while it waits). */
  newest: number
  resolve: (outcomes: Outcome[]) => void
  reject: (err: unknown) => void
}

/**
 * Whether the runner reads a chunk whose handling threw `err` again whole, later (createBatchStages): a
 * fault to retry, or Kafka refusing the credentials or the ACL in a call the handler made (publishing its
 * alerts), which it waits out too. Anything else it hands on again at once, one record at a time.
 */
function readAgainLater(err: unknown): boolean {
  const e = normalizeError(err)
  return e.retriable || e.code === 'KAFKA_AUTH' || isKafkaAclRefusal(err)
}

/**
 * The most records a round hands on (the oldest of what the bound lets through; the rest in the next
 * round). With the 12 input partitions handled at once, a backlog piled up rounds of ~15,600 records
 * while Redis answered the round before: the handler parsed and evaluated them, and built one MGET of
 * their outbox keys, in turns of the event loop of 0.2-0.8 s (health answers and live alerts waiting,
 * and past the Kafka session under CPU starvation). A round's Redis round trips are few (outbox and
 * hysteresis read, claims, marks): rounds of 4,000 cost a backlog nothing measurable.
 */
const MAX_ROUND = 4_000

/**
 * Hands the records the partitions being handled at once submit to `inner` in event-time order across
 * them, so that what the alerter decides in order (a cooldown keeps the first alert of its stream, the
 * evidence is what came before an update) follows the news and not the order Kafka delivered it in.
 * kafkajs hands the batches of one fetch to the handler side by side, each partition's in offset order:
 * read as they come, a partition holding a rewrite at 09:52 took the cooldown from another partition's
 * original at 09:40 still a chunk behind it (a backlog caught up, a replay, the sample played at once).
 *
 * A round hands on, merged and sorted by event time, every record no newer than
 *
 *     bound = min over the sources waiting of their newest event time + aheadMs
 *
 * where a source is a partition with a submission not yet fully handled, and at most `maxRound` of them
 * (MAX_ROUND), the oldest in event time: the rest stay for the next round, which sorts them with what
 * came meanwhile (a submission is resolved once all its records were handed on, over as many rounds as
 * it takes). The source with the oldest newest time gets all it submitted, a round at most at a time,
 * and every round hands on at least one record, so every submission is completed (or failed) in the
 * end: no timers, no deadlock. Rounds start on the next turn of the event loop, so that the
 * handlers of one fetch (kafkajs starts them together), a partition's next chunk (the runner starts it
 * as soon as the chunk before it was handled), and the records of a failed submission handed on again
 * one at a time, join the round. Rounds run one at a time. A record without an event time is handed on
 * at once (the handler sends it to the dlq).
 *
 * A round that fails on a fault (a retriable error, or a refusal the runner waits out: readAgainLater)
 * fails every submission waiting, as the runner then reads each of their chunks again from its first
 * record, later: one partition's records must not be decided ahead of another's that failed and come
 * again. A round that fails on a bug or a Redis reply retrying cannot mend (a WRONGTYPE on a key of one
 * record's own) fails only the submissions with records in it: the runner hands their records on again
 * at once, one at a time, and they join the next round. One waiting with none in it (newer than the
 * bound) stays for that round: before, it failed with the error too, and a lone record of it (live
 * traffic) was dead-lettered with the error of another partition's record it was never handed on with.
 * A round of several submissions that fails so is handed on again part by part, so that only the
 * submission holding that record fails: merged, a record of another partition would fail with it and be
 * dead-lettered in its place. A fault while it goes part by part fails every submission waiting, as
 * above. The inner handler's effects are idempotent per record, so what a failed round did before
 * failing is absorbed when it runs again.
 */
export function gateInEventTime(
  inner: BatchHandler,
  opts: {
    aheadMs: number
    eventMs: (record: InRecord) => number | undefined
    /** The most records a round hands on (default MAX_ROUND). */
    maxRound?: number
  },
): BatchHandler {
  const maxRound = Math.max(1, opts.maxRound ?? MAX_ROUND)
  const waiting: Submission[] = []
  let scheduled = false
  let running = false

  const schedule = () => {
    if (scheduled || running) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
      void round()
    })
  }

  async function round(): Promise<void> {
    if (waiting.length === 0) return
    running = true
    // The bound: the oldest of the sources' newest times, each source by its submissions still waiting.
    const newestBySource = new Map<string, number>()
    for (const s of waiting)
      newestBySource.set(
        s.source,
        Math.max(newestBySource.get(s.source) ?? Number.NEGATIVE_INFINITY, s.newest),
      )
    let oldest = Number.POSITIVE_INFINITY
    for (const t of newestBySource.values()) oldest = Math.min(oldest, t)
    const bound = oldest + opts.aheadMs
    const batch: { s: Submission; i: number; t: number; order: number }[] = []
    let order = 0
    for (const s of waiting)
      for (let i = 0; i < s.records.length; i++)
        if (!s.taken[i] && s.times[i]! <= bound) batch.push({ s, i, t: s.times[i]!, order: order++ })
    batch.sort((a, b) => a.t - b.t || a.order - b.order)
    // The oldest of them, at most maxRound: the rest are not taken, and go in the next round.
    if (batch.length > maxRound) batch.length = maxRound
    for (const b of batch) b.s.taken[b.i] = true
    // The context of the oldest submission in the round (its abort signal: the runner stopping or the group
    // rebalancing, which abort every batch's signal alike, 05fee19).
    const ctx = { signal: waiting[0]!.ctx.signal }
    const hand = async (part: typeof batch) => {
      const outcomes = await inner(
        part.map((b) => b.s.records[b.i]!),
        ctx,
      )
      part.forEach((b, k) => {
        b.s.outcomes[b.i] = outcomes[k]
        b.s.left--
      })
    }
    /** Fails one submission alone; the others waiting stay for the next round. */
    const fail = (sub: Submission, err: unknown) => {
      waiting.splice(waiting.indexOf(sub), 1)
      sub.reject(err)
    }
    try {
      try {
        await hand(batch)
      } catch (err) {
        // A fault: every submission waiting fails, and its chunk comes again in order.
        if (readAgainLater(err)) throw err
        const parts = [...new Set(batch.map((b) => b.s))]
        // A bug one record triggers, or a reply retrying cannot mend: only the submissions with records
        // in the round fail; those waiting with none in it were not handed on, and stay.
        if (parts.length === 1) fail(parts[0]!, err)
        // Several: each one's part alone, so that only the one holding that record fails, and a record of
        // another partition merged into the same round is not taken for it (and dead-lettered).
        else
          for (const sub of parts)
            try {
              await hand(batch.filter((b) => b.s === sub))
            } catch (own) {
              // A fault meanwhile fails every submission waiting, as above: going on, the others would
              // be decided ahead of this one's records, which come again later.
              if (readAgainLater(own)) throw own
              fail(sub, own)
            }
      }
      for (let k = waiting.length - 1; k >= 0; k--) {
        const s = waiting[k]!
        if (s.left > 0) continue
        waiting.splice(k, 1)
        s.resolve(s.outcomes as Outcome[])
      }
    } catch (err) {
      for (const s of waiting.splice(0)) s.reject(err)
    } finally {
      running = false
      if (waiting.length > 0) schedule()
    }
  }

  return (records, ctx) => {
    if (records.length === 0) return Promise.resolve([])
    const times = records.map((r) => opts.eventMs(r) ?? Number.NEGATIVE_INFINITY)
    let newest = Number.NEGATIVE_INFINITY
    for (const t of times) if (t > newest) newest = t
    const first = records[0]!
    return new Promise<Outcome[]>((resolve, reject) => {
      waiting.push({
        source: `${first.topic}/${first.partition}`,
        records,
        ctx,
        times,
        outcomes: new Array(records.length),
        taken: new Array(records.length).fill(false),
        left: records.length,
        newest,
        resolve,
        reject,
      })
      schedule()
    })
  }
}

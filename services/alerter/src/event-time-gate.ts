import {
  type BatchHandler,
  type HandlerContext,
  type InRecord,
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
 * where a source is a partition with a submission not yet fully handled. The source with the oldest
 * newest time always gets all it submitted, so every round completes at least one submission: no timers,
 * no deadlock. Rounds start on the next turn of the event loop, so that the handlers of one fetch (kafkajs
 * starts them together), and a partition's next chunk (the runner starts it as soon as the chunk before
 * it was handled), join the round. Rounds run one at a time. A record without an event time is handed on
 * at once (the handler sends it to the dlq).
 *
 * A round that fails on a fault (a retriable error) fails every submission waiting, as the runner then
 * reads each of their chunks again from its first record: one partition's records must not be decided
 * ahead of another's that failed and come again. A round of several submissions that fails on a bug (a
 * record the handler cannot take; the runner isolates it by handing its records on one at a time) is
 * handed on again part by part, so that only the submission holding that record fails: merged, a record
 * of another partition would fail with it and be dead-lettered in its place. The inner handler's effects
 * are idempotent per record, so what a failed round did before failing is absorbed when it runs again.
 */
export function gateInEventTime(
  inner: BatchHandler,
  opts: { aheadMs: number; eventMs: (record: InRecord) => number | undefined },
): BatchHandler {
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
    for (const b of batch) b.s.taken[b.i] = true
    // The context of the oldest submission in the round (its abort signal: the runner stopping).
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
    try {
      try {
        await hand(batch)
      } catch (err) {
        const parts = [...new Set(batch.map((b) => b.s))]
        // A fault (retriable): every submission waiting fails, and its chunk comes again in order.
        if (normalizeError(err).retriable || parts.length === 1) throw err
        // A bug one record triggers (the runner then finds it by handing its records on one at a time):
        // each submission's part alone, so that only the one holding that record fails, and a record of
        // another partition merged into the same round is not taken for it (and dead-lettered).
        for (const sub of parts)
          try {
            await hand(batch.filter((b) => b.s === sub))
          } catch (own) {
            waiting.splice(waiting.indexOf(sub), 1)
            sub.reject(own)
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

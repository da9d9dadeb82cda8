import type { Headline, TopicCatalogue } from '@tradepulse/contracts'
import {
  type BatchHandler,
  claimOrigin,
  type DedupStore,
  isClaimTaken,
  type Outcome,
  traceHeaders,
} from '@tradepulse/platform'
import { type IngestLimits, parseRawRecord } from './parse-raw.ts'

export type IngestHandlerDeps = {
  topics: TopicCatalogue
  /**
   * The dedup claims, which tell a headline's first claim from its record's re-claim, so the time counters
   * below count a headline once.
   */
  dedup: DedupStore
  limits: IngestLimits
  defaultSource: string
  /** How many headlines of a batch had their publishedAt replaced, being too far ahead (a metric). */
  onFuture?: (n: number) => void
  /** How many headlines of a batch had their publishedAt replaced, being before 2000 (a metric). */
  onPast?: (n: number) => void
  /** How many records of a batch had an implausible timestamp, the wall clock taken instead (a metric). */
  onImplausibleTimestamp?: (n: number) => void
  /** The wall clock, in ms (Date.now when absent). */
  now?: () => number
}

/**
 * headlines.raw → headlines. Parsing and normalising are pure; the only effect is one dedup claim per
 * valid record, all of a batch's claims in one Redis round trip.
 */
export function createIngestHandler(deps: IngestHandlerDeps): BatchHandler {
  const out = deps.topics.headlines.name
  const now = deps.now ?? Date.now
  return async (records) => {
    const outcomes: Outcome[] = new Array(records.length)
    const valid: {
      index: number
      headline: Headline
      origin: string
      future: boolean
      past: boolean
      implausible: boolean
    }[] = []
    const nowMs = now()
    records.forEach((r, index) => {
      const parsed = parseRawRecord(r.value, r.timestamp, deps.limits, deps.defaultSource, nowMs)
      if (parsed.ok) {
        valid.push({
          index,
          headline: parsed.headline,
          origin: claimOrigin(r),
          future: parsed.futureMs !== undefined,
          past: parsed.pastMs !== undefined,
          implausible: parsed.implausibleTimestamp !== undefined,
        })
      } else outcomes[index] = { kind: 'dlq', reason: parsed.reason, message: parsed.message }
    })
    const answers = await deps.dedup.claimHeadlines(
      valid.map((v) => ({ id: v.headline.id, origin: v.origin })),
    )
    // Counted once the claims are made, for the headlines claimed first: a batch that failed on a Redis
    // fault and is retried counts once; so does one handled again after its claims were made (given up
    // while its output was unacknowledged, or redelivered after a crash), its records re-claiming ('again');
    // a duplicate of another record not at all.
    let future = 0
    let past = 0
    let implausible = 0
    valid.forEach((v, i) => {
      if (answers[i] !== 'first') return
      if (v.future) future++
      if (v.past) past++
      if (v.implausible) implausible++
    })
    if (future > 0) deps.onFuture?.(future)
    if (past > 0) deps.onPast?.(past)
    if (implausible > 0) deps.onImplausibleTimestamp?.(implausible)
    valid.forEach((v, i) => {
      // A re-claim is published again: the earlier attempt's output may never have been sent.
      outcomes[v.index] = isClaimTaken(answers[i]!)
        ? {
            kind: 'ok',
            out: [
              {
                topic: out,
                key: v.headline.id,
                value: JSON.stringify(v.headline),
                // Trace context travels with the headline so an alert can be traced back to its raw
                // record; only a valid one, as a producer's header of any size would otherwise be
                // copied onto the output.
                headers: traceHeaders(records[v.index]!.headers),
              },
            ],
          }
        : { kind: 'drop', reason: 'duplicate' }
    })
    return outcomes
  }
}

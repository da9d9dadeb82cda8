import type { ScoredIndicatorInput } from '@tradepulse/contracts'
import { type Contribution, contributionsOf } from '@tradepulse/indicators'

/** A Kafka record timestamp before 2000 is no clock reading (a producer that set none, a test's 0). */
const PLAUSIBLE_FROM_MS = Date.UTC(2000, 0, 1)

/** The dead-letter reason of a headline stamped past the hard bound (see placeEventTime). */
export const EVENT_TIME_AHEAD = 'event_time_ahead'

export type EventTimeBounds = {
  /** AGGREGATOR_MAX_AHEAD_MS: the furthest past "now" a headline is applied at. */
  maxAheadMs: number
  /** AGGREGATOR_GRACE_MS: a headline further ahead than maxAheadMs + this is refused. */
  graceMs: number
}

/**
 * "Now" for a headlines.scored record: its Kafka record timestamp (when the broker appended it:
 * headlines.scored is a LogAppendTime topic since 757e528; on one still on CreateTime, when the scorer
 * produced it), or the wall clock when the timestamp is later than it or no clock reading. The record
 * timestamp, not the wall clock alone, so that a catch-up and a rebuild place a headline where a live
 * worker reading it at once did (deterministic: the same records give the same event times whenever
 * they are read); the wall clock caps it, so a broker whose clock runs fast cannot widen the bound. A
 * broker whose clock runs behind narrows it: live headlines look that much ahead (countAhead warns).
 */
export function recordNowMs(recordTimestamp: number, wallMs: number): number {
  return Number.isFinite(recordTimestamp) && recordTimestamp >= PLAUSIBLE_FROM_MS
    ? Math.min(recordTimestamp, wallMs)
    : wallMs
}

export type PlacedEventTime =
  /** `eventMs`: the time it is applied at; `aheadMs` > 0: it was stamped that far past the bound. */
  | { ok: true; eventMs: number; aheadMs: number }
  | { ok: false; reason: typeof EVENT_TIME_AHEAD; message: string }

/**
 * The event time a headline is applied at: its publishedAt, but at most `maxAheadMs` past its record's
 * now (recordNowMs). An indicator judges lateness against its newest event, and every headline counts in
 * the global scope: applied at a time stamped minutes ahead (a feed whose clock runs fast; ingest lets
 * through up to about 10 min), one headline made every on-time headline published more than a grace
 * before that time late in the global indicators, and in every other scope it names. Applied at the
 * bound, it moves no indicator's newest event past the clock.
 *
 * A headline stamped further ahead than `maxAheadMs + graceMs` is no clock running fast but a wrong time
 * (2099): moved back that far it would be dated wrongly by more than the grace the indicators tolerate,
 * so it is refused, and the caller dead-letters it (the rebuild skips it, as the live worker did).
 * Nothing past that bound reaches the store: applied at its own time, one such record made every later
 * headline late in its scopes for a week and emptied the scope registries (whose retention runs back
 * from the newest event).
 */
export function placeEventTime(publishedMs: number, nowMs: number, bounds: EventTimeBounds): PlacedEventTime {
  const limit = nowMs + bounds.maxAheadMs
  if (!(publishedMs > limit)) return { ok: true, eventMs: publishedMs, aheadMs: 0 }
  if (publishedMs - limit > bounds.graceMs)
    return {
      ok: false,
      reason: EVENT_TIME_AHEAD,
      message: `publishedAt ${new Date(publishedMs).toISOString()} is ${publishedMs - nowMs} ms past its record's time ${new Date(nowMs).toISOString()}, more than AGGREGATOR_MAX_AHEAD_MS + AGGREGATOR_GRACE_MS (${bounds.maxAheadMs + bounds.graceMs} ms)`,
    }
  return { ok: true, eventMs: limit, aheadMs: publishedMs - limit }
}

/** contributionsOf, applied at `eventMs` (placeEventTime's) rather than at its publishedAt. */
export function contributionsAt(headline: ScoredIndicatorInput, eventMs: number): Contribution[] {
  const own = contributionsOf(headline)
  if (own.length === 0 || own[0]!.eventMs === eventMs || !Number.isFinite(eventMs)) return own
  return own.map((c) => ({ ...c, eventMs }))
}

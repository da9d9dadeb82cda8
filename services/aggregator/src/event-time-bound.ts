import type { ScoredIndicatorInput } from '@tradepulse/contracts'
import { type Contribution, contributionsOf } from '@tradepulse/indicators'

/** A Kafka record timestamp before 2000 is no clock reading (a producer that set none, a test's 0). */
const PLAUSIBLE_FROM_MS = Date.UTC(2000, 0, 1)

export type EventTimeBounds = {
  /** AGGREGATOR_MAX_AHEAD_MS: the furthest past "now" a headline is applied at. */
  maxAheadMs: number
}

/**
 * "Now" for a headlines.scored record: its Kafka record timestamp (when the scorer produced it), or
 * the wall clock when that is earlier or the timestamp is no clock reading. The record timestamp, not
 * the wall clock alone, so that a catch-up and a rebuild place a headline where a live worker reading
 * it at once did (deterministic: the same records give the same event times whenever they are read);
 * the wall clock caps it, so a producer whose clock runs fast cannot widen the bound.
 */
export function recordNowMs(recordTimestamp: number, wallMs: number): number {
  return Number.isFinite(recordTimestamp) && recordTimestamp >= PLAUSIBLE_FROM_MS
    ? Math.min(recordTimestamp, wallMs)
    : wallMs
}

/** `eventMs`: the time a headline is applied at; `aheadMs` > 0: it was stamped that far past the bound. */
export type PlacedEventTime = { ok: true; eventMs: number; aheadMs: number }

/**
 * The event time a headline is applied at: its publishedAt, but at most `maxAheadMs` past its record's
 * now (recordNowMs). An indicator judges lateness against its newest event, and every headline counts in
 * the global scope: applied at a time stamped minutes ahead (a feed whose clock runs fast; ingest lets
 * through up to about 10 min), one headline made every on-time headline published more than a grace
 * before that time late in the global indicators, and in every other scope it names. Applied at the
 * bound, it moves no indicator's newest event past the clock.
 */
export function placeEventTime(publishedMs: number, nowMs: number, bounds: EventTimeBounds): PlacedEventTime {
  const limit = nowMs + bounds.maxAheadMs
  if (!(publishedMs > limit)) return { ok: true, eventMs: publishedMs, aheadMs: 0 }
  return { ok: true, eventMs: limit, aheadMs: publishedMs - limit }
}

/** contributionsOf, applied at `eventMs` (placeEventTime's) rather than at its publishedAt. */
export function contributionsAt(headline: ScoredIndicatorInput, eventMs: number): Contribution[] {
  const own = contributionsOf(headline)
  if (own.length === 0 || own[0]!.eventMs === eventMs || !Number.isFinite(eventMs)) return own
  return own.map((c) => ({ ...c, eventMs }))
}

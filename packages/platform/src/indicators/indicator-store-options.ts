import type { Clock } from '@tradepulse/contracts'
import type { IndicatorConfig } from '@tradepulse/indicators'
import { durationMs } from '../config.ts'

/** What both adapters take; the Redis one adds its key prefix. */
export type IndicatorStoreOptions = {
  /** Namespace of the indicators (a rebuild writes into a fresh one). */
  namespace?: string
  config?: Partial<IndicatorConfig>
  /** Most scope ids per kind; the rest fold into `other`. Bounds the key count. */
  maxScopesPerKind?: number
  /** Wall clock, for updatedAt (and in-memory expiry): the indicators themselves run on event time. */
  clock?: Clock
  /**
   * How far past the clock an indicator's stored reference time (its newest applied event) may lie
   * before the store takes it as damaged (isDamagedRef): an apply resets it to the batch's newest event
   * (see applyContributions; reported in ApplyBatchResult.damagedRefs), and a read (get, top) leaves the
   * indicator out until then (WithheldIndicator), as its asOf would be that time and its values decayed
   * against it. A reference time past the clock by more than any writer's bound on event time can only
   * be Redis edited by hand or damaged, and it made every later headline late until the key expired. Set
   * only where every writer's clock is right within that bound: the aggregator, its CLI and the gateway
   * pass maxRefAheadMsOf (AGGREGATOR_MAX_AHEAD_MS + AGGREGATOR_GRACE_MS), the bound past which the
   * aggregator dead-letters a headline as event_time_ahead. Absent, only a reference time that is no
   * finite number is taken as damaged (tests run stores on clocks of their own, behind their events).
   */
  maxRefAheadMs?: number
}

export const INDICATOR_STORE_DEFAULTS = { namespace: 'v1', maxScopesPerKind: 1_000 } as const

/**
 * The newest reference time a store may keep at wall-clock `nowMs` (applyContributions' refLimitMs),
 * from a maxRefAheadMs checked when the store is made: the largest double when none is set.
 */
export function refLimitOf(maxRefAheadMs: number | undefined): (nowMs: number) => number {
  if (maxRefAheadMs === undefined) return () => Number.MAX_VALUE
  if (!(Number.isSafeInteger(maxRefAheadMs) && maxRefAheadMs >= 0))
    throw new RangeError(`maxRefAheadMs must be a whole number of ms of at least 0 (got ${maxRefAheadMs})`)
  return (nowMs) => nowMs + maxRefAheadMs
}

/** AGGREGATOR_MAX_AHEAD_MS unset (the aggregator's handler and rebuild default to it too). */
export const DEFAULT_MAX_AHEAD_MS = 30_000

/**
 * AGGREGATOR_GRACE_MS and AGGREGATOR_MAX_AHEAD_MS: the aggregator's variables, which the gateway reads
 * too (one environment serves both), as the bound on a plausible stored reference time is made of them
 * (maxRefAheadMsOf) and a reader must judge one as the apply does. One schema each, so both workers take
 * the same value and default.
 */
export const aggregatorGraceMs = () =>
  durationMs(1_000)
    .default(600_000)
    .describe(
      "a headline older than its indicator's newest event minus this is late: counted and logged, not applied",
    )

export const aggregatorMaxAheadMs = () =>
  durationMs(0)
    .default(DEFAULT_MAX_AHEAD_MS)
    .describe(
      "the event-time watermark (asOf of published updates, asOf=latest) goes at most this far past the wall clock, and a headline stamped further ahead (a feed whose clock runs fast, or the broker's clock runs behind) is applied at this bound past its Kafka record's time, so it makes no on-time headline late, and one more than this plus AGGREGATOR_GRACE_MS ahead goes to the dlq (event_time_ahead); event time behind the clock (replays) is never bound. An indicator whose stored newest event lies more than this plus AGGREGATOR_GRACE_MS past the clock (Redis edited or damaged) is reset by its next apply, and until then left out of every read: the gateway's answers, the aggregator's updates",
    )

/**
 * The maxRefAheadMs of every store the aggregator's and the gateway's configuration open:
 * AGGREGATOR_MAX_AHEAD_MS + AGGREGATOR_GRACE_MS. No headline is applied further past its member's clock
 * than AGGREGATOR_MAX_AHEAD_MS (placeEventTime), and the grace is left for the members' clocks (and the
 * gateway's) to disagree by: the bound past which the aggregator dead-letters a headline as
 * event_time_ahead.
 */
export function maxRefAheadMsOf(
  config: Readonly<{ AGGREGATOR_MAX_AHEAD_MS: number; AGGREGATOR_GRACE_MS: number }>,
): number {
  return config.AGGREGATOR_MAX_AHEAD_MS + config.AGGREGATOR_GRACE_MS
}

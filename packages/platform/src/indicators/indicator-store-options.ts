import type { Clock } from '@tradepulse/contracts'
import type { IndicatorConfig } from '@tradepulse/indicators'

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
   * before an apply takes it as damaged and resets it to the batch's newest event (see
   * applyContributions; reported in ApplyBatchResult.damagedRefs). A reference time past the clock by
   * more than any writer's bound on event time can only be Redis edited by hand or damaged, and it made
   * every later headline late until the key expired. Set only where every writer's clock is right
   * within that bound: the aggregator passes AGGREGATOR_MAX_AHEAD_MS + AGGREGATOR_GRACE_MS, the bound
   * past which it dead-letters a headline as event_time_ahead. Absent, only a reference time that is no
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

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
}

export const INDICATOR_STORE_DEFAULTS = { namespace: 'v1', maxScopesPerKind: 1_000 } as const

import type { IndicatorStore } from '@tradepulse/indicators'

/** The store of the namespace readers use: the one a rebuild activated, else the store's own. */
export async function activeIndicatorStore(store: IndicatorStore): Promise<IndicatorStore> {
  const active = (await store.activeNamespace()) ?? store.namespace
  return active === store.namespace ? store : store.withNamespace(active)
}

/** What a reader asks to read the indicators at: the aggregator's event time, the clock, or a time. */
export type IndicatorAsOf = 'latest' | 'now' | number

/**
 * The event time an `asOf` stands for, and where it came from. `latest` is the namespace's event-time
 * watermark (the newest event time the aggregator published at), or the clock when it has none (or a
 * damaged one, which the store gives as none: IndicatorStore.watermark): after a replay of old news, the
 * indicators at the wall clock have decayed to nothing.
 */
export async function eventTimeOf(
  asOf: IndicatorAsOf,
  store: Pick<IndicatorStore, 'watermark'>,
  now: () => number = Date.now,
): Promise<{ ms: number; from: 'given' | 'clock' | 'watermark' }> {
  if (typeof asOf === 'number') return { ms: asOf, from: 'given' }
  if (asOf === 'now') return { ms: now(), from: 'clock' }
  const watermark = await store.watermark()
  return watermark === undefined ? { ms: now(), from: 'clock' } : { ms: watermark, from: 'watermark' }
}

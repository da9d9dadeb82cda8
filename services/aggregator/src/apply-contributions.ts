import type { Contribution, IndicatorStore } from '@tradepulse/indicators'
import type { Logger } from '@tradepulse/platform'
import type { AggregatorMetrics } from './aggregator-metrics.ts'

const LATE_SAMPLE = 5

/**
 * Applies one round to a store and accounts for it: applied and duplicate counts, and every late
 * contribution counted by dimension and logged at warn with a sample of its headlines (never silent).
 */
export async function applyAndReport(
  store: IndicatorStore,
  round: readonly Contribution[],
  deps: { log: Logger; metrics: AggregatorMetrics },
): Promise<void> {
  const stopTimer = deps.metrics.applySeconds.startTimer()
  const r = await store.applyBatch(round)
  stopTimer()
  deps.metrics.applied.inc(r.applied)
  if (r.duplicates > 0) deps.metrics.duplicates.inc(r.duplicates)
  if (r.late === 0) return
  const byDimension = new Map<string, number>()
  const headlines = new Map<string, number>()
  for (const c of r.lateContributions) {
    byDimension.set(c.dimension, (byDimension.get(c.dimension) ?? 0) + 1)
    headlines.set(c.headlineId, c.eventMs)
  }
  for (const [dimension, n] of byDimension) deps.metrics.late.inc({ dimension }, n)
  deps.log.warn(
    {
      lateContributions: r.late,
      lateHeadlines: headlines.size,
      sample: [...headlines]
        .slice(0, LATE_SAMPLE)
        .map(([id, ms]) => ({ id, publishedAt: new Date(ms).toISOString() })),
      namespace: store.namespace,
    },
    'late headlines: older than the grace period behind their indicators; counted, not applied',
  )
}

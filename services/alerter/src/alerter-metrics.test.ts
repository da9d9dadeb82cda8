import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { ALERT_LATENCY_BUCKETS, createAlerterMetrics } from './alerter-metrics.ts'

/** The `le` bounds a histogram of the registry exposes, +Inf left out. */
async function bounds(registry: Registry, name: string): Promise<number[]> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
  const values = (metric?.values ?? []) as { metricName?: string; labels: Record<string, unknown> }[]
  return [
    ...new Set(
      values.filter((v) => v.metricName === `${name}_bucket`).map((v) => v.labels.le as number | string),
    ),
  ].filter((le): le is number => typeof le === 'number')
}

describe('tradepulse_alert_latency_seconds', () => {
  it('has buckets past 30 s up to an hour, and keeps the low ones', async () => {
    // Alerts an outage held ~60 s all landed in +Inf past a 30 s top bucket: histogram_quantile read 30 s
    // whether they were a minute or an hour late.
    const registry = new Registry()
    const metrics = createAlerterMetrics(registry)
    metrics.latency.observe({ kind: 'headline_shock' }, 0.02)
    const le = await bounds(registry, 'tradepulse_alert_latency_seconds')
    expect(le).toEqual(ALERT_LATENCY_BUCKETS)
    for (const b of [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600])
      expect(le, `bucket ${b}`).toContain(b)
    expect([...le].sort((a, b) => a - b)).toEqual(le)
  })

  it('puts a minute late and an hour late in different buckets, by kind', async () => {
    const registry = new Registry()
    const metrics = createAlerterMetrics(registry)
    metrics.latency.observe({ kind: 'level' }, 61)
    metrics.latency.observe({ kind: 'headline_shock' }, 3_500)
    const values = ((await registry.getMetricsAsJSON()).find(
      (m) => m.name === 'tradepulse_alert_latency_seconds',
    )?.values ?? []) as { metricName?: string; value: number; labels: Record<string, unknown> }[]
    const bucket = (kind: string, le: number) =>
      values.find((v) => v.metricName?.endsWith('_bucket') && v.labels.kind === kind && v.labels.le === le)
        ?.value
    expect(bucket('level', 60)).toBe(0)
    expect(bucket('level', 120)).toBe(1)
    expect(bucket('headline_shock', 1800)).toBe(0)
    expect(bucket('headline_shock', 3600)).toBe(1)
  })
})

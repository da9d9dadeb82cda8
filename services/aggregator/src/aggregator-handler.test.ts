import { createTopicCatalogue } from '@tradepulse/contracts'
import { createLogger, createMemoryIndicatorStore, type InRecord } from '@tradepulse/platform'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createAggregator } from './aggregator-handler.ts'
import { createAggregatorMetrics } from './aggregator-metrics.ts'
import { MIN_MS, scoredSeries } from './scored-fixtures.ts'

const T0 = Date.parse('2026-03-02T00:00:00Z')
const GRACE = 10 * MIN_MS

describe('aggregator handler', () => {
  const topics = createTopicCatalogue('t.')
  const ctx = { signal: new AbortController().signal }

  function setup(partSize: number) {
    const registry = new Registry()
    const aggregator = createAggregator({
      topics,
      store: createMemoryIndicatorStore({ config: { graceMs: GRACE } }),
      log: createLogger({ level: 'silent' }),
      metrics: createAggregatorMetrics(registry),
      graceMs: GRACE,
      partSize,
      publish: { intervalMs: 1_000, largeChange: 0.1, burstFactor: 0, shortLabel: '15m' },
    })
    const late = async () =>
      Number(
        / (\d+)$/m.exec(await registry.getSingleMetricAsString('tradepulse_indicator_late_total'))?.[1] ?? 0,
      )
    return { handler: aggregator.handler, late }
  }
  const recordsOf = (partition: number, headlines: ReturnType<typeof scoredSeries>): InRecord[] =>
    headlines.map((h, i) => ({
      topic: topics.scored.name,
      partition,
      offset: String(i),
      key: Buffer.from(h.id),
      value: Buffer.from(JSON.stringify(h)),
      headers: {},
      timestamp: 0,
    }))

  it("keeps a partition in flight between the parts of its batch, so another's batch does not run ahead of them", async () => {
    const { handler, late } = setup(10)
    // A: an hour in 6 parts; B: its second half. Applied part by part, B must wait for A's parts.
    const a = recordsOf(0, scoredSeries(60, { startMs: T0, spanMs: 60 * MIN_MS, idPrefix: 'a' }))
    const b = recordsOf(
      1,
      scoredSeries(60, { startMs: T0 + 30 * MIN_MS, spanMs: 30 * MIN_MS, idPrefix: 'b' }),
    )
    await Promise.all([handler(a, ctx), handler(b, ctx)])
    expect(await late()).toBe(0)
  })
})

import { createManualClock, createTopicCatalogue } from '@tradepulse/contracts'
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

  function setup(
    partSize: number,
    clock = createManualClock(0),
    store = createMemoryIndicatorStore({ config: { graceMs: GRACE } }),
  ) {
    const registry = new Registry()
    const aggregator = createAggregator({
      clock,
      topics,
      store,
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
    return { aggregator, handler: aggregator.handler, late }
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

  it('keeps a key pending on the trailing edge when its update could not be sent, and sends it on the next tick', async () => {
    const clock = createManualClock(1_000_000)
    const { aggregator, handler } = setup(2_000, clock)
    const series = scoredSeries(40, { startMs: T0, spanMs: 30 * MIN_MS, idPrefix: 'k' })
    // The first batch publishes its keys at once; the second, within the interval, leaves them pending.
    await handler(recordsOf(0, series.slice(0, 20)), ctx)
    await handler(
      recordsOf(0, series.slice(20)).map((r, i) => ({ ...r, offset: String(20 + i) })),
      ctx,
    )
    clock.advance(2_000)
    const failing = async () => {
      throw new Error('broker unreachable')
    }
    await expect(aggregator.flushDue(failing)).rejects.toThrow('broker unreachable')
    const sent: string[] = []
    const n = await aggregator.flushDue(async (records) => {
      for (const r of records) sent.push(String(r.key))
    })
    expect(n).toBeGreaterThan(0)
    expect(sent).toContain('market|global:all')
    // Sent now: nothing pending any more.
    clock.advance(2_000)
    expect(await aggregator.flushDue(async () => {})).toBe(0)
  })

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

  it("publishes at the members' shared watermark: a member that has read less does not go back in event time", async () => {
    const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
    const a = setup(2_000, createManualClock(0), store)
    const b = setup(2_000, createManualClock(0), store)
    /** The asOf of the global market update a batch published. */
    const asOfOf = async (handle: typeof a.handler, records: InRecord[]) => {
      const outcomes = await handle(records, ctx)
      const out = outcomes.flatMap((o) => (o.kind === 'ok' ? (o.out ?? []) : []))
      const update = out.find((r) => r.key === 'market|global:all')
      return Date.parse(JSON.parse(String(update?.value)).asOf)
    }
    // Member A reads its partition up to T0 + 30 min; member B, on the other, is only at T0 + 5 min.
    const ahead = await asOfOf(
      a.handler,
      recordsOf(0, scoredSeries(10, { startMs: T0 + 20 * MIN_MS, spanMs: 10 * MIN_MS, idPrefix: 'a' })),
    )
    const behind = await asOfOf(
      b.handler,
      recordsOf(1, scoredSeries(10, { startMs: T0, spanMs: 5 * MIN_MS, idPrefix: 'b' })),
    )
    expect(ahead).toBeGreaterThanOrEqual(T0 + 29 * MIN_MS)
    expect(behind).toBe(ahead)
  })
})

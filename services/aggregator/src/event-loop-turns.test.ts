// The aggregator lets the event loop turn while it works through a large batch (a backlog's fetch), so
// /healthz and /metrics are answered meanwhile: before, a part of 2,000 headlines was parsed in one go,
// the event times of a fetch's parts to come read in one go, and the store given merged rounds of up to
// 80,000 contributions to build in one go, and a liveness probe's 1 s timeout killed the worker mid
// catch-up. Observed by order (a setImmediate scheduled as the batch starts runs before its last record
// is read) and by round size, not by time; and the results are the same either way.
import { createManualClock, createTopicCatalogue, type ScoredHeadline } from '@tradepulse/contracts'
import { type Contribution, contributionsOf } from '@tradepulse/indicators'
import { createLogger, createMemoryIndicatorStore, type InRecord, type Outcome } from '@tradepulse/platform'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createAggregator } from './aggregator-handler.ts'
import { createAggregatorMetrics } from './aggregator-metrics.ts'
import { applyInRuns } from './apply-contributions.ts'
import { createEventTimeMerger } from './event-time-merger.ts'
import {
  compareStores,
  doubledAndShuffled,
  HOUR_MS,
  MIN_MS,
  scoredRecords,
  scoredSeries,
  seededRandom,
  targetsOf,
} from './scored-fixtures.ts'

const T0 = Date.parse('2026-03-02T00:00:00Z')
const GRACE = 10 * MIN_MS
const WALL_MS = T0 + 30 * 24 * HOUR_MS
const topics = createTopicCatalogue('t.')
const ctx = { signal: new AbortController().signal }

function aggregatorWith(opts: { partSize: number; sliceMs?: number }) {
  const clock = createManualClock(WALL_MS)
  const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
  const registry = new Registry()
  const aggregator = createAggregator({
    clock,
    monotonic: clock,
    topics,
    store,
    log: createLogger({ level: 'silent' }),
    metrics: createAggregatorMetrics(registry),
    graceMs: GRACE,
    publish: { intervalMs: 1_000, largeChange: 0.1, burstFactor: 0, shortLabel: '15m' },
    ...opts,
  })
  return { aggregator, store, registry }
}

const recordsOf = (partition: number, headlines: readonly ScoredHeadline[]): InRecord[] =>
  scoredRecords(topics.scored.name, partition, headlines)

/** The records, each noting in `events` when its value is read (`read <index>`). */
function watched(records: readonly InRecord[], events: string[]): InRecord[] {
  return records.map((r, i) => {
    const { value, ...rest } = r
    return Object.defineProperty({ ...rest }, 'value', {
      enumerable: true,
      get: () => {
        events.push(`read ${i}`)
        return value
      },
    }) as InRecord
  })
}

// Generous timeouts: a few thousand headlines through the memory store, on a machine the whole suite loads.
describe('aggregator handler and the event loop', { timeout: 30_000 }, () => {
  it('lets the event loop turn while it parses a part of a large batch', async () => {
    // One part of 300 records: before, parsed whole with no turn of the loop.
    const { aggregator } = aggregatorWith({ partSize: 2_000, sliceMs: 0 })
    const series = scoredSeries(300, { startMs: T0, spanMs: 2 * HOUR_MS })
    const events: string[] = []
    const records = watched(recordsOf(0, series), events)
    setImmediate(() => events.push('turn'))
    const outcomes = await aggregator.handler(records, ctx)
    expect(outcomes.every((o) => o.kind === 'ok')).toBe(true)
    expect(events).toContain('turn')
    expect(events.indexOf('turn')).toBeLessThan(events.lastIndexOf('read 299'))
  })

  it('lets the event loop turn while it reads the event times of the parts still to come', async () => {
    // Parts of 300: the event times of records 300-899 are read (last to first) before the first part is
    // parsed; before, all of them with no turn of the loop.
    const { aggregator } = aggregatorWith({ partSize: 300, sliceMs: 0 })
    const series = scoredSeries(900, { startMs: T0, spanMs: 6 * HOUR_MS })
    const events: string[] = []
    const records = watched(recordsOf(0, series), events)
    setImmediate(() => events.push('turn'))
    await aggregator.handler(records, ctx)
    expect(events).toContain('turn')
    expect(events.indexOf('turn')).toBeLessThan(events.indexOf('read 300'))
  })

  it('gives the same outcomes, indicators and updates whether it turns every few records or never', async () => {
    // Records out of event-time order and every headline twice (late and duplicate ones among them), in
    // parts of 300, the batch after a first one that published every key (the second holds some back).
    const series = scoredSeries(400, { startMs: T0, spanMs: 8 * HOUR_MS })
    const mixed = doubledAndShuffled(series, seededRandom(11))
    const batches = [recordsOf(0, mixed.slice(0, 200)), recordsOf(0, mixed.slice(200))]
    batches[1] = batches[1]!.map((r, i) => ({ ...r, offset: String(200 + i) }))
    const run = async (sliceMs: number) => {
      const { aggregator, store, registry } = aggregatorWith({ partSize: 300, sliceMs })
      const results: Outcome[][] = []
      for (const b of batches) results.push(await aggregator.handler(b, ctx))
      const counters: string[] = []
      for (const name of [
        'tradepulse_indicator_applied_total',
        'tradepulse_indicator_late_total',
        'tradepulse_indicator_duplicates_total',
        'tradepulse_indicator_updates_total',
      ])
        counters.push(await registry.getSingleMetricAsString(name))
      return { results, store, counters }
    }
    const turning = await run(0)
    const whole = await run(Number.POSITIVE_INFINITY)
    // Each update as published, but for updatedAt (the wall clock of its reading).
    const updates = (outcomes: readonly Outcome[]) =>
      outcomes.map((o) =>
        o.kind === 'ok'
          ? (o.out ?? []).map((r) => [r.key, { ...JSON.parse(String(r.value)), updatedAt: undefined }])
          : o.kind,
      )
    expect(turning.results.map(updates)).toEqual(whole.results.map(updates))
    expect(turning.counters).toEqual(whole.counters)
    expect(await compareStores(turning.store, whole.store, targetsOf(series), T0 + 8 * HOUR_MS)).toEqual([])
  })
})

describe('event-time merger rounds of bounded size', { timeout: 30_000 }, () => {
  it('applies a backlog in capped rounds exactly as in rounds as large as they come', async () => {
    // Headlines out of order within minutes and each twice: late and duplicate contributions, judged
    // against what the rounds before applied.
    const series = scoredSeries(450, { startMs: T0, spanMs: 12 * HOUR_MS })
    const mixed = doubledAndShuffled(series, seededRandom(5))
    const run = async (maxRound?: number) => {
      const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
      const registry = new Registry()
      const metrics = createAggregatorMetrics(registry)
      const log = createLogger({ level: 'silent' })
      const rounds: Contribution[][] = []
      const merger = createEventTimeMerger(
        async (round) => {
          rounds.push(round)
          return applyInRuns(store, round, { log, metrics, graceMs: GRACE })
        },
        { graceMs: GRACE, ...(maxRound ? { maxRound } : {}) },
      )
      // Three parts submitted at once, as a handler's parts pile up while Redis applies a round.
      const parts = [0, 1, 2].map((k) => mixed.slice(k * 300, (k + 1) * 300))
      const folded = await Promise.all(
        parts.map((p, k) => merger.submit(p.flatMap(contributionsOf), `s${k}`)),
      )
      const late = await registry.getSingleMetricAsString('tradepulse_indicator_late_total')
      const duplicates = await registry.getSingleMetricAsString('tradepulse_indicator_duplicates_total')
      return { store, rounds, folded, late, duplicates }
    }
    const capped = await run(300)
    const whole = await run()
    expect(whole.rounds.length).toBeLessThan(capped.rounds.length)
    // At most 300 contributions in a round but for those of its newest event time (a headline's, twice
    // here, stay together); and each round follows the one before in event time.
    let before = Number.NEGATIVE_INFINITY
    for (const round of capped.rounds) {
      const times = round.map((x) => x.eventMs)
      const newest = Math.max(...times)
      expect(times.filter((t) => t < newest).length).toBeLessThan(300)
      expect(Math.min(...times)).toBeGreaterThan(before)
      before = newest
    }
    expect(capped.late).toEqual(whole.late)
    expect(capped.duplicates).toEqual(whole.duplicates)
    expect(capped.folded).toEqual(whole.folded)
    expect(await compareStores(capped.store, whole.store, targetsOf(series), T0 + 12 * HOUR_MS)).toEqual([])
  })
})

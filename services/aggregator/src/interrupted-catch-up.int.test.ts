import { createManualClock, createTopicCatalogue } from '@tradepulse/contracts'
import type { IndicatorStore } from '@tradepulse/indicators'
import {
  createLogger,
  createRedisIndicatorStore,
  type HandlerContext,
  type InRecord,
  type OutRecord,
  TradepulseError,
} from '@tradepulse/platform'
import { waitFor } from '@tradepulse/testing'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createAggregator } from './aggregator-handler.ts'
import { createAggregatorMetrics } from './aggregator-metrics.ts'
import { appliedOffsetsKey, redisAppliedOffsets } from './applied-offsets.ts'
import { indicatorOverrides } from './config.ts'
import { useAggregatorTestContext } from './int-test-context.ts'
import {
  compareStores,
  HOUR_MS,
  MIN_MS,
  scoredRecords,
  scoredSeries,
  seededRandom,
  shuffled,
  targetsOf,
} from './scored-fixtures.ts'

const T0 = Date.parse('2026-03-02T00:00:00Z')
const GRACE_MS = 10 * MIN_MS
/** The wall clock: the backlog's news is a month old to it (a catch-up). */
const WALL_MS = T0 + 30 * 24 * HOUR_MS
const silent = createLogger({ level: 'silent' })
/** Twelve hours of backlog in parts of three hours, applied in merged rounds of about an hour each. */
const SPAN_MS = 12 * HOUR_MS
const PART_SIZE = 150
const MAX_ROUND = 200
/** Where the catch-up is interrupted: two and a half hours into its second part. */
const STOP_AT_MS = T0 + 5.5 * HOUR_MS

/**
 * A catch-up interrupted part way through a batch (a member killed, or stopped), then given the same
 * records again (nothing of the batch was committed), on a real Redis: the restarted member must count
 * the headlines applied before the interruption as duplicates, none late, and end with the indicators
 * of a clean run. The merged rounds apply a batch's records in event-time order, about an hour of them
 * at a time, across its parts of three hours each.
 */
describe('aggregator on Redis: a catch-up interrupted between merged rounds, then given again', () => {
  const ctx = useAggregatorTestContext('aggstopped')
  const series = scoredSeries(600, { startMs: T0, spanMs: SPAN_MS, seed: 11, idPrefix: 'c' })
  /**
   * The same headlines, each two hours of them in random order (ingest reorders a partition's records):
   * the rounds, merging the parts in event-time order, apply records of a part past one not applied yet.
   */
  const reordered = [0, 1, 2, 3, 4, 5].flatMap((k) =>
    shuffled(
      series.filter((h) => Math.floor((Date.parse(h.publishedAt) - T0) / (2 * HOUR_MS)) === k),
      seededRandom(k),
    ),
  )

  function member(store: IndicatorStore, group = 'tradepulse.aggregator', headlines = series) {
    const topics = createTopicCatalogue(ctx.prefix)
    const registry = new Registry()
    const clock = createManualClock(WALL_MS)
    const aggregator = createAggregator({
      topics,
      store,
      clock,
      monotonic: clock,
      log: silent,
      metrics: createAggregatorMetrics(registry),
      graceMs: GRACE_MS,
      partSize: PART_SIZE,
      maxRound: MAX_ROUND,
      applied: redisAppliedOffsets(ctx.redis, appliedOffsetsKey(ctx.keyPrefix, group), 86_400_000),
      publish: { intervalMs: 1_000, largeChange: 0.1, burstFactor: 0, shortLabel: '15m' },
    })
    const counter = async (name: string) =>
      [...(await registry.getSingleMetricAsString(name)).matchAll(/ (\d+)$/gm)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      )
    const records: InRecord[] = scoredRecords(topics.scored.name, 0, headlines, T0 + 24 * HOUR_MS)
    return { handler: aggregator.handler, counter, records }
  }

  const storeAt = (prefix: string) =>
    createRedisIndicatorStore(ctx.redis, {
      prefix,
      config: indicatorOverrides({ AGGREGATOR_GRACE_MS: GRACE_MS }),
    })

  /**
   * `store`, but at the first merged round holding a headline past STOP_AT_MS `interrupt` is called,
   * and the round is applied only if it says so.
   */
  function interruptedAt(store: IndicatorStore, interrupt: () => boolean) {
    let calls = 0
    let interrupted = false
    const wrapped: IndicatorStore = Object.create(store)
    wrapped.applyRuns = (runs) => {
      calls++
      if (!interrupted && runs.some((run) => run.some((c) => c.eventMs > STOP_AT_MS))) {
        interrupted = true
        if (!interrupt()) return new Promise(() => {}) // never: the member is gone
      }
      return store.applyRuns(runs)
    }
    wrapped.withNamespace = () => wrapped
    return { store: wrapped, calls: () => calls, interrupted: () => interrupted }
  }

  /** The same records given again to a member started anew: none late, and the indicators of a clean run. */
  async function restartAndCompare(headlines = series) {
    const store = storeAt(ctx.keyPrefix)
    const restarted = member(store, undefined, headlines)
    const outcomes = await restarted.handler(restarted.records, { signal: new AbortController().signal })
    expect(outcomes.every((o) => o.kind === 'ok')).toBe(true)
    const duplicates = await restarted.counter('tradepulse_indicator_duplicates_total')
    const late = await restarted.counter('tradepulse_indicator_late_total')
    const clean = member(storeAt(`${ctx.keyPrefix}ref`), 'ref')
    await clean.handler(clean.records, { signal: new AbortController().signal })
    expect(await clean.counter('tradepulse_indicator_late_total')).toBe(0)
    const differences = await compareStores(
      storeAt(`${ctx.keyPrefix}ref`),
      store,
      targetsOf(series),
      T0 + SPAN_MS,
    )
    return { late, duplicates, differences }
  }

  it.each([
    ['in event-time order', series],
    ['each two hours in random order', reordered],
  ])(
    'killed: counts the headlines it applied before as duplicates, none late, and ends as a clean run (%s)',
    async (_how, headlines) => {
      const gone = interruptedAt(storeAt(ctx.keyPrefix), () => false)
      const killed = member(gone.store, undefined, headlines)
      void killed.handler(killed.records, { signal: new AbortController().signal }).catch(() => {})
      await waitFor(() => gone.interrupted(), { timeoutMs: 30_000 })
      await ctx.redis.ping() // what the member sent before it was gone has reached Redis
      const { late, duplicates, differences } = await restartAndCompare(headlines)
      expect(duplicates).toBeGreaterThan(0)
      expect(late).toBe(0)
      expect(differences).toEqual([])
    },
  )

  it.each([
    ['handled at once', false],
    ['deferred (catching up)', true],
  ])(
    'stopped (its signal aborted) at 5.5 hours: handles the batch to its end, every headline applied, and given again counts none late (%s)',
    async (_how, deferring) => {
      // Ended between merged rounds (58f555b), a stopped member left its partitions part applied while
      // another member of the group ran ahead of them: given them, it counted thousands late, never applied.
      const controller = new AbortController()
      const stopping = new TradepulseError('SHUTDOWN', 'the aggregator worker is stopping', {
        retriable: true,
      })
      const stopped = interruptedAt(storeAt(ctx.keyPrefix), () => {
        controller.abort(stopping)
        return true // the round under way is applied
      })
      const m = member(stopped.store)
      let deferred: Promise<OutRecord[]> | undefined
      const handlerCtx: HandlerContext = {
        signal: controller.signal,
        ...(deferring
          ? {
              defer: (work: Promise<OutRecord[]>) => {
                work.catch(() => {})
                deferred = work
              },
            }
          : {}),
      }
      const outcomes = await m.handler(m.records, handlerCtx)
      if (deferring) await deferred
      expect(stopped.interrupted()).toBe(true)
      expect(outcomes.every((o) => o.kind === 'ok')).toBe(true)
      expect(await m.counter('tradepulse_indicator_late_total')).toBe(0)
      // The indicators of a clean run already, before it is given again.
      const clean = member(storeAt(`${ctx.keyPrefix}clean`), 'clean')
      await clean.handler(clean.records, { signal: new AbortController().signal })
      expect(
        await compareStores(
          storeAt(`${ctx.keyPrefix}clean`),
          storeAt(ctx.keyPrefix),
          targetsOf(series),
          T0 + SPAN_MS,
        ),
      ).toEqual([])
      // Every headline applied: given again, every one a duplicate, none late, the indicators a clean run's.
      const { late, duplicates, differences } = await restartAndCompare()
      expect(late).toBe(0)
      expect(duplicates).toBeGreaterThan(0)
      expect(differences).toEqual([])
    },
  )
})

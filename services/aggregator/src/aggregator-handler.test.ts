import { PassThrough } from 'node:stream'
import {
  createManualClock,
  createTopicCatalogue,
  IndicatorUpdate,
  type ScoredHeadline,
  type SentimentLabel,
} from '@tradepulse/contracts'
import { type Contribution, contributionsOf, indicatorKey } from '@tradepulse/indicators'
import {
  createBatchStages,
  createLogger,
  createMemoryIndicatorStore,
  createMetrics,
  type InRecord,
  type OutRecord,
  TradepulseError,
} from '@tradepulse/platform'
import { waitFor } from '@tradepulse/testing'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createAggregator, type SendUpdates } from './aggregator-handler.ts'
import { createAggregatorMetrics } from './aggregator-metrics.ts'
import { type AppliedOffsets, memoryAppliedOffsets } from './applied-offsets.ts'
import { type DirtyKeys, memoryDirtyKeys } from './dirty-keys.ts'
import type { PublishThrottleOptions } from './publish-throttle.ts'
import { HOUR_MS, MIN_MS, scoredRecords, scoredSeries } from './scored-fixtures.ts'

const T0 = Date.parse('2026-03-02T00:00:00Z')
const GRACE = 10 * MIN_MS
/** The wall clock: the fixtures' news is a month old to it, as in a replay (the watermark's bound never binds). */
const WALL_MS = T0 + 30 * 24 * HOUR_MS

describe('aggregator handler', () => {
  const topics = createTopicCatalogue('t.')
  const ctx = { signal: new AbortController().signal }

  function setup(
    partSize: number,
    clock = createManualClock(WALL_MS),
    store = createMemoryIndicatorStore({ config: { graceMs: GRACE } }),
    applied?: AppliedOffsets,
    publish: Partial<PublishThrottleOptions> = {},
    dirty?: DirtyKeys,
    send?: SendUpdates,
  ) {
    const registry = new Registry()
    const aggregator = createAggregator({
      ...(applied ? { applied } : {}),
      ...(dirty ? { dirty } : {}),
      ...(send ? { send } : {}),
      // One hand-moved clock for both: these tests move time, none sets the wall clock back.
      clock,
      monotonic: clock,
      topics,
      store,
      log: createLogger({ level: 'silent' }),
      metrics: createAggregatorMetrics(registry),
      graceMs: GRACE,
      partSize,
      publish: { intervalMs: 1_000, largeChange: 0.1, burstFactor: 0, shortLabel: '15m', ...publish },
    })
    const late = async () =>
      Number(
        / (\d+)$/m.exec(await registry.getSingleMetricAsString('tradepulse_indicator_late_total'))?.[1] ?? 0,
      )
    const counter = async (name: string) => {
      let n = 0
      for (const m of (await registry.getSingleMetricAsString(name)).matchAll(/ (\d+)$/gm)) n += Number(m[1])
      return n
    }
    const counts = async () => ({
      late: await counter('tradepulse_indicator_late_total'),
      duplicates: await counter('tradepulse_indicator_duplicates_total'),
      redelivered: await counter('tradepulse_indicator_redelivered_total'),
    })
    return { aggregator, handler: aggregator.handler, late, counts, counter }
  }
  const recordsOf = (partition: number, headlines: ReturnType<typeof scoredSeries>): InRecord[] =>
    scoredRecords(topics.scored.name, partition, headlines)

  it('keeps a key pending on the trailing edge when its update could not be sent, and sends it on the next tick', async () => {
    const clock = createManualClock(WALL_MS)
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

  describe('with its own send (the worker)', () => {
    const MARKET = 'market|global:all'
    const parse = (r: OutRecord) => IndicatorUpdate.parse(JSON.parse(String(r.value)))
    const outputOf = (outcomes: Awaited<ReturnType<ReturnType<typeof setup>['handler']>>) =>
      outcomes.flatMap((o) => (o.kind === 'ok' ? (o.out ?? []) : []))
    /** Batches of `n` headlines of the series, at consecutive offsets from `from`. */
    const series = scoredSeries(60, { startMs: T0, spanMs: 30 * MIN_MS, idPrefix: 's' })
    const batch = (from: number, n: number) =>
      recordsOf(0, series.slice(from, from + n)).map((r, i) => ({ ...r, offset: String(from + i) }))
    /** A send that records what it is given and fails while `failWith` is set. */
    function recordingSend() {
      const sent: OutRecord[][] = []
      const state: { failWith?: unknown } = {}
      const send: SendUpdates = async (records) => {
        if (state.failWith !== undefined) throw state.failWith
        sent.push(records)
      }
      return { sent, state, send, keys: () => sent.flat().map((r) => String(r.key)) }
    }

    it("sends a batch's updates before the batch completes, none as its output, counted as sent", async () => {
      const { sent, send, keys } = recordingSend()
      const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
      const { handler, counter } = setup(
        2_000,
        createManualClock(WALL_MS),
        store,
        undefined,
        {},
        undefined,
        send,
      )
      const outcomes = await handler(batch(0, 20), ctx)
      expect(outputOf(outcomes)).toEqual([])
      expect(keys()).toContain(MARKET)
      const market = parse(sent.flat().find((r) => r.key === MARKET)!)
      expect(market.count).toBe(
        (await store.get('market', { kind: 'global', id: 'all' }, Date.parse(market.asOf)))!.count,
      )
      expect(await counter('tradepulse_indicator_updates_total')).toBe(sent.flat().length)
      expect(await counter('tradepulse_indicator_publish_waits_total')).toBe(0)
    })

    it('holds back the updates of a batch it cannot send: marked dirty, the batch done, the trailing edge publishes them as read then', async () => {
      const clock = createManualClock(WALL_MS)
      const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
      const dirty = memoryDirtyKeys(clock)
      const marked: string[] = []
      const spy: DirtyKeys = {
        ...dirty,
        mark: (keys, entered) => {
          marked.push(...keys)
          return dirty.mark(keys, entered)
        },
      }
      const { sent, state, send, keys } = recordingSend()
      const { aggregator, handler, counter } = setup(2_000, clock, store, undefined, {}, spy, send)
      state.failWith = new TradepulseError('INFRA_KAFKA', 'broker unreachable')
      const outcomes = await handler(batch(0, 20), ctx) // completes: nothing to read again
      expect(outcomes.every((o) => o.kind === 'ok')).toBe(true)
      expect(outputOf(outcomes)).toEqual([])
      expect(marked).toContain(MARKET)
      expect(await counter('tradepulse_indicator_updates_total')).toBe(0)
      // Pending again, due at once: the trailing edge's next tick publishes them.
      state.failWith = undefined
      expect(await aggregator.flushDue()).toBeGreaterThan(0)
      expect(keys()).toContain(MARKET)
      expect(parse(sent.flat().find((r) => r.key === MARKET)!).count).toBe(20)
      expect(await counter('tradepulse_indicator_updates_total')).toBe(sent.flat().length)
      // Published: the marks are settled, none is left for another member to take.
      await new Promise((r) => setImmediate(r))
      expect(await dirty.claimStale(0, 100)).toEqual([])
    })

    it.each([
      ['refused credentials', new TradepulseError('KAFKA_AUTH', 'SASL authentication failed')],
      [
        'TLS failing',
        new TradepulseError('INFRA_KAFKA', 'Connection error: certificate has expired', {
          cause: Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }),
        }),
      ],
    ])(
      'fails a batch whose updates fail for the deployment (%s: the runner waits it out, then stops), holding nothing back',
      async (_, err) => {
        const clock = createManualClock(WALL_MS)
        const { sent, state, send } = recordingSend()
        const { aggregator, handler } = setup(2_000, clock, undefined, undefined, {}, undefined, send)
        state.failWith = err
        await expect(handler(batch(0, 20), ctx)).rejects.toBe(err)
        // The keys are pending again, due at once: the batch read again, or the trailing edge, publishes.
        state.failWith = undefined
        expect(await aggregator.flushDue()).toBeGreaterThan(0)
        expect(sent.flat().map((r) => String(r.key))).toContain(MARKET)
      },
    )

    /**
     * A send as Kafka's with a small max.message.bytes: a request of several records is refused whole
     * (MESSAGE_TOO_LARGE), one record alone passes but the update of `refusedKey`, refused alone too.
     */
    function refusingSend(refusedKey: string) {
      const landed: OutRecord[] = []
      const requests: number[] = []
      const tooLarge = () => Object.assign(new Error('Message too large'), { type: 'MESSAGE_TOO_LARGE' })
      const send: SendUpdates = async (records) => {
        requests.push(records.length)
        if (records.length > 1 || records[0]?.key === refusedKey) throw tooLarge()
        landed.push(...records)
      }
      return { landed, requests, send }
    }

    it('sends the updates of a request Kafka refused one by one under their locks, leaving out only the record refused alone: nothing goes to the runner', async () => {
      const clock = createManualClock(WALL_MS)
      const dirty = memoryDirtyKeys(clock)
      const refusedKey = 'tariff|global:all'
      const { landed, send } = refusingSend(refusedKey)
      const { aggregator, handler, counter } = setup(2_000, clock, undefined, undefined, {}, dirty, send)
      const outcomes = await handler(batch(0, 20), ctx)
      // The batch completes with no output: the runner dead-letters nothing and produces nothing.
      expect(outcomes.every((o) => o.kind === 'ok')).toBe(true)
      expect(outputOf(outcomes)).toEqual([])
      const keys = landed.map((r) => String(r.key))
      expect(keys).toContain(MARKET)
      expect(keys).not.toContain(refusedKey)
      expect(new Set(keys).size).toBe(keys.length)
      expect(await counter('tradepulse_indicator_updates_total')).toBe(landed.length)
      expect(await counter('tradepulse_indicator_updates_refused_total')).toBe(1)
      // Held back now: the trailing edge sends them as the batch would, and the refused one is not
      // retried at every tick (nor the keys due with it).
      await handler(batch(20, 20), ctx)
      clock.advance(2_000)
      expect(await aggregator.flushDue()).toBeGreaterThan(0)
      expect(landed.filter((r) => r.key === MARKET).map((r) => parse(r).count)).toEqual([20, 40])
      expect(landed.map((r) => String(r.key))).not.toContain(refusedKey)
      expect(await counter('tradepulse_indicator_updates_total')).toBe(landed.length)
      expect(await counter('tradepulse_indicator_updates_refused_total')).toBe(2)
      clock.advance(2_000)
      expect(await aggregator.flushDue()).toBe(0)
      await new Promise((r) => setImmediate(r))
      expect(await dirty.claimStale(0, 100)).toEqual([])
    })

    it('counts sends Kafka did not take for a fault, and turns indicatorPublish degraded once they have failed AGGREGATOR_PUBLISH_FAILING_MS, ok again at the first acknowledged', async () => {
      const clock = createManualClock(WALL_MS)
      const registry = new Registry()
      const { sent, state, send } = recordingSend()
      const aggregator = createAggregator({
        clock,
        monotonic: clock,
        topics,
        store: createMemoryIndicatorStore({ config: { graceMs: GRACE } }),
        log: createLogger({ level: 'silent' }),
        metrics: createAggregatorMetrics(registry),
        graceMs: GRACE,
        publish: { intervalMs: 1_000, largeChange: 0.1, burstFactor: 0, shortLabel: '15m' },
        send,
        publishFailingMs: 5_000,
      })
      const failures = async () =>
        (await registry.getSingleMetricAsString('tradepulse_indicator_publish_failures_total')).match(
          /code="INFRA_KAFKA"} (\d+)/,
        )?.[1]
      expect(await aggregator.publishHealth()).toEqual({ status: 'ok', ready: true })
      state.failWith = new TradepulseError('INFRA_KAFKA', 'broker unreachable')
      await aggregator.handler(batch(0, 20), ctx) // held back
      expect(await failures()).toBe('1')
      clock.advance(4_999)
      await expect(aggregator.flushDue()).rejects.toThrow('broker unreachable')
      expect(await failures()).toBe('2')
      expect((await aggregator.publishHealth()).status).toBe('ok')
      clock.advance(1)
      expect(await aggregator.publishHealth()).toEqual({
        status: 'degraded',
        ready: false,
        detail: 'indicator updates not published for 5000 ms: unexpected error',
      })
      state.failWith = undefined
      clock.advance(1_000)
      expect(await aggregator.flushDue()).toBeGreaterThan(0)
      expect(sent.length).toBeGreaterThan(0)
      expect(await aggregator.publishHealth()).toEqual({ status: 'ok', ready: true })
    })

    it('turns indicatorPublish degraded while one send has been under way AGGREGATOR_PUBLISH_FAILING_MS (a broker that never answers)', async () => {
      const clock = createManualClock(WALL_MS)
      let release: (() => void) | undefined
      const send: SendUpdates = () => new Promise<void>((r) => (release = r))
      const aggregator = createAggregator({
        clock,
        monotonic: clock,
        topics,
        store: createMemoryIndicatorStore({ config: { graceMs: GRACE } }),
        log: createLogger({ level: 'silent' }),
        metrics: createAggregatorMetrics(new Registry()),
        graceMs: GRACE,
        publish: { intervalMs: 1_000, largeChange: 0.1, burstFactor: 0, shortLabel: '15m' },
        send,
        publishFailingMs: 5_000,
      })
      const handled = aggregator.handler(batch(0, 20), ctx)
      await waitFor(() => release !== undefined, { what: 'the send under way' })
      expect((await aggregator.publishHealth()).status).toBe('ok')
      clock.advance(5_000)
      await waitFor(async () => (await aggregator.publishHealth()).status === 'degraded', {
        what: 'degraded with the send under way',
      })
      expect((await aggregator.publishHealth()).detail).toBe(
        'indicator updates not published for 5000 ms: send under way',
      )
      release!()
      await handled
      expect((await aggregator.publishHealth()).status).toBe('ok')
    })

    it('reads a key only once the publish of it under way is acknowledged, so its updates land in the order read', async () => {
      const clock = createManualClock(WALL_MS)
      // Five minutes of news: the short window holds all of it.
      const news = scoredSeries(42, { startMs: T0, spanMs: 5 * MIN_MS, idPrefix: 'o' })
      const records = (from: number, n: number) =>
        recordsOf(0, news.slice(from, from + n)).map((r, i) => ({ ...r, offset: String(from + i) }))
      const landed: OutRecord[] = []
      let release: (() => void) | undefined
      const calls: OutRecord[][] = []
      const send: SendUpdates = async (batch) => {
        calls.push(batch)
        // The trailing edge's send (the second) is slow: a leader moving, a fault retried.
        if (calls.length === 2) await new Promise<void>((r) => (release = r))
        landed.push(...batch)
      }
      // A burst (the short window's volume again within the interval) publishes at once.
      const { aggregator, handler, counter } = setup(
        2_000,
        clock,
        undefined,
        undefined,
        { largeChange: 2, burstFactor: 1 },
        undefined,
        send,
      )
      await handler(records(0, 10), ctx) // the keys' first update: at once
      await handler(records(10, 2), ctx) // held back
      clock.advance(2_000)
      const trailing = aggregator.flushDue()
      await waitFor(() => calls.length === 2, { what: 'the trailing send under way' })
      // Thirty headlines: a burst, published at once, but only once the trailing update is acknowledged.
      const burst = handler(records(12, 30), ctx)
      await waitFor(async () => (await counter('tradepulse_indicator_publish_waits_total')) > 0, {
        what: 'the batch waiting for the publish under way',
        timeoutMs: 2_000,
      })
      expect(calls.length).toBe(2)
      release!()
      await Promise.all([trailing, burst])
      expect(calls.length).toBe(3)
      const counts = landed.filter((r) => r.key === MARKET).map((r) => parse(r).count)
      expect(counts).toEqual([10, 12, 42])
    })
  })

  describe('an update the throttle held back, its member gone before its trailing edge', () => {
    /**
     * Member A publishes the global market key with a first batch and holds back a second one's (within
     * the interval): that batch returns without output, its offsets free to commit. The store and the
     * dirty marks are Redis's stand-ins, shared by whoever comes next.
     */
    async function heldBack() {
      const clock = createManualClock(T0 + HOUR_MS)
      const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
      const dirty = memoryDirtyKeys(clock)
      const a = setup(2_000, clock, store, undefined, { largeChange: 10 }, dirty)
      const series = scoredSeries(20, { startMs: T0, spanMs: 10 * MIN_MS, idPrefix: 'held' })
      const out = async (outcomes: Awaited<ReturnType<typeof a.handler>>) =>
        outcomes.flatMap((o) => (o.kind === 'ok' ? (o.out ?? []) : [])).map((r) => String(r.key))
      expect(await out(await a.handler(recordsOf(0, series.slice(0, 10)), ctx))).toContain(
        'market|global:all',
      )
      clock.advance(300)
      const second = recordsOf(0, series.slice(10)).map((r, i) => ({ ...r, offset: String(10 + i) }))
      expect(await out(await a.handler(second, ctx))).not.toContain('market|global:all')
      // What Redis holds of it, at its newest headline (the shared watermark is the first batch's).
      const newest = Date.parse(series[19]!.publishedAt)
      const market = await store.get('market', { kind: 'global', id: 'all' }, newest)
      expect(market).toMatchObject({ count: 20, asOf: new Date(newest).toISOString() })
      // When the newest headline of the held-back batch entered the pipeline: the ingestedAt its own
      // trailing edge would have given the update.
      const ingestedAt = series
        .slice(10)
        .map((h) => h.ingestedAt)
        .sort()
        .at(-1)!
      return { clock, store, dirty, a, market: market!, ingestedAt }
    }
    const flush = async (aggregator: ReturnType<typeof setup>['aggregator']) => {
      const sent: IndicatorUpdate[] = []
      await aggregator.flushDue(async (records) => {
        for (const r of records) sent.push(IndicatorUpdate.parse(JSON.parse(String(r.value))))
      })
      return sent
    }

    it('is published by the next member once it is a few intervals old, read from the store, once, with the ingestedAt of its newest headline', async () => {
      const { clock, store, dirty, market, ingestedAt } = await heldBack()
      // A is killed: no trailing edge. B starts on the same store, having applied nothing.
      const b = setup(2_000, clock, store, undefined, {}, dirty)
      expect(await flush(b.aggregator)).toEqual([]) // A's mark is young: A may still publish it
      clock.advance(11_000)
      const sent = await flush(b.aggregator)
      const recovered = sent.find((u) => u.key === 'market|global:all')
      expect({ ...recovered, updatedAt: undefined }).toEqual({ ...market, updatedAt: undefined, ingestedAt })
      // Every key the second batch held back, and nothing else; each with an entry time.
      expect(sent.every((u) => u.ingestedAt !== undefined)).toBe(true)
      expect(sent.every((u) => u.count > 0)).toBe(true)
      expect(await b.counter('tradepulse_indicator_updates_total')).toBe(sent.length)
      clock.advance(11_000)
      expect(await flush(b.aggregator)).toEqual([]) // published: the marks are gone
    })

    it("is not published again by another member once its own member's trailing edge has", async () => {
      const { clock, store, dirty, a } = await heldBack()
      clock.advance(1_000)
      const own = await flush(a.aggregator)
      expect(own.map((u) => u.key)).toContain('market|global:all')
      const b = setup(2_000, clock, store, undefined, {}, dirty)
      clock.advance(60_000)
      expect(await flush(b.aggregator)).toEqual([])
    })

    it('keeps a mark made again after a publish read the key: the newer headline is still published', async () => {
      const { clock, store, dirty, a } = await heldBack()
      // A third batch of the key lands while the trailing edge of A is publishing the second one's update
      // (read already).
      clock.advance(1_000)
      const late = scoredSeries(5, { startMs: T0 + 10 * MIN_MS, spanMs: MIN_MS, idPrefix: 'more' })
      const third = recordsOf(0, late).map((r, i) => ({ ...r, offset: String(20 + i) }))
      let during: Promise<unknown> | undefined
      await a.aggregator.flushDue(async () => {
        during ??= a.handler(third, ctx) // within the interval of this very publish: held back again
        await during
      })
      // A dies now. B publishes the third batch's update: 25 headlines.
      const b = setup(2_000, clock, store, undefined, {}, dirty)
      clock.advance(11_000)
      const sent = await flush(b.aggregator)
      // Its ingestedAt the newest of both batches' headlines: the mark made again covers both.
      expect(sent.find((u) => u.key === 'market|global:all')).toMatchObject({
        count: 25,
        ingestedAt: late
          .map((h) => h.ingestedAt)
          .sort()
          .at(-1),
      })
    })
  })

  /**
   * A wall clock set back (an NTP step, a VM snapshot restored): the throttle, the look for other
   * members' marks and the publish health time their intervals on the monotonic clock, so none is held
   * for as long as the step. Each member here has its own two clocks; `pass` moves both, as time does.
   */
  describe('a wall clock set back an hour', () => {
    const MARKET = 'market|global:all'
    const series = scoredSeries(20, { startMs: T0, spanMs: 10 * MIN_MS, idPrefix: 'step' })
    const batch = (from: number, n: number) =>
      recordsOf(0, series.slice(from, from + n)).map((r, i) => ({ ...r, offset: String(from + i) }))
    const outOf = (outcomes: Awaited<ReturnType<ReturnType<typeof setup>['handler']>>) =>
      outcomes.flatMap((o) => (o.kind === 'ok' ? (o.out ?? []) : [])).map((r) => String(r.key))
    function member(extra: Partial<Parameters<typeof createAggregator>[0]> = {}) {
      const wall = createManualClock(WALL_MS)
      const monotonic = createManualClock(5_000)
      const pass = (ms: number) => {
        wall.advance(ms)
        monotonic.advance(ms)
      }
      const registry = new Registry()
      const aggregator = createAggregator({
        clock: wall,
        monotonic,
        topics,
        store: createMemoryIndicatorStore({ config: { graceMs: GRACE } }),
        log: createLogger({ level: 'silent' }),
        metrics: createAggregatorMetrics(registry),
        graceMs: GRACE,
        publish: { intervalMs: 1_000, largeChange: 10, burstFactor: 0, shortLabel: '15m' },
        ...extra,
      })
      return { aggregator, wall, pass, registry }
    }
    const flush = async (aggregator: ReturnType<typeof createAggregator>) => {
      const sent: IndicatorUpdate[] = []
      await aggregator.flushDue(async (records) => {
        for (const r of records) sent.push(IndicatorUpdate.parse(JSON.parse(String(r.value))))
      })
      return sent
    }

    it("publishes a key's held-back update on its trailing edge, not an hour later", async () => {
      const { aggregator, wall, pass } = member()
      expect(outOf(await aggregator.handler(batch(0, 10), ctx))).toContain(MARKET)
      wall.advance(-HOUR_MS)
      pass(300)
      expect(outOf(await aggregator.handler(batch(10, 10), ctx))).not.toContain(MARKET) // within the interval
      pass(2_000)
      // Before, timed on the wall clock, the key's last publish was an hour in the future: nothing was due.
      expect((await flush(aggregator)).find((u) => u.key === MARKET)).toMatchObject({ count: 20 })
    })

    it("takes over another member's held-back update once it is old enough, though this member looked for marks before the step", async () => {
      // The marks' store keeps its own clock (Redis's TIME), which no member's step moves.
      const storeClock = createManualClock(WALL_MS)
      const dirty = memoryDirtyKeys(storeClock)
      const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
      const a = member({ dirty, store })
      expect(outOf(await a.aggregator.handler(batch(0, 10), ctx))).toContain(MARKET)
      a.pass(300)
      expect(outOf(await a.aggregator.handler(batch(10, 10), ctx))).not.toContain(MARKET)
      // A dies. B looks for marks once (A's is young), then its host's clock is set back.
      const b = member({ dirty, store })
      expect(await flush(b.aggregator)).toEqual([])
      b.wall.advance(-HOUR_MS)
      b.pass(11_000)
      storeClock.advance(11_000)
      // Before, B's next look was due at a wall time an hour away.
      expect((await flush(b.aggregator)).find((u) => u.key === MARKET)).toMatchObject({ count: 20 })
    })

    it('turns indicatorPublish degraded once sends have failed AGGREGATOR_PUBLISH_FAILING_MS', async () => {
      const send: SendUpdates = async () => {
        throw new TradepulseError('INFRA_KAFKA', 'broker unreachable')
      }
      const { aggregator, wall, pass } = member({ send, publishFailingMs: 5_000 })
      await aggregator.handler(batch(0, 10), ctx) // held back: failing from now
      wall.advance(-HOUR_MS)
      pass(5_000)
      // Before, judged on the wall clock, the failure started an hour in the future: ok for an hour more.
      expect(await aggregator.publishHealth()).toEqual({
        status: 'degraded',
        ready: false,
        detail: 'indicator updates not published for 5000 ms: unexpected error',
      })
    })

    it('takes applied offsets gone once their TTL has passed since they were recorded for expired, not lost', async () => {
      let offsets = memoryAppliedOffsets()
      const applied: AppliedOffsets = {
        read: (topic, partition) => offsets.read(topic, partition),
        record: (topic, partition, range) => offsets.record(topic, partition, range),
      }
      const { aggregator, wall, pass, registry } = member({ applied, appliedTtlMs: 60_000 })
      const records = batch(0, 20).map((r, i) => ({ ...r, timestamp: 1_000 + i }))
      await aggregator.handler(records.slice(0, 10), ctx)
      wall.advance(-HOUR_MS)
      pass(60_000)
      offsets = memoryAppliedOffsets() // expired with their TTL (Redis's)
      await aggregator.handler(records.slice(10), ctx)
      // Before, on the wall clock, they were recorded an hour in the future: told lost, a rebuild asked for.
      expect(await registry.getSingleMetricAsString('tradepulse_indicator_applied_lost_total')).toMatch(
        / 0$/m,
      )
    })

    it('warns again of headlines stamped ahead a minute after the last warning', async () => {
      const lines: Record<string, unknown>[] = []
      const sink = new PassThrough()
      sink.on('data', (d) => {
        for (const l of String(d).split('\n').filter(Boolean)) lines.push(JSON.parse(l))
      })
      const { aggregator, wall, pass } = member({ log: createLogger({ level: 'warn' }, sink) })
      // A headline at the wall clock whose record the broker stamped 4 min before: applied at the bound.
      const aheadAt = (id: string) => {
        const [h] = scoredSeries(1, { startMs: wall.now(), spanMs: 1, idPrefix: id })
        return recordsOf(0, [h!]).map((r) => ({ ...r, timestamp: wall.now() - 4 * MIN_MS }))
      }
      await aggregator.handler(aheadAt('first'), ctx)
      await waitFor(async () => lines.length === 1, { what: 'the first warning', timeoutMs: 2_000 })
      wall.advance(-HOUR_MS)
      pass(60_000)
      await aggregator.handler(aheadAt('second'), ctx)
      // Before, the last warning was an hour in the future on the wall clock: none for an hour.
      await waitFor(async () => lines.length === 2, { what: 'the second warning', timeoutMs: 2_000 })
      expect(lines[1]).toMatchObject({ level: 40, headlineId: 'second-0' })
    })
  })

  describe('the event-time watermark, with one feed whose clock runs ahead', () => {
    /** A headline at `atMs`: tariff on CN (-0.8, relevance 0.9), or (`other`) one of no region or tariff. */
    const headline = (id: string, atMs: number, other = false): ScoredHeadline => {
      const [h] = scoredSeries(1, { startMs: atMs, spanMs: 1, idPrefix: id })
      return {
        ...h!,
        publishedAt: new Date(atMs).toISOString(),
        ingestedAt: new Date(atMs).toISOString(),
        scores: {
          ...h!.scores,
          tariff: other
            ? { score: 0, relevance: 0, confidence: 0, label: null }
            : { score: -0.8, relevance: 0.9, confidence: 0.8, label: 'negative' },
        },
        entities: { regions: other ? [] : ['CN'], commodities: [], sectors: [], companies: [] },
      }
    }
    /**
     * The reviewer's stream: twelve CN tariff headlines five minutes apart, each handled when the wall
     * clock says `wallOf` its event time; just before the last, an unrelated headline from another feed
     * stamped `skewMs` ahead. The last updates of CN tariff and of the global market (which holds both).
     */
    async function stream(
      skewMs: number | undefined,
      wallOf: (eventMs: number) => number,
      maxAheadMs?: number,
    ) {
      const clock = createManualClock(wallOf(T0))
      const store = createMemoryIndicatorStore({ config: { graceMs: GRACE }, clock })
      const aggregator = createAggregator({
        clock,
        topics,
        store,
        log: createLogger({ level: 'silent' }),
        metrics: createAggregatorMetrics(new Registry()),
        graceMs: GRACE,
        ...(maxAheadMs === undefined ? {} : { maxAheadMs }),
        publish: { intervalMs: 0, largeChange: 0.1, burstFactor: 0, shortLabel: '15m' },
      })
      const last = new Map<string, IndicatorUpdate>()
      let offset = 0
      const handle = async (h: ScoredHeadline) => {
        const [record] = recordsOf(0, [h]).map((r) => ({ ...r, offset: String(offset++) }))
        for (const o of await aggregator.handler([record!], ctx))
          for (const r of o.kind === 'ok' ? (o.out ?? []) : [])
            last.set(String(r.key), IndicatorUpdate.parse(JSON.parse(String(r.value))))
      }
      for (let i = 0; i < 12; i++) {
        const at = T0 + i * 5 * MIN_MS
        clock.set(wallOf(at))
        if (i === 11 && skewMs !== undefined) await handle(headline('other', at + skewMs, true))
        await handle(headline(`cn${i}`, at))
      }
      const strip = (u: IndicatorUpdate | undefined) => u && { ...u, updatedAt: undefined }
      return {
        cn: strip(last.get('tariff|region:CN'))!,
        market: strip(last.get('market|global:all'))!,
        watermark: await store.watermark(),
      }
    }
    const live = (eventMs: number) => eventMs // the wall clock at each headline's own time

    it('reads no other scope more than the bound past the wall clock, however far ahead the feed is', async () => {
      const clean = await stream(undefined, live)
      expect(clean.cn).toMatchObject({ asOf: new Date(T0 + 55 * MIN_MS).toISOString(), volume: { '15m': 3 } })
      for (const skew of [5 * MIN_MS, 10 * MIN_MS]) {
        const r = await stream(skew, live)
        // At most 30 s (the bound) past the clock, whatever the skew: its windows keep their headlines.
        expect(r.cn.asOf, `skew ${skew}`).toBe(new Date(T0 + 55 * MIN_MS + 30_000).toISOString())
        expect(r.cn.volume).toEqual(clean.cn.volume)
        expect(r.cn.count).toBe(12)
        expect(Math.abs(r.cn.mean['15m']! - clean.cn.mean['15m']!)).toBeLessThan(0.02)
        expect(r.watermark).toBe(T0 + 55 * MIN_MS + 30_000)
        // The skewed headline counts in its own scopes too, applied at the bound.
        expect(r.market.asOf).toBe(new Date(T0 + 55 * MIN_MS + 30_000).toISOString())
        expect(r.market.count).toBe(13)
      }
      // With no tolerance, the reading is the one without the skewed headline.
      const strict = await stream(10 * MIN_MS, live, 0)
      expect(strict.cn).toEqual(clean.cn)
    })

    it('applies a headline stamped ahead at the bound: one published minutes ago is not late in the scopes they share', async () => {
      // Ingest lets a publishedAt through up to about 10 min ahead (5 min past an entry time itself up to
      // 5 min ahead); the grace is 10 min. Applied at its own time, the skewed headline made the lagged one
      // late in the global market and uncertainty indicators, which every headline counts in.
      const wall = T0 + 12 * HOUR_MS
      const clock = createManualClock(wall)
      const store = createMemoryIndicatorStore({ config: { graceMs: GRACE }, clock })
      const { handler, late, counter } = setup(2_000, clock, store)
      const batch = (h: ScoredHeadline, offset: number) =>
        recordsOf(0, [h]).map((r) => ({ ...r, offset: String(offset), timestamp: wall }))
      await handler(batch(headline('on-time', wall - MIN_MS), 0), ctx)
      await handler(batch(headline('skewed', wall + 9.5 * MIN_MS, true), 1), ctx)
      await handler(batch(headline('lagged', wall - 2 * MIN_MS), 2), ctx)
      expect(await late()).toBe(0)
      const market = await store.get('market', { kind: 'global', id: 'all' }, wall)
      expect(market).toMatchObject({ count: 3, asOf: new Date(wall + 30_000).toISOString() })
      expect((await store.get('tariff', { kind: 'region', id: 'CN' }, wall))?.count).toBe(2)
      expect(await counter('tradepulse_indicator_ahead_total')).toBe(1)
    })

    it("warns of a headline stamped ahead naming both clocks, with how far its record's time was behind this member's when read", async () => {
      // A broker whose clock runs 4 min behind stamps a live, correctly dated headline 4 min before its time.
      const wall = T0 + 12 * HOUR_MS
      const lines: Record<string, unknown>[] = []
      const sink = new PassThrough()
      sink.on('data', (d) => {
        for (const l of String(d).split('\n').filter(Boolean)) lines.push(JSON.parse(l))
      })
      const aggregator = createAggregator({
        clock: createManualClock(wall),
        topics,
        store: createMemoryIndicatorStore({ config: { graceMs: GRACE } }),
        log: createLogger({ level: 'warn' }, sink),
        metrics: createAggregatorMetrics(new Registry()),
        graceMs: GRACE,
        publish: { intervalMs: 1_000, largeChange: 0.1, burstFactor: 0, shortLabel: '15m' },
      })
      const [record] = recordsOf(0, [headline('live', wall)]).map((r) => ({
        ...r,
        timestamp: wall - 4 * MIN_MS,
      }))
      await aggregator.handler([record!], ctx)
      await waitFor(async () => lines.length > 0, { what: 'the warning line' })
      expect(lines[0]).toMatchObject({
        level: 40,
        headlineId: 'live-0',
        aheadMs: 4 * MIN_MS,
        recordBehindMs: 4 * MIN_MS,
        maxAheadMs: 30_000,
        msg: expect.stringMatching(/a feed whose clock runs fast, or the broker's clock runs behind/),
      })
    })

    it('dead-letters a headline stamped past the bound plus the grace (2099): it freezes no indicator and empties no scope registry', async () => {
      const wall = T0 + 12 * HOUR_MS
      const clock = createManualClock(wall)
      const store = createMemoryIndicatorStore({ config: { graceMs: GRACE }, clock })
      const { handler, counts } = setup(2_000, clock, store)
      let offset = 0
      const batch = (hs: ScoredHeadline[]) =>
        recordsOf(0, hs).map((r) => ({ ...r, offset: String(offset++), timestamp: wall }))
      const before = scoredSeries(5, { startMs: wall - 20 * MIN_MS, spanMs: 10 * MIN_MS, idPrefix: 'a' }).map(
        (h, i) => ({ ...h, entities: { ...h.entities, regions: [`R${i}`] } }),
      )
      await handler(batch(before), ctx)
      const [poison] = scoredSeries(1, { startMs: wall, spanMs: 1, idPrefix: 'poison' })
      const outcomes = await handler(batch([{ ...poison!, publishedAt: '2099-01-01T00:00:00.000Z' }]), ctx)
      expect(outcomes).toEqual([
        {
          kind: 'dlq',
          reason: 'event_time_ahead',
          id: 'poison-0',
          message: expect.stringMatching(
            /^publishedAt 2099-01-01T00:00:00.000Z is \d+ ms past its record's time .*AGGREGATOR_MAX_AHEAD_MS \+ AGGREGATOR_GRACE_MS \(630000 ms\)$/,
          ),
        },
      ])
      // Just inside the bound: applied (at the bound), not dead-lettered.
      const [fast] = scoredSeries(1, { startMs: wall, spanMs: 1, idPrefix: 'fast' })
      const edge = new Date(wall + 30_000 + GRACE).toISOString()
      expect(await handler(batch([{ ...fast!, publishedAt: edge }]), ctx)).toMatchObject([{ kind: 'ok' }])
      const after = scoredSeries(5, { startMs: wall - 5 * MIN_MS, spanMs: 5 * MIN_MS, idPrefix: 'b' })
      await handler(batch(after), ctx)
      expect((await counts()).late).toBe(0)
      const market = await store.get('market', { kind: 'global', id: 'all' }, wall)
      expect(market).toMatchObject({ count: 11, asOf: new Date(wall + 30_000).toISOString() })
      const regions = (await store.top('market', 'region', 'buzz', 100, wall)).map((u) => u.scope.id)
      for (let i = 0; i < 5; i++) expect(regions).toContain(`R${i}`)
    })

    it('keeps a replay of old news as it was, whatever the wall clock: event time behind it is never bound', async () => {
      const aYearOn = await stream(10 * MIN_MS, (t) => t + 365 * 24 * HOUR_MS)
      const twoYearsOn = await stream(10 * MIN_MS, (t) => t + 2 * 365 * 24 * HOUR_MS)
      expect(twoYearsOn).toEqual(aYearOn)
      // The stream's newest headline is its "now", as it always was (the skewed one included: it is
      // old news like the rest).
      expect(aYearOn.watermark).toBe(T0 + 65 * MIN_MS)
      expect(aYearOn.cn.asOf).toBe(new Date(T0 + 65 * MIN_MS).toISOString())
    })
  })

  describe('a late headline (outside the grace), which moves no indicator', () => {
    const MARKET = 'market|global:all'
    /** A headline of the market dimension alone (global scope), published and entered at the times given. */
    const marketOnly = (id: string, publishedMs: number, enteredMs: number): ScoredHeadline => ({
      ...scoredSeries(1, { startMs: publishedMs, spanMs: 1, idPrefix: id })[0]!,
      publishedAt: new Date(publishedMs).toISOString(),
      ingestedAt: new Date(enteredMs).toISOString(),
      scores: {
        tariff: { score: 0, relevance: 0, confidence: 0, label: null },
        supplyChain: { score: 0, relevance: 0, confidence: 0, label: null },
        market: { score: 0.3, label: 'positive' },
        uncertainty: 0,
      },
      entities: { regions: [], commodities: [], sectors: [], companies: [] },
    })
    const tp = (n: number) => `00-${String(n).padStart(32, 'a')}-${String(n).padStart(16, 'b')}-01`
    const traced = (offset: number, h: ScoredHeadline, traceparent: string): InRecord => ({
      ...recordsOf(0, [h])[0]!,
      offset: String(offset),
      headers: { traceparent },
    })
    const parse = (r: OutRecord) => IndicatorUpdate.parse(JSON.parse(String(r.value)))

    it('gives an update neither its entry time nor its trace, and publishes no key for it alone', async () => {
      const clock = createManualClock(WALL_MS)
      const { aggregator, handler, late } = setup(2_000, clock)
      const sent: OutRecord[] = []
      const collect: SendUpdates = async (records) => {
        sent.push(...records)
      }
      const at = T0 + 30 * MIN_MS
      // The key's first headline: published at once (the batch's output, the handler alone).
      const first = await handler([traced(0, marketOnly('a', at, at), tp(1))], ctx)
      expect(first.flatMap((o) => (o.kind === 'ok' ? (o.out ?? []) : [])).map((r) => r.key)).toContain(MARKET)
      // Within the interval: one on time, entered earlier, and one 20 minutes older than the key's newest
      // event (late: the grace is 10), entered last. The update is the on-time one's.
      await handler(
        [
          traced(1, marketOnly('b', at + MIN_MS, at + MIN_MS), tp(2)),
          traced(2, marketOnly('late', at - 20 * MIN_MS, at + 2 * MIN_MS), tp(3)),
        ],
        ctx,
      )
      expect(await late()).toBe(1)
      clock.advance(2_000)
      await aggregator.flushDue(collect)
      const market = sent.filter((r) => r.key === MARKET)
      expect(market.map((r) => parse(r).count)).toEqual([2])
      expect(market[0]!.headers).toEqual({ traceparent: tp(2) })
      expect(parse(market[0]!).ingestedAt).toBe(new Date(at + MIN_MS).toISOString())
      // A late headline alone changes nothing: no update for it, on the batch or on the trailing edge.
      clock.advance(2_000)
      const alone = await handler(
        [traced(3, marketOnly('late2', at - 25 * MIN_MS, at + 3 * MIN_MS), tp(4))],
        ctx,
      )
      expect(await late()).toBe(2)
      expect(alone.flatMap((o) => (o.kind === 'ok' ? (o.out ?? []) : []))).toEqual([])
      clock.advance(2_000)
      expect(await aggregator.flushDue(collect)).toBe(0)
      expect(sent.filter((r) => r.key === MARKET)).toHaveLength(1)
    })
    it('gives an update neither the entry time nor the trace of a late headline given again (another record of it, or its own record redelivered), and counts it late once', async () => {
      const clock = createManualClock(WALL_MS)
      const { aggregator, handler, counts } = setup(2_000, clock)
      const sent: OutRecord[] = []
      const collect: SendUpdates = async (records) => {
        sent.push(...records)
      }
      const at = T0 + 30 * MIN_MS
      await handler([traced(0, marketOnly('a', at, at), tp(1))], ctx)
      // Late (20 minutes behind the key's newest event): market and uncertainty, global scope.
      const late = marketOnly('late', at - 20 * MIN_MS, at + 2 * MIN_MS)
      await handler([traced(1, late, tp(3))], ctx)
      expect(await counts()).toEqual({ late: 2, duplicates: 0, redelivered: 0 })
      // Within the interval: one on time, and the late one given again, entered after it (another record
      // of it, as a producer sending it twice gives): the update is the on-time one's.
      await handler(
        [
          traced(2, marketOnly('b', at + MIN_MS, at + MIN_MS), tp(2)),
          traced(3, { ...late, ingestedAt: new Date(at + 3 * MIN_MS).toISOString() }, tp(4)),
        ],
        ctx,
      )
      clock.advance(2_000)
      await aggregator.flushDue(collect)
      const market = () => sent.filter((r) => r.key === MARKET)
      expect(market().map((r) => parse(r).count)).toEqual([2])
      expect(market()[0]!.headers).toEqual({ traceparent: tp(2) })
      expect(parse(market()[0]!).ingestedAt).toBe(new Date(at + MIN_MS).toISOString())
      // Counted late once: given again, a duplicate.
      expect(await counts()).toEqual({ late: 2, duplicates: 2, redelivered: 0 })
      // Its own record redelivered (at an offset applied before) with another on-time headline: the same.
      await handler(
        [traced(1, late, tp(3)), traced(4, marketOnly('c', at + 2 * MIN_MS, at + 90_000), tp(5))],
        ctx,
      )
      clock.advance(2_000)
      await aggregator.flushDue(collect)
      expect(market().map((r) => parse(r).count)).toEqual([2, 3])
      expect(market()[1]!.headers).toEqual({ traceparent: tp(5) })
      expect(parse(market()[1]!).ingestedAt).toBe(new Date(at + 90_000).toISOString())
      expect(await counts()).toEqual({ late: 2, duplicates: 4, redelivered: 0 })
    })
  })

  it('counts trailing updates once sent: a failed send not, its resend once', async () => {
    const clock = createManualClock(WALL_MS)
    const { aggregator, handler, counter } = setup(2_000, clock)
    const updates = () => counter('tradepulse_indicator_updates_total')
    const series = scoredSeries(40, { startMs: T0, spanMs: 30 * MIN_MS, idPrefix: 'u' })
    const first = await handler(recordsOf(0, series.slice(0, 20)), ctx)
    const handedOver = first.flatMap((o) => (o.kind === 'ok' ? (o.out ?? []) : []))
    expect(handedOver.length).toBeGreaterThan(0)
    expect(await updates()).toBe(handedOver.length) // the batch's own, handed to its output
    await handler(
      recordsOf(0, series.slice(20)).map((r, i) => ({ ...r, offset: String(20 + i) })),
      ctx,
    )
    const before = await updates()
    clock.advance(2_000)
    await expect(
      aggregator.flushDue(async () => {
        throw new Error('broker unreachable')
      }),
    ).rejects.toThrow('broker unreachable')
    expect(await updates()).toBe(before) // nothing reached the topic
    let sent = 0
    await aggregator.flushDue(async (records) => {
      sent += records.length
    })
    expect(sent).toBeGreaterThan(0)
    expect(await updates()).toBe(before + sent)
  })

  it("holds the other partitions at the oldest record of a batch's parts still to come, out of order as they may be", async () => {
    const { handler, late } = setup(10)
    // A: an hour, its records in order but for the first of its second part, 40 min older than the
    // part before it; B, beside it: minutes 45 to 60. B must not be applied past A's parts to come.
    const a = scoredSeries(20, { startMs: T0, spanMs: 60 * MIN_MS, idPrefix: 'a' })
    const moved = { ...a[10]!, publishedAt: new Date(T0 + 5 * MIN_MS).toISOString() }
    const ordered = [...a.slice(0, 10), moved, ...a.slice(11)]
    const b = scoredSeries(20, { startMs: T0 + 45 * MIN_MS, spanMs: 15 * MIN_MS, idPrefix: 'b' })
    await Promise.all([handler(recordsOf(0, ordered), ctx), handler(recordsOf(1, b), ctx)])
    expect(await late()).toBe(0)
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

  describe("scopes beyond their kind's cap, folded into other", () => {
    /** `n` headlines one minute apart from startMs, the i-th naming region R<i> alone, entering i s late. */
    const regional = (n: number, startMs: number, idPrefix: string): ScoredHeadline[] =>
      scoredSeries(n, { startMs, spanMs: MIN_MS, idPrefix }).map((h, i) => ({
        ...h,
        ingestedAt: new Date(Date.parse(h.publishedAt) + i * 1_000).toISOString(),
        entities: { ...h.entities, regions: [`R${i}`] },
      }))
    const regionUpdates = (records: readonly { key?: unknown; value?: unknown }[]) =>
      new Map(
        records
          .map((r) => IndicatorUpdate.parse(JSON.parse(String(r.value))))
          .filter((u) => u.key.startsWith('market|region:'))
          .map((u) => [u.key, u]),
      )
    const newestEntry = (headlines: readonly ScoredHeadline[]) =>
      headlines
        .map((h) => h.ingestedAt)
        .sort()
        .at(-1)

    it("publishes its kind's other key, with what was folded into it, and never reads or marks the folded scopes' own keys", async () => {
      const clock = createManualClock(WALL_MS)
      const memory = createMemoryIndicatorStore({ config: { graceMs: GRACE }, maxScopesPerKind: 2, clock })
      const reads: string[] = []
      const store: typeof memory = {
        ...memory,
        get: (dimension, scope, asOfMs) => {
          reads.push(indicatorKey(dimension, scope))
          return memory.get(dimension, scope, asOfMs)
        },
      }
      const marks = memoryDirtyKeys(clock)
      const marked: string[] = []
      const dirty: DirtyKeys = {
        ...marks,
        mark: (keys, enteredMs) => {
          marked.push(...keys)
          return marks.mark(keys, enteredMs)
        },
      }
      // Large-change publishing off: the interval alone decides.
      const { aggregator, handler } = setup(2_000, clock, store, undefined, { largeChange: 2 }, dirty)
      const folded = (ids: readonly string[]) => ids.some((k) => /^[a-zA-Z]+\|region:R[2-9]$/.test(k))

      // Ten regions, a cap of two: R0 and R1 are admitted, the other eight fold into other.
      const first = regional(10, T0, 'f')
      const outcomes = await handler(recordsOf(0, first), ctx)
      const published = regionUpdates(outcomes.flatMap((o) => (o.kind === 'ok' ? (o.out ?? []) : [])))
      expect([...published.keys()].sort()).toEqual([
        'market|region:R0',
        'market|region:R1',
        'market|region:other',
      ])
      const other = published.get('market|region:other')!
      expect(other.count).toBe(8)
      expect(other.mean).toEqual(
        (await memory.get('market', { kind: 'region', id: 'other' }, Date.parse(other.asOf)))!.mean,
      )
      expect(other.ingestedAt).toBe(newestEntry(first.slice(2)))
      expect(folded(reads)).toBe(false)

      // Within the interval: held back and marked dirty, other among them, the folded keys not.
      const second = regional(10, T0 + 2 * MIN_MS, 's')
      const held = await handler(
        recordsOf(0, second).map((r, i) => ({ ...r, offset: String(10 + i) })),
        ctx,
      )
      expect(held.some((o) => o.kind === 'ok' && o.out)).toBe(false)
      expect(marked).toContain('market|region:other')
      expect(folded(marked)).toBe(false)
      const sent: { key?: unknown; value?: unknown }[] = []
      await aggregator.flushAll(async (records) => void sent.push(...records))
      const trailing = regionUpdates(sent)
      expect([...trailing.keys()].sort()).toEqual([
        'market|region:R0',
        'market|region:R1',
        'market|region:other',
      ])
      expect(trailing.get('market|region:other')!.count).toBe(16)
      expect(trailing.get('market|region:other')!.ingestedAt).toBe(newestEntry(second.slice(2)))
      expect(folded(reads)).toBe(false)
    })

    it('counts a headline naming several folded scopes of a kind once in other, as the store does', async () => {
      const clock = createManualClock(WALL_MS)
      const store = createMemoryIndicatorStore({ config: { graceMs: GRACE }, maxScopesPerKind: 1, clock })
      const { handler } = setup(2_000, clock, store, undefined, { intervalMs: 0 })
      const [h] = scoredSeries(1, { startMs: T0, spanMs: MIN_MS, idPrefix: 'm' })
      const headline = { ...h!, entities: { ...h!.entities, regions: ['AA', 'BB', 'CC'] } }
      const outcomes = await handler(recordsOf(0, [headline]), ctx)
      const published = regionUpdates(outcomes.flatMap((o) => (o.kind === 'ok' ? (o.out ?? []) : [])))
      expect([...published.keys()].sort()).toEqual(['market|region:AA', 'market|region:other'])
      expect(published.get('market|region:other')!.count).toBe(1)
    })
  })

  it("publishes at the members' shared watermark: a member that has read less does not go back in event time", async () => {
    const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
    const a = setup(2_000, createManualClock(WALL_MS), store)
    const b = setup(2_000, createManualClock(WALL_MS), store)
    /** The asOf of the global market update a batch published. */
    const asOfOf = async (handle: typeof a.handler, records: InRecord[]) => {
      const outcomes = await handle(records, ctx)
      const out = outcomes.flatMap((o) => (o.kind === 'ok' ? (o.out ?? []) : []))
      const update = out.find((r) => r.key === 'market|global:all')
      return Date.parse(JSON.parse(String(update?.value)).asOf)
    }
    // Member A reads its partition up to T0 + 30 min; member B, on the other, is only at T0 + 25 min
    // (within the grace: its headlines move the indicator, so it publishes it).
    const ahead = await asOfOf(
      a.handler,
      recordsOf(0, scoredSeries(10, { startMs: T0 + 20 * MIN_MS, spanMs: 10 * MIN_MS, idPrefix: 'a' })),
    )
    const behind = await asOfOf(
      b.handler,
      recordsOf(1, scoredSeries(10, { startMs: T0 + 21 * MIN_MS, spanMs: 4 * MIN_MS, idPrefix: 'b' })),
    )
    expect(ahead).toBeGreaterThanOrEqual(T0 + 29 * MIN_MS)
    expect(behind).toBe(ahead)
  })

  it("publishes a key another member has applied newer headlines to at that key's newest event, not before it", async () => {
    const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
    const a = setup(2_000, createManualClock(WALL_MS), store)
    // B throttles the key after its first update (no large change), so what it applies next stays unpublished.
    const b = setup(2_000, createManualClock(WALL_MS), store, undefined, { largeChange: 10 })
    const market = { dimension: 'market', scope: { kind: 'global', id: 'all' } } as const
    const headline = (id: string, atMs: number, score: number) => {
      const [h] = scoredSeries(1, { startMs: atMs, spanMs: 1, idPrefix: id })
      const label: SentimentLabel = score > 0.1 ? 'positive' : score < -0.1 ? 'negative' : 'neutral'
      return {
        ...h!,
        publishedAt: new Date(atMs).toISOString(),
        scores: { ...h!.scores, market: { score, label } },
      }
    }
    const updateOf = (outcomes: Awaited<ReturnType<typeof a.handler>>) => {
      const out = outcomes.flatMap((o) => (o.kind === 'ok' ? (o.out ?? []) : []))
      const record = out.find((r) => r.key === 'market|global:all')
      return record && JSON.parse(String(record.value))
    }
    // B publishes the key at T0 − 20 min, then applies T0 + 5 min without publishing (throttled).
    expect(
      updateOf(await b.handler(recordsOf(1, [headline('b0', T0 - 20 * MIN_MS, 0.2)]), ctx)),
    ).toBeDefined()
    const b1 = recordsOf(1, [headline('b1', T0 + 5 * MIN_MS, -0.9)]).map((r) => ({ ...r, offset: '1' }))
    expect(updateOf(await b.handler(b1, ctx))).toBeUndefined()
    expect(await store.watermark()).toBe(T0 - 20 * MIN_MS)
    // A applies T0 and publishes the key, whose values hold B's T0 + 5 min headline.
    const published = updateOf(await a.handler(recordsOf(0, [headline('a1', T0, -0.1)]), ctx))
    const atNewest = await store.get(market.dimension, market.scope, T0 + 5 * MIN_MS)
    expect(published.asOf).toBe(new Date(T0 + 5 * MIN_MS).toISOString())
    // Values, volume and asOf of one moment: the 15 min window holds a1 and b1, as the mean and count do.
    expect({ ...published, ingestedAt: undefined }).toEqual({ ...atNewest, ingestedAt: undefined })
    expect(published.volume['15m']).toBe(2)
    expect(published.count).toBe(3)
    // The shared watermark is raised to it: no member publishes the key, nor a reader reads, further back.
    expect(await store.watermark()).toBe(T0 + 5 * MIN_MS)
  })

  it('counts the records a restart is given again as duplicates, not late, past the hour of remembered ids', async () => {
    const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
    const applied = memoryAppliedOffsets()
    const series = scoredSeries(300, { startMs: T0, spanMs: 4 * HOUR_MS, idPrefix: 'r' })
    const records = recordsOf(0, series).map((r, i) => ({ ...r, timestamp: 1_000 + i }))
    const first = setup(50, createManualClock(WALL_MS), store, applied)
    await first.handler(records, ctx)
    const asOf = T0 + 4 * HOUR_MS
    const before = await store.get('market', { kind: 'global', id: 'all' }, asOf)
    // The restart: a new aggregator on the same store and applied offsets, given every record again, and
    // then a headline three hours behind the newest (late, however it comes).
    const again = setup(50, createManualClock(WALL_MS), store, applied)
    await again.handler(records, ctx)
    const contributions = series.flatMap(contributionsOf).length
    const counts = await again.counts()
    expect(counts).toEqual({ late: 0, duplicates: contributions, redelivered: counts.redelivered })
    expect(counts.redelivered).toBeGreaterThan(contributions / 2) // most of the four hours are past the ids
    const [old] = scoredSeries(1, { startMs: T0 + HOUR_MS, spanMs: MIN_MS, idPrefix: 'old' })
    const [late] = recordsOf(0, [old!]).map((r) => ({ ...r, offset: '300', timestamp: 2_000 }))
    await again.handler([late!], ctx)
    expect((await again.counts()).late).toBe(contributionsOf(old!).length)
    expect(await store.get('market', { kind: 'global', id: 'all' }, asOf)).toEqual(before)
  })

  it('counts as duplicates, not late, the parts of a batch applied before its member died part way through it', async () => {
    const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
    const applied = memoryAppliedOffsets()
    const series = scoredSeries(300, { startMs: T0, spanMs: 4 * HOUR_MS, idPrefix: 'm' })
    const records = recordsOf(0, series).map((r, i) => ({ ...r, timestamp: 1_000 + i }))
    // One batch of six parts (a catch-up's fetch): the store answers the first three parts' applies, then
    // never again, as a member killed (SIGKILL, OOM) half way through a batch: nothing of it committed.
    let calls = 0
    const dying: typeof store = {
      ...store,
      applyRuns: (runs) => (++calls > 3 ? new Promise(() => {}) : store.applyRuns(runs)),
    }
    void setup(50, createManualClock(WALL_MS), dying, applied).handler(records, ctx)
    await waitFor(() => calls > 3, { what: 'three parts applied' })
    await waitFor(async () => (await applied.read(topics.scored.name, 0))?.to === 149, {
      what: 'the offsets of the three parts applied recorded',
      timeoutMs: 2_000,
    })
    // The restart is given the whole batch again: the three parts reach two hours past the first
    // headlines, further back than the hour of ids the store remembers.
    const again = setup(50, createManualClock(WALL_MS), store, applied)
    await again.handler(records, ctx)
    const counts = await again.counts()
    expect(counts).toMatchObject({
      late: 0,
      duplicates: series.slice(0, 150).flatMap(contributionsOf).length,
    })
    expect(counts.redelivered).toBeGreaterThan(0)
    const clean = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
    await setup(50, createManualClock(WALL_MS), clean).handler(records, ctx)
    // The values of a clean run (but updatedAt, the store's wall clock).
    const read = async (s: typeof store) => ({
      ...(await s.get('market', { kind: 'global', id: 'all' }, T0 + 4 * HOUR_MS)),
      updatedAt: undefined,
    })
    expect(await read(store)).toEqual(await read(clean))
  })

  it('says so when Redis no longer holds offsets it recorded as applied (a restart from an older snapshot, a failover to a lagging replica): the headlines since are missing from the indicators', async () => {
    const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
    let offsets = memoryAppliedOffsets()
    const applied: AppliedOffsets = {
      read: (topic, partition) => offsets.read(topic, partition),
      record: (topic, partition, range) => offsets.record(topic, partition, range),
    }
    const lines: Record<string, unknown>[] = []
    const sink = new PassThrough()
    sink.on('data', (d) => {
      for (const l of String(d).split('\n').filter(Boolean)) lines.push(JSON.parse(l))
    })
    const registry = new Registry()
    const aggregator = createAggregator({
      clock: createManualClock(WALL_MS),
      topics,
      store,
      applied,
      log: createLogger({ level: 'warn' }, sink),
      metrics: createAggregatorMetrics(registry),
      graceMs: GRACE,
      publish: { intervalMs: 1_000, largeChange: 0.1, burstFactor: 0, shortLabel: '15m' },
    })
    const records = recordsOf(3, scoredSeries(100, { startMs: T0, spanMs: HOUR_MS, idPrefix: 'k' })).map(
      (r, i) => ({ ...r, timestamp: 1_000 + i }),
    )
    await aggregator.handler(records.slice(0, 50), ctx)
    await aggregator.handler(records.slice(50, 60), ctx)
    expect(lines.filter((l) => l.level === 50)).toEqual([])
    // Redis as it came back from a snapshot taken before: what was recorded since is gone (the
    // indicators' writes too).
    offsets = memoryAppliedOffsets()
    await aggregator.handler(records.slice(60), ctx)
    const errors = lines.filter((l) => l.level === 50)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({
      source: `${topics.scored.name}/3`,
      recordedTo: 59,
      storedTo: null,
      msg: expect.stringContaining('tradepulse indicators rebuild'),
    })
    expect(await registry.getSingleMetricAsString('tradepulse_indicator_applied_lost_total')).toMatch(/ 1$/m)
    // Said once: the batch's own record is there again.
    await aggregator.handler(
      recordsOf(3, scoredSeries(1, { startMs: T0 + HOUR_MS, spanMs: 1, idPrefix: 'z' })).map((r) => ({
        ...r,
        offset: '100',
        timestamp: 2_000,
      })),
      ctx,
    )
    expect(lines.filter((l) => l.level === 50)).toHaveLength(1)
  })

  it('does not take a topic created anew for lost applied offsets: the stored range ends before what this member recorded, but holds newer records', async () => {
    const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
    const applied = memoryAppliedOffsets()
    const lines: Record<string, unknown>[] = []
    const sink = new PassThrough()
    sink.on('data', (d) => {
      for (const l of String(d).split('\n').filter(Boolean)) lines.push(JSON.parse(l))
    })
    const registry = new Registry()
    const member = (registry: Registry) =>
      createAggregator({
        clock: createManualClock(WALL_MS),
        topics,
        store,
        applied,
        log: createLogger({ level: 'info' }, sink),
        metrics: createAggregatorMetrics(registry),
        graceMs: GRACE,
        publish: { intervalMs: 1_000, largeChange: 0.1, burstFactor: 0, shortLabel: '15m' },
      })
    const a = member(registry)
    const b = member(new Registry())
    const old = recordsOf(3, scoredSeries(100, { startMs: T0, spanMs: HOUR_MS, idPrefix: 'k' })).map(
      (r, i) => ({ ...r, timestamp: 1_000 + i }),
    )
    await a.handler(old, ctx) // member A records offsets 0-99
    // headlines.scored deleted and created again; the partition went to member B meanwhile, which
    // applies the new topic's first records (offsets from 0, appended, so stamped, after the old ones).
    const renewed = recordsOf(
      3,
      scoredSeries(20, { startMs: T0 + 2 * HOUR_MS, spanMs: 10 * MIN_MS, idPrefix: 'r' }),
    ).map((r, i) => ({ ...r, timestamp: 5_000 + i }))
    await b.handler(renewed.slice(0, 10), ctx)
    // The partition back at A, which last recorded offset 99: the stored range ends at 9.
    await a.handler(renewed.slice(10), ctx)
    expect(lines.filter((l) => l.level === 50)).toEqual([])
    expect(await registry.getSingleMetricAsString('tradepulse_indicator_applied_lost_total')).toMatch(/ 0$/m)
    expect(lines.filter((l) => l.recordedTo === 99)).toEqual([
      expect.objectContaining({ level: 30, source: `${topics.scored.name}/3`, storedTo: 9 }),
    ])
  })

  it('counts as late what it is given again at the same offsets of a topic created anew (newer records)', async () => {
    const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
    const applied = memoryAppliedOffsets()
    const series = scoredSeries(100, { startMs: T0, spanMs: 2 * HOUR_MS, idPrefix: 'n' })
    const records = recordsOf(0, series).map((r, i) => ({ ...r, timestamp: 1_000 + i }))
    await setup(2_000, createManualClock(WALL_MS), store, applied).handler(records, ctx)
    // Offsets from 0 again, produced after the old topic's: not the records applied before.
    const renewed = setup(2_000, createManualClock(WALL_MS), store, applied)
    const old = scoredSeries(10, { startMs: T0, spanMs: 5 * MIN_MS, idPrefix: 'o' })
    await renewed.handler(
      recordsOf(0, old).map((r) => ({ ...r, timestamp: 5_000 })),
      ctx,
    )
    expect((await renewed.counts()).late).toBe(old.flatMap(contributionsOf).length)
  })

  describe('a merged round that fails, through the batch stages (as the runner calls them)', () => {
    const stagesOf = (handler: ReturnType<typeof setup>['handler']) =>
      createBatchStages({
        handler,
        worker: 'aggregator',
        dlqTopic: topics.dlq.name,
        log: createLogger({ level: 'silent' }),
        metrics: createMetrics('aggregator', new Registry()),
        signal: new AbortController().signal,
        produce: async () => {},
      })
    /** The memory store, its applyRuns failing with `fault(runs)` whenever that gives an error. */
    const failingStore = (fault: (runs: readonly (readonly Contribution[])[]) => Error | undefined) => {
      const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
      const failing: typeof store = {
        ...store,
        async applyRuns(runs) {
          const err = fault(runs)
          if (err) throw err
          return store.applyRuns(runs)
        },
      }
      return failing
    }

    it('fails a deferred batch retriable when a round fails before its last part is parsed, and applies each record once when it is handled again', async () => {
      // The second part's round fails as Redis restarting does: parts 3 and 4 are never parsed.
      let calls = 0
      const store = failingStore(() =>
        ++calls === 2 ? new TradepulseError('INFRA_REDIS', 'Connection is closed.') : undefined,
      )
      const { handler, counts, counter } = setup(10, createManualClock(WALL_MS), store)
      const stages = stagesOf(handler)
      const series = scoredSeries(35, { startMs: T0, spanMs: HOUR_MS, idPrefix: 'd' })
      const records = recordsOf(0, series).map((r, i) => ({ ...r, offset: String(i) }))
      const deferred: Promise<OutRecord[]>[] = []
      const defer = (work: Promise<OutRecord[]>) => {
        work.catch(() => {}) // settled by the runner's link
        deferred.push(work)
      }
      // Before, the handler handed back outcomes with holes, and prepare failed on them with a TypeError
      // (INTERNAL, not retriable): kafkajs stopped the consumer, the worker exited 1.
      const err = await stages.prepare(records, defer).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(TradepulseError)
      expect(err).toMatchObject({ code: 'INFRA_REDIS', retriable: true, message: 'Connection is closed.' })
      expect(calls).toBe(2)
      // The runner handles the batch again.
      deferred.length = 0
      const batch = await stages.prepare(records, defer)
      await Promise.all(deferred)
      expect(batch.outcomes).toHaveLength(35)
      expect(batch.outcomes.every((o) => o.kind === 'ok')).toBe(true)
      const contributions = series.flatMap(contributionsOf)
      const firstPart = series.slice(0, 10).flatMap(contributionsOf)
      expect(await counter('tradepulse_indicator_applied_total')).toBe(contributions.length)
      expect(await counts()).toMatchObject({ late: 0, duplicates: firstPart.length })
    })

    it.each([
      ['handled at once', false],
      ['deferred (catching up)', true],
    ])(
      "dead-letters only the record whose own apply Redis refuses for good, not another partition's that shared its round, and makes none late (%s)",
      async (_how, deferring) => {
        const wrongType = 'WRONGTYPE Operation against a key holding the wrong kind of value'
        // Any round holding POISON fails as a scope key of its alone holding the wrong type would.
        const store = failingStore((runs) =>
          runs.some((run) => run.some((c) => c.headlineId === 'POISON'))
            ? new TradepulseError('INFRA_REDIS', wrongType, { retriable: false })
            : undefined,
        )
        const { handler, counter } = setup(2_000, createManualClock(WALL_MS), store)
        const handled: number[] = []
        const stages = stagesOf((records, c) => {
          handled.push(records[0]!.partition)
          return handler(records, c)
        })
        const a = scoredSeries(20, { startMs: T0, spanMs: 30 * MIN_MS, seed: 1, idPrefix: 'a' })
        a[3] = { ...a[3]!, id: 'POISON' }
        const b = scoredSeries(20, { startMs: T0, spanMs: 30 * MIN_MS, seed: 2, idPrefix: 'b' })
        const deferred = new Map<number, Promise<OutRecord[]>>()
        const deferTo = (partition: number) =>
          deferring
            ? (work: Promise<OutRecord[]>) => {
                work.catch(() => {})
                deferred.set(partition, work)
              }
            : undefined
        let [fromA, fromB] = await Promise.all([
          stages.prepare(recordsOf(0, a), deferTo(0)),
          stages.prepare(recordsOf(1, b), deferTo(1)),
        ])
        if (deferring) {
          await expect(deferred.get(1)).resolves.toBeDefined()
          // A's work fails for POISON alone: the runner reads A again, without deferral.
          await expect(deferred.get(0)).rejects.toMatchObject({ message: wrongType, retriable: false })
          fromA = await stages.prepare(recordsOf(0, a))
        }
        // Before, B fell back to one record at a time too, and its record merged into a round with
        // POISON was dead-lettered with POISON's error.
        expect(fromB.outcomes.map((o) => o.kind)).toEqual(b.map(() => 'ok'))
        expect(handled.filter((p) => p === 1)).toHaveLength(1) // B handled once, whole
        expect(fromA.outcomes.map((o) => o.kind)).toEqual(a.map((h) => (h.id === 'POISON' ? 'dlq' : 'ok')))
        expect(fromA.outcomes[3]).toMatchObject({
          reason: 'handler_error',
          message: `INFRA_REDIS: ${wrongType}`,
        })
        // Every other headline applied once, in event-time order across the two: none late (A's, applied
        // before A fell back to one record at a time, come again as duplicates).
        const healthy = [...a, ...b].filter((h) => h.id !== 'POISON').flatMap(contributionsOf)
        expect(await counter('tradepulse_indicator_applied_total')).toBe(healthy.length)
        expect(await counter('tradepulse_indicator_late_total')).toBe(0)
      },
    )
  })
})

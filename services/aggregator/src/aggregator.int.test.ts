import { PassThrough } from 'node:stream'
import {
  createManualClock,
  createTopicCatalogue,
  type DeadLetter,
  IndicatorUpdate,
  LIMITS,
  listTopics,
  type ScoredHeadline,
} from '@tradepulse/contracts'
import {
  contributionsOf,
  type IndicatorStore,
  indicatorKey,
  resolveIndicatorConfig,
} from '@tradepulse/indicators'
import {
  createCapturingLogger,
  createKafka,
  createLogger,
  createRedisIndicatorStore,
  type InRecord,
  type LogLine,
  loadConfig,
  type Outcome,
} from '@tradepulse/platform'
import {
  collectTopic,
  createTopics,
  randomName,
  restartEmptyUntilReported,
  startLocalRedis,
  waitFor,
} from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createAggregator } from './aggregator-handler.ts'
import { createAggregatorMetrics } from './aggregator-metrics.ts'
import { buildAggregatorApp } from './build-app.ts'
import { AggregatorConfig, indicatorOverrides } from './config.ts'
import { useAggregatorTestContext } from './int-test-context.ts'
import { rebuildIndicators } from './rebuild.ts'
import {
  aheadOfClockStream,
  applyInOrder,
  compareStores,
  doubledAndShuffled,
  groupProgress,
  HOUR_MS,
  MIN_MS,
  produceScored,
  scoredSeries,
  seededRandom,
  targetsOf,
} from './scored-fixtures.ts'

const silent = createLogger({ level: 'silent' })
const T0 = Date.UTC(2025, 5, 2, 8)

/** A worker's log line; the runner's "joined consumer group" names the partitions it was given. */
type RunnerLine = LogLine & { assignment?: Record<string, number[]> }

/**
 * From the members' logs: every member's last join gave it partitions no other member has, together
 * `partitions` of them, and it has swapped event-time points with the others since.
 */
function joinSettled(members: readonly (readonly RunnerLine[])[], partitions: number): boolean {
  const owned = new Set<string>()
  for (const lines of members) {
    const join = lines.findLastIndex((l) => l.msg === 'joined consumer group')
    if (join < 0 || !lines.slice(join + 1).some((l) => l.msg === 'event-time points swapped')) return false
    for (const [topic, ps] of Object.entries(lines[join]!.assignment ?? {}))
      for (const p of ps) {
        if (owned.has(`${topic}/${p}`)) return false
        owned.add(`${topic}/${p}`)
      }
  }
  return owned.size === partitions
}

describe('aggregator worker on Kafka and Redis', () => {
  const ctx = useAggregatorTestContext('agg')
  const { kafkaBrokers } = ctx

  async function setup(partitions: number) {
    const topics = createTopicCatalogue(ctx.prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({
        name: t.name,
        partitions: t.name === topics.dlq.name ? 1 : partitions,
      })),
    )
    return topics
  }

  async function startAggregator(extra: Record<string, string> = {}, log = silent) {
    const config = loadConfig(AggregatorConfig, ctx.workerEnv(extra))
    const app = buildAggregatorApp(config, { log })
    ctx.cleanups.push(() => app.stop())
    await app.start()
    const store = createRedisIndicatorStore(ctx.redis, {
      prefix: ctx.keyPrefix,
      config: indicatorOverrides(config),
    })
    return { app, config, store }
  }

  /** The clean in-order run: the same headlines applied in event-time order to a store of their own. */
  async function cleanRun(headlines: readonly ScoredHeadline[], graceMs: number): Promise<IndicatorStore> {
    const ref = createRedisIndicatorStore(ctx.redis, {
      prefix: `${ctx.keyPrefix}ref`,
      config: indicatorOverrides({ AGGREGATOR_GRACE_MS: graceMs }),
    })
    for (let i = 0; i < headlines.length; i += 20) {
      const r = await ref.applyBatch(headlines.slice(i, i + 20).flatMap(contributionsOf))
      expect(r.late).toBe(0)
    }
    return ref
  }

  const progressAtEnd = async (topic: string) =>
    (await groupProgress(kafkaBrokers, `${ctx.prefix}aggregator`, topic)).atEnd

  const activeStore = async (store: IndicatorStore) =>
    store.withNamespace((await store.activeNamespace()) ?? store.namespace)

  /**
   * A rebuild of all of `topic` (grace 10 min) into a fresh namespace of the test's store, with its own
   * metrics: the result, the store, and how many contributions it counted late.
   */
  async function rebuildCountingLate(topic: string, extra: Partial<Parameters<typeof rebuildIndicators>[0]>) {
    const store = createRedisIndicatorStore(ctx.redis, { prefix: ctx.keyPrefix })
    const metrics = createAggregatorMetrics(new Registry())
    const r = await rebuildIndicators({
      brokers: kafkaBrokers,
      topic,
      sinceMs: 0,
      store,
      log: silent,
      graceMs: 600_000,
      metrics,
      ...extra,
    })
    const late = (await metrics.late.get()).values.reduce((n, v) => n + v.value, 0)
    return { r, store, late }
  }

  it('gives the values of a clean in-order run when every headline comes twice, shuffled within the grace', async () => {
    const topics = await setup(1) // one partition: the order produced is the order applied
    const series = scoredSeries(1_500, { startMs: T0, spanMs: 3 * HOUR_MS, seed: 11 })
    const stream = doubledAndShuffled(series, seededRandom(12))
    expect(stream).toHaveLength(3_000)
    await produceScored(ctx.producer, topics.scored.name, stream)
    const { app, store } = await startAggregator({ KAFKA_MAX_BATCH: '150' })
    await waitFor(() => progressAtEnd(topics.scored.name), {
      timeoutMs: 60_000,
      what: 'all scored headlines committed',
    })
    const ref = await cleanRun(series, 600_000)
    const targets = targetsOf(series)
    expect(targets.length).toBeGreaterThan(40)
    for (const asOf of [T0 + 3 * HOUR_MS, T0 + 3 * HOUR_MS + 7 * MIN_MS]) {
      expect(await compareStores(ref, store, targets, asOf)).toEqual([])
    }
    const metrics = await app.metrics.registry.metrics()
    expect(metrics).not.toMatch(/tradepulse_indicator_late_total\{/)
    const dup = /tradepulse_indicator_duplicates_total\{[^}]*\} (\d+)/.exec(metrics)
    expect(Number(dup?.[1])).toBe(series.flatMap(contributionsOf).length)
  })

  it('counts what a restarted aggregator is given again as duplicates, not late, past the hour of remembered ids; late headlines stay late', async () => {
    const topics = await setup(1)
    // Four hours of event time: a redelivery of all of it reaches back three hours past the hour of
    // headline ids the store remembers (as a replay packing hours into seconds redelivers after a kill).
    const series = scoredSeries(600, { startMs: T0, spanMs: 4 * HOUR_MS, seed: 31 })
    await produceScored(ctx.producer, topics.scored.name, series)
    const first = await startAggregator()
    await waitFor(() => progressAtEnd(topics.scored.name), {
      timeoutMs: 60_000,
      what: 'the first run committed every record',
    })
    const counted = async (app: typeof first.app) => {
      const text = await app.metrics.registry.metrics()
      let late = 0
      for (const m of text.matchAll(/^tradepulse_indicator_late_total\{[^}]*\} (\d+)$/gm))
        late += Number(m[1])
      const dup = /^tradepulse_indicator_duplicates_total\{[^}]*\} (\d+)$/m.exec(text)
      return { late, duplicates: Number(dup?.[1] ?? 0) }
    }
    expect(await counted(first.app)).toEqual({ late: 0, duplicates: 0 })
    const asOf = T0 + 4 * HOUR_MS
    const targets = targetsOf(series)
    const snapshot = async (store: IndicatorStore) =>
      Promise.all(
        targets.map(async ({ dimension, scope }) => {
          const u = await store.get(dimension, scope, asOf)
          return u ? { ...u, updatedAt: undefined } : undefined
        }),
      )
    const before = await snapshot(first.store)
    await first.app.stop()

    // The group's offset goes back to the start, as if the aggregator had been killed before it ever
    // committed: every record comes again. After them, headlines three hours older than the newest:
    // late, whoever reads them.
    const admin = createKafka({ brokers: kafkaBrokers, clientId: 'agg-test' }, silent).admin()
    await admin.connect()
    await admin.setOffsets({
      groupId: `${ctx.prefix}aggregator`,
      topic: topics.scored.name,
      partitions: [{ partition: 0, offset: '0' }],
    })
    await admin.disconnect()
    const late = scoredSeries(20, { startMs: T0 + HOUR_MS, spanMs: 10 * MIN_MS, seed: 32, idPrefix: 'late' })
    await produceScored(ctx.producer, topics.scored.name, late)

    const second = await startAggregator()
    await waitFor(() => progressAtEnd(topics.scored.name), {
      timeoutMs: 60_000,
      what: 'the restarted run committed every record',
    })
    expect(await counted(second.app)).toEqual({
      late: late.flatMap(contributionsOf).length,
      duplicates: series.flatMap(contributionsOf).length,
    })
    expect(await snapshot(second.store)).toEqual(before)
  })

  it('says so when its Redis comes back empty, naming the rebuild, and goes on applying', async () => {
    const topics = await setup(1)
    const first = await startLocalRedis()
    let server = first
    ctx.cleanups.push(() => server.stop())
    const series = scoredSeries(40, { startMs: T0, spanMs: HOUR_MS, seed: 21 })
    await produceScored(ctx.producer, topics.scored.name, series.slice(0, 20))
    const { app } = await startAggregator({ REDIS_URL: first.url })
    const applied = async () =>
      Number(
        /tradepulse_indicator_applied_total\{[^}]*\} (\d+)/.exec(await app.metrics.registry.metrics())?.[1] ??
          0,
      )
    await waitFor(async () => (await applied()) > 0, { what: 'headlines applied' })
    const before = await applied()
    expect((await app.health()).checks.redisState).toEqual({ status: 'ok' })

    const restarted = await restartEmptyUntilReported(first, () => app.health())
    server = restarted.server
    const { health } = restarted
    expect(health.ready).toBe(true)
    expect(health.checks.redisState?.detail).toMatch(
      /^Redis lost its data at .+: indicators incomplete until .+\. Run `tradepulse indicators rebuild` to restore them from Kafka$/,
    )
    // The stream goes on into the empty Redis.
    await produceScored(ctx.producer, topics.scored.name, series.slice(20))
    await waitFor(async () => (await applied()) > before, { what: 'headlines applied after the loss' })
    const fresh = new Redis(server.url)
    ctx.cleanups.push(() => fresh.quit())
    expect(await fresh.dbsize()).toBeGreaterThan(1)
  })

  it('publishes throttled updates keyed by indicator key, the last one of each key current', async () => {
    const topics = await setup(2)
    const updates = await collectTopic(kafkaBrokers, topics.indicators.name)
    ctx.cleanups.push(updates.stop)
    // Large-change publishing off, so the interval alone decides.
    const { app, store } = await startAggregator({
      AGGREGATOR_PUBLISH_INTERVAL_MS: '1000',
      AGGREGATOR_PUBLISH_LARGE_CHANGE: '2',
      AGGREGATOR_PUBLISH_BURST_FACTOR: '0',
    })
    await app.runner.joined()
    // 4 min of event time over a steady stream of ~3 s, many batches: 12 s of event time a batch, so a
    // partition would have to fall 25 batches (3.75 s, longer than the stream) behind the other to be
    // held. At 1 min a batch (750 ms behind) a loaded machine held one in 2 of 4 runs.
    const series = scoredSeries(600, { startMs: T0, spanMs: 4 * MIN_MS, seed: 3 })
    const started = Date.now()
    for (let i = 0; i < series.length; i += 30) {
      await produceScored(ctx.producer, topics.scored.name, series.slice(i, i + 30))
      await new Promise((r) => setTimeout(r, 150))
    }
    await waitFor(() => progressAtEnd(topics.scored.name), {
      what: 'all committed',
    })
    const asOf = Math.max(...series.map((h) => Date.parse(h.publishedAt)))
    const targets = targetsOf(series)
    // The trailing edge brings every key's final state onto the topic within an interval.
    const finalOf = async () => {
      const last = new Map<string, IndicatorUpdate>()
      for (const m of updates.messages)
        last.set(m.key!, IndicatorUpdate.parse(JSON.parse(m.value!.toString())))
      for (const t of targets) {
        const current = await store.get(t.dimension, t.scope, asOf)
        const published = last.get(current!.key)
        if (published?.count !== current!.count || published.asOf !== new Date(asOf).toISOString())
          return false
        expect(published.mean).toEqual(current!.mean)
      }
      return true
    }
    await waitFor(finalOf, { what: 'final updates on the topic', timeoutMs: 30_000 })
    const elapsedS = (Date.now() - started) / 1_000
    // A live stream on two partitions: event-time alignment never held either of them.
    expect(await app.metrics.registry.metrics()).toMatch(/tradepulse_partition_holds_total\{[^}]*\} 0\n/)

    const byKey = new Map<string, number[]>()
    for (const m of updates.messages) {
      const u = IndicatorUpdate.parse(JSON.parse(m.value!.toString()))
      expect(m.key).toBe(u.key)
      byKey.set(u.key, [...(byKey.get(u.key) ?? []), m.timestamp])
    }
    expect([...byKey.keys()].sort()).toEqual(
      targets.map((t) => `${t.dimension}|${t.scope.kind}:${t.scope.id}`).sort(),
    )
    // Each update carries the entry time of the newest headline it was published for: over a key's
    // updates, that reaches the newest entry among the headlines that touch the key, never beyond.
    const newestEntry = new Map<string, string>()
    for (const h of series)
      for (const c of contributionsOf(h)) {
        const key = indicatorKey(c.dimension, c.scope)
        if (h.ingestedAt > (newestEntry.get(key) ?? '')) newestEntry.set(key, h.ingestedAt)
      }
    const publishedEntry = new Map<string, string>()
    for (const m of updates.messages) {
      const u = IndicatorUpdate.parse(JSON.parse(m.value!.toString()))
      expect(u.ingestedAt, u.key).toBeDefined()
      expect(u.ingestedAt! <= newestEntry.get(u.key)!, u.key).toBe(true)
      if (u.ingestedAt! > (publishedEntry.get(u.key) ?? '')) publishedEntry.set(u.key, u.ingestedAt!)
    }
    expect(publishedEntry).toEqual(newestEntry)
    for (const [key, times] of byKey) {
      // Producer timestamps: decisions are 1 s apart, the sends after them as a loaded machine lets them
      // go (unthrottled, a key would go out every batch, 150 ms apart).
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, key).toBeGreaterThan(500)
      expect(times.length, key).toBeLessThanOrEqual(Math.ceil(elapsedS) + 2)
    }
  })

  it("publishes the scopes folded beyond AGGREGATOR_MAX_SCOPES_PER_KIND as their kind's other indicator", async () => {
    const topics = await setup(1)
    const updates = await collectTopic(kafkaBrokers, topics.indicators.name)
    ctx.cleanups.push(updates.stop)
    const { app, store } = await startAggregator({
      AGGREGATOR_MAX_SCOPES_PER_KIND: '2',
      AGGREGATOR_PUBLISH_INTERVAL_MS: '1000',
    })
    await app.runner.joined()
    // Ten regions, one headline each, a cap of two: R0 and R1 are admitted, the other eight fold.
    const series = scoredSeries(10, { startMs: T0, spanMs: MIN_MS, seed: 5, idPrefix: 'fold' }).map(
      (h, i) => ({ ...h, entities: { ...h.entities, regions: [`R${i}`] } }),
    )
    await produceScored(ctx.producer, topics.scored.name, series)
    await waitFor(() => progressAtEnd(topics.scored.name), { what: 'all committed' })
    const other = { kind: 'region', id: 'other' } as const
    const asOf = Math.max(...series.map((h) => Date.parse(h.publishedAt)))
    expect((await store.get('market', other, asOf))?.count).toBe(8)
    const lastOf = () => {
      const last = new Map<string, IndicatorUpdate>()
      for (const m of updates.messages)
        if (m.key?.startsWith('market|region:'))
          last.set(m.key, IndicatorUpdate.parse(JSON.parse(m.value!.toString())))
      return last
    }
    await waitFor(() => lastOf().get('market|region:other')?.count === 8, {
      what: 'market|region:other on the indicators topic',
      timeoutMs: 30_000,
    })
    const last = lastOf()
    expect([...last.keys()].sort()).toEqual(['market|region:R0', 'market|region:R1', 'market|region:other'])
    expect(last.get('market|region:other')!.mean).toEqual((await store.get('market', other, asOf))!.mean)
  })

  it("publishes the decayed weight behind each mean, the headlines' own, telling what the mean reads later", async () => {
    const topics = await setup(2)
    const updates = await collectTopic(kafkaBrokers, topics.indicators.name)
    ctx.cleanups.push(updates.stop)
    const { app, store } = await startAggregator()
    await app.runner.joined()
    const series = scoredSeries(300, { startMs: T0, spanMs: 2 * HOUR_MS, seed: 5 })
    await produceScored(ctx.producer, topics.scored.name, series)
    await waitFor(() => progressAtEnd(topics.scored.name), { what: 'all committed' })
    const asOf = Math.max(...series.map((h) => Date.parse(h.publishedAt)))
    const targets = targetsOf(series)
    const last = new Map<string, IndicatorUpdate>()
    await waitFor(
      async () => {
        for (const m of updates.messages)
          last.set(m.key!, IndicatorUpdate.parse(JSON.parse(m.value!.toString())))
        return targets.every(
          (t) => last.get(indicatorKey(t.dimension, t.scope))?.asOf === new Date(asOf).toISOString(),
        )
      },
      { what: "every key's final update on the topic" },
    )
    // Every update carries it, for every half-life of its mean.
    for (const m of updates.messages) {
      const u = IndicatorUpdate.parse(JSON.parse(m.value!.toString()))
      expect(Object.keys(u.weight ?? {}), u.key).toEqual(Object.keys(u.mean))
    }
    const config = resolveIndicatorConfig()
    const p = config.priorWeight
    const closeTo = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))
    for (const t of targets) {
      const key = indicatorKey(t.dimension, t.scope)
      const u = last.get(key)!
      const own = series.flatMap(contributionsOf).filter((c) => indicatorKey(c.dimension, c.scope) === key)
      expect(u.count, key).toBe(own.length)
      for (const h of config.halfLives) {
        // Σw·2^(−age/h) of the key's headlines at the update's asOf (none late: one stream in order).
        const w = own.reduce((s, c) => s + c.weight * 2 ** (-(asOf - c.eventMs) / h.ms), 0)
        expect(closeTo(u.weight![h.label]!, w), `${key} ${h.label}`).toBe(true)
      }
      // What the alerter makes of it through a silence: the mean decayed as mean·(w + p)·d / (w·d + p)
      // is what Redis reads later, with no headline added.
      for (const gap of [10 * MIN_MS, 3 * HOUR_MS, 2 * 24 * HOUR_MS]) {
        const later = await store.get(t.dimension, t.scope, asOf + gap)
        for (const h of config.halfLives) {
          const d = 2 ** (-gap / h.ms)
          const m = u.mean[h.label]!
          const w = u.weight![h.label]!
          expect(
            closeTo((m * (w + p) * d) / (w * d + p), later!.mean[h.label]!),
            `${key} ${h.label} +${gap}`,
          ).toBe(true)
        }
      }
    }
  })

  it('holds the event-time watermark at the wall clock against one feed stamped minutes ahead: other scopes keep their readings', async () => {
    const topics = await setup(1)
    const updates = await collectTopic(kafkaBrokers, topics.indicators.name)
    ctx.cleanups.push(updates.stop)
    const { app, store } = await startAggregator()
    await app.runner.joined()
    // Live: the stream of a feed whose clock runs six minutes ahead (aheadOfClockStream).
    const { base, headlines } = aheadOfClockStream(ctx.prefix)
    await produceScored(ctx.producer, topics.scored.name, headlines)
    await waitFor(() => progressAtEnd(topics.scored.name), { what: 'all committed' })
    const lastOf = (key: string) =>
      updates.messages
        .filter((m) => m.key === key)
        .map((m) => IndicatorUpdate.parse(JSON.parse(m.value!.toString())))
        .at(-1)
    await waitFor(
      () => lastOf('tariff|region:CN')?.count === 12 && lastOf('market|global:all')?.count === 13,
      {
        what: 'the final updates',
      },
    )
    const wall = Date.now()
    const china = lastOf('tariff|region:CN')!
    // Read at most the bound (30 s) past the wall clock, not six minutes on: the 15 min window still
    // holds the three CN headlines of the last ten minutes (two, before).
    expect(Date.parse(china.asOf)).toBeGreaterThanOrEqual(base)
    expect(Date.parse(china.asOf)).toBeLessThanOrEqual(wall + 30_000)
    expect(china.volume).toMatchObject({ '15m': 3, '1h': 12 })
    expect((await store.watermark())!).toBeLessThanOrEqual(wall + 30_000)
    // The skewed headline counts in its own scopes too, applied at the bound; counted.
    expect(Date.parse(lastOf('market|global:all')!.asOf)).toBeLessThanOrEqual(wall + 30_000)
    expect(await app.metrics.registry.getSingleMetricAsString('tradepulse_indicator_ahead_total')).toMatch(
      / 1$/m,
    )
    // A rebuild of the same records gives its namespace a watermark within the same bound.
    const { r, store: rebuilt } = await rebuildCountingLate(topics.scored.name, {})
    expect(r.headlines).toBe(13)
    expect((await rebuilt.withNamespace(r.namespace).watermark())!).toBeLessThanOrEqual(Date.now() + 30_000)
  })

  it('applies a headline stamped minutes ahead at the bound: one published minutes ago is still on time in the global scope, live and rebuilt', async () => {
    const topics = await setup(1)
    const updates = await collectTopic(kafkaBrokers, topics.indicators.name)
    ctx.cleanups.push(updates.stop)
    const { app, store } = await startAggregator({ AGGREGATOR_PUBLISH_INTERVAL_MS: '0' })
    await app.runner.joined()
    const now = Date.now()
    const [a, b, c] = scoredSeries(3, { startMs: now, spanMs: 1, idPrefix: ctx.prefix })
    const at = (h: ScoredHeadline, ms: number, regions: string[]): ScoredHeadline => ({
      ...h,
      publishedAt: new Date(ms).toISOString(),
      entities: { regions, commodities: [], sectors: [], companies: [] },
    })
    // One at a time, each applied before the next is sent: as a live stream brings them.
    const send = async (h: ScoredHeadline, applied: number) => {
      await produceScored(ctx.producer, topics.scored.name, [h])
      await waitFor(
        async () => (await store.get('market', { kind: 'global', id: 'all' }, 0))?.count === applied,
        {
          what: `${applied} applied`,
        },
      )
    }
    const headlines = [
      at(a!, now - MIN_MS, ['CN']),
      // Within what ingest lets through (about 10 min ahead), and inside the grace past the clock.
      at(b!, now + 9.5 * MIN_MS, ['US']),
      // A feed two minutes behind: on time (the grace is 10 min).
      at(c!, now - 2 * MIN_MS, ['CN']),
    ]
    for (const [i, h] of headlines.entries()) await send(h, i + 1)
    await waitFor(() => progressAtEnd(topics.scored.name), { what: 'all committed' })
    const late = async () =>
      (await app.metrics.registry.getSingleMetricAsString('tradepulse_indicator_late_total'))
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .reduce((n, l) => n + Number(/ (\d+)$/.exec(l)?.[1] ?? 0), 0)
    expect(await late()).toBe(0)
    const lastGlobal = () =>
      updates.messages
        .filter((m) => m.key === 'uncertainty|global:all')
        .map((m) => IndicatorUpdate.parse(JSON.parse(m.value!.toString())))
        .at(-1)
    await waitFor(() => lastGlobal()?.count === 3 || undefined, { what: 'the last global update' })
    expect(Date.parse(lastGlobal()!.asOf)).toBeLessThanOrEqual(Date.now() + 30_000)
    expect((await store.get('market', { kind: 'region', id: 'CN' }, 0))?.count).toBe(2)
    // A rebuild places the skewed headline where the live worker did (its record's time): the same values.
    const {
      r,
      store: rebuilt,
      late: rebuiltLate,
    } = await rebuildCountingLate(topics.scored.name, { keepPrevious: true })
    expect(r.headlines).toBe(3)
    expect(rebuiltLate).toBe(0)
    const again = rebuilt.withNamespace(r.namespace)
    const global = { kind: 'global', id: 'all' } as const
    const asOf = (await store.watermark())!
    expect(await compareStores(store, again, targetsOf(headlines), asOf)).toEqual([])
    expect((await again.get('market', global, 0))?.asOf).toBe((await store.get('market', global, 0))?.asOf)
  })

  it('dead-letters a headline stamped in 2099 as event_time_ahead: indicators and scope registries go on as without it', async () => {
    const topics = await setup(1)
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    ctx.cleanups.push(dlq.stop)
    const updates = await collectTopic(kafkaBrokers, topics.indicators.name)
    ctx.cleanups.push(updates.stop)
    const { app, store } = await startAggregator({ AGGREGATOR_PUBLISH_INTERVAL_MS: '0' })
    await app.runner.joined()
    const now = Date.now()
    const inRegion = (hs: ScoredHeadline[], region: (i: number) => string) =>
      hs.map((h, i) => ({ ...h, entities: { ...h.entities, regions: [region(i)] } }))
    const before = inRegion(
      scoredSeries(5, { startMs: now - 20 * MIN_MS, spanMs: 10 * MIN_MS, idPrefix: `${ctx.prefix}a` }),
      (i) => `R${i}`,
    )
    const [p] = scoredSeries(1, { startMs: now, spanMs: 1, idPrefix: `${ctx.prefix}poison` })
    const poison = {
      ...p!,
      publishedAt: '2099-01-01T00:00:00.000Z',
      entities: { ...p!.entities, regions: ['ZZ'] },
    }
    const after = inRegion(
      scoredSeries(6, { startMs: now - 5 * MIN_MS, spanMs: 5 * MIN_MS, idPrefix: `${ctx.prefix}b` }),
      (i) => `S${i % 3}`,
    )
    const global = { kind: 'global', id: 'all' } as const
    // Each applied before the next is sent, as a live stream brings them.
    await produceScored(ctx.producer, topics.scored.name, before)
    await waitFor(async () => (await store.get('market', global, 0))?.count === 5, { what: 'the first five' })
    await produceScored(ctx.producer, topics.scored.name, [poison])
    await waitFor(() => dlq.messages.length >= 1, { what: 'the dead letter' })
    await produceScored(ctx.producer, topics.scored.name, after)
    await waitFor(async () => (await store.get('market', global, 0))?.count === 11, { what: 'all eleven' })
    await waitFor(() => progressAtEnd(topics.scored.name), { what: 'all committed' })
    const letters = dlq.messages.map((m) => JSON.parse(m.value!.toString()) as DeadLetter)
    expect(letters).toHaveLength(1)
    expect(letters[0]).toMatchObject({
      reason: 'event_time_ahead',
      origin: { topic: topics.scored.name, offset: '5' },
    })
    expect(letters[0]!.message).toContain('publishedAt 2099-01-01T00:00:00.000Z')
    expect(await app.metrics.registry.getSingleMetricAsString('tradepulse_indicator_late_total')).not.toMatch(
      / [1-9]\d*$/m,
    )
    // No indicator reads in 2099, and the region registry kept every scope.
    expect((await store.watermark())!).toBeLessThanOrEqual(Date.now() + 30_000)
    const asOfs = updates.messages.map((m) =>
      Date.parse(IndicatorUpdate.parse(JSON.parse(m.value!.toString())).asOf),
    )
    expect(Math.max(...asOfs)).toBeLessThanOrEqual(Date.now() + 30_000)
    const regions = (await store.top('market', 'region', 'buzz', 100, Date.now()))
      .map((u) => u.scope.id)
      .sort()
    expect(regions).toEqual(['R0', 'R1', 'R2', 'R3', 'R4', 'S0', 'S1', 'S2'])
    // A rebuild skips it too, counted as invalid, as the live worker dead-lettered it.
    const { r, late } = await rebuildCountingLate(topics.scored.name, {})
    expect(r).toMatchObject({ records: 12, headlines: 11, invalid: 1 })
    expect(late).toBe(0)
  })

  it('refuses to start, naming them, when its output and dlq topics are missing and it does not create topics', async () => {
    const topics = createTopicCatalogue(ctx.prefix)
    await createTopics(kafkaBrokers, [{ name: topics.scored.name, partitions: 1 }])
    const app = buildAggregatorApp(loadConfig(AggregatorConfig, ctx.workerEnv()), { log: silent })
    ctx.cleanups.push(() => app.stop())
    const err = await app.start().catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' })
    expect(String(err)).toContain(`topics missing: ${topics.indicators.name}, ${topics.dlq.name} (`)
    expect(String(err)).toContain('tradepulse topics create')
  })

  it('refuses to start, naming REDIS_URL and the database, when the Redis server refuses its database', async () => {
    // It started, and retried every batch for ever on a Redis client closed for good.
    await setup(1)
    const url = `redis://${new URL(ctx.redisUrl).host}/99`
    const app = buildAggregatorApp(loadConfig(AggregatorConfig, ctx.workerEnv({ REDIS_URL: url })), {
      log: silent,
    })
    ctx.cleanups.push(() => app.stop())
    const err = await app.start().catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' })
    expect(String(err)).toContain(`Redis at ${url} (REDIS_URL) refused its database 99 (`)
  })

  it('warns at its assignment when its partitions cannot come in one fetch, naming the variable', async () => {
    const topics = await setup(2)
    // A backlog to catch up: without one there is nothing to align, and nothing is said.
    await produceScored(ctx.producer, topics.scored.name, scoredSeries(4, { startMs: T0, spanMs: MIN_MS }))
    const out = new PassThrough()
    let logged = ''
    out.on('data', (chunk: Buffer) => {
      logged += chunk.toString()
    })
    const { app } = await startAggregator(
      { KAFKA_MAX_BYTES_PER_PARTITION: String(40 * 1024 * 1024) },
      createLogger({ level: 'warn' }, out),
    )
    await app.runner.joined()
    // The runner's line (the start's heap warning names the variable too: 40 MB a partition is far past it).
    const said = (l: string) => l.includes('lower KAFKA_MAX_BYTES_PER_PARTITION to')
    await waitFor(() => logged.split('\n').some(said), { what: 'the warning' })
    const line = JSON.parse(logged.split('\n').find(said)!)
    expect(line).toMatchObject({ level: 40, partitions: 2, maxBytesPerPartition: 40 * 1024 * 1024 })
    expect(line.msg).toMatch(/lower KAFKA_MAX_BYTES_PER_PARTITION to 28835840 or less/)
  })

  it('sends an invalid scored headline to the dlq with its reason and applies the rest', async () => {
    const topics = await setup(1)
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    ctx.cleanups.push(dlq.stop)
    const { store } = await startAggregator()
    const [good] = scoredSeries(1, { startMs: T0, spanMs: MIN_MS })
    const { scores: _scores, ...noScores } = good!
    await ctx.producer.send({
      topic: topics.scored.name,
      messages: [
        { value: '{"id": "truncated' },
        { value: JSON.stringify(noScores) },
        { value: JSON.stringify({ ...good!, publishedAt: 'yesterday' }) },
        { value: JSON.stringify(good) },
      ],
    })
    await waitFor(() => dlq.messages.length >= 3, { what: 'three dead letters' })
    const letters = dlq.messages.map((m) => JSON.parse(m.value!.toString()) as DeadLetter)
    expect(letters.map((l) => l.reason)).toEqual(['invalid_json', 'schema_invalid', 'schema_invalid'])
    expect(letters[1]!.message).toMatch(/scores/)
    expect(letters[2]!.message).toMatch(/publishedAt/)
    for (const l of letters) expect(l.origin.topic).toBe(topics.scored.name)
    await waitFor(() => store.get('market', { kind: 'global', id: 'all' }, Date.parse(good!.publishedAt)), {
      what: 'the valid headline applied',
    })
  })

  it('dead-letters as schema_invalid a scored headline with too many entity ids or a bad id, and applies the rest', async () => {
    // A record of 1,000 companies filled the scope cap (every later company read as `other` for days); one
    // of 60,000 crashed the apply (RangeError, every partition re-read) and was dead-lettered as handler_error.
    const topics = await setup(1)
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    ctx.cleanups.push(dlq.stop)
    const { store } = await startAggregator()
    const [good] = scoredSeries(1, { startMs: T0, spanMs: MIN_MS })
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `C${i}`)
    const bad = [
      {
        ...good!,
        id: 'over',
        entities: { ...good!.entities, companies: ids(LIMITS.maxEntitiesPerKind + 1) },
      },
      { ...good!, id: 'huge', entities: { ...good!.entities, companies: ids(60_000) } },
      { ...good!, id: 'control', entities: { ...good!.entities, sectors: ['x\u0001y'] } },
      { ...good!, id: 'surrogate', entities: { ...good!.entities, companies: ['\ud800'] } },
      { ...good!, id: 'empty', entities: { ...good!.entities, regions: [''] } },
    ]
    await ctx.producer.send({
      topic: topics.scored.name,
      messages: [...bad, good!].map((h) => ({ key: h.id, value: JSON.stringify(h) })),
    })
    await waitFor(() => dlq.messages.length >= bad.length, { what: 'the dead letters' })
    const letters = dlq.messages.map((m) => JSON.parse(m.value!.toString()) as DeadLetter)
    expect(letters.map((l) => [l.reason, l.origin.offset, l.message])).toEqual([
      ['schema_invalid', '0', expect.stringMatching(/^entities\.companies: /)],
      ['schema_invalid', '1', expect.stringMatching(/^entities\.companies: /)],
      ['schema_invalid', '2', expect.stringMatching(/^entities\.sectors\.0: /)],
      ['schema_invalid', '3', expect.stringMatching(/^entities\.companies\.0: /)],
      ['schema_invalid', '4', expect.stringMatching(/^entities\.regions\.0: /)],
    ])
    const at = Date.parse(good!.publishedAt)
    await waitFor(() => store.get('market', { kind: 'global', id: 'all' }, at), {
      what: 'the valid headline applied',
    })
    await waitFor(() => progressAtEnd(topics.scored.name), { what: 'all scored headlines committed' })
    // None of the refused ids became a scope.
    expect(await store.get('market', { kind: 'entity', id: 'C0' }, at)).toBeUndefined()
  })

  it('reads what a newer scorer wrote, new fields at the top and nested, as without them; a known field of the wrong type still dead-letters', async () => {
    const topics = await setup(1) // one partition: the order produced is the order applied
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    ctx.cleanups.push(dlq.stop)
    const series = scoredSeries(200, { startMs: T0, spanMs: HOUR_MS, seed: 21 })
    // One optional field more, as a rolling deploy of the scorer brings it, where a reader might trip.
    const newer = series.map((h) => ({
      ...h,
      sentiment: { v2: 0.1, model: 'next' },
      scores: { ...h.scores, sentimentV2: -0.2, tariff: { ...h.scores.tariff, calibrated: true } },
      entities: { ...h.entities, people: ['Lutnick'] },
    }))
    const wrong = { ...newer[0]!, id: 'wrong-type', scores: { ...newer[0]!.scores, uncertainty: 'high' } }
    await ctx.producer.send({
      topic: topics.scored.name,
      messages: [...newer, wrong].map((h) => ({ key: h.id, value: JSON.stringify(h) })),
    })
    const { store } = await startAggregator()
    await waitFor(() => progressAtEnd(topics.scored.name), { what: 'all scored headlines committed' })
    const ref = await cleanRun(series, 600_000)
    const targets = targetsOf(series)
    expect(targets.length).toBeGreaterThan(20)
    expect(await compareStores(ref, store, targets, T0 + HOUR_MS)).toEqual([])
    await waitFor(() => dlq.messages.length >= 1, { what: 'the dead letter' })
    const letters = dlq.messages.map((m) => JSON.parse(m.value!.toString()) as DeadLetter)
    expect(letters.map((l) => [l.reason, l.origin.offset, l.message])).toEqual([
      ['schema_invalid', String(newer.length), expect.stringMatching(/^scores\.uncertainty: /)],
    ])
  })

  it('rebuilds a wiped namespace from Kafka, also while the live aggregator keeps applying', async () => {
    const topics = await setup(3)
    const GRACE = String(4 * HOUR_MS) // three partitions: no lateness from partition skew in this test
    const series = scoredSeries(2_000, { startMs: T0, spanMs: 3 * HOUR_MS, seed: 21 })
    const first = series.slice(0, 1_000)
    const second = series.slice(1_000)
    const since = Date.now() - 1_000
    await produceScored(ctx.producer, topics.scored.name, first)
    const { store, config } = await startAggregator({ AGGREGATOR_GRACE_MS: GRACE })
    const committed = () => progressAtEnd(topics.scored.name)
    await waitFor(committed, { what: 'first half committed' })
    const asOf = T0 + 3 * HOUR_MS
    const refFirst = await cleanRun(first, config.AGGREGATOR_GRACE_MS)
    expect(await compareStores(refFirst, store, targetsOf(first), asOf)).toEqual([])

    // Wipe, then rebuild with nothing else going on.
    expect(await store.clear()).toBeGreaterThan(0)
    expect(await store.get('market', { kind: 'global', id: 'all' }, asOf)).toBeUndefined()
    const r1 = await rebuildIndicators({
      brokers: kafkaBrokers,
      topic: topics.scored.name,
      sinceMs: since,
      store,
      log: silent,
      graceMs: config.AGGREGATOR_GRACE_MS,
    })
    expect(r1).toMatchObject({ previous: 'v1', records: 1_000, headlines: 1_000, invalid: 0 })
    expect(await store.activeNamespace()).toBe(r1.namespace)
    expect(await compareStores(refFirst, await activeStore(store), targetsOf(first), asOf)).toEqual([])

    // Again, while the second half streams in to the live worker.
    const streaming = (async () => {
      for (let i = 0; i < second.length; i += 50) {
        await produceScored(ctx.producer, topics.scored.name, second.slice(i, i + 50))
        await new Promise((r) => setTimeout(r, 40))
      }
    })()
    // Under a group prefix of its own (a deployment's, say): the group exists while it reads, not after.
    const groupPrefix = randomName('rebuild-group')
    const admin = createKafka({ brokers: kafkaBrokers, clientId: 'rebuild-test' }, silent).admin()
    await admin.connect()
    let groupsWhileReading: Promise<string[]> | undefined
    const r2 = await rebuildIndicators({
      brokers: kafkaBrokers,
      topic: topics.scored.name,
      sinceMs: since,
      store,
      log: silent,
      graceMs: config.AGGREGATOR_GRACE_MS,
      namespace: `${r1.namespace}b`,
      groupPrefix,
      onProgress: () => {
        groupsWhileReading ??= admin.listGroups().then((l) => l.groups.map((g) => g.groupId))
      },
    })
    expect(r2.groupId).toBe(`${groupPrefix}.rebuild.${r1.namespace}b`)
    expect(await groupsWhileReading).toContain(r2.groupId)
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(r2.groupId)
    await admin.disconnect()
    await streaming
    await waitFor(committed, { what: 'second half committed' })
    expect(await store.activeNamespace()).toBe(r2.namespace)
    expect(r2.previous).toBe(r1.namespace)
    const ref = await cleanRun(series, config.AGGREGATOR_GRACE_MS)
    expect(await compareStores(ref, store.withNamespace(r2.namespace), targetsOf(series), asOf)).toEqual([])
    expect(await ctx.redis.keys(`${ctx.keyPrefix}:${r1.namespace}:ind:*`)).toEqual([])
  })

  it('gives up a rebuild that does not catch up with the live stream, leaving readers where they were', async () => {
    const topics = await setup(3)
    const series = scoredSeries(20_000, { startMs: T0, spanMs: 3 * HOUR_MS, seed: 23 })
    const since = Date.now() - 1_000
    await produceScored(ctx.producer, topics.scored.name, series.slice(0, 500))
    const { store, config } = await startAggregator({ AGGREGATOR_GRACE_MS: String(4 * HOUR_MS) })
    // The stream goes on for as long as the rebuild runs: every catch-up pass finds new records.
    let rebuilding = true
    const streaming = (async () => {
      for (let i = 500; rebuilding && i < series.length; i += 20) {
        await produceScored(ctx.producer, topics.scored.name, series.slice(i, i + 20))
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    const namespace = randomName('rb').replaceAll('-', '')
    const rebuild = rebuildIndicators({
      brokers: kafkaBrokers,
      topic: topics.scored.name,
      sinceMs: since,
      store,
      log: silent,
      graceMs: config.AGGREGATOR_GRACE_MS,
      namespace,
      // No pass is short or quiet enough to switch after (not even one that found nothing new).
      switchLagRecords: -1,
      switchPassMs: -1,
      maxCatchUpPasses: 2,
    }).finally(() => {
      rebuilding = false
    })
    await expect(rebuild).rejects.toThrow(
      /not catching up .* catch-up pass \d+.* readers stay on namespace v1/,
    )
    await streaming
    expect(await store.activeNamespace()).toBeUndefined()
    expect(await ctx.redis.keys(`${ctx.keyPrefix}:${namespace}:*`)).toEqual([])
  })

  /** Partition 0 gets every tenth headline: a fetch of it spans far more event time than one of the others. */
  function produceUneven(topic: string, series: readonly ScoredHeadline[]) {
    return produceScored(ctx.producer, topic, series, {
      perRequest: 300,
      partitionOf: (n) => (n % 10 === 0 ? 0 : 1 + (n % 2)),
    })
  }

  it('catches up a backlog whose partitions cover event time unevenly, with the default grace, none late', async () => {
    const topics = await setup(3)
    // Eight hours of backlog. A produce request of 300 headlines makes a record batch of about 17 KB on
    // partition 0 and 78 KB on each of the others; a fetch of 128 KB a partition takes seven of partition
    // 0's, spanning seven times the event time of the others' one.
    const series = scoredSeries(6_000, { startMs: T0, spanMs: 8 * HOUR_MS, seed: 52 })
    await produceUneven(topics.scored.name, series)
    const { app, store } = await startAggregator({ KAFKA_MAX_BYTES_PER_PARTITION: String(128 * 1024) })
    await waitFor(() => progressAtEnd(topics.scored.name), {
      timeoutMs: 60_000,
      what: 'all scored headlines committed',
    })
    const metrics = await app.metrics.registry.metrics()
    expect(metrics).not.toMatch(/tradepulse_indicator_late_total\{/)
    expect(metrics).toMatch(/tradepulse_partitions_held\{worker="aggregator"\} 0\n/)
    expect(metrics).not.toMatch(/tradepulse_partition_holds_total\{[^}]*\} 0\n/) // it did hold some
    const ref = await cleanRun(series, 600_000)
    expect(await compareStores(ref, store, targetsOf(series), T0 + 8 * HOUR_MS)).toEqual([])
  })

  it('catches up a backlog with two members, one reading a sparse partition, with the default grace, none late', async () => {
    const topics = await setup(2)
    // Two hours of backlog: partition 0 gets every tenth headline, 1 the rest. Each member reads one
    // partition; alone, the one with partition 0 would read its two hours in a fetch or two while the
    // other reads minutes a fetch, and most of partition 1 would come late.
    const series = scoredSeries(6_000, { startMs: T0, spanMs: 2 * HOUR_MS, seed: 53 })
    await produceScored(ctx.producer, topics.scored.name, series, {
      perRequest: 300,
      partitionOf: (n) => (n % 10 === 0 ? 0 : 1),
    })
    const members = await Promise.all(
      [0, 1].map(() => startAggregator({ KAFKA_MAX_BYTES_PER_PARTITION: String(128 * 1024) })),
    )
    await waitFor(() => progressAtEnd(topics.scored.name), {
      timeoutMs: 90_000,
      what: 'all scored headlines committed',
    })
    // (Without the members' exchange of points: 71,983 contributions late.)
    let late = 0
    for (const { app } of members) {
      const text = await app.metrics.registry.getSingleMetricAsString('tradepulse_indicator_late_total')
      for (const m of text.matchAll(/^tradepulse_indicator_late_total\{[^}]*\} (\d+)$/gm))
        late += Number(m[1])
    }
    expect(late).toBe(0)
    // Both members read records (the first to join reads both partitions until the second joins).
    for (const { app } of members) {
      const read = (await app.metrics.messagesIn.get()).values.reduce((n, v) => n + v.value, 0)
      expect(read).toBeGreaterThan(0)
    }
    const ref = await cleanRun(series, 600_000)
    expect(await compareStores(ref, members[0]!.store, targetsOf(series), T0 + 2 * HOUR_MS)).toEqual([])
  })

  it('applies a live stream on two members as one member would, holding nothing after the join', async () => {
    const topics = await setup(2)
    const logs = [0, 1].map(() => createCapturingLogger<RunnerLine>('debug'))
    const members = await Promise.all(logs.map(({ log }) => startAggregator({}, log)))
    // The join is over once each member holds half the partitions and has swapped points with the other
    // since its last join (a swap is logged only after the join has read the partitions' ends and the
    // group). Until then a member holds what it fetches: the other members count as behind everything,
    // and a partition whose end was read with records on it is a backlog of unknown event time. Neither
    // joined() (a member's first join: the first to start often joins alone, with both partitions, and
    // joins again when the other comes) nor both fields of the points hash (that lone member writes both)
    // says so; this test's stream, started on them, was held once or twice for a few milliseconds.
    const lines = logs.map((l) => l.lines)
    const joinsOf = () => lines.map((l) => l.filter((x) => x.msg === 'joined consumer group').length)
    const holdsOf = async () => {
      let n = 0
      for (const { app } of members)
        n += (await app.metrics.holds.get()).values.reduce((k, v) => k + v.value, 0)
      return n
    }
    // A rebalance during the stream would rightly hold (as at the join), and the broker may start one on a
    // loaded machine (a session timing out): a window in which a member joined again is told apart from a
    // hold and measured again, in the next ten minutes of event time, up to three windows.
    const series: ScoredHeadline[] = []
    let clean = false
    for (let window = 0; window < 3 && !clean; window++) {
      await waitFor(() => joinSettled(lines, 2), {
        what: 'both members joined, each with one partition, and swapped points since',
      })
      const joins = joinsOf()
      const holdsBefore = await holdsOf()
      const part = scoredSeries(600, {
        startMs: T0 + window * 10 * MIN_MS,
        spanMs: 10 * MIN_MS,
        seed: 54 + window,
      })
      series.push(...part)
      for (let i = 0; i < part.length; i += 10) {
        await produceScored(ctx.producer, topics.scored.name, part.slice(i, i + 10))
        // A steady stream over ~18 s, 10 s of event time a batch: a member would have to fall thirty
        // batches (half the grace, 9 s) behind the other to be held. (The holds once put down to members
        // falling behind at 1 min and 20 s a batch fit the join's, above, as well: the stream started on it.)
        await new Promise((r) => setTimeout(r, 300))
      }
      await waitFor(() => progressAtEnd(topics.scored.name), { what: 'all committed', timeoutMs: 30_000 })
      if (String(joinsOf()) !== String(joins)) continue
      expect(await holdsOf()).toBe(holdsBefore)
      clean = true
    }
    expect(clean, 'a window of the stream with no member joining again').toBe(true)
    for (const { app } of members) {
      expect(
        await app.metrics.registry.getSingleMetricAsString('tradepulse_indicator_late_total'),
      ).not.toMatch(/\} [1-9]/)
      const read = (await app.metrics.messagesIn.get()).values.reduce((n, v) => n + v.value, 0)
      expect(read).toBeGreaterThan(0)
    }
    const ref = await cleanRun(series, 600_000)
    const asOf = T0 + (series.length / 600) * 10 * MIN_MS
    expect(await compareStores(ref, members[0]!.store, targetsOf(series), asOf)).toEqual([])
  })

  // A burst of 45 min of event time (nine half-graces) after an idle spell. Two members at their ends tell
  // each other no point, and each read the other's nothing, written before the other saw its burst: each
  // applied its whole burst, and 12,800 of the other's contributions came late (336 values differed).
  it.each([
    ['one member', 1, [0, 1]],
    ['two members', 2, [0, 1]],
    ['two members, on one partition', 2, [0]],
  ])(
    'applies a burst of 45 min of event time arriving at caught-up, idle %s at once as the in-order run, none late',
    async (_, n, partitions) => {
      const topics = await setup(2)
      const logs = Array.from({ length: n }, () => createCapturingLogger<RunnerLine>('debug'))
      const members = await Promise.all(logs.map(({ log }) => startAggregator({}, log)))
      // Caught up: a few minutes of headlines before the burst, applied, both partitions at their end.
      const before = scoredSeries(40, {
        startMs: T0 - 5 * MIN_MS,
        spanMs: 5 * MIN_MS,
        seed: 58,
        idPrefix: 'b',
      })
      await produceScored(ctx.producer, topics.scored.name, before, { partitionOf: (i) => i % 2 })
      await waitFor(() => progressAtEnd(topics.scored.name), { what: 'the first headlines committed' })
      if (n > 1)
        await waitFor(
          () =>
            joinSettled(
              logs.map((l) => l.lines),
              2,
            ),
          {
            what: 'both members joined, each with one partition, and swapped points since',
          },
        )
      // Each member's first fetch holds its partition's whole burst (three produce requests in a row).
      const burst = scoredSeries(3_000, { startMs: T0, spanMs: 45 * MIN_MS, seed: 59 })
      await produceScored(ctx.producer, topics.scored.name, burst, {
        perRequest: 1_000,
        partitionOf: (i) => partitions[i % partitions.length]!,
      })
      await waitFor(() => progressAtEnd(topics.scored.name), {
        timeoutMs: 60_000,
        what: 'the burst committed',
      })
      let late = 0
      for (const { app } of members) {
        const text = await app.metrics.registry.getSingleMetricAsString('tradepulse_indicator_late_total')
        for (const m of text.matchAll(/^tradepulse_indicator_late_total\{[^}]*\} (\d+)$/gm))
          late += Number(m[1])
      }
      const series = [...before, ...burst]
      const ref = await cleanRun(series, 600_000)
      const diff = await compareStores(ref, members[0]!.store, targetsOf(series), T0 + 45 * MIN_MS)
      expect({ late, differing: diff.length }).toEqual({ late: 0, differing: 0 })
    },
  )

  // Sparse headlines, hours apart (far more than the grace), on three partitions, each partition's
  // records out of event-time order here and there (as ingest's concurrent raw partitions leave them):
  // every tenth headline swaps places with the one three on, the next of the same partition, 7 h older.
  const SPARSE_DAYS = 40
  async function produceOutOfOrder(topic: string): Promise<ScoredHeadline[]> {
    const series = scoredSeries(400, { startMs: T0, spanMs: SPARSE_DAYS * 24 * HOUR_MS, seed: 55 })
    const order = [...series]
    for (let i = 0; i + 3 < order.length; i += 10) [order[i], order[i + 3]] = [order[i + 3]!, order[i]!]
    await produceScored(ctx.producer, topic, order, { perRequest: 6, partitionOf: (n) => n % 3 })
    return series
  }

  /** The in-order run, one headline at a time (a batch spanning more than the grace is one arrival). */
  async function oneByOne(store: IndicatorStore, series: readonly ScoredHeadline[]) {
    const ref = store.withNamespace('ref')
    expect((await applyInOrder(ref, series, 1)).late).toBe(0)
    return ref
  }

  it('catches up partitions out of event-time order in fetches of a few records, none late, as the in-order run', async () => {
    const topics = await setup(3)
    const series = await produceOutOfOrder(topics.scored.name)
    const { app, store } = await startAggregator({ KAFKA_MAX_BYTES_PER_PARTITION: '4096' })
    await waitFor(() => progressAtEnd(topics.scored.name), {
      timeoutMs: 60_000,
      what: 'all scored headlines committed',
    })
    const metrics = await app.metrics.registry.metrics()
    expect(metrics).not.toMatch(/tradepulse_indicator_late_total\{/)
    expect(metrics).not.toMatch(/tradepulse_partition_holds_total\{[^}]*\} 0\n/) // it did hold some
    const ref = await oneByOne(store, series)
    const end = T0 + SPARSE_DAYS * 24 * HOUR_MS
    expect(await compareStores(ref, store, targetsOf(series), end)).toEqual([])
  })

  it.each([
    ['in one fetch', 1 << 20],
    ['in fetches of a few records', 4 * 1024],
  ])('rebuilds partitions out of event-time order %s, none late, as the in-order run', async (_, bytes) => {
    const topics = await setup(3)
    const series = await produceOutOfOrder(topics.scored.name)
    const { r, store, late } = await rebuildCountingLate(topics.scored.name, {
      chunkRecords: 7,
      fetchBytesPerPartition: bytes,
    })
    expect(r.headlines).toBe(400)
    expect(late).toBe(0)
    const ref = await oneByOne(store, series)
    const end = T0 + SPARSE_DAYS * 24 * HOUR_MS
    expect(await compareStores(ref, store.withNamespace(r.namespace), targetsOf(series), end)).toEqual([])
  })

  it("gives the rebuilt namespace an event-time watermark: the newest headline applied, or the previous namespace's if newer", async () => {
    const topics = await setup(2)
    const series = scoredSeries(60, { startMs: T0, spanMs: 5 * 24 * HOUR_MS, seed: 56 })
    await produceScored(ctx.producer, topics.scored.name, series)
    const newest = Math.max(...series.map((h) => Date.parse(h.publishedAt)))
    const store = createRedisIndicatorStore(ctx.redis, { prefix: ctx.keyPrefix })
    const rebuild = (namespace: string) =>
      rebuildIndicators({
        brokers: kafkaBrokers,
        topic: topics.scored.name,
        sinceMs: 0,
        store,
        log: silent,
        graceMs: 600_000,
        namespace,
        keepPrevious: true,
      })
    const r1 = await rebuild('w1')
    expect(await (await activeStore(store)).watermark()).toBe(newest)
    // As of the watermark (what readers use by default), the indicators are the rebuilt ones, not 0.
    const ref = await oneByOne(store, series)
    expect(await compareStores(ref, store.withNamespace(r1.namespace), targetsOf(series), newest)).toEqual([])
    // The live worker had published later than the replayed headlines: the watermark does not go back.
    await store.withNamespace('w1').advanceWatermark(newest + HOUR_MS)
    await rebuild('w2')
    expect(await (await activeStore(store)).watermark()).toBe(newest + HOUR_MS)
  })

  it("publishes a key another member has applied newer headlines to at that key's newest event, on Redis", async () => {
    const topics = createTopicCatalogue(ctx.prefix)
    // Two members, each with its own store on the one namespace; B throttles the key after its first update.
    const member = (largeChange: number) => {
      const store = createRedisIndicatorStore(ctx.redis, {
        prefix: ctx.keyPrefix,
        config: { graceMs: 600_000 },
      })
      // A day past the news: the watermark's bound never binds. It stands still: B's second batch is
      // within its interval however slow the test runs.
      const clock = createManualClock(T0 + 24 * HOUR_MS)
      const aggregator = createAggregator({
        clock,
        monotonic: clock,
        topics,
        store,
        log: silent,
        metrics: createAggregatorMetrics(new Registry()),
        graceMs: 600_000,
        publish: { intervalMs: 1_000, largeChange, burstFactor: 0, shortLabel: '15m' },
      })
      return { store, handler: aggregator.handler }
    }
    const a = member(0.1)
    const b = member(10)
    const batch = (partition: number, id: string, atMs: number, offset: number): InRecord[] => {
      const [h] = scoredSeries(1, { startMs: atMs, spanMs: 1, idPrefix: id })
      const value = JSON.stringify({ ...h!, publishedAt: new Date(atMs).toISOString() })
      const key = Buffer.from(h!.id)
      const base = { topic: topics.scored.name, partition, key, headers: {}, timestamp: 0 }
      return [{ ...base, offset: String(offset), value: Buffer.from(value) }]
    }
    const marketOf = (outcomes: Outcome[]) => {
      const out = outcomes.flatMap((o) => (o.kind === 'ok' ? (o.out ?? []) : []))
      const record = out.find((r) => r.key === 'market|global:all')
      return record && IndicatorUpdate.parse(JSON.parse(String(record.value)))
    }
    const run = { signal: new AbortController().signal }
    expect(marketOf(await b.handler(batch(1, 'b0', T0 - 20 * MIN_MS, 0), run))).toBeDefined()
    expect(marketOf(await b.handler(batch(1, 'b1', T0 + 5 * MIN_MS, 1), run))).toBeUndefined()
    const published = marketOf(await a.handler(batch(0, 'a1', T0, 0), run))
    expect(published?.asOf).toBe(new Date(T0 + 5 * MIN_MS).toISOString())
    const atNewest = await a.store.get('market', { kind: 'global', id: 'all' }, T0 + 5 * MIN_MS)
    expect({ ...published, ingestedAt: undefined }).toEqual({ ...atNewest, ingestedAt: undefined })
    expect(published?.volume['15m']).toBe(2)
    expect(await b.store.watermark()).toBe(T0 + 5 * MIN_MS)
  })

  it('rebuilds a backlog whose partitions cover event time unevenly, with the default grace, none late', async () => {
    const topics = await setup(3)
    const series = scoredSeries(3_000, { startMs: T0, spanMs: 3 * HOUR_MS, seed: 51 })
    await produceUneven(topics.scored.name, series)
    const { r, store, late } = await rebuildCountingLate(topics.scored.name, { chunkRecords: 100 })
    expect(r.headlines).toBe(3_000)
    expect(late).toBe(0)
    const ref = await cleanRun(series, 600_000)
    expect(
      await compareStores(ref, store.withNamespace(r.namespace), targetsOf(series), T0 + 3 * HOUR_MS),
    ).toEqual([])
  })
})

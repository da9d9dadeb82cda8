import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createTopicCatalogue, IndicatorUpdate, listTopics, type ScoredHeadline } from '@tradepulse/contracts'
import {
  contributionsOf,
  createIndicatorKeys,
  type IndicatorStore,
  indicatorKey,
  parseIndicatorKey,
} from '@tradepulse/indicators'
import {
  compactId,
  createLogger,
  createRedisIndicatorStore,
  loadConfig,
  type OutRecord,
  TradepulseError,
} from '@tradepulse/platform'
import { collectTopic, createTopics, startReplyLosingProxy, waitFor } from '@tradepulse/testing'
import type { Command, Redis } from 'ioredis'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createAggregator } from './aggregator-handler.ts'
import { createAggregatorMetrics } from './aggregator-metrics.ts'
import { eventTimeRuns } from './apply-contributions.ts'
import { buildAggregatorApp } from './build-app.ts'
import { AggregatorConfig, indicatorOverrides, indicatorStoreOptions } from './config.ts'
import { dirtyKeysKey, redisDirtyKeys } from './dirty-keys.ts'
import { type AggregatorTestContext, useAggregatorTestContext } from './int-test-context.ts'
import { groupProgress, scoredSeries } from './scored-fixtures.ts'

const silent = createLogger({ level: 'silent' })
const GLOBAL = { kind: 'global', id: 'all' } as const
/** Text of the dirty keys' claim script alone (not of their mark or clear). */
const CLAIM_SCRIPT = "redis.call('ZRANGEBYSCORE'"
/** How old a held-back mark is taken over in these tests: far longer than any test waits. */
const RECOVER_MS = 120_000

/** The reply-losing proxy (packages/testing) in front of the test's Redis, closed after the test. */
async function replyLosingProxy(ctx: AggregatorTestContext, marker: string, applied: () => Promise<boolean>) {
  const proxy = await startReplyLosingProxy({
    redisUrl: ctx.redisUrl,
    marker,
    applied,
    what: 'the script run in Redis',
  })
  ctx.cleanups.push(proxy.close)
  return proxy
}

/** The SHA of the dirty keys' claim script (lua/dirty-claim-1.lua), by which its calls name it (EVALSHA). */
const CLAIM_SHA = createHash('sha1')
  .update(readFileSync(new URL('./lua/dirty-claim-1.lua', import.meta.url), 'utf8'))
  .digest('hex')

/**
 * `redis`, but its first call of the script whose SHA is `sha` fails once Redis has run it, as a reply
 * that never came does (REDIS_TIMEOUT_MS: ioredis's "Command timed out"). Every command, a pipeline's
 * (an auto-pipeline's) included, is sent through the client's sendCommand.
 */
function failingOnceAfter(redis: Redis, sha: string) {
  let failures = 0
  const wrapped = Object.create(redis) as Redis
  wrapped.sendCommand = ((command: Command, ...rest: unknown[]) => {
    if (failures === 0 && command.name === 'evalsha' && command.args[0] === sha) {
      const reject = command.reject
      command.resolve = () => {
        failures++
        reject(new Error('Command timed out'))
      }
    }
    return (redis.sendCommand as (...a: unknown[]) => unknown)(command, ...rest)
  }) as Redis['sendCommand']
  return { redis: wrapped, failures: () => failures }
}

/**
 * A Redis script's answer lost after Redis ran it: the connection closed before its reply (ioredis sends
 * the unanswered calls again on its next connection: autoResendUnfulfilledCommands), or the call failed
 * as a reply that never came does (REDIS_TIMEOUT_MS) and is made again. Sent again, the script meets its
 * own first run's effects, and answers as to another's.
 *
 * The apply: the second application finds every headline applied (duplicates), and a late one judged
 * late (late again). The aggregator publishes an update for the keys its headlines came to whatever the
 * store answered of them (only a contribution judged late, now or before, is left out), so every update
 * goes out as the first answer would have had it, with the values of a clean run, each headline applied
 * once; and it counts what the second application found as the first answer had it: applied, and late.
 *
 * The claim of held-back marks (a dead member's updates): the first run restamped them, taking them, and
 * a second finds none old enough; they would wait AGGREGATOR_PUBLISH_RECOVER_MS again before anyone
 * took them. The claim sent again, or made again after its call failed, answers the marks the first took.
 */
describe('aggregator on Kafka and Redis: a script whose answer was lost after it ran', () => {
  const ctx = useAggregatorTestContext('agglost')
  const { kafkaBrokers } = ctx

  const configOf = (extra: Record<string, string>) =>
    loadConfig(
      AggregatorConfig,
      ctx.workerEnv({
        // Each key's first update goes out at once; nothing else is published within a test.
        AGGREGATOR_PUBLISH_INTERVAL_MS: '60000',
        AGGREGATOR_PUBLISH_LARGE_CHANGE: '2',
        AGGREGATOR_PUBLISH_BURST_FACTOR: '0',
        AGGREGATOR_PUBLISH_RECOVER_MS: String(RECOVER_MS),
        RETRY_BASE_MS: '20',
        RETRY_MAX_MS: '100',
        ...extra,
      }),
    )

  async function start(extra: Record<string, string>, store?: (config: AggregatorConfig) => IndicatorStore) {
    const topics = createTopicCatalogue(ctx.prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name, partitions: 1 })),
    )
    const updates = await collectTopic(kafkaBrokers, topics.indicators.name)
    ctx.cleanups.push(updates.stop)
    const config = configOf(extra)
    const app = buildAggregatorApp(config, { log: silent, ...(store ? { store: store(config) } : {}) })
    ctx.cleanups.push(() => app.stop())
    await app.start()
    await app.runner.joined()
    const send = (headlines: readonly ScoredHeadline[]) =>
      ctx.producer.send({
        topic: topics.scored.name,
        messages: headlines.map((h) => ({ key: h.id, value: JSON.stringify(h) })),
      })
    const metric = async (name: string) => {
      let n = 0
      for (const m of (await app.metrics.registry.getSingleMetricAsString(name)).matchAll(/ (\d+)$/gm))
        n += Number(m[1])
      return n
    }
    return { app, config, topics, updates, send, metric }
  }

  /** Live headlines (published a few seconds ago), ids `<id>-<i>`, each with its own entry time. */
  const live = (id: string, n: number) => {
    const publishedAt = new Date(Date.now() - 2_000).toISOString()
    return scoredSeries(n, { startMs: Date.now() - 60_000, spanMs: 30_000, idPrefix: id, seed: 5 }).map(
      (h) => ({ ...h, publishedAt }),
    )
  }

  const keysOf = (headlines: readonly ScoredHeadline[]) => [
    ...new Set(headlines.flatMap(contributionsOf).map((c) => indicatorKey(c.dimension, c.scope))),
  ]

  /** Per indicator key, the entry time of the newest of `headlines` that came to it. */
  const newestEntries = (headlines: readonly ScoredHeadline[]) => {
    const entered = new Map<string, string>()
    for (const h of headlines)
      for (const c of contributionsOf(h)) {
        const key = indicatorKey(c.dimension, c.scope)
        if (h.ingestedAt > (entered.get(key) ?? '')) entered.set(key, h.ingestedAt)
      }
    return entered
  }

  /**
   * What a clean run publishes for `headlines` (applied once, to a store of their own): per indicator
   * key, the update read at `asOf` (the published one's), with the entry time of its newest headline.
   */
  async function cleanUpdates(
    config: AggregatorConfig,
    headlines: readonly ScoredHeadline[],
    asOfOf: (key: string) => number,
  ) {
    const ref = createRedisIndicatorStore(ctx.redis, {
      prefix: `${ctx.keyPrefix}ref`,
      config: indicatorOverrides(config),
    })
    const r = await ref.applyBatch(headlines.flatMap(contributionsOf))
    expect(r).toMatchObject({ duplicates: 0, late: 0 })
    const out = new Map<string, unknown>()
    for (const [key, ingestedAt] of newestEntries(headlines)) {
      const { dimension, scope } = parseIndicatorKey(key)
      const u = await ref.get(dimension, scope, asOfOf(key))
      out.set(key, { ...u, ingestedAt, updatedAt: undefined })
    }
    return out
  }

  /** The updates of `values` (record values), by key, in their order. */
  const byKeyOf = (values: readonly (Buffer | string | null)[]) => {
    const byKey = new Map<string, IndicatorUpdate[]>()
    for (const v of values) {
      const u = IndicatorUpdate.parse(JSON.parse(String(v)))
      byKey.set(u.key, [...(byKey.get(u.key) ?? []), u])
    }
    return byKey
  }

  /** Every key of `headlines` published once, with what a clean run gives (counts, means, weights; entry time). */
  async function expectPublishedOnce(
    config: AggregatorConfig,
    byKey: Map<string, IndicatorUpdate[]>,
    headlines: readonly ScoredHeadline[],
  ) {
    const keys = keysOf(headlines)
    expect(keys.length).toBeGreaterThan(8)
    expect([...byKey.keys()].sort()).toEqual([...keys].sort())
    const expected = await cleanUpdates(config, headlines, (key) => Date.parse(byKey.get(key)![0]!.asOf))
    for (const [key, updates] of byKey) {
      expect(updates, key).toHaveLength(1)
      expect({ ...updates[0]!, updatedAt: undefined }, key).toEqual(expected.get(key))
    }
  }

  /** The updates a worker published for `headlines`, once it committed them and every update counted is read. */
  async function publishedFor(run: Awaited<ReturnType<typeof start>>, headlines: readonly ScoredHeadline[]) {
    const keys = keysOf(headlines)
    await waitFor(
      () => {
        const byKey = byKeyOf(run.updates.messages.map((m) => m.value))
        return keys.every((k) => byKey.has(k))
      },
      { what: "every key's update published" },
    )
    await waitFor(
      async () =>
        (await groupProgress(kafkaBrokers, `${ctx.prefix}aggregator`, run.topics.scored.name)).atEnd,
      { what: 'the input committed' },
    )
    await waitFor(
      async () => (await run.metric('tradepulse_indicator_updates_total')) === run.updates.messages.length,
      { what: 'every update counted read from the topic' },
    )
    for (const m of run.updates.messages)
      expect(m.key).toBe(IndicatorUpdate.parse(JSON.parse(String(m.value))).key)
    return byKeyOf(run.updates.messages.map((m) => m.value))
  }

  /** The worker's applied, duplicate and late counts. */
  const countsOf = async (run: Awaited<ReturnType<typeof start>>) => ({
    applied: await run.metric('tradepulse_indicator_applied_total'),
    duplicates: await run.metric('tradepulse_indicator_duplicates_total'),
    late: await run.metric('tradepulse_indicator_late_total'),
  })

  /**
   * Each contribution counted applied once, as the lost answer had it (the second run finds them
   * duplicates), none late. Before, they were counted as duplicates.
   */
  async function expectCountedOnce(
    run: Awaited<ReturnType<typeof start>>,
    headlines: readonly ScoredHeadline[],
  ) {
    expect(await countsOf(run)).toEqual({
      applied: headlines.flatMap(contributionsOf).length,
      duplicates: 0,
      late: 0,
    })
  }

  it('publishes every update of the batch once, with the values of a clean run, when the connection drops after the apply ran, before its reply (ioredis sends it again)', async () => {
    const headlines = live('drop', 12)
    const market = createIndicatorKeys(ctx.keyPrefix, 'v1').state('market', GLOBAL)
    // The global scope's apply (every headline has a market score) ran: its state holds all of them.
    const proxy = await replyLosingProxy(
      ctx,
      market,
      async () => Number(await ctx.redis.hget(market, 'cnt')) === headlines.length,
    )
    const run = await start({ REDIS_URL: proxy.url })
    await run.send(headlines)
    await expectPublishedOnce(run.config, await publishedFor(run, headlines), headlines)
    await expectCountedOnce(run, headlines)
    expect(proxy.dropped()).toBe(1)
  })

  it('publishes every update of the batch once, with the values of a clean run, when the apply ran but its call failed (a reply timed out) and the batch is handled again', async () => {
    const headlines = live('timeout', 12)
    let calls = 0
    const run = await start({}, (config) => {
      const store = createRedisIndicatorStore(ctx.redis, indicatorStoreOptions(config))
      // Applied in Redis, then failing as a reply that never came does (REDIS_TIMEOUT_MS).
      return {
        ...store,
        async applyRuns(runs) {
          const results = await store.applyRuns(runs)
          if (calls++ === 0) throw new TradepulseError('INFRA_REDIS', 'Command timed out')
          return results
        },
      }
    })
    await run.send(headlines)
    await expectPublishedOnce(run.config, await publishedFor(run, headlines), headlines)
    await expectCountedOnce(run, headlines)
    expect(calls).toBe(2)
  })

  /** A W3C traceparent, sampled, its ids from `n`. */
  const traceOf = (n: number) =>
    `00-${n.toString(16).padStart(32, 'a')}-${n.toString(16).padStart(16, 'b')}-01`

  /**
   * Live headlines with a trace each, and one published 20 minutes ago (late: AGGREGATOR_GRACE_MS is 10 min)
   * in the global scope alone, entered after all of them, with its own trace. Before them, headlines as
   * recent applied to the store directly, so the global indicators' newest event is now (the late one is
   * late there, not the first of a fresh indicator) and the worker publishes every key at once.
   */
  async function withLateHeadline(config: AggregatorConfig, id: string) {
    const store = createRedisIndicatorStore(ctx.redis, indicatorStoreOptions(config))
    await store.applyBatch(live(`${id}pre`, 6).flatMap(contributionsOf))
    const onTime = live(id, 12)
    const [late] = live(`${id}late`, 1).map((h) => ({
      ...h,
      publishedAt: new Date(Date.now() - 20 * 60_000).toISOString(),
      ingestedAt: new Date(Date.now()).toISOString(),
      entities: { regions: [], commodities: [], sectors: [], companies: [] },
    }))
    const traces = new Map([...onTime, late!].map((h, i) => [h.id, traceOf(i + 1)]))
    return { onTime, late: late!, traces }
  }

  /**
   * What a run given `onTime` and `late` (see withLateHeadline) must have published and counted: each key
   * once, with the trace and entry time of its newest on-time headline, never the late one's; the counts
   * of a clean run (the same headlines applied once to a store of their own, as the worker applies them):
   * the on-time headlines applied, the late one late, none a duplicate.
   */
  async function expectLateLeftOut(
    run: Awaited<ReturnType<typeof start>>,
    { onTime, late, traces }: Awaited<ReturnType<typeof withLateHeadline>>,
  ) {
    const byKey = await publishedFor(run, onTime)
    const entries = newestEntries(onTime)
    const records = run.updates.messages
    expect(records).toHaveLength(entries.size)
    for (const m of records) {
      const update = IndicatorUpdate.parse(JSON.parse(String(m.value)))
      const newest = onTime
        .filter((h) => h.ingestedAt === entries.get(update.key))
        .filter((h) => contributionsOf(h).some((c) => indicatorKey(c.dimension, c.scope) === update.key))
      expect(update.ingestedAt, update.key).toBe(entries.get(update.key))
      expect(m.headers.traceparent, update.key).toBe(traces.get(newest[newest.length - 1]!.id))
    }
    expect(byKey.get('market|global:all')![0]!.count).toBe(6 + onTime.length)
    const ref = createRedisIndicatorStore(ctx.redis, {
      prefix: `${ctx.keyPrefix}ref`,
      config: indicatorOverrides(run.config),
    })
    await ref.applyBatch(live('refpre', 6).flatMap(contributionsOf))
    const clean = await ref.applyRuns(
      eventTimeRuns([...onTime, late].flatMap(contributionsOf), run.config.AGGREGATOR_GRACE_MS),
    )
    const sum = (k: 'applied' | 'late') => clean.reduce((n, r) => n + r[k], 0)
    expect(sum('late')).toBe(contributionsOf(late).length)
    await waitFor(async () => (await countsOf(run)).late > 0, { what: 'the late headline counted' })
    expect(await countsOf(run)).toEqual({ applied: sum('applied'), duplicates: 0, late: sum('late') })
  }

  const sendTraced = (
    run: Awaited<ReturnType<typeof start>>,
    { onTime, late, traces }: Awaited<ReturnType<typeof withLateHeadline>>,
  ) =>
    ctx.producer.send({
      topic: run.topics.scored.name,
      messages: [...onTime, late].map((h) => ({
        key: h.id,
        value: JSON.stringify(h),
        headers: { traceparent: traces.get(h.id)! },
      })),
    })

  it("gives no update a late headline's trace or entry time, and counts it late and the others applied, when the connection drops after the apply ran, before its reply (ioredis sends it again)", async () => {
    const config = configOf({})
    const batch = await withLateHeadline(config, 'ldrop')
    const ids = createIndicatorKeys(ctx.keyPrefix, 'v1').ids('market', GLOBAL)
    const digest = compactId(batch.late.id)
    // The call naming the late headline's id as an argument of its own (the script that judges it late,
    // not the fast path, which names it inside its JSON and finds it late without writing), once it ran.
    const proxy = await replyLosingProxy(
      ctx,
      `\r\n${digest}\r\n`,
      async () => (await ctx.redis.zscore(ids, digest)) !== null,
    )
    const run = await start({ REDIS_URL: proxy.url })
    await sendTraced(run, batch)
    await expectLateLeftOut(run, batch)
    expect(proxy.dropped()).toBe(1)
  })

  it("gives no update a late headline's trace or entry time, and counts it late and the others applied, when the apply ran but its call failed (a reply timed out) and the batch is handled again", async () => {
    const config = configOf({})
    const batch = await withLateHeadline(config, 'ltimeout')
    let calls = 0
    const run = await start({}, (config) => {
      const store = createRedisIndicatorStore(ctx.redis, indicatorStoreOptions(config))
      return {
        ...store,
        async applyRuns(runs) {
          const results = await store.applyRuns(runs)
          if (calls++ === 0) throw new TradepulseError('INFRA_REDIS', 'Command timed out')
          return results
        },
      }
    })
    await sendTraced(run, batch)
    await expectLateLeftOut(run, batch)
    expect(calls).toBe(2)
  })

  /**
   * `headlines` applied, and their keys held back by a member that died: marked dirty with the newest
   * entry time of each, twice RECOVER_MS ago. Resolves with the key of the marks' set, and whether every
   * mark was taken since (restamped).
   */
  async function heldBackByADeadMember(config: AggregatorConfig, headlines: readonly ScoredHeadline[]) {
    const store = createRedisIndicatorStore(ctx.redis, indicatorStoreOptions(config))
    await store.applyBatch(headlines.flatMap(contributionsOf))
    const key = dirtyKeysKey(ctx.keyPrefix, `${ctx.prefix}aggregator`)
    const entries = newestEntries(headlines)
    await redisDirtyKeys(ctx.redis, key, 3_600_000).mark(
      [...entries.keys()],
      new Map([...entries].map(([k, at]) => [k, Date.parse(at)])),
    )
    const oldUs = (Date.now() - 2 * RECOVER_MS) * 1_000
    for (const k of entries.keys()) await ctx.redis.zadd(key, 'XX', oldUs.toFixed(0), k)
    const taken = async () =>
      (await ctx.redis.zcount(key, '-inf', oldUs.toFixed(0))) === 0 &&
      (await ctx.redis.zcard(key)) === entries.size
    return { key, taken }
  }

  it('publishes the updates a dead member held back once, without waiting for them to be old again, when the connection drops after its claim took them, before its reply (ioredis sends it again)', async () => {
    const headlines = live('claim', 12)
    const held = await heldBackByADeadMember(configOf({}), headlines)
    const proxy = await replyLosingProxy(ctx, CLAIM_SCRIPT, held.taken)
    // A trailing tick (a quarter interval) looks for marks to take over once a second.
    const run = await start({ REDIS_URL: proxy.url, AGGREGATOR_PUBLISH_INTERVAL_MS: '1000' })
    // Well within RECOVER_MS: published by the claim that took them, not by one after they are old again.
    await expectPublishedOnce(run.config, await publishedFor(run, headlines), headlines)
    expect(proxy.dropped()).toBe(1)
    await waitFor(async () => (await ctx.redis.zcard(held.key)) === 0, { what: 'the marks settled' })
  })

  it('publishes the updates a dead member held back once, at its next claim, when its claim took them but its call failed (a reply timed out)', async () => {
    const headlines = live('claimfail', 12)
    const config = configOf({ AGGREGATOR_PUBLISH_INTERVAL_MS: '1000' })
    const { key } = await heldBackByADeadMember(config, headlines)
    const failing = failingOnceAfter(ctx.redis, CLAIM_SHA)
    const member = createAggregator({
      topics: createTopicCatalogue(ctx.prefix),
      store: createRedisIndicatorStore(ctx.redis, indicatorStoreOptions(config)),
      dirty: redisDirtyKeys(failing.redis, key, 3_600_000),
      log: silent,
      metrics: createAggregatorMetrics(new Registry()),
      graceMs: config.AGGREGATOR_GRACE_MS,
      recoverAfterMs: RECOVER_MS,
      publish: { intervalMs: 1_000, largeChange: 2, burstFactor: 0, shortLabel: '1h' },
    })
    const sent: OutRecord[] = []
    const collect = async (records: OutRecord[]) => {
      sent.push(...records)
    }
    // Well within RECOVER_MS: the next claim (a second on) answers what the failed one took.
    await waitFor(
      async () => {
        await member.flushDue(collect)
        return sent.length > 0
      },
      { what: 'the held-back updates published' },
    )
    expect(failing.failures()).toBe(1)
    await expectPublishedOnce(config, byKeyOf(sent.map((r) => r.value as string)), headlines)
    expect(await ctx.redis.zcard(key)).toBe(0)
  })
})

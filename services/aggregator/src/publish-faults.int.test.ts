import { PassThrough } from 'node:stream'
import {
  createTopicCatalogue,
  IndicatorUpdate,
  LIMITS,
  listTopics,
  type ScoredHeadline,
} from '@tradepulse/contracts'
import { contributionsOf, indicatorKey } from '@tradepulse/indicators'
import { createLogger, type Logger, loadConfig } from '@tradepulse/platform'
import { type CollectedMessage, collectTopic, createTopics, testKafka, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { buildAggregatorApp } from './build-app.ts'
import { AggregatorConfig } from './config.ts'
import { useAggregatorTestContext } from './int-test-context.ts'
import { groupProgress, scoredSeries } from './scored-fixtures.ts'

const silent = createLogger({ level: 'silent' })
const MARKET = 'market|global:all'

describe('aggregator: indicator updates Kafka refuses or does not take', () => {
  const ctx = useAggregatorTestContext('aggpubf')
  const { kafkaBrokers } = ctx

  async function start(
    indicatorsConfig: Record<string, string>,
    extra: Record<string, string>,
    log: Logger = silent,
  ) {
    const topics = createTopicCatalogue(ctx.prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({
        name: t.name,
        partitions: 1,
        ...(t.name === topics.indicators.name ? { config: indicatorsConfig } : {}),
      })),
    )
    const config = loadConfig(
      AggregatorConfig,
      ctx.workerEnv({
        AGGREGATOR_PUBLISH_LARGE_CHANGE: '2',
        AGGREGATOR_PUBLISH_BURST_FACTOR: '0',
        ...extra,
      }),
    )
    const app = buildAggregatorApp(config, { log })
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
    return { app, topics, send, metric }
  }

  /** Live headlines (published a few seconds ago), ids `<id>-<i>`. */
  const live = (id: string, n: number) =>
    scoredSeries(n, { startMs: Date.now() - 5_000, spanMs: 1_000, idPrefix: id }).map((h) => ({
      ...h,
      publishedAt: new Date(Date.now() - 2_000).toISOString(),
    }))
  const keysOf = (headlines: readonly ScoredHeadline[]) =>
    new Set(headlines.flatMap(contributionsOf).map((c) => indicatorKey(c.dimension, c.scope)))
  const countsOf = (messages: readonly CollectedMessage[], key: string) =>
    messages
      .filter((m) => m.key === key)
      .sort((a, b) => Number(a.offset) - Number(b.offset))
      .map((m) => IndicatorUpdate.parse(JSON.parse(m.value!.toString())).count)

  it('sends the updates of a record batch the topic refuses one by one, leaving out only a record refused alone: none dead-lettered, the trailing edge not stalled', async () => {
    // About 550 bytes an update: one alone fits, two or more in one record batch do not; nor does, alone,
    // one of a company whose id is the longest a scope id may be, every character of it escaped to three
    // in the key (about 950 bytes).
    const { topics, send, metric } = await start(
      { 'max.message.bytes': '800' },
      { AGGREGATOR_PUBLISH_INTERVAL_MS: '3000' },
    )
    const updates = await collectTopic(kafkaBrokers, topics.indicators.name)
    ctx.cleanups.push(updates.stop)
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    ctx.cleanups.push(dlq.stop)
    const long = '{'.repeat(LIMITS.maxScopeIdChars)
    const escaped = '%7B'.repeat(LIMITS.maxScopeIdChars)
    const [odd, ...rest] = live('a', 6)
    const first = [
      ...rest,
      { ...odd!, entities: { regions: [], commodities: [], sectors: [], companies: [long] } },
    ]
    const refused = [...keysOf(first)].filter((k) => k.includes(escaped))
    const expected = [...keysOf(first)].filter((k) => !k.includes(escaped))
    expect(refused.length).toBeGreaterThan(0)
    expect(expected.length).toBeGreaterThan(3)
    await send(first)
    await waitFor(() => expected.every((k) => updates.messages.some((m) => m.key === k)), {
      what: "every update of the batch but the company's",
      timeoutMs: 20_000,
    })
    await waitFor(
      async () => (await metric('tradepulse_indicator_updates_refused_total')) === refused.length,
      {
        what: 'the refused updates counted',
      },
    )
    // Within the interval: held back, the trailing edge's publish (several records again) goes out too.
    await send(live('b', 3))
    await waitFor(() => countsOf(updates.messages, MARKET).includes(9), {
      what: 'the trailing update',
      timeoutMs: 20_000,
    })
    await waitFor(
      async () => (await groupProgress(kafkaBrokers, `${ctx.prefix}aggregator`, topics.scored.name)).atEnd,
      { what: 'the input committed' },
    )
    // Every update acknowledged is on the topic (read once the collector has caught up), none of the company's.
    await waitFor(
      async () => (await metric('tradepulse_indicator_updates_total')) === updates.messages.length,
      { what: 'every update counted read from the topic' },
    )
    expect(updates.messages.some((m) => m.key?.includes(escaped))).toBe(false)
    // The dlq read to its end too: its emptiness then says no record of the committed input was dead-lettered.
    await dlq.caughtUp()
    expect(dlq.messages).toEqual([])
  })

  it('counts sends to an indicators topic gone, and reports indicatorPublish degraded and not ready past AGGREGATOR_PUBLISH_FAILING_MS, ok once it is back', async () => {
    const out = new PassThrough()
    let logged = ''
    out.on('data', (chunk: Buffer) => {
      logged += chunk.toString()
    })
    const { app, topics, send, metric } = await start(
      {},
      { AGGREGATOR_PUBLISH_INTERVAL_MS: '500', AGGREGATOR_PUBLISH_FAILING_MS: '1000' },
      createLogger({ level: 'info' }, out),
    )
    const linesOf = (msg: RegExp) =>
      logged
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => msg.test(l.msg))
    await send(live('a', 2))
    await waitFor(async () => (await metric('tradepulse_indicator_updates_total')) > 0, {
      what: 'the first updates',
    })
    expect((await app.health()).checks.indicatorPublish).toEqual({ status: 'ok' })
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    try {
      await admin.deleteTopics({ topics: [topics.indicators.name] })
      await send(live('b', 2))
      const degraded = await waitFor(
        async () => {
          const health = await app.health()
          return health.checks.indicatorPublish?.status === 'degraded' && health
        },
        { what: 'indicatorPublish degraded', timeoutMs: 30_000 },
      )
      expect(degraded.ready).toBe(false)
      expect(degraded.checks.indicatorPublish!.detail).toMatch(
        /^indicator updates not published for \d+ ms: /,
      )
      // The consumer goes on: its batches hold their updates back and complete.
      expect(degraded.checks.consumer!.status).toBe('ok')
      // Several ticks of the trailing edge failing: warned as it starts (again only should its reason
      // change, as the topic's deletion goes through), not at every tick.
      await waitFor(async () => (await metric('tradepulse_indicator_publish_failures_total')) >= 6, {
        what: 'the failed sends counted',
        timeoutMs: 30_000,
      })
      const warned = linesOf(/^trailing indicator updates failed/)
      expect(warned.length).toBeGreaterThan(0)
      expect(warned.length).toBeLessThanOrEqual(2)
      expect(warned.every((l) => l.level === 40)).toBe(true)
      await createTopics(kafkaBrokers, [{ name: topics.indicators.name, partitions: 1 }])
    } finally {
      await admin.disconnect()
    }
    const updates = await collectTopic(kafkaBrokers, topics.indicators.name)
    ctx.cleanups.push(updates.stop)
    await waitFor(() => countsOf(updates.messages, MARKET).includes(4), {
      what: 'the held-back updates published once the topic is back',
      timeoutMs: 30_000,
    })
    await waitFor(async () => (await app.health()).checks.indicatorPublish?.status === 'ok', {
      what: 'indicatorPublish ok again',
    })
    expect((await app.health()).ready).toBe(true)
    // Once at info when it goes through again.
    await waitFor(() => linesOf(/^trailing indicator updates failed/).some((l) => l.level === 30), {
      what: 'the trailing edge said to go through again',
    })
    expect(linesOf(/^trailing indicator updates failed/).filter((l) => l.level === 30)).toHaveLength(1)
  })
})

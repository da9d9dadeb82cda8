// Buzz after Redis loses its data, through the worker on Kafka and a Redis server of the test's own (so
// that FLUSHDB takes nothing of other tests'): the week of hourly buckets buzz is read against is gone,
// and a bucket from before the loss is unknown, not a zero.
import { createTopicCatalogue, IndicatorUpdate, listTopics, type ScoredHeadline } from '@tradepulse/contracts'
import { createLogger, loadConfig } from '@tradepulse/platform'
import { collectTopic, createTopics, startLocalRedis, waitFor } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { buildAggregatorApp } from './build-app.ts'
import { AggregatorConfig } from './config.ts'
import { useAggregatorTestContext } from './int-test-context.ts'
import { groupProgress, HOUR_MS, MIN_MS, produceScored } from './scored-fixtures.ts'

const T0 = Date.UTC(2025, 5, 2, 8)
const KEY = 'tariff|region:US'

/** A tariff headline about the US at `eventMs`. */
function usTariff(id: string, eventMs: number): ScoredHeadline {
  const at = new Date(eventMs).toISOString()
  return {
    id,
    source: 'fixture',
    headline: `tariff headline ${id}`,
    publishedAt: at,
    ingestedAt: at,
    truncated: false,
    scores: {
      tariff: { score: -0.4, relevance: 0.8, confidence: 0.8, label: 'negative' },
      supplyChain: { score: 0, relevance: 0, confidence: 0, label: null },
      market: { score: 0, label: 'neutral' },
      uncertainty: 0,
    },
    events: [],
    entities: { regions: ['US'], commodities: [], sectors: [], companies: [] },
    explanation: [],
    scorerVersion: 'fixture',
    scoredAt: at,
  }
}

describe('aggregator: buzz after Redis loses its data', () => {
  const ctx = useAggregatorTestContext('agg-buzz')

  it('publishes no buzz spike for a steady scope after FLUSHDB mid-stream: no reading (0) until 6 hours are known again, then near 0', async () => {
    const topics = createTopicCatalogue(ctx.prefix)
    await createTopics(
      ctx.kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name, partitions: 1 })),
    )
    const server = await startLocalRedis()
    ctx.cleanups.push(() => server.stop())
    const updates = await collectTopic(ctx.kafkaBrokers, topics.indicators.name)
    ctx.cleanups.push(updates.stop)
    const config = loadConfig(
      AggregatorConfig,
      ctx.workerEnv({ REDIS_URL: server.url, AGGREGATOR_PUBLISH_INTERVAL_MS: '0' }),
    )
    const app = buildAggregatorApp(config, { log: createLogger({ level: 'silent' }) })
    ctx.cleanups.push(() => app.stop())
    await app.start()
    await app.runner.joined()

    // 6 headlines an hour, an hour of them at a time, each hour applied before the next is sent.
    let n = 0
    const hours = async (fromMs: number, count: number) => {
      for (let h = 0; h < count; h++) {
        const start = fromMs + h * HOUR_MS
        const hour = Array.from({ length: 6 }, (_, i) => usTariff(`h${n++}`, start + i * 10 * MIN_MS))
        await produceScored(ctx.producer, topics.scored.name, hour)
        await waitFor(
          async () =>
            (await groupProgress(ctx.kafkaBrokers, `${ctx.prefix}aggregator`, topics.scored.name)).atEnd,
          { what: `hour ${h} applied` },
        )
      }
    }
    const published = () =>
      updates.messages
        .filter((m) => m.key?.toString() === KEY)
        .map((m) => IndicatorUpdate.parse(JSON.parse(m.value!.toString())))
    const publishedTo = (asOfMs: number) =>
      waitFor(() => published().some((u) => Date.parse(u.asOf) >= asOfMs) || undefined, {
        what: `${KEY} published at ${new Date(asOfMs).toISOString()}`,
      })

    await hours(T0, 6)
    const lostAt = T0 + 6 * HOUR_MS
    await publishedTo(lostAt - 10 * MIN_MS)
    const redis = new Redis(server.url)
    ctx.cleanups.push(() => redis.quit())
    await redis.flushdb()
    await hours(lostAt, 9)
    const last = lostAt + 9 * HOUR_MS - 10 * MIN_MS
    await publishedTo(last)

    const after = published().filter((u) => Date.parse(u.asOf) >= lostAt)
    expect(after.length).toBeGreaterThanOrEqual(9)
    // Before, buzz read 6 (the scope's whole volume, against a week of zeros) from the first hour on,
    // past the default rules' 3 for the rest of the day. Six whole hours known from lostAt + 7 h on.
    for (const u of after) {
      const sinceMs = Date.parse(u.asOf) - lostAt
      if (sinceMs < 7 * HOUR_MS) expect(u.buzz, u.asOf).toBe(0)
      else expect(Math.abs(u.buzz), u.asOf).toBeLessThan(1)
    }
    expect(after.at(-1)).toMatchObject({ asOf: new Date(last).toISOString(), volume: { '1h': 6 } })
  })
})

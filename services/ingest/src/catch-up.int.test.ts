import { createTopicCatalogue, type Headline, listTopics } from '@tradepulse/contracts'
import { createLogger, loadConfig } from '@tradepulse/platform'
import {
  collectTopic,
  createTopics,
  randomName,
  runAhead,
  testInfra,
  testProducer,
  waitFor,
} from '@tradepulse/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { buildIngestApp } from './build-app.ts'
import { IngestConfig } from './config.ts'

const MIN = 60_000

describe('ingest catching up a backlog on Kafka', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  let cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c()
    cleanups = []
  })

  it('keeps its raw partitions in step in event time, so no headlines partition runs hours ahead of older headlines', async () => {
    const prefix = `${randomName('ingest-catch-up')}.`
    const topics = createTopicCatalogue(prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name, partitions: 2 })),
    )
    // The backlog of an ingest that was down: a dense feed (a headline a second, 50 minutes) on one raw
    // partition, a sparse one (a headline a minute, 50 hours) on the other; each fetch brings as many
    // bytes of both, so minutes of one and an hour of the other.
    const producer = await testProducer(kafkaBrokers)
    cleanups.push(() => producer.disconnect())
    const t0 = Date.now() - 3 * 24 * 60 * MIN
    const raw = (feed: string, partition: number, i: number, stepMs: number) => ({
      partition,
      value: JSON.stringify({
        id: `${feed}-${i}`,
        source: feed,
        headline: `US raises tariffs on steel, part ${i}`,
        publishedAt: new Date(t0 + i * stepMs).toISOString(),
      }),
    })
    const messages = [
      ...Array.from({ length: 3_000 }, (_, i) => raw('dense', 0, i, 1_000)),
      ...Array.from({ length: 3_000 }, (_, i) => raw('sparse', 1, i, MIN)),
    ]
    for (let i = 0; i < messages.length; i += 500)
      await producer.send({ topic: topics.raw.name, messages: messages.slice(i, i + 500) })

    const out = await collectTopic(kafkaBrokers, topics.headlines.name)
    cleanups.push(out.stop)
    const config = loadConfig(IngestConfig, {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix.replace(/\W/g, '_'),
      TRADEPULSE_TOPIC_PREFIX: prefix,
      HTTP_PORT: '0',
      TOPICS_AUTO_CREATE: 'false',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
      KAFKA_MAX_BYTES_PER_PARTITION: '16384',
      INGEST_ALIGN_AHEAD_MS: '30000',
    })
    expect(config.INGEST_ALIGN_AHEAD_MS).toBe(30_000)
    const app = buildIngestApp(config, { log: createLogger({ level: 'silent' }) })
    cleanups.push(() => app.stop())
    await app.start()
    await waitFor(() => out.messages.length >= messages.length, {
      what: 'every headline of the backlog',
      timeoutMs: 60_000,
    })

    expect(new Set(out.messages.map((m) => m.key)).size).toBe(messages.length)
    for (const p of [0, 1]) {
      const times = out.messages
        .filter((m) => m.partition === p)
        .map((m) => Date.parse((JSON.parse(m.value!.toString()) as Headline).publishedAt))
      expect(times.length).toBeGreaterThan(1_000)
      // Before, each headlines partition ran about a day ahead (the sparse feed's share of every fetch),
      // and a quarter of its headlines came more than 10 minutes (the aggregator's grace) behind one
      // written before them: counted late.
      expect(runAhead(times)).toBeLessThanOrEqual(config.INGEST_ALIGN_AHEAD_MS)
    }
  })
})

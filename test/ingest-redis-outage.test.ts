import { createTopicCatalogue, type Headline, listTopics } from '@tradepulse/contracts'
import { buildIngestApp, IngestConfig } from '@tradepulse/ingest'
import { createLogger, loadConfig } from '@tradepulse/platform'
import {
  collectTopic,
  createTopics,
  freePort,
  randomName,
  startLocalRedis,
  testInfra,
  testKafka,
  testProducer,
  waitFor,
} from '@tradepulse/testing'
import { afterEach, describe, expect, it } from 'vitest'

describe('ingest while Redis is down', () => {
  const { kafkaBrokers } = testInfra()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('pauses without committing or crashing, reports degraded, and resumes losing nothing', async () => {
    const port = await freePort()
    let redis = await startLocalRedis({ port })
    cleanups.push(() => redis.stop())
    const prefix = `${randomName('outage')}.`
    const topics = createTopicCatalogue(prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name, partitions: 2 })),
    )
    const groupId = `${prefix}ingest`
    const config = loadConfig(IngestConfig, {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redis.url,
      TRADEPULSE_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_ID: groupId,
      HTTP_PORT: '0',
      TOPICS_AUTO_CREATE: 'false',
      RETRY_BASE_MS: '50',
      RETRY_MAX_MS: '300',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
    })
    const app = buildIngestApp(config, { log: createLogger({ level: 'silent' }) })
    cleanups.push(() => app.stop())
    await app.start()
    await app.runner.joined()
    const out = await collectTopic(kafkaBrokers, topics.headlines.name)
    const producer = await testProducer(kafkaBrokers)
    cleanups.push(out.stop, () => producer.disconnect())
    const send = (from: number, n: number) =>
      producer.send({
        topic: topics.raw.name,
        messages: Array.from({ length: n }, (_, i) => ({
          key: `k${from + i}`,
          value: JSON.stringify({ id: `id-${from + i}`, headline: `Headline ${from + i}` }),
        })),
      })

    await send(0, 50)
    await waitFor(() => out.messages.length >= 50, { what: 'first 50 out' })
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    cleanups.push(() => admin.disconnect())
    const committed = async () =>
      (await admin.fetchOffsets({ groupId, topics: [topics.raw.name] }))[0]!.partitions.reduce(
        (a, p) => a + Math.max(0, Number(p.offset)),
        0,
      )
    await waitFor(async () => (await committed()) === 50, { what: 'first 50 committed' })

    await redis.stop()
    await send(50, 50)
    const degraded = await waitFor(
      async () => {
        const h = await app.health()
        return h.status === 'degraded' && !h.ready && h
      },
      { what: 'degraded health' },
    )
    expect(degraded.checks.redis).toMatchObject({
      status: 'degraded',
      detail: expect.stringMatching(/^(Redis|redis): /),
    })
    // While Redis is down nothing passes and nothing is committed.
    await waitFor(
      async () =>
        /code="INFRA_REDIS"[^\n]*} [2-9]/.test(
          await app.metrics.registry.getSingleMetricAsString('tradepulse_infra_retries_total'),
        ),
      {
        what: 'retries counted',
      },
    )
    expect(out.messages.length).toBe(50)
    expect(await committed()).toBe(50)

    redis = await startLocalRedis({ port })
    await waitFor(() => out.messages.length >= 100, {
      timeoutMs: 60_000,
      what: 'the rest after Redis is back',
    })
    const ids = new Set(out.messages.map((m) => (JSON.parse(m.value!.toString()) as Headline).id))
    expect(ids.size).toBe(100)
    await waitFor(async () => (await committed()) === 100, { what: 'all committed' })
    await waitFor(async () => (await app.health()).ready, { what: 'ready again' })
  })
})

import { createTopicCatalogue } from '@tradepulse/contracts'
import {
  closeRedis,
  createKeys,
  createLogger,
  createMemoryBus,
  createMemoryTransport,
  createRedis,
  createRedisDedupStore,
  type DedupStore,
  loadConfig,
  type OutRecord,
  TradepulseError,
} from '@tradepulse/platform'
import { randomName, startReplyLosingProxy, testInfra, waitFor } from '@tradepulse/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { buildIngestApp } from './build-app.ts'
import { IngestConfig } from './config.ts'

const silent = createLogger({ level: 'silent' })
const TIME_COUNTERS = [
  'tradepulse_ingest_future_published_total',
  'tradepulse_ingest_past_published_total',
  'tradepulse_ingest_implausible_timestamp_total',
] as const

describe('ingest on Redis: a batch handled again after its claims were made', () => {
  const { redisUrl } = testInfra()
  let cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c()
    cleanups = []
  })

  /**
   * Ingest on an in-memory bus whose produce to the headlines topic fails while `failing` says so (a
   * Kafka fault: the batch is retried, its handler run again), with its dedup claims in the real Redis.
   */
  function ingestOn(
    bus: ReturnType<typeof createMemoryBus>,
    prefix: string,
    failing: () => boolean,
    opts: { redisUrl?: string; dedup?: DedupStore } = {},
  ) {
    const topics = createTopicCatalogue(prefix)
    const produce = bus.produce.bind(bus)
    let failures = 0
    const faulty = {
      ...bus,
      produce(records: OutRecord[]) {
        if (failing() && records.some((r) => r.topic === topics.headlines.name)) {
          failures++
          throw new TradepulseError('INFRA_KAFKA', 'produce failed: broker not available')
        }
        produce(records)
      },
    }
    const config = loadConfig(IngestConfig, {
      KAFKA_BROKERS: '127.0.0.1:1',
      REDIS_URL: opts.redisUrl ?? redisUrl,
      REDIS_KEY_PREFIX: keyPrefix(prefix),
      TRADEPULSE_TOPIC_PREFIX: prefix,
      HTTP_PORT: '0',
      RETRY_BASE_MS: '20',
      RETRY_MAX_MS: '100',
    })
    const app = buildIngestApp(config, {
      log: silent,
      transport: createMemoryTransport(faulty),
      ...(opts.dedup ? { dedup: opts.dedup } : {}),
    })
    cleanups.push(() => app.stop())
    const counted = async () =>
      Promise.all(
        TIME_COUNTERS.map(async (name) => {
          const text = await app.metrics.registry.getSingleMetricAsString(name)
          return Number(/\n[^#\n]+ (\d+)\s*$/.exec(text)?.[1] ?? Number.NaN)
        }),
      )
    return { app, topics, counted, failures: () => failures }
  }

  const keyPrefix = (prefix: string) => prefix.replace(/\W/g, '_')
  const IDS = ['future', 'implausible', 'past']

  /** A client of the real Redis for the test itself, closed after it. */
  function direct() {
    const redis = createRedis(redisUrl, silent, 'ingest-retry-test')
    cleanups.push(() => closeRedis(redis))
    return redis
  }

  /** Whether all three headlines' claims are made in Redis (the claim script ran). */
  const claimed = async (redis: ReturnType<typeof direct>, prefix: string) => {
    const keys = createKeys(keyPrefix(prefix))
    return (await redis.exists(...IDS.map((id) => keys.dedup(id)))) === IDS.length
  }

  /** The reply-losing proxy (packages/testing) in front of the real Redis, closed after the test. */
  async function replyLosingProxy(marker: string, applied: () => Promise<boolean>) {
    const proxy = await startReplyLosingProxy({
      redisUrl,
      marker,
      applied,
      what: 'the claim script run in Redis',
    })
    cleanups.push(proxy.close)
    return proxy
  }

  /** One headline ahead, one of a producer's zero time, one whose record timestamp is implausible. */
  function feed(bus: ReturnType<typeof createMemoryBus>, raw: string) {
    const now = Date.now()
    bus.produce([
      {
        topic: raw,
        key: 'future',
        value: JSON.stringify({
          id: 'future',
          headline: 'Tariffs rise on steel',
          publishedAt: new Date(now + 30 * 86_400_000).toISOString(),
        }),
      },
      {
        topic: raw,
        key: 'past',
        value: JSON.stringify({
          id: 'past',
          headline: 'Tariffs rise on oil',
          publishedAt: '1970-01-01T00:00:00Z',
        }),
      },
      {
        topic: raw,
        key: 'implausible',
        value: JSON.stringify({ id: 'implausible', headline: 'Tariffs rise on rice' }),
        timestamp: now * 1_000,
      },
    ])
  }

  const published = (bus: ReturnType<typeof createMemoryBus>, topic: string) => {
    const ids: string[] = []
    for (let p = 0; p < bus.partitions(topic); p++)
      for (const r of bus.read(topic, p, 0, 100)) ids.push(String(r.key))
    return ids.sort()
  }

  it('counts future, past and implausible timestamps once when a Kafka produce failure retries the batch, and publishes it', async () => {
    const prefix = `${randomName('ingest-retry')}.`
    const bus = createMemoryBus()
    let failing = true
    const ingest = ingestOn(bus, prefix, () => failing)
    await ingest.app.start()
    feed(bus, ingest.topics.raw.name)
    // The batch's claims are made, its produce fails, and it is handled again (its records re-claiming).
    await waitFor(async () => ingest.failures() >= 2, { what: 'the produce failing, the batch retried' })
    failing = false
    await waitFor(async () => published(bus, ingest.topics.headlines.name).length === 3, {
      what: 'the three headlines published once the fault cleared',
    })
    expect(published(bus, ingest.topics.headlines.name)).toEqual(['future', 'implausible', 'past'])
    expect(await ingest.counted()).toEqual([1, 1, 1])
  })

  it('counts none again when a new member is redelivered the batch the last one claimed and never committed (a crash)', async () => {
    const prefix = `${randomName('ingest-redeliver')}.`
    const bus = createMemoryBus()
    const first = ingestOn(bus, prefix, () => true)
    await first.app.start()
    feed(bus, first.topics.raw.name)
    await waitFor(async () => first.failures() >= 1, { what: 'the first member claiming and failing' })
    await first.app.stop()
    expect(await first.counted()).toEqual([1, 1, 1])

    const second = ingestOn(bus, prefix, () => false)
    await second.app.start()
    await waitFor(async () => published(bus, second.topics.headlines.name).length === 3, {
      what: 'the redelivered headlines published',
    })
    expect(await second.counted()).toEqual([0, 0, 0])
  })

  it('counts them once and publishes each once when the connection drops after the claims were made, before their reply', async () => {
    const prefix = `${randomName('ingest-lost-reply')}.`
    const redis = direct()
    // The proxy loses the reply to the write holding the claim of 'future' (the batch's claim calls go out
    // in one auto-pipelined write). No script need be loaded first: that write carries the claim script's
    // text (a createRedis client sends it with a script's first call in each pipeline), so Redis runs it
    // and never answers NOSCRIPT.
    const proxy = await replyLosingProxy(createKeys(keyPrefix(prefix)).dedup('future'), () =>
      claimed(redis, prefix),
    )
    const bus = createMemoryBus()
    const ingest = ingestOn(bus, prefix, () => false, { redisUrl: proxy.url })
    await ingest.app.start()
    feed(bus, ingest.topics.raw.name)
    // ioredis sends the claims again on its new connection, where they find the ids claimed by these
    // same records: still published, and counted, the first answer having never arrived.
    await waitFor(async () => published(bus, ingest.topics.headlines.name).length === 3, {
      what: 'the three headlines published after the connection was lost',
    })
    expect(proxy.dropped()).toBe(1)
    expect(published(bus, ingest.topics.headlines.name)).toEqual(IDS)
    expect(await ingest.counted()).toEqual([1, 1, 1])
  })

  it('counts them once and publishes each once when the claims were made but their call failed, and the batch is retried', async () => {
    const prefix = `${randomName('ingest-lost-answer')}.`
    const store = createRedisDedupStore(direct(), { prefix: keyPrefix(prefix), windowMs: 60_000 })
    let failures = 0
    // The claims made in Redis, then the call failing as a reply that never came does (REDIS_TIMEOUT_MS).
    const dedup: DedupStore = {
      ...store,
      async claimHeadlines(claims) {
        const answers = await store.claimHeadlines(claims)
        if (failures++ === 0) throw new TradepulseError('INFRA_REDIS', 'Command timed out')
        return answers
      },
    }
    const bus = createMemoryBus()
    const ingest = ingestOn(bus, prefix, () => false, { dedup })
    await ingest.app.start()
    feed(bus, ingest.topics.raw.name)
    await waitFor(async () => published(bus, ingest.topics.headlines.name).length === 3, {
      what: 'the three headlines published once the batch was retried',
    })
    expect(failures).toBe(2)
    expect(published(bus, ingest.topics.headlines.name)).toEqual(IDS)
    expect(await ingest.counted()).toEqual([1, 1, 1])
  })
})

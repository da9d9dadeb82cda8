// What every aggregator test on Kafka and Redis sets up before each test: a random topic prefix and Redis
// key prefix, a producer and a Redis client; and, after each, its cleanups run last first (the prefix's
// Redis keys deleted, the clients closed). Tests push their own cleanups (apps, consumers) onto it.
import { randomName, testInfra, testProducer } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import type { Producer } from 'kafkajs'
import { afterEach, beforeEach } from 'vitest'

export interface AggregatorTestContext {
  readonly kafkaBrokers: ReturnType<typeof testInfra>['kafkaBrokers']
  readonly redisUrl: string
  /** Topic prefix of this test ("<name>-r<run>-<hex>."). */
  prefix: string
  /** Redis key prefix of this test (the topic prefix with non-word characters as "_"). */
  keyPrefix: string
  producer: Producer
  redis: Redis
  cleanups: (() => Promise<unknown>)[]
  /** The worker's environment for this test (its topics, keys and group; no topic creation, quick heartbeats), with `extra` over it. */
  workerEnv(extra?: Record<string, string>): Record<string, string>
}

/** Registers the setup and cleanup around each test of the enclosing describe; `name` starts the prefixes. */
export function useAggregatorTestContext(name: string): AggregatorTestContext {
  const { kafkaBrokers, redisUrl } = testInfra()
  const ctx = {
    kafkaBrokers,
    redisUrl,
    prefix: '',
    keyPrefix: '',
    cleanups: [],
    workerEnv: (extra: Record<string, string> = {}) => ({
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: ctx.keyPrefix,
      TRADEPULSE_TOPIC_PREFIX: ctx.prefix,
      KAFKA_GROUP_ID: `${ctx.prefix}aggregator`,
      HTTP_PORT: '0',
      TOPICS_AUTO_CREATE: 'false',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
      ...extra,
    }),
  } as unknown as AggregatorTestContext
  beforeEach(async () => {
    ctx.prefix = `${randomName(name)}.`
    ctx.keyPrefix = ctx.prefix.replace(/\W/g, '_')
    ctx.cleanups = []
    const producer = await testProducer(kafkaBrokers)
    const redis = new Redis(redisUrl)
    const keyPrefix = ctx.keyPrefix
    ctx.producer = producer
    ctx.redis = redis
    ctx.cleanups.push(
      () => producer.disconnect(),
      async () => {
        const keys = await redis.keys(`${keyPrefix}*`)
        if (keys.length) await redis.unlink(...keys)
        await redis.quit()
      },
    )
  })
  afterEach(async () => {
    for (const c of ctx.cleanups.reverse()) await c()
  })
  return ctx
}

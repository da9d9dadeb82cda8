import { createTopics, deleteTopicsWithPrefix, randomName, testInfra } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { cli, expectOneLine } from './test-helpers.ts'

describe('the CLI on a Redis database the server refuses (REDIS_URL)', { timeout: 120_000 }, () => {
  const { kafkaBrokers, redisUrl } = testInfra()

  it.each([
    [['start', '--no-sample']],
    [['start', '--no-sample', '--workers', 'aggregator']],
    [['indicators']],
    [['indicators', 'rebuild']],
  ])("%j exits 78 with the workers' one line naming REDIS_URL and the database", async (args) => {
    // Taken as an unreachable Redis: "Redis at … failed: ERR DB index is out of range", exit 69, though
    // the server answered, and the workers refuse the same URL as a configuration error (78).
    const url = `redis://${new URL(redisUrl).host}/99`
    const prefix = `${randomName('cli-redis-db')}.`
    // The rebuild checks first that Kafka has the topic it reads (b0d6117): given it, Redis is next.
    const rebuild = args[1] === 'rebuild'
    if (rebuild) await createTopics(kafkaBrokers, [{ name: `${prefix}headlines.scored.v1` }])
    const r = await cli(args, {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: url,
      TRADEPULSE_TOPIC_PREFIX: prefix,
      REDIS_KEY_PREFIX: randomName('cli-redis-db'),
    }).finally(() => (rebuild ? deleteTopicsWithPrefix(kafkaBrokers, prefix) : undefined))
    expect(r.code, r.stderr).toBe(78)
    expectOneLine(r.stderr, /^tradepulse: Redis at /)
    expect(r.stderr).toBe(
      `tradepulse: Redis at ${url} (REDIS_URL) refused its database 99 (ERR DB index is out of range): set REDIS_URL to a database the server has (its databases setting), or to none for database 0\n`,
    )
  })
})

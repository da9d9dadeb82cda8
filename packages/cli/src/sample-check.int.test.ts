import { AggregatorConfig, indicatorStoreOptions } from '@tradepulse/aggregator'
import { createKeys, createRedisIndicatorStore, loadConfig } from '@tradepulse/platform'
import { randomName, testInfra } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { sampleReplayProblem } from './sample-check.ts'

describe('sampleReplayProblem on Redis', () => {
  const { redisUrl } = testInfra()
  const redis = new Redis(redisUrl)
  afterAll(() => redis.quit())
  const feed = [
    { id: 's-1', publishedAt: '2026-03-02T05:20:00Z' },
    { id: 's-2', publishedAt: '2026-03-02T06:00:00Z' },
  ]
  const options = (prefix: string) =>
    indicatorStoreOptions(loadConfig(AggregatorConfig, { REDIS_KEY_PREFIX: prefix }))

  it('has nothing to say under a fresh prefix', async () => {
    const prefix = randomName('sample-fresh')
    expect(
      await sampleReplayProblem(redis, feed, {
        dedupPrefix: prefix,
        indicators: options(prefix),
        graceMs: 600_000,
      }),
    ).toBeUndefined()
  })

  it('names the ids ingest took and an indicator event time past the sample, reading only', async () => {
    const prefix = randomName('sample-played')
    const key = createKeys(prefix).dedup('s-2')
    await redis.set(key, 'headlines.raw/0/1', 'PX', 60_000)
    expect(await sampleReplayProblem(redis, feed, { dedupPrefix: prefix })).toBe(
      'ingest took 1 of its 2 headline ids within INGEST_DEDUP_WINDOW_MS and drops them as repeats',
    )
    // Read, not claimed: the id not taken is still free.
    expect(await redis.exists(createKeys(prefix).dedup('s-1'))).toBe(0)

    const store = createRedisIndicatorStore(redis, options(prefix))
    // Within the grace of the sample's first headline: its headlines still count.
    await store.advanceWatermark(Date.parse('2026-03-02T05:25:00Z'))
    expect(
      await sampleReplayProblem(redis, feed, {
        dedupPrefix: `${prefix}-other`,
        indicators: options(prefix),
        graceMs: 600_000,
      }),
    ).toBeUndefined()
    await store.advanceWatermark(Date.parse('2026-03-05T23:45:00Z'))
    expect(
      await sampleReplayProblem(redis, feed, {
        dedupPrefix: prefix,
        indicators: options(prefix),
        graceMs: 600_000,
      }),
    ).toBe(
      "ingest took 1 of its 2 headline ids within INGEST_DEDUP_WINDOW_MS and drops them as repeats; and the indicators' event time (2026-03-05T23:45:00.000Z) is past the sample's (from 2026-03-02T05:20:00Z), so the aggregator counts its headlines late",
    )
  })
})

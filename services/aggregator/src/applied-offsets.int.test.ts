import { randomName, testInfra } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type AppliedOffsets,
  appliedOffsetsKey,
  type HandledRange,
  memoryAppliedOffsets,
  redisAppliedOffsets,
} from './applied-offsets.ts'

const T = Date.parse('2026-03-02T00:00:00Z')

describe('applied offsets in Redis', () => {
  const { redisUrl } = testInfra()
  let redis: Redis
  let key: string

  beforeEach(() => {
    redis = new Redis(redisUrl)
    key = appliedOffsetsKey(randomName('applied'), 'tradepulse.aggregator')
  })
  afterEach(async () => {
    await redis.unlink(key)
    await redis.quit()
  })

  it('joins and replaces ranges as the in-memory ones do, with their TTL, one field per partition', async () => {
    const inRedis = redisAppliedOffsets(redis, key, 60_000)
    const inMemory = memoryAppliedOffsets()
    const steps: [number, HandledRange][] = [
      [0, { from: 0, to: 99, minTs: T, maxTs: T + 99 }],
      [0, { from: 100, to: 149, minTs: T + 100, maxTs: T + 149 }], // follows
      [0, { from: 120, to: 199, minTs: T + 120, maxTs: T + 199 }], // given again, and more
      [1, { from: 7, to: 7, minTs: T, maxTs: T }],
      [1, { from: 9, to: 12, minTs: T + 9, maxTs: T + 12 }], // a gap: replaces
      [0, { from: 0, to: 49, minTs: T + 90_000, maxTs: T + 90_049 }], // the topic created again
      [0, { from: 2 ** 40, to: 2 ** 40 + 5, minTs: T, maxTs: T + 5 }], // large offsets survive the script
    ]
    const read = async (a: AppliedOffsets) => [await a.read('s', 0), await a.read('s', 1)]
    for (const [partition, range] of steps) {
      await inRedis.record('s', partition, range)
      await inMemory.record('s', partition, range)
      expect(await read(inRedis)).toEqual(await read(inMemory))
    }
    expect(await inRedis.read('s', 0)).toEqual({ from: 2 ** 40, to: 2 ** 40 + 5, maxTs: T + 5 })
    expect(await redis.hlen(key)).toBe(2)
    const ttl = await redis.pttl(key)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })
})

import { randomName, testInfra } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type AppliedOffsets,
  appliedOffsetsKey,
  type HandledRange,
  type HandledTail,
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
    // With tails (what merged rounds applied past the first record not applied yet).
    const tail = (from: number, to: number, belowMs: number) => ({
      from,
      to,
      minTs: T + from,
      maxTs: T + to,
      belowMs,
    })
    const withTails: [number, HandledRange | undefined, HandledTail | undefined][] = [
      [2, undefined, tail(0, 99, T + 5_000)], // nothing applied in offset order yet
      [2, { from: 0, to: 9, minTs: T, maxTs: T + 9 }, tail(10, 99, T + 6_000)],
      [2, { from: 0, to: 20, minTs: T, maxTs: T + 20 }, tail(21, 50, T + 9_000)], // fewer records (a restart)
      [2, { from: 0, to: 99, minTs: T, maxTs: T + 99 }, undefined], // the range covers the tail: gone
      [3, { from: 5, to: 9, minTs: T + 5, maxTs: T + 9 }, tail(10, 30, T + 1_000)],
      [3, { from: 10, to: 12, minTs: T + 10, maxTs: T + 12 }, undefined], // the tail reaches further: kept
    ]
    const readTails = async (a: AppliedOffsets) => [await a.read('s', 2), await a.read('s', 3)]
    for (const [partition, range, t] of withTails) {
      await inRedis.record('s', partition, range, t)
      await inMemory.record('s', partition, range, t)
      expect(await readTails(inRedis)).toEqual(await readTails(inMemory))
    }
    expect(await inRedis.read('s', 2)).toEqual({ from: 0, to: 99, maxTs: T + 99 })
    expect(await inRedis.read('s', 3)).toEqual({
      from: 5,
      to: 12,
      maxTs: T + 12,
      tail: { from: 10, to: 30, maxTs: T + 30, belowMs: T + 1_000 },
    })
    await redis.hdel(key, 's/2', 's/2~tail', 's/3', 's/3~tail')
    expect(await inRedis.read('s', 0)).toEqual({ from: 2 ** 40, to: 2 ** 40 + 5, maxTs: T + 5 })
    expect(await redis.hlen(key)).toBe(2)
    const ttl = await redis.pttl(key)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })
})

import { createManualClock } from '@tradepulse/contracts'
import { createMemoryDedupStore, createRedisDedupStore, type DedupStore } from '@tradepulse/platform'
import { randomName, testInfra } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'

/** The same claims through both adapters must give the same answers. */
async function scenario(store: DedupStore): Promise<boolean[][]> {
  const ids = Array.from({ length: 300 }, (_, i) => `id-${i}`)
  return [
    // First sightings across many shards, with a repeat inside the batch.
    await store.claim([
      ...ids.map((id, i) => ({ id, origin: `raw/0/${i}` })),
      { id: 'id-7', origin: 'raw/1/900' },
    ]),
    // A redelivery of the same records passes again; a repeat from another record does not.
    await store.claim([
      { id: 'id-1', origin: 'raw/0/1' },
      { id: 'id-1', origin: 'raw/1/901' },
      { id: 'new', origin: 'raw/1/902' },
    ]),
    await store.claim([]),
  ]
}

describe('dedup store: Redis and memory answer alike', () => {
  const redis = new Redis(testInfra().redisUrl)
  afterAll(() => redis.quit())

  it('claims once per id, lets the claiming record through again, and sets the window as TTL', async () => {
    const prefix = randomName('dedup')
    const viaRedis = await scenario(createRedisDedupStore(redis, { prefix, windowMs: 60_000 }))
    const viaMemory = await scenario(
      createMemoryDedupStore({ windowMs: 60_000, clock: createManualClock(0) }),
    )
    expect(viaRedis).toEqual(viaMemory)
    expect(viaRedis[0]!.filter(Boolean)).toHaveLength(300)
    expect(viaRedis[0]![300]).toBe(false)
    expect(viaRedis[1]).toEqual([true, false, true])
    const keys = await redis.keys(`${prefix}:dedup:*`)
    expect(keys).toHaveLength(301)
    const ttl = await redis.pttl(keys[0]!)
    expect(ttl).toBeGreaterThan(50_000)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })
})

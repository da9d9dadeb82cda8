import { createManualClock } from '@tradepulse/contracts'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest'
import { randomName } from '../kafka/int-test-support.ts'
import { createKeys, dedupShard } from '../redis/keys.ts'
import { claimOrigin, type DedupStore } from './dedup-store.ts'
import { createMemoryDedupStore } from './memory-dedup-store.ts'
import { createRedisDedupStore } from './redis-dedup-store.ts'

// platform cannot depend on @tradepulse/testing (which depends on platform): the int project's Redis
// is read from what its global setup provides.
function redisUrl(): string {
  const provided = (inject as (key: string) => unknown)('redisUrl')
  return typeof provided === 'string' ? provided : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
}

const WINDOW_MS = 60_000
const ids = Array.from({ length: 300 }, (_, i) => `id-${i}`)

/** The same claims and releases through either store: every answer, in order. */
async function scenario(store: DedupStore) {
  return {
    // First sightings across many shards, with a repeat inside the batch by another record.
    firsts: await store.claimHeadlines([
      ...ids.map((id, i) => ({ id, origin: `raw/0/${i}` })),
      { id: 'id-7', origin: 'raw/1/900' },
    ]),
    // A redelivery of the same record is a re-claim; a repeat from another record is a duplicate.
    again: await store.claimHeadlines([
      { id: 'id-1', origin: 'raw/0/1' },
      { id: 'id-1', origin: 'raw/1/901' },
      { id: 'new', origin: 'raw/1/902' },
    ]),
    none: await store.claimHeadlines([]),
    // Kafka refused the headline of raw/0/2 for good: only its own claim is released.
    released: await store.releaseClaims('raw/0/2', ['id-3', 'id-2', 'never']),
    releasedAgain: await store.releaseClaims('raw/0/2', ['id-2']),
    // Its re-send is a new headline; the claim left alone still holds.
    resent: await store.claimHeadlines([
      { id: 'id-2', origin: 'raw/5/5' },
      { id: 'id-3', origin: 'raw/0/2' },
    ]),
  }
}

describe('dedup store on Redis', () => {
  const redis = new Redis(redisUrl())
  const prefixes: string[] = []
  const newPrefix = () => {
    const prefix = randomName('dedup')
    prefixes.push(prefix)
    return prefix
  }
  afterEach(async () => {
    for (const prefix of prefixes.splice(0)) {
      const keys = await redis.keys(`${prefix}:dedup:*`)
      if (keys.length) await redis.unlink(...keys)
    }
  })
  afterAll(() => redis.quit())

  it('answers every claim and release as the memory store does', async () => {
    const viaRedis = await scenario(
      createRedisDedupStore(redis, { prefix: newPrefix(), windowMs: WINDOW_MS }),
    )
    const viaMemory = await scenario(
      createMemoryDedupStore({ windowMs: WINDOW_MS, clock: createManualClock(0) }),
    )
    expect(viaRedis).toEqual(viaMemory)
    expect(viaRedis.firsts.slice(0, 300)).toEqual(ids.map(() => 'first'))
    expect(viaRedis.firsts[300]).toBe('duplicate')
    expect(viaRedis.again).toEqual(['again', 'duplicate', 'first'])
    expect(viaRedis.none).toEqual([])
    expect(viaRedis.released).toEqual(['other', 'released', 'absent'])
    expect(viaRedis.releasedAgain).toEqual(['absent'])
    expect(viaRedis.resent).toEqual(['first', 'duplicate'])
  })

  it('keeps a claim as the claiming origin for the window, one key per id, tagged by its shard', async () => {
    const prefix = newPrefix()
    const keys = createKeys(prefix)
    await scenario(createRedisDedupStore(redis, { prefix, windowMs: WINDOW_MS }))
    const stored = await redis.keys(`${prefix}:dedup:*`)
    expect(stored.sort()).toEqual([...ids, 'new'].map((id) => keys.dedup(id)).sort())
    // Grouped by shard: the 300 ids took many of the shards' tags, one script call each.
    expect(new Set(ids.map(dedupShard)).size).toBeGreaterThan(32)
    expect(await redis.get(keys.dedup('id-0'))).toBe('raw/0/0')
    expect(await redis.get(keys.dedup('id-2'))).toBe('raw/5/5')
    expect(await redis.get(keys.dedup('id-3'))).toBe('raw/0/3')
    const ttl = await redis.pttl(keys.dedup('id-0'))
    expect(ttl).toBeGreaterThan(WINDOW_MS - 10_000)
    expect(ttl).toBeLessThanOrEqual(WINDOW_MS)
  })

  it('reads and releases the claims of a member on earlier code alike (a rolling deploy)', async () => {
    // Every earlier claim script held a claim as its record's origin, for the window.
    const prefix = newPrefix()
    const keys = createKeys(prefix)
    await redis.set(keys.dedup('x'), 'raw/0/1', 'PX', WINDOW_MS)
    await redis.set(keys.dedup('y'), 'raw/0/2', 'PX', WINDOW_MS)
    const store = createRedisDedupStore(redis, { prefix, windowMs: WINDOW_MS })
    // claimOrigin names a record as they did, so the same record re-claims and releases what it held.
    const record = (offset: string) => claimOrigin({ topic: 'raw', partition: 0, offset })
    expect(
      await store.claimHeadlines([
        { id: 'x', origin: record('1') },
        { id: 'x', origin: record('2') },
      ]),
    ).toEqual(['again', 'duplicate'])
    expect(await store.releaseClaims(record('2'), ['y'])).toEqual(['released'])
    expect(await redis.exists(keys.dedup('y'))).toBe(0)
  })
})

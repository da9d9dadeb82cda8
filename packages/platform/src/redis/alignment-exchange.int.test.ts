import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { redisAlignmentExchange } from './alignment-exchange.ts'

// platform cannot depend on @tradepulse/testing: the int project's Redis comes from its global setup.
function redisUrl(): string {
  const provided = (inject as (key: string) => unknown)('redisUrl')
  return typeof provided === 'string' ? provided : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
}

describe('redisAlignmentExchange on Redis', () => {
  const clients: Redis[] = []
  const keys: string[] = []
  afterEach(async () => {
    const [first] = clients
    if (first && keys.length) await first.unlink(...keys.splice(0))
    for (const c of clients.splice(0)) await c.quit()
  })
  const newKey = () => {
    const key = `test:align:{${randomBytes(6).toString('hex')}}`
    keys.push(key)
    return key
  }
  const client = () => {
    const r = new Redis(redisUrl())
    clients.push(r)
    return r
  }

  it("writes this member's points and returns the other members' fresh ones, −∞ and null included", async () => {
    const redis = client()
    const key = newKey()
    const a = redisAlignmentExchange(redis, key, 30_000)
    const b = redisAlignmentExchange(client(), key, 30_000)
    expect(
      await a.swap(
        'A',
        new Map([
          ['t/0', 120_000],
          ['t/2', Number.NEGATIVE_INFINITY],
        ]),
      ),
    ).toEqual(new Map())
    const seenByB = await b.swap(
      'B',
      new Map([
        ['t/1', null],
        ['t/3', 60_000],
      ]),
    )
    expect(seenByB).toEqual(
      new Map([
        ['t/0', 120_000],
        ['t/2', Number.NEGATIVE_INFINITY],
      ]),
    )
    // A member never reads its own fields back (a partition it read before a rebalance).
    expect(await a.swap('A', new Map([['t/0', 180_000]]))).toEqual(
      new Map([
        ['t/1', null],
        ['t/3', 60_000],
      ]),
    )
    expect((await b.swap('B', new Map())).get('t/0')).toBe(180_000)
    expect(await redis.pttl(key)).toBeGreaterThan(80_000_000) // it goes a day after the last write
  })

  it('leaves out a field older than the stale limit, and one it cannot read', async () => {
    const redis = client()
    const key = newKey()
    await redis.hset(key, 't/5', JSON.stringify({ member: 'C', at: 1, ts: Date.now() - 60_000 }))
    await redis.hset(key, 't/6', 'not json')
    await redis.hset(key, 't/7', JSON.stringify({ member: 'C', at: 'soon', ts: Date.now() }))
    await redis.hset(key, 't/8', JSON.stringify({ member: 'C', at: 7, ts: Date.now() }))
    const a = redisAlignmentExchange(redis, key, 30_000)
    expect(await a.swap('A', new Map())).toEqual(new Map([['t/8', 7]]))
  })
})

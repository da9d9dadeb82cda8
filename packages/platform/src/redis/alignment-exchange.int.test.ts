import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, inject, it, vi } from 'vitest'
import { until } from '../kafka/int-test-support.ts'
import type { SwapStamps } from '../kafka/partition-aligner.ts'
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

  it('tells, per other member, its latest stamp, since when its points tell its fetches, and whether it has a point for every partition', async () => {
    const key = newKey()
    const a = redisAlignmentExchange(client(), key, 30_000)
    const b = redisAlignmentExchange(client(), key, 30_000)
    const redis = client()
    const stampsOfB: SwapStamps = { seenAgoMs: 250, members: new Map() }
    await b.swap(
      'B',
      new Map([
        ['t/1', null],
        ['t/3', 60_000],
      ]),
      stampsOfB,
    )
    expect(stampsOfB.members).toEqual(new Map()) // its own fields are not another member's
    const [s] = await redis.time()
    // A member of an earlier version: no `seen`; and one that has told no fetch yet (null).
    await redis.hset(key, 't/5', JSON.stringify({ member: 'Old', at: 5, ts: Number(s) * 1000 }))
    await redisAlignmentExchange(client(), key, 30_000).swap('New', new Map([['t/6', 6]]), {
      seenAgoMs: null,
      members: new Map(),
    })
    const stamps: SwapStamps = { seenAgoMs: 10, members: new Map() }
    await a.swap('A', new Map([['t/0', 120_000]]), stamps)
    expect(stamps.now).toBeGreaterThanOrEqual(stampsOfB.now!)
    const ofB = stamps.members.get('B')!
    expect(ofB).toEqual({ ts: stampsOfB.now, seenAt: stampsOfB.now! - 250, bounding: false })
    expect(stamps.members.get('Old')).toEqual({ ts: Number(s) * 1000, bounding: true })
    expect(stamps.members.get('New')).toMatchObject({ seenAt: Number.NEGATIVE_INFINITY, bounding: true })
    // B's next write tells a point for each of its partitions: it bounds.
    await b.swap('B', new Map([['t/1', 70_000]]), { seenAgoMs: 5, members: new Map() })
    const again: SwapStamps = { members: new Map() }
    await a.swap('A', new Map([['t/0', 120_000]]), again)
    // Its field t/3 of the write before is not of its latest write: left out of `bounding`.
    expect(again.members.get('B')).toMatchObject({ bounding: true })
    expect(again.members.get('B')!.ts).toBeGreaterThanOrEqual(ofB.ts)
  })

  it('leaves out a field older than the stale limit, and one it cannot read', async () => {
    const redis = client()
    const key = newKey()
    const [s] = await redis.time()
    const redisNow = Number(s) * 1000
    await redis.hset(key, 't/5', JSON.stringify({ member: 'C', at: 1, ts: redisNow - 60_000 }))
    await redis.hset(key, 't/6', 'not json')
    await redis.hset(key, 't/7', JSON.stringify({ member: 'C', at: 'soon', ts: redisNow }))
    await redis.hset(key, 't/8', JSON.stringify({ member: 'C', at: 7, ts: redisNow }))
    // Stamped a minute ahead of Redis's clock (its clock set back since, or a failover to a replica
    // whose host is behind): its age is unknown, and it is left out like an old one.
    await redis.hset(key, 't/9', JSON.stringify({ member: 'C', at: 9, ts: redisNow + 60_000 }))
    const a = redisAlignmentExchange(redis, key, 30_000)
    expect(await a.swap('A', new Map())).toEqual(new Map([['t/8', 7]]))
  })

  it("keeps the fields of a member whose host's clock is behind the others'", async () => {
    const key = newKey()
    const writer = redisAlignmentExchange(client(), key, 10_000)
    const reader = redisAlignmentExchange(client(), key, 10_000)
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() - 30_000) // the writer's host, 30 s behind
      await writer.swap('W', new Map([['t/0', 120_000]]))
    } finally {
      vi.useRealTimers()
    }
    expect(await reader.swap('R', new Map([['t/1', 60_000]]))).toEqual(new Map([['t/0', 120_000]]))
    // And the other way round: the reader's fields, as the writer's host sees them.
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() - 30_000)
      expect(await writer.swap('W', new Map([['t/0', 180_000]]))).toEqual(new Map([['t/1', 60_000]]))
    } finally {
      vi.useRealTimers()
    }
  })

  it('leaves out a field once its member stops writing it, for the stale limit', async () => {
    const key = newKey()
    const writer = redisAlignmentExchange(client(), key, 300)
    const reader = redisAlignmentExchange(client(), key, 300)
    await writer.swap('W', new Map([['t/0', 120_000]]))
    expect(await reader.swap('R', new Map())).toEqual(new Map([['t/0', 120_000]]))
    await until(async () => (await reader.swap('R', new Map())).size === 0, 'the field left out')
    // Written again (the member, or its partition's next owner, restarted): it counts again.
    await redisAlignmentExchange(client(), key, 300).swap('W2', new Map([['t/0', 130_000]]))
    expect(await reader.swap('R', new Map())).toEqual(new Map([['t/0', 130_000]]))
  })
})

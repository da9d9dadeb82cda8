import { alertId, cooldownKey } from '@tradepulse/alerting'
import { createManualClock } from '@tradepulse/contracts'
import { createKeys } from '@tradepulse/platform'
import { randomName, testInfra, waitFor } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { type AlertClaim, type AlertStore, type ClaimDecision, createRedisAlertStore } from './alert-store.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'

const H = 3_600_000
const T = Date.parse('2026-03-02T00:00:00Z')
const DEDUP = 24 * H

type Step =
  | { at: number; id: string; origin: string; cooldownMs?: number; stream?: string }
  | { sent: { id: string; origin: string; stream?: string } }

/** Runs the steps on one store: the decision of every claim, in order. */
async function run(store: AlertStore, steps: readonly Step[], defaultStream = 's'): Promise<ClaimDecision[]> {
  const out: ClaimDecision[] = []
  for (const s of steps) {
    if ('sent' in s) {
      const stream = s.sent.stream ?? defaultStream
      await store.commit([{ stream, alertId: s.sent.id, origin: s.sent.origin }], new Map())
      continue
    }
    const c: AlertClaim = {
      stream: s.stream ?? defaultStream,
      alertId: s.id,
      eventMs: T + s.at,
      cooldownMs: s.cooldownMs ?? H,
      origin: s.origin,
    }
    out.push(...(await store.claim([c])))
  }
  return out
}

describe('alert store cooldown: every alert fired within the cooldown counts, not only the newest', () => {
  const redis = new Redis(testInfra().redisUrl)
  afterAll(() => redis.quit())
  const redisStore = (prefix = randomName('alerts'), dedupWindowMs = DEDUP) =>
    createRedisAlertStore(redis, { prefix, dedupWindowMs, hysteresisTtlMs: DEDUP })
  const memoryStore = (dedupWindowMs = DEDUP) =>
    createMemoryAlertStore({ dedupWindowMs, clock: createManualClock(T) })

  /** The same steps on Redis and in memory: both decide as `want`. */
  const both = async (steps: readonly Step[], want: readonly ClaimDecision[]) => {
    const viaRedis = await run(redisStore(), steps)
    const viaMemory = await run(memoryStore(), steps)
    expect({ redis: viaRedis, memory: viaMemory }).toEqual({ redis: want, memory: want })
  }

  it("the review's repro: a late alert minutes after one already sent is held back (6 h cooldown)", async () => {
    const CD = 6 * H
    const stream = cooldownKey(
      { id: 'tariff_escalation_headline' },
      'tariff',
      { kind: 'region', id: 'CN' },
      'down',
    )
    const claim = (t: number, origin: string): AlertClaim => ({
      stream,
      alertId: alertId({ streamKey: stream, eventMs: t, cooldownMs: CD, eventRef: origin }),
      eventMs: t,
      cooldownMs: CD,
      origin,
    })
    const a = claim(T + 5.9 * H, 'scored/0/1') // 05:54, bucket 00-06
    const b = claim(T + 12 * H, 'scored/0/2') // 12:00, bucket 12-18, 6h06 after a
    const c = claim(T + 6 * H, 'scored/1/7') // 06:00, bucket 06-12, 6 min after a, comes after b
    expect(new Set([a.alertId, b.alertId, c.alertId]).size).toBe(3)
    for (const store of [redisStore(), memoryStore()]) {
      const got: ClaimDecision[] = []
      for (const x of [a, b, c, c]) got.push(...(await store.claim([x])))
      expect(got).toEqual(['fire', 'fire', 'cooldown', 'cooldown'])
    }
  })

  it('in order: one alert per cooldown, the boundary (exactly one cooldown apart) fires', async () => {
    await both(
      [
        { at: 10 * H, id: 'a', origin: 'o/0/1' },
        { at: 10.5 * H, id: 'b', origin: 'o/0/2' }, // within a's cooldown
        { at: 11 * H - 1, id: 'b', origin: 'o/0/3' }, // 1 ms inside it
        { at: 11 * H, id: 'c', origin: 'o/0/4' }, // exactly one cooldown after a
        { at: 11.5 * H, id: 'c', origin: 'o/0/5' }, // the same id again, another record
        { at: 12 * H - 1, id: 'd', origin: 'o/0/6' }, // 1 ms inside c's cooldown
        { at: 12 * H, id: 'd', origin: 'o/0/7' }, // the held id past c's cooldown: decided afresh
      ],
      ['fire', 'cooldown', 'cooldown', 'fire', 'duplicate', 'cooldown', 'fire'],
    )
  })

  it('late alerts between two fired ones: held within either cooldown, fired exactly a cooldown from both', async () => {
    await both(
      [
        { at: 10 * H, id: 'a', origin: 'o/0/1' },
        { at: 14 * H, id: 'e', origin: 'o/0/2' },
        { at: 13 * H + 1, id: 'x', origin: 'o/1/1' }, // late, 1 ms inside e's cooldown (before it)
        { at: 11 * H - 1, id: 'y', origin: 'o/1/2' }, // late, 1 ms inside a's cooldown (after it)
        { at: 11 * H, id: 'b', origin: 'o/1/3' }, // late, exactly a cooldown after a
        { at: 13 * H, id: 'd', origin: 'o/1/4' }, // late, exactly a cooldown before e
        { at: 12 * H - 1, id: 'z', origin: 'o/1/5' }, // 1 ms inside b's cooldown
        { at: 12 * H + 1, id: 'z2', origin: 'o/1/6' }, // 1 ms inside d's cooldown
        { at: 12 * H, id: 'c', origin: 'o/1/7' }, // exactly a cooldown from b and from d
        { at: 13 * H + 1, id: 'x', origin: 'o/1/1' }, // replays decide as before
        { at: 11 * H, id: 'b', origin: 'o/1/3' },
      ],
      [
        'fire',
        'fire',
        'cooldown',
        'cooldown',
        'fire',
        'fire',
        'cooldown',
        'cooldown',
        'fire',
        'cooldown',
        'resend',
      ],
    )
  })

  it('a held-back id raised again past its holder is held by another alert fired within its cooldown', async () => {
    await both(
      [
        { at: 10 * H, id: 'a', origin: 'o/0/1' },
        { at: 12 * H, id: 'b', origin: 'o/0/2' },
        { at: 10.5 * H, id: 'x', origin: 'o/1/1' }, // late: held by a
        { at: 11.5 * H, id: 'x', origin: 'o/1/2' }, // past a's cooldown, within b's
        { at: 10.5 * H, id: 'x', origin: 'o/1/1' }, // the first record again
      ],
      ['fire', 'fire', 'cooldown', 'cooldown', 'cooldown'],
    )
  })

  it('redelivery of an alert already fired, in order or late: resend, then sent for its record', async () => {
    await both(
      [
        { at: 10 * H, id: 'a', origin: 'o/0/1' },
        { at: 12 * H, id: 'b', origin: 'o/0/2' },
        { at: 11 * H, id: 'late', origin: 'o/1/1' }, // late, a cooldown from both: fires
        { at: 10 * H, id: 'a', origin: 'o/0/1' }, // not confirmed yet: publish again
        { at: 11 * H, id: 'late', origin: 'o/1/1' },
        { sent: { id: 'a', origin: 'o/0/1' } },
        { sent: { id: 'late', origin: 'o/1/1' } },
        { at: 10 * H, id: 'a', origin: 'o/0/1' }, // sent for this very record
        { at: 11 * H, id: 'late', origin: 'o/1/1' },
        { at: 11 * H, id: 'late', origin: 'o/1/9' }, // another record of the same id
        { at: 12 * H, id: 'b', origin: 'o/0/2' }, // never confirmed: publish again
      ],
      ['fire', 'fire', 'fire', 'resend', 'resend', 'sent', 'sent', 'duplicate', 'resend'],
    )
  })

  it('streams and cooldown 0 stand alone', async () => {
    await both(
      [
        { at: 10 * H, id: 'a', origin: 'o/0/1' },
        { at: 10 * H, id: 'a2', origin: 'o/0/2', stream: 's2' },
        { at: 10 * H, id: 'n1', origin: 'o/0/3', cooldownMs: 0, stream: 's3' },
        { at: 10 * H, id: 'n2', origin: 'o/0/4', cooldownMs: 0, stream: 's3' },
        { at: 10.5 * H, id: 'b', origin: 'o/0/5' },
      ],
      ['fire', 'fire', 'fire', 'fire', 'cooldown'],
    )
  })

  it('bounded: fired times more than the dedup window and a cooldown behind the newest are dropped', async () => {
    // Kept: everything an alert at most the dedup window (24 h here) older than the stream's newest fired
    // alert can be held by. An older one is decided against what is kept.
    const steps: Step[] = [
      { at: 5.5 * H, id: 'a', origin: 'o/0/1' },
      { at: 30 * H, id: 'b', origin: 'o/0/2' }, // the oldest decided exactly: 06:00 (30 h - 24 h)
      { at: 6 * H, id: 'x', origin: 'o/1/1' }, // 06:00 late: still held by a
      { at: 31.5 * H, id: 'c', origin: 'o/0/3' }, // now 07:30 and on: a (05:30) is dropped
      { at: 6.2 * H, id: 'y', origin: 'o/1/2' }, // older than that, nothing kept near it: fires
    ]
    const want: ClaimDecision[] = ['fire', 'fire', 'cooldown', 'fire', 'fire']
    const prefix = randomName('alerts')
    expect(await run(redisStore(prefix), steps)).toEqual(want)
    expect(await run(memoryStore(), steps)).toEqual(want)
    const firedKey = `${createKeys(prefix).alertCooldown('s')}:fired`
    expect(await redis.zrange(firedKey, '0', '-1', 'WITHSCORES')).toEqual([
      expect.stringMatching(/^\d+\|b$/),
      String(T + 30 * H),
      expect.stringMatching(/^\d+\|c$/),
      String(T + 31.5 * H),
    ])
    // An in-order stream firing every cooldown keeps a day and a cooldown of them, not all.
    const longPrefix = randomName('alerts')
    const many: Step[] = Array.from({ length: 100 }, (_, i) => ({
      at: i * H,
      id: `f${i}`,
      origin: `o/0/${i}`,
    }))
    const longRun = await run(redisStore(longPrefix), many)
    expect(longRun).toEqual(many.map(() => 'fire'))
    const longKey = `${createKeys(longPrefix).alertCooldown('s')}:fired`
    expect(await redis.zcard(longKey)).toBe(25) // 75 h … 99 h: (99 - 24 - 1) h dropped and before
    expect(await run(memoryStore(), many)).toEqual(longRun)
    // The set lasts the dedup window from its last fire (at least the cooldown), like the dedup marks.
    const ttl = await redis.pttl(longKey)
    expect(ttl).toBeGreaterThan(DEDUP - 60_000)
    expect(ttl).toBeLessThanOrEqual(DEDUP)
  })

  it('the state of a stream expires with the dedup window (wall clock) after its last fire', async () => {
    // Seconds: the second claim of each run must come within the window of the first (a claim the
    // window's length after the last fire finds nothing), and a loaded machine can put a few hundred ms
    // between two calls, which the 300 ms this was did not allow.
    const WIN = 3_000
    const steps = (suffix: string): Step[] => [
      { at: 1_000, id: `a${suffix}`, origin: 'o/0/1', cooldownMs: WIN },
      { at: 1_100, id: `b${suffix}`, origin: 'o/0/2', cooldownMs: WIN },
    ]
    const prefix = randomName('alerts')
    const store = redisStore(prefix, WIN)
    const clock = createManualClock(T)
    const memory = createMemoryAlertStore({ dedupWindowMs: WIN, clock })
    expect(await run(store, steps('1'))).toEqual(['fire', 'cooldown'])
    expect(await run(memory, steps('1'))).toEqual(['fire', 'cooldown'])
    await waitFor(async () => (await redis.keys(`${prefix}:*`)).length === 0, { what: 'keys expired' })
    clock.advance(WIN)
    // Everything forgotten: the same times decide as on an empty store.
    expect(await run(store, steps('2'))).toEqual(['fire', 'cooldown'])
    expect(await run(memory, steps('2'))).toEqual(['fire', 'cooldown'])
  })

  it('on Redis: the keys of a claim share one hash slot; the newest fired stays in the old key', async () => {
    const prefix = randomName('alerts')
    const stream = 'rule|tariff|region:CN|down'
    await run(
      redisStore(prefix),
      [
        { at: 12 * H, id: 'b', origin: 'o/0/1' },
        { at: 10 * H, id: 'a', origin: 'o/0/2' },
        { at: 10.5 * H, id: 'x', origin: 'o/0/3' },
      ],
      stream,
    )
    const keys = await redis.keys(`${prefix}:*`)
    expect(keys).toHaveLength(5) // old key, fired set, three dedup marks
    expect(new Set(keys.map((k) => /\{([^}]*)\}/.exec(k)?.[1]))).toEqual(new Set([stream]))
    // The old key still holds the newest alert fired, as the previous version wrote and reads it.
    expect(await redis.get(createKeys(prefix).alertCooldown(stream))).toBe(`${T + 12 * H}|b`)
  })

  it('on Redis: a stream whose state exists only in the old format (the newest alert) is still held', async () => {
    const prefix = randomName('alerts')
    const keys = createKeys(prefix)
    // What the previous version left: the newest alert claimed on the stream, and its sent mark.
    await redis.set(keys.alertCooldown('s'), `${T + 5.9 * H}|a`, 'PX', DEDUP)
    await redis.set(keys.alertSent('s', 'a'), 's|o/0/1', 'PX', DEDUP)
    await redis.set(keys.alertSent('s', 'old'), 's', 'PX', DEDUP) // sent mark of an older version still
    const got = await run(redisStore(prefix), [
      { at: 5.9 * H, id: 'a', origin: 'o/0/1' }, // its redelivery: sent for this record
      { at: 6.5 * H, id: 'w', origin: 'o/0/5' }, // within its cooldown, nothing new yet
      { at: 12 * H, id: 'b', origin: 'o/0/2' }, // the newest now: replaces the old key
      { at: 6 * H, id: 'c', origin: 'o/1/7' }, // late, 6 min after a: a still counts
      { at: 4 * H, id: 'old', origin: 'o/0/0' },
    ])
    expect(got).toEqual(['sent', 'cooldown', 'fire', 'cooldown', 'duplicate'])
    expect(await redis.get(keys.alertCooldown('s'))).toBe(`${T + 12 * H}|b`)
  })
})

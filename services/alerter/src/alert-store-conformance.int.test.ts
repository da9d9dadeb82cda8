import type { HysteresisValue } from '@tradepulse/alerting'
import { createManualClock } from '@tradepulse/contracts'
import { randomName, testInfra, waitFor } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import {
  type AlertClaim,
  type AlertRelease,
  type AlertStore,
  createRedisAlertStore,
  type HysteresisFields,
} from './alert-store.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'

const H = 3_600_000
const DEDUP_MS = 48 * H

/** A small seeded generator (mulberry32): a failing sequence is found again by its seed. */
function generator(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!
  return { next, int, pick }
}

type Op =
  | { op: 'claim'; claims: AlertClaim[] }
  | { op: 'release'; releases: AlertRelease[] }
  | {
      op: 'commit'
      sent: { stream: string; alertId: string; origin: string }[]
      moved: Map<string, HysteresisFields>
    }
  | { op: 'read'; indicator: string; fields: string[]; keepUnlistedSinceMs?: number }

const STREAMS = ['s1', 's2']
const FIELDS = ['f1', 'f2', 'f3']
const INDICATORS = ['i1', 'i2']

/**
 * A random sequence of what the handler asks of its store: claims (resend-only some), releases of claims
 * made, commits of claims made (sent marks) with hysteresis moves (entries about random updates, older
 * and newer, and deletions), and reads that prune. As in the handler, a record (origin) is about one
 * event time, a stream has its rule's cooldown, and an alert id is its stream and time bucket (the event
 * time divided by the cooldown; the event itself with none); event times fall on a quarter-hour grid, so
 * ties and cooldown edges come often.
 */
function sequence(seed: number, length: number): Op[] {
  const g = generator(seed)
  const cooldown = new Map(STREAMS.map((s) => [s, g.pick([0, H, 2 * H])]))
  const origins = Array.from({ length: 8 }, (_, i) => ({
    origin: `t/${i % 2}/${i}`,
    eventMs: g.int(32) * (H / 4),
  }))
  const claimed: AlertClaim[] = []
  const ops: Op[] = []
  const entry = (): HysteresisValue => ({
    armed: g.next() < 0.5,
    lastValue: g.int(100) / 100,
    asOfMs: g.int(8) * H,
    ...(g.next() < 0.8 ? { count: g.int(5) } : {}),
  })
  for (let k = 0; k < length; k++) {
    // Now and then a reload edits a rule's cooldown (its ids change with it).
    if (g.next() < 0.05) cooldown.set(g.pick(STREAMS), g.pick([0, H, 2 * H]))
    const r = g.next()
    if (r < 0.5) {
      const claims: AlertClaim[] = []
      for (let n = 1 + g.int(3); n > 0; n--) {
        const stream = g.pick(STREAMS)
        const { origin, eventMs } = g.pick(origins)
        const cooldownMs = cooldown.get(stream)!
        claims.push({
          stream,
          alertId: `${stream}:${cooldownMs > 0 ? Math.floor(eventMs / cooldownMs) : eventMs}`,
          eventMs,
          cooldownMs,
          origin,
          ...(g.next() < 0.2 ? { resendOnly: true } : {}),
        })
      }
      claimed.push(...claims)
      ops.push({ op: 'claim', claims })
    } else if (r < 0.6 && claimed.length > 0) {
      const c = g.pick(claimed)
      ops.push({
        op: 'release',
        releases: [{ stream: c.stream, alertId: c.alertId, eventMs: c.eventMs, origin: c.origin }],
      })
    } else if (r < 0.85) {
      const sent =
        claimed.length > 0 && g.next() < 0.7
          ? [g.pick(claimed)].map((c) => ({ stream: c.stream, alertId: c.alertId, origin: c.origin }))
          : []
      const fields: HysteresisFields = {}
      for (let n = g.int(3); n > 0; n--) fields[g.pick(FIELDS)] = g.next() < 0.15 ? null : entry()
      ops.push({ op: 'commit', sent, moved: new Map([[g.pick(INDICATORS), fields]]) })
    } else {
      const fields = FIELDS.filter(() => g.next() < 0.7)
      ops.push({
        op: 'read',
        indicator: g.pick(INDICATORS),
        fields,
        ...(g.next() < 0.5 ? { keepUnlistedSinceMs: g.int(8) * H } : {}),
      })
    }
  }
  // Then every claim again, to read back what each id's mark says.
  ops.push({ op: 'claim', claims: claimed.map((c) => ({ ...c, resendOnly: true })) })
  for (const indicator of INDICATORS) ops.push({ op: 'read', indicator, fields: FIELDS })
  return ops
}

/** What a store answers to each op of a sequence (claims' decisions and reads' entries). */
async function run(store: AlertStore, ops: readonly Op[]): Promise<unknown[]> {
  const out: unknown[] = []
  for (const o of ops)
    if (o.op === 'claim') out.push(await store.claim(o.claims))
    else if (o.op === 'release') out.push(await store.release(o.releases))
    else if (o.op === 'commit') out.push(await store.commit(o.sent, o.moved))
    else {
      const read = {
        fields: o.fields,
        ...(o.keepUnlistedSinceMs !== undefined ? { keepUnlistedSinceMs: o.keepUnlistedSinceMs } : {}),
      }
      out.push((await store.readHysteresis(new Map([[o.indicator, read]]))).get(o.indicator))
    }
  return out
}

describe('alert store conformance: the embedded store answers as Redis does', () => {
  const redis = new Redis(testInfra().redisUrl)
  afterAll(() => redis.quit())

  it('to random sequences of claims, releases, commits and hysteresis reads', async () => {
    for (let seed = 1; seed <= 400; seed++) {
      const ops = sequence(seed, 50)
      const viaRedis = await run(
        createRedisAlertStore(redis, {
          prefix: randomName('alerts'),
          dedupWindowMs: DEDUP_MS,
          hysteresisTtlMs: DEDUP_MS,
        }),
        ops,
      )
      const viaMemory = await run(
        createMemoryAlertStore({ dedupWindowMs: DEDUP_MS, clock: createManualClock(0) }),
        ops,
      )
      // The step where they part, with the seed, says what to look at.
      const at = viaRedis.findIndex((r, i) => JSON.stringify(r) !== JSON.stringify(viaMemory[i]))
      expect({ seed, at, op: ops[at], redis: viaRedis[at], memory: viaMemory[at] }).toEqual({
        seed,
        at: -1,
        op: undefined,
        redis: undefined,
        memory: undefined,
      })
    }
  })

  it('forget the entries of an indicator ALERTER_HYSTERESIS_TTL_MS after the last write of one, read or not', async () => {
    const line = (asOfMs: number): HysteresisValue => ({ armed: false, lastValue: -0.6, asOfMs, count: 1 })
    const read = async (store: AlertStore) =>
      (await store.readHysteresis(new Map([['i1', { fields: ['f1', 'f2'] }]]))).get('i1')
    const ttlMs = 1_500
    const clock = createManualClock(0)
    const memory = createMemoryAlertStore({ dedupWindowMs: DEDUP_MS, hysteresisTtlMs: ttlMs, clock })
    const viaRedis = createRedisAlertStore(redis, {
      prefix: randomName('alerts'),
      dedupWindowMs: DEDUP_MS,
      hysteresisTtlMs: ttlMs,
    })
    for (const store of [memory, viaRedis]) {
      await store.commit([], new Map([['i1', { f1: line(H) }]]))
      await store.commit([], new Map([['i1', { f2: line(2 * H) }]])) // renews the TTL
    }
    // Read, and a write kept out by a newer entry, renew nothing.
    clock.advance(ttlMs - 1)
    expect(await read(memory)).toEqual({ f1: line(H), f2: line(2 * H) })
    await memory.commit([], new Map([['i1', { f2: line(H) }]]))
    clock.advance(1)
    expect(await read(memory)).toEqual({})
    expect(await read(viaRedis)).toEqual({ f1: line(H), f2: line(2 * H) })
    await viaRedis.commit([], new Map([['i1', { f2: line(H) }]]))
    await waitFor(async () => JSON.stringify(await read(viaRedis)) === '{}' || undefined, {
      what: 'the Redis store to forget the line',
    })
  })
})

import { createManualClock } from '@tradepulse/contracts'
import { randomName, testInfra } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { type AlertClaim, type AlertStore, createRedisAlertStore } from './alert-store.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'

const H = 3_600_000
const claim = (
  stream: string,
  alertId: string,
  eventMs: number,
  origin: string,
  cooldownMs = H,
): AlertClaim => ({
  stream,
  alertId,
  eventMs,
  cooldownMs,
  origin,
})

/** One script of claims and commits; both adapters must decide every step the same way. */
async function scenario(store: AlertStore) {
  const d: string[] = []
  const step = async (c: AlertClaim) => d.push(...(await store.claim([c])))
  await step(claim('s1', 'a1', 10 * H, 'o/0/1')) // fire
  await step(claim('s1', 'a1', 10 * H, 'o/0/1')) // same record again, not confirmed: resend
  await store.commit([{ stream: 's1', alertId: 'a1' }], new Map())
  await step(claim('s1', 'a1', 10 * H, 'o/0/1')) // sent: duplicate
  await step(claim('s1', 'a1', 10 * H, 'o/0/9')) // another record, same alert: duplicate
  await step(claim('s1', 'a2', 10.5 * H, 'o/0/2')) // within the cooldown: suppressed
  await step(claim('s1', 'a2', 10.5 * H, 'o/0/2')) // and stays suppressed on replay
  await step(claim('s1', 'a3', 12 * H, 'o/0/3')) // past the cooldown: fire
  await step(claim('s1', 'a0', 8 * H, 'o/0/4')) // older but outside the cooldown: fire, moves nothing
  await step(claim('s2', 'b1', 10 * H, 'o/1/1', 0)) // no cooldown
  await step(claim('s2', 'b2', 10 * H, 'o/1/2', 0))
  // An id held back, then raised again by a later event (an id's time bucket is as long as the cooldown).
  await step(claim('s3', 'c1', 20 * H, 'o/2/1')) // fire
  await step(claim('s3', 'c2', 20.9 * H, 'o/2/2')) // within c1's cooldown: suppressed
  await step(claim('s3', 'c2', 20.9 * H, 'o/2/2')) // and stays suppressed on replay
  await step(claim('s3', 'c2', 21.5 * H, 'o/2/3')) // the same id past c1's cooldown: fire, not held 2 cooldowns
  await step(claim('s3', 'c2', 20.9 * H, 'o/2/2')) // the first event replayed: its id went out, a duplicate
  await store.commit([], new Map([['ind1', { f1: { armed: false, lastValue: -0.7, asOfMs: 5 } }]]))
  const hyst = await store.readHysteresis(
    new Map([
      ['ind1', ['f1', 'f2']],
      ['ind2', ['f1']],
    ]),
  )
  return { decisions: d, hysteresis: Object.fromEntries(hyst) }
}

describe('alert store: Redis and memory decide alike', () => {
  const redis = new Redis(testInfra().redisUrl)
  afterAll(() => redis.quit())

  it('runs the same claims to the same decisions and hysteresis', async () => {
    const viaRedis = await scenario(
      createRedisAlertStore(redis, {
        prefix: randomName('alerts'),
        dedupWindowMs: 24 * H,
        hysteresisTtlMs: 24 * H,
      }),
    )
    const viaMemory = await scenario(
      createMemoryAlertStore({ dedupWindowMs: 24 * H, clock: createManualClock(0) }),
    )
    expect(viaRedis.decisions).toEqual([
      'fire',
      'resend',
      'duplicate',
      'duplicate',
      'cooldown',
      'cooldown',
      'fire',
      'fire',
      'fire',
      'fire',
      'fire',
      'cooldown',
      'cooldown',
      'fire',
      'duplicate',
    ])
    expect(viaMemory).toEqual(viaRedis)
    expect(viaRedis.hysteresis).toEqual({
      ind1: { f1: { armed: false, lastValue: -0.7, asOfMs: 5 } },
      ind2: {},
    })
  })
})

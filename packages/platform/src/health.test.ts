import type { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { combineHealth } from './health.ts'
import { redisHealth } from './redis-client.ts'

describe('combineHealth', () => {
  it('is as bad as its worst check and ready only when all are', async () => {
    const h = await combineHealth({
      a: async () => ({ status: 'ok', ready: true }),
      b: async () => ({ status: 'degraded', ready: false, detail: 'rebalancing' }),
    })
    expect(h).toEqual({
      status: 'degraded',
      ready: false,
      checks: { a: { status: 'ok' }, b: { status: 'degraded', detail: 'rebalancing' } },
    })
  })
  it('counts a check that does not answer in time as degraded and not ready, and answers all the same', async () => {
    const h = await combineHealth(
      {
        consumer: async () => ({ status: 'ok', ready: true }),
        redis: () => new Promise(() => {}), // a frozen Redis: the ping never comes back
      },
      50,
    )
    expect(h).toEqual({
      status: 'degraded',
      ready: false,
      checks: {
        consumer: { status: 'ok' },
        redis: { status: 'degraded', detail: 'redis: no answer within 50 ms' },
      },
    })
  })
  it('turns a throwing check into failed', async () => {
    const h = await combineHealth({ a: async () => Promise.reject(new Error('boom')) })
    expect(h.status).toBe('failed')
    expect(h.checks.a?.detail).toBe('boom')
  })
})

describe('redisHealth', () => {
  it('says at once that Redis is not connected, without a ping that would wait out the reconnection', async () => {
    let pinged = false
    const reconnecting = {
      status: 'reconnecting',
      ping: () => {
        pinged = true
        return new Promise(() => {})
      },
    } as unknown as Redis
    expect(await redisHealth(reconnecting)()).toEqual({
      status: 'degraded',
      ready: false,
      detail: 'Redis: not connected (reconnecting)',
    })
    expect(pinged).toBe(false)
  })
})

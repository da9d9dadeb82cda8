import { type Redis, ReplyError } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { combineHealth } from './health.ts'
import { createCapturingLogger } from './logger.ts'
import { redisHealth } from './redis-client.ts'

/** What a client's error may say: a host, a port, its own options. Never in a health body. */
const LEAKS = /10\.20\.30\.40|6379|redis-primary|maxRetriesPerRequest|ECONNREFUSED|dataset|username/

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
  it('turns a throwing check into failed, with a short reason, the error logged once per change', async () => {
    const { log, lines } = createCapturingLogger()
    let fail = true
    const a = async () => {
      if (fail) throw new Error('boom at redis-primary.internal:6379')
      return { status: 'ok' as const, ready: true }
    }
    for (let i = 0; i < 3; i++) {
      const h = await combineHealth({ a }, 500, log)
      expect(h.status).toBe('failed')
      expect(h.checks.a?.detail).toBe('the check threw: unexpected error')
      expect(JSON.stringify(h)).not.toMatch(LEAKS)
    }
    fail = false
    for (let i = 0; i < 2; i++) expect((await combineHealth({ a }, 500, log)).status).toBe('ok')
    expect(lines.map((l) => [l.level, l.msg, (l.err as { message?: string } | undefined)?.message])).toEqual([
      [40, 'health check a: the check threw: unexpected error', 'boom at redis-primary.internal:6379'],
      [30, 'health check a: ok again', undefined],
    ])
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

describe('redisHealth on a ping that fails', () => {
  const answering = (ping: () => Promise<unknown>) => ({ status: 'ready', ping }) as unknown as Redis
  const failing = (err: Error) => answering(() => Promise.reject(err))
  const maxRetries = Object.assign(
    new Error(
      'Reached the max retries per request limit (which is 2). Refer to "maxRetriesPerRequest" option for details.',
    ),
    { name: 'MaxRetriesPerRequestError' },
  )

  it.each([
    [
      'a server loading its data',
      new ReplyError('LOADING Redis is loading the dataset in memory'),
      'loading',
    ],
    [
      'a wrong password',
      new ReplyError('WRONGPASS invalid username-password pair or user is disabled.'),
      'auth refused',
    ],
    ['no password', new ReplyError('NOAUTH Authentication required.'), 'auth refused'],
    [
      'an ACL refusal',
      new ReplyError("NOPERM User tp has no permissions to run the 'ping' command"),
      'not permitted',
    ],
    ['no answer in time', new Error('Command timed out'), 'timeout'],
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED 10.20.30.40:6379'), { code: 'ECONNREFUSED' }),
      'unreachable',
    ],
    ['retries spent while disconnected', maxRetries, 'unreachable'],
    ['anything else', new Error('odd failure at redis-primary.internal:6379'), 'unexpected error'],
  ])('%s: a short reason, never the client message', async (_what, err, reason) => {
    const h = await redisHealth(failing(err))()
    expect(h).toEqual({ status: 'degraded', ready: false, detail: `Redis: ${reason}` })
    expect(JSON.stringify(h)).not.toMatch(LEAKS)
  })

  it('logs the error whole once per change of state, not at every probe', async () => {
    const { log, lines } = createCapturingLogger()
    let err: Error | undefined = new Error('Command timed out')
    const check = redisHealth(
      answering(() => (err ? Promise.reject(err) : Promise.resolve('PONG'))),
      { log },
    )
    for (let i = 0; i < 3; i++) await check()
    err = new ReplyError('LOADING Redis is loading the dataset in memory')
    for (let i = 0; i < 3; i++) await check()
    err = undefined
    for (let i = 0; i < 3; i++) expect(await check()).toEqual({ status: 'ok', ready: true })
    err = new Error('Command timed out')
    await check()
    expect(lines.map((l) => [l.level, l.msg, (l.err as { message?: string } | undefined)?.message])).toEqual([
      [40, 'Redis health check: timeout', 'Command timed out'],
      [40, 'Redis health check: loading', 'LOADING Redis is loading the dataset in memory'],
      [30, 'Redis health check: ok again', undefined],
      [40, 'Redis health check: timeout', 'Command timed out'],
    ])
  })

  it('logs once per change even when the check is made anew at every probe (as the gateway wraps it)', async () => {
    const { log, lines } = createCapturingLogger()
    const redis = failing(new Error('Command timed out'))
    for (let i = 0; i < 3; i++) await redisHealth(redis, { log })()
    expect(lines.map((l) => l.msg)).toEqual(['Redis health check: timeout'])
  })
})

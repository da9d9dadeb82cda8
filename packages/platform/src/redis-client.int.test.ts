import { randomBytes } from 'node:crypto'
import { PassThrough } from 'node:stream'
import { Command, type Redis } from 'ioredis'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { BaseConfig, loadConfig, MAX_TIMER_MS } from './config.ts'
import { normalizeError } from './errors.ts'
import { combineHealth } from './health.ts'
import { closeServer, createHealthServer, listen } from './http/health-server.ts'
import { createCapturingLogger, createLogger } from './logger.ts'
import { closedPort, tcpProxy } from './net-test-support.ts'
import { closeRedis, createRedis, redisDatabaseRefused, redisHealth } from './redis-client.ts'
import { clientNamed, ownRedis, until } from './redis-test-support.ts'

// platform cannot depend on @tradepulse/testing (which depends on platform): the int project's Redis
// is read from what its global setup provides, as in the indicator store's test.
function redisTarget(): { host: string; port: number } {
  const provided = (inject as (key: string) => unknown)('redisUrl')
  const url = new URL(
    typeof provided === 'string' ? provided : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'),
  )
  return { host: url.hostname, port: Number(url.port || 6379) }
}

/**
 * A TCP proxy in front of the real Redis that can go silent: while frozen it keeps every connection
 * open and accepts new ones but forwards nothing either way, which is what a network partition or a
 * host that vanished looks like to the client (no reset, no close, just no answer).
 */
async function silentableProxy(target: { host: string; port: number }) {
  let frozen = false
  const proxy = await tcpProxy(target, (client, upstream) => {
    client.on('data', (d) => {
      if (!frozen) upstream.write(d)
    })
    upstream.on('data', (d) => {
      if (!frozen) client.write(d)
    })
  })
  return {
    url: `redis://${proxy.host}:${proxy.port}`,
    close: proxy.close,
    freeze: () => {
      frozen = true
    },
    thaw: () => {
      frozen = false
    },
  }
}

describe('createRedis against a Redis that stops answering (REDIS_TIMEOUT_MS)', () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  const log = createLogger({ level: 'silent' }, new PassThrough())

  function client(url: string, timeoutMs?: number): Redis {
    const redis = createRedis(url, log, 'redis-timeout-test', timeoutMs === undefined ? {} : { timeoutMs })
    cleanups.push(() => closeRedis(redis))
    return redis
  }

  it('fails a command as a retriable Redis outage, reports not ready, and recovers when Redis answers again', async () => {
    const proxy = await silentableProxy(redisTarget())
    cleanups.push(proxy.close)
    const redis = client(proxy.url, 300)
    const key = `tp-timeout-${randomBytes(6).toString('hex')}`
    cleanups.push(async () => {
      const direct = client(`redis://${redisTarget().host}:${redisTarget().port}`)
      await direct.del(key)
    })
    expect(await redis.set(key, 'before')).toBe('OK')

    proxy.freeze()
    // Without a timeout this call would wait until TCP gave up (minutes) and the test would time out.
    const err = await redis.get(key).then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(Error)
    const normalized = normalizeError(err)
    expect(normalized.code).toBe('INFRA_REDIS')
    expect(normalized.retriable).toBe(true)
    const frozen = await redisHealth(redis)()
    expect(frozen).toMatchObject({ ready: false, status: 'degraded' })
    // A short reason (the ping timed out, or the silent connection was dropped), never the client's text.
    expect(frozen.detail).toMatch(
      /^Redis: (timeout|disconnected|not connected)( \((reconnecting|connecting)\))?$/,
    )

    proxy.thaw()
    // The silent connection was dropped; the client reconnects and commands succeed again.
    await until(async () => (await redis.get(key)) === 'before', 'reads after Redis answers again')
    expect(await redisHealth(redis)()).toMatchObject({ ready: true, status: 'ok' })
  })

  it("keeps its connection on an error reply about the command (only a demoted primary's calls for a new one)", async () => {
    const target = redisTarget()
    const redis = client(`redis://${target.host}:${target.port}`)
    const key = `tp-wrongtype-${randomBytes(6).toString('hex')}`
    cleanups.push(async () => void (await redis.del(key)))
    await redis.set(key, 'a string')
    const id = await redis.client('ID')
    for (let i = 0; i < 3; i++) await expect(redis.hget(key, 'f')).rejects.toThrow(/^WRONGTYPE/)
    expect(await redis.client('ID')).toBe(id)
    const reconnect = redis.options.reconnectOnError as (err: Error) => boolean
    expect(reconnect(new Error("READONLY You can't write against a read only replica."))).toBe(true)
    expect(reconnect(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(
      false,
    )
  })

  it('takes the longest REDIS_TIMEOUT_MS the configuration allows as a real timeout, not one of 1 ms', async () => {
    // REDIS_TIMEOUT_MS=3000000000 was accepted, and Node ran the timers after 1 ms: every command
    // "Command timed out", /readyz a Redis outage. Now the configuration refuses it, and its bound works.
    expect(() => loadConfig(BaseConfig, { REDIS_TIMEOUT_MS: '3000000000' })).toThrow(
      /REDIS_TIMEOUT_MS: at most 2147483647 ms/,
    )
    const timeoutMs = loadConfig(BaseConfig, { REDIS_TIMEOUT_MS: String(MAX_TIMER_MS) }).REDIS_TIMEOUT_MS
    const warnings: string[] = []
    const onWarning = (w: Error) => void warnings.push(w.name)
    process.on('warning', onWarning)
    cleanups.push(async () => void process.off('warning', onWarning))
    const target = redisTarget()
    const redis = client(`redis://${target.host}:${target.port}`, timeoutMs)
    const key = `tp-long-timeout-${randomBytes(6).toString('hex')}`
    cleanups.push(async () => void (await redis.del(key)))
    for (let i = 0; i < 20; i++) await redis.set(key, String(i))
    expect(await redis.get(key)).toBe('19')
    expect(await redisHealth(redis)()).toMatchObject({ ready: true, status: 'ok' })
    await new Promise((r) => setImmediate(r))
    expect(warnings).not.toContain('TimeoutOverflowWarning')
  })

  it('sets the timeout from the option, 5 s by default, and none for 0', () => {
    const target = redisTarget()
    const url = `redis://${target.host}:${target.port}`
    expect(client(url).options).toMatchObject({ commandTimeout: 5_000, socketTimeout: 5_000 })
    expect(client(url, 1_500).options).toMatchObject({ commandTimeout: 1_500, socketTimeout: 1_500 })
    expect(client(url, 0).options.commandTimeout).toBeUndefined()
    expect(client(url, 0).options.socketTimeout).toBeUndefined()
  })
})

describe("a real Redis's error replies, as normalizeError judges them", () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  function connect(): { redis: Redis; key: string } {
    const target = redisTarget()
    const redis = createRedis(
      `redis://${target.host}:${target.port}`,
      createLogger({ level: 'silent' }, new PassThrough()),
      'redis-replies-test',
    )
    const key = `tp-replies-${randomBytes(6).toString('hex')}`
    cleanups.push(async () => {
      await redis.del(key, `${key}:tx`)
      await closeRedis(redis)
    })
    return { redis, key }
  }
  const failure = (reply: Promise<unknown>) =>
    reply.then(
      (value) => {
        throw new Error(`expected an error reply, got ${String(value)}`)
      },
      (err: unknown) => err,
    )

  // Each is the same on every try: retried, it stalled the partition for good (a ReplyError outside a
  // script was taken for an outage). Not retriable, the record goes to the dlq instead.
  it.each([
    ['WRONGTYPE', /^WRONGTYPE /, (r: Redis, k: string) => r.hget(k, 'f')],
    [
      'a wrong number of arguments',
      /^ERR wrong number of arguments/,
      (r: Redis, k: string) => r.call('hset', k),
    ],
    ['an unknown command', /^ERR unknown command/, (r: Redis, k: string) => r.call('tpnosuchcommand', k)],
    ['a value that is not an integer', /^ERR value is not an integer/, (r: Redis, k: string) => r.incr(k)],
    ['an EVALSHA of a script never loaded', /^NOSCRIPT /, (r: Redis) => r.evalsha('0'.repeat(40), 0)],
    [
      'a transaction with a refused command',
      /^EXECABORT /,
      (r: Redis, k: string) => r.multi().set(`${k}:tx`, 'x').call('hset', k).exec(),
    ],
  ])('%s: a Redis error, not retriable', async (_what, message, command) => {
    const { redis, key } = connect()
    await redis.set(key, 'a string')
    const err = await failure(command(redis, key))
    expect(err).toMatchObject({ name: 'ReplyError', message: expect.stringMatching(message) })
    expect(normalizeError(err)).toMatchObject({ code: 'INFRA_REDIS', retriable: false })
    expect(await redis.exists(`${key}:tx`)).toBe(0) // the transaction wrote nothing
  })
})

/** What `p` resolves with, or a failure naming `what` if it has not within `timeoutMs`. */
async function within<T>(p: Promise<T>, what: string, timeoutMs = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} not within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}

describe('Redis health on /readyz, as anyone who reaches the port reads it', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  /** A worker's health server with only the Redis check, as kafka-worker wires it. */
  async function serveHealth(url: string) {
    const { log, lines } = createCapturingLogger()
    const redis = createRedis(url, log, 'redis-health-test', { timeoutMs: 300 })
    cleanups.push(() => closeRedis(redis))
    const check = redisHealth(redis)
    const server = createHealthServer(() => combineHealth({ redis: check }, 500, log), new Registry(), [], {
      log,
    })
    const port = await listen(server, 0, '127.0.0.1')
    cleanups.push(() => closeServer(server))
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`)
      const text = await res.text()
      return { status: res.status, text, body: JSON.parse(text) as Record<string, unknown> }
    }
    return { redis, check, get, lines }
  }

  it('a Redis on a closed port: 503, "Redis: unreachable", no host or port in the body; the error logged once, whole', async () => {
    const port = await closedPort()
    const { check, get, lines } = await serveHealth(`redis://127.0.0.1:${port}`)
    // The first probe, while the client still tries its first connection: its ping is given up.
    expect(await check()).toEqual({ status: 'degraded', ready: false, detail: 'Redis: unreachable' })
    // Then every probe says it at once, with the client's state, whichever moment of the reconnection
    // loop it lands on.
    const bodies: string[] = []
    await until(async () => {
      const readyz = await get('/readyz')
      expect(readyz.status).toBe(503)
      bodies.push(readyz.text)
      return bodies.length >= 12
    }, 'twelve probes')
    for (const text of bodies) {
      expect(text).not.toContain(String(port))
      expect(text).not.toContain('127.0.0.1')
      expect(JSON.parse(text)).toEqual({
        status: 'degraded',
        ready: false,
        checks: {
          redis: {
            status: 'degraded',
            detail: expect.stringMatching(/^Redis: unreachable \((reconnecting|connecting)\)$/),
          },
        },
      })
    }
    const healthz = await get('/healthz')
    expect([healthz.status, healthz.text.includes(String(port))]).toEqual([200, false])
    // The operator's log has the error whole, once for the outage, not once per probe or reconnection.
    const errors = lines.filter((l) => l.msg === 'Redis connection error')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({
      level: 40,
      reason: 'unreachable',
      err: expect.objectContaining({ message: expect.stringContaining(String(port)) }),
    })
    expect(lines.filter((l) => l.level >= 40)).toHaveLength(1) // nothing else: the pings given up say no more
  })

  it('the real Redis: 200 and ok on /readyz and /healthz, nothing logged', async () => {
    const target = redisTarget()
    const { redis, get, lines } = await serveHealth(`redis://${target.host}:${target.port}`)
    await until(async () => redis.status === 'ready', 'connected')
    for (const path of ['/readyz', '/healthz']) {
      const res = await get(path)
      expect([path, res.status, res.body]).toEqual([
        path,
        200,
        { status: 'ok', ready: true, checks: { redis: { status: 'ok' } } },
      ])
    }
    expect(lines.filter((l) => l.level >= 40)).toEqual([])
  })
})

describe('createRedis with a database the server does not have', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('runs no command in database 0: they fail, health says why, the log names REDIS_URL', async () => {
    // ioredis logs a SELECT the server refuses (REDIS_URL=redis://host:6379/99 with 16 databases) and
    // goes on with the connection in database 0: the worker wrote its keys among another deployment's.
    const { host, port } = redisTarget()
    const { log, lines } = createCapturingLogger()
    const redis = createRedis(`redis://${host}:${port}/9999`, log, 'probe', { timeoutMs: 2_000 })
    const db0 = createRedis(`redis://${host}:${port}/0`, createLogger({ level: 'silent' }), 'probe-db0')
    const key = `tp-test:wrong-db:${randomBytes(6).toString('hex')}`
    try {
      await expect(redis.set(key, 'x')).rejects.toThrow()
      expect(await db0.exists(key)).toBe(0)
      const health = await redisHealth(redis)()
      expect(health).toMatchObject({
        status: 'degraded',
        ready: false,
        detail: expect.stringContaining('database refused'),
      })
      expect(lines.find((l) => l.level === 50)?.msg).toMatch(/REDIS_URL/)
    } finally {
      await db0.del(key)
      await closeRedis(db0)
      redis.disconnect()
    }
  })

  it('says so to whoever waits for it (redisDatabaseRefused), naming REDIS_URL and the database, and then logs nothing of it', async () => {
    // A worker waits for it to exit 78; before, the client was closed with nothing but a health detail,
    // and the worker retried its batches for ever.
    const { host, port } = redisTarget()
    const { log, lines } = createCapturingLogger()
    const redis = createRedis(`redis://:pw-9@${host}:${port}/99`, log, 'probe', { timeoutMs: 2_000 })
    cleanups.push(async () => redis.disconnect())
    const refusal = await within(redisDatabaseRefused(redis), 'the refusal')
    expect(refusal).toMatchObject({ name: 'TradepulseError', code: 'CONFIG_INVALID' })
    expect(refusal.message).toBe(
      `Redis at redis://[redacted]@${host}:${port}/99 (REDIS_URL) refused its database 99 (ERR DB index is out of range): set REDIS_URL to a database the server has (its databases setting), or to none for database 0`,
    )
    await until(async () => redis.status === 'end', 'the client closed for good')
    // One line, the waiter's (a worker's exit line), not a second one here.
    expect(lines.filter((l) => l.level >= 40)).toEqual([])
  })

  it('says so at a reconnection to a server restarted with fewer databases: the client closes for good', async () => {
    const server = await ownRedis(cleanups)
    const redis = createRedis(
      `redis://127.0.0.1:${server.port}/5`,
      createLogger({ level: 'silent' }),
      'probe',
      {
        timeoutMs: 1_000,
      },
    )
    cleanups.push(async () => redis.disconnect())
    const refused = redisDatabaseRefused(redis)
    let refusal: Error | undefined
    void refused.then((err) => {
      refusal = err
    })
    expect(await redis.set('k', 'in database 5')).toBe('OK')
    expect(await redisHealth(redis)()).toEqual({ status: 'ok', ready: true })

    await server.stop()
    await ownRedis(cleanups, { databases: 2, port: server.port })
    await until(async () => refusal !== undefined, 'the refusal at the reconnection')
    expect(refusal?.message).toMatch(
      /^Redis at redis:\/\/127\.0\.0\.1:\d+\/5 \(REDIS_URL\) refused its database 5 /,
    )
    expect(await redisHealth(redis)()).toEqual({
      status: 'degraded',
      ready: false,
      detail: 'Redis: database refused (REDIS_URL) (end)',
    })
    // Nothing was written to database 0 of the new server.
    const db0 = createRedis(
      `redis://127.0.0.1:${server.port}`,
      createLogger({ level: 'silent' }),
      'probe-db0',
    )
    cleanups.push(() => closeRedis(db0))
    await expect(redis.set('k', 'x')).rejects.toThrow()
    expect(await db0.dbsize()).toBe(0)
  })
})

describe('createRedis against a Redis that refuses its password', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('logs the refusal once, with the command it answered but none of its arguments: the password stays out', async () => {
    // ioredis keeps the failed command on its error, arguments included: the connection's HELLO 3 AUTH
    // default <password> was logged whole in the "Redis connection error" warning.
    const server = await ownRedis(cleanups, { password: 'the-server-password' })
    const { log, lines } = createCapturingLogger()
    const redis = createRedis(`redis://:wrong-pw-7f3a@127.0.0.1:${server.port}`, log, 'probe', {
      timeoutMs: 500,
    })
    cleanups.push(async () => redis.disconnect())
    await until(async () => lines.some((l) => l.msg === 'Redis connection error'), 'the refusal logged')
    expect(await redisHealth(redis)()).toMatchObject({
      ready: false,
      detail: expect.stringMatching(/^Redis: auth refused/),
    })
    const refused = lines.filter((l) => l.msg === 'Redis connection error')
    expect(refused).toEqual([
      expect.objectContaining({
        level: 40,
        reason: 'auth refused',
        err: expect.objectContaining({
          message: expect.stringMatching(/^WRONGPASS /),
          command: { name: 'hello', args: '[redacted]' },
        }),
      }),
    ])
    expect(JSON.stringify(lines)).not.toContain('wrong-pw-7f3a')
  })
})

describe('createRedis with resendUnfulfilled off: a command whose connection closed unanswered', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  /**
   * A SET sent while the test's own server holds every write (CLIENT PAUSE WRITE), its connection then
   * killed by the server before it ran (lost with it), the reconnection made, and the writes let go: what
   * the SET came to and what the key holds once the client has a command answered on its new connection.
   * Standing for a claim whose reply never came: by the time the connection is back its Kafka partition
   * may be another process's, which decided the record without it.
   */
  async function lostWrite(opts: { timeoutMs: number; resendUnfulfilled?: boolean }) {
    const server = await ownRedis(cleanups)
    const url = `redis://127.0.0.1:${server.port}`
    const direct = createRedis(url, createLogger({ level: 'silent' }), 'direct')
    cleanups.push(() => closeRedis(direct))
    const name = `lost-${randomBytes(4).toString('hex')}`
    const redis = createRedis(url, createLogger({ level: 'silent' }), name, opts)
    cleanups.push(() => closeRedis(redis))
    const firstId = await redis.client('ID')
    const clientOf = () => clientNamed(direct, name)
    await direct.call('CLIENT', 'PAUSE', '60000', 'WRITE')
    cleanups.push(() => direct.call('CLIENT', 'UNPAUSE'))
    const late = redis.set('k', 'late write').then(
      (value) => ({ value }),
      (err: unknown) => ({ error: normalizeError(err).code }),
    )
    await until(async () => (await clientOf())?.flags === 'b', 'the SET held by the pause')
    await direct.call('CLIENT', 'KILL', 'ID', String(firstId))
    await until(async () => {
      const c = await clientOf()
      return c !== undefined && c.id !== String(firstId)
    }, 'the client connected again')
    await direct.call('CLIENT', 'UNPAUSE')
    const outcome = await within(late, 'the SET to settle')
    // Answered on the new connection: anything sent again before it has run by then.
    await redis.ping()
    return { outcome, key: await direct.get('k') }
  }

  it('fails it as a Redis outage to retry and never sends it again, with a timeout or none (REDIS_TIMEOUT_MS=0)', async () => {
    for (const timeoutMs of [0, 60_000])
      expect(await lostWrite({ timeoutMs, resendUnfulfilled: false })).toEqual({
        outcome: { error: 'INFRA_REDIS' },
        key: null,
      })
  })

  it('is sent again on the next connection by default (the other workers: their writes are idempotent)', async () => {
    expect(await lostWrite({ timeoutMs: 0 })).toEqual({ outcome: { value: 'OK' }, key: 'late write' })
    const off = createRedis(
      `redis://127.0.0.1:${await closedPort()}`,
      createLogger({ level: 'silent' }),
      'x',
      {
        resendUnfulfilled: false,
      },
    )
    cleanups.push(async () => off.disconnect())
    expect(off.options.autoResendUnfulfilledCommands).toBe(false)
  })
})

describe('createRedis: a command failed by its timeout is never sent later', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  /**
   * A client of the test's own server, the server then stopped: `backUp` starts it again and waits for a
   * write on the new connection, by which time ioredis has sent its offline queue (as the client becomes
   * ready, before any command issued since).
   */
  async function downClient(opts: { timeoutMs: number; resendUnfulfilled?: boolean }) {
    const server = await ownRedis(cleanups)
    const url = `redis://127.0.0.1:${server.port}`
    const redis = createRedis(url, createLogger({ level: 'silent' }), 'offline', opts)
    cleanups.push(() => closeRedis(redis))
    // ioredis fails its offline queue at every third failed reconnection (maxRetriesPerRequest 2), which
    // may come before the server is back or not, depending on how the reconnections fall: taken away here,
    // so what is queued is still queued when the client is ready again, as it is when Redis returns sooner.
    redis.options.maxRetriesPerRequest = null
    expect(await redis.ping()).toBe('PONG')
    await server.stop()
    await until(async () => redis.status === 'reconnecting', 'the client to see the server gone')
    const key = `tp-offline-${randomBytes(6).toString('hex')}`
    const backUp = async () => {
      await ownRedis(cleanups, { port: server.port })
      await until(
        async () => (await redis.set(`${key}:after`, 'x')) === 'OK',
        'a write on the new connection',
      )
    }
    return { redis, key, backUp }
  }

  it('from the offline queue, whether unanswered commands are sent again or not', async () => {
    // A SET issued while Redis is down fails by its timeout (REDIS_TIMEOUT_MS) while it waits in the offline
    // queue: standing for a claim its caller was told had failed (its batch retried, perhaps by another
    // process), which ioredis sent when the connection came back.
    for (const resendUnfulfilled of [true, false]) {
      const { redis, key, backUp } = await downClient({ timeoutMs: 300, resendUnfulfilled })
      await expect(redis.set(key, 'late write')).rejects.toThrow('Command timed out')
      await backUp()
      expect([resendUnfulfilled, await redis.get(key)]).toEqual([resendUnfulfilled, null])
    }
  })

  it('nor the rest of its pipeline, which ioredis writes whole or not at all', async () => {
    // One command of a pipeline failed, another not yet (their timers fire apart, here a hand's rejection):
    // the other fails too. Sent alone, it was never written (ioredis writes a pipeline once every command
    // of it is) yet waited for a reply: the reply to the next command, which then waited for ever.
    const { redis, key, backUp } = await downClient({ timeoutMs: 60_000 })
    const failed = new Command('set', [`${key}:1`, 'late write'])
    const pipeline = redis.pipeline()
    ;(pipeline as unknown as { sendCommand(c: Command): unknown }).sendCommand(failed)
    pipeline.set(`${key}:2`, 'late write')
    const results = pipeline.exec()
    failed.reject(new Error('given up'))
    await backUp()
    expect(await results).toEqual([[new Error('given up')], [new Error('Command timed out')]])
    expect(await redis.mget(`${key}:1`, `${key}:2`, `${key}:after`)).toEqual([null, null, 'x'])
  })

  it('as a command a closed connection left unanswered, by a client that sends those again', async () => {
    // The SET goes out on a connection that has stopped answering; it fails by its timeout, then the
    // connection is dropped (socketTimeout) with the SET unanswered: sent again on the next one before.
    const proxy = await silentableProxy(redisTarget())
    cleanups.push(proxy.close)
    const redis = createRedis(proxy.url, createLogger({ level: 'silent' }), 'unanswered', { timeoutMs: 300 })
    cleanups.push(() => closeRedis(redis))
    const key = `tp-unanswered-${randomBytes(6).toString('hex')}`
    cleanups.push(async () => void (await redis.del(key)))
    expect(await redis.ping()).toBe('PONG')
    proxy.freeze()
    await expect(redis.set(key, 'late write')).rejects.toThrow('Command timed out')
    await until(async () => redis.status !== 'ready', 'the silent connection dropped')
    proxy.thaw()
    await until(async () => (await redis.set(`${key}:after`, 'x')) === 'OK', 'a write on the new connection')
    await redis.del(`${key}:after`)
    expect(await redis.get(key)).toBeNull()
  })
})

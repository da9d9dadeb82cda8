import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { createCapturingLogger } from '../logger.ts'
import { createKeys } from './keys.ts'
import { type RedisStateWatch, watchRedisState } from './state-watch.ts'

// platform cannot depend on @tradepulse/testing: the int project's Redis comes from its global setup.
function redisUrl(): string {
  const provided = (inject as (key: string) => unknown)('redisUrl')
  return typeof provided === 'string' ? provided : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
}

/** A logger whose error lines are kept, parsed. */
function capturedLog() {
  const { log, lines } = createCapturingLogger()
  return { log, errors: () => lines.filter((l) => l.level >= 50) }
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('watchRedisState on Redis', () => {
  const clients: Redis[] = []
  const watches: RedisStateWatch[] = []
  const prefixes: string[] = []
  afterEach(async () => {
    for (const w of watches.splice(0)) w.stop()
    for (const c of clients.splice(0)) c.disconnect()
    if (prefixes.length) {
      const admin = new Redis(redisUrl())
      await admin.unlink(...prefixes.splice(0).map((p) => createKeys(p).stateMarker))
      await admin.quit()
    }
  })
  const newPrefix = () => {
    const prefix = `test-state-${randomBytes(6).toString('hex')}`
    prefixes.push(prefix)
    return prefix
  }
  const client = () => {
    const r = new Redis(redisUrl())
    clients.push(r)
    return r
  }
  const watch = (
    redis: Redis,
    prefix: string,
    extra: { now?: () => number; monotonicNow?: () => number; registry?: Registry } = {},
  ) => {
    const captured = capturedLog()
    const w = watchRedisState(redis, {
      prefix,
      what: 'indicators',
      refillMs: 7 * 86_400_000,
      remedy: 'Run `tradepulse indicators rebuild` to restore them from Kafka.',
      log: captured.log,
      intervalMs: 60_000,
      ...extra,
    })
    watches.push(w)
    return { w, errors: captured.errors }
  }

  it('sets the marker on the first read, the second worker adopts it, and neither reports a loss', async () => {
    const prefix = newPrefix()
    const admin = client()
    const a = watch(client(), prefix)
    await a.w.check()
    const marker = await admin.get(createKeys(prefix).stateMarker)
    expect(marker).toMatch(/^[0-9a-f]{16}$/)
    const b = watch(client(), prefix)
    await b.w.check()
    await a.w.check()
    await b.w.check()
    expect(await admin.get(createKeys(prefix).stateMarker)).toBe(marker)
    expect([a.w.lostAt(), b.w.lostAt()]).toEqual([undefined, undefined])
    expect([...a.errors(), ...b.errors()]).toEqual([])
    expect(await a.w.health()).toEqual({ status: 'ok', ready: true })
  })

  it('reports a loss when the marker is gone: an error line, the counter, degraded health until the refill', async () => {
    const prefix = newPrefix()
    const admin = client()
    const clock = Date.parse('2026-12-05T06:00:00Z')
    // The report window is timed by the monotonic clock; the wall clock only dates the messages.
    let elapsed = 0
    const registry = new Registry()
    const a = watch(client(), prefix, { now: () => clock, monotonicNow: () => elapsed, registry })
    const b = watch(client(), prefix, { now: () => clock, monotonicNow: () => elapsed })
    await a.w.check()
    await b.w.check()
    const before = await admin.get(createKeys(prefix).stateMarker)
    // What a Redis restarted without persistence, or flushed, looks like to the workers.
    await admin.del(createKeys(prefix).stateMarker)

    await a.w.check()
    expect(a.w.lostAt()).toBe(clock)
    const [line] = a.errors()
    expect(line?.marker).toBe('missing')
    expect(line?.msg).toContain('Redis lost its data')
    expect(line?.msg).toContain('indicators kept in Redis are gone')
    expect(line?.msg).toContain('for the next 7 d')
    expect(line?.msg).toContain('tradepulse indicators rebuild')
    expect(await registry.getSingleMetricAsString('tradepulse_redis_state_lost_total')).toMatch(
      /tradepulse_redis_state_lost_total 1$/m,
    )
    // The marker is set anew in the same step, with a new epoch...
    const after = await admin.get(createKeys(prefix).stateMarker)
    expect(after).toMatch(/^[0-9a-f]{16}$/)
    expect(after).not.toBe(before)
    // ...so a worker that reads it later sees the loss too, though the marker is there again.
    await b.w.check()
    expect(b.w.lostAt()).toBe(clock)
    expect(b.errors().map((l) => l.marker)).toEqual(['replaced'])
    // Reported once: the next reads find the new epoch.
    await a.w.check()
    await b.w.check()
    expect(a.errors()).toHaveLength(1)
    expect(b.errors()).toHaveLength(1)

    expect(await a.w.health()).toEqual({
      status: 'degraded',
      ready: true,
      detail:
        'Redis lost its data at 2026-12-05T06:00:00.000Z: indicators incomplete until 2026-12-12T06:00:00.000Z. Run `tradepulse indicators rebuild` to restore them from Kafka.',
    })
    // Reported for an hour (the counter stays), though the state is incomplete for longer.
    elapsed += 3_600_000 - 1
    expect((await a.w.health()).status).toBe('degraded')
    elapsed += 1
    expect(await a.w.health()).toEqual({ status: 'ok', ready: true })
  })

  it('reads the marker on every reconnection, not only on its interval', async () => {
    const prefix = newPrefix()
    const admin = client()
    const redis = client()
    const a = watch(redis, prefix)
    await a.w.check()
    await admin.del(createKeys(prefix).stateMarker)
    // A dropped connection: ioredis reconnects and emits 'ready', and the watch reads the marker then
    // (its interval is a minute).
    redis.disconnect(true)
    await until(() => a.w.lostAt() !== undefined, 'the loss to be seen on reconnection')
    expect(a.errors()).toHaveLength(1)
  })

  it('says nothing while Redis cannot be reached, and reads again once it can', async () => {
    const prefix = newPrefix()
    const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 0, enableOfflineQueue: false })
    clients.push(redis)
    const a = watch(redis, prefix)
    await a.w.check()
    // Cut off (no reconnection): reads fail, and a failed read is no loss.
    redis.disconnect()
    await until(() => redis.status === 'end', 'the connection to close')
    await a.w.check()
    await a.w.check()
    expect(a.w.lostAt()).toBeUndefined()
    expect(a.errors()).toEqual([])
    // Back: the marker is as it was, so still no loss...
    await redis.connect()
    await a.w.check()
    expect(a.w.lostAt()).toBeUndefined()
    // ...and the watch still sees one when there is one.
    await client().del(createKeys(prefix).stateMarker)
    await a.w.check()
    expect(a.w.lostAt()).toBeDefined()
    expect(a.errors()).toHaveLength(1)
  })

  it('says once, naming the key, when Redis refuses the marker (not a Redis 7, an ACL), rather than watching blind', async () => {
    const prefix = newPrefix()
    const admin = client()
    // A marker key of the wrong type: every SET ... GET on it is refused with an error reply, as a
    // Redis 6 refuses the GET option.
    await admin.hset(createKeys(prefix).stateMarker, 'x', '1')
    const a = watch(client(), prefix)
    await a.w.check()
    await a.w.check()
    const errors = a.errors()
    expect(errors).toHaveLength(1)
    expect(errors[0]?.msg).toMatch(
      /^cannot watch Redis for data loss: WRONGTYPE .*needs Redis 7\.0 or later.*state-marker/,
    )
    expect(a.w.lostAt()).toBeUndefined()
  })
})

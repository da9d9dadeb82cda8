import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { createCapturingLogger } from '../logger.ts'
import { ownRedis } from '../redis-test-support.ts'
import { type RedisStateWatch, watchRedisState } from './state-watch.ts'

// Each test runs its own redis-server: they set maxmemory and maxmemory-policy, which the shared one must
// keep as it is.
describe('watchRedisState on a Redis that evicts', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  const watches: RedisStateWatch[] = []
  afterEach(async () => {
    for (const w of watches.splice(0)) w.stop()
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  /** A server of the test's own and a client on it, with `maxmemory` (bytes over what it uses empty) and `policy`. */
  async function server(policy: string, headroomBytes?: number) {
    const { port } = await ownRedis(cleanups)
    const redis = new Redis({ port, host: '127.0.0.1' })
    cleanups.push(async () => redis.disconnect())
    if (headroomBytes !== undefined) {
      const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1])
      await redis.config('SET', 'maxmemory', String(used + headroomBytes))
    }
    await redis.config('SET', 'maxmemory-policy', policy)
    return redis
  }

  function watch(redis: Redis) {
    const { log, lines } = createCapturingLogger('debug')
    const registry = new Registry()
    const w = watchRedisState(redis, {
      prefix: `test-evict-${randomBytes(6).toString('hex')}`,
      what: 'dedup claims',
      refillMs: 86_400_000,
      remedy: 'Until then a repeat of a headline taken before the loss passes as new',
      log,
      registry,
      intervalMs: 60_000,
    })
    watches.push(w)
    const at = (level: number) => lines.filter((l) => l.level === level)
    return {
      w,
      errors: () => at(50),
      warnings: () => at(40),
      metric: async (name: string) => await registry.getSingleMetricAsString(name),
    }
  }

  const evictedKeys = async (redis: Redis) =>
    Number(/evicted_keys:(\d+)/.exec(await redis.info('stats'))?.[1])

  /** Writes dedup-like keys (each with a TTL, as the workers' are) until Redis has evicted some. */
  async function fillUntilEvicted(redis: Redis): Promise<number> {
    const value = 'x'.repeat(1024)
    for (let batch = 0; batch < 200; batch++) {
      const pipeline = redis.pipeline()
      for (let i = 0; i < 500; i++)
        pipeline.set(`fill:dedup:{d${i % 64}}:${batch}-${i}`, value, 'PX', 86_400_000)
      await pipeline.exec()
      const evicted = await evictedKeys(redis)
      if (evicted > 0) return evicted
    }
    throw new Error('Redis evicted nothing')
  }

  it('reports keys evicted under allkeys-lru as a loss: an error line with the count, the counter, degraded health', async () => {
    const redis = await server('allkeys-lru', 2_000_000)
    const a = watch(redis)
    await a.w.check()
    // The first read takes evicted_keys as the baseline: nothing evicted, no loss.
    expect(a.w.lostAt()).toBeUndefined()
    const evicted = await fillUntilEvicted(redis)

    await a.w.check()
    expect(a.w.lostAt()).toBeDefined()
    const line = a.errors().find((l) => l.evictedKeys !== undefined)
    // Evicted between the two reads: all of them, as the baseline was 0 (more may go before INFO is read).
    expect(line?.evictedKeys).toBeGreaterThanOrEqual(evicted)
    expect(line?.maxmemoryPolicy).toBe('allkeys-lru')
    expect(line?.msg).toMatch(
      /^Redis evicted \d+ keys since the last read .*dedup claims kept in Redis may be missing/,
    )
    expect(line?.msg).toContain('incomplete for the next 1 d')
    expect(await a.metric('tradepulse_redis_state_lost_total')).toMatch(
      /^tradepulse_redis_state_lost_total 1$/m,
    )
    const health = await a.w.health()
    expect(health.status).toBe('degraded')
    expect(health.ready).toBe(true)
    expect(health.detail).toMatch(
      /^Redis (lost its data and )?evicted keys at .*: dedup claims incomplete until /,
    )
    // The policy is said too, once, at the first read.
    expect(a.errors().filter((l) => l.msg.startsWith('Redis may evict dedup claims'))).toHaveLength(1)
    expect(health.detail).toContain('Redis may evict dedup claims: maxmemory ')

    // Nothing evicted since: no new line.
    const lines = a.errors().length
    await a.w.check()
    expect(a.errors()).toHaveLength(lines)
  })

  it('says nothing of a Redis without maxmemory under noeviction', async () => {
    const redis = await server('noeviction')
    const a = watch(redis)
    await a.w.check()
    for (let i = 0; i < 1000; i++) await redis.set(`fill:${i}`, 'x', 'PX', 86_400_000)
    await a.w.check()
    expect(a.w.lostAt()).toBeUndefined()
    expect([...a.errors(), ...a.warnings()]).toEqual([])
    expect(await a.w.health()).toEqual({ status: 'ok', ready: true })
    // The gauge is read, and says no eviction.
    expect(await a.metric('tradepulse_redis_may_evict')).toMatch(/^tradepulse_redis_may_evict 0$/m)
  })

  /** A gauge's value as the registry exposes it. */
  const gaugeValue = async (a: ReturnType<typeof watch>, name: string) =>
    Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await a.metric(name))?.[1])

  it('exports the memory Redis uses and its maxmemory (0 when none) from the same INFO read', async () => {
    // A Redis full under noeviction refused writes (OOM) with no metric of its headroom before it did.
    const redis = await server('noeviction', 5_000_000)
    const max = Number(/^maxmemory:(\d+)/m.exec(await redis.info('memory'))?.[1])
    const a = watch(redis)
    await a.w.check()
    expect(await gaugeValue(a, 'tradepulse_redis_maxmemory_bytes')).toBe(max)
    const before = await gaugeValue(a, 'tradepulse_redis_used_memory_bytes')
    expect(before).toBeGreaterThan(0)
    expect(before).toBeLessThan(max)
    const value = 'x'.repeat(1024)
    const pipeline = redis.pipeline()
    for (let i = 0; i < 1000; i++) pipeline.set(`fill:${i}`, value, 'PX', 86_400_000)
    await pipeline.exec()
    await a.w.check()
    const after = await gaugeValue(a, 'tradepulse_redis_used_memory_bytes')
    expect(after).toBeGreaterThan(before + 1000 * 1024)

    // No maxmemory: 0, the used memory still read.
    await redis.config('SET', 'maxmemory', '0')
    await a.w.check()
    expect(await gaugeValue(a, 'tradepulse_redis_maxmemory_bytes')).toBe(0)
    expect(await gaugeValue(a, 'tradepulse_redis_used_memory_bytes')).toBeGreaterThan(0)
  })

  it('takes a Redis full under noeviction (writes refused: OOM) for no refusal of the watch, and reads on once it has room', async () => {
    // The marker's SET is a write: a full Redis refuses it with OOM, which the watch said once as an error
    // that it cannot watch for data loss (needing Redis 7.0) and never again, whatever came after.
    const redis = await server('noeviction', 2_000_000)
    const a = watch(redis)
    await a.w.check()
    // Full: maxmemory set below what it uses (noeviction evicts nothing), so every write is refused.
    const used = Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1])
    await redis.config('SET', 'maxmemory', String(used - 100_000))
    await expect(redis.set('fill:one', 'x')).rejects.toThrow(/^OOM /)
    await a.w.check()
    await a.w.check()
    expect(a.errors()).toEqual([])
    expect(a.w.lostAt()).toBeUndefined()
    expect(await gaugeValue(a, 'tradepulse_redis_used_memory_bytes')).toBeGreaterThan(
      await gaugeValue(a, 'tradepulse_redis_maxmemory_bytes'),
    )
    // Room again, then the data lost: the watch still sees it.
    await redis.config('SET', 'maxmemory', '0')
    await redis.flushall()
    await a.w.check()
    expect(a.w.lostAt()).toBeDefined()
    expect(a.errors().map((l) => l.msg)).toEqual([expect.stringMatching(/^Redis lost its data: /)])
  })

  it('reports a volatile-lru policy with maxmemory before it evicts anything: an error line, degraded while it holds', async () => {
    const redis = await server('volatile-lru', 50_000_000)
    const a = watch(redis)
    await a.w.check()
    await a.w.check()
    expect(await evictedKeys(redis)).toBe(0)
    const errors = a.errors()
    expect(errors).toHaveLength(1)
    expect(errors[0]?.maxmemoryPolicy).toBe('volatile-lru')
    expect(errors[0]?.msg).toMatch(
      /^Redis may evict dedup claims without a word: it runs with maxmemory \S+ and maxmemory-policy volatile-lru, which drops keys with a TTL .*Set maxmemory-policy noeviction/,
    )
    expect(a.w.lostAt()).toBeUndefined()
    const health = await a.w.health()
    expect(health).toMatchObject({ status: 'degraded', ready: true })
    expect(health.detail).toMatch(
      /^Redis may evict dedup claims: maxmemory \S+ with maxmemory-policy volatile-lru; /,
    )
    expect(await a.metric('tradepulse_redis_may_evict')).toMatch(/^tradepulse_redis_may_evict 1$/m)

    // Set right: ok again at the next read.
    await redis.config('SET', 'maxmemory-policy', 'noeviction')
    await a.w.check()
    expect(await a.w.health()).toEqual({ status: 'ok', ready: true })
    expect(await a.metric('tradepulse_redis_may_evict')).toMatch(/^tradepulse_redis_may_evict 0$/m)
    expect(a.errors()).toHaveLength(1)
  })

  it('says keys evicted before it began to watch once, as a warning and not a loss', async () => {
    const redis = await server('allkeys-lru', 2_000_000)
    const evicted = await fillUntilEvicted(redis)
    await redis.config('SET', 'maxmemory-policy', 'noeviction')
    const a = watch(redis)
    await a.w.check()
    await a.w.check()
    expect(a.errors()).toEqual([])
    const warnings = a.warnings()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.evictedKeys).toBeGreaterThanOrEqual(evicted)
    expect(warnings[0]?.msg).toMatch(/^Redis had evicted \d+ keys before this worker began to watch it/)
    expect(a.w.lostAt()).toBeUndefined()
    expect(await a.w.health()).toEqual({ status: 'ok', ready: true })
  })

  it('says once that INFO is refused, and watches the marker still', async () => {
    const redis = await server('noeviction')
    await redis.acl('SETUSER', 'no-info', 'on', '>pw', '~*', '+@all', '-info')
    const limited = new Redis({
      port: redis.options.port,
      host: '127.0.0.1',
      username: 'no-info',
      password: 'pw',
      // ioredis's own ready check reads INFO too: refused, it only warns on stderr.
      enableReadyCheck: false,
    })
    cleanups.push(async () => limited.disconnect())
    const a = watch(limited)
    await a.w.check()
    await a.w.check()
    const warnings = a.warnings()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.msg).toMatch(/^cannot watch Redis for evictions: INFO refused: NOPERM/)
    expect(a.errors()).toEqual([])
    // The marker is read still: a flush is a loss.
    await redis.flushall()
    await a.w.check()
    expect(a.w.lostAt()).toBeDefined()
    expect(a.errors().map((l) => l.marker)).toEqual(['missing'])
    expect(a.warnings()).toHaveLength(1)
  })
})

import type { Redis } from 'ioredis'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createCapturingLogger } from '../logger.ts'
import { type RedisStateWatch, type RedisStateWatchOptions, watchRedisState } from './state-watch.ts'

/**
 * A Redis holding the state marker in memory, answering SET NX GET as Redis 7 does; `flush()` is what a
 * Redis restarted without persistence looks like to the watch.
 */
function fakeRedis() {
  let marker: string | null = null
  const redis = {
    status: 'ready',
    on: () => redis,
    off: () => redis,
    async set(_key: string, value: string, nx: string, get: string) {
      if (nx !== 'NX' || get !== 'GET') throw new Error('expected SET key value NX GET')
      const held = marker
      marker ??= value
      return held
    },
  }
  return {
    redis: redis as unknown as Redis,
    flush: () => {
      marker = null
    },
  }
}

describe('watchRedisState across a wall-clock step', () => {
  // The report window was timed by the wall clock (Date.now): an NTP step forward past the hour ended a
  // loss's degraded report at once, and a step back an hour held it an hour longer.
  const watches: RedisStateWatch[] = []
  afterEach(() => {
    for (const w of watches.splice(0)) w.stop()
  })

  /** A watch that has seen a loss at `wall` (wall clock) and 1000 (monotonic clock), both set by hand. */
  async function lostAt(wall: number, extra: Partial<RedisStateWatchOptions> = {}) {
    const clocks = { wall, monotonic: 1_000 }
    const { redis, flush } = fakeRedis()
    const w = watchRedisState(redis, {
      prefix: 'test-state-step',
      what: 'indicators',
      refillMs: 7 * 86_400_000,
      log: createCapturingLogger().log,
      intervalMs: 60_000,
      now: () => clocks.wall,
      monotonicNow: () => clocks.monotonic,
      ...extra,
    })
    watches.push(w)
    await w.check()
    flush()
    await w.check()
    expect(w.lostAt()).toBe(wall)
    return { w, clocks }
  }

  it('keeps reporting a loss when the wall clock steps forward past the report window', async () => {
    const { w, clocks } = await lostAt(Date.parse('2026-12-05T06:00:00Z'))
    clocks.wall += 2 * 3_600_000
    clocks.monotonic += 60_000
    // The times shown are the wall clock's at the loss: the step moves neither.
    expect(await w.health()).toEqual({
      status: 'degraded',
      ready: true,
      detail:
        'Redis lost its data at 2026-12-05T06:00:00.000Z: indicators incomplete until 2026-12-12T06:00:00.000Z',
    })
  })

  it('ends the report after the window has passed, though the wall clock stepped back an hour', async () => {
    const { w, clocks } = await lostAt(Date.parse('2026-12-05T06:00:00Z'))
    clocks.wall -= 3_600_000
    clocks.monotonic += 3_600_000 - 1
    expect((await w.health()).status).toBe('degraded')
    clocks.monotonic += 1
    expect(await w.health()).toEqual({ status: 'ok', ready: true })
  })

  it('times the window by performance.now() by default, not Date.now()', async () => {
    const realNow = Date.now.bind(Date)
    let step = 0
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + step)
    try {
      const { redis, flush } = fakeRedis()
      const w = watchRedisState(redis, {
        prefix: 'test-state-step',
        what: 'indicators',
        refillMs: 7 * 86_400_000,
        reportMs: 60_000,
        log: createCapturingLogger().log,
        intervalMs: 60_000,
      })
      watches.push(w)
      await w.check()
      flush()
      await w.check()
      expect((await w.health()).status).toBe('degraded')
      // An NTP step of two hours forward: the report window (a minute) has not passed.
      step = 2 * 3_600_000
      expect((await w.health()).status).toBe('degraded')
    } finally {
      vi.restoreAllMocks()
    }
  })
})

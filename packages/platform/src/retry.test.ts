import { describe, expect, it, vi } from 'vitest'
import { TradepulseError } from './errors.ts'
import { backoffDelay, retry } from './retry.ts'

const fast = { baseMs: 1, maxMs: 2, tickMs: 1 }

describe('retry', () => {
  it('retries retriable faults until success', async () => {
    let calls = 0
    const r = await retry(async () => {
      calls++
      if (calls < 3) throw new TradepulseError('INFRA_REDIS', 'down')
      return 'done'
    }, fast)
    expect(r).toEqual({ ok: true, value: 'done', attempts: 3 })
  })
  it('never retries a programmer error', async () => {
    let calls = 0
    await expect(
      retry(async () => {
        calls++
        throw new TypeError('bug')
      }, fast),
    ).rejects.toMatchObject({ code: 'INTERNAL', retriable: false })
    expect(calls).toBe(1)
  })
  it('stops when asked, without another attempt', async () => {
    let calls = 0
    let stop = false
    const r = await retry(
      async () => {
        calls++
        stop = true
        throw new TradepulseError('INFRA_KAFKA', 'down')
      },
      { ...fast, shouldStop: () => stop },
    )
    expect(r).toEqual({ ok: false, stopped: true, attempts: 1 })
    expect(calls).toBe(1)
  })
  it('tells no retry of a fault met once stopping: a stop is not a fault', async () => {
    // A handler gives its batch up with a retriable SHUTDOWN once the worker stops (the scorer between
    // its slices): onRetry warned "infrastructure fault; retrying the batch" and counted a retry for it.
    let stop = false
    const retried: string[] = []
    const r = await retry(
      async () => {
        stop = true
        throw new TradepulseError('SHUTDOWN', 'scoring stopped: the worker is stopping', { retriable: true })
      },
      { ...fast, shouldStop: () => stop, onRetry: (err) => void retried.push(err.code) },
    )
    expect(r).toEqual({ ok: false, stopped: true, attempts: 1 })
    expect(retried).toEqual([])
  })
  it('gives up after maxAttempts with the last error', async () => {
    await expect(
      retry(
        async () => {
          throw new TradepulseError('INFRA_KAFKA', 'still down')
        },
        { ...fast, maxAttempts: 2 },
      ),
    ).rejects.toThrow('still down')
  })
  it('waits its backoff by a monotonic clock: a wall clock set back an hour does not hold the retry an hour', async () => {
    // The wait ran until Date.now() reached the end it computed: an NTP step or an operator setting the
    // clock back during an outage left the partition paused that much longer after the fault cleared.
    const realNow = Date.now.bind(Date)
    let calls = 0
    try {
      const r = await retry(
        async () => {
          calls++
          if (calls === 1) {
            // The clock steps back an hour just after the wait begins (its first reading is the step's eve).
            let readings = 0
            vi.spyOn(Date, 'now').mockImplementation(() => realNow() - (readings++ === 0 ? 0 : 3_600_000))
            throw new TradepulseError('INFRA_REDIS', 'down')
          }
          return 'done'
        },
        { baseMs: 20, maxMs: 20, tickMs: 5 },
      )
      expect(r).toEqual({ ok: true, value: 'done', attempts: 2 })
    } finally {
      vi.restoreAllMocks()
    }
  }, 2_000)
  it('backs off exponentially with jitter, capped', () => {
    expect(backoffDelay(0, 100, 5_000, () => 1)).toBe(100)
    expect(backoffDelay(3, 100, 5_000, () => 1)).toBe(800)
    expect(backoffDelay(3, 100, 5_000, () => 0)).toBe(400)
    expect(backoffDelay(20, 100, 5_000, () => 1)).toBe(5_000)
  })
})

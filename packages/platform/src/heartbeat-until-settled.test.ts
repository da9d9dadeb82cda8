import { afterEach, describe, expect, it, vi } from 'vitest'
import { heartbeatUntilSettled } from './heartbeat-until-settled.ts'

const INTERVAL_MS = 1_000

/** A pending promise behind a thenable counting the reactions attached to it. */
function counted<T>() {
  const { promise, resolve, reject } = Promise.withResolvers<T>()
  let reactions = 0
  const thenable: PromiseLike<T> = {
    // biome-ignore lint/suspicious/noThenProperty: a thenable is the point: it counts what awaits it
    then(onFulfilled, onRejected) {
      reactions++
      return promise.then(onFulfilled, onRejected)
    },
  }
  return { thenable, resolve, reject, reactions: () => reactions }
}

describe('heartbeatUntilSettled', () => {
  afterEach(() => {
    vi.useRealTimers()
    vi.restoreAllMocks()
  })

  it('keeps one reaction on a promise pending across 10,000 laps, beats each lap, resolves when it does', async () => {
    vi.useFakeTimers()
    const p = counted<string>()
    let beats = 0
    const wait = heartbeatUntilSettled(p.thenable, INTERVAL_MS, () => {
      beats++
      return undefined
    })
    await vi.advanceTimersByTimeAsync(10_000 * INTERVAL_MS)
    expect(beats).toBe(10_000)
    // The old Promise.race loop: 10,002 (one per race, one for its flag), each held until the promise settled.
    expect(p.reactions()).toBe(1)
    p.resolve('done')
    await expect(wait).resolves.toBeUndefined()
    expect(beats).toBe(10_000)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('rejects with the promise’s reason once it rejects, and leaves no timer', async () => {
    vi.useFakeTimers()
    const p = counted<void>()
    let beats = 0
    const wait = heartbeatUntilSettled(p.thenable, INTERVAL_MS, () => {
      beats++
      return undefined
    })
    const outcome = wait.then(
      () => 'resolved',
      (err: unknown) => err,
    )
    await vi.advanceTimersByTimeAsync(3 * INTERVAL_MS)
    const reason = new Error('link failed')
    p.reject(reason)
    expect(await outcome).toBe(reason)
    expect(beats).toBe(3)
    expect(p.reactions()).toBe(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('gives the wait up with what a beat returns, and clears the timer', async () => {
    vi.useFakeTimers()
    const p = counted<void>()
    let beats = 0
    const wait = heartbeatUntilSettled(p.thenable, INTERVAL_MS, async () => {
      beats++
      return beats === 5 ? { why: 'rebalance' } : undefined
    })
    await vi.advanceTimersByTimeAsync(5 * INTERVAL_MS)
    await expect(wait).resolves.toEqual({ why: 'rebalance' })
    await vi.advanceTimersByTimeAsync(5 * INTERVAL_MS)
    expect(beats).toBe(5)
    expect(vi.getTimerCount()).toBe(0)
    expect(p.reactions()).toBe(1)
  })

  it('rejects with what a beat throws', async () => {
    vi.useFakeTimers()
    const p = counted<void>()
    const refused = new Error('REBALANCE_IN_PROGRESS')
    const wait = heartbeatUntilSettled(p.thenable, INTERVAL_MS, async () => {
      throw refused
    })
    const outcome = wait.then(
      () => 'resolved',
      (err: unknown) => err,
    )
    await vi.advanceTimersByTimeAsync(INTERVAL_MS)
    expect(await outcome).toBe(refused)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('lets a beat’s answer win over the promise settling during that beat', async () => {
    vi.useFakeTimers()
    const p = counted<void>()
    const wait = heartbeatUntilSettled(p.thenable, INTERVAL_MS, async () => {
      p.resolve()
      await Promise.resolve()
      return 'stop'
    })
    await vi.advanceTimersByTimeAsync(INTERVAL_MS)
    await expect(wait).resolves.toBe('stop')
  })

  it('ends as soon as the beat during which the promise settled is over, without another lap', async () => {
    vi.useFakeTimers()
    const p = counted<void>()
    let beats = 0
    const wait = heartbeatUntilSettled(p.thenable, INTERVAL_MS, () => {
      beats++
      p.resolve()
      return undefined
    })
    await vi.advanceTimersByTimeAsync(INTERVAL_MS)
    // No timer advanced from here: the wait ends on microtasks alone.
    await expect(wait).resolves.toBeUndefined()
    expect(beats).toBe(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('does not beat for a promise already settled', async () => {
    const beat = vi.fn(() => undefined)
    await expect(heartbeatUntilSettled(Promise.resolve(1), 60_000, beat)).resolves.toBeUndefined()
    await expect(heartbeatUntilSettled(Promise.reject(new Error('x')), 60_000, beat)).rejects.toThrow('x')
    expect(beat).not.toHaveBeenCalled()
  })

  it('unrefs each lap’s timer only when asked', async () => {
    const timers: NodeJS.Timeout[] = []
    const real = globalThis.setTimeout
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms: number) => {
      const t = real(fn, ms)
      timers.push(t)
      return t
    }) as typeof setTimeout)
    for (const unref of [true, false]) {
      const { promise, resolve } = Promise.withResolvers<void>()
      const wait = heartbeatUntilSettled(promise, 60_000, () => undefined, { unref })
      await vi.waitFor(() => expect(timers).toHaveLength(unref ? 1 : 2))
      expect(timers.at(-1)?.hasRef()).toBe(!unref)
      resolve()
      await wait
    }
  })
})

import { describe, expect, it } from 'vitest'
import { createSharedReads, MAX_SHARED } from './shared-reads.ts'

/** A read held until `settle`, counted. */
function heldReads() {
  const pending: { resolve: (v: string) => void; reject: (e: Error) => void }[] = []
  let calls = 0
  const read = () => {
    calls++
    return new Promise<string>((resolve, reject) => pending.push({ resolve, reject }))
  }
  return {
    read,
    get calls() {
      return calls
    },
    pending,
  }
}

describe('shared reads', () => {
  it('shares a read in flight, then its result until the window from its start has passed', async () => {
    let t = 0
    const reads = createSharedReads({ windowMs: 1_000, maxInFlight: 10, clock: () => t })
    const store = heldReads()
    const a = reads.read('k', store.read)!
    t = 500
    const b = reads.read('k', store.read)!
    expect([store.calls, reads.inFlight]).toEqual([1, 1])
    t = 900
    store.pending[0]!.resolve('first')
    expect(await Promise.all([a, b])).toEqual(['first', 'first'])
    expect(reads.inFlight).toBe(0)
    t = 999
    expect(await reads.read('k', store.read)).toBe('first')
    expect(store.calls).toBe(1)
    // The window is from the read's start: past it, read again.
    t = 1_000
    const c = reads.read('k', store.read)!
    expect(store.calls).toBe(2)
    store.pending[1]!.resolve('second')
    expect(await c).toBe('second')
    // Another key, or none, is a read of its own.
    reads.read('other', store.read)
    reads.read(undefined, store.read)
    reads.read(undefined, store.read)
    expect(store.calls).toBe(5)
  })

  it('shares a failed read with those waiting for it only: the next caller reads again', async () => {
    let t = 0
    const reads = createSharedReads({ windowMs: 1_000, maxInFlight: 10, clock: () => t })
    const store = heldReads()
    const a = reads.read('k', store.read)!
    const b = reads.read('k', store.read)!
    store.pending[0]!.reject(new Error('ECONNREFUSED'))
    await expect(a).rejects.toThrow('ECONNREFUSED')
    await expect(b).rejects.toThrow('ECONNREFUSED')
    t = 10
    reads.read('k', store.read)
    expect([store.calls, reads.inFlight]).toEqual([2, 1])
  })

  it('refuses a read past maxInFlight (joining one in flight is none), and takes reads again as they end', async () => {
    const reads = createSharedReads({ windowMs: 1_000, maxInFlight: 2, clock: () => 0 })
    const store = heldReads()
    const a = reads.read('a', store.read)!
    reads.read(undefined, store.read)
    expect(reads.read('b', store.read)).toBeUndefined()
    expect(reads.read(undefined, store.read)).toBeUndefined()
    expect(reads.read('a', store.read)).toBe(a)
    expect(store.calls).toBe(2)
    store.pending[0]!.resolve('a')
    await a
    expect(reads.read('b', store.read)).toBeDefined()
    expect(store.calls).toBe(3)
  })

  it('never shares with a window of 0, and keeps at most MAX_SHARED results', async () => {
    const none = createSharedReads({ windowMs: 0, maxInFlight: 10, clock: () => 0 })
    const store = heldReads()
    none.read('k', store.read)
    none.read('k', store.read)
    expect(store.calls).toBe(2)

    const reads = createSharedReads({
      windowMs: 60_000,
      maxInFlight: Number.POSITIVE_INFINITY,
      clock: () => 0,
    })
    let calls = 0
    const read = async () => ++calls
    for (let i = 0; i <= MAX_SHARED; i++) await reads.read(`k${i}`, read)
    // The newest are kept, the oldest let go first.
    expect(await reads.read(`k${MAX_SHARED}`, read)).toBe(MAX_SHARED + 1)
    expect(await reads.read('k1', read)).toBe(2)
    expect(await reads.read('k0', read)).toBe(MAX_SHARED + 2)
  })
})

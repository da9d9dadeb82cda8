import { createManualClock } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import { createMemoryDedupStore } from './memory-dedup-store.ts'

describe('memory dedup store', () => {
  it('claims once per id, lets the same origin through again, and forgets after the window', async () => {
    const clock = createManualClock(0)
    const store = createMemoryDedupStore({ windowMs: 1_000, clock })
    expect(
      await store.claim([
        { id: 'a', origin: 'o1' },
        { id: 'a', origin: 'o2' },
        { id: 'b', origin: 'o3' },
      ]),
    ).toEqual([true, false, true])
    expect(await store.claim([{ id: 'a', origin: 'o1' }])).toEqual([true])
    clock.advance(1_000)
    expect(await store.claim([{ id: 'a', origin: 'o9' }])).toEqual([true])
  })
  it('is bounded', async () => {
    const store = createMemoryDedupStore({ windowMs: 1_000, clock: createManualClock(0), maxEntries: 2 })
    await store.claim([
      { id: 'a', origin: '1' },
      { id: 'b', origin: '2' },
      { id: 'c', origin: '3' },
    ])
    expect(await store.claim([{ id: 'a', origin: 'x' }])).toEqual([true])
  })
})

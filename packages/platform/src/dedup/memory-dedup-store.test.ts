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
  it('tells a first claim from a re-claim by the same origin and from a duplicate', async () => {
    const clock = createManualClock(0)
    const store = createMemoryDedupStore({ windowMs: 1_000, clock })
    expect(
      await store.claimHeadlines([
        { id: 'a', origin: 'o1' },
        { id: 'a', origin: 'o1' },
        { id: 'a', origin: 'o2' },
      ]),
    ).toEqual(['first', 'again', 'duplicate'])
    clock.advance(1_000)
    expect(await store.claimHeadlines([{ id: 'a', origin: 'o1' }])).toEqual(['first'])
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
  it('keeps an expired claim taken again as the newest, not the first to go', async () => {
    const clock = createManualClock(0)
    const store = createMemoryDedupStore({ windowMs: 1_000, clock, maxEntries: 2 })
    await store.claimHeadlines([{ id: 'a', origin: '1' }])
    clock.advance(1_000)
    await store.claimHeadlines([
      { id: 'b', origin: '2' },
      { id: 'a', origin: '3' },
      { id: 'c', origin: '4' },
    ])
    expect(await store.claimHeadlines([{ id: 'a', origin: '5' }])).toEqual(['duplicate'])
  })
})

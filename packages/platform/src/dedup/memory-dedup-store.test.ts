import { createManualClock } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import { createMemoryDedupStore } from './memory-dedup-store.ts'

describe('memory dedup store', () => {
  it('tells a first claim from a re-claim by the same origin and from a duplicate, and forgets after the window', async () => {
    const clock = createManualClock(0)
    const store = createMemoryDedupStore({ windowMs: 1_000, clock })
    expect(
      await store.claimHeadlines([
        { id: 'a', origin: 'o1' },
        { id: 'a', origin: 'o1' },
        { id: 'a', origin: 'o2' },
        { id: 'b', origin: 'o3' },
      ]),
    ).toEqual(['first', 'again', 'duplicate', 'first'])
    clock.advance(999)
    expect(await store.claimHeadlines([{ id: 'a', origin: 'o2' }])).toEqual(['duplicate'])
    clock.advance(1)
    expect(await store.claimHeadlines([{ id: 'a', origin: 'o9' }])).toEqual(['first'])
    expect(await store.claimHeadlines([{ id: 'a', origin: 'o1' }])).toEqual(['duplicate'])
  })
  it("releases only the releasing record's claim, after which the id is claimed afresh", async () => {
    const clock = createManualClock(0)
    const store = createMemoryDedupStore({ windowMs: 1_000, clock })
    await store.claimHeadlines([
      { id: 'mine', origin: 'raw/0/7' },
      { id: 'theirs', origin: 'raw/1/3' },
      { id: 'old', origin: 'raw/0/7' },
    ])
    expect(await store.releaseClaims('raw/0/7', ['theirs', 'mine', 'none'])).toEqual([
      'other',
      'released',
      'absent',
    ])
    expect(await store.releaseClaims('raw/0/7', ['mine'])).toEqual(['absent'])
    expect(
      await store.claimHeadlines([
        { id: 'mine', origin: 'raw/2/1' },
        { id: 'theirs', origin: 'raw/0/7' },
      ]),
    ).toEqual(['first', 'duplicate'])
    clock.advance(1_000) // 'old' expires: nothing left to release
    expect(await store.releaseClaims('raw/0/7', ['old'])).toEqual(['absent'])
  })
  it('is bounded: past maxEntries the oldest claim goes', async () => {
    const store = createMemoryDedupStore({ windowMs: 1_000, clock: createManualClock(0), maxEntries: 2 })
    await store.claimHeadlines([
      { id: 'a', origin: '1' },
      { id: 'b', origin: '2' },
      { id: 'c', origin: '3' },
    ])
    expect(
      await store.claimHeadlines([
        { id: 'c', origin: 'x' },
        { id: 'a', origin: 'x' },
      ]),
    ).toEqual(['duplicate', 'first'])
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

import { describe, expect, it } from 'vitest'
import { type AppliedRange, isRedelivery, joinApplied, memoryAppliedOffsets } from './applied-offsets.ts'

const T = Date.parse('2026-03-02T00:00:00Z')
const batch = (from: number, to: number, minTs = T + from, maxTs = T + to) => ({ from, to, minTs, maxTs })

describe('applied offsets', () => {
  it('extends the range with the batch that follows it or overlaps it (a redelivery), and reads it back', async () => {
    const applied = memoryAppliedOffsets()
    await applied.record('s', 0, batch(0, 99))
    await applied.record('s', 0, batch(100, 149))
    expect(await applied.read('s', 0)).toEqual({ from: 0, to: 149, maxTs: T + 149 })
    // Given again from 120 after a restart, and on to 199.
    await applied.record('s', 0, batch(120, 199))
    expect(await applied.read('s', 0)).toEqual({ from: 0, to: 199, maxTs: T + 199 })
    expect(await applied.read('s', 1)).toBeUndefined()
  })

  it('replaces the range with a batch that does not join it: only what was applied is ever in it', () => {
    const stored: AppliedRange = { from: 100, to: 199, maxTs: T + 199 }
    // A gap (the batch between failed and will come again): the range restarts at the later batch.
    expect(joinApplied(stored, batch(250, 299))).toEqual({ from: 250, to: 299, maxTs: T + 299 })
    // A batch before the range (its failed predecessor, applied again): it alone is vouched for.
    expect(joinApplied(stored, batch(50, 99))).toEqual({ from: 50, to: 99, maxTs: T + 99 })
  })

  it('replaces the range of a topic created again: offsets from 0 again, records newer than the old range', () => {
    const stored: AppliedRange = { from: 0, to: 5_000, maxTs: T + 5_000 }
    const recreated = batch(0, 99, T + 60_000, T + 60_099)
    expect(isRedelivery(stored, 10, T + 60_010)).toBe(false)
    expect(joinApplied(stored, recreated)).toEqual({ from: 0, to: 99, maxTs: T + 60_099 })
    // The same offsets with the old records' timestamps are the old records again.
    expect(isRedelivery(stored, 10, T + 10)).toBe(true)
  })

  it('knows a record as a redelivery only inside the range and no newer than its newest record', () => {
    const range: AppliedRange = { from: 10, to: 20, maxTs: T + 20 }
    expect(isRedelivery(range, 10, T + 10)).toBe(true)
    expect(isRedelivery(range, 20, T + 20)).toBe(true)
    expect(isRedelivery(range, 9, T + 9)).toBe(false)
    expect(isRedelivery(range, 21, T + 20)).toBe(false)
    expect(isRedelivery(range, 15, T + 21)).toBe(false)
    expect(isRedelivery(undefined, 15, T)).toBe(false)
  })
})

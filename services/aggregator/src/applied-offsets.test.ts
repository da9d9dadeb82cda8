import { describe, expect, it } from 'vitest'
import {
  type AppliedRange,
  createAppliedTracker,
  isRedelivery,
  joinApplied,
  joinTail,
  memoryAppliedOffsets,
  type TrackedPart,
  trackedPart,
  trackRecord,
} from './applied-offsets.ts'

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

  it('vouches for a tail only below its event time, and only with the event time given', () => {
    const range: AppliedRange = {
      from: 0,
      to: 9,
      maxTs: T + 9,
      tail: { from: 10, to: 20, maxTs: T + 20, belowMs: 5_000 },
    }
    expect(isRedelivery(range, 15, T + 15, 4_999)).toBe(true)
    expect(isRedelivery(range, 15, T + 15, 5_000)).toBe(false)
    expect(isRedelivery(range, 15, T + 15)).toBe(false)
    expect(isRedelivery(range, 21, T + 20, 0)).toBe(false)
    expect(isRedelivery(range, 15, T + 21, 0)).toBe(false) // a newer record: the topic created again
    expect(isRedelivery(range, 5, T + 5)).toBe(true)
  })

  it('joins tails: a new one replaces the stored one, one reaching further is kept below both, one covered goes', () => {
    const stored = { from: 10, to: 20, maxTs: T + 20, belowMs: 5_000 }
    const tail = (from: number, to: number, belowMs: number) => ({
      from,
      to,
      minTs: T + from,
      maxTs: T + to,
      belowMs,
    })
    expect(joinTail(stored, tail(12, 30, 6_000), undefined)).toEqual({
      from: 12,
      to: 30,
      maxTs: T + 30,
      belowMs: 6_000,
    })
    // A restart given fewer records: the stored tail reaches further, so both hold, below the lower time.
    expect(joinTail(stored, tail(12, 15, 7_000), undefined)).toEqual({
      from: 10,
      to: 20,
      maxTs: T + 20,
      belowMs: 5_000,
    })
    expect(joinTail(stored, undefined, { from: 0, to: 20, maxTs: T + 20 })).toBeUndefined()
    expect(joinTail(stored, undefined, { from: 0, to: 19, maxTs: T + 19 })).toEqual(stored)
  })

  it('tracks what merged rounds applied of a partition: the records up to the first not applied, then a tail below it', () => {
    const tracker = createAppliedTracker()
    const part = (from: number, eventMs: number[]): TrackedPart => {
      const p = trackedPart()
      eventMs.forEach((e, i) => {
        trackRecord(p, from + i, T + from + i, e)
      })
      return p
    }
    tracker.begin()
    const a = part(0, [100, 300, -Infinity, 200])
    const b = part(4, [150, 400])
    tracker.add(a)
    tracker.add(b)
    expect(a.nextMs).toBe(100)
    expect(tracker.claim()).toEqual({ tail: { from: 0, to: 5, minTs: T, maxTs: T + 5, belowMs: 100 } })
    // A round applied everything before 250: in part a 100 and 200, in part b 150.
    a.nextMs = 300
    b.nextMs = 400
    expect(tracker.claim()).toEqual({
      range: { from: 0, to: 0, minTs: T, maxTs: T },
      tail: { from: 1, to: 5, minTs: T + 1, maxTs: T + 5, belowMs: 300 },
    })
    a.nextMs = Number.POSITIVE_INFINITY
    expect(tracker.claim()).toEqual({
      range: { from: 0, to: 4, minTs: T, maxTs: T + 4 },
      tail: { from: 5, to: 5, minTs: T + 5, maxTs: T + 5, belowMs: 400 },
    })
    // Part a, applied whole, was forgotten once claimed.
    b.nextMs = Number.POSITIVE_INFINITY
    expect(tracker.claim()).toEqual({ range: { from: 4, to: 5, minTs: T + 4, maxTs: T + 5 } })
    tracker.end(true, [a, b])
    expect(tracker.claim()).toBeUndefined()
  })

  it('tracks nothing of a partition once a batch of it failed, until every batch begun before has ended', () => {
    const tracker = createAppliedTracker()
    const p = trackedPart()
    trackRecord(p, 0, T, 100)
    tracker.begin()
    tracker.begin()
    tracker.add(p)
    tracker.end(false, [p])
    const q = trackedPart()
    trackRecord(q, 1, T, 200)
    tracker.add(q) // the later batch's: its records come again too
    expect(tracker.claim()).toBeUndefined()
    tracker.end(false, [q])
    tracker.begin()
    tracker.add(p)
    expect(tracker.claim()).toEqual({ tail: { from: 0, to: 0, minTs: T, maxTs: T, belowMs: 100 } })
  })
})

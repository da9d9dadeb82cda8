import { describe, expect, it } from 'vitest'
import { BACKWARDS_WARN_MS, backwardsWatch, eventTimeMs, inTimeOrder } from './time-order.ts'

describe('inTimeOrder', () => {
  it('sorts oldest first, keeps ties in their order and puts untimed items last', () => {
    const items = [
      { id: 'u1', ms: undefined },
      { id: 'c', ms: 30 },
      { id: 'b1', ms: 20 },
      { id: 'u2', ms: undefined },
      { id: 'b2', ms: 20 },
      { id: 'a', ms: 10 },
    ]
    expect(inTimeOrder(items).map((i) => i.id)).toEqual(['a', 'b1', 'b2', 'c', 'u1', 'u2'])
    expect(items[0]!.id).toBe('u1')
  })
})

describe('eventTimeMs', () => {
  it('reads publishedAt with an offset, and nothing from a missing or unreadable one', () => {
    expect(eventTimeMs({ publishedAt: '2020-03-02T10:00:00+01:00' })).toBe(Date.parse('2020-03-02T09:00:00Z'))
    expect(eventTimeMs({ headline: 'x' })).toBeUndefined()
    expect(eventTimeMs({ publishedAt: 'yesterday' })).toBeUndefined()
  })
})

describe('backwardsWatch', () => {
  it('tells a time more than the grace behind the newest seen, and takes a step back within it', () => {
    const w = backwardsWatch()
    expect(w.see(1_000_000_000)).toBeUndefined()
    expect(w.see(1_000_000_000 - BACKWARDS_WARN_MS)).toBeUndefined()
    expect(w.see(undefined)).toBeUndefined()
    expect(w.see(1_000_000_000 - BACKWARDS_WARN_MS - 1)).toEqual({
      ms: 1_000_000_000 - BACKWARDS_WARN_MS - 1,
      behindOf: 1_000_000_000,
    })
    expect(w.see(1_000_060_000)).toBeUndefined()
    expect(w.see(1_000_000_000)).toBeUndefined()
  })
})

import { describe, expect, it } from 'vitest'
import { runAhead } from './event-time.ts'

describe('runAhead', () => {
  it('is 0 for times in order, and the largest lead of a time over a later one otherwise', () => {
    expect(runAhead([])).toBe(0)
    expect(runAhead([1, 2, 2, 5])).toBe(0)
    expect(runAhead([10, 3, 7, 1, 20])).toBe(9)
    expect(runAhead([5, 100, 50, 99])).toBe(50)
  })
})

import { describe, expect, it } from 'vitest'
import { bornCandidateMs } from './namespace-born.ts'

const MIN = 60_000
const T0 = Date.UTC(2026, 2, 2, 8)
const GRACE = 10 * MIN
const at = (...offsetsMin: number[]) => offsetsMin.map((m) => ({ eventMs: T0 + m * MIN }))

describe('bornCandidateMs', () => {
  it("is a run's earliest event, the earliest over the runs", () => {
    expect(bornCandidateMs([at(5, 0, 3)], GRACE)).toBe(T0)
    expect(bornCandidateMs([at(30, 32), at(12, 14), []], GRACE)).toBe(T0 + 12 * MIN)
  })

  it("is no earlier than a run's newest event minus the grace: an old straggler does not date the namespace back", () => {
    // Late in any indicator that got the newer events with it.
    expect(bornCandidateMs([at(-180, 60, 61)], GRACE)).toBe(T0 + 51 * MIN)
  })

  it('is undefined for no contribution', () => {
    expect(bornCandidateMs([], GRACE)).toBeUndefined()
    expect(bornCandidateMs([[], []], GRACE)).toBeUndefined()
  })
})

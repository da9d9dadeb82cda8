import { describe, expect, it } from 'vitest'
import { createUnansweredClaims } from './unanswered-claims.ts'

describe('unanswered claims', () => {
  it('tells a record whose claim went unanswered once, then forgets it', () => {
    const claims = createUnansweredClaims()
    claims.remember(['raw/0/1', 'raw/0/2'])
    expect([claims.answered('raw/0/1'), claims.answered('raw/0/1'), claims.answered('raw/0/3')]).toEqual([
      true,
      false,
      false,
    ])
    expect(claims.size).toBe(1)
  })
  it('keeps at most `max` records, forgetting the longest unanswered first', () => {
    const claims = createUnansweredClaims(2)
    claims.remember(['raw/0/1', 'raw/0/2'])
    // raw/0/1 unanswered again: now the newest.
    claims.remember(['raw/0/1', 'raw/0/3'])
    expect(claims.size).toBe(2)
    expect(['raw/0/1', 'raw/0/2', 'raw/0/3'].map((o) => claims.answered(o))).toEqual([true, false, true])
  })
})

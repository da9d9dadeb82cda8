import { describe, expect, it } from 'vitest'
import { matchesScope, ScopeFilter } from './scope-filter.ts'

describe('matchesScope', () => {
  const cn = { kind: 'region' as const, id: 'CN' }

  it('matches *, kind wildcards and exact ids (case-insensitively)', () => {
    expect(matchesScope(['*'], cn)).toBe(true)
    expect(matchesScope(['region:*'], cn)).toBe(true)
    expect(matchesScope(['commodity:*'], cn)).toBe(false)
    expect(matchesScope(['region:US', 'region:cn'], cn)).toBe(true)
    expect(matchesScope(['region:US'], cn)).toBe(false)
  })

  it('keeps wildcards off the folded "other" scope unless it is named', () => {
    const other = { kind: 'region' as const, id: 'other' }
    expect(matchesScope(['*', 'region:*'], other)).toBe(false)
    expect(matchesScope(['region:other'], other)).toBe(true)
  })

  it('lets wildcards take the folded "other" scope when asked (a reader of alerts already raised)', () => {
    const other = { kind: 'region' as const, id: 'other' }
    const take = { wildcardsTakeOther: true }
    expect(matchesScope(['region:*'], other, take)).toBe(true)
    expect(matchesScope(['*'], other, take)).toBe(true)
    expect(matchesScope(['commodity:*'], other, take)).toBe(false)
    expect(matchesScope(['region:OTHER'], other, take)).toBe(true)
    expect(matchesScope(['region:*'], other, { wildcardsTakeOther: false })).toBe(false)
    // Every other scope is matched as without it.
    expect(matchesScope(['region:cn'], cn, take)).toBe(true)
    expect(matchesScope(['region:US'], cn, take)).toBe(false)
  })
})

describe('ScopeFilter', () => {
  it('accepts the three forms, defaults to *, and refuses anything else', () => {
    expect(ScopeFilter.parse(undefined)).toEqual(['*'])
    expect(ScopeFilter.safeParse(['*', 'global:all', 'sector:*', 'entity:BRK.B']).success).toBe(true)
    for (const bad of [
      'region',
      'country:US',
      'region:',
      'region:C N',
      '',
      'region:C*',
      'commodity:*earths',
    ]) {
      expect(ScopeFilter.safeParse([bad]).success, bad).toBe(false)
    }
    expect(ScopeFilter.safeParse([]).success).toBe(false)
  })
})

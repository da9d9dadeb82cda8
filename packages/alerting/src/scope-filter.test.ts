import { describe, expect, it } from 'vitest'
import { matchesScope, ScopeFilter, scopeFiltersMeet, scopeIdNamed, scopeIdsMatch } from './scope-filter.ts'

describe('matchesScope', () => {
  const cn = { kind: 'region' as const, id: 'CN' }

  it('matches *, kind wildcards and exact ids (a region id in any case)', () => {
    expect(matchesScope(['*'], cn)).toBe(true)
    expect(matchesScope(['region:*'], cn)).toBe(true)
    expect(matchesScope(['commodity:*'], cn)).toBe(false)
    expect(matchesScope(['region:US', 'region:cn'], cn)).toBe(true)
    expect(matchesScope(['region:US'], cn)).toBe(false)
  })

  it("names one stored id for each entry of the scorer's kinds, in the case it writes; entities in any case", () => {
    // Entity ids compared as written (fa870c2): a desk naming entity:tsla got none of TSLA's alerts, silently.
    const tsla = { kind: 'entity' as const, id: 'TSLA' }
    expect([matchesScope(['entity:tsla'], tsla), matchesScope(['entity:Tsla'], tsla)]).toEqual([true, true])
    expect(matchesScope(['entity:tslaa'], tsla)).toBe(false)
    expect(matchesScope(['commodity:RARE_EARTHS'], { kind: 'commodity', id: 'rare_earths' })).toBe(true)
    expect(matchesScope(['sector:Autos'], { kind: 'sector', id: 'autos' })).toBe(true)
    expect(matchesScope(['global:ALL'], { kind: 'global', id: 'all' })).toBe(true)
    expect(matchesScope(['region:Other'], { kind: 'region', id: 'other' })).toBe(true)
    expect(matchesScope(['commodity:OTHER'], { kind: 'commodity', id: 'other' })).toBe(true)
    // The kind as written: no prefix of another kind, no kind in another case.
    expect(matchesScope(['region:cn'], { kind: 'entity', id: 'CN' })).toBe(false)
    expect(matchesScope(['Region:CN'], cn)).toBe(false)
    expect([scopeIdNamed('region', 'cn'), scopeIdNamed('entity', 'iShares')]).toEqual(['CN', 'iShares'])
    expect([scopeIdsMatch('entity', 'ishares', 'iShares'), scopeIdsMatch('region', 'cn', 'cn')]).toEqual([
      true,
      false,
    ])
    expect(scopeFiltersMeet(['entity:abc'], ['entity:ABC'])).toBe(true)
    expect(scopeFiltersMeet(['entity:abc'], ['entity:abd'])).toBe(false)
    expect(scopeFiltersMeet(['region:cn'], ['region:CN'])).toBe(true)
  })

  it('matches an entity id with inner spaces, as the watchlist may name one', () => {
    const berkshire = { kind: 'entity' as const, id: 'Berkshire Hathaway' }
    const filter = ScopeFilter.parse(['entity:Berkshire Hathaway'])
    expect(matchesScope(filter, berkshire)).toBe(true)
    expect(matchesScope(filter, { kind: 'entity', id: 'Berkshire' })).toBe(false)
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
    expect(
      ScopeFilter.safeParse(['*', 'global:all', 'sector:*', 'entity:BRK.B', 'entity:Berkshire Hathaway'])
        .success,
    ).toBe(true)
    for (const bad of [
      'region',
      'country:US',
      'region:',
      'entity: Berkshire',
      'entity:Berkshire *',
      '',
      'region:C*',
      'commodity:*earths',
    ]) {
      expect(ScopeFilter.safeParse([bad]).success, bad).toBe(false)
    }
    expect(ScopeFilter.safeParse([]).success).toBe(false)
  })
})

import { describe, expect, it } from 'vitest'
import type { Contribution } from './contributions.ts'
import type { FoldedContribution } from './indicator-store.ts'
import { admitScopes, foldRareScopes, OTHER_SCOPE_ID, scopeCandidates } from './scope-cap.ts'

const HOUR = 3_600_000
const c = (headlineId: string, id: string, eventMs = 0): Contribution => ({
  dimension: 'tariff',
  scope: { kind: 'region', id },
  headlineId,
  eventMs,
  value: 0,
  weight: 1,
  sign: 0,
})

describe('scope cap', () => {
  it('orders candidates by mentions, then id', () => {
    const cands = scopeCandidates([c('1', 'CN', 5), c('2', 'CN', 9), c('1', 'US'), c('3', 'BR')])
    expect(cands.get('region')).toEqual([
      { id: 'CN', newestMs: 9, mentions: 2 },
      { id: 'BR', newestMs: 0, mentions: 1 },
      { id: 'US', newestMs: 0, mentions: 1 },
    ])
  })

  it('admits up to the cap, keeps admitted scopes, always admits other', () => {
    const registry = new Map<string, number>()
    const cand = (id: string, newestMs = 0) => ({ id, newestMs, mentions: 1 })
    expect(
      admitScopes(registry, [cand('CN'), cand('US'), cand('BR'), cand(OTHER_SCOPE_ID)], 2, HOUR),
    ).toEqual([true, true, false, true])
    expect(admitScopes(registry, [cand('US', 10), cand('DE')], 2, HOUR)).toEqual([true, false])
    expect(registry.get('US')).toBe(10)
  })

  it('frees the places of scopes not seen within the retention', () => {
    const registry = new Map([
      ['CN', 0],
      ['US', 2 * HOUR],
    ])
    expect(admitScopes(registry, [{ id: 'DE', newestMs: 2 * HOUR, mentions: 1 }], 2, HOUR)).toEqual([true])
    expect([...registry.keys()].sort()).toEqual(['DE', 'US'])
  })

  it('folds rare scopes into other, once per headline, reporting each folded contribution by its own scope', () => {
    const reported: FoldedContribution[] = []
    const folded = foldRareScopes(
      [c('1', 'CN'), c('1', 'XX'), c('1', 'YY'), c('2', 'YY')],
      (s) => s.id === 'CN',
      reported,
    )
    expect(folded.map((x) => `${x.headlineId}:${x.scope.id}`)).toEqual(['1:CN', '1:other', '2:other'])
    expect(reported.map((x) => `${x.dimension}|${x.headlineId}:${x.scope.id}`)).toEqual([
      'tariff|1:XX',
      'tariff|1:YY',
      'tariff|2:YY',
    ])
  })
})

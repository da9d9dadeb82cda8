import type { ScoredHeadline } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import { contributionProblem, contributionsOf, scopesOf } from './contributions.ts'

function headline(overrides: Partial<ScoredHeadline> = {}): ScoredHeadline {
  return {
    id: 'h1',
    source: 'wire',
    headline: 'US raises tariffs on Chinese steel',
    publishedAt: '2025-04-02T10:00:00.000Z',
    ingestedAt: '2025-04-02T10:00:01.000Z',
    truncated: false,
    scores: {
      tariff: { score: -0.8, relevance: 0.9, confidence: 0.7, label: 'negative' },
      supplyChain: { score: 0, relevance: 0, confidence: 0, label: null },
      market: { score: -0.2, label: 'neutral' },
      uncertainty: 0.4,
    },
    events: [],
    entities: { regions: ['US', 'CN', 'CN'], commodities: ['steel'], sectors: [], companies: [] },
    explanation: [],
    scorerVersion: 's1',
    scoredAt: '2025-04-02T10:00:02.000Z',
    ...overrides,
  }
}

describe('contributionsOf', () => {
  it('gives one contribution per relevant dimension and distinct scope, by event time', () => {
    const cs = contributionsOf(headline())
    expect(scopesOf(headline())).toEqual([
      { kind: 'global', id: 'all' },
      { kind: 'region', id: 'US' },
      { kind: 'region', id: 'CN' },
      { kind: 'commodity', id: 'steel' },
    ])
    // supplyChain has label null: skipped. 3 dimensions × 4 scopes.
    expect(cs).toHaveLength(12)
    expect(cs.some((c) => c.dimension === 'supplyChain')).toBe(false)
    const eventMs = Date.parse('2025-04-02T10:00:00.000Z')
    expect(cs.every((c) => c.eventMs === eventMs && c.headlineId === 'h1')).toBe(true)
    const global = cs.filter((c) => c.scope.kind === 'global')
    expect(global).toEqual([
      {
        dimension: 'tariff',
        value: -0.8,
        weight: 0.9,
        sign: -1,
        scope: { kind: 'global', id: 'all' },
        headlineId: 'h1',
        eventMs,
      },
      {
        dimension: 'market',
        value: -0.2,
        weight: 1,
        sign: 0,
        scope: { kind: 'global', id: 'all' },
        headlineId: 'h1',
        eventMs,
      },
      {
        dimension: 'uncertainty',
        value: 0.4,
        weight: 1,
        sign: 1,
        scope: { kind: 'global', id: 'all' },
        headlineId: 'h1',
        eventMs,
      },
    ])
  })

  it('maps watchlist companies to the entity scope kind', () => {
    const cs = contributionsOf(
      headline({ entities: { regions: [], commodities: [], sectors: ['autos'], companies: ['Tesla'] } }),
    )
    expect(new Set(cs.map((c) => `${c.scope.kind}:${c.scope.id}`))).toEqual(
      new Set(['global:all', 'sector:autos', 'entity:Tesla']),
    )
  })
})

describe('contributionProblem', () => {
  const ok = contributionsOf(headline())[0]!

  it('takes weights in [0, 1] and values in [-1, 1], bounds included, and names any other (1e308 overflowed the sums)', () => {
    for (const c of [ok, { ...ok, weight: 0, value: -1 }, { ...ok, weight: 1, value: 1 }])
      expect(contributionProblem(c)).toBeUndefined()
    expect(contributionProblem({ ...ok, weight: 1e308 })).toBe('weight 1e+308 is not a number in [0, 1]')
    expect(contributionProblem({ ...ok, weight: -0.1 })).toBe('weight -0.1 is not a number in [0, 1]')
    expect(contributionProblem({ ...ok, weight: Number.NaN })).toBe('weight NaN is not a number in [0, 1]')
    expect(contributionProblem({ ...ok, value: 1e308 })).toBe('value 1e+308 is not a number in [-1, 1]')
    expect(contributionProblem({ ...ok, value: Number.NEGATIVE_INFINITY })).toBe(
      'value -Infinity is not a number in [-1, 1]',
    )
  })

  it('takes event times a Date holds, ±8.64e15 ms included, and names any past them (both stores read them as invalid time)', () => {
    for (const eventMs of [8.64e15, -8.64e15, 0])
      expect(contributionProblem({ ...ok, eventMs })).toBeUndefined()
    expect(contributionProblem({ ...ok, eventMs: 8.64e15 + 1 })).toBe(
      'event time 8640000000000001 is past what a Date holds (±8640000000000000 ms)',
    )
    expect(contributionProblem({ ...ok, eventMs: -9e15 })).toBe(
      'event time -9000000000000000 is past what a Date holds (±8640000000000000 ms)',
    )
    expect(contributionProblem({ ...ok, eventMs: Number.NaN })).toBe('event time NaN is not finite')
  })
})

import type { ScoredHeadline } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import { createHeadlineMemory } from './headline-memory.ts'

const headline = (id: string, regions: string[]): ScoredHeadline =>
  ({
    id,
    entities: { regions, commodities: [], sectors: [], companies: [] },
    scorerVersion: 'v1',
  }) as unknown as ScoredHeadline

describe('headline memory', () => {
  it('keeps the last N headlines per scope, once each, and the most recently active scopes', () => {
    const m = createHeadlineMemory({ maxScopes: 3, perScope: 2 })
    m.add(headline('a', ['CN']))
    m.add(headline('b', ['CN']))
    m.add(headline('b', ['CN'])) // a redelivery
    m.add(headline('c', ['CN']))
    const ids = (kind: 'region' | 'global', id: string) => m.evidence('tariff', { kind, id }).map((h) => h.id)
    expect(ids('region', 'CN')).toEqual(['b', 'c'])
    expect(ids('global', 'all')).toEqual(['b', 'c'])
    m.add(headline('d', ['US']))
    m.add(headline('e', ['EU'])) // four scopes now: CN, the oldest touched, goes
    expect(m.size()).toBe(3)
    expect(ids('region', 'CN')).toEqual([])
    expect(ids('region', 'EU')).toEqual(['e'])
    expect(m.scorerVersion()).toBe('v1')
  })
})

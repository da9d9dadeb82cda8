import { describe, expect, it } from 'vitest'
import { createHeadlineMemory } from './headline-memory.ts'
import { cnHeadline } from './test-handler.ts'

const T0 = Date.parse('2026-03-02T08:00:00Z')
const MIN = 60_000
const CN = { kind: 'region' as const, id: 'CN' }

describe('headline memory', () => {
  it('keeps the last N headlines per scope and dimension, once each, and the most recently active scopes', () => {
    const m = createHeadlineMemory({ maxScopes: 3, perScope: 2 })
    m.add(cnHeadline('a', T0, { tariff: -0.8 }))
    m.add(cnHeadline('b', T0 + MIN, { tariff: -0.8 }))
    m.add(cnHeadline('b', T0 + MIN, { tariff: -0.8 })) // a redelivery
    m.add(cnHeadline('c', T0 + 2 * MIN, { tariff: -0.8 }))
    const ids = (kind: 'region' | 'global', id: string) => m.evidence('tariff', { kind, id }).map((h) => h.id)
    expect(ids('region', 'CN')).toEqual(['b', 'c'])
    expect(ids('global', 'all')).toEqual(['b', 'c'])
    m.add({
      ...cnHeadline('d', T0, { tariff: -0.8 }),
      entities: { ...cnHeadline('d', T0, { tariff: -0.8 }).entities, regions: ['US'] },
    })
    m.add({
      ...cnHeadline('e', T0, { tariff: -0.8 }),
      entities: { ...cnHeadline('e', T0, { tariff: -0.8 }).entities, regions: ['EU'] },
    })
    // Four scopes now (global, CN, US, EU): CN, the oldest touched, goes.
    expect(m.size()).toBe(3)
    expect(ids('region', 'CN')).toEqual([])
    expect(ids('region', 'EU')).toEqual(['e'])
  })

  it("keeps a busy scope's tariff headlines as evidence while newer headlines about other dimensions come", () => {
    const m = createHeadlineMemory({ maxScopes: 2_000, perScope: 20 })
    m.add(cnHeadline('tariff-1', T0, { tariff: -0.8 }))
    for (let i = 0; i < 25; i++)
      m.add(cnHeadline(`market-${i}`, T0 + (i + 1) * MIN, { tariff: null, market: 0.5 }))
    expect(m.evidence('tariff', CN).map((h) => h.id)).toEqual(['tariff-1'])
    // Every headline is about market (its tone): that list holds the last 20, the tariff one gone from it.
    const market = m.evidence('market', CN).map((h) => h.id)
    expect(market).toHaveLength(20)
    expect(market[0]).toBe('market-5')
  })

  it("keeps the evidence projection of a headline, not its body or other dimensions' cues", () => {
    const m = createHeadlineMemory({ maxScopes: 10, perScope: 5 })
    m.add(cnHeadline('long', T0, { tariff: -0.8, body: 'x'.repeat(20_000) }))
    const [e] = m.evidence('tariff', CN)
    expect(e).toEqual({
      id: 'long',
      headline: 'China headline long',
      publishedAtMs: T0,
      ingestedAtMs: expect.any(Number),
      scorerVersion: 'scorer-test',
      value: -0.8,
      relevance: 0.9,
      cues: ['raises tariffs'],
    })
    expect(JSON.stringify(m.evidence('tariff', CN)).length).toBeLessThan(500)
    expect(m.evidence('supplyChain', CN)).toEqual([]) // not about supply chains
  })
})

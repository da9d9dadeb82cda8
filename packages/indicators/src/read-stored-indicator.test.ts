import { describe, expect, it } from 'vitest'
import type { Contribution } from './contributions.ts'
import { resolveIndicatorConfig } from './indicator-config.ts'
import { applyContributions, createIndicatorState } from './indicator-state.ts'
import type { WithheldIndicator } from './indicator-store.ts'
import { readStoredIndicator } from './read-stored-indicator.ts'

const MIN = 60_000
const T0 = Date.UTC(2026, 2, 2, 8)
const config = resolveIndicatorConfig()
const target = { dimension: 'tariff' as const, scope: { kind: 'region' as const, id: 'CN' } }
const c = (headlineId: string, eventMs: number): Contribution => ({
  ...target,
  headlineId,
  eventMs,
  value: -0.5,
  weight: 1,
  sign: -1,
})

describe('readStoredIndicator', () => {
  it('leaves out a state whose update breaks the IndicatorUpdate contract (sums that are no finite number), naming the fields; the next apply repairs it', () => {
    const state = createIndicatorState(config)
    applyContributions(state, [c('a', T0 - MIN)], 1, config)
    // As Redis edited by hand gives it (the stores refuse a contribution that would overflow the sums).
    state.sumW = state.sumW.map(() => Number.POSITIVE_INFINITY)
    state.sumWX = state.sumWX.map(() => Number.POSITIVE_INFINITY)
    const withheld: WithheldIndicator[] = []
    const read = { refLimitMs: T0, storedRef: String(state.refMs), withheld }
    expect(readStoredIndicator(state, target, T0, config, read)).toBeUndefined()
    expect(withheld).toEqual([
      {
        ...target,
        reason: 'invalid_state',
        stored: String(T0 - MIN),
        problem: expect.stringMatching(/^mean\.15m: Invalid input: expected number, received NaN; /),
      },
    ])
    const out = applyContributions(state, [c('b', T0)], 2, config)
    expect(out.damagedFields?.map((d) => d.field)).toEqual(['w1', 'x1', 'w2', 'x2', 'w3', 'x3'])
    const none: WithheldIndicator[] = []
    expect(readStoredIndicator(state, target, T0, config, { ...read, withheld: none })).toMatchObject({
      count: 2,
      weight: { '15m': 1 },
    })
    expect(none).toEqual([])
  })
})

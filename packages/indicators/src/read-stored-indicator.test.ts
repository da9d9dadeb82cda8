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
    const read = {
      refLimitMs: T0,
      storedRef: String(state.refMs),
      withheld,
      bornMs: Number.NEGATIVE_INFINITY,
    }
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

  it("gives an indicator read before its namespace's born time is known a valid update, buzz 0: no reading, not a spike", () => {
    const state = createIndicatorState(config)
    // Six headlines an hour over the last two hours: against a week of zeros (every bucket counted), a spike.
    for (let i = 0; i < 12; i++)
      applyContributions(state, [c(`h${i}`, T0 - 115 * MIN + i * 10 * MIN)], 1, config)
    const read = (bornMs: number) => {
      const withheld: WithheldIndicator[] = []
      const u = readStoredIndicator(state, target, T0, config, {
        refLimitMs: T0,
        storedRef: '',
        withheld,
        bornMs,
      })
      return { buzz: u?.buzz, withheld }
    }
    expect(read(Number.NEGATIVE_INFINITY)).toEqual({ buzz: expect.closeTo(5.96, 2), withheld: [] })
    // None stored (a loss took it with the state, until the next apply sets it): no reading.
    expect(read(Number.POSITIVE_INFINITY)).toEqual({ buzz: 0, withheld: [] })
    // Born with the state, two hours ago: one whole hour lies behind the buzz window, too little.
    expect(read(T0 - 2 * 60 * MIN)).toEqual({ buzz: 0, withheld: [] })
  })
})

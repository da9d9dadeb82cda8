import { describe, expect, it } from 'vitest'
import { contractProblem, cutForLog } from './contract-problem.ts'
import { Alert, IndicatorUpdate } from './schemas.ts'
import { ALERTS, UPDATES } from './test-fixtures.ts'

describe('contractProblem', () => {
  const alertProblem = contractProblem(Alert)
  const updateProblem = contractProblem(IndicatorUpdate)

  it('finds nothing wrong with records that meet the strict schema', () => {
    for (const alert of ALERTS) expect(alertProblem(alert)).toBeUndefined()
    for (const update of UPDATES) expect(updateProblem(update)).toBeUndefined()
  })

  it('names every field of a record that breaks it', () => {
    const alert = { ...(ALERTS[0] as Alert), value: Number.NaN, rule: 'r'.repeat(65) }
    const problem = alertProblem(alert)
    expect(problem).toMatch(/^rule: /)
    expect(problem).toMatch(/value: /)
    const update = { ...(UPDATES[0] as IndicatorUpdate), scope: { kind: 'region', id: 'x'.repeat(65) } }
    expect(updateProblem(update as IndicatorUpdate)).toMatch(/^scope\.id: Too big/)
  })
})

describe('cutForLog', () => {
  it('keeps short text and cuts long text with its length', () => {
    expect(cutForLog('abc', 3)).toBe('abc')
    expect(cutForLog('abcd', 3)).toBe('abc… (4 characters)')
  })
})

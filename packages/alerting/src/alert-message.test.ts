import { describe, expect, it } from 'vitest'
import { formatPair, headlineMessage } from './alert-message.ts'

describe('alert messages', () => {
  it('word a headline by its side and tell a value just past the line from the line', () => {
    const m = { dimension: 'tariff' as const, scope: { kind: 'region' as const, id: 'CN' }, headline: 'x' }
    expect(headlineMessage({ ...m, value: -0.8012, threshold: -0.8 })).toBe(
      'Tariff escalation on CN: "x" scored -0.801 (threshold -0.8)',
    )
    expect(headlineMessage({ ...m, value: 0.86, threshold: 0.8 })).toBe(
      'Tariff relief on CN: "x" scored 0.86 (threshold 0.8)',
    )
    expect(formatPair(0.30004, 0.3)).toEqual(['0.3', '0.3'])
  })
})

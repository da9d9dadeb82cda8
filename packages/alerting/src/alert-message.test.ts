import { describe, expect, it } from 'vitest'
import { formatPair, headlineMessage, quoteHeadline } from './alert-message.ts'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'

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

  it('shortens a long headline without cutting a character in two', () => {
    const max = ALERTING_DEFAULTS.messageHeadlineChars
    // An emoji (two UTF-16 units) straddling the cut: half of it left a lone surrogate, which encodes as
    // U+FFFD (or an invalid \ud83d escape) in the alert on Kafka and the webhook body.
    const text = `${'a'.repeat(max - 2)}🚢 ships halted`
    const quoted = quoteHeadline(text)
    expect(quoted.isWellFormed()).toBe(true)
    expect(quoted).toBe(`"${'a'.repeat(max - 2)}…"`)
    // Up to the limit the text is kept whole, a pair at its end included.
    expect(quoteHeadline(`${'a'.repeat(max - 2)}🚢`)).toBe(`"${'a'.repeat(max - 2)}🚢"`)
  })
})

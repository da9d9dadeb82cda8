import { loadConfig, MAX_DURATION_MS } from '@tradepulse/platform'
import { numberNotations } from '@tradepulse/platform/config-test-support'
import { describe, expect, it } from 'vitest'
import { ScorerConfig } from './config.ts'

describe('ScorerConfig: SCORER_ALIGN_AHEAD_MS', () => {
  it('refuses a bound past the longest duration a date can be moved by, naming it', () => {
    expect(() => loadConfig(ScorerConfig, { SCORER_ALIGN_AHEAD_MS: '9007199254740991' })).toThrow(
      `invalid configuration:\n  SCORER_ALIGN_AHEAD_MS: at most ${MAX_DURATION_MS} ms (about 265,000 years)`,
    )
    expect(loadConfig(ScorerConfig, { SCORER_ALIGN_AHEAD_MS: '60000' }).SCORER_ALIGN_AHEAD_MS).toBe(60_000)
    expect(() => loadConfig(ScorerConfig, { SCORER_ALIGN_AHEAD_MS: '999' })).toThrow(/SCORER_ALIGN_AHEAD_MS/)
  })
})

describe('ScorerConfig: numeric variables', () => {
  it('reads each in decimal digits only, its own as the shared ones, naming one given otherwise', () => {
    // The schema alone took 1e4, 0x10 and +5 (Number(), z.coerce): only loadConfig's check of the text
    // besides refused them.
    const { numeric, taken } = numberNotations(ScorerConfig)
    expect(numeric).toEqual(expect.arrayContaining(['SCORER_ALIGN_AHEAD_MS']))
    expect(taken).toEqual([])
    expect(() => loadConfig(ScorerConfig, { SCORER_ALIGN_AHEAD_MS: '6e4' })).toThrow(
      'invalid configuration:\n  SCORER_ALIGN_AHEAD_MS: a whole number in decimal digits (0-9) only (got "6e4")',
    )
  })
})

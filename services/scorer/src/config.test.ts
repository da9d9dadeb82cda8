import { loadConfig, MAX_DURATION_MS } from '@tradepulse/platform'
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

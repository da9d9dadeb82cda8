import { loadConfig, MAX_DURATION_MS } from '@tradepulse/platform'
import { describe, expect, it } from 'vitest'
import { AggregatorConfig } from './config.ts'

describe('AggregatorConfig: durations that set no timer', () => {
  // The grace and the bound ahead of the clock move event times, each read back as a date.
  it.each(['AGGREGATOR_GRACE_MS', 'AGGREGATOR_MAX_AHEAD_MS'])(
    'refuses %s past the longest duration a date can be moved by, naming it',
    (name) => {
      expect(() => loadConfig(AggregatorConfig, { [name]: '9007199254740991' })).toThrow(
        `invalid configuration:\n  ${name}: at most ${MAX_DURATION_MS} ms (about 265,000 years)`,
      )
      expect(
        loadConfig(AggregatorConfig, { [name]: String(MAX_DURATION_MS) })[name as 'AGGREGATOR_GRACE_MS'],
      ).toBe(MAX_DURATION_MS)
    },
  )
  it('keeps the lower bound of the grace', () => {
    expect(() => loadConfig(AggregatorConfig, { AGGREGATOR_GRACE_MS: '999' })).toThrow(/AGGREGATOR_GRACE_MS/)
  })
})

describe('AggregatorConfig: AGGREGATOR_PUBLISH_LARGE_CHANGE', () => {
  it('refuses a shift larger than 2, which means in [-1, 1] never make, saying why; 2 turns it off', () => {
    expect(() => loadConfig(AggregatorConfig, { AGGREGATOR_PUBLISH_LARGE_CHANGE: '50' })).toThrow(
      'invalid configuration:\n  AGGREGATOR_PUBLISH_LARGE_CHANGE: at most 2 (2: off): means are in [-1, 1], so no shift is larger',
    )
    expect(
      loadConfig(AggregatorConfig, { AGGREGATOR_PUBLISH_LARGE_CHANGE: '2' }).AGGREGATOR_PUBLISH_LARGE_CHANGE,
    ).toBe(2)
    expect(loadConfig(AggregatorConfig, {}).AGGREGATOR_PUBLISH_LARGE_CHANGE).toBe(0.2)
  })
})

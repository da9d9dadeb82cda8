import { loadConfig, MAX_DURATION_MS } from '@tradepulse/platform'
import { numberNotations } from '@tradepulse/platform/config-test-support'
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

describe('AggregatorConfig: AGGREGATOR_PUBLISH_LARGE_CHANGE of 0', () => {
  it('refuses 0, which made every change large (the throttle off), naming the range and what publishes every batch', () => {
    for (const value of ['0', '0.0', '0.000'])
      expect(() => loadConfig(AggregatorConfig, { AGGREGATOR_PUBLISH_LARGE_CHANGE: value }), value).toThrow(
        `invalid configuration:\n  AGGREGATOR_PUBLISH_LARGE_CHANGE: above 0 and at most 2 (0 counted every change as large: AGGREGATOR_PUBLISH_INTERVAL_MS=0 publishes every batch; 2 turns this off) (got "${value}")`,
      )
    expect(
      loadConfig(AggregatorConfig, { AGGREGATOR_PUBLISH_LARGE_CHANGE: '0.001' })
        .AGGREGATOR_PUBLISH_LARGE_CHANGE,
    ).toBe(0.001)
  })
})

describe('AggregatorConfig: counts', () => {
  // The README says every count is at most 2147483647: these took any whole number up to 2^53 - 1.
  it.each([
    'AGGREGATOR_MAX_SCOPES_PER_KIND',
    'AGGREGATOR_MAX_CONTRIBUTIONS_PER_CALL',
    'AGGREGATOR_PART_SIZE',
  ])('refuses %s above 2147483647, naming it', (name) => {
    expect(() => loadConfig(AggregatorConfig, { [name]: '2147483648' })).toThrow(
      `invalid configuration:\n  ${name}: at most 2147483647 (a 32-bit integer) (got "2147483648")`,
    )
    // Past 2^53 - 1 zod's own bound speaks too; ours is there.
    expect(() => loadConfig(AggregatorConfig, { [name]: '9007199254740993' })).toThrow(
      `${name}: at most 2147483647 (a 32-bit integer) (got "9007199254740993")`,
    )
    expect(loadConfig(AggregatorConfig, { [name]: '2147483647' })[name as 'AGGREGATOR_PART_SIZE']).toBe(
      2_147_483_647,
    )
    expect(() => loadConfig(AggregatorConfig, { [name]: '0' })).toThrow(new RegExp(`${name}: Too small`))
  })
  it('keeps their defaults', () => {
    const c = loadConfig(AggregatorConfig, {})
    expect([
      c.AGGREGATOR_MAX_SCOPES_PER_KIND,
      c.AGGREGATOR_MAX_CONTRIBUTIONS_PER_CALL,
      c.AGGREGATOR_PART_SIZE,
    ]).toEqual([1_000, 10_000, 2_000])
  })
})

describe('AggregatorConfig: numeric variables', () => {
  it('reads each in decimal digits only, its own as the shared ones, naming one given otherwise', () => {
    // The schema alone took 1e4, 0x10 and +5 (Number(), z.coerce): only loadConfig's check of the text
    // besides refused them.
    const { numeric, taken } = numberNotations(AggregatorConfig)
    expect(numeric).toEqual(
      expect.arrayContaining([
        'AGGREGATOR_GRACE_MS',
        'AGGREGATOR_PART_SIZE',
        'AGGREGATOR_PUBLISH_INTERVAL_MS',
        'AGGREGATOR_PUBLISH_LARGE_CHANGE',
        'AGGREGATOR_PUBLISH_BURST_FACTOR',
        'AGGREGATOR_PUBLISH_RECOVER_MS',
        'AGGREGATOR_PUBLISH_FAILING_MS',
        'AGGREGATOR_MAX_AHEAD_MS',
        'AGGREGATOR_MAX_SCOPES_PER_KIND',
        'AGGREGATOR_MAX_CONTRIBUTIONS_PER_CALL',
      ]),
    )
    expect(taken).toEqual([])
    expect(() =>
      loadConfig(AggregatorConfig, { AGGREGATOR_GRACE_MS: '6e5', AGGREGATOR_PUBLISH_LARGE_CHANGE: '2e-1' }),
    ).toThrow(
      'invalid configuration:\n  AGGREGATOR_GRACE_MS: a whole number in decimal digits (0-9) only (got "6e5")\n  AGGREGATOR_PUBLISH_LARGE_CHANGE: a number in decimal notation (digits, one point) only (got "2e-1")',
    )
  })
})

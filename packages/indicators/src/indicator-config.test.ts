import { describe, expect, it } from 'vitest'
import { GLOBAL_SCOPE } from './contributions.ts'
import { DEFAULT_INDICATOR_CONFIG, type IndicatorConfig, resolveIndicatorConfig } from './indicator-config.ts'
import { applyContributions, createIndicatorState } from './indicator-state.ts'
import { readIndicator } from './read-indicator.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const T0 = Date.parse('2025-06-02T12:00:00Z')

describe('resolveIndicatorConfig', () => {
  it('resolves the default config', () => {
    const c = resolveIndicatorConfig()
    expect(c.halfLives.map((h) => h.label)).toEqual(['15m', '1h', '24h'])
    expect(c.ttlMs).toBe(Math.max(c.coarseRetentionMs, c.dedupRetentionMs))
  })

  it.each<[string, Partial<IndicatorConfig>, RegExp]>([
    // Buzz divides by max(sd, minBuzzSd): a quiet baseline's sd is 0, so 0 gave an infinite buzz.
    ['minBuzzSd 0', { minBuzzSd: 0 }, /minBuzzSd must be a number above 0 \(got 0\)/],
    ['a negative minBuzzSd', { minBuzzSd: -1 }, /minBuzzSd must be a number above 0 \(got -1\)/],
    ['minBuzzSd NaN', { minBuzzSd: Number.NaN }, /minBuzzSd must be a number above 0 \(got NaN\)/],
    // Buzz's z-score against fewer than 2 known buckets: a standard deviation of 0, always.
    [
      'minBuzzBaselineMs of 1 bucket',
      { minBuzzBaselineMs: HOUR },
      /minBuzzBaselineMs must span at least 2 buckets of coarseBucketMs and at most baselineMs \(7200000 to 604800000 ms; got 3600000\)/,
    ],
    [
      'minBuzzBaselineMs past the baseline (buzz never read)',
      { minBuzzBaselineMs: 8 * 24 * HOUR },
      /minBuzzBaselineMs must span .*got 691200000\)/,
    ],
    [
      'minBuzzBaselineMs not whole buckets',
      { minBuzzBaselineMs: 2 * HOUR + MIN },
      /minBuzzBaselineMs must be a multiple of 3600000 ms/,
    ],
    ['a negative priorWeight', { priorWeight: -1 }, /priorWeight must be a number of at least 0 \(got -1\)/],
    ['priorWeight NaN', { priorWeight: Number.NaN }, /priorWeight must be .*\(got NaN\)/],
    [
      'priorWeight Infinity',
      { priorWeight: Number.POSITIVE_INFINITY },
      /priorWeight must be .*\(got Infinity\)/,
    ],
    // A diffusion window of 0 or less counted no headline: diffusion 0 forever.
    [
      'diffusionWindowMs 0',
      { diffusionWindowMs: 0 },
      /diffusionWindowMs must be a whole number of ms above 0/,
    ],
    [
      'a negative diffusionWindowMs',
      { diffusionWindowMs: -MIN },
      /diffusionWindowMs must be a whole number of ms above 0 \(got -60000\)/,
    ],
    [
      'dedupRetentionMs NaN',
      { dedupRetentionMs: Number.NaN },
      /dedupRetentionMs must be a whole number of ms above 0 \(got NaN\)/,
    ],
    [
      'dedupRetentionMs Infinity (ids never forgotten, an infinite key TTL)',
      { dedupRetentionMs: Number.POSITIVE_INFINITY },
      /dedupRetentionMs must be a whole number of ms above 0 \(got Infinity\)/,
    ],
    // The Redis store hands these to PEXPIRE, which refuses a fraction: every apply failed.
    [
      'a fractional graceMs',
      { graceMs: 600_000.5 },
      /graceMs must be a whole number of ms above 0 \(got 600000.5\)/,
    ],
    // Whole ms everywhere, as the store's buckets and expiries need (a fractional window was refused already).
    [
      'a fractional half-life',
      { halfLivesMs: { ...DEFAULT_INDICATOR_CONFIG.halfLivesMs, '1h': HOUR + 0.5 } },
      /halfLivesMs.1h must be a whole number of ms above 0 \(got 3600000.5\)/,
    ],
    [
      'a momentum whose short half-life is the longer',
      { momentum: { short: '24h', long: '1h' } },
      /momentum.short must be a shorter half-life than momentum.long \(got 24h, 86400000 ms, and 1h, 3600000 ms\)/,
    ],
    [
      'a momentum of one half-life against itself',
      { momentum: { short: '1h', long: '1h' } },
      /momentum.short must be a shorter/,
    ],
    [
      'a momentum label that is no half-life of the config (an Object property)',
      { momentum: { short: 'toString', long: '24h' } },
      /momentum.short and momentum.long must be labels of halfLivesMs/,
    ],
    [
      'a baseline of one coarse bucket (its standard deviation is always 0)',
      { baselineMs: HOUR },
      /baselineMs must span at least 2 buckets of coarseBucketMs \(7200000 ms; got 3600000\)/,
    ],
  ])('refuses %s, naming the field', (_, overrides, message) => {
    expect(() => resolveIndicatorConfig(overrides)).toThrow(message)
  })

  it('names every field at fault in one error', () => {
    expect(() => resolveIndicatorConfig({ minBuzzSd: 0, diffusionWindowMs: 0 })).toThrow(
      /^invalid indicator config: diffusionWindowMs .*; minBuzzSd /,
    )
  })

  it('still takes priorWeight 0 (the plain ratio) and the smallest values that make sense', () => {
    const c = resolveIndicatorConfig({
      priorWeight: 0,
      minBuzzSd: 0.01,
      baselineMs: 2 * HOUR,
      minBuzzBaselineMs: 2 * HOUR,
      diffusionWindowMs: MIN,
    })
    const state = createIndicatorState(c)
    const contribution = {
      dimension: 'tariff' as const,
      scope: GLOBAL_SCOPE,
      headlineId: 'h1',
      eventMs: T0,
      value: -0.5,
      weight: 1,
      sign: -1 as const,
    }
    applyContributions(state, [contribution], T0, c)
    const u = readIndicator(state, { dimension: 'tariff', scope: GLOBAL_SCOPE }, T0, c)
    expect(u.mean['1h']).toBe(-0.5)
    expect(u.diffusion).toBe(-1)
    // One headline in the hour against an empty baseline: (1 − 0) / 0.01.
    expect(u.buzz).toBeCloseTo(100)
    expect(DEFAULT_INDICATOR_CONFIG.minBuzzSd).toBe(1)
    // The default minimum (6 h) is past a baseline that short: it is refused, naming it.
    expect(() => resolveIndicatorConfig({ baselineMs: 2 * HOUR })).toThrow(
      /minBuzzBaselineMs must span .*\(7200000 to 7200000 ms; got 21600000\)/,
    )
  })
})

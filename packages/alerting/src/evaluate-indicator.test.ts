import { Alert } from '@tradepulse/contracts'
import { describe, expect, it, vi } from 'vitest'
import type { EvaluationRules } from './alert-candidate.ts'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'
import { evaluateIndicator, evidenceFrom, hysteresisKeysFor } from './evaluate-indicator.ts'
import {
  HysteresisEntry,
  type HysteresisState,
  type HysteresisValue,
  IndicatorReading,
  READING_FIELD,
} from './hysteresis.ts'
import {
  HOUR_MS,
  indicatorUpdate,
  MIN_MS,
  rulesOf,
  scoredHeadline,
  T0,
  type UpdateSpec,
} from './test-fixtures.ts'

const level = {
  id: 'cn_tone',
  kind: 'level',
  dimensions: ['tariff'],
  scopes: ['region:CN'],
  field: 'mean',
  window: '1h',
  direction: 'down',
  threshold: -0.5,
  hysteresis: 0.15,
  severity: 'warning',
  cooldownMs: HOUR_MS,
}

/** Feeds updates in order, carrying the hysteresis state like the service would; returns what fired. */
function run(rules: EvaluationRules, updates: UpdateSpec[]) {
  let state: Record<string, HysteresisValue | null> = {}
  return updates.map((spec, i) => {
    const r = evaluateIndicator(
      rules,
      indicatorUpdate({ asOfMs: T0 + i * MIN_MS, ...spec }),
      state,
      T0 + i * MIN_MS,
    )
    state = { ...state, ...r.state }
    return r.candidates.map((c) => c.alert)
  })
}

const means = (...values: number[]) => values.map((v) => ({ mean: { '15m': 0, '1h': v, '24h': 0 } }))
const fired = (alerts: Alert[][]) => alerts.map((a) => a.length)

describe('evaluateIndicator: level with hysteresis', () => {
  it('fires once on crossing, stays quiet until re-armed past the band, then fires again', () => {
    const alerts = run(rulesOf(level), means(-0.4, -0.55, -0.7, -0.45, -0.36, -0.34, -0.2, -0.5))
    //                                        no    fire   held   in band  in band re-arm  armed  fire
    expect(fired(alerts)).toEqual([0, 1, 0, 0, 0, 0, 0, 1])
    expect(alerts[1]![0]!.message).toBe('Tariff sentiment on CN (1h mean) fell to -0.55, below -0.5')
    expect(alerts[1]![0]).toMatchObject({ direction: 'down', value: -0.55, threshold: -0.5 })
  })

  it('leaves armed a crossing the per-update bound leaves out, so the next update past the line raises it', () => {
    const max = ALERTING_DEFAULTS.maxCandidatesPerEvaluation
    const ids = Array.from({ length: max + 1 }, (_, i) => `cn_tone_${String(i).padStart(3, '0')}`)
    const rules = rulesOf(...ids.map((id) => ({ ...level, id })))
    const first = evaluateIndicator(rules, indicatorUpdate({ asOfMs: T0, mean: { '1h': -0.6 } }), {}, T0)
    expect(first.candidates).toHaveLength(max)
    expect(first.dropped).toBe(1)
    // Still past the line: the rules that fired stay quiet, and the one left out fires now.
    const next = evaluateIndicator(
      rules,
      indicatorUpdate({ asOfMs: T0 + MIN_MS, mean: { '1h': -0.65 } }),
      first.state,
      T0 + MIN_MS,
    )
    expect(next.candidates.map((c) => c.alert.rule)).toEqual([ids[max]])
    expect(next.dropped).toBe(0)
  })

  it('starts a rule edited to another line armed on it, rather than disarmed by the old line', () => {
    const before = rulesOf(level) // line -0.5
    const after = rulesOf({ ...level, threshold: -0.7 })
    const first = evaluateIndicator(before, indicatorUpdate({ asOfMs: T0, mean: { '1h': -0.6 } }), {}, T0)
    expect(first.candidates).toHaveLength(1) // fired, disarmed at -0.5
    // Reloaded with the line at -0.7; the value falls to -0.8: the first crossing of the new line fires.
    const next = evaluateIndicator(
      after,
      indicatorUpdate({ asOfMs: T0 + MIN_MS, mean: { '1h': -0.8 } }),
      first.state,
      T0 + MIN_MS,
    )
    expect(next.candidates.map((c) => c.alert.threshold)).toEqual([-0.7])
  })

  it('mirrors for direction up', () => {
    const rules = rulesOf({ ...level, direction: 'up', threshold: 0.5, hysteresis: 0.1 })
    expect(fired(run(rules, means(0.5, 0.6, 0.41, 0.39, 0.55)))).toEqual([1, 0, 0, 0, 1])
  })

  it('with direction both, watches ±threshold as two lines', () => {
    const rules = rulesOf({ ...level, direction: 'both', threshold: 0.5, hysteresis: 0.1 })
    const alerts = run(rules, means(-0.6, 0.6, 0.7, -0.7))
    expect(alerts.map((a) => a.map((x) => x.direction))).toEqual([['down'], ['up'], [], ['down']])
    expect(alerts[1]![0]!.message).toBe('Tariff sentiment on CN (1h mean) rose to 0.6, above 0.5')
  })

  it('fires on first sight when the value is already past the line', () => {
    expect(fired(run(rulesOf(level), means(-0.8)))).toEqual([1])
  })

  it('does not fire again on a redelivered update', () => {
    const rules = rulesOf(level)
    const update = indicatorUpdate({ mean: { '1h': -0.7 } })
    const first = evaluateIndicator(rules, update, {}, T0)
    const again = evaluateIndicator(rules, update, first.state, T0 + 5_000)
    expect(first.candidates).toHaveLength(1)
    expect(again.candidates).toEqual([])
  })

  it('ignores an update older than the state, leaving the state alone', () => {
    const rules = rulesOf(level)
    const now = evaluateIndicator(rules, indicatorUpdate({ asOfMs: T0, mean: { '1h': -0.7 } }), {}, T0)
    const late = evaluateIndicator(
      rules,
      indicatorUpdate({ asOfMs: T0 - MIN_MS, mean: { '1h': 0 } }),
      now.state,
      T0,
    )
    expect(late).toEqual({ candidates: [], dropped: 0, stale: 0, state: {} })
  })

  it('keeps the state small, serialisable and separate from its input', () => {
    const rules = rulesOf(level)
    const input: HysteresisState = Object.freeze({})
    const r = evaluateIndicator(rules, indicatorUpdate({ mean: { '1h': -0.7 } }), input, T0)
    expect(r.state).toEqual({
      'cn_tone|tariff|region:CN|down|1h mean@-0.5~0.15': {
        armed: false,
        lastValue: -0.7,
        asOfMs: T0,
        count: 10,
      },
      // The line is disarmed: what its re-arming after a silence needs of this update (10 headlines
      // of weight at most 1, all within the last 15 minutes).
      [READING_FIELD]: { asOfMs: T0, count: 10, mean: { '1h': -0.7 }, weight: { '1h': 10 }, exact: false },
    })
    const roundTrip = JSON.parse(JSON.stringify(r.state)) as Record<string, unknown>
    expect(HysteresisEntry.parse(roundTrip['cn_tone|tariff|region:CN|down|1h mean@-0.5~0.15'])).toEqual(
      r.state['cn_tone|tariff|region:CN|down|1h mean@-0.5~0.15'],
    )
    expect(IndicatorReading.parse(roundTrip[READING_FIELD])).toEqual(r.state[READING_FIELD])
    expect(input).toEqual({})
  })

  it('reads other fields and windows', () => {
    const vol = rulesOf({
      ...level,
      field: 'volume',
      window: '15m',
      direction: 'up',
      threshold: 20,
      hysteresis: 5,
    })
    const [alerts] = run(vol, [{ volume: { '15m': 25, '1h': 40, '24h': 90 } }])
    expect(alerts![0]!.message).toBe('Tariff headline 15m volume on CN rose to 25, above 20')
    const diffusion = rulesOf({ ...level, field: 'diffusion', window: undefined, threshold: -0.6 })
    expect(fired(run(diffusion, [{ diffusion: -0.8 }]))).toEqual([1])
  })

  it('skips an update missing the watched window', () => {
    const rules = rulesOf({ ...level, window: '4h' })
    expect(run(rules, means(-0.9))).toEqual([[]])
  })

  it('never fires below the volume floor, but re-arms a fired line there, so the next burst fires', () => {
    const rules = rulesOf({ ...level, minVolume: 5, volumeWindow: '1h' })
    const at = (mean: number, volume: number) => ({
      mean: { '15m': 0, '1h': mean, '24h': 0 },
      volume: { '1h': volume },
    })
    // A burst crosses (fires), the scope goes quiet (thin updates, back in calm), a second burst crosses.
    expect(fired(run(rules, [at(-0.9, 6), at(-0.1, 1), at(-0.8, 6)]))).toEqual([1, 0, 1])
    // Thin and past the line: no alert, and a line that has not fired is not touched.
    expect(fired(run(rules, [at(-0.9, 1), at(-0.9, 2)]))).toEqual([0, 0])
  })

  it('skips scopes below the volume floor without touching their state', () => {
    const rules = rulesOf({ ...level, minVolume: 5, volumeWindow: '1h' })
    const quiet = evaluateIndicator(
      rules,
      indicatorUpdate({ mean: { '1h': -0.9 }, volume: { '1h': 4 } }),
      {},
      T0,
    )
    expect(quiet).toEqual({ candidates: [], dropped: 0, stale: 0, state: {} })
    const busy = evaluateIndicator(
      rules,
      indicatorUpdate({ mean: { '1h': -0.9 }, volume: { '1h': 5 } }),
      {},
      T0,
    )
    expect(busy.candidates).toHaveLength(1)
  })

  it('only watches its dimensions and scopes', () => {
    const rules = rulesOf(level)
    expect(run(rules, [{ dimension: 'supplyChain', mean: { '1h': -0.9 } }])).toEqual([[]])
    expect(run(rules, [{ scope: { kind: 'region', id: 'US' }, mean: { '1h': -0.9 } }])).toEqual([[]])
  })
})

describe('evaluateIndicator: momentum, buzz and uncertainty', () => {
  const momentum = {
    id: 'turn',
    kind: 'momentum_shift',
    dimensions: ['tariff', 'supplyChain'],
    scopes: ['*'],
    threshold: 0.3,
    hysteresis: 0.1,
    severity: 'info',
  }

  it('momentum_shift fires on |momentum| ≥ threshold, either way with direction both', () => {
    const alerts = run(rulesOf(momentum), [{ momentum: 0.2 }, { momentum: -0.35 }, { momentum: 0.4 }])
    expect(alerts.map((a) => a.map((x) => `${x.direction}:${x.threshold}`))).toEqual([
      [],
      ['down:-0.3'],
      ['up:0.3'],
    ])
    expect(alerts[1]![0]!.message).toBe('Tariff sentiment on CN (momentum) fell to -0.35, below -0.3')
  })

  it('momentum_shift honours a one-sided direction', () => {
    const rules = rulesOf({ ...momentum, direction: 'up' })
    expect(fired(run(rules, [{ momentum: -0.9 }, { momentum: 0.9 }]))).toEqual([0, 1])
  })

  const buzz = {
    id: 'buzz',
    kind: 'buzz_spike',
    dimensions: ['supplyChain'],
    scopes: ['commodity:*'],
    threshold: 3,
    hysteresis: 1,
    minVolume: 5,
    severity: 'info',
  }
  const magnets = {
    dimension: 'supplyChain' as const,
    scope: { kind: 'commodity' as const, id: 'rare_earths' },
  }

  it('buzz_spike fires on a z-score spike with enough volume, and re-arms below threshold − hysteresis', () => {
    const alerts = run(rulesOf(buzz), [
      { ...magnets, buzz: 4, volume: { '1h': 3 } },
      { ...magnets, buzz: 4, volume: { '1h': 6 } },
      { ...magnets, buzz: 2.5, volume: { '1h': 6 } },
      { ...magnets, buzz: 1.9, volume: { '1h': 6 } },
      { ...magnets, buzz: 3.2, volume: { '1h': 8 } },
    ])
    expect(fired(alerts)).toEqual([0, 1, 0, 0, 1])
    expect(alerts[1]![0]!.message).toBe(
      'Supply-chain headline buzz z-score on rare earths rose to 4, above 3',
    )
  })

  it('buzz_spike does not fire on the folded "other" scope through a wildcard', () => {
    const other = {
      ...magnets,
      scope: { kind: 'commodity' as const, id: 'other' },
      buzz: 9,
      volume: { '1h': 50 },
    }
    expect(run(rulesOf(buzz), [other])).toEqual([[]])
  })

  it('uncertainty_spike reads the uncertainty mean of its window', () => {
    const rules = rulesOf({
      id: 'unc',
      kind: 'uncertainty_spike',
      source: 'indicator',
      scopes: ['global:all'],
      threshold: 0.4,
      hysteresis: 0.1,
      severity: 'warning',
    })
    const global = { kind: 'global' as const, id: 'all' }
    const alerts = run(rules, [
      { dimension: 'tariff', scope: global, mean: { '1h': 0.9 } },
      { dimension: 'uncertainty', scope: global, mean: { '1h': 0.45 } },
    ])
    expect(fired(alerts)).toEqual([0, 1])
    expect(alerts[1]![0]!.message).toBe('Uncertainty overall (1h mean) rose to 0.45, above 0.4')
  })
})

describe('evaluateIndicator: alert fields', () => {
  const rules = rulesOf(level)

  it('attaches the top evidence headlines pointing the alert’s way, published by asOf', () => {
    const provider = vi.fn(
      evidenceFrom([
        scoredHeadline('mild', { tariff: -0.3, cues: [{ cue: 'frets' }] }),
        scoredHeadline('strong', {
          tariff: -0.9,
          cues: [{ cue: 'imposes tariffs' }, { dimension: 'market', cue: 'x' }],
        }),
        scoredHeadline('easing', { tariff: 0.8 }),
        scoredHeadline('future', { tariff: -1, publishedMs: T0 + MIN_MS }),
        scoredHeadline('middle', { tariff: -0.6 }),
        scoredHeadline('fourth', { tariff: -0.2 }),
      ]),
    )
    const r = evaluateIndicator(rules, indicatorUpdate({ mean: { '1h': -0.6 } }), {}, T0, {
      evidence: provider,
    })
    const alert = r.candidates[0]!.alert
    expect(alert.evidence.map((e) => e.headlineId)).toEqual(['strong', 'middle', 'mild'])
    expect(alert.evidence[0]).toEqual({
      headlineId: 'strong',
      headline: 'headline strong',
      score: -0.9,
      cues: ['imposes tariffs'],
    })
    expect(alert.scorerVersion).toBe('scorer-test')
    expect(provider).toHaveBeenCalledWith('tariff', { kind: 'region', id: 'CN' })
    expect(Alert.parse(alert)).toEqual(alert)
  })

  it('leaves out headlines older than a day, and gives an activity alert its newest headlines either way', () => {
    const headlines = [
      scoredHeadline('old-strong', { tariff: -1, publishedMs: T0 - 25 * HOUR_MS }),
      scoredHeadline('burst-1', { tariff: -0.8, publishedMs: T0 - 20 * MIN_MS }),
      scoredHeadline('burst-2', { tariff: -0.7, publishedMs: T0 - 10 * MIN_MS }),
      scoredHeadline('calm', { tariff: 0.2, publishedMs: T0 - 5 * HOUR_MS }),
    ]
    const level = evaluateIndicator(rules, indicatorUpdate({ mean: { '1h': -0.6 } }), {}, T0, {
      evidence: evidenceFrom(headlines),
    })
    expect(level.candidates[0]!.alert.evidence.map((e) => e.headlineId)).toEqual(['burst-1', 'burst-2'])
    const buzz = rulesOf({
      id: 'buzz',
      kind: 'buzz_spike',
      dimensions: ['tariff'],
      threshold: 2,
      severity: 'info',
    })
    const spike = evaluateIndicator(buzz, indicatorUpdate({ buzz: 3 }), {}, T0, {
      evidence: evidenceFrom(headlines),
    })
    expect(spike.candidates[0]!.alert.evidence.map((e) => e.headlineId)).toEqual([
      'burst-2',
      'burst-1',
      'calm',
    ])
  })

  it('does not ask for evidence when nothing fires', () => {
    const provider = vi.fn(() => [])
    evaluateIndicator(rules, indicatorUpdate({ mean: { '1h': 0 } }), {}, T0, { evidence: provider })
    expect(provider).not.toHaveBeenCalled()
  })

  it('takes the scorer version of the first evidence headline, else "unknown"', () => {
    const update = indicatorUpdate({ mean: { '1h': -0.6 } })
    const weak = {
      ...scoredHeadline('weak', { tariff: -0.5, publishedMs: T0 - MIN_MS }),
      scorerVersion: 's-2',
    }
    const strong = {
      ...scoredHeadline('strong', { tariff: -0.9, publishedMs: T0 - HOUR_MS }),
      scorerVersion: 's-1',
    }
    const alert = evaluateIndicator(rules, update, {}, T0, { evidence: evidenceFrom([weak, strong]) })
      .candidates[0]!.alert
    expect([alert.evidence[0]!.headlineId, alert.scorerVersion]).toEqual(['strong', 's-1'])
    expect(evaluateIndicator(rules, update, {}, T0).candidates[0]!.alert.scorerVersion).toBe('unknown')
  })

  it('measures latency from the ingestedAt the caller passes, else from the update’s updatedAt', () => {
    const update = indicatorUpdate({
      asOfMs: T0 - 30 * 24 * HOUR_MS,
      updatedMs: T0 - 800,
      mean: { '1h': -0.6 },
    })
    const given = evaluateIndicator(rules, update, {}, T0, { ingestedAtMs: T0 - 1_200 }).candidates[0]!.alert
    expect(given).toMatchObject({
      latencyMs: 1_200,
      ingestedAt: new Date(T0 - 1_200).toISOString(),
      publishedAt: update.asOf,
    })
    expect(evaluateIndicator(rules, update, {}, T0).candidates[0]!.alert.latencyMs).toBe(800)
  })

  it('measures latency from the entry of the headline that moved the indicator', () => {
    const update = indicatorUpdate({ asOfMs: T0, updatedMs: T0 + 900, mean: { '1h': -0.6 } })
    const headlines = [
      scoredHeadline('older', { tariff: -0.9, publishedMs: T0 - 5 * MIN_MS, ingestedMs: T0 - 4 * MIN_MS }),
      // The newest about tariff published by asOf: the trigger, whichever way it points.
      scoredHeadline('trigger', { tariff: 0.2, publishedMs: T0 - MIN_MS, ingestedMs: T0 + 300 }),
      scoredHeadline('not-tariff', { tariff: null, market: -0.5, publishedMs: T0, ingestedMs: T0 + 600 }),
      scoredHeadline('after-asof', { tariff: -0.8, publishedMs: T0 + MIN_MS, ingestedMs: T0 + 700 }),
    ]
    const alert = evaluateIndicator(rules, update, {}, T0 + 1_000, { evidence: evidenceFrom(headlines) })
      .candidates[0]!.alert
    expect(alert).toMatchObject({
      publishedAt: update.asOf,
      ingestedAt: new Date(T0 + 300).toISOString(),
      latencyMs: 700,
    })
    // The id still follows the update's event time, so it does not depend on what memory holds.
    const bare = evaluateIndicator(rules, update, {}, T0 + 1_000).candidates[0]!.alert
    expect(bare.id).toBe(alert.id)
    expect(bare).toMatchObject({ publishedAt: update.asOf, latencyMs: 100 })
  })

  it('takes the entry time the update carries over the one memory suggests', () => {
    const update = {
      ...indicatorUpdate({ asOfMs: T0, updatedMs: T0 + 900, mean: { '1h': -0.6 } }),
      ingestedAt: new Date(T0 + 250).toISOString(),
    }
    const memory = evidenceFrom([
      scoredHeadline('h', { tariff: -0.9, publishedMs: T0, ingestedMs: T0 + 500 }),
    ])
    const alert = evaluateIndicator(rules, update, {}, T0 + 1_000, { evidence: memory }).candidates[0]!.alert
    expect(alert).toMatchObject({ ingestedAt: update.ingestedAt, latencyMs: 750, publishedAt: update.asOf })
    // The caller's value still comes first.
    const given = evaluateIndicator(rules, update, {}, T0 + 1_000, {
      evidence: memory,
      ingestedAtMs: T0 + 100,
    })
    expect(given.candidates[0]!.alert.latencyMs).toBe(900)
  })

  it('does not take the entry time of a headline that cannot have moved the update', () => {
    const update = indicatorUpdate({ asOfMs: T0, updatedMs: T0 + 900, mean: { '1h': -0.6 } })
    const entered = (ingestedMs: number) =>
      evaluateIndicator(rules, update, {}, T0 + 1_000, {
        evidence: evidenceFrom([scoredHeadline('h', { tariff: -0.9, publishedMs: T0, ingestedMs })]),
      }).candidates[0]!.alert.ingestedAt
    // Entered more than maxTriggerLagMs before the update (a quiet scope, or another alerter's headline).
    expect(entered(T0 + 900 - 61_000)).toBe(update.updatedAt)
    expect(entered(T0 + 900 - 59_000)).toBe(new Date(T0 + 900 - 59_000).toISOString())
    // Entered after the update was made.
    expect(entered(T0 + 950)).toBe(update.updatedAt)
  })

  it('gives deterministic ids by rule, scope and event-time bucket', () => {
    const id = (asOfMs: number, id = 'CN', nowMs = T0) =>
      evaluateIndicator(
        rulesOf({ ...level, scopes: ['region:*'] }),
        indicatorUpdate({ asOfMs, scope: { kind: 'region', id }, mean: { '1h': -0.6 } }),
        {},
        nowMs,
      ).candidates[0]!.alert.id
    expect(id(T0, 'CN', T0 + HOUR_MS)).toBe(id(T0))
    expect(id(T0 + 59 * MIN_MS)).toBe(id(T0))
    expect(id(T0 + HOUR_MS)).not.toBe(id(T0))
    expect(id(T0, 'US')).not.toBe(id(T0))
  })

  it('lists the hysteresis keys an update can read, so the service can fetch just those', () => {
    const rs = rulesOf(
      level,
      { ...level, id: 'both', direction: 'both', threshold: 0.5 },
      { ...level, id: 'us', scopes: ['region:US'] },
    )
    // Each line's field, and the field it had before it named the line (read on upgrade); and the
    // indicator's reading (what a disarmed line's re-arming after a silence needs).
    expect(hysteresisKeysFor(rs, indicatorUpdate())).toEqual([
      'cn_tone|tariff|region:CN|down|1h mean@-0.5~0.15',
      'cn_tone|tariff|region:CN|down',
      'both|tariff|region:CN|up|1h mean@0.5~0.15',
      'both|tariff|region:CN|up',
      'both|tariff|region:CN|down|1h mean@-0.5~0.15',
      'both|tariff|region:CN|down',
      READING_FIELD,
    ])
    expect(hysteresisKeysFor(rs, indicatorUpdate({ scope: { kind: 'region', id: 'JP' } }))).toEqual([])
  })

  it('lists the lines of a rule watching the indicator even on an update that lacks its value', () => {
    const rs = rulesOf(level, { ...level, id: 'cn_4h', window: '4h' })
    // An update of an aggregator with no 4h half-life: cn_4h reads nothing on it, yet keeps its line.
    expect(hysteresisKeysFor(rs, indicatorUpdate({ mean: { '15m': 0, '1h': 0, '24h': 0 } }))).toEqual([
      'cn_tone|tariff|region:CN|down|1h mean@-0.5~0.15',
      'cn_tone|tariff|region:CN|down',
      'cn_4h|tariff|region:CN|down|4h mean@-0.5~0.15',
      'cn_4h|tariff|region:CN|down',
      READING_FIELD,
    ])
  })

  it('keeps a disarmed line through updates of another aggregator without its window, and forgets it once its rule is removed', () => {
    const both = rulesOf(level, { ...level, id: 'cn_4h', window: '4h' })
    const line4h = 'cn_4h|tariff|region:CN|down|4h mean@-0.5~0.15'
    // Two aggregators publish CN's tariff indicator side by side, one with a 4h half-life, one without.
    const with4h = (mean: number) => ({ mean: { '15m': 0, '1h': 0, '4h': mean } })
    const without4h = { mean: { '15m': 0, '1h': 0, '24h': 0 } }
    // As the alerter's store: before each evaluation, the hash keeps only the fields the rules list.
    let stored: Record<string, HysteresisValue> = {}
    const step = (rules: EvaluationRules, i: number, spec: UpdateSpec) => {
      const update = indicatorUpdate({ asOfMs: T0 + i * MIN_MS, ...spec })
      const keys = new Set(hysteresisKeysFor(rules, update))
      stored = Object.fromEntries(Object.entries(stored).filter(([k]) => keys.has(k)))
      const r = evaluateIndicator(rules, update, stored, T0 + i * MIN_MS)
      for (const [k, v] of Object.entries(r.state))
        if (v === null) delete stored[k]
        else stored[k] = v
      return r.candidates.map((c) => c.alert.rule)
    }
    expect(step(both, 0, with4h(-0.7))).toEqual(['cn_4h'])
    expect(step(both, 1, without4h)).toEqual([])
    // Still past its line, still disarmed: no second page for the same crossing.
    expect(step(both, 2, with4h(-0.8))).toEqual([])
    // Removed from the rules: its line goes at the next update, whichever aggregator it comes from.
    step(rulesOf(level), 3, without4h)
    expect(Object.keys(stored)).not.toContain(line4h)
  })

  it('reads the state a line had under its older field name, so an upgrade does not fire it again', () => {
    const legacy = { 'cn_tone|tariff|region:CN|down': { armed: false, lastValue: -0.7, asOfMs: T0 } }
    const r = evaluateIndicator(
      rulesOf(level),
      indicatorUpdate({ asOfMs: T0 + MIN_MS, mean: { '1h': -0.8 } }),
      legacy,
      T0 + MIN_MS,
    )
    expect(r.candidates).toEqual([]) // still past the line it fired on before the upgrade
    // The line's own entry is written and the old one deleted (null).
    expect(r.state).toEqual({
      'cn_tone|tariff|region:CN|down|1h mean@-0.5~0.15': {
        armed: false,
        lastValue: -0.8,
        asOfMs: T0 + MIN_MS,
        count: 10,
      },
      'cn_tone|tariff|region:CN|down': null,
      [READING_FIELD]: expect.objectContaining({ asOfMs: T0 + MIN_MS, count: 10 }),
    })
  })

  it('starts a line edited after the upgrade armed: the old entry is gone once the line wrote its own', () => {
    const legacy = { 'cn_tone|tariff|region:CN|down': { armed: false, lastValue: -0.7, asOfMs: T0 } }
    const first = evaluateIndicator(
      rulesOf(level),
      indicatorUpdate({ asOfMs: T0 + MIN_MS, mean: { '1h': -0.8 } }),
      legacy,
      T0 + MIN_MS,
    )
    // The hash after the commit: null deletes.
    const stored = Object.fromEntries(
      Object.entries({ ...legacy, ...first.state }).filter(([, e]) => e !== null),
    )
    const edited = evaluateIndicator(
      rulesOf({ ...level, threshold: -0.75 }),
      indicatorUpdate({ asOfMs: T0 + 2 * MIN_MS, mean: { '1h': -0.85 } }),
      stored,
      T0 + 2 * MIN_MS,
    )
    expect(edited.candidates.map((c) => c.alert.threshold)).toEqual([-0.75])
  })
})

describe('evaluateIndicator: old updates (maxEventAgeMs, forgetAfterMs)', () => {
  const DAY_MS = 24 * HOUR_MS
  const rules = rulesOf(level)
  const key = hysteresisKeysFor(rules, indicatorUpdate()).find((k) => k.includes('@'))!

  it('raises nothing for an update about a time older than maxEventAgeMs, and leaves its line disarmed as if it had fired', () => {
    const old = indicatorUpdate({ asOfMs: T0 - 25 * HOUR_MS, mean: { '1h': -0.7 } })
    const r = evaluateIndicator(rules, old, {}, T0, { maxEventAgeMs: DAY_MS })
    expect(r.candidates).toEqual([])
    expect(r.stale).toBe(1)
    expect(HysteresisEntry.parse(r.state[key])).toMatchObject({ armed: false, lastValue: -0.7 })
    expect(IndicatorReading.parse(r.state[READING_FIELD])).toMatchObject({ asOfMs: T0 - 25 * HOUR_MS })
    // The episode goes on 10 minutes later, within the age: no page for a crossing 25 h old.
    const next = evaluateIndicator(
      rules,
      indicatorUpdate({ asOfMs: T0 - 25 * HOUR_MS + 10 * MIN_MS, mean: { '1h': -0.75 }, count: 11 }),
      r.state,
      T0,
      { maxEventAgeMs: DAY_MS },
    )
    expect(next.candidates).toEqual([])
    expect(next.stale).toBe(0)
    // Within the age, or with it off, the same update fires as before.
    for (const options of [{ maxEventAgeMs: 26 * HOUR_MS }, { maxEventAgeMs: 0 }, {}]) {
      const fresh = evaluateIndicator(rules, old, {}, T0, options)
      expect([fresh.candidates.length, fresh.stale]).toEqual([1, 0])
    }
  })

  it('raises nothing and moves nothing for an update made and about a time both older than forgetAfterMs', () => {
    const old = indicatorUpdate({ asOfMs: T0 - 30 * DAY_MS, mean: { '1h': -0.7 } })
    for (const options of [
      { forgetAfterMs: 7 * DAY_MS },
      { forgetAfterMs: 7 * DAY_MS, maxEventAgeMs: DAY_MS },
    ])
      expect(evaluateIndicator(rules, old, {}, T0, options)).toEqual({
        candidates: [],
        dropped: 0,
        stale: 1,
        state: {},
      })
    // A replay of old news: about a time long ago, but made now; it fires as before.
    const replayed = indicatorUpdate({ asOfMs: T0 - 30 * DAY_MS, updatedMs: T0, mean: { '1h': -0.7 } })
    const r = evaluateIndicator(rules, replayed, {}, T0, { forgetAfterMs: 7 * DAY_MS })
    expect([r.candidates.length, r.stale]).toEqual([1, 0])
    // Made within it: as before.
    const recent = indicatorUpdate({ asOfMs: T0 - 6 * DAY_MS, mean: { '1h': -0.7 } })
    expect(evaluateIndicator(rules, recent, {}, T0, { forgetAfterMs: 7 * DAY_MS }).candidates).toHaveLength(1)
  })
})

import { Alert } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'
import { evaluateHeadline } from './evaluate-headline.ts'
import { HOUR_MS, MIN_MS, rulesOf, scoredHeadline, T0 } from './test-fixtures.ts'

const shock = {
  id: 'tariff_shock',
  kind: 'headline_shock',
  dimensions: ['tariff'],
  scopes: ['region:CN', 'region:US'],
  direction: 'down',
  threshold: 0.7,
  minRelevance: 0.6,
  severity: 'warning',
  cooldownMs: 15 * MIN_MS,
}

const escalation = (id = 'h1', extra = {}) =>
  scoredHeadline(id, {
    text: 'US raises tariffs on Chinese electric vehicles to 100%',
    tariff: -0.8,
    relevance: 0.85,
    regions: ['US', 'CN'],
    sectors: ['autos'],
    cues: [
      { dimension: 'tariff', cue: 'raises tariffs' },
      { dimension: 'market', cue: 'slump' },
    ],
    ...extra,
  })

describe('evaluateHeadline: headline_shock', () => {
  it('fires once per watched scope the headline mentions, with the evidence and a one-line message', () => {
    const { candidates, dropped } = evaluateHeadline(rulesOf(shock), escalation(), T0 + 1_000)
    expect(dropped).toBe(0)
    expect(candidates.map((c) => c.alert.scope)).toEqual([
      { kind: 'region', id: 'US' },
      { kind: 'region', id: 'CN' },
    ])
    const alert = candidates[0]!.alert
    expect(Alert.parse(alert)).toEqual(alert)
    expect(alert).toMatchObject({
      rule: 'tariff_shock',
      ruleKind: 'headline_shock',
      severity: 'warning',
      dimension: 'tariff',
      direction: 'down',
      value: -0.8,
      threshold: -0.7,
      scorerVersion: 'scorer-test',
      evidence: [
        {
          headlineId: 'h1',
          headline: 'US raises tariffs on Chinese electric vehicles to 100%',
          score: -0.8,
          cues: ['raises tariffs'],
        },
      ],
    })
    expect(alert.message).toBe(
      'Tariff escalation on US: "US raises tariffs on Chinese electric vehicles to 100%" scored -0.8 (threshold -0.7)',
    )
    expect(candidates[0]).toMatchObject({
      cooldownKey: 'tariff_shock|tariff|region:US|down',
      cooldownMs: 15 * MIN_MS,
    })
  })

  it.each([
    ['below the threshold', escalation('h', { tariff: -0.6 })],
    ['below the minimum relevance', escalation('h', { relevance: 0.5 })],
    ['the other direction', escalation('h', { tariff: 0.9 })],
    ['on no watched scope', escalation('h', { regions: ['JP'] })],
    ['not about the dimension', escalation('h', { tariff: null, supplyChain: -0.9 })],
  ])('does not fire on a headline %s', (_, headline) => {
    expect(evaluateHeadline(rulesOf(shock), headline, T0).candidates).toEqual([])
  })

  it('does not fire when the rule is disabled', () => {
    expect(evaluateHeadline(rulesOf({ ...shock, enabled: false }), escalation(), T0).candidates).toEqual([])
  })

  it('fires either way with direction both and says which', () => {
    const rules = rulesOf({ ...shock, direction: 'both' })
    const [alert] = evaluateHeadline(rules, escalation('h', { tariff: 0.9 }), T0).candidates.map(
      (c) => c.alert,
    )
    expect(alert).toMatchObject({ direction: 'up', value: 0.9, threshold: 0.7 })
  })

  it('honours minConfidence', () => {
    const rules = rulesOf({ ...shock, minConfidence: 0.5 })
    expect(evaluateHeadline(rules, escalation('h', { confidence: 0.3 }), T0).candidates).toEqual([])
    expect(evaluateHeadline(rules, escalation('h', { confidence: 0.6 }), T0).candidates).toHaveLength(2)
  })

  it('with event types, needs one of those events, not negated, and not a threat unless allowed', () => {
    const rules = rulesOf({ ...shock, eventTypes: ['tariff_raised', 'retaliation'], includeThreats: false })
    const fires = (events: object[]) =>
      evaluateHeadline(rules, escalation('h', { events }), T0).candidates.length > 0
    expect(fires([])).toBe(false)
    expect(fires([{ type: 'deal' }])).toBe(false)
    expect(fires([{ type: 'tariff_raised', negated: true }])).toBe(false)
    expect(fires([{ type: 'tariff_raised', threat: true }])).toBe(false)
    expect(fires([{ type: 'retaliation' }])).toBe(true)
    const withThreats = rulesOf({ ...shock, eventTypes: ['tariff_raised'] })
    expect(
      evaluateHeadline(withThreats, escalation('h', { events: [{ threat: true }] }), T0).candidates,
    ).toHaveLength(2)
  })

  it('without event types, includeThreats false keeps out a headline whose events on the dimension are all threats', () => {
    const rules = rulesOf({ ...shock, includeThreats: false })
    const fires = (events: object[]) =>
      evaluateHeadline(rules, escalation('h', { events }), T0).candidates.length > 0
    expect(fires([])).toBe(true)
    expect(fires([{ type: 'tariff_raised' }])).toBe(true)
    expect(
      fires([
        { type: 'retaliation', threat: true },
        { type: 'tariff_raised', threat: true },
      ]),
    ).toBe(false)
    expect(fires([{ type: 'retaliation', threat: true }, { type: 'tariff_raised' }])).toBe(true)
    // Only the rule's dimension counts: a threat on supply does not stop a tariff alert.
    expect(fires([{ type: 'shortage', dimension: 'supplyChain', threat: true }])).toBe(true)
    // The default (includeThreats true) fires on threats too.
    expect(
      evaluateHeadline(rulesOf(shock), escalation('h', { events: [{ threat: true }] }), T0).candidates,
    ).toHaveLength(2)
  })

  it('with cooldownBy event, keys the stream by the watched event type listed first in eventTypes', () => {
    const byEvent = rulesOf({
      ...shock,
      eventTypes: ['tariff_raised', 'retaliation'],
      includeThreats: false,
      cooldownBy: 'event',
    })
    const first = (events: object[], id = 'h') =>
      evaluateHeadline(byEvent, escalation(id, { events }), T0).candidates[0]!
    const rise = first([{ type: 'tariff_raised' }])
    const retaliation = first([{ type: 'retaliation' }], 'h2')
    expect(rise.cooldownKey).toMatch(/\|ev=tariff_raised$/)
    expect(retaliation.cooldownKey).toMatch(/\|ev=retaliation$/)
    expect(retaliation.alert.id).not.toBe(rise.alert.id)
    // A rewrite of the rise, with a threat of retaliation besides: the rise's stream and id again.
    const rewrite = first([{ type: 'retaliation', threat: true }, { type: 'tariff_raised' }], 'h3')
    expect(rewrite.cooldownKey).toBe(rise.cooldownKey)
    expect(rewrite.alert.id).toBe(rise.alert.id)
    // Both watched: the one listed first in eventTypes.
    expect(first([{ type: 'retaliation' }, { type: 'tariff_raised' }]).cooldownKey).toBe(rise.cooldownKey)
    // By scope (the default), one stream for both.
    const byScope = rulesOf({ ...shock, eventTypes: ['tariff_raised', 'retaliation'] })
    const keys = ['tariff_raised', 'retaliation'].map(
      (type) =>
        evaluateHeadline(byScope, escalation('h', { events: [{ type }] }), T0).candidates[0]!.cooldownKey,
    )
    expect(keys[0]).toBe(keys[1])
    expect(keys[0]).not.toMatch(/ev=/)
  })

  it('with includeThreats, keys an alert raised by threatened events alone on a stream of its own', () => {
    const key = (rule: Record<string, unknown>, events: object[], id = 'h', publishedMs = T0) => {
      const c = evaluateHeadline(rulesOf(rule), escalation(id, { events, publishedMs }), publishedMs + 1_000)
        .candidates[0]!
      return { stream: c.cooldownKey, id: c.alert.id }
    }
    const watched = { ...shock, eventTypes: ['tariff_raised', 'retaliation'] }
    const measure = key(watched, [{ type: 'tariff_raised' }])
    const threat = key(watched, [{ type: 'tariff_raised', threat: true }])
    expect(measure.stream).toBe('tariff_shock|tariff|region:US|down')
    expect(threat.stream).toBe(`${measure.stream}|m=threat`)
    expect(threat.id).not.toBe(measure.id)
    // Stable: the same threat on another headline of the time bucket is the same alert (replays dedupe).
    expect(key(watched, [{ type: 'tariff_raised', threat: true }], 'h2', T0 + MIN_MS)).toEqual(threat)
    // A measure taken beside the threat, or a threat of a type the rule does not watch: the measure's.
    expect(key(watched, [{ type: 'retaliation', threat: true }, { type: 'tariff_raised' }])).toEqual(measure)
    expect(key(watched, [{ type: 'tariff_raised' }, { type: 'deal', threat: true }])).toEqual(measure)
    // A negated event does not count either way.
    expect(
      key(watched, [
        { type: 'tariff_raised', threat: true },
        { type: 'retaliation', negated: true },
      ]),
    ).toEqual(threat)
    // cooldownBy event: the key event's own events tell (a threatened retaliation beside a rise taken).
    const byEvent = { ...watched, eventTypes: ['retaliation', 'tariff_raised'], cooldownBy: 'event' }
    expect(key(byEvent, [{ type: 'retaliation', threat: true }, { type: 'tariff_raised' }]).stream).toBe(
      'tariff_shock|tariff|region:US|down|ev=retaliation|m=threat',
    )
    expect(key(byEvent, [{ type: 'retaliation' }]).stream).toBe(
      'tariff_shock|tariff|region:US|down|ev=retaliation',
    )
    // Without eventTypes: the headline's events on the rule's dimension; none at all is no threat.
    expect(key(shock, [{ type: 'retaliation', threat: true }]).stream).toMatch(/\|m=threat$/)
    expect(key(shock, [{ type: 'shortage', dimension: 'supplyChain', threat: true }]).stream).toBe(
      measure.stream,
    )
    expect(key(shock, []).stream).toBe(measure.stream)
    // includeThreats false: a threat raises nothing, a measure keeps its stream.
    expect(key({ ...watched, includeThreats: false }, [{ type: 'tariff_raised' }])).toEqual(measure)
  })

  it('matches scope wildcards and the global scope', () => {
    const kinds = (scopes: string[]) =>
      evaluateHeadline(rulesOf({ ...shock, scopes }), escalation(), T0).candidates.map(
        (c) => `${c.alert.scope.kind}:${c.alert.scope.id}`,
      )
    expect(kinds(['*'])).toEqual(['global:all', 'region:US', 'region:CN', 'sector:autos'])
    expect(kinds(['region:*'])).toEqual(['region:US', 'region:CN'])
    expect(kinds(['global:all', 'sector:AUTOS'])).toEqual(['global:all', 'sector:autos'])
  })

  it('watches market tone with relevance 1', () => {
    // The default minRelevance (0.5) is met: a market score has no relevance of its own. (Written on a
    // market-only rule, minRelevance is refused by parseRules; undefined leaves it out of the JSON.)
    const rules = rulesOf({
      ...shock,
      dimensions: ['market'],
      scopes: ['global:all'],
      minRelevance: undefined,
    })
    expect(rules.rules[0]).toMatchObject({ minRelevance: ALERTING_DEFAULTS.minRelevance })
    const [alert] = evaluateHeadline(rules, escalation('h', { market: -0.9 }), T0).candidates.map(
      (c) => c.alert,
    )
    expect(alert).toMatchObject({ dimension: 'market', value: -0.9, evidence: [{ cues: ['slump'] }] })
  })

  it('bounds the candidates of one headline and counts the rest', () => {
    const many = Array.from({ length: ALERTING_DEFAULTS.maxCandidatesPerEvaluation }, (_, i) => ({
      ...shock,
      id: `r${i}`,
    }))
    const { candidates, dropped } = evaluateHeadline(rulesOf(...many), escalation(), T0)
    expect(candidates).toHaveLength(ALERTING_DEFAULTS.maxCandidatesPerEvaluation)
    expect(dropped).toBe(ALERTING_DEFAULTS.maxCandidatesPerEvaluation)
  })

  it('keeps the most severe rules within the bound, whatever their place in the file', () => {
    // One scope each, so one candidate a rule.
    const one = { ...shock, scopes: ['region:CN'] }
    const infos = Array.from({ length: ALERTING_DEFAULTS.maxCandidatesPerEvaluation }, (_, i) => ({
      ...one,
      id: `info${i}`,
      severity: 'info' as const,
    }))
    const critical = { ...one, id: 'critical_last', severity: 'critical' as const }
    const warning = { ...one, id: 'warning_last', severity: 'warning' as const }
    const { candidates, dropped } = evaluateHeadline(rulesOf(...infos, warning, critical), escalation(), T0)
    expect(candidates).toHaveLength(ALERTING_DEFAULTS.maxCandidatesPerEvaluation)
    expect(dropped).toBe(2)
    // Before, the two rules last in the file were the ones dropped; now the last two info rules are, and
    // what is kept stays in file order.
    const kept = candidates.map((c) => c.alert.rule)
    expect(kept.slice(-3)).toEqual(['info97', 'warning_last', 'critical_last'])
    expect(kept).not.toContain('info98')
    expect(kept).not.toContain('info99')
  })
})

describe('evaluateHeadline: times and ids', () => {
  it('measures latency from ingestedAt, so a replay of old news does not report months', () => {
    const old = escalation('h', { publishedMs: T0 - 90 * 24 * HOUR_MS, ingestedMs: T0 })
    const [alert] = evaluateHeadline(rulesOf(shock), old, T0 + 2_500).candidates.map((c) => c.alert)
    expect(alert).toMatchObject({
      publishedAt: new Date(T0 - 90 * 24 * HOUR_MS).toISOString(),
      ingestedAt: new Date(T0).toISOString(),
      detectedAt: new Date(T0 + 2_500).toISOString(),
      latencyMs: 2_500,
    })
  })

  it('clamps a negative latency (clock skew) to 0', () => {
    const [alert] = evaluateHeadline(
      rulesOf(shock),
      escalation('h', { ingestedMs: T0 + 5_000 }),
      T0,
    ).candidates
    expect(alert!.alert.latencyMs).toBe(0)
  })

  it('gives the same id for the same input, whenever it is evaluated', () => {
    const a = evaluateHeadline(rulesOf(shock), escalation(), T0 + 1_000).candidates[0]!.alert
    const b = evaluateHeadline(rulesOf(shock), escalation(), T0 + 9 * HOUR_MS).candidates[0]!.alert
    expect(b.id).toBe(a.id)
    expect(a.id).toMatch(/^[0-9a-f]{32}$/)
  })

  it('shares the id within one cooldown bucket of event time and changes it in the next', () => {
    const id = (headlineId: string, publishedMs: number) =>
      evaluateHeadline(rulesOf(shock), escalation(headlineId, { publishedMs }), T0 + HOUR_MS).candidates[0]!
        .alert.id
    expect(id('h2', T0 + 14 * MIN_MS)).toBe(id('h1', T0))
    expect(id('h3', T0 + 15 * MIN_MS)).not.toBe(id('h1', T0))
  })

  it('gives every headline its own id when the cooldown is 0', () => {
    const rules = rulesOf({ ...shock, cooldownMs: 0 })
    const id = (headlineId: string) =>
      evaluateHeadline(rules, escalation(headlineId), T0).candidates[0]!.alert.id
    expect(id('h1')).toBe(id('h1'))
    expect(id('h2')).not.toBe(id('h1'))
  })

  it('carries the rules version', () => {
    const rules = rulesOf(shock)
    expect(evaluateHeadline(rules, escalation(), T0).candidates[0]!.alert.rulesVersion).toBe(
      rules.rulesVersion,
    )
  })
})

describe('evaluateHeadline: uncertainty_spike from headlines', () => {
  const rule = {
    id: 'tpu',
    kind: 'uncertainty_spike',
    source: 'headline',
    scopes: ['global:all'],
    threshold: 0.6,
    severity: 'info',
  }

  it('fires on a headline whose uncertainty reaches the threshold', () => {
    const h = scoredHeadline('h', { uncertainty: 0.7, text: 'Tariff uncertainty grips markets' })
    const [alert] = evaluateHeadline(rulesOf(rule), h, T0).candidates.map((c) => c.alert)
    expect(alert).toMatchObject({ dimension: 'uncertainty', direction: 'up', value: 0.7, threshold: 0.6 })
    expect(alert!.message).toBe(
      'Uncertainty spike overall: "Tariff uncertainty grips markets" scored 0.7 (threshold 0.6)',
    )
    expect(evaluateHeadline(rulesOf(rule), scoredHeadline('h', { uncertainty: 0.5 }), T0).candidates).toEqual(
      [],
    )
  })

  it('with relevantTo, needs the headline to be about that dimension too', () => {
    const rules = rulesOf({ ...rule, relevantTo: ['tariff'], minRelevance: 0.6 })
    expect(evaluateHeadline(rules, scoredHeadline('h', { uncertainty: 0.7 }), T0).candidates).toEqual([])
    const tariff = scoredHeadline('h', { uncertainty: 0.7, tariff: -0.3, relevance: 0.8 })
    expect(evaluateHeadline(rules, tariff, T0).candidates).toHaveLength(1)
  })

  it('ignores indicator rules', () => {
    const rules = rulesOf({ ...rule, source: 'indicator', threshold: 0.1 })
    expect(evaluateHeadline(rules, scoredHeadline('h', { uncertainty: 0.9 }), T0).candidates).toEqual([])
  })
})

describe('evaluateHeadline: maxEventAgeMs', () => {
  const rules = rulesOf(shock)
  const old = escalation('old', { publishedMs: T0, ingestedMs: T0 + 30 * 24 * HOUR_MS })
  const now = T0 + 30 * 24 * HOUR_MS + 5

  it('raises nothing for a headline published longer ago than maxEventAgeMs, counting what it would have raised as stale', () => {
    const r = evaluateHeadline(rules, old, now, { maxEventAgeMs: 24 * HOUR_MS })
    expect(r).toEqual({ candidates: [], dropped: 0, stale: 2 })
  })

  it('raises as before a headline within maxEventAgeMs, and any headline when it is 0 or absent', () => {
    const fresh = evaluateHeadline(rules, old, T0 + 24 * HOUR_MS, { maxEventAgeMs: 24 * HOUR_MS })
    expect(fresh.candidates).toHaveLength(2)
    expect(fresh.stale).toBe(0)
    for (const options of [{ maxEventAgeMs: 0 }, {}]) {
      const r = evaluateHeadline(rules, old, now, options)
      expect(r.candidates.map((c) => c.alert.scope.id).sort()).toEqual(['CN', 'US'])
      expect(r.stale).toBe(0)
    }
  })
})

describe('evaluateHeadline: headlines read again (forgetAfterMs, recordMs)', () => {
  const DAY_MS = 24 * HOUR_MS
  const rules = rulesOf(shock)
  const week = { forgetAfterMs: 7 * DAY_MS }
  const now = T0 + 10 * DAY_MS
  // Published, entered and scored (scoredAt) at T0, ten days before `now`.
  const old = escalation('old')

  it('raises nothing for a headline scored (record and scoredAt) and published longer ago than forgetAfterMs, counting what it would have raised as stale', () => {
    for (const options of [
      { ...week, recordMs: T0 },
      week, // no record timestamp: scoredAt alone
      { ...week, recordMs: -1 }, // a record without a timestamp (Kafka's -1) says nothing newer
      { ...week, recordMs: T0, maxEventAgeMs: 0 },
    ])
      expect(evaluateHeadline(rules, old, now, options)).toEqual({ candidates: [], dropped: 0, stale: 2 })
  })

  it('raises as before a replay of old news (scored now), a record appended again now (a dead letter sent back to a LogAppendTime topic), one scored within forgetAfterMs, or with it off', () => {
    const replayed = escalation('replayed', { publishedMs: Date.UTC(2018, 6, 6), ingestedMs: now - MIN_MS })
    const cases: [ReturnType<typeof escalation>, Parameters<typeof evaluateHeadline>[3]][] = [
      [replayed, { ...week, recordMs: now - MIN_MS }],
      [replayed, week],
      [old, { ...week, recordMs: now - MIN_MS }],
      [old, { ...week, recordMs: Number.NaN }],
      [escalation('recent', { publishedMs: now - 6 * DAY_MS }), { ...week, recordMs: now - 6 * DAY_MS }],
      [old, { forgetAfterMs: 0, recordMs: T0 }],
      [old, { recordMs: T0 }],
    ]
    for (const [headline, options] of cases) {
      const r = evaluateHeadline(rules, headline, now, options)
      expect([r.candidates.length, r.stale]).toEqual([2, 0])
    }
  })

  it('raises for a live headline read late, however late, up to forgetAfterMs: that is how far behind the caller may run', () => {
    // A consumer behind after a restart, an outage or a burst reads the headline late, never read before;
    // it cannot be told from one read again, so forgetAfterMs bounds its lag too (the alerter refuses a
    // dedup window under 24 h for it). Scored and published `lag` before `now`, record alike.
    const day = { forgetAfterMs: DAY_MS }
    const readLate = (lag: number) => {
      const h = escalation(`late-${lag}`, { publishedMs: now - lag })
      const r = evaluateHeadline(rules, h, now, { ...day, recordMs: now - lag })
      return [r.candidates.length, r.stale]
    }
    for (const lag of [2 * MIN_MS, 6 * HOUR_MS, DAY_MS - 1, DAY_MS]) expect(readLate(lag)).toEqual([2, 0])
    expect(readLate(DAY_MS + 1)).toEqual([0, 2])
  })
})

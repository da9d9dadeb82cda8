import { describe, expect, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { exportJsonSchemas } from './json-schema.ts'
import { readerOf } from './reader.ts'
import {
  Alert,
  AlertReader,
  Headline,
  HeadlineReader,
  IndicatorUpdate,
  IndicatorUpdateReader,
  RawHeadline,
  RawHeadlineReader,
  ScoredHeadline,
  ScoredHeadlineReader,
  ScoredIndicatorInput,
} from './schemas.ts'

const T = '2025-06-02T08:00:00.000Z'
const span = { field: 'headline', start: 0, end: 7 } as const
const scored: ScoredHeadline = {
  id: 'h-1',
  source: 'wire',
  headline: 'Tariffs raised on steel',
  publishedAt: T,
  ingestedAt: T,
  truncated: false,
  scores: {
    tariff: { score: -0.6, relevance: 0.9, confidence: 0.8, label: 'negative' },
    supplyChain: { score: 0, relevance: 0, confidence: 0, label: null },
    market: { score: -0.2, label: 'negative' },
    uncertainty: 0.1,
  },
  events: [
    { type: 'tariff_raised', dimension: 'tariff', direction: -1, threat: false, negated: false, span },
  ],
  entities: { regions: ['US'], commodities: ['steel'], sectors: [], companies: [] },
  explanation: [{ dimension: 'tariff', cue: 'tariffs raised', weight: -0.6, span }],
  scorerVersion: '2.0.65',
  scoredAt: T,
}
const update: IndicatorUpdate = {
  key: 'tariff|region:US',
  dimension: 'tariff',
  scope: { kind: 'region', id: 'US' },
  asOf: T,
  mean: { '15m': -0.3, '1h': -0.2 },
  volume: { '1h': 3 },
  buzz: 1.2,
  momentum: -0.1,
  diffusion: -0.3,
  count: 3,
  updatedAt: T,
}
const alert: Alert = {
  id: 'a-1',
  rule: 'tariff_down',
  ruleKind: 'headline_shock',
  severity: 'warning',
  dimension: 'tariff',
  scope: { kind: 'region', id: 'US' },
  direction: 'down',
  value: -0.6,
  threshold: -0.5,
  message: 'tariff shock',
  evidence: [
    { headlineId: 'h-1', headline: 'Tariffs raised on steel', score: -0.6, cues: ['tariffs raised'] },
  ],
  publishedAt: T,
  ingestedAt: T,
  detectedAt: T,
  latencyMs: 12,
  scorerVersion: '2.0.65',
  rulesVersion: 'r1',
}

/** What a newer producer might write: one new field at the top and one inside each kind of nesting. */
const newerScored = {
  ...scored,
  sentiment: { v2: 0.4 },
  scores: { ...scored.scores, sentimentV2: -0.5, tariff: { ...scored.scores.tariff, calibrated: true } },
  events: [{ ...scored.events[0]!, certainty: 0.7, span: { ...span, sentence: 0 } }],
  entities: { ...scored.entities, people: ['Lutnick'] },
  explanation: [{ ...scored.explanation[0]!, rule: 'R12' }],
}
const newerUpdate = { ...update, scope: { ...update.scope, label: 'United States' }, variance: { '1h': 0.1 } }
const newerAlert = {
  ...alert,
  runbook: 'https://runbooks/tariff',
  scope: { ...alert.scope, parent: 'global' },
  evidence: [{ ...alert.evidence[0]!, url: 'https://example.com/1' }],
}

const issuePaths = (r: { success: boolean; error?: z.ZodError }) =>
  r.error?.issues.map((i) => [i.path.join('.'), i.code]) ?? []

describe('producers: the strict schemas refuse a field they do not know', () => {
  it('at the top and inside nested objects and arrays, naming each', () => {
    expect(issuePaths(ScoredHeadline.safeParse(newerScored)).sort()).toEqual(
      [
        ['', 'unrecognized_keys'],
        ['scores', 'unrecognized_keys'],
        ['scores.tariff', 'unrecognized_keys'],
        ['events.0', 'unrecognized_keys'],
        ['events.0.span', 'unrecognized_keys'],
        ['entities', 'unrecognized_keys'],
        ['explanation.0', 'unrecognized_keys'],
      ].sort(),
    )
    expect(IndicatorUpdate.safeParse(newerUpdate).success).toBe(false)
    expect(Alert.safeParse(newerAlert).success).toBe(false)
    expect(Headline.safeParse({ ...scored, scores: undefined }).success).toBe(false)
    expect(RawHeadline.safeParse({ headline: 'x', lang: 'en' }).success).toBe(false)
  })

  it('are left strict by deriving their readers', () => {
    readerOf(ScoredHeadline)
    expect(ScoredHeadline.safeParse(newerScored).success).toBe(false)
    expect(ScoredHeadline.safeParse(scored).success).toBe(true)
  })
})

describe('consumers: a reader drops what it does not know and checks the rest as strictly', () => {
  it('reads a newer record as the same record without the new fields', () => {
    expect(ScoredHeadlineReader.parse(newerScored)).toEqual(scored)
    expect(IndicatorUpdateReader.parse(newerUpdate)).toEqual(update)
    expect(AlertReader.parse(newerAlert)).toEqual(alert)
    const { scores, events, entities, explanation, scorerVersion, scoredAt, ...headline } = scored
    expect(HeadlineReader.parse({ ...headline, lang: 'en' })).toEqual(headline)
    expect(RawHeadlineReader.parse({ headline: 'x', lang: 'en', tickers: ['X'] })).toEqual({ headline: 'x' })
    const { headline: _text, source, events: _e, explanation: _x, ...indicatorInput } = scored
    expect(ScoredIndicatorInput.parse(newerScored)).toEqual({
      id: indicatorInput.id,
      publishedAt: indicatorInput.publishedAt,
      ingestedAt: indicatorInput.ingestedAt,
      scores: indicatorInput.scores,
      entities: indicatorInput.entities,
    })
  })

  it('keeps every key of a record-valued field: a map, not an object with fields', () => {
    const more = { ...update, mean: { ...update.mean, '7d': 0.01 } }
    expect(IndicatorUpdateReader.parse(more).mean).toEqual(more.mean)
  })

  it('still refuses a known field of the wrong type or missing, naming it, new fields or not', () => {
    const cases: [unknown, string][] = [
      [{ ...newerScored, scores: { ...newerScored.scores, uncertainty: 'high' } }, 'scores.uncertainty'],
      [
        { ...newerScored, scores: { ...newerScored.scores, tariff: { ...scored.scores.tariff, score: 2 } } },
        'scores.tariff.score',
      ],
      [{ ...newerScored, entities: { ...newerScored.entities, regions: 'US' } }, 'entities.regions'],
      [{ ...newerScored, events: [{ ...newerScored.events[0]!, type: 'tariff_hiked' }] }, 'events.0.type'],
      [{ ...newerScored, id: undefined }, 'id'],
    ]
    for (const [value, path] of cases) {
      const r = ScoredHeadlineReader.safeParse(value)
      expect(r.success, path).toBe(false)
      expect(issuePaths(r).map(([p]) => p)).toEqual([path])
    }
    expect(issuePaths(IndicatorUpdateReader.safeParse({ ...newerUpdate, count: -1 }))).toEqual([
      ['count', 'too_small'],
    ])
    expect(issuePaths(AlertReader.safeParse({ ...newerAlert, severity: 'severe' }))).toEqual([
      ['severity', 'invalid_value'],
    ])
  })

  it('parses to the strict schema’s type', () => {
    expectTypeOf<z.infer<typeof ScoredHeadlineReader>>().toEqualTypeOf<ScoredHeadline>()
    expectTypeOf<z.infer<typeof IndicatorUpdateReader>>().toEqualTypeOf<IndicatorUpdate>()
    expectTypeOf<z.infer<typeof AlertReader>>().toEqualTypeOf<Alert>()
    expectTypeOf<z.infer<typeof HeadlineReader>>().toEqualTypeOf<Headline>()
    expectTypeOf<z.infer<typeof RawHeadlineReader>>().toEqualTypeOf<RawHeadline>()
  })

  it('refuses, where it is defined, a kind it cannot derive a reader of', () => {
    const lazy = z.lazy(() => z.strictObject({ a: z.number() }))
    expect(() => readerOf(z.strictObject({ nested: lazy }))).toThrow(/no reader for a lazy schema/)
  })

  it('keeps a catchall that validates the other keys, and the checks of a schema', () => {
    const withCatchall = readerOf(z.strictObject({ a: z.number() }).catchall(z.number()))
    expect(withCatchall.safeParse({ a: 1, b: 2 }).data).toEqual({ a: 1, b: 2 })
    expect(withCatchall.safeParse({ a: 1, b: 'x' }).success).toBe(false)
    const bounded = readerOf(z.array(z.strictObject({ a: z.number() })).max(1))
    expect(bounded.safeParse([{ a: 1, b: 2 }]).data).toEqual([{ a: 1 }])
    expect(bounded.safeParse([{ a: 1 }, { a: 2 }]).success).toBe(false)
  })
})

describe('exportJsonSchemas', () => {
  const schemas = exportJsonSchemas()
  const closedAt = (node: unknown, path = ''): string[] => {
    if (!node || typeof node !== 'object') return []
    const here = (node as Record<string, unknown>).additionalProperties === false ? [path || '(root)'] : []
    return [...here, ...Object.entries(node).flatMap(([k, v]) => closedAt(v, `${path}/${k}`))]
  }

  it('gives consumers the reader (open at every depth) and producers the strict schema', () => {
    for (const name of [
      'RawHeadline',
      'Headline',
      'ScoredHeadline',
      'IndicatorUpdate',
      'Alert',
      'DeadLetter',
    ]) {
      expect(closedAt(schemas[name]), name).toEqual([])
      expect(schemas[`${name}.strict`], name).toBeDefined()
    }
    expect(closedAt(schemas['ScoredHeadline.strict'])).toContain('/properties/scores/properties/tariff')
    expect(closedAt(schemas['ScoredHeadline.strict'])).toContain('(root)')
  })
})

import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { exportJsonSchemas } from './json-schema.ts'
import {
  Alert,
  AlertReader,
  IndicatorUpdate,
  IndicatorUpdateReader,
  LIMITS,
  MAX_BUILT_KEY_CHARS,
  ScoredHeadline,
  ScoredHeadlineReader,
  ScoredIndicatorInput,
} from './schemas.ts'
import { ALERTS, SCORED, UPDATES } from './test-fixtures.ts'

const [scored] = SCORED
const [update] = UPDATES
const [alert] = ALERTS
const a = (n: number) => 'a'.repeat(n)

/** The issues' paths of a parse, joined (`scope.id`), or [] when it passed. */
const refusedAt = (schema: z.ZodType, value: unknown) =>
  schema.safeParse(value).error?.issues.map((i) => i.path.join('.')) ?? []

describe('identifier bounds', () => {
  /**
   * [what, payload schemas (strict and reader), a valid value with the field at `n` characters, bound,
   * the path named (a map's key is in the path of its own issue)].
   */
  const cases: [string, z.ZodType[], (n: number) => unknown, number, string | ((n: number) => string)][] = [
    [
      'Scope.id (indicator update)',
      [IndicatorUpdate, IndicatorUpdateReader],
      (n) => ({ ...update, scope: { ...update!.scope, id: a(n) } }),
      LIMITS.maxScopeIdChars,
      'scope.id',
    ],
    [
      'Scope.id (alert)',
      [Alert, AlertReader],
      (n) => ({ ...alert, scope: { ...alert!.scope, id: a(n) } }),
      LIMITS.maxScopeIdChars,
      'scope.id',
    ],
    [
      'IndicatorUpdate.key',
      [IndicatorUpdate, IndicatorUpdateReader],
      (n) => ({ ...update, key: a(n) }),
      LIMITS.maxIndicatorKeyChars,
      'key',
    ],
    [
      'a label of IndicatorUpdate.mean',
      [IndicatorUpdate, IndicatorUpdateReader],
      (n) => ({ ...update, mean: { ...update!.mean, [a(n)]: 0 } }),
      LIMITS.maxLabelChars,
      (n) => `mean.${a(n)}`,
    ],
    [
      'a label of IndicatorUpdate.volume',
      [IndicatorUpdate, IndicatorUpdateReader],
      (n) => ({ ...update, volume: { ...update!.volume, [a(n)]: 0 } }),
      LIMITS.maxLabelChars,
      (n) => `volume.${a(n)}`,
    ],
    ['Alert.id', [Alert, AlertReader], (n) => ({ ...alert, id: a(n) }), LIMITS.maxAlertIdChars, 'id'],
    ['Alert.rule', [Alert, AlertReader], (n) => ({ ...alert, rule: a(n) }), LIMITS.maxRuleIdChars, 'rule'],
    [
      'Alert.ruleKind',
      [Alert, AlertReader],
      (n) => ({ ...alert, ruleKind: a(n) }),
      LIMITS.maxRuleIdChars,
      'ruleKind',
    ],
    [
      'an evidence headline id',
      [Alert, AlertReader],
      (n) => ({ ...alert, evidence: [{ ...alert!.evidence[0]!, headlineId: a(n) }] }),
      LIMITS.maxIdChars,
      'evidence.0.headlineId',
    ],
    [
      'Alert.rulesVersion',
      [Alert, AlertReader],
      (n) => ({ ...alert, rulesVersion: a(n) }),
      LIMITS.maxVersionChars,
      'rulesVersion',
    ],
    [
      'Alert.scorerVersion',
      [Alert, AlertReader],
      (n) => ({ ...alert, scorerVersion: a(n) }),
      LIMITS.maxVersionChars,
      'scorerVersion',
    ],
    [
      'ScoredHeadline.scorerVersion',
      [ScoredHeadline, ScoredHeadlineReader],
      (n) => ({ ...scored, scorerVersion: a(n) }),
      LIMITS.maxVersionChars,
      'scorerVersion',
    ],
    [
      'an entity id of a scored headline (the aggregator reads it too)',
      [ScoredHeadline, ScoredHeadlineReader, ScoredIndicatorInput],
      (n) => ({ ...scored, entities: { ...scored!.entities, companies: ['TSLA', a(n)] } }),
      LIMITS.maxScopeIdChars,
      'entities.companies.1',
    ],
    [
      'a region of a scored headline',
      [ScoredHeadline, ScoredHeadlineReader, ScoredIndicatorInput],
      (n) => ({ ...scored, entities: { ...scored!.entities, regions: [a(n)] } }),
      LIMITS.maxScopeIdChars,
      'entities.regions.0',
    ],
  ]

  it.each(cases)(
    '%s: taken at its bound, refused one past it, naming the field',
    (_, schemas, at, bound, path) => {
      const pathAt = (n: number) => (typeof path === 'string' ? path : path(n))
      for (const schema of schemas) {
        expect(refusedAt(schema, at(bound))).toEqual([])
        expect(refusedAt(schema, at(bound + 1))).toEqual([pathAt(bound + 1)])
        // What a downstream consumer could be given before: a megabyte id.
        expect(refusedAt(schema, at(1_000_000))).toEqual([pathAt(1_000_000)])
      }
    },
  )

  it('fits in the key bound the longest key a valid scope builds, every character of its id escaped', () => {
    // `supplyChain|commodity:` and 64 id characters written as three (`%7B`): packages/indicators'
    // indicatorKey; services/aggregator checks it against indicatorKey itself.
    expect(MAX_BUILT_KEY_CHARS).toBe('supplyChain|commodity:'.length + 3 * LIMITS.maxScopeIdChars)
    expect(MAX_BUILT_KEY_CHARS).toBeLessThanOrEqual(LIMITS.maxIndicatorKeyChars)
    const longest = {
      ...update,
      key: `supplyChain|commodity:${'%7B'.repeat(LIMITS.maxScopeIdChars)}`,
      dimension: 'supplyChain',
      scope: { kind: 'commodity', id: '{'.repeat(LIMITS.maxScopeIdChars) },
    }
    expect(longest.key).toHaveLength(MAX_BUILT_KEY_CHARS)
    expect(refusedAt(IndicatorUpdate, longest)).toEqual([])
  })

  it('keeps valid what the pipeline writes: the longest watchlist id, 32-hex alert ids, the versions', () => {
    for (const s of SCORED) expect(refusedAt(ScoredHeadline, s)).toEqual([])
    for (const u of UPDATES) expect(refusedAt(IndicatorUpdate, u)).toEqual([])
    for (const x of ALERTS) expect(refusedAt(Alert, x)).toEqual([])
    // A watchlist id is 1 to 64 characters (packages/scoring's WatchlistEntity), the gazetteer's shorter.
    const company = { ...scored, entities: { ...scored!.entities, companies: [a(64)] } }
    expect(refusedAt(ScoredHeadline, company)).toEqual([])
    // A rules file's version is up to 64 characters; the alerter adds `+` and 12 hex.
    expect(refusedAt(Alert, { ...alert, rulesVersion: `${a(64)}+4be0c2f1a9d3` })).toEqual([])
  })

  it('gives consumers the bounds in the JSON Schema, the reader as much as the strict one', () => {
    // biome-ignore lint/suspicious/noExplicitAny: JSON Schema, walked by the names the test expects
    const schemas = exportJsonSchemas() as Record<string, { properties: Record<string, any> }>
    for (const name of ['IndicatorUpdate', 'IndicatorUpdate.strict']) {
      const { properties } = schemas[name]!
      expect(properties.key.maxLength, name).toBe(LIMITS.maxIndicatorKeyChars)
      expect(properties.scope.properties.id.maxLength, name).toBe(LIMITS.maxScopeIdChars)
      expect(properties.mean.propertyNames.maxLength, name).toBe(LIMITS.maxLabelChars)
    }
    for (const name of ['Alert', 'Alert.strict']) {
      const { properties } = schemas[name]!
      expect(properties.id.maxLength, name).toBe(LIMITS.maxAlertIdChars)
      expect(properties.scope.properties.id.maxLength, name).toBe(LIMITS.maxScopeIdChars)
    }
    expect(schemas.ScoredHeadline!.properties.entities.properties.companies.items.maxLength).toBe(
      LIMITS.maxScopeIdChars,
    )
  })
})

describe('entity lists of a scored headline', () => {
  const readers = [ScoredHeadline, ScoredHeadlineReader, ScoredIndicatorInput] as const
  const withCompanies = (companies: string[]) => ({ ...scored, entities: { ...scored!.entities, companies } })
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `C${i}`)

  it.each(['regions', 'commodities', 'sectors', 'companies'] as const)(
    '%s: taken at LIMITS.maxEntitiesPerKind ids, refused one past it and at 60,000, naming the list',
    (list) => {
      const at = (n: number) => ({ ...scored, entities: { ...scored!.entities, [list]: ids(n) } })
      for (const schema of readers) {
        expect(refusedAt(schema, at(LIMITS.maxEntitiesPerKind))).toEqual([])
        // One record of 1,000 companies filled the aggregator's scope cap; one of 60,000 crashed its apply.
        expect(refusedAt(schema, at(LIMITS.maxEntitiesPerKind + 1))).toEqual([`entities.${list}`])
        expect(refusedAt(schema, at(60_000))).toEqual([`entities.${list}`])
      }
    },
  )

  it('leaves room above the 32 ids a list the scorer keeps, and under the aggregator default scope cap', () => {
    expect(LIMITS.maxEntitiesPerKind).toBeGreaterThanOrEqual(32)
    expect(LIMITS.maxEntitiesPerKind).toBeLessThan(1_000)
  })

  it.each([
    ['empty', ''],
    ['blank', '  '],
    ['invisible', '\u200b'],
    ['a control character', 'sector:x\u0001y'],
    ['a line feed', 'TS\nLA'],
    ['a lone surrogate', '\ud800'],
    ['a lone low surrogate', 'x\udc00'],
  ])('refuses an id that is %s, in every reader', (_, id) => {
    // An empty id breaks two rules (min and showsSomething): one field named, whatever the count.
    for (const schema of readers)
      expect([...new Set(refusedAt(schema, withCompanies(['TSLA', id])))]).toEqual(['entities.companies.1'])
  })

  it('takes ids beyond ASCII and astral characters in pairs', () => {
    for (const schema of readers)
      expect(refusedAt(schema, withCompanies(['Société Générale', '日本', 'x😀', 'a b']))).toEqual([])
  })

  it('gives consumers the list bound and the id rules in the JSON Schema', () => {
    // biome-ignore lint/suspicious/noExplicitAny: JSON Schema, walked by the names the test expects
    const schemas = exportJsonSchemas() as Record<string, { properties: Record<string, any> }>
    const companies = schemas.ScoredHeadline!.properties.entities.properties.companies
    expect(companies.maxItems).toBe(LIMITS.maxEntitiesPerKind)
    expect(companies.items.minLength).toBe(1)
    expect(JSON.stringify(companies.items)).toContain('pattern')
  })
})

describe('Alert.id', () => {
  // The gateway refused these (an SSE event id a reader resumes after) while the JSON Schema took them: a
  // consumer's validator accepted "" that the gateway's feed skipped.
  const BAD: [string, string][] = [
    ['', 'id: empty'],
    ['a\u0000b', 'id: holds a NUL (U+0000)'],
    ['a\nid: b', 'id: holds a line break'],
    ['a\rb', 'id: holds a line break'],
  ]
  const issues = (schema: z.ZodType, id: string) =>
    schema
      .safeParse({ ...alert, id })
      .error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
      .join('; ') ?? 'ok'

  it('refuses an empty id, or one holding a NUL or a line break, in the contract and its reader, as the gateway says', () => {
    for (const schema of [Alert, AlertReader])
      expect(BAD.map(([id]) => issues(schema, id))).toEqual(BAD.map(([, message]) => message))
  })

  it("takes the alerter's ids (32 hex characters) and every alert of the fixtures", () => {
    for (const schema of [Alert, AlertReader]) {
      expect(issues(schema, '0123456789abcdef0123456789abcdef')).toBe('ok')
      for (const x of ALERTS) expect(issues(schema, x.id)).toBe('ok')
    }
  })

  it('gives consumers the same rules in the JSON Schema, reader and strict', () => {
    const schemas = exportJsonSchemas() as Record<string, { properties: { id: Record<string, unknown> } }>
    for (const name of ['Alert', 'Alert.strict']) {
      const id = schemas[name]!.properties.id as { minLength: number; allOf: { pattern: string }[] }
      expect(id.minLength, name).toBe(1)
      const patterns = id.allOf.map((n) => new RegExp(n.pattern))
      const takes = (v: string) => v.length >= id.minLength && patterns.every((p) => p.test(v))
      expect(
        BAD.map(([v]) => takes(v)),
        name,
      ).toEqual(BAD.map(() => false))
      expect(takes(alert!.id), name).toBe(true)
    }
  })
})

import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { acceptsAs } from './accepts-as.ts'
import { Alert, IndicatorUpdate, ScoredHeadline } from './schemas.ts'
import { ALERTS, SCORED, UPDATES } from './test-fixtures.ts'

describe('acceptsAs', () => {
  /** Every path to a value in `v`, objects' keys and arrays' indexes. */
  function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
    if (typeof v !== 'object' || v === null) return [at]
    const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v)
    return [at, ...entries.flatMap(([k, x]) => paths(x, [...at, k]))]
  }
  const REPLACEMENTS: unknown[] = [
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -1,
    -1.000001,
    1,
    1.000001,
    0,
    -0,
    0.5,
    2 ** 53,
    1e300,
    '',
    'x',
    'negative',
    'bullish',
    'body',
    'tariff_raised',
    '2026-03-02T08:00:00Z',
    '2026-02-30T08:00:00Z',
    // Either side of the years 1 to 9999 in UTC, which the contract's times hold.
    '9999-12-31T23:59:59.999Z',
    '9999-12-31T18:59:59.999-05:00',
    '9999-12-31T23:00:00-05:00',
    '+010000-01-01T04:00:00.000Z',
    '0001-01-01T01:00:00+01:00',
    '0001-01-01T00:59:59.999+01:00',
    '0000-12-31T23:00:00-05:00',
    '0000-06-01T00:00:00Z',
    '2026-03-02 08:00:00Z',
    'A'.repeat(1_001),
    // Either side of the bounds of identifiers: a scope id, a label, an indicator key.
    'a'.repeat(32),
    'a'.repeat(33),
    'a'.repeat(64),
    'a'.repeat(65),
    'a'.repeat(257),
    null,
    undefined,
    true,
    [],
    [1],
    {},
    { score: 0, label: 'neutral' },
  ]
  const DELETE = Symbol('delete')
  const EXTRA = Symbol('unknown key')
  /** A key of 33 characters added there: in a map of labels (IndicatorUpdate.mean), one past their bound. */
  const LONG_KEY = Symbol('long key')

  /** `v` with the value at `path` replaced by `to` (DELETE: the key removed; EXTRA, LONG_KEY: a key added there). */
  function changed(v: unknown, path: (string | number)[], to: unknown): unknown {
    const copy = structuredClone(v) as Record<string | number, unknown>
    let parent: Record<string | number, unknown> = copy
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>
    const last = path[path.length - 1]
    if (to === EXTRA || to === LONG_KEY) {
      const target = last === undefined ? copy : parent[last]
      if (typeof target === 'object' && target !== null && !Array.isArray(target))
        (target as Record<string, unknown>)[to === EXTRA ? 'sentimentV2' : 'k'.repeat(33)] = 0
      return copy
    }
    if (last === undefined) return to
    if (to === DELETE) delete parent[last]
    else parent[last] = to
    return copy
  }

  it.each([
    ['ScoredHeadline', 'the scorer', ScoredHeadline, SCORED],
    ['IndicatorUpdate', 'the aggregator', IndicatorUpdate, UPDATES],
    ['Alert', 'the alerter', Alert, ALERTS],
  ] as const)(
    "agrees with zod's safeParse on every field of a %s (%s writes), each replaced by a value of every kind",
    (_, __, schema, fixtures) => {
      const accepts = acceptsAs(schema)
      let refused = 0
      let cases = 0
      for (const s of fixtures) {
        expect(accepts(s)).toBe(true)
        for (const path of paths(s)) {
          for (const to of [...REPLACEMENTS, DELETE, EXTRA, LONG_KEY]) {
            const v = changed(s, path, to)
            const zod = schema.safeParse(v).success
            expect(accepts(v), `${path.join('.')} → ${String(to)}`).toBe(zod)
            cases++
            if (!zod) refused++
          }
        }
      }
      // Most of the cases are refusals (of every kind), and some are not.
      expect(refused).toBeGreaterThan(cases / 2)
      expect(refused).toBeLessThan(cases)
    },
  )

  it('agrees with zod on the bounds and kinds it knows', () => {
    const schemas = [
      z.number().gt(0).lt(1),
      z.number().min(0).max(1),
      z.int().min(0),
      z.string().min(2).max(3),
      z.string().regex(/^a+$/g),
      z.iso.date(),
      z.array(z.literal('a').nullable()).optional(),
      z.union([z.literal(-1), z.literal(1)]),
      z.object({ a: z.string().optional() }),
      z.strictObject({ a: z.string().optional() }),
      z.record(z.string(), z.number()),
      z.record(z.string().max(3), z.number().min(0)),
      z.record(z.string().min(2), z.string()).optional(),
    ]
    // Strings beyond the BMP: zod counts their length in code points, .length in UTF-16 units.
    const astral = ['😀', '😀😀', '😀😀😀', 'a😀', '😀😀😀😀', '\ud83d', '\ud83d\ud83d\ud83d\ud83d']
    const values = [
      0,
      1,
      0.5,
      -1,
      1.5,
      2 ** 53,
      '',
      'a',
      'aa',
      'aaaa',
      'ab',
      '2026-02-29',
      '2024-02-29',
      ...astral,
    ]
    const more = [
      null,
      undefined,
      ['a', null],
      ['b'],
      {},
      { a: 'x' },
      { a: 1 },
      { b: 1 },
      { a: undefined },
      { aa: 1, aaaa: 2 },
      { aaaa: 1 },
      { '😀😀😀': 1 },
      Object.assign(Object.create(null), { a: 1 }),
      Object.assign(Object.create(null), { aaaa: 1 }),
      // zod judges neither the key nor the value of an own __proto__ (JSON.parse makes one).
      JSON.parse('{"__proto__": "x", "a": 1}'),
      { a: 1, [Symbol('s')]: 1 },
      new Map([['a', 1]]),
      new Date(0),
    ]
    for (const schema of schemas)
      for (const v of [...values, ...more])
        expect(acceptsAs(schema)(v), `${JSON.stringify(v)}`).toBe(schema.safeParse(v).success)
  })

  it('refuses, where it is made, a schema it has no fast check for', () => {
    expect(() => acceptsAs(z.url())).toThrow(/no fast check for a url string/)
    expect(() => acceptsAs(z.record(z.enum(['a', 'b']), z.number()))).toThrow(
      /no fast check for a record keyed by a enum/,
    )
    expect(() => acceptsAs(z.object({}).catchall(z.number()))).toThrow(/an object with a catchall/)
    expect(() => acceptsAs(z.string().refine((s) => s !== 'x'))).toThrow(/no fast check for a custom check/)
    expect(() => acceptsAs(z.int32())).toThrow(/no fast check for a int32 number/)
  })
})

import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { acceptsAs } from './accepts-as.ts'
import { ScoredHeadline } from './schemas.ts'
import { SCORED } from './test-fixtures.ts'

describe('acceptsAs(ScoredHeadline)', () => {
  const accepts = acceptsAs(ScoredHeadline)

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
    '2026-03-02 08:00:00Z',
    'A'.repeat(1_001),
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

  /** `v` with the value at `path` replaced by `to` (DELETE: the key removed; EXTRA: an unknown key added there). */
  function changed(v: unknown, path: (string | number)[], to: unknown): unknown {
    const copy = structuredClone(v) as Record<string | number, unknown>
    let parent: Record<string | number, unknown> = copy
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>
    const last = path[path.length - 1]
    if (to === EXTRA) {
      const target = last === undefined ? copy : parent[last]
      if (typeof target === 'object' && target !== null && !Array.isArray(target))
        (target as Record<string, unknown>).sentimentV2 = 0
      return copy
    }
    if (last === undefined) return to
    if (to === DELETE) delete parent[last]
    else parent[last] = to
    return copy
  }

  it("agrees with zod's safeParse on every field of what the scorer writes, each replaced by a value of every kind", () => {
    let refused = 0
    let cases = 0
    for (const s of SCORED) {
      expect(accepts(s)).toBe(true)
      for (const path of paths(s)) {
        for (const to of [...REPLACEMENTS, DELETE, EXTRA]) {
          const v = changed(s, path, to)
          const zod = ScoredHeadline.safeParse(v).success
          expect(accepts(v), `${path.join('.')} → ${String(to)}`).toBe(zod)
          cases++
          if (!zod) refused++
        }
      }
    }
    // Most of the cases are refusals (of every kind), and some are not.
    expect(refused).toBeGreaterThan(cases / 2)
    expect(refused).toBeLessThan(cases)
  })

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
    const more = [null, undefined, ['a', null], ['b'], {}, { a: 'x' }, { a: 1 }, { b: 1 }, { a: undefined }]
    for (const schema of schemas)
      for (const v of [...values, ...more])
        expect(acceptsAs(schema)(v), `${JSON.stringify(v)}`).toBe(schema.safeParse(v).success)
  })

  it('refuses, where it is made, a schema it has no fast check for', () => {
    expect(() => acceptsAs(z.url())).toThrow(/no fast check for a url string/)
    expect(() => acceptsAs(z.record(z.string(), z.number()))).toThrow(/no fast check for a record schema/)
    expect(() => acceptsAs(z.object({}).catchall(z.number()))).toThrow(/an object with a catchall/)
    expect(() => acceptsAs(z.string().refine((s) => s !== 'x'))).toThrow(/no fast check for a custom check/)
    expect(() => acceptsAs(z.int32())).toThrow(/no fast check for a int32 number/)
  })
})

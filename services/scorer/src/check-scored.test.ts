import { type Headline, ScoredHeadline } from '@tradepulse/contracts'
import { createScorer } from '@tradepulse/scoring'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { acceptsAs, scoredHeadlineProblem } from './check-scored.ts'
import { scoreHeadline } from './score-headline.ts'

const AT = '2026-03-02T08:00:00.000Z'
const headline = (id: string, text: string, body?: string): Headline => ({
  id,
  source: 't',
  headline: text,
  ...(body === undefined ? {} : { body }),
  publishedAt: AT,
  ingestedAt: AT,
  truncated: false,
})
const TEXTS: [string, string?][] = [
  ['US raises tariffs on Chinese steel to 25% from 10%'],
  ['US and China agree to suspend tariffs for 90 days'],
  [
    'China halts exports of rare earths to US automakers',
    'Beijing said the curbs would stay until talks resume. Shipments of gallium were also suspended.',
  ],
  [
    'Chipmaker warns of shortage',
    'Factories in Taiwan cut capacity after the drought; the EU threatens duties.',
  ],
  ['Local bakery wins regional bread award', ''],
]
/** What the scorer writes for a few headlines, some with a body, some cut to the scorer's length limit. */
const written = (): ScoredHeadline[] =>
  [createScorer(), createScorer({ maxChars: 40 })].flatMap((scorer) =>
    TEXTS.map(([text, body], i) => scoreHeadline(scorer, headline(`h${i}`, text, body), new Date(AT))),
  )

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
    for (const s of written()) {
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

describe('scoredHeadlineProblem', () => {
  it('finds nothing wrong with what the scorer writes, spans into a body and text cut to its limit included', () => {
    const all = written()
    expect(all.some((s) => s.explanation.some((c) => c.span.field === 'body'))).toBe(true)
    expect(all.some((s) => s.truncated)).toBe(true)
    for (const s of all) expect(scoredHeadlineProblem(s), s.headline).toBeUndefined()
  })

  const [scored] = written()
  const withSpan = (span: { field: 'headline' | 'body'; start: number; end: number }) => ({
    ...scored!,
    explanation: [scored!.explanation[0]!, { ...scored!.explanation[0]!, span }],
  })
  const length = scored!.headline.length

  it.each([
    [
      'past the end of the text',
      { field: 'headline', start: 3, end: length + 1 },
      `explanation.1.span.end: ${length + 1} is past the end of the headline (${length} characters)`,
    ],
    ['reversed', { field: 'headline', start: 9, end: 4 }, 'explanation.1.span: start 9 is after end 4'],
    [
      'in a body the headline has not',
      { field: 'body', start: 0, end: 1 },
      'explanation.1.span.field: body, and the headline has none',
    ],
  ] as const)('names a span %s', (_, span, problem) => {
    expect(scoredHeadlineProblem(withSpan(span))).toBe(problem)
  })

  it('takes a span that ends at the end of the text, or is empty', () => {
    expect(scoredHeadlineProblem(withSpan({ field: 'headline', start: 0, end: length }))).toBeUndefined()
    expect(scoredHeadlineProblem(withSpan({ field: 'headline', start: length, end: length }))).toBeUndefined()
  })

  it("names a field the contract refuses with zod's words", () => {
    const s = { ...scored!, scores: { ...scored!.scores, uncertainty: Number.NaN } }
    expect(scoredHeadlineProblem(s)).toBe('scores.uncertainty: Invalid input: expected number, received NaN')
  })
})

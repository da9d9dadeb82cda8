import { Headline, LIMITS, RawHeadlineReader, TEXT_RULES, type TextRule } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { fastAccepts, fastRead } from './fast-check.ts'

const AT = '2026-03-02T08:00:00.000Z'
const RAW = {
  id: 'rt-1',
  source: 'Reuters',
  headline: 'US raises tariffs on Chinese steel',
  body: 'Washington said on Monday.\nBeijing vowed to respond.',
  url: 'https://example.com/a',
  publishedAt: '2026-03-02T07:59:00+01:00',
}
const HEADLINE: Headline = {
  id: 'rt-1',
  source: 'Reuters',
  headline: 'US raises tariffs on Chinese steel',
  body: 'Washington said on Monday.\nBeijing vowed to respond.',
  url: 'https://example.com/a',
  publishedAt: AT,
  ingestedAt: AT,
  truncated: false,
}
const ASTRAL = '📈'
/** Values of every kind, and strings at the length limits of both schemas, in UTF-16 units and in code points. */
const VALUES: unknown[] = [
  undefined,
  null,
  true,
  false,
  0,
  1,
  Number.NaN,
  '',
  'x',
  ' ',
  '\ud800',
  ASTRAL,
  'a'.repeat(100),
  'a'.repeat(101),
  ASTRAL.repeat(50),
  ASTRAL.repeat(51),
  `a${ASTRAL.repeat(50)}`,
  'a'.repeat(200),
  'a'.repeat(201),
  ASTRAL.repeat(100),
  `a${ASTRAL.repeat(100)}`,
  'a'.repeat(1_000),
  'a'.repeat(1_001),
  ASTRAL.repeat(500),
  ASTRAL.repeat(501),
  'a'.repeat(2_001),
  ASTRAL.repeat(1_000),
  'a'.repeat(20_001),
  ASTRAL.repeat(10_000),
  AT,
  '2026-03-02T08:00:00Z',
  '2026-03-02T09:00:00+01:00',
  '2026-02-30T08:00:00Z',
  // Either side of the years 1 to 9999 in UTC, which the contract's times hold.
  '9999-12-31T23:59:59.999Z',
  '9999-12-31T18:59:59.999-05:00',
  '9999-12-31T23:00:00-05:00',
  '0001-01-01T00:00:00Z',
  '0001-01-01T01:00:00+01:00',
  '0001-01-01T00:59:59.999+01:00',
  '0000-12-31T23:00:00-05:00',
  '0000-06-01T00:00:00Z',
  '2026-03-02 08:00:00Z',
  '2026-03-02T08:00:00',
  `${AT}\n`,
  [],
  ['x'],
  {},
  { x: 'y' },
]
const DELETE = Symbol('delete')
/** RawHeadline's optional fields. */
const OPTIONAL = ['id', 'source', 'body', 'url', 'publishedAt'] as const

/** `base` with each of its fields, and one unknown field, set to each value and deleted, and the whole replaced. */
function variants(base: Record<string, unknown>): unknown[] {
  const out: unknown[] = [base, ...VALUES]
  for (const key of [...Object.keys(base), 'extra', '__proto__']) {
    for (const v of [...VALUES, DELETE]) {
      const copy: Record<string, unknown> = { ...base }
      if (v === DELETE) delete copy[key]
      else
        Object.defineProperty(copy, key, { value: v, enumerable: true, writable: true, configurable: true })
      out.push(copy)
    }
  }
  // The same fields in the reverse order, as a producer may write them.
  out.push(Object.fromEntries(Object.entries(base).reverse()))
  return out
}

describe('fastRead(RawHeadlineReader)', () => {
  const read = fastRead(RawHeadlineReader)

  it('gives what zod gives, the same keys in the same order, or leaves the value to zod', () => {
    let taken = 0
    for (const v of variants(RAW)) {
      const fast = read(v)
      if (fast === undefined) continue
      taken++
      const parsed = RawHeadlineReader.safeParse(v)
      expect(parsed.success, JSON.stringify(v)?.slice(0, 200)).toBe(true)
      expect(JSON.stringify(Object.entries(fast))).toBe(JSON.stringify(Object.entries(parsed.data!)))
    }
    // Not a fast path that never runs: most variants of a valid record are taken without zod.
    expect(taken).toBeGreaterThan(100)
  })
  it('takes the common records: every field, a few, unknown ones dropped, keys in any order', () => {
    expect(read(RAW)).toEqual(RAW)
    expect(read({ headline: 'x' })).toEqual({ headline: 'x' })
    const reversed = read({ lang: 'en', publishedAt: AT, headline: 'x', id: 'a', meta: { x: 1 } })
    expect(reversed && Object.keys(reversed)).toEqual(['id', 'headline', 'publishedAt'])
  })
  it('leaves to zod what only zod can decide: a field present as undefined, an id of 101 astral characters', () => {
    expect(read({ headline: 'x', id: undefined })).toBeUndefined()
    const astral = { headline: 'x', id: ASTRAL.repeat(101) }
    expect(read(astral)).toBeUndefined()
    // zod counts code points: 101 of them (202 UTF-16 units) is within the 200 an id may have.
    expect(RawHeadlineReader.safeParse(astral).success).toBe(true)
  })
  it('takes null in an optional field, as zod does, with the same keys in the same order; leaves nothing of it to zod', () => {
    // What Jackson, Go pointer fields, Python's None and most ORMs write for a field they have no value of.
    const nulls = [
      ...OPTIONAL.map((f) => ({ ...RAW, [f]: null })),
      ...OPTIONAL.map((f) => ({ headline: 'x', [f]: null })),
      { ...Object.fromEntries(OPTIONAL.map((f) => [f, null])), headline: 'x', lang: null },
      { body: null, headline: 'x', id: null, publishedAt: null, url: null },
    ]
    for (const v of nulls) {
      const parsed = RawHeadlineReader.safeParse(v)
      expect(parsed.success, JSON.stringify(v)).toBe(true)
      const fast = read(v)
      expect(fast, JSON.stringify(v)).toBeDefined()
      expect(JSON.stringify(Object.entries(fast!))).toBe(JSON.stringify(Object.entries(parsed.data!)))
    }
    // Required, null is no headline: refused by both, zod naming it.
    for (const v of [{ headline: null }, { ...RAW, headline: null }]) {
      expect(read(v)).toBeUndefined()
      expect(RawHeadlineReader.safeParse(v).error?.issues.map((i) => i.path.join('.'))).toEqual(['headline'])
    }
  })
  it('never takes a string too short in code points, though long enough in UTF-16 units', () => {
    const schema = z.object({ s: z.string().min(3) })
    const read3 = fastRead(schema)
    // Two astral characters: 4 units, 2 code points, which zod refuses.
    for (const s of [
      '',
      'ab',
      ASTRAL,
      ASTRAL.repeat(2),
      `a${ASTRAL}`,
      'abc',
      `ab${ASTRAL}`,
      ASTRAL.repeat(3),
    ]) {
      const fast = read3({ s })
      if (fast !== undefined) expect(schema.safeParse({ s }).success, s).toBe(true)
    }
    expect(read3({ s: 'abcde' })).toEqual({ s: 'abcde' })
    expect(read3({ s: ASTRAL.repeat(2) })).toBeUndefined()
  })
})

describe('fastAccepts(Headline)', () => {
  const accepts = fastAccepts(Headline)

  it('is true only of what zod accepts, and of the headlines ingest writes', () => {
    let taken = 0
    for (const v of variants(HEADLINE)) {
      if (!accepts(v)) continue
      taken++
      expect(Headline.safeParse(v).success, JSON.stringify(v)?.slice(0, 200)).toBe(true)
    }
    expect(taken).toBeGreaterThan(50)
    const { body: _b, url: _u, ...bare } = HEADLINE
    expect([accepts(HEADLINE), accepts(bare)]).toEqual([true, true])
  })
  it('never takes a null: the headlines topic has none, though the raw input may', () => {
    for (const field of Object.keys(HEADLINE)) {
      const v = { ...HEADLINE, [field]: null }
      expect([field, accepts(v), Headline.safeParse(v).success]).toEqual([field, false, false])
    }
  })
  it('checks each time against its pattern, whatever time it passed last', () => {
    const at = (ingestedAt: string) => accepts({ ...HEADLINE, ingestedAt })
    const BAD = '2026-02-30T08:00:00.000Z'
    expect([AT, BAD, BAD, AT, 'x', 'x', '2026-03-02T08:00:01.000Z', `${AT} `].map(at)).toEqual([
      true,
      false,
      false,
      true,
      false,
      false,
      true,
      false,
    ])
  })
})

describe('fastAccepts(Headline) by the text rules’ tests', () => {
  /**
   * Headline as it was before the rules' tests were taken: each pattern a copy (another object), which
   * fast-check knows no test of, so it is checked as a pattern.
   */
  const heldTo = (text: z.ZodString, ...rules: TextRule[]) =>
    rules.reduce((s, r) => s.regex(new RegExp(r.pattern.source, r.pattern.flags), r.message), text)
  const { wellFormed, noControl, noControlButLineFeed, showsSomething, readable } = TEXT_RULES
  const ByPatterns = z.strictObject({
    id: heldTo(z.string().min(1).max(LIMITS.maxIdChars), wellFormed, noControl, showsSomething),
    source: heldTo(z.string().min(1).max(LIMITS.maxSourceChars), wellFormed, noControl, showsSomething),
    headline: heldTo(z.string().min(1).max(LIMITS.maxHeadlineChars), wellFormed, noControl, readable),
    body: heldTo(z.string().max(LIMITS.maxBodyChars), wellFormed, noControlButLineFeed).optional(),
    url: heldTo(z.string().max(LIMITS.maxUrlChars), wellFormed).optional(),
    publishedAt: Headline.shape.publishedAt,
    ingestedAt: Headline.shape.ingestedAt,
    truncated: z.boolean(),
  })
  const byTests = fastAccepts(Headline)
  const byPatterns = fastAccepts(ByPatterns)
  const LONG = 'Washington said on Monday it would raise tariffs. '.repeat(40).slice(0, 2_000)
  /** Texts at the edges of every rule: lone surrogates, C0 and C1 controls, blank and invisible text, long bodies. */
  const TEXTS = [
    '',
    'x',
    '1',
    'Steel',
    // Lone surrogates, high and low, alone, at either end and inside; a pair, and one reversed.
    '\ud800',
    '\udfff',
    'a\ud800',
    '\udc00a',
    'a\ud83db',
    '\ud83d\udcc8',
    'up \ud83d\udcc8',
    '\udcc8\ud83d',
    '\ud800\ud800',
    // C0 and C1 controls, the line feed and the white space among them; DEL; NBSP is no control.
    ...['\u0000', '\t', '\n', '\u000b', '\r', '\u001f', '\u007f', '\u0080', '\u0085', '\u009f'].flatMap(
      (c) => [c, `a${c}`, `${c}a`, `a${c}b`],
    ),
    'a\u00a0b',
    // Blank, invisible or unreadable: white space, default-ignorables, the braille blank, Hangul fillers,
    // tag characters, a lone combining mark, symbols only.
    ' ',
    '\u3000',
    '\u2028',
    '\u200b',
    '\ufeff',
    '\u00ad',
    '\u2800',
    '\u3164',
    '\u115f\u1160',
    '\uffa0',
    '\u{e0041}\u{e0042}',
    '\u034f',
    '\u0301',
    '\u{1d173}',
    '$%&',
    '\ud83d\udcc8\ud83d\udcc9',
    ' \u200bx',
    '\u2800 1',
    '\u3164a',
    // Long bodies, plain and with one fault at their end; at and past the limits, in units and code points.
    LONG,
    `${LONG}\ud800`,
    `${LONG}\u0085`,
    `${LONG}\n${LONG}`,
    `\u200b${LONG}`,
    'a'.repeat(LIMITS.maxHeadlineChars),
    'a'.repeat(LIMITS.maxHeadlineChars + 1),
    'a'.repeat(LIMITS.maxBodyChars),
    'a'.repeat(LIMITS.maxBodyChars + 1),
    `${'a'.repeat(LIMITS.maxBodyChars - 1)}\u0000`,
    `${'a'.repeat(LIMITS.maxBodyChars - 1)}\udfff`,
  ]
  const FIELDS = ['id', 'source', 'headline', 'body', 'url'] as const

  it('accepts and refuses what the patterns do, and what zod does, in every text field', () => {
    let accepted = 0
    let refused = 0
    for (const field of FIELDS)
      for (const text of TEXTS) {
        const v = { ...HEADLINE, [field]: text }
        const what = `${field} ${JSON.stringify(text.length > 40 ? `${text.slice(0, 20)}…${text.slice(-5)}` : text)}`
        const fast = byTests(v)
        expect(fast, what).toBe(byPatterns(v))
        // Within the UTF-16 bounds (no run of astral characters at a limit), both are zod's verdict itself.
        expect(fast, what).toBe(Headline.safeParse(v).success)
        expect(ByPatterns.safeParse(v).success, what).toBe(Headline.safeParse(v).success)
        if (fast) accepted++
        else refused++
      }
    // Each side taken by many: not a check that passes by refusing (or accepting) everything.
    expect([accepted > 50, refused > 100]).toEqual([true, true])
  })
  it('checks every text field by its rules’ tests, no pattern of theirs', () => {
    // The rules' tests give a lone surrogate's verdict themselves: the patterns, never run, are not asked.
    const exec = RegExp.prototype.exec
    const ran: RegExp[] = []
    RegExp.prototype.exec = function (this: RegExp, s: string) {
      ran.push(this)
      return exec.call(this, s)
    }
    try {
      for (const field of FIELDS) byTests({ ...HEADLINE, [field]: `${LONG}\u0000` })
      expect(byTests(HEADLINE)).toBe(true)
    } finally {
      RegExp.prototype.exec = exec
    }
    const patterns = new Set<RegExp>(Object.values(TEXT_RULES).map((r) => r.pattern))
    expect(ran.filter((p) => patterns.has(p))).toEqual([])
  })
})

describe('fast-check', () => {
  it('judges a nullable field as zod does, optional or not, and gives its null on', () => {
    const schema = z.strictObject({
      a: z.string().min(1).nullable(),
      b: z.string().max(3).nullish(),
      c: z.string().nullable().optional(),
      d: z.boolean().optional().nullable(),
    })
    const read = fastRead(schema)
    const accepts = fastAccepts(schema)
    let taken = 0
    for (const v of variants({ a: 'x', b: null, c: 'y', d: null })) {
      const parsed = schema.safeParse(v)
      const fast = read(v)
      // The same verdict, but where zod alone decides: a key present as undefined (no JSON value is).
      const zodAlone = typeof v === 'object' && v !== null && Object.values(v).includes(undefined)
      if (!zodAlone) expect(fast !== undefined, JSON.stringify(v)?.slice(0, 80)).toBe(parsed.success)
      if (fast === undefined) continue
      taken++
      expect(accepts(v)).toBe(true)
      expect(JSON.stringify(Object.entries(fast))).toBe(JSON.stringify(Object.entries(parsed.data!)))
    }
    expect(taken).toBeGreaterThan(10)
    expect(read({ a: null })).toEqual({ a: null })
    expect(read({ a: 'x', b: null, c: null, d: null })).toEqual({ a: 'x', b: null, c: null, d: null })
    expect(read({})).toBeUndefined()
  })
  it.each([
    ['a number field', z.object({ n: z.number() })],
    ['a nested object', z.object({ o: z.object({ s: z.string() }) })],
    ['a refinement', z.object({ s: z.string().refine((s) => s !== 'x') })],
    ['a url string', z.object({ s: z.url() })],
    ['an object with a catchall', z.object({ s: z.string() }).catchall(z.string())],
    ['not an object', z.string()],
  ])('refuses to be made for %s, where it would not know zod’s verdict', (_, schema) => {
    expect(() => fastRead(schema)).toThrow(/no fast path/)
    expect(() => fastAccepts(schema)).toThrow(/no fast path/)
  })
})

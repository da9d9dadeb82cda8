import { RE2JS } from 're2js'
import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { acceptsAs } from './accepts-as.ts'
import { formatIssues } from './format-issues.ts'
import { exportJsonSchemas, TEXT_RULES_KEYWORD } from './json-schema.ts'
import { readerOf } from './reader.ts'
import {
  Headline,
  HeadlineReader,
  LIMITS,
  ScoredHeadline,
  ScoredHeadlineReader,
  ScoredIndicatorInput,
} from './schemas.ts'
import { scoredHeadlineProblem } from './scored-headline-problem.ts'
import { SCORED } from './test-fixtures.ts'
import { normalizeText, showsNothing, TEXT_RULES, type TextRule, truncate } from './text.ts'

const T = '2026-03-02T08:00:00.000Z'
const HEADLINE: Headline = {
  id: 'rt-1',
  source: 'Reuters',
  headline: 'US raises tariffs on Chinese steel',
  body: 'Washington said on Monday.\nBeijing vowed to respond.',
  url: 'https://example.com/a',
  publishedAt: T,
  ingestedAt: T,
  truncated: false,
}
const [scored] = SCORED

const verdict = (schema: z.ZodType, value: unknown) => {
  const r = schema.safeParse(value)
  return r.success ? 'ok' : formatIssues(r.error)
}

const { wellFormed, noControl, noControlButLineFeed, showsSomething, readable } = TEXT_RULES

/** [what, the field, its value: one ingest never writes, the message the contract gives]. */
const REFUSED: [string, keyof Headline, string, string][] = [
  ['a lone surrogate in the headline', 'headline', 'US tariffs \ud800 on steel', wellFormed.message],
  ['a lone low surrogate in the body', 'body', 'China \udc00 retaliates', wellFormed.message],
  ['a lone surrogate in the source', 'source', 'wire\udbff', wellFormed.message],
  ['a lone surrogate in the id', 'id', 'a\udfff', wellFormed.message],
  ['a lone surrogate in the url', 'url', 'https://example.com/\ud800', wellFormed.message],
  ['U+0000 and BEL in the headline', 'headline', 'US tariffs\u0000\u0007 on steel', noControl.message],
  ['a tab in the headline', 'headline', 'US\ttariffs', noControl.message],
  ['a line feed in the headline', 'headline', 'US tariffs\non steel', noControl.message],
  ['a C1 control in the source', 'source', 'wire\u0085', noControl.message],
  ['U+0000 in the id', 'id', 'a\u0000', noControl.message],
  ['DEL in the id', 'id', 'rt-\u007f1', noControl.message],
  [
    'a carriage return in the body',
    'body',
    'Tariffs lifted.\r\nChina halts exports',
    noControlButLineFeed.message,
  ],
  ['U+0000 in the body', 'body', 'Tariffs\u0000 lifted', noControlButLineFeed.message],
  ['a headline of spaces', 'headline', '   ', readable.message],
  ['a headline of Hangul fillers and the braille blank', 'headline', '\u3164\u2800\u200b', readable.message],
  ['a headline of symbols only', 'headline', '— ! 📉', readable.message],
  ['an id of spaces', 'id', '   ', showsSomething.message],
  ['an id of zero-width characters', 'id', '\u200b\u200d\ufeff', showsSomething.message],
  ['a source of a Hangul filler', 'source', '\u3164', showsSomething.message],
]

/** What ingest writes beside the usual: each is taken. */
const TAKEN: [string, Partial<Headline>][] = [
  ['a body of several lines', { body: 'Tariffs lifted.\nChina halts exports\nTalks end' }],
  ['a headline of a digit', { headline: '7' }],
  ['a headline of one CJK letter among symbols', { headline: '— 漢 —' }],
  ['astral characters', { headline: '𝐔𝐒 tariffs 📉', body: '𝐓𝐚𝐫𝐢𝐟𝐟 📉' }],
  ['a combining mark', { headline: 'Te\u0301st' }],
  ['an id with invisible and white space characters among others', { id: ' a\u200bb ' }],
  ['ingest’s content id', { id: 'h0123456789abcdef0123456789abcdef' }],
  [
    'a url with a control character (ingest drops one, another producer may write it)',
    { url: 'https://example.com/\u0007' },
  ],
  ['a body of invisible characters (ingest keeps what normalisation leaves)', { body: '\u3164' }],
]

describe('Headline: its text is held to what ingest writes', () => {
  const schemas: [string, z.ZodType, (h: Partial<Headline>) => unknown][] = [
    ['Headline', Headline, (h) => ({ ...HEADLINE, ...h })],
    ['HeadlineReader', HeadlineReader, (h) => ({ ...HEADLINE, ...h })],
    ['ScoredHeadline', ScoredHeadline, (h) => ({ ...scored, ...h })],
    ['ScoredHeadlineReader', ScoredHeadlineReader, (h) => ({ ...scored, ...h })],
  ]
  it.each(REFUSED)('refuses %s, naming the field and the rule', (_, field, value, message) => {
    for (const [name, schema, make] of schemas)
      expect(`${name} ${verdict(schema, make({ [field]: value }))}`).toBe(`${name} ${field}: ${message}`)
  })
  it.each(TAKEN)('takes %s', (_, fields) => {
    for (const [name, schema, make] of schemas)
      expect(`${name} ${verdict(schema, make(fields))}`).toBe(`${name} ok`)
  })
  it('refuses an id with a control character in the indicators’ reader too, which reads the id as the contract does', () => {
    expect(verdict(ScoredIndicatorInput, { ...scored, id: 'a\u0000' })).toBe(`id: ${noControl.message}`)
  })
  it('names every rule a field breaks', () => {
    expect(verdict(Headline, { ...HEADLINE, id: '\u0000\ud800' })).toBe(
      `id: ${wellFormed.message}; id: ${noControl.message}`,
    )
  })

  it('takes every headline ingest’s normalisation makes of any text (a property over seeded random texts)', () => {
    // Characters of every kind normalisation treats apart: controls and white space, invisible and
    // compatibility characters (ﬁ, full-width, ﷺ expands eighteen-fold), marks, astral characters.
    const pool = [
      ...Array.from({ length: 0x250 }, (_, c) => String.fromCharCode(c)),
      ...'\u034f\u061c\u115f\u1160\u1680\u17b4\u180b\u180e\u2000\u200a\u200b\u200d\u200f\u2028\u2029\u202e',
      ...'\u202f\u205f\u2060\u2066\u2800\u3000\u3164\ufb01\ufdfa\ufe0f\ufeff\uff34\uff9e\uffa0\ufff9\u0301',
      ...['📉', '\u{1d400}', '\u{e0041}', '\u{e0020}', '\u{1bca0}', '\u{1d173}', '\u{1d167}', '\u{2f800}'],
    ]
    let seed = 7
    const next = (n: number) => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0
      return seed % n
    }
    const text = (max: number) => {
      let s = ''
      for (let i = next(max); i > 0; i--) s += pool[next(pool.length)]
      return s
    }
    const rules = new Set<string>(Object.values(TEXT_RULES).map((r) => r.message))
    const refused: string[] = []
    let taken = 0
    for (let t = 0; t < 20_000; t++) {
      const long = next(40) === 0
      // As services/ingest's parseRawRecord makes a headline of a raw one (its id kept as given, when
      // ingest takes it: not blank, no control character, no lone surrogate).
      const headline = truncate(normalizeText(text(long ? 1_500 : 30)), LIMITS.maxHeadlineChars)
      if (!readable.pattern.test(headline.text)) continue
      const body = truncate(normalizeText(text(long ? 25_000 : 60), true), LIMITS.maxBodyChars)
      const source = normalizeText(text(long ? 150 : 10))
      const id = text(long ? 250 : 8)
      const ingestTakesId = !showsNothing(id) && !/\p{Cc}/u.test(id)
      const h = {
        id: ingestTakesId ? id : 'h0123456789abcdef0123456789abcdef',
        source: showsNothing(source) ? 'unknown' : source,
        headline: headline.text,
        ...(body.text ? { body: body.text } : {}),
        publishedAt: T,
        ingestedAt: T,
        truncated: headline.truncated || body.truncated,
      }
      const r = Headline.safeParse(h)
      if (r.success) taken++
      // Ingest refuses one that normalisation took past a length limit (NFKC expands): not these rules.
      else if (r.error.issues.some((i) => rules.has(i.message))) refused.push(formatIssues(r.error))
    }
    expect(refused.slice(0, 5)).toEqual([])
    expect(taken).toBeGreaterThan(10_000)
  })
})

describe('Headline JSON Schema: consumers are told the text rules', () => {
  type Node = {
    pattern?: string
    allOf?: Node[]
    description?: string
    [TEXT_RULES_KEYWORD]?: Record<string, { ecmaScriptUnicodePattern: string; portablePattern: string }>
  }
  const files = exportJsonSchemas() as Record<string, { properties: Record<string, Node> }>
  /** [field, the rules it is held to, a value that breaks one, a value that keeps them]. */
  const FIELDS: [keyof Headline, (keyof typeof TEXT_RULES)[], string, string][] = [
    ['id', ['wellFormed', 'noControl', 'showsSomething'], ' \u200b ', 'a b'],
    ['source', ['wellFormed', 'noControl', 'showsSomething'], 'wire\u0000', 'wire'],
    ['headline', ['wellFormed', 'noControl', 'readable'], '— 📉', 'US tariffs'],
    ['body', ['wellFormed', 'noControlButLineFeed'], 'a\r\nb', 'a\nb'],
    ['url', ['wellFormed'], 'https://x/\ud800', 'https://x/'],
  ]
  it.each(FIELDS)(
    'gives %s its rules, exactly in x-tradepulse-text-rules and as portable patterns where they can be, in every file that carries it',
    (field, names, bad, good) => {
      for (const name of ['Headline', 'Headline.strict', 'ScoredHeadline', 'ScoredHeadline.strict']) {
        const node = files[name]!.properties[field]!
        const stated = node[TEXT_RULES_KEYWORD]!
        expect(Object.keys(stated), `${name} ${field}`).toEqual(names)
        const exact = Object.values(stated).map((r) => r.ecmaScriptUnicodePattern)
        expect(exact, `${name} ${field}`).toEqual(names.map((n) => TEXT_RULES[n].pattern.source))
        expect(node.description, `${name} ${field}`).toMatch(/lone surrogate/)
        // As a JavaScript consumer can check the annotation (the u flag): the rules' verdict.
        const test = (v: string) => exact.every((p) => new RegExp(p, 'u').test(v))
        expect([test(bad), test(good)], `${name} ${field}`).toEqual([false, true])
        // The patterns, as any validator reads them: the good value taken, and the bad one refused where
        // the rule it breaks has an exact portable pattern.
        const patterns = node.allOf?.map((n) => n.pattern!) ?? (node.pattern ? [node.pattern] : [])
        const broken = names.filter((n) => !TEXT_RULES[n].test(bad))
        const portable = (v: string) => patterns.every((p) => new RegExp(p).test(v))
        expect(portable(good), `${name} ${field}`).toBe(true)
        if (broken.some((n) => (TEXT_RULES[n] as TextRule).portable?.exact))
          expect(portable(bad), `${name} ${field}`).toBe(false)
        // And as Go's regexp reads them, on what UTF-8 can hold.
        const re2 = patterns.map((p) => RE2JS.compile(p))
        const testRe2 = (v: string) => re2.every((r) => r.matcher(v).find())
        expect(testRe2(good), `${name} ${field}`).toBe(true)
      }
    },
  )
})

describe("Headline's flags of what ingest changed (urlDropped, sourceTruncated, surrogatesReplaced): new optional fields", () => {
  const FLAGS = ['urlDropped', 'sourceTruncated', 'surrogatesReplaced'] as const
  const flagged = Object.fromEntries(FLAGS.map((f) => [f, true])) as Partial<Headline>
  const checks: [string, (value: unknown) => string][] = [
    ...(
      [
        ['Headline', Headline],
        ['HeadlineReader', HeadlineReader],
        ['ScoredHeadline', ScoredHeadline],
        ['ScoredHeadlineReader', ScoredHeadlineReader],
      ] as const
    ).map(([name, schema]): [string, (value: unknown) => string] => [name, (v) => verdict(schema, v)]),
    ['acceptsAs(ScoredHeadline)', (v) => (acceptsAs(ScoredHeadline)(v) ? 'ok' : 'refused')],
    ['scoredHeadlineProblem', (v) => scoredHeadlineProblem(v as ScoredHeadline) ?? 'ok'],
  ]
  const scoredOnly = (name: string) => name.includes('Scored') || name.includes('scored')

  it('takes a record written before they existed, in every schema, reader and check, and reads no flag into it', () => {
    for (const [name, check] of checks) {
      const records = scoredOnly(name) ? SCORED : [HEADLINE]
      for (const r of records) {
        expect(FLAGS.filter((f) => f in r)).toEqual([])
        expect(`${name} ${check(r)}`).toBe(`${name} ok`)
      }
    }
    // Read, nothing is added: an old record stays as it was written (absent is false).
    for (const r of [HeadlineReader.parse(HEADLINE), ScoredHeadlineReader.parse(scored)])
      expect(FLAGS.filter((f) => f in r)).toEqual([])
  })
  it('takes and keeps each flag, true or false; refuses one that is not a boolean, naming it', () => {
    for (const [name, check] of checks) {
      const base = scoredOnly(name) ? scored : HEADLINE
      expect(`${name} ${check({ ...base, ...flagged })}`).toBe(`${name} ok`)
      expect(`${name} ${check({ ...base, urlDropped: false })}`).toBe(`${name} ok`)
      expect(`${name} ${check({ ...base, sourceTruncated: 'yes' })}`).not.toBe(`${name} ok`)
    }
    expect(verdict(Headline, { ...HEADLINE, surrogatesReplaced: 1 })).toBe(
      'surrogatesReplaced: Invalid input: expected boolean, received number',
    )
    expect(HeadlineReader.parse({ ...HEADLINE, ...flagged })).toEqual({ ...HEADLINE, ...flagged })
    expect(ScoredHeadlineReader.parse({ ...scored, ...flagged })).toEqual({ ...scored, ...flagged })
  })
  it('is read by a reader of before them, which drops them: producers may go first (the deploy-order rule)', () => {
    const before = readerOf(
      Headline.omit({ urlDropped: true, sourceTruncated: true, surrogatesReplaced: true }),
    )
    expect(before.parse({ ...HEADLINE, ...flagged })).toEqual(HEADLINE)
  })
  it('gives them to consumers in the JSON Schema as optional booleans, described', () => {
    type File = { properties: Record<string, { type?: string; description?: string }>; required: string[] }
    const files = exportJsonSchemas() as Record<string, File>
    for (const name of ['Headline', 'Headline.strict', 'ScoredHeadline', 'ScoredHeadline.strict']) {
      const file = files[name]!
      for (const flag of FLAGS) {
        expect([name, flag, file.properties[flag]?.type]).toEqual([name, flag, 'boolean'])
        expect(file.properties[flag]?.description, `${name} ${flag}`).toMatch(
          /^True when .*Absent \(false\)/s,
        )
        expect(file.required, `${name} ${flag}`).not.toContain(flag)
      }
      expect(file.required, name).toContain('truncated')
    }
  })
})

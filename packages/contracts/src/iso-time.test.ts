import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { acceptsAs } from './accepts-as.ts'
import { formatIssues } from './format-issues.ts'
import { ISO_TIME_MAX_MS, ISO_TIME_MIN_MS, ISO_TIME_OUT_OF_RANGE, IsoTime } from './iso-time.ts'
import { exportJsonSchemas } from './json-schema.ts'
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
import { ALERTS, SCORED, UPDATES } from './test-fixtures.ts'

const two = (n: number) => String(n).padStart(2, '0')
/** An offset of `minutes` east of UTC as ISO writes it (`Z` for none). */
const offset = (minutes: number) =>
  minutes === 0
    ? 'Z'
    : `${minutes < 0 ? '-' : '+'}${two(Math.floor(Math.abs(minutes) / 60))}:${two(Math.abs(minutes) % 60)}`
/** Whether every worker can write the time back: its UTC instant is in the years 1 to 9999. */
const writable = (t: string) => {
  const ms = Date.parse(t)
  return ms >= ISO_TIME_MIN_MS && ms <= ISO_TIME_MAX_MS && /^\d{4}-/.test(new Date(ms).toISOString())
}

describe('IsoTime: the times of every payload', () => {
  const fast = acceptsAs(IsoTime)

  it('takes a time exactly when its UTC instant is in the years 1 to 9999, at every minute and offset of the days at the edges', () => {
    let refused = 0
    let cases = 0
    for (const day of ['0000-01-01', '0000-12-31', '0001-01-01', '0001-01-02', '9999-12-30', '9999-12-31'])
      for (let local = 0; local < 1440; local++) {
        const time = `${day}T${two(Math.floor(local / 60))}:${two(local % 60)}`
        // Every 31st offset, and every offset next to the ones that reach midnight with this local time.
        const offsets = new Set<number>()
        for (let o = -1439 + (local % 31); o <= 1439; o += 31) offsets.add(o)
        for (const edge of [local - 1440, local]) for (const d of [-1, 0, 1]) offsets.add(edge + d)
        for (const o of offsets) {
          if (Math.abs(o) > 1439) continue
          {
            const t = `${time}${[':00', ':59.999', ':00.0000001'][(local + o + 1440) % 3]}${offset(o)}`
            cases++
            const ok = writable(t)
            if (!ok) refused++
            // The fast check is the pattern alone, zod's whole check: one verdict.
            if (fast(t) !== ok) expect(`${t} ${fast(t)}`).toBe(`${t} ${ok}`)
          }
        }
      }
    expect(refused).toBeGreaterThan(cases / 10)
    expect(refused).toBeLessThan(cases / 2)
  })

  it.each([
    ['9999-12-31T23:00:00-05:00', '+010000-01-01T04:00:00.000Z'],
    ['9999-12-31T23:59:59-23:59', '+010000-01-01T23:58:59.000Z'],
    ['9999-12-31T12:00:00-12:00', '+010000-01-01T00:00:00.000Z'],
    ['0001-01-01T00:00:00+00:01', '0000-12-31T23:59:00.000Z'],
    ['0001-01-01T00:59:59.999+01:00', '0000-12-31T23:59:59.999Z'],
    ['0000-06-15T12:00:00Z', '0000-06-15T12:00:00.000Z'],
    ['0000-12-31T23:00:00+05:00', '0000-12-31T18:00:00.000Z'],
  ])('refuses %s (%s in UTC), naming why', (t, utc) => {
    expect(new Date(Date.parse(t)).toISOString()).toBe(utc)
    expect(IsoTime.safeParse(t).error?.issues.map((i) => i.message)).toEqual([ISO_TIME_OUT_OF_RANGE])
    expect(fast(t)).toBe(false)
  })

  it.each([
    '9999-12-31T23:59:59.999Z',
    '9999-12-31T23:59:59.9999999Z',
    '9999-12-31T18:59:59.999-05:00',
    '9999-12-31T23:59:59+00:00',
    '9999-12-31T23:59:59-00:00',
    '9999-12-30T23:00:00-23:59',
    '0001-01-01T00:00:00Z',
    '0001-01-01T01:00:00+01:00',
    '0001-01-02T00:00:00+23:59',
    '0000-12-31T23:00:00-05:00',
    '2026-03-02T08:00:00+01:00',
  ])('takes %s, which toISOString writes back as a time it takes too', (t) => {
    expect(IsoTime.safeParse(t).success).toBe(true)
    expect(fast(t)).toBe(true)
    expect(IsoTime.safeParse(new Date(Date.parse(t)).toISOString()).success).toBe(true)
  })

  it('tells a string that is no datetime as zod does, and a value that is no string', () => {
    for (const t of [
      '2026-02-30T08:00:00Z',
      '2026-03-02 08:00:00Z',
      '+010000-01-01T04:00:00.000Z',
      '9999-12-31T23:00:00-05:00x',
    ])
      expect(IsoTime.safeParse(t).error?.issues.map((i) => i.message)).toEqual(['Invalid ISO datetime'])
    expect(IsoTime.safeParse(5).error?.issues.map((i) => i.message)).toEqual([
      'Invalid input: expected string, received number',
    ])
  })

  it('is every time of every payload: the strict schemas and the readers refuse one out of range, naming the field', () => {
    const year10000 = '9999-12-31T23:00:00-05:00'
    const scored = SCORED[0]!
    const cases: [z.ZodType, Record<string, unknown>, string[]][] = [
      [RawHeadline, { headline: 'x' }, ['publishedAt']],
      [Headline, { ...Headline.parse(Headline.strip().parse(scored)) }, ['publishedAt', 'ingestedAt']],
      [ScoredHeadline, { ...scored }, ['publishedAt', 'ingestedAt', 'scoredAt']],
      [ScoredIndicatorInput, { ...scored }, ['publishedAt', 'ingestedAt']],
      [IndicatorUpdate, { ...UPDATES[0]! }, ['asOf', 'updatedAt', 'ingestedAt']],
      [Alert, { ...ALERTS[0]! }, ['publishedAt', 'ingestedAt', 'detectedAt']],
    ]
    const readers = new Map<z.ZodType, z.ZodType>([
      [RawHeadline, RawHeadlineReader],
      [Headline, HeadlineReader],
      [ScoredHeadline, ScoredHeadlineReader],
      [IndicatorUpdate, IndicatorUpdateReader],
      [Alert, AlertReader],
    ])
    for (const [schema, base, fields] of cases) {
      for (const s of [schema, readers.get(schema)].filter((x) => x !== undefined)) {
        expect(s.safeParse(base).success).toBe(true)
        for (const field of fields) {
          const parsed = s.safeParse({ ...base, [field]: year10000 })
          expect(parsed.success ? 'ok' : formatIssues(parsed.error), field).toBe(
            `${field}: ${ISO_TIME_OUT_OF_RANGE}`,
          )
        }
      }
    }
  })

  it('gives other teams the rule in every payload JSON Schema: one short pattern in RE2 syntax, once per file, stated in words, judging as zod does but on three edge days', () => {
    // Every node of the exported schemas that is a time (format date-time), wherever it sits ($defs or inline).
    const times = (node: unknown): Record<string, unknown>[] =>
      !node || typeof node !== 'object'
        ? []
        : [
            ...((node as Record<string, unknown>).format === 'date-time'
              ? [node as Record<string, unknown>]
              : []),
            ...Object.values(node).flatMap(times),
          ]
    const files = exportJsonSchemas()
    const patterns = new Set<string>()
    for (const [name, schema] of Object.entries(files)) {
      const found = times(schema)
      expect(found.length, name).toBeGreaterThan(0)
      for (const time of found) {
        expect(time.type, name).toBe('string')
        expect(time.description, name).toMatch(/years 1 to 9999 in UTC/)
        patterns.add(time.pattern as string)
        // Written once per file, however many times the payload holds: every time field refers to it.
        expect(JSON.stringify(schema).split(JSON.stringify(time.pattern)).length - 1, name).toBe(1)
      }
    }
    expect(patterns.size).toBe(1)
    const [source] = [...patterns]
    // Short: the exact range in RE2's syntax is 173,431 characters (every minute of the three edge days spelt
    // out against its offsets; 1,597 with a lookahead and a backreference, which Go's and Rust's engines refuse).
    expect(source!.length).toBeLessThan(1_000)
    expect(source).not.toMatch(/\(\?<?[=!]|\\[1-9]/)
    // As a consumer's validator compiles it (ECMA-262; ajv adds the u flag); iso-time-re2.test.ts compiles it
    // with an RE2 and holds it to zod's verdict on a million strings more.
    const exported = new RegExp(source!, 'u')
    const table: [string, boolean][] = [
      ['2026-03-02T08:00:00Z', true],
      ['2026-03-02T08:00:00.123456+05:30', true],
      ['2024-02-29T23:59:59-23:59', true],
      ['9999-12-31T23:59:59.999Z', true],
      ['9999-12-31T18:59:59.999-05:00', true],
      ['9999-12-31T00:00:00-23:59', true],
      ['9999-12-31T12:29:59-11:30', true],
      ['9999-12-31T23:00:00+23:00', true],
      ['9999-12-31T23:59:59-00:00', true],
      ['9999-12-30T23:00:00-23:59', true],
      ['0001-01-01T00:00:00Z', true],
      ['0001-01-01T01:00:00+01:00', true],
      ['0001-01-01T12:30:00+12:30', true],
      ['0001-01-01T00:00:00-05:00', true],
      ['0001-01-02T00:00:00+23:59', true],
      ['0000-12-31T23:00:00-05:00', true],
      ['0000-12-31T12:00:00-12:00', true],
      ['0000-12-31T00:01:00-23:59', true],
      ['9999-12-31T23:00:00-05:00', false],
      ['9999-12-31T12:00:00-12:00', false],
      ['9999-12-31T12:30:00-11:30', false],
      ['9999-12-31T00:01:00-23:59', false],
      ['9999-12-31T23:59:59.999-00:01', false],
      ['0001-01-01T00:00:00+00:01', false],
      ['0001-01-01T12:29:59.999+12:30', false],
      ['0001-01-01T00:59:59.999+01:00', false],
      ['0000-12-31T00:00:00-23:59', false],
      ['0000-12-31T11:59:59.999-12:00', false],
      ['0000-12-31T23:00:00+05:00', false],
      ['0000-06-15T12:00:00Z', false],
      ['2026-02-30T08:00:00Z', false],
      ['2026-03-02 08:00:00Z', false],
      ['2026-03-02T08:00:00', false],
      ['+010000-01-01T04:00:00.000Z', false],
      ['9999-12-31T23:00:00-05:00x', false],
    ]
    for (const [t, takes] of table) {
      expect(`${t} ${IsoTime.safeParse(t).success}`).toBe(`${t} ${takes}`)
      expect(`${t} ${fast(t)}`).toBe(`${t} ${takes}`)
      // The pattern takes every well-formed time of 0000-12-31, 0001-01-01 and 9999-12-31 (the description
      // says so), out of range in UTC or not; of every other day, what zod takes.
      const edge = /^(0000-12-31|0001-01-01|9999-12-31)T/.test(t) && !/x$/.test(t)
      expect(`${t} ${exported.test(t)}`).toBe(`${t} ${takes || edge}`)
    }
    expect(exported.test('9999-12-31T23:00:00-05:00x')).toBe(false)
    expect(exported.test('0000-06-15T12:00:00Z')).toBe(false)
  })
})

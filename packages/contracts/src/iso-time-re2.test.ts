import { RE2JS } from 're2js'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { acceptsAs } from './accepts-as.ts'
import { IsoTime } from './iso-time.ts'
import { exportJsonSchemas } from './json-schema.ts'

// The JSON Schema export's time pattern is written in RE2's syntax: these tests hold it to zod's verdict on
// every string they can reach, but on 0000-12-31, 0001-01-01 and 9999-12-31, where it takes every time of
// the format (out of the years 1 to 9999 in UTC or not: the exact rule would be 173,431 characters), and
// compile it with an RE2.

const two = (n: number) => String(n).padStart(2, '0')
/** Minutes of a day as hh:mm. */
const hhmm = (minutes: number) => `${two(Math.floor(minutes / 60))}:${two(minutes % 60)}`

/** The pattern every time of every exported file refers to ($defs.IsoTime), as other teams read it. */
function exportedPattern(): string {
  const patterns = new Set(
    Object.values(exportJsonSchemas()).map(
      (file) => (file as { $defs: { IsoTime: { pattern: string } } }).$defs.IsoTime.pattern,
    ),
  )
  expect(patterns.size).toBe(1)
  return [...patterns][0]!
}

/** Every string of the product of the parts, in order. */
const product = (...parts: string[][]): string[] =>
  parts.reduce<string[]>((acc, part) => acc.flatMap((a) => part.map((p) => a + p)), [''])

/** Values separated by spaces (one that holds a space or is empty is given apart). */
const words = (text: string) => text.split(' ')

// Years, months and days at and either side of their bounds, then ones that are not two (four) digits.
const YEARS = [
  ...words('0000 0001 0002 0004 0009 0010 0099 0100 0400 0999 1000 1900 2000 2024 2026 2100 8999 9000'),
  ...words('9899 9990 9996 9998 9999 000 00000 10000 +0001 -0001 999a ٢٠٢٦'),
  ' 999',
]
const MONTHS = words('00 01 02 03 04 06 09 10 11 12 13 1 001 1a ٠١')
const DAYS = words('00 01 02 09 10 19 20 27 28 29 30 31 32 1 001 ٠١')

/** Days of every year, month and day above, each with times either side of the range's edges. */
function dates(): string[] {
  const times = ['T00:00:00Z', 'T00:00:00+00:01', 'T23:59:59.999-00:01', 'T12:00:00-12:00', 'T00:30:00+01:00']
  return product(YEARS, ['-'], MONTHS, ['-'], DAYS, times)
}

// The time's fields, in order: values that are well-formed (at and near the bounds) and broken ones.
const FIELDS = [
  { good: words('00 01 09 10 12 19 20 23'), bad: words('24 29 30 0 000 ٠٠') },
  { good: words(':00 :01 :09 :10 :30 :50 :59'), bad: words(':60 :99 :0 :000 :٠٠ .00') },
  { good: words(':00 :59'), bad: [...words(':60 :0 :000 :5٩ .00'), ''] },
  { good: ['', ...words('.0 .999 .1234567890123')], bad: [...words('. ,5 .5.5 .٥ .x'), '.5 '] },
  {
    good: words(
      'Z +00:00 -00:00 +00:01 -00:01 +00:59 -00:59 +01:00 -01:00 +05:00 -05:00 +10:10 -10:10 +11:30 -11:30 ' +
        '+12:30 -12:30 +23:00 -23:00 +23:59 -23:59',
    ),
    bad: [
      ...words('z +24:00 -24:00 +23:60 +0000 +00 +00:00:00 +1:00 +001:00 ±01:00 Z+00:00 +01:00Z +٠١:00'),
      '',
      ' Z',
      'Z\n',
    ],
  },
]

/**
 * The edge days (and a leap day) with times made of the fields' values: every combination of well-formed
 * ones, and each broken value with every combination of the other fields' well-formed ones.
 */
function* times(): Generator<string> {
  for (const day of ['0000-12-31', '0001-01-01', '9999-12-31', '2024-02-29'])
    for (let broken = -1; broken < FIELDS.length; broken++) {
      const [hours, minutes, seconds, fractions, offsets] = FIELDS.map((f, i) =>
        i === broken ? f.bad : f.good,
      )
      for (const h of hours!)
        for (const m of minutes!)
          for (const s of seconds!)
            for (const f of fractions!) for (const o of offsets!) yield `${day}T${h}${m}${s}${f}${o}`
    }
}

/**
 * Every local minute of the edge days with the offsets that decide them: those of the sign that matters
 * (0000-12-31 and 9999-12-31 negative, 0001-01-01 positive) within 2 minutes of each bound the local time
 * makes (itself, 23:59 − it, 24:00 − it) and of the bound 10 and 60 minutes either side, where a digit of
 * the offset turns over, and every 19th; every 31st of the other sign. The days next to them with every
 * 61st offset of each sign. Seconds and fractions cycle through four forms.
 */
function* grid(): Generator<string> {
  const seconds = [':00', ':59.999', ':00.0000001', ':30.5']
  const days: [string, string][] = [
    ['0000-12-31', '-'],
    ['0001-01-01', '+'],
    ['9999-12-31', '-'],
    ['0000-01-01', ''],
    ['0001-01-02', ''],
    ['9999-12-30', ''],
  ]
  for (const [day, deciding] of days)
    for (let local = 0; local < 1440; local++) {
      const time = `${day}T${hhmm(local)}${seconds[local % 4]}`
      yield `${time}Z`
      const near = new Set<number>()
      if (deciding)
        for (const bound of [local, 1439 - local, 1440 - local])
          for (const step of [0, -10, 10, -60, 60])
            for (const d of step ? [-1, 0, 1] : [-2, -1, 0, 1, 2]) near.add(bound + step + d)
      for (let o = 0; o < 1440; o++)
        for (const sign of ['+', '-'])
          if (
            sign === deciding
              ? near.has(o) || (o + local) % 19 === 0
              : (o + local) % (deciding ? 31 : 61) === 0
          )
            yield `${time}${sign}${hhmm(o)}`
    }
}

/** Each seed with one character deleted, doubled, replaced or inserted, at every position (the ends too). */
function mutations(seeds: string[]): string[] {
  const chars = ['0', '1', '5', '9', ':', '-', '+', 'T', 'Z', '.', ' ', '\n', 'x', '٣']
  const out: string[] = []
  for (const s of seeds) {
    for (let i = 0; i <= s.length; i++) {
      if (i < s.length) out.push(s.slice(0, i) + s.slice(i + 1), s.slice(0, i + 1) + s.slice(i))
      for (const c of chars) {
        out.push(s.slice(0, i) + c + s.slice(i))
        if (i < s.length) out.push(s.slice(0, i) + c + s.slice(i + 1))
      }
    }
  }
  return out
}
const SEEDS = [
  '2026-03-02T08:00:00Z',
  '2024-02-29T23:59:59.999+05:30',
  '0000-12-31T23:00:00-05:00',
  '0000-12-31T00:01:00-23:59',
  '0000-12-31T00:00:00-23:59',
  '0001-01-01T00:00:00Z',
  '0001-01-01T12:30:00+12:30',
  '0001-01-01T12:29:59.999+12:30',
  '0001-01-01T00:00:00-05:00',
  '9999-12-31T23:59:59.999Z',
  '9999-12-31T12:29:59-11:30',
  '9999-12-31T12:30:00-11:30',
  '9999-12-31T23:00:00+23:00',
  '9999-12-30T23:00:00-23:59',
]

describe('IsoTime in the JSON Schema export: one pattern in RE2 syntax', () => {
  // zod's check, as ingest's fast checks run it too: the pattern IsoTime is made with.
  const zodCheck = acceptsAs(IsoTime)
  // zod's datetime without the range.
  const formatCheck = acceptsAs(z.iso.datetime({ offset: true }))
  const EDGE_DAY = /^(?:0000-12-31|0001-01-01|9999-12-31)T/
  /** The exported pattern's verdict: zod's, but the format alone on the three edge days. */
  const expected = (t: string) => (EDGE_DAY.test(t) ? formatCheck(t) : zodCheck(t))
  const source = exportedPattern()
  // As a JavaScript validator compiles it: ajv with the u flag, others without.
  const exported = [new RegExp(source, 'u'), new RegExp(source)]

  /**
   * The strings of `cases` the exported pattern and zod's check judge apart (at most 10), how many there were
   * and how many zod takes. The pattern compiled both ways, or (`flags: ''`) without the u flag alone, which
   * reads ASCII alike.
   */
  function disagreements(
    cases: Iterable<string>,
    flags?: '',
  ): { apart: string[]; taken: number; count: number } {
    const engines = flags === '' ? exported.slice(1) : exported
    const apart: string[] = []
    let taken = 0
    let count = 0
    for (const t of cases) {
      count++
      const ok = expected(t)
      if (ok) taken++
      for (const re of engines)
        if (re.test(t) !== ok && apart.length < 10)
          apart.push(`${JSON.stringify(t)} expected ${ok} /${re.flags}/`)
    }
    return { apart, taken, count }
  }

  it('takes every well-formed time of the edge days, and gives zod’s verdict on the days next to them', () => {
    const { apart, taken, count } = disagreements(grid(), '')
    expect(apart).toEqual([])
    expect(count).toBeGreaterThan(800_000)
    // All but 0000-01-01's, which no offset brings into year 1.
    expect(taken).toBeGreaterThan((count * 3) / 4)
    expect(taken).toBeLessThan(count)
  }, 60_000)

  it('gives zod’s verdict (the format’s on the edge days) on every year, month and day near their bounds, and on every time field whole and broken', () => {
    const { apart, taken, count } = disagreements([...dates(), ...times()])
    expect(apart).toEqual([])
    expect(count).toBeGreaterThan(300_000)
    expect(taken).toBeGreaterThan(count / 10)
  }, 60_000)

  it('gives the same verdicts on edge times with a character deleted, doubled, replaced or inserted anywhere', () => {
    const { apart, taken } = disagreements([...SEEDS, ...mutations(SEEDS)])
    expect(apart).toEqual([])
    expect(taken).toBeGreaterThan(SEEDS.length)
  }, 60_000)

  it('compiles with an RE2 engine (re2js, a port of Go’s regexp) and judges as in JavaScript', () => {
    // What RE2 engines refuse: a lookaround or a backreference.
    expect(source).not.toMatch(/\(\?<?[=!]|\\[1-9]/)
    // Digits are ASCII digits in every engine: Rust's regex and Python's re read \d as any Unicode digit.
    expect(source).not.toMatch(/\\d/)
    const re2 = RE2JS.compile(source)
    // [time, zod's verdict, the pattern's]
    const table: [string, boolean, boolean][] = [
      ['2026-03-02T08:00:00Z', true, true],
      ['2026-03-02T08:00:00.123456+05:30', true, true],
      ['2024-02-29T23:59:59-23:59', true, true],
      ['9999-12-31T23:59:59.999Z', true, true],
      ['9999-12-31T18:59:59.999-05:00', true, true],
      ['0001-01-01T00:00:00-05:00', true, true],
      ['0001-01-02T00:00:00+23:59', true, true],
      ['0000-12-31T23:00:00-05:00', true, true],
      // Out of the years 1 to 9999 in UTC, on an edge day: the pattern takes them, the workers do not.
      ['9999-12-31T23:00:00-05:00', false, true],
      ['0001-01-01T00:00:00+00:01', false, true],
      ['0000-12-31T23:00:00+05:00', false, true],
      ['0000-06-15T12:00:00Z', false, false],
      ['0000-12-30T23:00:00-23:59', false, false],
      ['2026-02-30T08:00:00Z', false, false],
      ['2026-03-02 08:00:00Z', false, false],
      ['2026-03-02T08:00:00', false, false],
      ['2026-03-02T08:00:00Z\n', false, false],
      ['2026-03-0٢T08:00:00Z', false, false],
      ['+010000-01-01T04:00:00.000Z', false, false],
    ]
    for (const [t, zod, takes] of table) {
      expect(`${t} ${zodCheck(t)}`).toBe(`${t} ${zod}`)
      expect(`${t} ${re2.test(t)}`).toBe(`${t} ${takes}`)
    }
    // And on a share of every set above: RE2's semantics give the verdict JavaScript's do.
    const apart: string[] = []
    let i = 0
    for (const cases of [grid(), dates(), times(), mutations(SEEDS)])
      for (const t of cases) if (i++ % 29 === 0 && re2.test(t) !== expected(t)) apart.push(t)
    expect(apart.slice(0, 10)).toEqual([])
    expect(i).toBeGreaterThan(1_000_000)
  }, 60_000)
})

import { z } from 'zod'

/**
 * The earliest and latest instants a time of the contracts may name: 0001-01-01T00:00:00.000Z and
 * 9999-12-31T23:59:59.999Z, the years every worker can write a time back in (Date#toISOString, which the
 * workers write every time they make with, spells a year before 1 or after 9999 as `-000001-…` or
 * `+010000-…`, which no ISO datetime of the contract is; other teams' readers stop there too: Python's
 * datetime and .NET's DateTime hold years 1 to 9999).
 */
export const ISO_TIME_MIN_MS = Date.parse('0001-01-01T00:00:00.000Z')
export const ISO_TIME_MAX_MS = Date.parse('9999-12-31T23:59:59.999Z')

/** What a refused time in range of the format but not of the years is told (after its field's path). */
export const ISO_TIME_OUT_OF_RANGE =
  'Invalid ISO datetime: in UTC it is before year 1 or after year 9999, which no worker can write back'

/** zod's ISO datetime, `Z` or an offset (`±hh:mm`, hours 00 to 23), seconds required, any fraction. */
const FORMAT = z.iso.datetime({ offset: true })._zod.def.pattern as RegExp

const two = (n: number) => String(n).padStart(2, '0')
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const alt = (parts: string[]) => `(?:${parts.join('|')})`
const digits = (lo: number, hi: number) => (lo === hi ? `${lo}` : `[${lo}-${hi}]`)

/** The two-digit numbers lo to hi (0 ≤ lo ≤ hi ≤ 99) as a pattern. */
function twoDigits(lo: number, hi: number): string {
  const [tl, th] = [Math.floor(lo / 10), Math.floor(hi / 10)]
  if (tl === th) return `${tl}${digits(lo % 10, hi % 10)}`
  const parts = [`${tl}${digits(lo % 10, 9)}`]
  if (th - tl > 1) parts.push(`${digits(tl + 1, th - 1)}\\d`)
  parts.push(`${th}${digits(0, hi % 10)}`)
  return alt(parts)
}

// Read only where FORMAT holds, so loose where it may be: the seconds and fraction after `hh:mm` are
// skipped to the offset's sign (`[:.\d]*` cannot pass it). The seconds never matter: a local time and an
// offset meet midnight by their hours and minutes alone.
const SECONDS = '[:.\\d]*'
const HOURS = range(0, 23)

/**
 * After the `T`: a local time and a negative offset that reach 24:00 together (hh:mm + |offset| ≥ 24:00),
 * so the instant is on the next day in UTC. The hours alone reach it (H + h ≥ 24), or they reach 23 and
 * the minutes the hour left (M + m ≥ 60).
 */
const PAST_MIDNIGHT = alt([
  ...range(1, 23).map((H) => `${two(H)}:\\d\\d${SECONDS}-${twoDigits(24 - H, 23)}`),
  `(?=${alt(HOURS.map((H) => `${two(H)}:\\d\\d${SECONDS}-${two(23 - H)}`))})\\d\\d:${alt(
    range(1, 59).map((M) => `${two(M)}${SECONDS}-\\d\\d:${twoDigits(60 - M, 59)}`),
  )}`,
])

/**
 * After the `T`: a local time before its positive offset (hh:mm < offset), so the instant is on the day
 * before in UTC. The hours are fewer (H < h), or the same and the minutes fewer (M < m).
 */
const BEFORE_MIDNIGHT = alt([
  ...range(0, 22).map((H) => `${two(H)}:\\d\\d${SECONDS}\\+${twoDigits(H + 1, 23)}`),
  `(?=${alt(HOURS.map((H) => `${two(H)}:\\d\\d${SECONDS}\\+${two(H)}`))})\\d\\d:${alt(
    range(0, 58).map((M) => `${two(M)}${SECONDS}\\+\\d\\d:${twoDigits(M + 1, 59)}`),
  )}`,
])

/**
 * A datetime FORMAT takes whose UTC instant is before year 1 or after year 9999: a time of year 0000 (but
 * the last day's that reach year 1 in UTC), one of 0001-01-01 before its positive offset, one of
 * 9999-12-31 reaching midnight with its negative offset. Four digits hold no other year.
 */
const OUT_OF_RANGE = `0000-(?!12-31T${PAST_MIDNIGHT})|0001-01-01T${BEFORE_MIDNIGHT}|9999-12-31T${PAST_MIDNIGHT}`

/** FORMAT, but for a time outside the years 1 to 9999 in UTC: one pattern, as zod's datetime is. */
const IN_RANGE = new RegExp(`^(?!${OUT_OF_RANGE})${FORMAT.source.slice(1)}`, FORMAT.flags)

/**
 * The time of every payload: an ISO 8601 datetime with `Z` or an offset (zod's datetime) whose instant in
 * UTC is in the years 1 to 9999 (ISO_TIME_MIN_MS to ISO_TIME_MAX_MS), so that every worker can write it
 * again in UTC (toISOString) and have its own output meet the contract. One of the years refused
 * (`9999-12-31T23:00:00-05:00`, year 10000 in UTC) reads ISO_TIME_OUT_OF_RANGE; any other string that
 * is no datetime, zod's `Invalid ISO datetime`.
 *
 * The whole check is still one pattern, zod's datetime with a negative lookahead in front (which fails at
 * the first character of any year but 0000, 0001 and 9999), so the fast checks built from the schemas
 * (acceptsAs here, ingest's fastRead and fastAccepts) take it as they took zod's, exactly in step; the
 * JSON Schema export gives it as the `pattern` beside `format: date-time`.
 */
export const IsoTime = new z.ZodISODateTime({
  // What z.iso.datetime({ offset: true }) makes, with the pattern given (its params leave that out).
  type: 'string',
  format: 'datetime',
  check: 'string_format',
  offset: true,
  local: false,
  precision: null,
  pattern: IN_RANGE,
  error: (issue: { input?: unknown }) =>
    typeof issue.input === 'string' && FORMAT.test(issue.input) ? ISO_TIME_OUT_OF_RANGE : undefined,
})

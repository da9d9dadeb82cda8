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

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const alt = (parts: string[]) => (parts.length === 1 ? parts[0]! : `(?:${parts.join('|')})`)
const digits = (lo: number, hi: number) =>
  lo === hi ? `${lo}` : lo === 0 && hi === 9 ? '\\d' : `[${lo}-${hi}]`

// The patterns below are read only where FORMAT holds, after the `T` (`hh:mm:ss`, any fraction, then `Z`
// or the offset `±hh:mm` at the end), so loose where they may be: `.*-` runs to the offset's sign, the only
// `-` after the `T` (`.*\+` alike), and `.` steps over a digit or the `:` between hours and minutes. The
// seconds never matter: a local time and an offset meet midnight by their hours and minutes alone.

/**
 * At a digit x of the local time (`hh:mm`): the offset's digit y in the same place (`at` after its sign
 * `-`: '' the hours' tens, '.' their units, '..:' the minutes' tens, '..:.' their units), when x + y
 * reaches `sum` (`'reach'`, x + y ≥ sum) or makes it (`'make'`, x + y = sum), as alternatives. Digits
 * run 0 to `max`.
 */
function digitSum(at: string, max: number, test: 'reach' | 'make', sum: number): string[] {
  const always: number[] = []
  const parts: string[] = []
  for (let x = 0; x <= max; x++) {
    const [lo, hi] = test === 'reach' ? [Math.max(0, sum - x), max] : [sum - x, sum - x]
    if (lo > hi || lo > max || hi < 0) continue
    if (lo === 0 && hi === max) always.push(x)
    else parts.push(`${x}.*-${at}${digits(lo, hi)}`)
  }
  return always.length ? [digits(always[0]!, always.at(-1)!), ...parts] : parts
}
const hourTens = (test: 'reach' | 'make', sum: number) => digitSum('', 2, test, sum)
const hourUnits = (test: 'reach' | 'make', sum: number) => digitSum('.', 9, test, sum)
const minuteTens = (test: 'reach' | 'make', sum: number) => digitSum('..:', 5, test, sum)
const minuteUnits = (test: 'reach' | 'make', sum: number) => digitSum('..:.', 9, test, sum)

/** At the local minutes: they and the offset's reach 60 (the tens 6, or they make 5 and the units 10). */
const MINUTES_REACH_HOUR = alt([
  ...minuteTens('reach', 6),
  `(?=${alt(minuteTens('make', 5))})\\d${alt(minuteUnits('reach', 10))}`,
])

/**
 * After the `T`: a local time and a negative offset that reach 24:00 together (hh:mm + |offset| ≥ 24:00),
 * so the instant is on the next day in UTC. Added as written, digit by digit: the hours reach 24 (their
 * tens 3; or 2, and the units 4; or 1, and the units 14), or make 23 (2 and 3, or 1 and 13) and the
 * minutes reach 60.
 */
const PAST_MIDNIGHT = alt([
  ...hourTens('reach', 3),
  `(?=${alt(hourTens('make', 2))})\\d${alt(hourUnits('reach', 4))}`,
  `(?=${alt(hourTens('make', 1))})\\d${alt(hourUnits('reach', 14))}`,
  `(?=${alt([
    `(?=${alt(hourTens('make', 2))})\\d${alt(hourUnits('make', 3))}`,
    `(?=${alt(hourTens('make', 1))})\\d${alt(hourUnits('make', 13))}`,
  ])})\\d\\d:${MINUTES_REACH_HOUR}`,
])

/**
 * After the `T`: a local time before its positive offset (hh:mm < offset), so the instant is on the day
 * before in UTC: the two written alike up to a digit (`\1`, none to `hh:m`), and the local one smaller
 * there.
 */
const BEFORE_MIDNIGHT = `([\\d:]{0,4})${alt(
  // y always a class (`[9]`, not `9`): `\19` would be a reference to group 19.
  range(0, 8).map((x) => `${x}.*\\+\\1[${x === 8 ? '9' : `${x + 1}-9`}]`),
)}`

/**
 * A datetime FORMAT takes whose UTC instant is before year 1 or after year 9999: a time of year 0000 (but
 * the last day's that reach year 1 in UTC), one of 0001-01-01 before its positive offset, one of
 * 9999-12-31 reaching midnight with its negative offset. Four digits hold no other year.
 */
const OUT_OF_RANGE = `0000-(?!12-31T${PAST_MIDNIGHT})|0001-01-01T${BEFORE_MIDNIGHT}|9999-12-31T${PAST_MIDNIGHT}`

/** FORMAT, but for a time outside the years 1 to 9999 in UTC: one pattern, as zod's datetime is. */
const IN_RANGE = new RegExp(`^(?!${OUT_OF_RANGE})${FORMAT.source.slice(1)}`, FORMAT.flags)

// The rule in RE2's syntax, for the JSON Schema export (no lookaround, no backreference: Go's regexp,
// Rust's regex crate and RE2 refuse both; see EXPORT_PATTERN for what it leaves to the workers). Digits are
// [0-9], never \d, which Rust's regex crate (and Python's re) read as any Unicode digit.

const DIGIT = '[0-9]'
const HOUR = `(?:[01]${DIGIT}|2[0-3])`
const MINUTE = `[0-5]${DIGIT}`
/** From the end of the minutes to the offset's sign: the seconds and any fraction, which never matter here. */
const SECONDS = `:${MINUTE}(?:\\.${DIGIT}+)?`
const D31 = `(?:0[1-9]|[12]${DIGIT}|3[01])`
const D30 = `(?:0[1-9]|[12]${DIGIT}|30)`
const D28 = `(?:0[1-9]|1${DIGIT}|2[0-8])`
/** Years but 0000, 0001 and 9999, digit by digit. */
const OTHER_YEAR = alt([
  '000[2-9]',
  `00[1-9]${DIGIT}`,
  `0[1-9]${DIGIT}{2}`,
  `[1-8]${DIGIT}{3}`,
  `9[0-8]${DIGIT}{2}`,
  `99[0-8]${DIGIT}`,
  '999[0-8]',
])
/** Leap years as zod counts them (every fourth, but the centuries not a multiple of 400), 0000 left out. */
const LEAP_YEAR = alt([
  `${DIGIT}{2}[2468][048]`,
  `${DIGIT}{2}[13579][26]`,
  `${DIGIT}{2}0[48]`,
  '[2468][048]00',
  '0[48]00',
  '[13579][26]00',
])

/**
 * The dates FORMAT takes but those of year 0000, 0001-01-01 and 9999-12-31, the days not all of whose times
 * are in range: any other year's days (29 February of a leap year), year 1's but the first, 9999's but the
 * last.
 */
const WHOLE_DAYS = alt([
  `${OTHER_YEAR}-${alt([`(?:0[13578]|1[02])-${D31}`, `(?:0[469]|11)-${D30}`, `02-${D28}`])}`,
  `${LEAP_YEAR}-02-29`,
  `0001-${alt([`01-(?:0[2-9]|[12]${DIGIT}|3[01])`, `(?:0[3578]|1[02])-${D31}`, `(?:0[469]|11)-${D30}`, `02-${D28}`])}`,
  `9999-${alt([`(?:0[13578]|10)-${D31}`, `(?:0[469]|1[12])-${D30}`, `02-${D28}`])}`,
])

/**
 * The JSON Schema export's pattern, in the syntax ECMA-262 and RE2 share: FORMAT for the years 1 to 9999 and
 * 0000-12-31, every time of them. It takes all IN_RANGE takes, and more on three days only: on 0000-12-31,
 * 0001-01-01 and 9999-12-31 it also takes the times whose instant in UTC is before year 1 or after 9999
 * (`9999-12-31T23:00:00-05:00`), which IN_RANGE refuses. Saying that in RE2's syntax (no lookaround, no
 * backreference) takes every minute of those days spelt out against its offsets, about 173,000 characters,
 * which other teams' validators compile in up to a second (ajv) and RE2 only with more memory than its
 * default; this is about 600. Every time the workers write matches it, so a consumer checking our records
 * with it refuses none; a producer's time on those three days may still be dead-lettered by ingest, naming
 * the range.
 */
const EXPORT_PATTERN = `^${alt([WHOLE_DAYS, '0000-12-31', '0001-01-01', '9999-12-31'])}T${HOUR}:${MINUTE}${SECONDS}(?:Z|[+-]${HOUR}:${MINUTE})$`

/** What the JSON Schema export says of every time, beside its pattern (EXPORT_PATTERN) and `format: date-time`. */
const ISO_TIME_DESCRIPTION =
  'An ISO 8601 date-time, YYYY-MM-DDThh:mm:ss with any fraction of a second, then Z or an offset ±hh:mm, ' +
  'whose instant is in the years 1 to 9999 in UTC (0001-01-01T00:00:00Z to the end of 9999-12-31). The ' +
  "pattern is written in the syntax ECMA-262 and RE2 share (no lookaround or backreference), so Go's regexp " +
  "and Rust's regex compile it too. It checks the format and the years 0001 to 9999 (and 0000-12-31), but " +
  'on 0000-12-31, 0001-01-01 and 9999-12-31 it also takes the times whose instant in UTC falls outside the ' +
  'years 1 to 9999, which the workers refuse: 9999-12-31T23:00:00-05:00 is year 10000 in UTC and ' +
  '0001-01-01T00:30:00+01:00 year 0; 0000-12-31T23:00:00-05:00 is 0001-01-01T04:00:00Z, taken. Every ' +
  'time the workers write matches it.'

/**
 * The time of every payload: an ISO 8601 datetime with `Z` or an offset (zod's datetime) whose instant in
 * UTC is in the years 1 to 9999 (ISO_TIME_MIN_MS to ISO_TIME_MAX_MS), so that every worker can write it
 * again in UTC (toISOString) and have its own output meet the contract. One of the years refused
 * (`9999-12-31T23:00:00-05:00`, year 10000 in UTC) reads ISO_TIME_OUT_OF_RANGE; any other string that
 * is no datetime, zod's `Invalid ISO datetime`.
 *
 * The whole check is still one pattern, zod's datetime with a negative lookahead in front (which fails at
 * the first character of any year but 0000, 0001 and 9999), so the fast checks built from the schemas
 * (acceptsAs here, ingest's fastRead and fastAccepts) take it as they took zod's, exactly in step. The
 * JSON Schema export gives a compact pattern in RE2's syntax (EXPORT_PATTERN, the `pattern` of the metadata,
 * which the export writes over the one it reads from the check; the same verdict but on three days, where it
 * takes more) beside `format: date-time` and
 * ISO_TIME_DESCRIPTION, once per payload (`$defs.IsoTime`, the id given here), every time field a `$ref`
 * to it.
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
}).meta({ id: 'IsoTime', description: ISO_TIME_DESCRIPTION, pattern: EXPORT_PATTERN })

const MONTHS: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
}
const MONTH_NAMES = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
]
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']
const DAY_NAMES: Record<string, string> = {
  sun: 'Sunday',
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
}

/** A month's number (0–11) from its full name, its first three letters or "Sept", in any case. */
function monthOf(name: string): number | undefined {
  const n = name.toLowerCase()
  const month = MONTHS[n.slice(0, 3)]
  if (month === undefined) return undefined
  return n.length === 3 || n === MONTH_NAMES[month] || n === 'sept' ? month : undefined
}

/**
 * Two-digit years as POSIX reads them (strptime's %y): 69–99 are 1969–1999, 00–68 are 2000–2068. The
 * streams' years (17–20) are 2017–2020, and a "98" is 1998, not 2098.
 */
export function fullYear(twoDigits: number): number {
  return twoDigits >= 69 ? 1900 + twoDigits : 2000 + twoDigits
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0')
const monthName = (month: number) => MONTH_NAMES[month]!.replace(/^./, (c) => c.toUpperCase())

/**
 * The instant of a UTC calendar date and time, or why there is none, a field being out of its range (30
 * February, 99 January, hour 24, minute 60…): Date.UTC rolls such fields over into the next ones
 * (2024-02-30 is 1 March), which would misread the row without a word. The year is set as it is
 * (setUTCFullYear): Date.UTC reads 0 to 99 as 1900 to 1999, and year 1 (0001-01-01, a producer's zero
 * time) was told from its 1901 as a field out of range.
 */
function utcInstant(
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
): number | { why: string } {
  const d = new Date(0)
  d.setUTCFullYear(year, month, day)
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month || d.getUTCDate() !== day)
    return {
      why: `there is no ${MONTH_NAMES[month] === undefined ? `month ${month + 1}` : `${day} ${monthName(month)} ${pad(year, 4)}`}`,
    }
  if (hour > 23 || minute > 59 || second > 59)
    return { why: `there is no time of day ${pad(hour)}:${pad(minute)}:${pad(second)}` }
  d.setUTCHours(hour, minute, second, 0)
  return d.getTime()
}

/** The day of the month (1–31) of the n-th (1–5) given weekday (0 Sunday) of a month; n = -1 the last. */
function nthWeekday(year: number, month: number, weekday: number, n: number): number {
  if (n < 0) {
    const last = new Date(Date.UTC(year, month + 1, 0))
    return last.getUTCDate() - ((last.getUTCDay() - weekday + 7) % 7)
  }
  const firstDay = new Date(Date.UTC(year, month, 1)).getUTCDay()
  return 1 + ((weekday - firstDay + 7) % 7) + (n - 1) * 7
}

/**
 * Hours behind UTC of a US Eastern wall time, given as the instant the same date and time would be in UTC:
 * 4 in daylight time (EDT), 5 in standard time (EST), undefined for a year before 1987 (the rule of
 * 1967–1986 and New York's before it are not read). The clocks go on at 02:00 EST to 03:00 EDT on the
 * second Sunday of March (from 2007; from 1987 to 2006 the first Sunday of April) and back at 02:00 EDT
 * to 01:00 EST on the first Sunday of November (from 2007; before, the last Sunday of October).
 * The two wall times that are not one instant each are read one way, always:
 * - the hour skipped in spring (2:00–2:59 AM, which no clock showed) as EST, so the hour after it in
 *   daylight time (2:30 AM is 3:30 AM EDT, 07:30 UTC), as JavaScript's Date and Temporal read it;
 * - the hour repeated in autumn (1:00–1:59 AM, shown twice) as EDT, its first time (1:30 AM is 05:30
 *   UTC, not 06:30), as JavaScript's Date and Temporal read it too.
 * Daylight time is thus the wall times from 03:00 of the change in spring to before 02:00 of the change
 * in autumn.
 */
export function easternOffsetHours(wall: number): 4 | 5 | undefined {
  const year = new Date(wall).getUTCFullYear()
  if (year < 1987) return undefined
  const [startMonth, startDay, endMonth, endDay] =
    year >= 2007
      ? [2, nthWeekday(year, 2, 0, 2), 10, nthWeekday(year, 10, 0, 1)]
      : [3, nthWeekday(year, 3, 0, 1), 9, nthWeekday(year, 9, 0, -1)]
  const start = Date.UTC(year, startMonth, startDay, 3)
  const end = Date.UTC(year, endMonth, endDay, 2)
  return wall >= start && wall < end ? 4 : 5
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/
const DMY = /^(\d{1,2})-([A-Za-z]{3})-(\d{2})$/
const ET = /^(\d{1,2}):(\d{2}) (AM|PM) ET ([A-Za-z]{3}), (\d{1,2}) ([A-Za-z]+) (\d{4})$/

/** Minutes east of UTC of "Z", "+05:30", "-0400" or "+09"; undefined when out of range. */
function offsetMinutes(zone: string): number | undefined {
  if (zone === 'Z' || zone === 'z') return 0
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!
  const hours = Number(m[2])
  const minutes = Number(m[3] ?? '0')
  if (hours > 23 || minutes > 59) return undefined
  return (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes)
}

/**
 * A time read (its ISO instant and ms), or why the text names none: a field out of its range, or (`why`
 * undefined) a text in none of the shapes read.
 */
export type StreamTime = { iso: string; ms: number } | { why: string | undefined }

/**
 * Parses the time shapes of the headline streams we replay, to an ISO instant, or undefined when the
 * text is none of them or names no real time (every field is checked: 2024-02-30, 31-Feb-20, 7:99 PM,
 * 13:51 PM and a weekday that is not the date's are refused, never rolled over into another time):
 * - ISO dates and date-times: `2018-03-20`, `2020-07-17T19:51:00Z`, `2020-07-17T21:51:00+02:00`. A
 *   date-time without a zone (`2020-07-17T19:51:00`) is read as UTC, as a date alone is, whatever the
 *   machine's time zone, so a replay reads the same everywhere;
 * - day-month-year with a short month and a two-digit year: `18-Jul-20` (years as fullYear: 69–99 are
 *   1969–1999, 00–68 are 2000–2068);
 * - a US Eastern time with weekday: `7:51 PM ET Fri, 17 July 2020` (month full, abbreviated or "Sept";
 *   hours 1–12), read by the US rule as easternOffsetHours gives it: UTC−4 (EDT) from the second Sunday
 *   of March to the first Sunday of November (from 2007; from 1987 to 2006 the first Sunday of April to
 *   the last Sunday of October), UTC−5 (EST) otherwise, the hour the clocks skip read as the one after
 *   it and the hour they repeat as its first time; a year before 1987 is refused (no rule read for it).
 * Dates without a time are taken as midnight UTC.
 */
export function parseStreamTime(text: string): string | undefined {
  const t = readStreamTime(text)
  return 'iso' in t ? t.iso : undefined
}

const instant = (ms: number): StreamTime => ({ iso: new Date(ms).toISOString(), ms })

/** parseStreamTime, saying why a text names no time: in no shape read, or a field out of its range. */
export function readStreamTime(text: string): StreamTime {
  const s = text.trim()
  const iso = ISO.exec(s)
  if (iso) {
    const [, y, mo, d, h, mi, sec, frac, zone] = iso
    const at = utcInstant(
      Number(y),
      Number(mo) - 1,
      Number(d),
      Number(h ?? 0),
      Number(mi ?? 0),
      Number(sec ?? 0),
    )
    if (typeof at !== 'number') return at
    const offset = zone === undefined ? 0 : offsetMinutes(zone)
    if (offset === undefined) return { why: `there is no offset ${zone} (hours 00 to 23, minutes 00 to 59)` }
    const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'))
    return instant(at + ms - offset * 60_000)
  }
  const dmy = DMY.exec(s)
  if (dmy) {
    const month = MONTHS[dmy[2]!.toLowerCase()]
    if (month === undefined) return { why: `there is no month ${JSON.stringify(dmy[2])}` }
    const at = utcInstant(fullYear(Number(dmy[3])), month, Number(dmy[1]))
    return typeof at === 'number' ? instant(at) : at
  }
  const et = ET.exec(s)
  if (et) {
    const [, h, mi, half, weekday, d, monthText, y] = et
    const month = monthOf(monthText!)
    const hour12 = Number(h)
    const minute = Number(mi)
    if (month === undefined) return { why: `there is no month ${JSON.stringify(monthText)}` }
    if (hour12 < 1 || hour12 > 12 || minute > 59)
      return { why: `there is no time ${h}:${mi} ${half} (hours 1 to 12, minutes 00 to 59)` }
    const date = utcInstant(Number(y), month, Number(d))
    if (typeof date !== 'number') return date
    const day = WEEKDAYS[new Date(date).getUTCDay()]!
    if (day !== weekday!.toLowerCase())
      return { why: `${d} ${monthName(month)} ${y} is a ${DAY_NAMES[day]}, not a ${weekday}` }
    const hour = (hour12 % 12) + (half === 'PM' ? 12 : 0)
    const wall = date + hour * 3_600_000 + minute * 60_000
    const offsetHours = easternOffsetHours(wall)
    if (offsetHours === undefined)
      return { why: 'a US Eastern time before 1987, whose daylight-time rule replay does not read' }
    return instant(wall + offsetHours * 3_600_000)
  }
  return { why: undefined }
}

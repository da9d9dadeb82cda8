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

/**
 * The instant of a UTC calendar date and time, or undefined when a field is out of its range (30
 * February, 99 January, hour 24, minute 60…): Date.UTC rolls such fields over into the next ones
 * (2024-02-30 is 1 March), which would misread the row without a word.
 */
function utcInstant(
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
): number | undefined {
  const ms = Date.UTC(year, month, day, hour, minute, second)
  const d = new Date(ms)
  const same =
    d.getUTCFullYear() === year &&
    d.getUTCMonth() === month &&
    d.getUTCDate() === day &&
    d.getUTCHours() === hour &&
    d.getUTCMinutes() === minute &&
    d.getUTCSeconds() === second
  return same ? ms : undefined
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
 * Parses the time shapes of the headline streams we replay, to an ISO instant, or undefined when the
 * text is none of them or names no real time (every field is checked: 2024-02-30, 31-Feb-20, 7:99 PM,
 * 13:51 PM and a weekday that is not the date's are refused, never rolled over into another time):
 * - ISO dates and date-times: `2018-03-20`, `2020-07-17T19:51:00Z`, `2020-07-17T21:51:00+02:00`. A
 *   date-time without a zone (`2020-07-17T19:51:00`) is read as UTC, as a date alone is, whatever the
 *   machine's time zone, so a replay reads the same everywhere;
 * - day-month-year with a short month and a two-digit year: `18-Jul-20` (years as fullYear: 69–99 are
 *   1969–1999, 00–68 are 2000–2068);
 * - a US Eastern time with weekday: `7:51 PM ET Fri, 17 July 2020` (month full, abbreviated or "Sept";
 *   hours 1–12). ET is taken as UTC−4 from March to October and UTC−5 otherwise: close enough for
 *   ordering and windows, which is what replay needs.
 * Dates without a time are taken as midnight UTC.
 */
export function parseStreamTime(text: string): string | undefined {
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
    if (at === undefined) return undefined
    const offset = zone === undefined ? 0 : offsetMinutes(zone)
    if (offset === undefined) return undefined
    const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'))
    return new Date(at + ms - offset * 60_000).toISOString()
  }
  const dmy = DMY.exec(s)
  if (dmy) {
    const month = MONTHS[dmy[2]!.toLowerCase()]
    if (month === undefined) return undefined
    const at = utcInstant(fullYear(Number(dmy[3])), month, Number(dmy[1]))
    return at === undefined ? undefined : new Date(at).toISOString()
  }
  const et = ET.exec(s)
  if (et) {
    const [, h, mi, half, weekday, d, monthName, y] = et
    const month = monthOf(monthName!)
    const hour12 = Number(h)
    const minute = Number(mi)
    if (month === undefined || hour12 < 1 || hour12 > 12 || minute > 59) return undefined
    const date = utcInstant(Number(y), month, Number(d))
    if (date === undefined || WEEKDAYS[new Date(date).getUTCDay()] !== weekday!.toLowerCase())
      return undefined
    const hour = (hour12 % 12) + (half === 'PM' ? 12 : 0)
    const offsetHours = month >= 2 && month <= 9 ? 4 : 5
    return new Date(date + (hour + offsetHours) * 3_600_000 + minute * 60_000).toISOString()
  }
  return undefined
}

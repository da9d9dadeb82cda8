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

/**
 * Parses the time shapes of the headline streams we replay, to an ISO instant, or undefined:
 * - ISO dates and date-times: `2018-03-20`, `2020-07-17T19:51:00Z`;
 * - day-month-year with a short month and a two-digit year: `18-Jul-20`;
 * - a US Eastern time with weekday: `7:51 PM ET Fri, 17 July 2020` (month full or abbreviated). ET is taken as UTC−4 from
 *   March to October and UTC−5 otherwise: close enough for ordering and windows, which is what replay needs.
 * Dates without a time are taken as midnight UTC.
 */
export function parseStreamTime(text: string): string | undefined {
  const s = text.trim()
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const ms = Date.parse(`${s}T00:00:00Z`)
    return Number.isNaN(ms) ? undefined : new Date(ms).toISOString()
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(s)) {
    const ms = Date.parse(s)
    return Number.isNaN(ms) ? undefined : new Date(ms).toISOString()
  }
  const dmy = /^(\d{1,2})-([A-Za-z]{3})-(\d{2})$/.exec(s)
  if (dmy) {
    const month = MONTHS[dmy[2]!.toLowerCase()]
    if (month === undefined) return undefined
    return new Date(Date.UTC(2000 + Number(dmy[3]), month, Number(dmy[1]))).toISOString()
  }
  const et = /^(\d{1,2}):(\d{2}) (AM|PM) ET [A-Za-z]{3}, (\d{1,2}) ([A-Za-z]+) (\d{4})$/.exec(s)
  if (et) {
    // Full or abbreviated month names ("July", "Dec", "Sept"): the first three letters decide.
    const month = MONTHS[et[5]!.slice(0, 3).toLowerCase()]
    if (month === undefined) return undefined
    let hour = Number(et[1]) % 12
    if (et[3] === 'PM') hour += 12
    const offsetHours = month >= 2 && month <= 9 ? 4 : 5
    return new Date(
      Date.UTC(Number(et[6]), month, Number(et[4]), hour + offsetHours, Number(et[2])),
    ).toISOString()
  }
  return undefined
}

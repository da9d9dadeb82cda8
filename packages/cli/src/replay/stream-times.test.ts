import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { easternOffsetHours, fullYear, parseStreamTime, readStreamTime } from './stream-times.ts'

describe('parseStreamTime', () => {
  it.each([
    ['2018-03-20', '2018-03-20T00:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    ['2020-07-17T19:51:00Z', '2020-07-17T19:51:00.000Z'],
    ['2020-07-17T19:51:00.25Z', '2020-07-17T19:51:00.250Z'],
    ['2020-07-17T21:51:00+02:00', '2020-07-17T19:51:00.000Z'],
    ['2020-07-17T14:51-0500', '2020-07-17T19:51:00.000Z'],
    // No zone: UTC, as a date alone, whatever the machine's zone.
    ['2020-07-17T19:51:00', '2020-07-17T19:51:00.000Z'],
    ['18-Jul-20', '2020-07-18T00:00:00.000Z'],
    ['29-Feb-20', '2020-02-29T00:00:00.000Z'],
    ['18-Jul-98', '1998-07-18T00:00:00.000Z'],
    ['1-Jan-68', '2068-01-01T00:00:00.000Z'],
    ['1-Jan-69', '1969-01-01T00:00:00.000Z'],
    ['7:51 PM ET Fri, 17 July 2020', '2020-07-17T23:51:00.000Z'],
    ['12:05 AM ET Mon, 6 January 2020', '2020-01-06T05:05:00.000Z'],
    ['12:30 PM ET Mon, 6 Jan 2020', '2020-01-06T17:30:00.000Z'],
    ['11:12 AM ET Thu, 20 Sept 2018', '2018-09-20T15:12:00.000Z'],
    ['7:07 PM ET Fri, 22 Dec 2017', '2017-12-23T00:07:00.000Z'],
  ])('%s → %s', (text, iso) => {
    expect(parseStreamTime(text)).toBe(iso)
  })
  it.each([
    '',
    'yesterday',
    '32-Foo-20',
    '2018-13-45',
    // Fields out of range were rolled over into another date or time.
    '2024-02-30',
    '2023-02-29',
    '2020-07-17T24:00:00Z',
    '2020-07-17T19:60:00Z',
    '2020-07-17T19:51:60Z',
    '2020-07-17T19:51:00+24:00',
    '31-Feb-20',
    '99-Jan-20',
    '0-Jan-20',
    '13:51 PM ET Fri, 17 July 2020',
    '0:51 AM ET Fri, 17 July 2020',
    '7:99 PM ET Fri, 45 July 2020',
    '7:60 PM ET Fri, 17 July 2020',
    '7:51 PM ET Fri, 31 June 2020',
    // Not the date's weekday (17 July 2020 was a Friday), or no month.
    '7:51 PM ET Sat, 17 July 2020',
    '7:51 PM ET Fri, 17 Julember 2020',
  ])('refuses %j', (text) => {
    expect(parseStreamTime(text)).toBeUndefined()
  })
  it('reads a date-time without a zone as UTC in any time zone of the machine', () => {
    const script = `import { parseStreamTime } from ${JSON.stringify(`${import.meta.dirname}/stream-times.ts`)}
process.stdout.write(String(parseStreamTime('2020-07-17T19:51:00')))`
    for (const TZ of ['Asia/Tokyo', 'America/New_York', 'UTC']) {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { PATH: process.env.PATH ?? '', TZ },
      }).toString()
      expect(out, TZ).toBe('2020-07-17T19:51:00.000Z')
    }
  })
})

describe('readStreamTime', () => {
  it('reads years 1 to 99 as those years, where Date.UTC made them 1901 to 1999 and the time was refused', () => {
    // A producer's zero time (Go's time.Time{}) was "unreadable"; what is wrong with it is said by the reader.
    expect(readStreamTime('0001-01-01T00:00:00Z')).toEqual({
      iso: '0001-01-01T00:00:00.000Z',
      ms: Date.parse('0001-01-01T00:00:00Z'),
    })
    expect(parseStreamTime('0099-12-31')).toBe('0099-12-31T00:00:00.000Z')
    expect(parseStreamTime('0004-02-29')).toBe('0004-02-29T00:00:00.000Z')
    expect(readStreamTime('0003-02-29')).toEqual({ why: 'there is no 29 February 0003' })
  })
  it.each([
    ['yesterday', undefined],
    ['2024-02-30', 'there is no 30 February 2024'],
    ['2018-13-45', 'there is no month 13'],
    ['2020-07-17T24:00:00Z', 'there is no time of day 24:00:00'],
    ['2020-07-17T19:51:60Z', 'there is no time of day 19:51:60'],
    ['2020-07-17T19:51:00+24:00', 'there is no offset +24:00 (hours 00 to 23, minutes 00 to 59)'],
    ['31-Feb-20', 'there is no 31 February 2020'],
    ['1-Foo-20', 'there is no month "Foo"'],
    ['13:51 PM ET Fri, 17 July 2020', 'there is no time 13:51 PM (hours 1 to 12, minutes 00 to 59)'],
    ['7:51 PM ET Fri, 31 June 2020', 'there is no 31 June 2020'],
    ['7:51 PM ET Sat, 17 July 2020', '17 July 2020 is a Friday, not a Sat'],
    ['7:51 PM ET Fri, 17 Julember 2020', 'there is no month "Julember"'],
    [
      '7:51 PM ET Fri, 17 July 1981',
      'a US Eastern time before 1987, whose daylight-time rule replay does not read',
    ],
  ])('says why %j names no time', (text, why) => {
    expect(readStreamTime(text)).toEqual({ why })
  })
})

describe('fullYear', () => {
  it('reads 69–99 as 1969–1999 and 00–68 as 2000–2068', () => {
    expect([0, 17, 20, 68, 69, 98, 99].map(fullYear)).toEqual([2000, 2017, 2020, 2068, 1969, 1998, 1999])
  })
})

describe('parseStreamTime: US Eastern daylight time', () => {
  it.each([
    // 2020: daylight time from Sun 8 March 02:00 EST to Sun 1 November 02:00 EDT. ET was read as UTC−4
    // for all of March to October: the first two were an hour early, the Nov 1 ones an hour late.
    ['8:42 PM ET Fri, 6 March 2020', '2020-03-07T01:42:00.000Z'],
    ['1:59 AM ET Sun, 8 March 2020', '2020-03-08T06:59:00.000Z'],
    ['3:00 AM ET Sun, 8 March 2020', '2020-03-08T07:00:00.000Z'],
    ['8:42 PM ET Sun, 8 March 2020', '2020-03-09T00:42:00.000Z'],
    ['11:00 PM ET Sat, 31 October 2020', '2020-11-01T03:00:00.000Z'],
    ['12:59 AM ET Sun, 1 November 2020', '2020-11-01T04:59:00.000Z'],
    ['2:00 AM ET Sun, 1 Nov 2020', '2020-11-01T07:00:00.000Z'],
    ['9:00 AM ET Mon, 2 Nov 2020', '2020-11-02T14:00:00.000Z'],
    // The hour the clocks skip (2:00–2:59 AM on 8 March 2020) is read as the hour after it: 2:30 AM is
    // 3:30 AM EDT.
    ['2:00 AM ET Sun, 8 March 2020', '2020-03-08T07:00:00.000Z'],
    ['2:30 AM ET Sun, 8 March 2020', '2020-03-08T07:30:00.000Z'],
    // The hour they repeat (1:00–1:59 AM on 1 November 2020) is read as its first time, in EDT.
    ['1:00 AM ET Sun, 1 Nov 2020', '2020-11-01T05:00:00.000Z'],
    ['1:30 AM ET Sun, 1 Nov 2020', '2020-11-01T05:30:00.000Z'],
    // 1987–2006: from the first Sunday of April (2 April 2006) to the last Sunday of October (29 October).
    ['9:00 AM ET Sun, 12 March 2006', '2006-03-12T14:00:00.000Z'],
    ['9:00 AM ET Sat, 1 April 2006', '2006-04-01T14:00:00.000Z'],
    ['9:00 AM ET Mon, 3 April 2006', '2006-04-03T13:00:00.000Z'],
    ['9:00 AM ET Sat, 28 Oct 2006', '2006-10-28T13:00:00.000Z'],
    ['9:00 AM ET Mon, 30 Oct 2006', '2006-10-30T14:00:00.000Z'],
    // 2007, the first year of the rule of today: 11 March to 4 November.
    ['9:00 AM ET Sat, 10 March 2007', '2007-03-10T14:00:00.000Z'],
    ['9:00 AM ET Sun, 11 March 2007', '2007-03-11T13:00:00.000Z'],
    ['9:00 AM ET Sat, 3 Nov 2007', '2007-11-03T13:00:00.000Z'],
    ['9:00 AM ET Sun, 4 Nov 2007', '2007-11-04T14:00:00.000Z'],
  ])('%s → %s', (text, iso) => {
    expect(parseStreamTime(text)).toBe(iso)
  })

  it('refuses a year before 1987, whose rule it does not read', () => {
    expect(parseStreamTime('9:00 AM ET Mon, 7 July 1986')).toBeUndefined()
  })

  it('agrees with America/New_York (ICU) for every half hour of the days around each change, 1987–2037', () => {
    const newYork = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/New_York',
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    })
    const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
    const months = ['Jan', 'Feb', 'March', 'April', 'May', 'June', 'July', 'Aug', 'Sept', 'Oct', 'Nov', 'Dec']
    const wrong: string[] = []
    let checked = 0
    for (let year = 1987; year <= 2037; year++) {
      // The days of both changes in either rule, with a day on each side.
      for (const [month, from, to] of [
        [2, 6, 16],
        [3, 0, 9],
        [9, 23, 32],
        [10, 0, 9],
      ] as const) {
        for (let day = from; day <= to; day++) {
          let last: number | undefined
          for (let minutes = 0; minutes < 24 * 60; minutes += 30) {
            const d = new Date(Date.UTC(year, month, day))
            const h = Math.floor(minutes / 60)
            const text = `${((h + 11) % 12) + 1}:${String(minutes % 60).padStart(2, '0')} ${h < 12 ? 'AM' : 'PM'} ET ${weekdays[d.getUTCDay()]}, ${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()}`
            const iso = parseStreamTime(text)
            if (iso === undefined) {
              wrong.push(`${text}: unread`)
              continue
            }
            const at = Date.parse(iso)
            const p = Object.fromEntries(newYork.formatToParts(at).map((x) => [x.type, x.value]))
            const shown = Date.UTC(
              Number(p.year),
              Number(p.month) - 1,
              Number(p.day),
              Number(p.hour),
              Number(p.minute),
            )
            const written = d.getTime() + minutes * 60_000
            // The skipped hour is shown an hour on (2:30 AM is 3:30 AM EDT); every other wall time as written.
            const skipped = shown - written === 3_600_000 && easternOffsetHours(written) === 5 && h === 2
            if (shown !== written && !skipped)
              wrong.push(`${text}: ${iso}, ${new Date(shown).toISOString()} in New York`)
            // The wall times a clock shows never go back once read: rows around a change keep their order.
            if (!skipped) {
              if (last !== undefined && at <= last)
                wrong.push(`${text}: ${iso}, not after the half hour before`)
              last = at
            }
            checked++
          }
        }
      }
    }
    expect(wrong.slice(0, 10)).toEqual([])
    expect(checked).toBeGreaterThan(50_000)
  })
})

import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { fullYear, parseStreamTime } from './stream-times.ts'

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

describe('fullYear', () => {
  it('reads 69–99 as 1969–1999 and 00–68 as 2000–2068', () => {
    expect([0, 17, 20, 68, 69, 98, 99].map(fullYear)).toEqual([2000, 2017, 2020, 2068, 1969, 1998, 1999])
  })
})

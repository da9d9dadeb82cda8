import { describe, expect, it } from 'vitest'
import { parseStreamTime } from './stream-times.ts'

describe('parseStreamTime', () => {
  it.each([
    ['2018-03-20', '2018-03-20T00:00:00.000Z'],
    ['2020-07-17T19:51:00Z', '2020-07-17T19:51:00.000Z'],
    ['18-Jul-20', '2020-07-18T00:00:00.000Z'],
    ['7:51 PM ET Fri, 17 July 2020', '2020-07-17T23:51:00.000Z'],
    ['12:05 AM ET Mon, 6 January 2020', '2020-01-06T05:05:00.000Z'],
    ['11:12 AM ET Thu, 20 Sept 2018', '2018-09-20T15:12:00.000Z'],
    ['7:07 PM ET Fri, 22 Dec 2017', '2017-12-23T00:07:00.000Z'],
  ])('%s → %s', (text, iso) => {
    expect(parseStreamTime(text)).toBe(iso)
  })
  it.each(['', 'yesterday', '32-Foo-20', '2018-13-45'])('refuses %j', (text) => {
    expect(parseStreamTime(text)).toBeUndefined()
  })
})

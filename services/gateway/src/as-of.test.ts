import { describe, expect, it } from 'vitest'
import { parseAsOf, parseIsoTime, readableFrom, tooEarly } from './as-of.ts'

describe('asOf', () => {
  it('reads an ISO time in its own zone, to the millisecond', () => {
    const t = Date.parse('2026-03-02T14:00:00.000Z')
    expect(parseIsoTime('2026-03-02T14:00:00Z')).toBe(t)
    expect(parseIsoTime('2026-03-02T14:00Z')).toBe(t)
    expect(parseIsoTime('2026-03-02T15:30:00+01:30')).toBe(t)
    expect(parseIsoTime('2026-03-02T09:00:00-05:00')).toBe(t)
    expect(parseIsoTime('2026-03-02T14:00:00.123456789Z')).toBe(t + 123)
    expect(parseIsoTime('2026-03-02T14:00:00.5Z')).toBe(t + 500)
    expect(parseIsoTime('2024-02-29T00:00:00Z')).toBe(Date.parse('2024-02-29T00:00:00Z'))
    expect(parseIsoTime('0050-01-01T00:00:00Z')).toBe(Date.parse('0050-01-01T00:00:00Z'))
    expect(parseAsOf('latest')).toEqual({ ok: true, value: 'latest' })
    expect(parseAsOf('2026-03-02T14:00:00Z')).toEqual({ ok: true, value: t })
  })

  it('refuses a time that does not exist, or has no zone, rather than move or guess it', () => {
    for (const text of [
      '2026-02-30T00:00:00Z',
      '2025-02-29T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-03-02T24:00:00Z',
      '2026-03-02T14:60:00Z',
      '2026-03-02T14:00:60Z',
      '2026-03-02T14:00:00+24:00',
      '2026-03-02T14:00:00+01:60',
      '2026-03-02T14:00:00',
      '2026-03-02',
      '2026-03-02 14:00:00Z',
      'March 7',
      '1',
      '',
    ])
      expect(parseIsoTime(text), text).toBeUndefined()
    expect(parseAsOf('March 7')).toEqual({
      ok: false,
      error: expect.stringMatching(/^latest, now or an ISO 8601/),
    })
  })

  it('names the earliest time an answer can be read at, when after the time asked for', () => {
    expect(readableFrom(100, [undefined, 50, 100])).toBeUndefined()
    expect(readableFrom(100, [150, undefined, 120])).toBe(150)
    expect(tooEarly(0, 60_000)).toBe(
      '1970-01-01T00:00:00.000Z is before 1970-01-01T00:01:00.000Z, the earliest time these indicators can be read at (each is kept as of its newest headline, not as a history)',
    )
  })
})

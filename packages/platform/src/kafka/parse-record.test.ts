import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { indicatorAsOfMs, jsonTimeField, parseJsonRecord, publishedAtMs } from './parse-record.ts'

const Payload = z.object({ text: z.string() }).strict()

describe('parseJsonRecord', () => {
  it('parses a valid payload, multi-byte UTF-8 included', () => {
    expect(
      parseJsonRecord(Payload, Buffer.from(JSON.stringify({ text: 'Zölle auf Stahl 关税 📈' }))),
    ).toEqual({
      ok: true,
      value: { text: 'Zölle auf Stahl 关税 📈' },
    })
  })

  it.each([
    ['a lone continuation byte', [0x80]],
    ['a truncated sequence', [0xc3]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a byte never used in UTF-8', [0xff]],
  ])('dead-letters a value holding %s as invalid_utf8, not as text with U+FFFD', (_, bytes) => {
    const value = Buffer.concat([Buffer.from('{"text":"tariffs '), Buffer.from(bytes), Buffer.from('"}')])
    expect(parseJsonRecord(Payload, value)).toEqual({
      ok: false,
      reason: 'invalid_utf8',
      message: 'record value is not valid UTF-8',
    })
  })

  it.each([
    ['empty_record', null],
    ['empty_record', Buffer.alloc(0)],
    ['invalid_json', Buffer.from('{"text":')],
    ['schema_invalid', Buffer.from('{"text":7}')],
  ])('dead-letters as %s', (reason, value) => {
    expect(parseJsonRecord(Payload, value)).toMatchObject({ ok: false, reason })
  })
})

const T = Date.parse('2026-03-04T09:40:00Z')

describe('jsonTimeField', () => {
  it("reads a record's top-level time without parsing it, and with spaces around the colon by parsing it", () => {
    expect(
      publishedAtMs(Buffer.from(`{"id":"a","publishedAt":"2026-03-04T09:40:00.000Z","headline":"x"}`)),
    ).toBe(T)
    expect(publishedAtMs(Buffer.from(`{"id":"a", "publishedAt" : "2026-03-04T09:40:00Z"}`))).toBe(T)
    expect(indicatorAsOfMs(Buffer.from(`{"key":"k","asOf":"2026-03-04T09:40:00.000Z","mean":{}}`))).toBe(T)
  })

  it('is undefined for no record, a record that is not JSON, a missing field or a time that is none', () => {
    expect(publishedAtMs(null)).toBeUndefined()
    expect(publishedAtMs(Buffer.from('not json'))).toBeUndefined()
    expect(indicatorAsOfMs(Buffer.from('{"publishedAt":"2026-03-04T09:40:00Z"}'))).toBeUndefined()
    expect(publishedAtMs(Buffer.from('{"publishedAt":"soon"}'))).toBeUndefined()
    expect(jsonTimeField('at')(Buffer.from('[1,2]'))).toBeUndefined()
    expect(jsonTimeField('at')(Buffer.from('null'))).toBeUndefined()
  })

  it('finds the key only as a key: a quote inside a string is escaped', () => {
    const value = JSON.stringify({
      headline: 'says "publishedAt":"1999-01-01T00:00:00Z"',
      publishedAt: '2026-03-04T09:40:00Z',
    })
    expect(publishedAtMs(Buffer.from(value))).toBe(T)
  })
})

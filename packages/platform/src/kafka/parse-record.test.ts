import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { parseJsonRecord } from './parse-record.ts'

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

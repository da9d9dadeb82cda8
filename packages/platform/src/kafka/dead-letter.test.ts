import { DeadLetter } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import { DLQ_MAX_KEY_CHARS, DLQ_MAX_PAYLOAD_BYTES, deadLetterRecord } from './dead-letter.ts'
import type { InRecord } from './records.ts'

const rec = (value: Buffer | null): InRecord => ({
  topic: 'raw',
  partition: 2,
  offset: '41',
  key: Buffer.from('k'),
  value,
  headers: {},
  timestamp: 0,
})
const now = new Date('2025-01-01T00:00:00Z')

describe('deadLetterRecord', () => {
  it('carries reason and origin in the value and in headers', () => {
    const out = deadLetterRecord(
      'dlq',
      'ingest',
      rec(Buffer.from('{bad')),
      'invalid_json',
      'Unexpected token',
      now,
    )
    const letter = DeadLetter.parse(JSON.parse(String(out.value)))
    expect(letter).toMatchObject({
      reason: 'invalid_json',
      worker: 'ingest',
      origin: { topic: 'raw', partition: 2, offset: '41' },
      payload: '{bad',
      payloadEncoding: 'utf8',
      payloadTruncated: false,
    })
    expect(out).toMatchObject({ topic: 'dlq', key: 'k' })
    expect(out.headers).toEqual({
      'tp-dlq-reason': 'invalid_json',
      'tp-dlq-worker': 'ingest',
      'tp-origin-topic': 'raw',
      'tp-origin-partition': '2',
      'tp-origin-offset': '41',
    })
  })
  it('keeps binary payloads exactly, as base64', () => {
    const bytes = Buffer.from([0, 255, 128, 7])
    const letter = JSON.parse(
      String(deadLetterRecord('dlq', 'w', rec(bytes), 'r', 'm', now).value),
    ) as DeadLetter
    expect(letter.payloadEncoding).toBe('base64')
    expect(Buffer.from(letter.payload, 'base64')).toEqual(bytes)
  })
  it('cuts huge payloads and says so', () => {
    const letter = JSON.parse(
      String(
        deadLetterRecord('dlq', 'w', rec(Buffer.alloc(DLQ_MAX_PAYLOAD_BYTES + 10, 97)), 'r', 'm', now).value,
      ),
    ) as DeadLetter
    expect([letter.payload.length, letter.payloadTruncated]).toEqual([DLQ_MAX_PAYLOAD_BYTES, true])
  })
  it('keeps text that JSON would escape six-fold as base64, so the record stays well under 1 MB', () => {
    // Control characters are valid UTF-8, and JSON writes each as \u0000: 256 KB of them would take 1.5 MB.
    const bytes = Buffer.alloc(300 * 1024, 0)
    const out = deadLetterRecord('dlq', 'w', rec(bytes), 'too_large', 'm', now)
    expect(Buffer.byteLength(String(out.value))).toBeLessThan(400 * 1024)
    const letter = JSON.parse(String(out.value)) as DeadLetter
    expect(letter.payloadEncoding).toBe('base64')
    expect(Buffer.from(letter.payload, 'base64')).toEqual(bytes.subarray(0, DLQ_MAX_PAYLOAD_BYTES))
    expect(letter.payloadTruncated).toBe(true)
    // Text with a few escapes stays readable.
    const text = 'line one\nline "two"\t\u0001'
    expect(
      (
        JSON.parse(
          String(deadLetterRecord('dlq', 'w', rec(Buffer.from(text)), 'r', 'm', now).value),
        ) as DeadLetter
      ).payload,
    ).toBe(text)
  })
  it('cuts a huge key to DLQ_MAX_KEY_CHARS characters (the origin headers still name the record)', () => {
    const huge = { ...rec(Buffer.from('x')), key: Buffer.alloc(700 * 1024, 107) }
    expect(deadLetterRecord('dlq', 'w', huge, 'r', 'm', now).key).toBe('k'.repeat(DLQ_MAX_KEY_CHARS))
    const small = { ...rec(Buffer.from('x')), key: Buffer.from('héadline-42') }
    expect(deadLetterRecord('dlq', 'w', small, 'r', 'm', now).key).toBe('héadline-42')
  })
})

describe('deadLetterRecord: the original key and headers', () => {
  it('keeps a text key as text, a binary key byte for byte as base64, and the headers', () => {
    const withKey = (key: Buffer | null, headers: Record<string, string> = {}) =>
      DeadLetter.parse(
        JSON.parse(
          String(
            deadLetterRecord('dlq', 'w', { ...rec(Buffer.from('x')), key, headers }, 'r', 'm', now).value,
          ),
        ),
      )
    expect(withKey(Buffer.from('rt-1'))).toMatchObject({ key: 'rt-1', keyEncoding: 'utf8' })
    const binary = Buffer.from([0xff, 0x00, 0xfe, 0x41])
    const letter = withKey(binary, { traceparent: 't', ce_id: 'a1' })
    expect(letter).toMatchObject({ keyEncoding: 'base64', headers: { traceparent: 't', ce_id: 'a1' } })
    expect(Buffer.from(letter.key!, 'base64').equals(binary)).toBe(true)
    expect(withKey(null)).not.toHaveProperty('key')
    // Cut at 16 KB, and said so; a letter with a field this version does not know still reads.
    const long = withKey(Buffer.from('k'.repeat(20_000)))
    expect(long).toMatchObject({ keyEncoding: 'base64', keyTruncated: true })
    expect(Buffer.from(long.key!, 'base64')).toHaveLength(16 * 1024)
    expect(DeadLetter.safeParse({ ...long, addedLater: 1 }).success).toBe(true)
  })

  it('bounds what it keeps of many or long headers', () => {
    const headers = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`h${i}`, 'v'.repeat(5_000)]))
    const letter = DeadLetter.parse(
      JSON.parse(String(deadLetterRecord('dlq', 'w', { ...rec(null), headers }, 'r', 'm', now).value)),
    )
    expect(Object.keys(letter.headers!)).toHaveLength(32)
    expect(letter.headers!.h0).toHaveLength(1024)
  })
})

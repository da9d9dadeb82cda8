import { DeadLetter } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import { DLQ_MAX_PAYLOAD_BYTES, deadLetterRecord } from './dead-letter.ts'
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
})

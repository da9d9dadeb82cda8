import { createRequire } from 'node:module'
import { DeadLetter } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import {
  DLQ_HEADERS,
  DLQ_MAX_ORIGINAL_HEADER_VALUES,
  DLQ_MAX_PAYLOAD_BYTES,
  DLQ_MAX_RECORD_BYTES,
  deadLetterRecord,
} from './dead-letter.ts'
import { recordBytes } from './produce.ts'
import { headersToStrings, type InRecord, type OutRecord } from './records.ts'

// kafkajs's own encoder of one record in a batch (v2 format): what a dead letter takes on the wire.
const encodeRecord = createRequire(import.meta.url)('kafkajs/src/protocol/recordBatch/record/v0') as (r: {
  offsetDelta: number
  timestampDelta: number
  key: string | null
  value: string | Buffer
  headers?: OutRecord['headers']
}) => { size(): number }

/** The bytes of the record as kafkajs encodes it, with the widest offset and timestamp deltas. */
function encodedBytes(out: OutRecord): number {
  const { key, value, headers } = out
  return encodeRecord({ offsetDelta: 2 ** 31 - 1, timestampDelta: 2 ** 53 - 1, key, value, headers }).size()
}

/** A consumed record, with its headers as kafkajs gives them. */
const consumed = (fields: {
  key?: Buffer | null
  value?: Buffer | null
  headers?: Record<string, unknown>
}) =>
  ({
    topic: 'raw',
    partition: 3,
    offset: '12345',
    key: fields.key ?? null,
    value: fields.value ?? null,
    headers: headersToStrings(fields.headers),
    rawHeaders: fields.headers ?? {},
    timestamp: 0,
  }) satisfies InRecord
const now = new Date('2025-01-01T00:00:00Z')
/** A reason of the list, where any reason would do. */
const REASON = 'schema_invalid'
const letterOf = (out: OutRecord) => DeadLetter.parse(JSON.parse(String(out.value)))
/** The steps a letter was shrunk by, from the note at the end of its message. */
const cutsOf = (out: OutRecord) =>
  /\[dead letter shrunk to fit the dlq: (.*)\]$/
    .exec(letterOf(out).message)?.[1]
    ?.split('; ')
    .map((c) => c.replace(/ \(.*/, '')) ?? []
const ORDER = [
  'text copy of the headers left out',
  'original headers left out',
  'key cut',
  'payload cut',
  'message left out',
]

describe('deadLetterRecord: the size of the letter, as Kafka encodes it', () => {
  it("fits a record of 380,000 empty headers, a key of control characters and 256 KB (the audit's)", () => {
    // Each empty header takes 2 bytes on the wire and counted for none: all were carried, 760 KB.
    const rec = consumed({
      key: Buffer.alloc(16 * 1024, 1),
      value: Buffer.concat([Buffer.alloc(17_000, 1), Buffer.alloc(DLQ_MAX_PAYLOAD_BYTES - 17_000, 0x78)]),
      headers: { '': new Array<Buffer>(380_000).fill(Buffer.alloc(0)), traceparent: Buffer.from('00-ab') },
    })
    const out = deadLetterRecord('dlq', 'ingest', rec, 'too_large', 'record of 1038000 bytes', now)
    expect(encodedBytes(out)).toBeLessThanOrEqual(DLQ_MAX_RECORD_BYTES)
    expect(encodedBytes(out)).toBeLessThanOrEqual(recordBytes(out))
    expect(out.headers!['']).toBeUndefined()
    expect(out.headers!.traceparent).toEqual(Buffer.from('00-ab'))
    expect(out.headers![DLQ_HEADERS.headersOmitted]).toBe('380000')
    expect(out.headers![DLQ_HEADERS.reason]).toBe('too_large')
    const letter = letterOf(out)
    expect(letter).toMatchObject({ reason: 'too_large', origin: { topic: 'raw', offset: '12345' } })
    expect(Buffer.from(letter.key!, 'base64')).toEqual(rec.key)
    expect(cutsOf(out)).toEqual([]) // within the bounds of each part, nothing more had to go
  })

  it('carries at most DLQ_MAX_ORIGINAL_HEADER_VALUES original header values, counting the rest', () => {
    const headers = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`h${i}`, Buffer.from('v')]))
    const out = deadLetterRecord('dlq', 'w', consumed({ value: Buffer.from('x'), headers }), REASON, 'm', now)
    const carried = Object.keys(out.headers!).filter((k) => k.startsWith('h'))
    expect(carried).toHaveLength(DLQ_MAX_ORIGINAL_HEADER_VALUES)
    expect(carried.at(-1)).toBe(`h${DLQ_MAX_ORIGINAL_HEADER_VALUES - 1}`)
    expect(out.headers![DLQ_HEADERS.headersOmitted]).toBe(String(5000 - DLQ_MAX_ORIGINAL_HEADER_VALUES))
    // A repeated header counts each value, and is left out whole.
    const repeated = { a: Buffer.from('1'), many: new Array<Buffer>(2000).fill(Buffer.from('x')) }
    const out2 = deadLetterRecord('dlq', 'w', consumed({ headers: repeated }), REASON, 'm', now)
    expect([out2.headers!.a, out2.headers!.many]).toEqual([Buffer.from('1'), undefined])
    expect(out2.headers![DLQ_HEADERS.headersOmitted]).toBe('2000')
  })

  it('keeps a key of control characters as base64 rather than six-fold JSON, and a plain one as text', () => {
    const key = Buffer.alloc(16 * 1024, 1)
    const out = deadLetterRecord('dlq', 'w', consumed({ key, value: Buffer.from('x') }), REASON, 'm', now)
    const letter = letterOf(out)
    expect(letter).toMatchObject({ keyEncoding: 'base64' })
    expect(letter.keyTruncated).toBeUndefined()
    expect(Buffer.from(letter.key!, 'base64')).toEqual(key)
    expect(Buffer.byteLength(String(out.value))).toBeLessThan(25 * 1024)
    const tab = deadLetterRecord('dlq', 'w', consumed({ key: Buffer.from('a\tb\u0001') }), REASON, 'm', now)
    expect(letterOf(tab)).toMatchObject({ key: 'a\tb\u0001', keyEncoding: 'utf8' })
  })

  it('bounds the JSON of the text copy of the headers, not only its characters', () => {
    // 32 names of 256 characters and values of 1,024, all control characters: 245 KB as JSON.
    const headers = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`${i}`.padStart(256, '\u0001'), Buffer.alloc(1024, 1)]),
    )
    const out = deadLetterRecord('dlq', 'w', consumed({ value: Buffer.from('x'), headers }), REASON, 'm', now)
    const copy = letterOf(out).headers!
    expect(Buffer.byteLength(JSON.stringify(copy))).toBeLessThanOrEqual(64 * 1024)
    expect(Object.keys(copy).length).toBeGreaterThan(0)
    expect(Object.values(copy)[0]).toBe('\u0001'.repeat(1024))
    // Plain text headers are all kept, as before.
    const plain = Object.fromEntries(
      Array.from({ length: 32 }, (_, i) => [`h${i}`, Buffer.alloc(1024, 0x61)]),
    )
    const copy2 = letterOf(deadLetterRecord('dlq', 'w', consumed({ headers: plain }), REASON, 'm', now))
      .headers!
    expect(Object.keys(copy2)).toHaveLength(32)
  })

  it('shrinks a letter over the budget in a fixed order, saying what went and how large it was', () => {
    const rec = consumed({
      key: Buffer.alloc(5000, 0x6b),
      value: Buffer.alloc(100_000, 0x70),
      headers: { traceparent: Buffer.from('t'.repeat(900)), bin: Buffer.alloc(20_000, 0xff) },
    })
    const full = deadLetterRecord('dlq', 'w', rec, REASON, 'a message', now)
    expect(cutsOf(full)).toEqual([])
    const size = recordBytes(full)
    // Just over: the text copy of the headers goes first, and nothing else.
    const one = deadLetterRecord('dlq', 'w', rec, REASON, 'a message', now, { maxRecordBytes: size - 1 })
    expect(cutsOf(one)).toEqual(ORDER.slice(0, 1))
    expect(letterOf(one).headers).toBeUndefined()
    expect(one.headers!.bin).toEqual(rec.rawHeaders.bin)
    // Then the original headers, then the key; the payload is cut to the room left.
    const two = deadLetterRecord('dlq', 'w', rec, REASON, 'a message', now, { maxRecordBytes: 104_000 })
    expect(cutsOf(two)).toEqual(ORDER.slice(0, 3))
    expect(two.headers!.bin).toBeUndefined()
    expect(two.headers![DLQ_HEADERS.headersOmitted]).toBe('2')
    expect(letterOf(two).message).toBe(
      'a message [dead letter shrunk to fit the dlq: text copy of the headers left out; original headers left out (2 values, 20914 bytes); key cut (original 5000 bytes)]',
    )
    expect(letterOf(two)).toMatchObject({ keyTruncated: true, payloadTruncated: false })
    expect(two.key).toBe('k'.repeat(256))
    const three = deadLetterRecord('dlq', 'w', rec, REASON, 'a message', now, { maxRecordBytes: 50_000 })
    expect(cutsOf(three)).toEqual(ORDER.slice(0, 4))
    const letter = letterOf(three)
    expect(letter).toMatchObject({ payloadTruncated: true, payloadEncoding: 'utf8', reason: REASON })
    expect(letter.message).toContain('payload cut (original 100000 bytes)')
    expect(recordBytes(three)).toBeLessThanOrEqual(50_000)
    expect(recordBytes(three)).toBeGreaterThan(49_000) // the payload takes the room left
    // With no room for a payload even empty, the message goes too, and the payload takes its room.
    const long = deadLetterRecord('dlq', 'w', rec, REASON, '\u0001'.repeat(8000), now, {
      maxRecordBytes: 8000,
    })
    expect(cutsOf(long)).toEqual(ORDER)
    expect(letterOf(long).message).toMatch(
      /^\[dead letter shrunk .*message left out \(original 8000 characters\)\]$/,
    )
    expect(letterOf(long).payload).toMatch(/^p{1000,}$/)
    expect(recordBytes(long)).toBeLessThanOrEqual(8000)
  })

  it('fits every letter in its budget, whatever the sizes of the parts of the original (random)', () => {
    // A seeded generator (mulberry32): the same cases on every run.
    let seed = 0x5eed
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
    const int = (max: number) => Math.floor(random() * (max + 1))
    // Sizes spread over orders of magnitude; bytes that JSON escapes, invalid UTF-8, multi-byte, plain.
    const size = (max: number) => Math.min(max, Math.floor(2 ** (random() * Math.log2(max + 1))) - 1)
    const fills = [0x01, 0xff, 0x61, 0x22]
    const bytes = (n: number) => {
      const fill = fills[int(fills.length - 1)]!
      if (fill !== 0x61 || random() < 0.5) return Buffer.alloc(n, fill)
      return Buffer.from('é'.repeat(Math.ceil(n / 2))).subarray(0, n) // maybe cut inside a character
    }
    for (let i = 0; i < 150; i++) {
      const headers: Record<string, unknown> = {}
      const names = size(3000)
      for (let h = 0; h < names; h++) headers[`${h}`.padStart(size(300), '\u0001')] = bytes(size(3000))
      if (random() < 0.3) headers[''] = new Array<Buffer>(size(400_000)).fill(Buffer.alloc(0))
      const rec = consumed({
        key: random() < 0.1 ? null : bytes(size(40_000)),
        value: random() < 0.1 ? null : bytes(size(1_100_000)),
        headers,
      })
      const budget = random() < 0.5 ? undefined : 8 * 1024 + int(DLQ_MAX_RECORD_BYTES - 8 * 1024)
      const message = '\u0001'.repeat(size(20_000))
      const out = deadLetterRecord('dlq', 'w', rec, 'too_large', message, now, { maxRecordBytes: budget })
      const what = `case ${i}: budget ${budget}, ${names} headers, key ${rec.key?.length}, value ${rec.value?.length}`
      expect(encodedBytes(out), what).toBeLessThanOrEqual(recordBytes(out))
      expect(recordBytes(out), what).toBeLessThanOrEqual(budget ?? DLQ_MAX_RECORD_BYTES)
      const cuts = cutsOf(out)
      expect(cuts, what).toEqual(ORDER.filter((c) => cuts.includes(c)))
      expect(letterOf(out), what).toMatchObject({ reason: 'too_large', origin: { offset: '12345' } })
      expect(out.headers![DLQ_HEADERS.offset], what).toBe('12345')
    }
  })
})

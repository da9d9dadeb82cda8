import { DeadLetter } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import {
  DEAD_LETTER_REASONS,
  DLQ_HEADERS,
  DLQ_MAX_KEY_CHARS,
  DLQ_MAX_ORIGINAL_HEADER_BYTES,
  DLQ_MAX_PAYLOAD_BYTES,
  deadLetterRecord,
  REPLAY_HEADERS,
  replayedAtMs,
} from './dead-letter.ts'
import { headerBytes } from './produce.ts'
import { headersToStrings, type InRecord, nullHeaderValues, type Outcome } from './records.ts'

const rec = (value: Buffer | null): InRecord => ({
  topic: 'raw',
  partition: 2,
  offset: '41',
  key: Buffer.from('k'),
  value,
  headers: {},
  timestamp: Date.parse('2024-12-20T08:30:00.123Z'),
})
const now = new Date('2025-01-01T00:00:00Z')
/** A reason of the list, where any reason would do. */
const REASON = 'schema_invalid'

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
      origin: {
        topic: 'raw',
        partition: 2,
        offset: '41',
        timestamp: String(Date.parse('2024-12-20T08:30:00.123Z')),
      },
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
      'tp-origin-timestamp': String(Date.parse('2024-12-20T08:30:00.123Z')),
    })
  })
  it("carries the original record's Kafka timestamp (ms), which its origin no longer holds after raw retention", () => {
    // Ingest takes it as the headline's entry time: a letter replayed later needs it, and the dlq keeps
    // letters 30 days where headlines.raw keeps the record 7.
    const out = deadLetterRecord(
      'dlq',
      'ingest',
      { ...rec(Buffer.from('x')), timestamp: 1_700_000_000_007 },
      REASON,
      'm',
      now,
    )
    expect(out.headers![DLQ_HEADERS.timestamp]).toBe('1700000000007')
    // In the value too, for readers of the letter's JSON alone (a sink to a database, `tradepulse dlq`).
    expect(DeadLetter.parse(JSON.parse(String(out.value))).origin.timestamp).toBe('1700000000007')
    // The letter's own timestamp stays the broker's (when it was written): the dlq's retention counts from it.
    expect(out.timestamp).toBeUndefined()
  })
  it('carries no timestamp where the record had none (-1, a record of the oldest message format)', () => {
    const out = deadLetterRecord('dlq', 'w', { ...rec(Buffer.from('x')), timestamp: -1 }, REASON, 'm', now)
    expect(out.headers).not.toHaveProperty(DLQ_HEADERS.timestamp)
    expect(JSON.parse(String(out.value)).origin).toEqual({ topic: 'raw', partition: 2, offset: '41' })
  })
  it("keeps its own timestamp over an original header of the same name (a letter's record sent on again)", () => {
    const out = deadLetterRecord(
      'dlq',
      'w',
      { ...rec(Buffer.from('x')), headers: { 'tp-origin-timestamp': '1' }, timestamp: 1_700_000_000_007 },
      REASON,
      'm',
      now,
    )
    expect(out.headers![DLQ_HEADERS.timestamp]).toBe('1700000000007')
    // In the value too, for readers of the letter's JSON alone (a sink to a database, `tradepulse dlq`).
    expect(DeadLetter.parse(JSON.parse(String(out.value))).origin.timestamp).toBe('1700000000007')
    expect(out.headers![DLQ_HEADERS.headersOmitted]).toBe('1')
  })
  it('keeps binary payloads exactly, as base64', () => {
    const bytes = Buffer.from([0, 255, 128, 7])
    const letter = JSON.parse(
      String(deadLetterRecord('dlq', 'w', rec(bytes), REASON, 'm', now).value),
    ) as DeadLetter
    expect(letter.payloadEncoding).toBe('base64')
    expect(Buffer.from(letter.payload, 'base64')).toEqual(bytes)
  })
  it('cuts huge payloads and says so', () => {
    const letter = JSON.parse(
      String(
        deadLetterRecord('dlq', 'w', rec(Buffer.alloc(DLQ_MAX_PAYLOAD_BYTES + 10, 97)), REASON, 'm', now)
          .value,
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
          String(deadLetterRecord('dlq', 'w', rec(Buffer.from(text)), REASON, 'm', now).value),
        ) as DeadLetter
      ).payload,
    ).toBe(text)
  })
  it('cuts a huge key to DLQ_MAX_KEY_CHARS characters (the origin headers still name the record)', () => {
    const huge = { ...rec(Buffer.from('x')), key: Buffer.alloc(700 * 1024, 107) }
    expect(deadLetterRecord('dlq', 'w', huge, REASON, 'm', now).key).toBe('k'.repeat(DLQ_MAX_KEY_CHARS))
    const small = { ...rec(Buffer.from('x')), key: Buffer.from('héadline-42') }
    expect(deadLetterRecord('dlq', 'w', small, REASON, 'm', now).key).toBe('héadline-42')
  })
})

describe('deadLetterRecord: the original key and headers', () => {
  it('keeps a text key as text, a binary key byte for byte as base64, and the headers', () => {
    const withKey = (key: Buffer | null, headers: Record<string, string> = {}) =>
      DeadLetter.parse(
        JSON.parse(
          String(
            deadLetterRecord('dlq', 'w', { ...rec(Buffer.from('x')), key, headers }, REASON, 'm', now).value,
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
      JSON.parse(String(deadLetterRecord('dlq', 'w', { ...rec(null), headers }, REASON, 'm', now).value)),
    )
    expect(Object.keys(letter.headers!)).toHaveLength(32)
    expect(letter.headers!.h0).toHaveLength(1024)
  })
})

describe('deadLetterRecord: the original headers byte for byte', () => {
  // As kafkajs gives them: bytes, and an array for a header given more than once.
  const consumed = (headers: Record<string, unknown>): InRecord => ({
    ...rec(Buffer.from('{bad')),
    headers: headersToStrings(headers),
    rawHeaders: headers,
  })
  const sig = Buffer.from([0xde, 0xad, 0xbe, 0xef])

  it("carries them in the dlq record's own headers, bytes and repeats kept, ours after them", () => {
    const out = deadLetterRecord(
      'dlq',
      'w',
      consumed({
        sig,
        multi: [Buffer.from('first'), Buffer.from('second')],
        traceparent: Buffer.from('00-ab'),
      }),
      'invalid_json',
      'm',
      now,
    )
    // They became { sig: 'ޭ��', multi: 'second' }.
    expect(out.headers).toEqual({
      sig,
      multi: [Buffer.from('first'), Buffer.from('second')],
      traceparent: Buffer.from('00-ab'),
      'tp-dlq-reason': 'invalid_json',
      'tp-dlq-worker': 'w',
      'tp-origin-topic': 'raw',
      'tp-origin-partition': '2',
      'tp-origin-offset': '41',
      'tp-origin-timestamp': String(Date.parse('2024-12-20T08:30:00.123Z')),
    })
    expect((out.headers!.sig as Buffer).equals(sig)).toBe(true)
    // The letter's text copy holds only what has an exact text form: one value of valid UTF-8.
    const letter = DeadLetter.parse(JSON.parse(String(out.value)))
    expect(letter.headers).toEqual({ traceparent: '00-ab' })
  })

  it('keeps ours over an original of the same name, and counts what it leaves out', () => {
    const out = deadLetterRecord(
      'dlq',
      'w',
      consumed(
        // An own "__proto__" header, as kafkajs (patched) makes it.
        Object.defineProperty(
          { 'tp-dlq-reason': Buffer.from('older'), keep: Buffer.from('k') },
          '__proto__',
          {
            value: Buffer.from('p'),
            enumerable: true,
          },
        ),
      ),
      'schema_invalid',
      'm',
      now,
    )
    expect(out.headers![DLQ_HEADERS.reason]).toBe('schema_invalid')
    expect(out.headers![DLQ_HEADERS.headersOmitted]).toBe('1')
    expect(out.headers!.keep).toEqual(Buffer.from('k'))
    expect(Object.keys(out.headers!)).toContain('__proto__')
    expect(Object.getOwnPropertyDescriptor(out.headers, '__proto__')?.value).toEqual(Buffer.from('p'))
  })

  it('carries the marks of a replay (tp-dlq-replay-of…) as original headers: a later replay tells its letter by them', () => {
    const marks = {
      [REPLAY_HEADERS.replayedAt]: Buffer.from('2025-01-01T00:00:00.000Z'),
      [REPLAY_HEADERS.replayOf]: Buffer.from('tradepulse.dlq.v1[0]@7'),
    }
    const out = deadLetterRecord('dlq', 'w', consumed(marks), 'schema_invalid', 'm', now)
    expect(out.headers).toMatchObject(marks)
    expect(out.headers).not.toHaveProperty(DLQ_HEADERS.headersOmitted)
  })

  it('bounds the bytes it carries, leaving whole headers out and saying how many values', () => {
    const big = Buffer.alloc(DLQ_MAX_ORIGINAL_HEADER_BYTES / 2, 0x61)
    const out = deadLetterRecord(
      'dlq',
      'w',
      consumed({ a: big, b: big, c: [Buffer.from('1'), Buffer.from('2')], d: Buffer.from('small') }),
      REASON,
      'm',
      now,
    )
    expect(Object.keys(out.headers!).filter((k) => !k.startsWith('tp-'))).toEqual(['a', 'c', 'd'])
    expect(out.headers![DLQ_HEADERS.headersOmitted]).toBe('1')
  })

  it("stays under a broker's default 1 MB limit with every part at its worst", () => {
    // Control characters are valid UTF-8 that JSON writes six-fold; the headers fill the original record.
    const worst = (n: number) => Buffer.alloc(n, 1)
    const headers = Object.fromEntries(
      Array.from({ length: 900 }, (_, i) => [`${i}`.padStart(256, '\u0001'), worst(1_000)]),
    )
    const out = deadLetterRecord(
      'dlq',
      'w',
      { ...consumed(headers), value: worst(1_000_000), key: worst(20_000) },
      REASON,
      '\u0001'.repeat(20_000),
      now,
    )
    let size = Buffer.byteLength(out.key ?? '') + Buffer.byteLength(String(out.value))
    for (const [k, v] of Object.entries(out.headers!)) size += headerBytes(k, v)
    expect(size).toBeLessThan(1_000_000)
    expect(Number(out.headers![DLQ_HEADERS.headersOmitted])).toBeGreaterThan(700)
  })

  it('takes only a reason of DEAD_LETTER_REASONS: the compiler refuses another, as on a dlq Outcome', () => {
    // Checked by `pnpm typecheck`: an unused @ts-expect-error is an error, so a reason typed string again fails.
    // @ts-expect-error: not a reason of the list
    deadLetterRecord('dlq', 'w', rec(null), 'not_a_reason', 'm', now)
    // @ts-expect-error: not a reason of the list
    const outcome: Outcome = { kind: 'dlq', reason: 'not_a_reason', message: 'm' }
    expect(outcome.kind).toBe('dlq')
    expect(new Set(DEAD_LETTER_REASONS).size).toBe(DEAD_LETTER_REASONS.length)
  })

  it('carries the text headers of a record made in memory', () => {
    const out = deadLetterRecord(
      'dlq',
      'w',
      { ...rec(null), headers: { traceparent: 't' } },
      REASON,
      'm',
      now,
    )
    expect(out.headers).toMatchObject({ traceparent: 't', 'tp-dlq-reason': REASON })
    expect(out.headers).not.toHaveProperty(DLQ_HEADERS.headersOmitted)
  })
})

describe('null header values (Kafka gives a header without bytes; kafkajs reads it as null)', () => {
  // As kafkajs decodes a record whose header "a" was sent as "x" then null, "b" as null alone, "c" as null
  // then "y", "d" as null twice.
  const raw = {
    a: [Buffer.from('x'), null],
    b: null,
    c: [null, Buffer.from('y')],
    d: [null, null],
    e: Buffer.from('z'),
  }

  it('reads as no value in the text headers: a repeated header gives its last value with bytes', () => {
    // Before: "a" and "d" read as the text "null".
    expect(headersToStrings(raw)).toEqual({ a: 'x', c: 'y', e: 'z' })
    expect(nullHeaderValues({ rawHeaders: raw })).toBe(5)
    expect(nullHeaderValues({})).toBe(0)
  })

  it('is counted among the values a dead letter left out, the others carried byte for byte', () => {
    const out = deadLetterRecord(
      'dlq',
      'w',
      { ...rec(Buffer.from('x')), headers: headersToStrings(raw), rawHeaders: raw },
      REASON,
      'm',
      now,
    )
    // Before: no tp-dlq-headers-omitted, so the letter said it held every header of the record, and
    // `dlq replay` sent the record again without its null headers.
    expect(out.headers).toMatchObject({
      a: [Buffer.from('x')],
      c: [Buffer.from('y')],
      e: Buffer.from('z'),
      [DLQ_HEADERS.headersOmitted]: '5',
    })
    expect(out.headers).not.toHaveProperty('b')
    expect(out.headers).not.toHaveProperty('d')
  })
})

describe('replayedAtMs', () => {
  it('reads the time a replay wrote, and nothing else', () => {
    const at = '2025-03-04T10:00:00.123Z'
    expect(replayedAtMs({ [REPLAY_HEADERS.replayedAt]: at })).toBe(Date.parse(at))
    expect(replayedAtMs({})).toBeUndefined()
    for (const bad of ['', 'soon', '1741082400000', '2025-03-04T10:00:00Z', '2025-02-30T10:00:00.000Z'])
      expect(replayedAtMs({ [REPLAY_HEADERS.replayedAt]: bad }), bad).toBeUndefined()
  })
})

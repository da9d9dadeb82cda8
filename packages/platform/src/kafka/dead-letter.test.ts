import { DeadLetter } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import {
  DEAD_LETTER_CE_TYPE,
  DEAD_LETTER_REASONS,
  DLQ_HEADERS,
  DLQ_MAX_KEY_CHARS,
  DLQ_MAX_ORIGINAL_HEADER_BYTES,
  DLQ_MAX_PAYLOAD_BYTES,
  DLQ_ORIGINAL_HEADER_PREFIX,
  deadLetterRecord,
  originalHeadersOfLetter,
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
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
/** The letter's own CloudEvents headers, as a letter of `worker` for raw[2]@41 written at `now` has them. */
const ownEvent = (worker: string) => ({
  ce_specversion: '1.0',
  ce_id: expect.stringMatching(UUID),
  ce_type: DEAD_LETTER_CE_TYPE,
  ce_source: `/tradepulse/${worker}`,
  ce_time: now.toISOString(),
  ce_subject: 'raw[2]@41',
  'content-type': 'application/json',
})

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
      ...ownEvent('ingest'),
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
      ...ownEvent('w'),
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

  it("keeps the original's CloudEvents headers and content-type under tp-original-, and has its own: a letter is no alert", () => {
    // A webhook_failed letter of an alert, as the alerter's desk topic had it.
    const alert = {
      ce_specversion: Buffer.from('1.0'),
      ce_id: Buffer.from('a1'),
      ce_type: Buffer.from('dev.tradepulse.alert.v1'),
      ce_source: Buffer.from('/tradepulse/alerter/spike'),
      ce_time: Buffer.from('2024-12-20T08:30:00.000Z'),
      ce_subject: Buffer.from('ticker:AAPL'),
      'content-type': Buffer.from('application/json'),
      traceparent: Buffer.from('00-ab'),
    }
    const out = deadLetterRecord('dlq', 'alerter', consumed(alert), 'webhook_failed', 'm', now)
    // Before: ce_type dev.tradepulse.alert.v1 and ce_id a1, the alert's, on a record whose value is a DeadLetter.
    expect(out.headers).toEqual({
      'tp-original-ce_specversion': alert.ce_specversion,
      'tp-original-ce_id': alert.ce_id,
      'tp-original-ce_type': alert.ce_type,
      'tp-original-ce_source': alert.ce_source,
      'tp-original-ce_time': alert.ce_time,
      'tp-original-ce_subject': alert.ce_subject,
      'tp-original-content-type': alert['content-type'],
      traceparent: alert.traceparent,
      ...ownEvent('alerter'),
      'tp-dlq-reason': 'webhook_failed',
      'tp-dlq-worker': 'alerter',
      'tp-origin-topic': 'raw',
      'tp-origin-partition': '2',
      'tp-origin-offset': '41',
      'tp-origin-timestamp': String(Date.parse('2024-12-20T08:30:00.123Z')),
    })
    // One event per letter: the same record dead-lettered again is another letter.
    const again = deadLetterRecord('dlq', 'alerter', consumed(alert), 'webhook_failed', 'm', now)
    expect(again.headers!.ce_id).not.toBe(out.headers!.ce_id)
    // Read back, the letter gives the original headers as they were, in their order.
    const back = originalHeadersOfLetter(out.headers!)
    expect(Object.keys(back)).toEqual(Object.keys(alert))
    expect(back).toEqual(alert)
    // The text copy in the value is of the original, under the original names.
    expect(DeadLetter.parse(JSON.parse(String(out.value))).headers).toMatchObject({ ce_id: 'a1' })
  })

  it('prefixes any case of ce_* and content-type, and an original already named with the prefix, so that every name reads back', () => {
    const odd = {
      'Content-Type': Buffer.from('text/plain'),
      CE_ID: Buffer.from('x'),
      [`${DLQ_ORIGINAL_HEADER_PREFIX}ce_id`]: Buffer.from('nested'),
      cex: Buffer.from('not an attribute'),
    }
    const out = deadLetterRecord('dlq', 'ingest', consumed(odd), REASON, 'm', now)
    expect(Object.keys(out.headers!).slice(0, 4)).toEqual([
      'tp-original-Content-Type',
      'tp-original-CE_ID',
      'tp-original-tp-original-ce_id',
      'cex',
    ])
    expect(originalHeadersOfLetter(out.headers!)).toEqual(odd)
  })

  it('reads a letter written before letters had their own CloudEvents headers as before: its ce_* are the original', () => {
    const old = {
      ce_id: Buffer.from('a1'),
      ce_type: Buffer.from('dev.tradepulse.alert.v1'),
      'content-type': Buffer.from('application/json'),
      [DLQ_HEADERS.reason]: Buffer.from('webhook_failed'),
      [DLQ_HEADERS.topic]: Buffer.from('alerts.desk.fx.v1'),
    }
    expect(originalHeadersOfLetter(old)).toEqual({
      ce_id: old.ce_id,
      ce_type: old.ce_type,
      'content-type': old['content-type'],
    })
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
    expect(Object.keys(out.headers!).filter((k) => !k.startsWith('tp-') && !(k in ownEvent('w')))).toEqual([
      'a',
      'c',
      'd',
    ])
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

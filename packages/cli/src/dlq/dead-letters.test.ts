import {
  DEAD_LETTER_REASONS,
  type DeadLetterReason,
  DLQ_HEADERS,
  DLQ_MAX_ORIGINAL_HEADER_BYTES,
  deadLetterRecord,
  type InRecord,
  type OutRecord,
  REPLAY_HEADERS,
} from '@tradepulse/platform'
import { InvalidArgumentError } from 'commander'
import { describe, expect, it } from 'vitest'
import { reasonCode } from '../commands/dlq.ts'
import {
  catalogueTopic,
  type DlqRecord,
  deadLetterJson,
  formatDeadLetter,
  isLetterOfReplay,
  printable,
  printableJson,
  readDeadLetter,
  replayRecord as replayRecordWith,
  selects,
} from './dead-letters.ts'

const FAILED_AT = new Date('2026-03-02T14:00:01.500Z')
const ORIGIN_MS = 1_700_000_000_123
const DLQ = 'tradepulse.dlq.v1'
const REPLAYED_AT = Date.parse('2026-03-03T09:00:00.000Z')
/** The replay's marks on a letter at DLQ[0]@7 (onDlq's place), first. */
const MARKS = {
  [REPLAY_HEADERS.replayedAt]: '2026-03-03T09:00:00.000Z',
  [REPLAY_HEADERS.replayOf]: `${DLQ}[0]@7`,
}

const replayRecord = (e: Parameters<typeof replayRecordWith>[0], over = {}) =>
  replayRecordWith(e, { dlqTopic: DLQ, atMs: REPLAYED_AT, ...over })

/** An input record as a worker consumed it. */
function input(over: Partial<InRecord> = {}): InRecord {
  return {
    topic: 'tradepulse.headlines.raw.v1',
    partition: 2,
    offset: '41',
    key: Buffer.from('h-1'),
    value: Buffer.from('{"id":"h-1","headline":""}'),
    headers: { traceparent: '00-abc-def-01' },
    rawHeaders: { traceparent: Buffer.from('00-abc-def-01') },
    timestamp: ORIGIN_MS,
    ...over,
  }
}

/** The dead letter a worker writes for `rec`, as the dlq gives it back (kafkajs: bytes). */
function onDlq(out: OutRecord, at = { partition: 0, offset: '7' }): DlqRecord {
  const headers: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(out.headers ?? {}))
    headers[k] = Array.isArray(v) ? v.map((x) => Buffer.from(x)) : Buffer.from(v)
  return {
    ...at,
    timestamp: FAILED_AT.getTime(),
    key: out.key === null ? null : Buffer.from(out.key),
    value: Buffer.from(out.value),
    headers,
  }
}

function entryOf(
  rec: InRecord,
  reason: DeadLetterReason = 'empty_headline',
  message = 'headline has no letter or digit',
) {
  const r = readDeadLetter(
    onDlq(deadLetterRecord('tradepulse.dlq.v1', 'ingest', rec, reason, message, FAILED_AT)),
  )
  if (!r.ok) throw new Error(r.error)
  return r.entry
}

describe('a dead letter read back from the dlq', () => {
  it('gives the original value, key, headers and timestamp to send again, the dlq headers left out, marked as a replay', () => {
    const e = entryOf(input())
    expect(e.id).toBe('h-1')
    expect(e.originTimestamp).toEqual({ ms: ORIGIN_MS })
    const r = replayRecord(e)
    expect(r).toEqual({
      ok: true,
      record: {
        topic: 'tradepulse.headlines.raw.v1',
        key: Buffer.from('h-1'),
        value: Buffer.from('{"id":"h-1","headline":""}'),
        headers: { ...MARKS, traceparent: Buffer.from('00-abc-def-01') },
        timestamp: ORIGIN_MS,
      },
    })
    // The marks come first: a letter of the record keeps them whatever else of its headers does not fit.
    expect(r.ok && Object.keys(r.record.headers)).toEqual([...Object.keys(MARKS), 'traceparent'])
  })

  it("gives back the original's CloudEvents headers and content-type, not the letter's own; and a letter's written before letters had their own", () => {
    const ce = {
      ce_id: Buffer.from('a1'),
      ce_type: Buffer.from('dev.tradepulse.alert.v1'),
      'content-type': Buffer.from('application/json'),
      traceparent: Buffer.from('00-abc-def-01'),
    }
    const out = deadLetterRecord(DLQ, 'alerter', input({ rawHeaders: ce }), 'webhook_failed', 'm', FAILED_AT)
    const r = readDeadLetter(onDlq(out))
    expect(r.ok && Object.keys(r.entry.headers)).toEqual(Object.keys(ce))
    expect(r.ok && replayRecord(r.entry)).toEqual({
      ok: true,
      record: expect.objectContaining({ headers: { ...MARKS, ...ce } }),
    })
    // Before: the original's at the top level, then the dlq's.
    const dlqOwn = Object.fromEntries(
      Object.entries(out.headers!).filter(([k]) => (Object.values(DLQ_HEADERS) as string[]).includes(k)),
    )
    const old = readDeadLetter(onDlq({ ...out, headers: { ...ce, ...dlqOwn } }))
    expect(old.ok && replayRecord(old.entry)).toEqual({
      ok: true,
      record: expect.objectContaining({ headers: { ...MARKS, ...ce } }),
    })
  })

  it('gives a key and a value that are not UTF-8 byte for byte (the letter keeps them as base64)', () => {
    const key = Buffer.from([0xff, 0x00, 0xfe])
    const value = Buffer.from([0xc3, 0x28, 0x7b])
    const r = replayRecord(entryOf(input({ key, value }), 'invalid_utf8', 'not UTF-8'))
    expect(r.ok && r.record.key).toEqual(key)
    expect(r.ok && r.record.value).toEqual(value)
  })

  it('sends no timestamp when the original had none (Kafka stamps it), and none of a letter that has no key', () => {
    const r = replayRecord(entryOf(input({ timestamp: -1, key: null })))
    expect(r.ok && r.record).not.toHaveProperty('timestamp')
    expect(r.ok && r.record.key).toBeNull()
  })

  it("takes the dlq record's own key for a letter written before the letter kept a copy", () => {
    const e = entryOf(input())
    const { key: _k, keyEncoding: _e, ...older } = e.letter
    const r = replayRecord({ ...e, letter: older })
    expect(r.ok && r.record.key).toEqual(Buffer.from('h-1'))
  })

  it('refuses a letter without the original value, or with a cut copy of it or of the key, or a bad tp-origin-timestamp', () => {
    expect(replayRecord(entryOf(input({ value: null }), 'tombstone', 'null value'))).toEqual({
      ok: false,
      why: 'no original value (the record had a null value)',
    })
    expect(replayRecord(entryOf(input({ value: Buffer.alloc(0) }), 'empty_record', 'empty'))).toEqual({
      ok: false,
      why: 'no original value (the record had an empty or null value)',
    })
    const cut = entryOf(input({ value: Buffer.alloc(300 * 1024, 'a') }), 'too_large', 'too large')
    expect(cut.letter.payloadTruncated).toBe(true)
    expect(replayRecord(cut)).toEqual({
      ok: false,
      why: "the letter holds only the start of the original value (payloadTruncated); the original is at tradepulse.headlines.raw.v1[2]@41 while within that topic's retention",
    })
    const longKey = entryOf(input({ key: Buffer.alloc(20_000, 'k') }))
    expect(replayRecord(longKey)).toMatchObject({ ok: false, why: /original key \(keyTruncated\)/ })
    const e = entryOf(input())
    expect(replayRecord({ ...e, originTimestamp: { ms: undefined, bad: 'soon' } })).toEqual({
      ok: false,
      why: `its ${DLQ_HEADERS.timestamp} header "soon" is not ms since the epoch`,
    })
  })

  // Such letters were sent without those headers, the summary saying they 'did not fit' also when a
  // header was left out for its name: README promises a letter that cannot be sent as its original is refused.
  it('refuses a letter whose original headers were not all kept, saying why, unless allowed without them', () => {
    const at = "the original is at tradepulse.headlines.raw.v1[2]@41 while within that topic's retention"
    const allow = '--allow-missing-headers sends it without them'
    const named = entryOf(
      input({ rawHeaders: { 'tp-origin-topic': Buffer.from('elsewhere'), keep: Buffer.from('k') } }),
    )
    expect(replayRecord(named)).toEqual({
      ok: false,
      why: `its original header tp-origin-topic was left out of the letter, being named as the dlq's own (tp-dlq-headers-omitted); ${at}; ${allow}`,
    })
    const big = Buffer.alloc(DLQ_MAX_ORIGINAL_HEADER_BYTES, 0x61)
    const large = entryOf(input({ rawHeaders: { keep: Buffer.from('k'), big } }))
    expect(replayRecord(large)).toMatchObject({
      ok: false,
      why: expect.stringMatching(
        /^1 original header value was left out of the letter: past the 128 KB and 1024 values a letter keeps of them, or named as one of the dlq's own \(tp-dlq-headers-omitted, /,
      ),
    })
    const shrunk = readDeadLetter(
      onDlq(
        // A header within what a letter keeps, in a letter that must shrink to fit (a smaller limit here).
        deadLetterRecord(
          DLQ,
          'ingest',
          input({ rawHeaders: { h: Buffer.alloc(8192, 0x62) } }),
          'schema_invalid',
          'y',
          FAILED_AT,
          {
            maxRecordBytes: 6000,
          },
        ),
      ),
    )
    expect(shrunk.ok && replayRecord(shrunk.entry)).toEqual({
      ok: false,
      why: `all its original headers (1 value) were left out for the letter to fit in the dlq (tp-dlq-headers-omitted); ${at}; ${allow}`,
    })
    expect(replayRecord(large, { allowMissingHeaders: true })).toMatchObject({
      ok: true,
      record: { headers: { ...MARKS, keep: Buffer.from('k') } },
    })
  })

  // Every replay sent again the letters of the records earlier replays had sent (their records failed
  // again), so each run doubled the copies.
  it("tells a letter of a record a replay from this dlq sent by the replay's mark, which a new replay replaces", () => {
    const first = entryOf(input())
    expect(isLetterOfReplay(first, DLQ)).toBe(false)
    const replayed = replayRecord(first)
    if (!replayed.ok) throw new Error(replayed.why)
    // The record fails again: its worker dead-letters it as it came, marks and all.
    const again = entryOf(input({ rawHeaders: replayed.record.headers }))
    expect(isLetterOfReplay(again, DLQ)).toBe(true)
    expect(isLetterOfReplay(again, 'other.dlq.v1')).toBe(false)
    const later = replayRecord(again, { atMs: REPLAYED_AT + 60_000 })
    expect(later.ok && later.record.headers).toEqual({
      [REPLAY_HEADERS.replayedAt]: '2026-03-03T09:01:00.000Z',
      [REPLAY_HEADERS.replayOf]: `${DLQ}[0]@7`,
      traceparent: Buffer.from('00-abc-def-01'),
    })
  })

  it('reads a tp-origin-timestamp that is not decimal ms as bad, not as a time', () => {
    const out = deadLetterRecord('d', 'ingest', input(), 'schema_invalid', 'y', FAILED_AT)
    for (const bad of ['1e12', '-5', ' 12', '0x10', '99999999999999999']) {
      const rec = onDlq({ ...out, headers: { ...out.headers, [DLQ_HEADERS.timestamp]: bad } })
      const r = readDeadLetter(rec)
      expect(r.ok && r.entry.originTimestamp, bad).toEqual({ ms: undefined, bad })
    }
  })

  it("takes the letter's origin.timestamp when the record has no tp-origin-timestamp header", () => {
    const out = deadLetterRecord('d', 'ingest', input(), 'schema_invalid', 'y', FAILED_AT)
    const { [DLQ_HEADERS.timestamp]: _, ...others } = out.headers ?? {}
    const r = readDeadLetter(onDlq({ ...out, headers: others }))
    expect(r.ok && r.entry.originTimestamp).toEqual({ ms: ORIGIN_MS })
    const rec = readDeadLetter(onDlq({ ...out, headers: {} }))
    expect(rec.ok && replayRecord(rec.entry)).toMatchObject({ ok: true, record: { timestamp: ORIGIN_MS } })
  })

  it('names a record of the dlq that is no dead letter', () => {
    const rec = { partition: 0, offset: '1', timestamp: 0, key: null, headers: {} }
    expect(readDeadLetter({ ...rec, value: Buffer.from('nope') })).toEqual({ ok: false, error: 'not JSON' })
    expect(readDeadLetter({ ...rec, value: null })).toEqual({ ok: false, error: 'no value' })
    expect(readDeadLetter({ ...rec, value: Buffer.from('{"reason":"x"}') })).toMatchObject({
      ok: false,
      error: /^not a DeadLetter: message: /,
    })
  })
})

describe('selecting and printing dead letters', () => {
  const e = entryOf(input())
  const prefix = 'tradepulse.'

  it('selects by reason, by origin topic and by the time written', () => {
    expect(selects(e, {})).toBe(true)
    expect(selects(e, { reasons: ['schema_invalid', 'empty_headline'] })).toBe(true)
    expect(selects(e, { reasons: ['schema_invalid'] })).toBe(false)
    expect(selects(e, { topics: ['tradepulse.headlines.raw.v1'] })).toBe(true)
    expect(selects(e, { topics: ['tradepulse.headlines.v1'] })).toBe(false)
    expect(selects(e, { sinceMs: FAILED_AT.getTime() })).toBe(true)
    expect(selects(e, { sinceMs: FAILED_AT.getTime() + 1 })).toBe(false)
  })

  // --topic headlines.raw.v1 (the catalogue name with its version) selected nothing and exited 0.
  it('takes a topic of the catalogue in full, or by its catalogue name with or without the version', () => {
    for (const name of [
      'headlines.raw',
      'headlines.raw.v1',
      'tradepulse.headlines.raw.v1',
      'tradepulse.headlines.raw',
    ])
      expect(catalogueTopic(name, prefix), name).toBe('tradepulse.headlines.raw.v1')
    expect(catalogueTopic('alerts.desk.fx', prefix)).toBe('tradepulse.alerts.desk.fx.v1')
    expect(catalogueTopic('alerts.desk.fx.v1', prefix)).toBe('tradepulse.alerts.desk.fx.v1')
    expect(catalogueTopic('indicators', '')).toBe('indicators.v1')
    for (const name of [
      'headlines.raw.v2',
      'headline.raw',
      'other.headlines.raw.v1',
      'alerts.desk.FX',
      'alerts.desk.',
      '',
    ])
      expect(catalogueTopic(name, prefix), name).toBeUndefined()
  })

  it('prints one line: time written, origin, reason, id and message', () => {
    expect(formatDeadLetter(e)).toBe(
      '2026-03-02 14:00:01  tradepulse.headlines.raw.v1[2]@41  empty_headline    h-1  headline has no letter or digit',
    )
    const none = entryOf(input({ value: Buffer.from('[1]') }), 'schema_invalid', 'expected object')
    expect(formatDeadLetter(none)).toMatch(/ {2}schema_invalid {4}- {2}expected object$/)
  })

  // A letter of a record a replay sent (it failed again) read as an original: the marks were not shown.
  it('shows a letter of a record dlq replay sent: which letter it was replayed from and when, the marks escaped', () => {
    const replayed = replayRecord(e)
    if (!replayed.ok) throw new Error(replayed.why)
    const again = entryOf(input({ rawHeaders: replayed.record.headers }))
    expect(formatDeadLetter(again)).toBe(
      `2026-03-02 14:00:01  tradepulse.headlines.raw.v1[2]@41  empty_headline    h-1  (replay of ${DLQ}[0]@7 at 2026-03-03 09:00:00)  headline has no letter or digit`,
    )
    expect(JSON.parse(deadLetterJson(again))).toMatchObject({
      id: 'h-1',
      replay: { of: `${DLQ}[0]@7`, at: '2026-03-03T09:00:00.000Z' },
    })
    // One mark alone (another producer's, or the other left out), and text that is no time, escaped.
    const one = (headers: Record<string, string>) => entryOf(input({ rawHeaders: headers }))
    expect(formatDeadLetter(one({ [REPLAY_HEADERS.replayOf]: 'd[0]@1' }))).toContain(
      '  h-1  (replay of d[0]@1)  headline',
    )
    expect(formatDeadLetter(one({ [REPLAY_HEADERS.replayedAt]: 'soon\u001b[2J' }))).toContain(
      '  h-1  (replayed at soon\\u001b[2J)  headline',
    )
    expect(JSON.parse(deadLetterJson(one({ [REPLAY_HEADERS.replayedAt]: 'soon' }))).replay).toEqual({
      at: 'soon',
    })
    expect(JSON.parse(deadLetterJson(e))).not.toHaveProperty('replay')
  })

  it('escapes what a producer sent that a terminal would act on, and keeps each field short', () => {
    const evil = entryOf(
      input({ value: Buffer.from(JSON.stringify({ id: 'x\u001b[2J\u202ey', headline: '' })) }),
      'empty_headline',
      `line one\nline two ${'z'.repeat(500)}`,
    )
    const line = formatDeadLetter(evil)
    expect(line).not.toMatch(/[\p{Cc}\u202e]/u)
    expect(line).toContain('x\\u001b[2J\\u202ey')
    expect(line).toContain('line one\\u000aline two')
    expect(line.length).toBeLessThan(400)
    expect(printable('abcdef', 4)).toBe('abc…')
  })

  it('--ndjson: the letter whole, where it is on the dlq, the origin timestamp and the id', () => {
    expect(JSON.parse(deadLetterJson(e))).toEqual({
      dlq: { partition: 0, offset: '7', timestampMs: FAILED_AT.getTime() },
      id: 'h-1',
      originTimestampMs: ORIGIN_MS,
      letter: e.letter,
    })
  })

  // JSON.stringify escapes C0 controls only: a payload's U+009B (a CSI) or U+202E (right-to-left override)
  // went to the operator's terminal raw.
  it('--ndjson escapes the C1 controls, DEL and bidi overrides JSON.stringify leaves raw, reading back the same', () => {
    const text = 'x\u009b2J \u0085 \u202ey\u202c \u2066z\u2069 \u007f \u001b[2J'
    const evil = entryOf(
      input({ value: Buffer.from(JSON.stringify({ id: `h ${text}`, headline: '' })) }),
      'empty_headline',
      `m ${text}`,
    )
    const line = deadLetterJson(evil)
    expect(line).not.toMatch(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/u)
    expect(line).toContain('"id":"h x\\u009b2J \\u0085 \\u202ey\\u202c \\u2066z\\u2069 \\u007f \\u001b[2J"')
    expect(JSON.parse(line)).toMatchObject({ id: `h ${text}`, letter: { message: `m ${text}` } })
    expect(printableJson({ a: '\u0085\n' })).toBe('{"a":"\\u0085\\n"}')
  })
})

// The reasons a worker can write are typed as platform's DEAD_LETTER_REASONS, so the compiler holds every
// worker to the list; --reason must take the same list, no more and no less.
describe('dlq replay/list --reason', () => {
  it('takes every reason of DEAD_LETTER_REASONS and refuses another', () => {
    for (const reason of DEAD_LETTER_REASONS) expect(reasonCode(reason), reason).toEqual([reason])
    expect(() => reasonCode('not_a_reason')).toThrow(InvalidArgumentError)
  })
})

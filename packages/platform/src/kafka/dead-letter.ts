import { isUtf8 } from 'node:buffer'
import { randomUUID } from 'node:crypto'
import type { DeadLetter } from '@tradepulse/contracts'
import { cloudEventHeaders } from './cloud-events.ts'
import { HEADER_FRAMING_BYTES, headerBytes, recordBytes } from './produce.ts'
import {
  type InRecord,
  nullHeaderValues,
  type OutRecord,
  originalHeaders,
  type RecordHeaders,
  setOwn,
} from './records.ts'

// A dlq record keeps this much of the original; the rest stays readable at its origin offset.
export const DLQ_MAX_PAYLOAD_BYTES = 256 * 1024
/** A key longer than this (characters) is cut in the dlq record; the origin headers still name the record. */
export const DLQ_MAX_KEY_CHARS = 4096
/**
 * A reason's message longer than this (characters) is cut: a schema error lists every unknown field
 * name, and a record made of a million of them must not make its dead letter too large to send.
 */
export const DLQ_MAX_MESSAGE_CHARS = 8192

/** The message, cut to DLQ_MAX_MESSAGE_CHARS with what was left out said (never inside a surrogate pair). */
export function boundedMessage(message: string): string {
  if (message.length <= DLQ_MAX_MESSAGE_CHARS) return message
  let end = DLQ_MAX_MESSAGE_CHARS - 40
  const c = message.charCodeAt(end - 1)
  if (c >= 0xd800 && c <= 0xdbff) end--
  return `${message.slice(0, end)}… (${message.length - end} more characters)`
}

/**
 * Every reason a worker dead-letters a record for (each worker's README names its own), and the only ones
 * a dead letter's reason is typed to take: a new reason is added here first, and `tradepulse dlq --reason`
 * takes exactly these (a mistyped one, schema-invalid, selected nothing and the command exited 0). A
 * reason no worker writes any more stays while its letters may (the dlq keeps 30 days).
 *   ingest (parse-raw.ts): tombstone, empty_record, too_large, invalid_utf8, invalid_json, schema_invalid,
 *     invalid_text, empty_headline; the scorer, aggregator and alerter parse with parseJsonRecord (the
 *     first, fourth, fifth and sixth of those);
 *   scorer and alerter: output_invalid; aggregator: event_time_ahead; alerter: unknown_topic, and its webhook
 *     lane webhook_failed; every worker (batch-processor.ts): handler_error, output_refused.
 */
export const DEAD_LETTER_REASONS = [
  'tombstone',
  'empty_record',
  'too_large',
  'invalid_utf8',
  'invalid_json',
  'schema_invalid',
  'invalid_text',
  'empty_headline',
  'output_invalid',
  'output_refused',
  'handler_error',
  'event_time_ahead',
  'unknown_topic',
  'webhook_failed',
] as const

export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number]

export const DLQ_HEADERS = {
  reason: 'tp-dlq-reason',
  worker: 'tp-dlq-worker',
  topic: 'tp-origin-topic',
  partition: 'tp-origin-partition',
  offset: 'tp-origin-offset',
  /**
   * The original record's Kafka timestamp, ms since the epoch as decimal text: ingest takes it as a
   * headline's entry time (and publishedAt when the feed gave none), and the origin that holds it is gone
   * after its topic's retention (headlines.raw 7 days) while the dlq keeps the letter 30. Absent when the
   * record had none (-1). The letter's own timestamp is when it was written, as the dlq's retention needs.
   */
  timestamp: 'tp-origin-timestamp',
  /**
   * Set when some of the original headers are not in the dlq record's own: how many values were left out
   * (they did not fit, or had no bytes: a null header value, which cannot be sent).
   */
  headersOmitted: 'tp-dlq-headers-omitted',
} as const

const OUR_HEADERS: ReadonlySet<string> = new Set(Object.values(DLQ_HEADERS))

/**
 * A dead letter is an event of its own (CloudEvents binary mode, as cloudEventHeaders stamps it): its ce_*
 * headers say this type, a ce_id of its own, ce_source `/tradepulse/<worker>`, ce_time its failedAt,
 * ce_subject its origin (topic[partition]@offset), and content-type application/json (the DeadLetter).
 */
export const DEAD_LETTER_CE_TYPE = 'dev.tradepulse.deadletter.v1'

/**
 * The original headers that would say what the letter is (its CloudEvents attributes, ce_*, and its
 * content-type, any case) are kept under this prefix: `ce_id` as `tp-original-ce_id`. Before, a letter
 * carried them as its own, and a CloudEvents consumer of the dlq took a webhook_failed letter for the
 * alert itself (same ce_source and ce_id, ce_type dev.tradepulse.alert.v1). An original header already
 * named with the prefix gets it once more, so that originalHeadersOfLetter, which takes it off once,
 * gives every name back as it was.
 */
export const DLQ_ORIGINAL_HEADER_PREFIX = 'tp-original-'

const EVENT_HEADER = /^(?:ce_|content-type$)/i

/** The name under which a letter carries an original header. */
function letterHeaderName(name: string): string {
  return EVENT_HEADER.test(name) || name.startsWith(DLQ_ORIGINAL_HEADER_PREFIX)
    ? `${DLQ_ORIGINAL_HEADER_PREFIX}${name}`
    : name
}

/** The text of a header's last value, or undefined. */
function lastText(headers: RecordHeaders, name: string): string | undefined {
  if (!Object.hasOwn(headers, name)) return undefined
  const v = headers[name]!
  const last = Array.isArray(v) ? v[v.length - 1] : v
  return last === undefined ? undefined : String(last)
}

/**
 * The original record's headers as a dead letter (its record's own headers, as read) carries them, under
 * their original names: DLQ_HEADERS left out, and for a letter with its own CloudEvents headers (ce_type
 * DEAD_LETTER_CE_TYPE) those left out too and DLQ_ORIGINAL_HEADER_PREFIX taken off the originals. A letter
 * written before it had its own (the original's ce_* and content-type as its own) is read as before.
 */
export function originalHeadersOfLetter(letterHeaders: RecordHeaders): RecordHeaders {
  const own = lastText(letterHeaders, 'ce_type') === DEAD_LETTER_CE_TYPE
  const out: RecordHeaders = {}
  for (const [k, v] of Object.entries(letterHeaders)) {
    if (OUR_HEADERS.has(k)) continue
    if (!own) setOwn(out, k, v)
    else if (k.startsWith(DLQ_ORIGINAL_HEADER_PREFIX))
      setOwn(out, k.slice(DLQ_ORIGINAL_HEADER_PREFIX.length), v)
    else if (!EVENT_HEADER.test(k)) setOwn(out, k, v)
  }
  return out
}

/**
 * Set by `tradepulse dlq replay` on every record it sends again. Not among DLQ_HEADERS on purpose: a
 * replayed record that fails again keeps them in its new letter as original headers, which is how a later
 * replay tells that letter (of a replay) from the first one and leaves it out.
 */
export const REPLAY_HEADERS = {
  /**
   * When the operator replayed the record, as an ISO 8601 UTC time (toISOString). The record keeps its
   * original timestamp; a reader that bounds a record's age for a deliberate resend (the alerter's webhook
   * lane, ALERTER_WEBHOOK_MAX_AGE_MS) counts from this instead.
   */
  replayedAt: 'tp-dlq-replayed-at',
  /** The letter it was replayed from: `<dlq topic>[partition]@offset`. */
  replayOf: 'tp-dlq-replay-of',
} as const

const REPLAYED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/**
 * The tp-dlq-replayed-at header of a record (its headers as text), ms; undefined when absent or not a time
 * as the replay writes one (a date that does not exist, such as 30 February, included).
 */
export function replayedAtMs(headers: Readonly<Record<string, string>>): number | undefined {
  const text = Object.hasOwn(headers, REPLAY_HEADERS.replayedAt)
    ? headers[REPLAY_HEADERS.replayedAt]
    : undefined
  if (text === undefined || !REPLAYED_AT.test(text)) return undefined
  const ms = Date.parse(text)
  return Number.isNaN(ms) || new Date(ms).toISOString() !== text ? undefined : ms
}

/**
 * The most bytes a dlq record takes as Kafka encodes it (recordBytes: key, value and headers, with the
 * framing of each). A broker's default limit (message.max.bytes, 1,048,588 bytes) is on a whole record
 * batch; the rest is left for the batch's framing and as a margin. deadLetterRecord measures each letter it
 * makes against this and shrinks it while it is over, so every letter fits whatever the record it stands
 * for held (a million empty headers, a key of control characters…): a dead letter Kafka refused would
 * leave the record skipped (dlq_refused), lost to the dlq.
 */
export const DLQ_MAX_RECORD_BYTES = 900 * 1024

/**
 * The most of the original headers the dlq record carries as its own: bytes as headerBytes counts them
 * (names, values and each value's framing), and values. Within these and the letter's other bounds a
 * letter takes about 650 KB at most, so the shrinking (deadLetterRecord) is a last line of defence.
 */
export const DLQ_MAX_ORIGINAL_HEADER_BYTES = 128 * 1024
export const DLQ_MAX_ORIGINAL_HEADER_VALUES = 1024

/** The most of the original key a letter keeps (bytes): a key is an id, not a payload. */
const DLQ_MAX_LETTER_KEY_BYTES = 16 * 1024
/** The original headers the letter's text copy keeps: this many, each value cut at DLQ_MAX_HEADER_CHARS. */
const DLQ_MAX_HEADERS = 32
const DLQ_MAX_HEADER_CHARS = 1024
/** The most bytes the text copy of the headers takes in the letter's JSON (control characters take six). */
const DLQ_MAX_HEADER_TEXT_BYTES = 64 * 1024
/** What a letter that must shrink keeps of the original key: in its copy (bytes), and as its own key (characters). */
const DLQ_SHRUNK_KEY_BYTES = 1024
const DLQ_SHRUNK_KEY_CHARS = 256

/** Bytes that base64 makes of `n` bytes. */
const base64Bytes = (n: number) => 4 * Math.ceil(n / 3)
/** Bytes a string takes in JSON, quotes and escapes included. */
const jsonBytes = (text: string) => Buffer.byteLength(JSON.stringify(text))

/** The most the payload takes in a dlq record's JSON: its cut as base64. */
const DLQ_MAX_ENCODED_BYTES = base64Bytes(DLQ_MAX_PAYLOAD_BYTES)
/** The most the key copy takes in a dlq record's JSON: its cut as base64. */
const DLQ_MAX_KEY_ENCODED_BYTES = base64Bytes(DLQ_MAX_LETTER_KEY_BYTES)

/**
 * Bytes as a letter keeps them: valid UTF-8 stays readable, anything else (binary garbage, broken
 * sequences) is kept exactly as base64. So is text that JSON would escape past `maxJsonBytes` (control
 * characters take six bytes each).
 */
function encodeBytes(bytes: Buffer, maxJsonBytes: number): { text: string; encoding: 'utf8' | 'base64' } {
  if (isUtf8(bytes)) {
    const text = bytes.toString('utf8')
    if (jsonBytes(text) <= maxJsonBytes) return { text, encoding: 'utf8' }
  }
  return { text: bytes.toString('base64'), encoding: 'base64' }
}

/** The original key, exactly: text when it is valid UTF-8 (and JSON does not blow it up), else base64; cut at maxBytes. */
function encodeKey(
  key: Buffer | null,
  maxBytes = DLQ_MAX_LETTER_KEY_BYTES,
): Pick<DeadLetter, 'key' | 'keyEncoding' | 'keyTruncated'> {
  if (!key) return {}
  if (key.length > maxBytes) {
    // Cut bytes are kept exactly, as base64: a cut inside a character would not be valid text.
    const cut = key.subarray(0, maxBytes)
    return { key: cut.toString('base64'), keyEncoding: 'base64', keyTruncated: true }
  }
  const { text, encoding } = encodeBytes(key, DLQ_MAX_KEY_ENCODED_BYTES)
  return { key: text, keyEncoding: encoding }
}

/**
 * The text copy in the letter (DeadLetter.headers): the headers that are one value of valid UTF-8, each
 * cut at DLQ_MAX_HEADER_CHARS, at most DLQ_MAX_HEADERS of them and DLQ_MAX_HEADER_TEXT_BYTES of JSON (a
 * header that would take it past is left out). A header that is not text (binary bytes) or is given more
 * than once has no exact text form: it is left out here rather than shown as something the producer did
 * not send, and is kept byte for byte in the dlq record's own headers.
 */
function textHeaders(headers: RecordHeaders): Pick<DeadLetter, 'headers'> {
  const out: Record<string, string> = {}
  let n = 0
  let bytes = 0
  for (const [k, v] of Object.entries(headers)) {
    if (n >= DLQ_MAX_HEADERS) break
    // A name is kept whole or not at all: two long names cut alike would overwrite each other.
    if (k.length > 256 || Array.isArray(v)) continue
    if (typeof v !== 'string' && !isUtf8(v)) continue
    const text = (typeof v === 'string' ? v : v.toString('utf8', 0, 4 * DLQ_MAX_HEADER_CHARS)).slice(
      0,
      DLQ_MAX_HEADER_CHARS,
    )
    const size = jsonBytes(k) + jsonBytes(text) + 2 // with the colon and the comma
    if (bytes + size > DLQ_MAX_HEADER_TEXT_BYTES) continue
    bytes += size
    setOwn(out, k, text)
    n++
  }
  return n === 0 ? {} : { headers: out }
}

/**
 * The original headers as the dlq record's own, exactly (bytes, every value of a repeated header; ce_* and
 * content-type under DLQ_ORIGINAL_HEADER_PREFIX), while they fit in DLQ_MAX_ORIGINAL_HEADER_BYTES and
 * DLQ_MAX_ORIGINAL_HEADER_VALUES; a header that does not fit is left out whole, and so is one named as
 * ours (a letter's headers sent on again), and the values left out are counted. `values` and `bytes`
 * (names and values) are the original's.
 */
function carriedHeaders(headers: RecordHeaders): {
  carried: RecordHeaders
  omitted: number
  values: number
  bytes: number
} {
  const carried: RecordHeaders = {}
  let carriedBytes = 0
  let carriedValues = 0
  let omitted = 0
  let values = 0
  let bytes = 0
  for (const [k, v] of Object.entries(headers)) {
    const count = Array.isArray(v) ? v.length : 1
    const name = letterHeaderName(k)
    const own = headerBytes(k, v)
    // headerBytes counts the name once per value; the prefix, when added, is ASCII.
    const size = own + (name.length - k.length) * count
    values += count
    bytes += own - count * HEADER_FRAMING_BYTES
    if (
      OUR_HEADERS.has(k) ||
      carriedBytes + size > DLQ_MAX_ORIGINAL_HEADER_BYTES ||
      carriedValues + count > DLQ_MAX_ORIGINAL_HEADER_VALUES
    ) {
      omitted += count
      continue
    }
    carriedBytes += size
    carriedValues += count
    setOwn(carried, name, v)
  }
  return { carried, omitted, values, bytes }
}

/** The payload cut at maxBytes, as encodeBytes keeps it (text while its JSON takes at most maxJsonBytes). */
function encodePayload(
  value: Buffer | null,
  maxBytes = DLQ_MAX_PAYLOAD_BYTES,
  maxJsonBytes = DLQ_MAX_ENCODED_BYTES,
): Pick<DeadLetter, 'payload' | 'payloadEncoding' | 'payloadTruncated'> {
  const bytes = value ?? Buffer.alloc(0)
  const cut = bytes.length > maxBytes ? bytes.subarray(0, maxBytes) : bytes
  // Text that JSON would escape past base64's size is kept as base64 too, so that no dlq record outgrows
  // a broker's message limit.
  const { text, encoding } = encodeBytes(cut, maxJsonBytes)
  return { payload: text, payloadEncoding: encoding, payloadTruncated: cut.length < bytes.length }
}

/** The key as text, cut to maxChars (never inside a surrogate pair). */
function boundedKey(key: Buffer, maxChars = DLQ_MAX_KEY_CHARS): string {
  const text = key.toString('utf8', 0, maxChars * 4)
  if (text.length <= maxChars) return text
  const c = text.charCodeAt(maxChars - 1)
  return text.slice(0, c >= 0xd800 && c <= 0xdbff ? maxChars - 1 : maxChars)
}

/**
 * The dlq record for one input: the reason and the origin in the value and in headers (the original's
 * Kafka timestamp too), and the original headers byte for byte in its own headers (their ce_* and
 * content-type under DLQ_ORIGINAL_HEADER_PREFIX), then the letter's own CloudEvents headers
 * (DEAD_LETTER_CE_TYPE, a new ce_id per letter), then DLQ_HEADERS.
 *
 * The finished record is measured as Kafka will encode it (recordBytes) against `maxRecordBytes`
 * (DLQ_MAX_RECORD_BYTES). While it is over, it shrinks in this order: the text copy of the headers is
 * left out; then the original headers (all counted in tp-dlq-headers-omitted); then the key copy is cut
 * to DLQ_SHRUNK_KEY_BYTES (the record's own key to DLQ_SHRUNK_KEY_CHARS characters); then the payload
 * is cut to the room left (as base64 unless its text fits), and if there is none, the message is left
 * out. Each step taken is said at the end of the letter's message, with the original's size. A handful
 * of measurements at most: linear in the record's size.
 */
export function deadLetterRecord(
  dlqTopic: string,
  worker: string,
  rec: InRecord,
  reason: DeadLetterReason,
  message: string,
  now: Date,
  opts: { maxRecordBytes?: number } = {},
): OutRecord {
  const maxBytes = opts.maxRecordBytes ?? DLQ_MAX_RECORD_BYTES
  const original = originalHeaders(rec)
  const failedAt = now.toISOString()
  let text = boundedMessage(message)
  let payload = encodePayload(rec.value)
  let keyCopy = encodeKey(rec.key)
  let headersCopy = textHeaders(original)
  const headers = carriedHeaders(original)
  // Null header values cannot be sent (kafkajs cannot write one): counted as left out, so that the letter
  // says it lacks them and `dlq replay` does not send the record again as if it had no such header.
  const nulls = nullHeaderValues(rec)
  headers.values += nulls
  headers.omitted += nulls
  let { carried, omitted } = headers
  let key = rec.key ? boundedKey(rec.key) : null
  const timestamp =
    Number.isSafeInteger(rec.timestamp) && rec.timestamp >= 0 ? String(rec.timestamp) : undefined
  const origin = {
    topic: rec.topic,
    partition: rec.partition,
    offset: rec.offset,
    ...(timestamp === undefined ? {} : { timestamp }),
  }
  const cuts: string[] = []
  const event = cloudEventHeaders({
    id: randomUUID(),
    type: DEAD_LETTER_CE_TYPE,
    source: `/tradepulse/${worker}`,
    time: failedAt,
    subject: `${rec.topic}[${rec.partition}]@${rec.offset}`,
  })

  const make = (): OutRecord => {
    const letter: DeadLetter = {
      reason,
      message:
        cuts.length === 0
          ? text
          : `${text}${text ? ' ' : ''}[dead letter shrunk to fit the dlq: ${cuts.join('; ')}]`,
      worker,
      origin,
      failedAt,
      ...payload,
      ...keyCopy,
      ...headersCopy,
    }
    return {
      topic: dlqTopic,
      key,
      value: JSON.stringify(letter),
      headers: {
        ...carried,
        ...event,
        [DLQ_HEADERS.reason]: reason,
        [DLQ_HEADERS.worker]: worker,
        [DLQ_HEADERS.topic]: rec.topic,
        [DLQ_HEADERS.partition]: String(rec.partition),
        [DLQ_HEADERS.offset]: rec.offset,
        ...(timestamp === undefined ? {} : { [DLQ_HEADERS.timestamp]: timestamp }),
        ...(omitted > 0 ? { [DLQ_HEADERS.headersOmitted]: String(omitted) } : {}),
      },
    }
  }
  const fits = (out: OutRecord) => recordBytes(out) <= maxBytes

  let out = make()
  if (fits(out)) return out
  // 1. The text copy of the headers: the record's own headers have them byte for byte.
  if (headersCopy.headers) {
    headersCopy = {}
    cuts.push('text copy of the headers left out')
    out = make()
    if (fits(out)) return out
  }
  // 2. The original headers; they stay readable at the origin.
  if (omitted < headers.values) {
    carried = {}
    omitted = headers.values
    cuts.push(`original headers left out (${headers.values} values, ${headers.bytes} bytes)`)
    out = make()
    if (fits(out)) return out
  }
  // 3. The key, in the copy and as the record's own.
  if (rec.key && (rec.key.length > DLQ_SHRUNK_KEY_BYTES || (key?.length ?? 0) > DLQ_SHRUNK_KEY_CHARS)) {
    keyCopy = encodeKey(rec.key, DLQ_SHRUNK_KEY_BYTES)
    key = boundedKey(rec.key, DLQ_SHRUNK_KEY_CHARS)
    cuts.push(`key cut (original ${rec.key.length} bytes)`)
    out = make()
    if (fits(out)) return out
  }
  // 4. The payload, to the room left when it is empty; 5. if there is none even so, the message as well.
  const size = rec.value?.length ?? 0
  const empty = jsonBytes('')
  // The room is measured with payloadTruncated true; a payload kept whole says false, a byte more.
  const room = () => maxBytes - recordBytes(make()) + empty - 8
  if (size > 0) {
    payload = { payload: '', payloadEncoding: 'base64', payloadTruncated: true }
    cuts.push(`payload cut (original ${size} bytes)`)
  }
  let left = room()
  if (left < empty) {
    cuts.push(`message left out (original ${message.length} characters)`)
    text = ''
    left = room()
  }
  if (size > 0 && left > empty) {
    // As text when the cut (at a character's start) is valid UTF-8 whose JSON fits, else as base64.
    const value = rec.value!
    let keep = Math.min(DLQ_MAX_PAYLOAD_BYTES, left - empty)
    while (keep > 0 && keep < size && (value[keep]! & 0xc0) === 0x80) keep--
    const asText = encodePayload(value, keep, left)
    payload =
      asText.payloadEncoding === 'utf8'
        ? asText
        : encodePayload(value, Math.min(DLQ_MAX_PAYLOAD_BYTES, 3 * Math.floor((left - empty) / 4)), left)
  }
  // Only a reason, worker or topic name thousands of times longer than any of ours could leave it over:
  // nothing of the input is left to cut.
  return make()
}

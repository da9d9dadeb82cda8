import { isUtf8 } from 'node:buffer'
import type { DeadLetter } from '@tradepulse/contracts'
import { headerBytes } from './produce.ts'
import { type InRecord, type OutRecord, originalHeaders, type RecordHeaders, setOwn } from './records.ts'

// A dlq record keeps this much of the original; the rest stays readable at its origin offset.
export const DLQ_MAX_PAYLOAD_BYTES = 256 * 1024
/** The most the payload takes in a dlq record's JSON: its cut as base64. */
const DLQ_MAX_ENCODED_BYTES = 4 * Math.ceil(DLQ_MAX_PAYLOAD_BYTES / 3)
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

export const DLQ_HEADERS = {
  reason: 'tp-dlq-reason',
  worker: 'tp-dlq-worker',
  topic: 'tp-origin-topic',
  partition: 'tp-origin-partition',
  offset: 'tp-origin-offset',
  /** Set when some of the original headers did not fit in the dlq record's own: how many values were left out. */
  headersOmitted: 'tp-dlq-headers-omitted',
} as const

const OUR_HEADERS: ReadonlySet<string> = new Set(Object.values(DLQ_HEADERS))

/**
 * The most bytes (names and values) of the original headers a dlq record carries as its own. With the
 * letter's other bounds (payload, key, message, the headers' text copy) a dlq record stays under a
 * broker's default 1 MB limit whatever headers the original had: a dead letter Kafka refused would
 * leave the record skipped.
 */
export const DLQ_MAX_ORIGINAL_HEADER_BYTES = 128 * 1024

/** The most of the original key a letter keeps (bytes): a key is an id, not a payload. */
const DLQ_MAX_LETTER_KEY_BYTES = 16 * 1024
/** The original headers the letter's text copy keeps: this many, each value cut at DLQ_MAX_HEADER_CHARS. */
const DLQ_MAX_HEADERS = 32
const DLQ_MAX_HEADER_CHARS = 1024

/** The original key, exactly: text when it is valid UTF-8, else base64 (cut at DLQ_MAX_LETTER_KEY_BYTES). */
function encodeKey(key: Buffer | null): Pick<DeadLetter, 'key' | 'keyEncoding' | 'keyTruncated'> {
  if (!key) return {}
  if (key.length > DLQ_MAX_LETTER_KEY_BYTES) {
    // Cut bytes are kept exactly, as base64: a cut inside a character would not be valid text.
    const cut = key.subarray(0, DLQ_MAX_LETTER_KEY_BYTES)
    return { key: cut.toString('base64'), keyEncoding: 'base64', keyTruncated: true }
  }
  return isUtf8(key)
    ? { key: key.toString('utf8'), keyEncoding: 'utf8' }
    : { key: key.toString('base64'), keyEncoding: 'base64' }
}

/**
 * The text copy in the letter (DeadLetter.headers): the headers that are one value of valid UTF-8, each
 * cut at DLQ_MAX_HEADER_CHARS, at most DLQ_MAX_HEADERS of them. A header that is not text (binary bytes)
 * or is given more than once has no exact text form: it is left out here rather than shown as something
 * the producer did not send, and is kept byte for byte in the dlq record's own headers.
 */
function textHeaders(headers: RecordHeaders): Pick<DeadLetter, 'headers'> {
  const out: Record<string, string> = {}
  let n = 0
  for (const [k, v] of Object.entries(headers)) {
    if (n >= DLQ_MAX_HEADERS) break
    // A name is kept whole or not at all: two long names cut alike would overwrite each other.
    if (k.length > 256 || Array.isArray(v)) continue
    if (typeof v !== 'string' && !isUtf8(v)) continue
    setOwn(out, k, (typeof v === 'string' ? v : v.toString('utf8')).slice(0, DLQ_MAX_HEADER_CHARS))
    n++
  }
  return n === 0 ? {} : { headers: out }
}

/**
 * The original headers as the dlq record's own, exactly (bytes, every value of a repeated header), while
 * they fit in DLQ_MAX_ORIGINAL_HEADER_BYTES; a header that does not fit is left out whole, and so is one
 * named as ours (a letter's headers sent on again), and the values left out are counted.
 */
function carriedHeaders(headers: RecordHeaders): { carried: RecordHeaders; omitted: number } {
  const carried: RecordHeaders = {}
  let bytes = 0
  let omitted = 0
  for (const [k, v] of Object.entries(headers)) {
    const size = headerBytes(k, v)
    if (OUR_HEADERS.has(k) || bytes + size > DLQ_MAX_ORIGINAL_HEADER_BYTES) {
      omitted += Array.isArray(v) ? v.length : 1
      continue
    }
    bytes += size
    setOwn(carried, k, v)
  }
  return { carried, omitted }
}

function encodePayload(
  value: Buffer | null,
): Pick<DeadLetter, 'payload' | 'payloadEncoding' | 'payloadTruncated'> {
  const bytes = value ?? Buffer.alloc(0)
  const cut = bytes.length > DLQ_MAX_PAYLOAD_BYTES ? bytes.subarray(0, DLQ_MAX_PAYLOAD_BYTES) : bytes
  // Valid UTF-8 stays readable; anything else (binary garbage, broken sequences) is kept exactly as base64.
  // So is text that JSON would escape past base64's size (control characters take six bytes each), so
  // that no dlq record outgrows a broker's message limit: one that did would fail its whole batch.
  const text = cut.toString('utf8')
  const isUtf8 =
    Buffer.from(text, 'utf8').equals(cut) && Buffer.byteLength(JSON.stringify(text)) <= DLQ_MAX_ENCODED_BYTES
  return {
    payload: isUtf8 ? text : cut.toString('base64'),
    payloadEncoding: isUtf8 ? 'utf8' : 'base64',
    payloadTruncated: cut.length < bytes.length,
  }
}

/** The key as text, cut to DLQ_MAX_KEY_CHARS (never inside a surrogate pair). */
function boundedKey(key: Buffer): string {
  const text = key.toString('utf8', 0, DLQ_MAX_KEY_CHARS * 4)
  if (text.length <= DLQ_MAX_KEY_CHARS) return text
  const c = text.charCodeAt(DLQ_MAX_KEY_CHARS - 1)
  return text.slice(0, c >= 0xd800 && c <= 0xdbff ? DLQ_MAX_KEY_CHARS - 1 : DLQ_MAX_KEY_CHARS)
}

/**
 * The dlq record for one input: the reason and the origin in the value and in headers, and the original
 * headers byte for byte in its own headers (DLQ_HEADERS after them).
 */
export function deadLetterRecord(
  dlqTopic: string,
  worker: string,
  rec: InRecord,
  reason: string,
  message: string,
  now: Date,
): OutRecord {
  const original = originalHeaders(rec)
  const letter: DeadLetter = {
    reason,
    message: boundedMessage(message),
    worker,
    origin: { topic: rec.topic, partition: rec.partition, offset: rec.offset },
    failedAt: now.toISOString(),
    ...encodePayload(rec.value),
    ...encodeKey(rec.key),
    ...textHeaders(original),
  }
  const { carried, omitted } = carriedHeaders(original)
  return {
    topic: dlqTopic,
    key: rec.key ? boundedKey(rec.key) : null,
    value: JSON.stringify(letter),
    headers: {
      ...carried,
      [DLQ_HEADERS.reason]: reason,
      [DLQ_HEADERS.worker]: worker,
      [DLQ_HEADERS.topic]: rec.topic,
      [DLQ_HEADERS.partition]: String(rec.partition),
      [DLQ_HEADERS.offset]: rec.offset,
      ...(omitted > 0 ? { [DLQ_HEADERS.headersOmitted]: String(omitted) } : {}),
    },
  }
}

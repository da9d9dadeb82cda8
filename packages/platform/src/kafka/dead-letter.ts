import { isUtf8 } from 'node:buffer'
import type { DeadLetter } from '@tradepulse/contracts'
import type { InRecord, OutRecord } from './records.ts'

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
} as const

/** The most of the original key a letter keeps (bytes): a key is an id, not a payload. */
const DLQ_MAX_LETTER_KEY_BYTES = 16 * 1024
/** The original headers a letter keeps: this many, each value cut at DLQ_MAX_HEADER_CHARS. */
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

function boundedHeaders(headers: Record<string, string>): Pick<DeadLetter, 'headers'> {
  // A name is kept whole or not at all: two long names cut alike would overwrite each other.
  const entries = Object.entries(headers).filter(([k]) => k.length <= 256)
  if (entries.length === 0) return {}
  return {
    headers: Object.fromEntries(
      entries.slice(0, DLQ_MAX_HEADERS).map(([k, v]) => [k, v.slice(0, DLQ_MAX_HEADER_CHARS)]),
    ),
  }
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

/** The dlq record for one input: the reason and the origin in the value and in headers. */
export function deadLetterRecord(
  dlqTopic: string,
  worker: string,
  rec: InRecord,
  reason: string,
  message: string,
  now: Date,
): OutRecord {
  const letter: DeadLetter = {
    reason,
    message: boundedMessage(message),
    worker,
    origin: { topic: rec.topic, partition: rec.partition, offset: rec.offset },
    failedAt: now.toISOString(),
    ...encodePayload(rec.value),
    ...encodeKey(rec.key),
    ...boundedHeaders(rec.headers),
  }
  return {
    topic: dlqTopic,
    key: rec.key ? boundedKey(rec.key) : null,
    value: JSON.stringify(letter),
    headers: {
      [DLQ_HEADERS.reason]: reason,
      [DLQ_HEADERS.worker]: worker,
      [DLQ_HEADERS.topic]: rec.topic,
      [DLQ_HEADERS.partition]: String(rec.partition),
      [DLQ_HEADERS.offset]: rec.offset,
    },
  }
}

import { isUtf8 } from 'node:buffer'
import { duplicateKeyPath, formatIssues, JSON_CHAR, topLevelKeyCount } from '@tradepulse/contracts'
import type { z } from 'zod'
import type { DeadLetterReason } from './dead-letter.ts'

// One way to name a record's faults, the contracts' (the scorer's output check uses it too); one scan for
// keys given twice, the contracts' (alert rules files use it too).
export { duplicateKeyPath, formatIssues, topLevelKeyCount }

export type ParsedRecord<T> =
  | { ok: true; value: T }
  | { ok: false; reason: DeadLetterReason; message: string }

/**
 * The dlq reason and message of a record with nothing in its value: a tombstone (a null value, Kafka's
 * mark that a key is deleted, which a compacted topic keeps for a while) is `tombstone`, a value of no
 * bytes `empty_record`. The letter's payload is empty for both (its contract has no null), so the reason
 * and the message are what tell them apart: a producer deleting keys on a topic that is no table, and one
 * sending empty messages, are two different faults to chase.
 */
export function emptyValueRejection(value: Buffer | null): {
  reason: 'tombstone' | 'empty_record'
  message: string
} {
  return value === null
    ? { reason: 'tombstone', message: 'record is a tombstone: its value is null (not empty)' }
    : { reason: 'empty_record', message: 'record value is empty (0 bytes)' }
}

/**
 * A record value → its payload, validated by the topic's schema, or the dlq reason (`tombstone`,
 * `empty_record`, `invalid_utf8`, `invalid_json`, `schema_invalid`) with a message naming every invalid
 * field. An object that names a key twice, at any depth, is `schema_invalid` with the key's path.
 */
export function parseJsonRecord<S extends z.ZodType>(
  schema: S,
  value: Buffer | null,
  /** A fast path that returns the value exactly when the schema would accept it, else undefined (zod decides). */
  fastRead?: (json: unknown) => z.infer<S> | undefined,
): ParsedRecord<z.infer<S>> {
  if (value === null || value.length === 0) return { ok: false, ...emptyValueRejection(value) }
  // Decoded strictly: a lenient decode turns invalid bytes into U+FFFD, and the record would be handled
  // (scored, counted) as text no producer wrote. isUtf8 is one native pass, cheaper than a fatal decode.
  if (!isUtf8(value)) return { ok: false, reason: 'invalid_utf8', message: 'record value is not valid UTF-8' }
  let json: unknown
  const text = value.toString('utf8')
  try {
    json = JSON.parse(text)
  } catch (err) {
    return {
      ok: false,
      reason: 'invalid_json',
      message: `record value is not JSON: ${(err as Error).message}`,
    }
  }
  // JSON.parse keeps the last of a key given twice, silently: {"headline":"Tariffs lifted","headline":
  // "Tariffs raised"} would pass as the second, though no one can tell which the producer meant.
  const dup = namesNoKeyTwice(json, text) ? undefined : duplicateKeyPath(text)
  if (dup) {
    return {
      ok: false,
      reason: 'schema_invalid',
      message: `${dup.join('.')}: key given more than once in one object (JSON.parse would keep the last silently)`,
    }
  }
  const fast = fastRead?.(json)
  if (fast !== undefined) return { ok: true, value: fast }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    return { ok: false, reason: 'schema_invalid', message: formatIssues(parsed.error) }
  }
  return { ok: true, value: parsed.data }
}

/** `^[^"]*(?:"[^"]*){n}$`: text with exactly n quotes, by n (made when first needed). */
const QUOTES: RegExp[] = []

/**
 * True when `text`, which JSON.parse read as `json`, certainly names no key twice in any object; false
 * when it may (duplicateKeyPath then scans it). Most raw records are one object of string fields. Each
 * quote of a JSON text opens or closes a string or is escaped inside one, so an object of k keys, every
 * value a string, written with no key twice, holds exactly 4k quotes, plus any escaped ones. A key given
 * twice adds its second string and its earlier value (a string, an object, a number...) to the text but
 * not to the object: more than 4k quotes. So exactly 4k quotes means no key twice, and is one precompiled
 * count, where the scan finds and compares every key (a third of a record's parse, measured). A value
 * that is no string could hide a key given twice (a number holds no quote): such objects are scanned.
 */
function namesNoKeyTwice(json: unknown, text: string): boolean {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false
  let keys = 0
  for (const key in json) {
    if (typeof (json as Record<string, unknown>)[key] !== 'string') return false
    keys++
  }
  if (keys > 16) return false
  const quotes = 4 * keys
  QUOTES[quotes] ??= new RegExp(`^[^"]*(?:"[^"]*){${quotes}}$`)
  return QUOTES[quotes].test(text)
}

const { QUOTE, BACKSLASH, COMMA, OPEN_OBJECT, CLOSE_OBJECT, OPEN_ARRAY, CLOSE_ARRAY } = JSON_CHAR

const COLON = 0x3a

/** Whether `c` is JSON white space (space, tab, line feed, carriage return). */
const isJsonSpace = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

/** Bytes of a string read one by one before the rest is searched with indexOf (a call costs as much as ~30). */
const SHORT_STRING = 32

/** stringEnd on bytes: the index of the quote that closes the JSON string opening at `from`, or -1. */
function bytesStringEnd(bytes: Buffer, from: number): number {
  const n = bytes.length
  let end = from
  for (;;) {
    const short = Math.min(n, end + 1 + SHORT_STRING)
    end++
    while (end < short && bytes[end] !== QUOTE) end++
    if (end === short) end = end < n ? bytes.indexOf(QUOTE, end) : -1
    if (end < 0) return -1
    let k = end - 1
    while (bytes[k] === BACKSLASH) k--
    if ((end - 1 - k) % 2 === 0) return end
  }
}

/** Whether the JSON string at from..end (its quotes) has an escape: it is then read by escapedString. */
function hasEscape(bytes: Buffer, from: number, end: number): boolean {
  for (let i = from + 1; i < end; i++) if (bytes[i] === BACKSLASH) return true
  return false
}

/** The JSON string at from..end (its quotes) as JSON.parse reads it; undefined for an escape it refuses. */
function escapedString(bytes: Buffer, from: number, end: number): string | undefined {
  try {
    return JSON.parse(bytes.toString('utf8', from, end + 1)) as string
  } catch {
    return undefined // not JSON: the handler sends the record to the dlq
  }
}

/**
 * The index of the value of the top-level object's key `name` (the first of a key given twice, which
 * parseJsonRecord dead-letters), or -1: no such key, a top level that is no object, or no JSON. Keys are
 * compared as JSON.parse reads them ("\u0070ublishedAt" is publishedAt). One pass over the bytes up to the
 * key, in the manner of topLevelKeyCount: string contents are skipped with indexOf (JSON escapes every
 * quote inside a string, and UTF-8 never has an ASCII byte inside a longer character), and a key is a
 * string right after the top-level object's `{` or one of its commas; a nested object or array only
 * counts depth. Nothing is decoded but a key that holds an escape.
 */
function topLevelValueAt(bytes: Buffer, name: string, nameBytes: Buffer): number {
  const n = bytes.length
  let i = 0
  while (isJsonSpace(bytes[i])) i++
  if (bytes[i] !== OPEN_OBJECT) return -1
  let depth = 1
  let expectKey = true
  for (i++; i < n; i++) {
    const c = bytes[i]
    if (c === QUOTE) {
      const end = bytesStringEnd(bytes, i)
      if (end < 0) return -1
      if (expectKey) {
        const isName = hasEscape(bytes, i, end)
          ? escapedString(bytes, i, end) === name
          : end - i - 1 === nameBytes.length &&
            bytes.compare(nameBytes, 0, nameBytes.length, i + 1, end) === 0
        if (isName) {
          let at = end + 1
          while (isJsonSpace(bytes[at])) at++
          if (bytes[at] !== COLON) return -1
          at++
          while (isJsonSpace(bytes[at])) at++
          return at
        }
        expectKey = false
      }
      i = end
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++
      expectKey = false
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (--depth === 0) return -1
    } else if (c === COMMA) expectKey = depth === 1
  }
  return -1
}

/**
 * The time in ms of a record's top-level string field `field` (an ISO time), without parsing the record:
 * what the runner's event-time alignment needs of every record while catching up. Only the top-level
 * object's key counts: a field of that name in a nested object or an array (a newer producer's, which a
 * tolerant reader drops), or the key's text inside a string, is not it. Linear in the bytes up to the key
 * (topLevelValueAt), with no allocation but the time's few bytes. Undefined for a record that is not a JSON
 * object with a valid time there (the handler then sends it to the dlq).
 */
export function jsonTimeField(field: string): (value: Buffer | null) => number | undefined {
  const nameBytes = Buffer.from(field)
  return (value) => {
    if (value === null) return undefined
    const at = topLevelValueAt(value, field, nameBytes)
    if (at < 0 || value[at] !== QUOTE) return undefined
    const end = bytesStringEnd(value, at)
    if (end < 0) return undefined
    const text = hasEscape(value, at, end)
      ? escapedString(value, at, end)
      : value.toString('latin1', at + 1, end)
    const ms = text === undefined ? Number.NaN : Date.parse(text)
    return Number.isNaN(ms) ? undefined : ms
  }
}

/** A headlines or headlines.scored record's event time: its publishedAt (jsonTimeField). */
export const publishedAtMs = jsonTimeField('publishedAt')

/** An indicators record's event time: the asOf its values are evaluated at (jsonTimeField). */
export const indicatorAsOfMs = jsonTimeField('asOf')

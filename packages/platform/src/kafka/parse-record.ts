import { isUtf8 } from 'node:buffer'
import { formatIssues } from '@tradepulse/contracts'
import type { z } from 'zod'

// One way to name a record's faults, the contracts' (the scorer's output check uses it too).
export { formatIssues }

export type ParsedRecord<T> = { ok: true; value: T } | { ok: false; reason: string; message: string }

/**
 * A record value → its payload, validated by the topic's schema, or the dlq reason (`empty_record`,
 * `invalid_utf8`, `invalid_json`, `schema_invalid`) with a message naming every invalid field. An object
 * that names a key twice, at any depth, is `schema_invalid` with the key's path.
 */
export function parseJsonRecord<S extends z.ZodType>(
  schema: S,
  value: Buffer | null,
  /** A fast path that returns the value exactly when the schema would accept it, else undefined (zod decides). */
  fastRead?: (json: unknown) => z.infer<S> | undefined,
): ParsedRecord<z.infer<S>> {
  if (!value || value.length === 0)
    return { ok: false, reason: 'empty_record', message: 'record has no value' }
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

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d

/** The index of the quote that closes the JSON string opening at `from`, or -1 (not JSON). */
function stringEnd(text: string, from: number): number {
  let end = from
  for (;;) {
    end = text.indexOf('"', end + 1)
    if (end < 0) return -1
    // Escaped only after an odd run of backslashes ("a\\" ends at its second quote).
    let k = end - 1
    while (text.charCodeAt(k) === BACKSLASH) k--
    if ((end - 1 - k) % 2 === 0) return end
  }
}

/** The key a JSON string at from..end (its quotes) names, as JSON.parse reads it. */
function keyAt(text: string, from: number, end: number): string {
  const raw = text.slice(from + 1, end)
  return raw.includes('\\') ? (JSON.parse(text.slice(from, end + 1)) as string) : raw
}

/** An object with more keys than this keeps them in a Set (fewer: an array, faster to make and search). */
const SMALL_OBJECT_KEYS = 16

/**
 * The keys an object of the scan holds so far: none yet (`undefined`), its first alone (no array made for
 * an object of one key, however deeply nested), then an array, then a Set. `null` outside any object.
 */
type Keys = undefined | string | string[] | Set<string> | null

/**
 * The index of the opening quote of the first key that some object of `text` names twice, or -1.
 * In valid JSON a string right after `{`, or after a `,` inside an object, is a key; every other
 * character outside strings is skipped.
 */
function duplicateKeyAt(text: string): number {
  // The keys of the object the scan is in, and of the ones around it.
  let keys: Keys = null
  const outer: Keys[] = []
  let expectKey = false
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const end = stringEnd(text, i)
      if (end < 0) return -1 // not JSON: JSON.parse would have refused it
      if (expectKey) {
        expectKey = false
        const key = keyAt(text, i, end)
        if (keys === undefined) keys = key
        else if (typeof keys === 'string') {
          if (keys === key) return i
          keys = [keys, key]
        } else if (Array.isArray(keys)) {
          if (keys.includes(key)) return i
          keys.push(key)
          if (keys.length > SMALL_OBJECT_KEYS) keys = new Set(keys)
        } else if (keys !== null) {
          if (keys.has(key)) return i
          keys.add(key)
        }
      }
      i = end
    } else if (c === OPEN_OBJECT) {
      outer.push(keys)
      keys = undefined
      expectKey = true
    } else if (c === OPEN_ARRAY) {
      outer.push(keys)
      keys = null
      expectKey = false
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      keys = outer.pop() ?? null
      expectKey = false
    } else if (c === COMMA) expectKey = keys !== null
  }
  return -1
}

/** The path to the key whose opening quote is at `at`: object keys and array indexes, outermost first. */
function pathTo(text: string, at: number): (string | number)[] {
  const path: (string | number)[] = []
  // Per level: whether it is an array; the last element of `path` is that level's key or index.
  const isArray: boolean[] = []
  let expectKey = false
  for (let i = 0; i < at; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const end = stringEnd(text, i)
      if (expectKey) {
        expectKey = false
        path[path.length - 1] = keyAt(text, i, end)
      }
      i = end
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      isArray.push(c === OPEN_ARRAY)
      path.push(c === OPEN_ARRAY ? 0 : '')
      expectKey = c === OPEN_OBJECT
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      isArray.pop()
      path.pop()
      expectKey = false
    } else if (c === COMMA) {
      if (isArray[isArray.length - 1]) path[path.length - 1] = (path[path.length - 1] as number) + 1
      else expectKey = isArray.length > 0
    }
  }
  path[path.length - 1] = keyAt(text, at, stringEnd(text, at))
  return path
}

/** How many times the top-level object of `text` (JSON that JSON.parse took) names `key`; 0 for another value. */
export function topLevelKeyCount(text: string, key: string): number {
  let depth = 0
  let topIsObject = false
  let expectKey = false
  let count = 0
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const end = stringEnd(text, i)
      if (end < 0) return count
      if (expectKey && keyAt(text, i, end) === key) count++
      expectKey = false
      i = end
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth === 0) topIsObject = c === OPEN_OBJECT
      depth++
      expectKey = depth === 1 && topIsObject
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--
      expectKey = false
    } else if (c === COMMA) expectKey = depth === 1 && topIsObject
  }
  return count
}

/**
 * The path (`["evidence", 0, "headline"]`) to the first key that some object of `text` names twice, or
 * undefined when none does. `text` must be JSON that JSON.parse took; on anything else the answer means
 * nothing. Keys are compared as JSON.parse sees them: `"a"` and `"\u0061"` are the same key.
 *
 * Linear in the text's length, with no regular expression and no recursion (nesting costs heap, not
 * stack): string contents are skipped with indexOf, each run of backslashes before a quote is looked at
 * once, and only the few characters between strings are read one by one. A small object's keys are
 * searched in an array, a larger one's in a Set. The path is worked out only for a duplicate, by a
 * second pass up to it.
 */
export function duplicateKeyPath(text: string): (string | number)[] | undefined {
  const at = duplicateKeyAt(text)
  return at < 0 ? undefined : pathTo(text, at)
}

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

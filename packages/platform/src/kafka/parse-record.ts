import { isUtf8 } from 'node:buffer'
import type { z } from 'zod'

/** A zod error's issues on one line, each naming its field: `path: message; ...` (`(root)` for the whole value). */
export function formatIssues(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[]
}): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ')
}

export type ParsedRecord<T> = { ok: true; value: T } | { ok: false; reason: string; message: string }

/**
 * A record value → its payload, validated by the topic's schema, or the dlq reason (`empty_record`,
 * `invalid_utf8`, `invalid_json`, `schema_invalid`) with a message naming every invalid field.
 */
export function parseJsonRecord<S extends z.ZodType>(
  schema: S,
  value: Buffer | null,
): ParsedRecord<z.infer<S>> {
  if (!value || value.length === 0)
    return { ok: false, reason: 'empty_record', message: 'record has no value' }
  // Decoded strictly: a lenient decode turns invalid bytes into U+FFFD, and the record would be handled
  // (scored, counted) as text no producer wrote. isUtf8 is one native pass, cheaper than a fatal decode.
  if (!isUtf8(value)) return { ok: false, reason: 'invalid_utf8', message: 'record value is not valid UTF-8' }
  let json: unknown
  try {
    json = JSON.parse(value.toString('utf8'))
  } catch (err) {
    return {
      ok: false,
      reason: 'invalid_json',
      message: `record value is not JSON: ${(err as Error).message}`,
    }
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    return { ok: false, reason: 'schema_invalid', message: formatIssues(parsed.error) }
  }
  return { ok: true, value: parsed.data }
}

/**
 * The time in ms of a record's top-level string field `field` (an ISO time), without parsing the record:
 * what the runner's event-time alignment needs of every record while catching up. Undefined for a record
 * that is not JSON with a valid time there (the handler then sends it to the dlq). JSON escapes the quotes
 * inside strings, so the key's pattern is found only as a key; a record written with spaces around the
 * colon is parsed instead. The field must be one no nested object of the record carries.
 */
export function jsonTimeField(field: string): (value: Buffer | null) => number | undefined {
  const key = Buffer.from(`"${field}":"`)
  return (value) => {
    if (value === null) return undefined
    let ms = Number.NaN
    const at = value.indexOf(key)
    if (at >= 0) {
      const from = at + key.length
      const to = value.indexOf(0x22, from)
      if (to > from) ms = Date.parse(value.toString('latin1', from, to))
    } else {
      try {
        const v = JSON.parse(value.toString('utf8')) as Record<string, unknown> | null
        const text = v?.[field]
        if (typeof text === 'string') ms = Date.parse(text)
      } catch {
        // not JSON: the handler sends it to the dlq
      }
    }
    return Number.isNaN(ms) ? undefined : ms
  }
}

/** A headlines or headlines.scored record's event time: its publishedAt (jsonTimeField). */
export const publishedAtMs = jsonTimeField('publishedAt')

/** An indicators record's event time: the asOf its values are evaluated at (jsonTimeField). */
export const indicatorAsOfMs = jsonTimeField('asOf')

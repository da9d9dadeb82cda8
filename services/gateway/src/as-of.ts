import type { IndicatorAsOf } from '@tradepulse/platform'
import type { Parsed } from './query.ts'

/** What an `asOf` (the API) or `--as-of` (the CLI) may be, for their error messages. */
export const AS_OF_FORMS = 'latest, now or an ISO 8601 time with Z or an offset (2026-03-02T14:00:00Z)'

// Date and time, both required, and the zone: without one the time would be read in the server's zone.
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):(\d{2}))$/

/**
 * An ISO 8601 time with its zone (`Z` or `±hh:mm`) → epoch ms, or undefined. Strict where Date.parse is
 * lenient: a date or time that does not exist (2026-02-30, 24:00, :60) is refused rather than rolled
 * over, and a time without a zone is refused rather than read in the machine's. Fractions past
 * milliseconds are cut.
 */
export function parseIsoTime(text: string): number | undefined {
  const m = ISO_TIME.exec(text)
  if (!m) return undefined
  const [year, month, day, hour, minute, second = 0] = m
    .slice(1, 7)
    .map((v) => (v === undefined ? 0 : Number(v)))
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3))
  const d = new Date(0)
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  d.setUTCFullYear(year!, month! - 1, day!)
  d.setUTCHours(hour!, minute!, second, ms)
  const exists =
    d.getUTCFullYear() === year &&
    d.getUTCMonth() === month! - 1 &&
    d.getUTCDate() === day &&
    d.getUTCHours() === hour &&
    d.getUTCMinutes() === minute &&
    d.getUTCSeconds() === second
  const offsetHours = Number(m[10] ?? 0)
  const offsetMinutes = Number(m[11] ?? 0)
  if (!exists || offsetHours > 23 || offsetMinutes > 59) return undefined
  const offsetMs = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000
  return d.getTime() - offsetMs
}

/** `latest`, `now` or an ISO time with its zone (parseIsoTime): what the gateway and the CLI read indicators at. */
export function parseAsOf(text: string): Parsed<IndicatorAsOf> {
  if (text === 'latest' || text === 'now') return { ok: true, value: text }
  const ms = parseIsoTime(text)
  return ms === undefined ? { ok: false, error: AS_OF_FORMS } : { ok: true, value: ms }
}

/**
 * For an asOf given as a time: the earliest time the answer can be read at, when that is after the time
 * asked for; else undefined. The store keeps each indicator as running sums as of its newest headline,
 * not as a history, and reads one asked for before that at its newest headline instead (readIndicator:
 * the update's own asOf says so). `bounds`: the asOf of each indicator read (later than asked: read
 * later) and, for a ranking, the aggregator's event time (any scope may hold headlines up to it, and
 * would be ranked by its newest values).
 */
export function readableFrom(
  requestedMs: number,
  bounds: readonly (number | undefined)[],
): number | undefined {
  let earliest: number | undefined
  for (const b of bounds)
    if (b !== undefined && b > requestedMs && (earliest === undefined || b > earliest)) earliest = b
  return earliest
}

/** Why an asOf before `earliestMs` is refused (after the parameter's name: `asOf: …`, `--as-of: …`). */
export const tooEarly = (requestedMs: number, earliestMs: number) =>
  `${new Date(requestedMs).toISOString()} is before ${new Date(earliestMs).toISOString()}, the earliest time these indicators can be read at (each is kept as of its newest headline, not as a history)`

import type { InRecord } from './kafka/records.ts'

/**
 * W3C trace context (https://www.w3.org/TR/trace-context/#traceparent-header): version, 32-hex trace id,
 * 16-hex parent id, flags, in lower case. The one definition every worker checks an incoming
 * `traceparent` header against.
 */
export const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/

const TRACEPARENT_LENGTH = 55

/**
 * The incoming `traceparent` when it is well formed, else undefined. Headers come from producers we do
 * not control: copying one unchecked onto every output would let a 1 MB header make each of them too
 * large for Kafka. The length is checked first, so an oversized value costs nothing to refuse.
 */
export function validTraceparent(value: string | undefined): string | undefined {
  if (value === undefined || value.length !== TRACEPARENT_LENGTH || !TRACEPARENT.test(value)) return undefined
  // The spec's invalid values: version ff, an all-zero trace id or parent id.
  if (value.startsWith('ff-') || value.slice(3, 35) === ZERO_TRACE || value.slice(36, 52) === ZERO_PARENT)
    return undefined
  return value
}

const ZERO_TRACE = '0'.repeat(32)
const ZERO_PARENT = '0'.repeat(16)

/**
 * The most characters of `tracestate` carried on: the spec's least a vendor should propagate. A longer one
 * is cut as the spec says, by whole entries: those over 128 characters first, then from the end.
 */
export const TRACESTATE_MAX_CHARS = 512
/** The spec's most list members in a tracestate. */
const TRACESTATE_MAX_MEMBERS = 32
/** Members longer than this go first when a tracestate is cut (the spec's order). */
const TRACESTATE_LONG_MEMBER_CHARS = 128
/**
 * A tracestate (all its headers together) longer than this is refused unread: 32 members of the longest
 * key and value take 16,447 characters, and a producer's header of any size must cost nothing to refuse.
 */
const TRACESTATE_MAX_INPUT_CHARS = 32 * 1024

// The spec's grammar (Level 1): a simple key, or tenant@system; a value of printable ASCII but "," and "=",
// not ending in a space. Bounded repetitions, so a member costs a few hundred steps at most.
const TRACESTATE_KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/
const TRACESTATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/

/**
 * The member without the optional white space around it (space, tab). By index: a regex anchored at the
 * end (/[ \t]+$/) is quadratic in a long run of spaces inside the text.
 */
function withoutOws(text: string): string {
  const ows = (i: number) => text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09
  let start = 0
  let end = text.length
  while (start < end && ows(start)) start++
  while (end > start && ows(end - 1)) end--
  return text.slice(start, end)
}

/**
 * The members of a tracestate (its header values joined with commas, as the spec combines several), without
 * their optional white space or empty ones; undefined when it is invalid (a key or value outside the
 * grammar, a key twice, more than 32 members), as the spec then discards it whole.
 */
function tracestateMembers(combined: string): string[] | undefined {
  const members: string[] = []
  const keys = new Set<string>()
  for (const part of combined.split(',')) {
    const member = withoutOws(part)
    if (member === '') continue
    const eq = member.indexOf('=')
    if (eq < 0) return undefined
    const key = member.slice(0, eq)
    if (!TRACESTATE_KEY.test(key) || !TRACESTATE_VALUE.test(member.slice(eq + 1)) || keys.has(key))
      return undefined
    keys.add(key)
    members.push(member)
    if (members.length > TRACESTATE_MAX_MEMBERS) return undefined
  }
  return members
}

/** The members cut to TRACESTATE_MAX_CHARS as the spec says: those over 128 characters first, then from the end. */
function truncated(members: string[]): string[] {
  const size = (list: string[]) => list.reduce((n, m) => n + m.length, 0) + Math.max(0, list.length - 1)
  let kept = members
  if (size(kept) > TRACESTATE_MAX_CHARS) kept = kept.filter((m) => m.length <= TRACESTATE_LONG_MEMBER_CHARS)
  while (size(kept) > TRACESTATE_MAX_CHARS) kept = kept.slice(0, -1)
  return kept
}

/** A header's values (none, one, or each of a header given several times), bytes or text, as given. */
function headerValues(raw: unknown): (Buffer | string)[] {
  const values = Array.isArray(raw) ? raw : [raw]
  // A value without bytes (a null header) is no value, as originalHeaders takes it.
  return values.filter((v): v is Buffer | string => typeof v === 'string' || Buffer.isBuffer(v))
}

const asText = (v: Buffer | string): string => (typeof v === 'string' ? v : v.toString('utf8'))

export type TraceHeaders = { traceparent: string; tracestate?: string }

/**
 * The trace context a derived record carries on from its input (so an alert can be traced back to its raw
 * record), read as W3C Trace Context says (https://www.w3.org/TR/trace-context/), with Kafka's header
 * names as our producers and OpenTelemetry's Kafka propagation write them (`traceparent`, `tracestate`):
 *
 * - `traceparent` when the record has exactly one, valid: a record with several has none the spec can
 *   trust (a receiver then starts a new trace), so nothing is carried on, nor from an invalid one;
 * - `tracestate` only with that valid traceparent: its headers combined in order into one list, without
 *   optional white space or empty members, cut by whole entries to TRACESTATE_MAX_CHARS; dropped whole
 *   when it is invalid (the traceparent is still carried on).
 *
 * Every value of a repeated header is read from the record's headers as Kafka gave them (`rawHeaders`);
 * a record made in memory has only its text headers, one value each.
 */
export function traceContext(record: Pick<InRecord, 'headers' | 'rawHeaders'>): TraceHeaders | undefined {
  const headers: Record<string, unknown> = record.rawHeaders ?? record.headers
  const get = (name: string) => headerValues(Object.hasOwn(headers, name) ? headers[name] : undefined)
  const parents = get('traceparent')
  if (parents.length !== 1) return undefined
  // Its length first: a megabyte of bytes is refused before it is decoded.
  const parent = parents[0]!
  const traceparent = parent.length === TRACEPARENT_LENGTH ? validTraceparent(asText(parent)) : undefined
  if (!traceparent) return undefined
  const states = get('tracestate')
  if (states.length === 0) return { traceparent }
  // Measured before it is decoded or joined: bytes are at least as many as the characters they make.
  let size = 0
  for (const s of states) {
    size += s.length + 1
    if (size > TRACESTATE_MAX_INPUT_CHARS) return { traceparent }
  }
  const members = tracestateMembers(states.map(asText).join(','))
  const kept = members && truncated(members)
  return kept && kept.length > 0 ? { traceparent, tracestate: kept.join(',') } : { traceparent }
}

/**
 * The same, from a record's headers as text (a repeated header's last value: a second traceparent
 * goes unseen there, so give traceContext the record where it is at hand).
 */
export function traceHeaders(headers: Record<string, string>): TraceHeaders | undefined {
  return traceContext({ headers })
}

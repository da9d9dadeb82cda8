import { type MatchScopeOptions, matchesScope } from '@tradepulse/alerting'
import { type Alert, Dimension, LIMITS, ScopeKind, Severity } from '@tradepulse/contracts'
import { z } from 'zod'
import { type Parsed, parseQuery } from './query.ts'

/**
 * Which alerts a reader wants: every given field must match (a list field: any of its values). From a
 * query string, `?severity=warning,critical&dimension=tariff&scope=region:CN&rule=tariff_shock`.
 */
export type AlertFilter = {
  severity?: Severity[]
  dimension?: Dimension[]
  /**
   * `<kind>:<id>` (the id as scopeIdsMatch reads it: in any case, `region:cn` naming CN), `<kind>:*` (every scope of the kind: a bare `<kind>` in a query)
   * or `*` (every scope).
   */
  scope?: string[]
  rule?: string[]
}

const list = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(',').map((v) => v.trim()))
    .pipe(z.array(item).min(1))
    .optional()

const KINDS = ScopeKind.options.join(', ')

/**
 * One `scope` value, as the rules' and desks' scope entries are written: `*` (every scope), `<kind>:*`
 * (every scope of the kind; a bare `<kind>` is read so) or `<kind>:<id>`. A `*` inside an id is refused as
 * the rules refuse it: `region:C*` was taken, and matched nothing, a stream filtered so staying silent.
 */
const SCOPE = z.string().transform((s, ctx) => {
  const refuse = (message: string) => {
    ctx.addIssue({ code: 'custom', message })
    return z.NEVER
  }
  if (s === '*') return s
  const colon = s.indexOf(':')
  const kind = colon < 0 ? s : s.slice(0, colon)
  if (!ScopeKind.safeParse(kind).success)
    return refuse(
      `kind must be one of ${KINDS} (got ${JSON.stringify(kind)}); give "*", "<kind>", "<kind>:*" or "<kind>:<id>"`,
    )
  if (colon < 0) return `${kind}:*`
  // Trimmed: the scorer writes no id with spaces around it, and `region: CN` matched nothing.
  const id = s.slice(colon + 1).trim()
  if (id === '')
    return refuse(`no id after "${kind}:"; give "${kind}:<id>", or "${kind}" for every ${kind} scope`)
  if (id !== '*' && id.includes('*'))
    return refuse(
      `${JSON.stringify(s)}: "*" is a whole id ("${kind}:*", every ${kind} scope), not a pattern inside one; it would match nothing`,
    )
  if (id.length > LIMITS.maxScopeIdChars)
    return refuse(
      `the id is ${id.length} characters, and a scope id is at most ${LIMITS.maxScopeIdChars}: it would match nothing`,
    )
  return `${kind}:${id}`
})

const FilterQuery = z.strictObject({
  severity: list(Severity),
  dimension: list(Dimension),
  scope: list(SCOPE),
  rule: list(z.string().min(1)),
})

/**
 * The filter of a query's filter parameters (others are left to the caller: `extra` names them); an
 * unknown value or parameter is an error naming it.
 */
export function parseAlertFilter(query: URLSearchParams, extra: readonly string[] = []): Parsed<AlertFilter> {
  const parsed = parseQuery(FilterQuery, query, extra)
  if (!parsed.ok) return parsed
  const value: AlertFilter = {}
  for (const [k, v] of Object.entries(parsed.value))
    if (v !== undefined) value[k as keyof AlertFilter] = v as never
  return { ok: true, value }
}

const EVERY_RAISED: MatchScopeOptions = { wildcardsTakeOther: true }

export function matches(filter: AlertFilter, a: Alert): boolean {
  if (filter.severity && !filter.severity.includes(a.severity)) return false
  if (filter.dimension && !filter.dimension.includes(a.dimension)) return false
  if (filter.rule && !filter.rule.includes(a.rule)) return false
  // As the rules and desks files compare scopes (scopeIdsMatch), but a wildcard takes the folded
  // `other` scope too: an alert on it was raised by a rule naming it (MatchScopeOptions).
  if (filter.scope && !matchesScope(filter.scope, a.scope, EVERY_RAISED)) return false
  return true
}

/**
 * Where an alert was read: its record's partition and offset in the alerts topic, and its timestamp (ms):
 * on the alerts topic (LogAppendTime) the time the partition's leader appended it, so the same record has
 * the same time in every gateway's feed, whatever the clock of the alerter that wrote it.
 */
export type FeedOrigin = { partition: number; offset: number; timestamp: number }

/**
 * An alert as the feed holds it: `seq` orders the feed (an SSE event id, for resuming); `origin` is
 * where and when it was written (absent off Kafka), so that a stream can tell what was written after the
 * start, and what a resume from another gateway's order must send again.
 */
export type FeedEntry = { seq: number; alert: Alert; origin?: FeedOrigin }

export type Subscriber = (entry: FeedEntry) => void

/** Why the feed let an alert go: the count bound (`capacity`) or the byte budget (`maxBytes`). */
export type EvictionReason = 'count' | 'bytes'

export type AlertFeedOptions = {
  /**
   * The bytes the held alerts may weigh together (GATEWAY_RECENT_ALERTS_MAX_BYTES), each as `add` is
   * told (its record's size); unbounded when absent. The newest alert is held whatever it weighs.
   */
  maxBytes?: number
  /** Told of each alert evicted, with why (a metric counts them). */
  evicted?: (reason: EvictionReason) => void
}

/**
 * The recent alerts, newest last, at most `capacity` and at most `maxBytes` together (the oldest go
 * first, whichever bound an add crosses); each alert id once (the alerter may send an alert again after a
 * crash, with the same id, and a consumer rereads what followed its last commit), and subscribers told
 * of each new one in order.
 */
export type AlertFeed = {
  /**
   * Adds an alert weighing `bytes` (its record's size; its JSON's when not given), read at `origin`;
   * false (and nothing told) when its id is already held.
   */
  add(alert: Alert, bytes?: number, origin?: FeedOrigin): boolean
  /** The held alerts matching `filter`, newest first, at most `limit`. */
  recent(filter: AlertFilter, limit: number): Alert[]
  /** The held entries after `seq`, oldest first, at most `max` (a stream's next ones). */
  after(seq: number, max?: number): FeedEntry[]
  /**
   * The held entries before `beforeSeq` whose record was written at or after `fromMs` (origin.timestamp;
   * never one without an origin), oldest first (a resumed stream's slack). It looks back from `beforeSeq`
   * only as far as an entry may be so written: the cost is about what it returns, as record times rise
   * with the feed (the partitions are read in step: build-app's alignment), at worst a scan of the feed.
   */
  writtenSince(fromMs: number, beforeSeq: number): FeedEntry[]
  /** The held entry of an alert id. */
  entryOf(id: string): FeedEntry | undefined
  subscribe(s: Subscriber): () => void
  /** Tells `s` of each entry evicted, the oldest first, as it goes; returns what stops that. */
  onEvicted(s: Subscriber): () => void
  readonly size: number
  /** What the held alerts weigh together, in bytes (as `add` was told). */
  readonly bytes: number
  /** The newest entry's seq (0 before any). */
  readonly lastSeq: number
  /** The oldest held entry's seq (lastSeq + 1 when none is held): entries before it were evicted. */
  readonly firstSeq: number
}

export function createAlertFeed(capacity: number, options: AlertFeedOptions = {}): AlertFeed {
  if (!Number.isInteger(capacity) || capacity < 1)
    throw new Error(`feed capacity must be ≥ 1, got ${capacity}`)
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY
  if (!(maxBytes > 0)) throw new Error(`feed byte budget must be > 0, got ${maxBytes}`)
  // A ring indexed by seq: seqs are consecutive, so entry `s` sits in slot (s − 1) mod capacity and an
  // add overwrites the one it evicts (an array's shift() cost O(capacity) per add once full). The held
  // entries are first..seq: at most capacity of them, fewer when the byte budget evicted more.
  const slots: (FeedEntry | undefined)[] = new Array(capacity)
  const sizes = new Float64Array(capacity)
  // Each entry's record time, and the latest of any entry up to it since the feed began (not only the
  // held ones: never less than theirs), so writtenSince knows where to stop looking back. An entry
  // without one (NaN) is at or after no time, and raises nothing.
  const written = new Float64Array(capacity)
  const latest = new Float64Array(capacity)
  let latestEver = Number.NEGATIVE_INFINITY
  const ids = new Map<string, FeedEntry>()
  const subscribers = new Set<Subscriber>()
  const evictedTo = new Set<Subscriber>()
  let seq = 0
  let first = 1
  let bytes = 0
  const at = (s: number) => slots[(s - 1) % capacity]!
  const evictOldest = (reason: EvictionReason) => {
    const slot = (first - 1) % capacity
    const entry = slots[slot]!
    ids.delete(entry.alert.id)
    slots[slot] = undefined
    bytes -= sizes[slot]!
    sizes[slot] = 0
    first++
    options.evicted?.(reason)
    for (const s of evictedTo) s(entry)
  }
  return {
    add(alert, size = Buffer.byteLength(JSON.stringify(alert)), origin) {
      if (ids.has(alert.id)) return false
      if (seq - first + 1 === capacity) evictOldest('count')
      const entry: FeedEntry = origin ? { seq: ++seq, alert, origin } : { seq: ++seq, alert }
      const slot = (seq - 1) % capacity
      slots[slot] = entry
      sizes[slot] = size
      bytes += size
      const ms = origin ? origin.timestamp : Number.NaN
      if (ms > latestEver) latestEver = ms
      written[slot] = ms
      latest[slot] = latestEver
      ids.set(alert.id, entry)
      // The newest stays: an alert heavier than the whole budget is held alone.
      while (bytes > maxBytes && first < seq) evictOldest('bytes')
      for (const s of subscribers) s(entry)
      return true
    },
    recent(filter, limit) {
      const out: Alert[] = []
      for (let s = seq; s >= first && out.length < limit; s--) {
        const a = at(s).alert
        if (matches(filter, a)) out.push(a)
      }
      return out
    },
    after(after, max = Number.POSITIVE_INFINITY) {
      const out: FeedEntry[] = []
      for (let s = Math.max(after + 1, first); s <= seq && out.length < max; s++) out.push(at(s))
      return out
    },
    writtenSince(fromMs, beforeSeq) {
      const out: FeedEntry[] = []
      for (let s = Math.min(beforeSeq - 1, seq); s >= first; s--) {
        const slot = (s - 1) % capacity
        // None up to here was written at or after fromMs (nor is any time at or after NaN).
        if (!(latest[slot]! >= fromMs)) break
        if (written[slot]! >= fromMs) out.push(slots[slot]!)
      }
      return out.reverse()
    },
    entryOf(id) {
      return ids.get(id)
    },
    subscribe(s) {
      subscribers.add(s)
      return () => subscribers.delete(s)
    },
    onEvicted(s) {
      evictedTo.add(s)
      return () => evictedTo.delete(s)
    },
    get size() {
      return seq - first + 1
    },
    get bytes() {
      return bytes
    },
    get lastSeq() {
      return seq
    },
    get firstSeq() {
      return first
    },
  }
}

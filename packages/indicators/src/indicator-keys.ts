import { Dimension, type Scope, ScopeKind } from '@tradepulse/contracts'

export type IndicatorTarget = { dimension: Dimension; scope: Scope }

// Braces would end a Redis hash tag early; '%' is escaped so the encoding stays reversible.
const escapeId = (id: string) =>
  // Nearly every id needs no escaping: checked without a regex, as it runs for every contribution.
  id.indexOf('%') < 0 && id.indexOf('{') < 0 && id.indexOf('}') < 0
    ? id
    : id.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
const unescapeId = (id: string) =>
  id.replace(/%(25|7B|7D)/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))

/** The logical key of one indicator, `<dimension>|<kind>:<id>` (IndicatorUpdate.key, and the hash tag). */
export function indicatorKey(dimension: Dimension, scope: Scope): string {
  return `${dimension}|${scope.kind}:${escapeId(scope.id)}`
}

/**
 * The indicator a key names, or why it names none: a key indicatorKey did not write (Redis edited by
 * hand, another program's key in the aggregator's set of held-back marks) is not of the form
 * `<dimension>|<kind>:<id>`, names a dimension or scope kind there is none of, has an empty scope id, or
 * writes its id otherwise than indicatorKey does (a `%` not escaped: read, it would name another key).
 * Bounds are the contract's to check (IndicatorUpdate.key, Scope.id): a scope past them is still one.
 */
export function readIndicatorKey(
  key: string,
): { ok: true; target: IndicatorTarget } | { ok: false; problem: string } {
  const bar = key.indexOf('|')
  const colon = bar < 0 ? -1 : key.indexOf(':', bar + 1)
  if (bar < 0 || colon < 0) return { ok: false, problem: 'not of the form <dimension>|<kind>:<id>' }
  const dimension = key.slice(0, bar)
  const kind = key.slice(bar + 1, colon)
  const id = key.slice(colon + 1)
  if (!(Dimension.options as readonly string[]).includes(dimension))
    return { ok: false, problem: `no dimension ${quoted(dimension)}` }
  if (!(ScopeKind.options as readonly string[]).includes(kind))
    return { ok: false, problem: `no scope kind ${quoted(kind)}` }
  if (id.length === 0) return { ok: false, problem: 'an empty scope id' }
  const target = { dimension: dimension as Dimension, scope: { kind: kind as ScopeKind, id: unescapeId(id) } }
  if (indicatorKey(target.dimension, target.scope) !== key)
    return { ok: false, problem: 'a scope id not escaped as indicatorKey writes it' }
  return { ok: true, target }
}

/** A part of a key as a problem names it: JSON-quoted, cut at 32 characters. */
const quoted = (text: string) => JSON.stringify(text.length <= 32 ? text : `${text.slice(0, 32)}…`)

/** The indicator a key names (indicatorKey's inverse); throws naming what is wrong with one it did not write (readIndicatorKey). */
export function parseIndicatorKey(key: string): IndicatorTarget {
  const read = readIndicatorKey(key)
  if (!read.ok) throw new Error(`not an indicator key (${read.problem}): ${key}`)
  return read.target
}

/** The hash tag shared by every key of one scope's indicators, `<kind>:<id>` (braces escaped). */
export function scopeTag(scope: Scope): string {
  return `${scope.kind}:${escapeId(scope.id)}`
}

/**
 * Names a namespace may not take: the other key families under the same prefix. A namespace's keys are
 * `<prefix>:<namespace>:…`, and clearing one deletes `<prefix>:<namespace>:*`, so a namespace named
 * `indicators` took the readers' active-namespace pointer with it, and one named after the alerter's,
 * ingest's or the aggregator's keys would wipe their state (platform's createKeys: alert, align, dedup,
 * state-marker; the aggregator's applied offsets: applied, and its held-back updates' marks: dirty).
 */
export const RESERVED_NAMESPACES: readonly string[] = [
  'indicators',
  'alert',
  'align',
  'applied',
  'dedup',
  'state-marker',
  'dirty',
]

/**
 * Every storage key of the indicators, in one place. The keys of one scope's indicators (all four
 * dimensions) share the hash tag `{<kind>:<id>}`, so the one script call that updates a scope touches
 * one Redis Cluster slot; each scope kind's registry has its own tag. `prefix` and `namespace` must not
 * contain braces.
 */
export function createIndicatorKeys(prefix: string, namespace: string) {
  if (/[{}]/.test(prefix) || /[{}:]/.test(namespace) || namespace.length === 0) {
    throw new Error(
      'indicator key prefix must not contain braces; namespace must be non-empty without braces or colons',
    )
  }
  if (RESERVED_NAMESPACES.includes(namespace))
    throw new Error(
      `indicator namespace ${JSON.stringify(namespace)} is reserved: ${RESERVED_NAMESPACES.join(', ')} name other keys under the prefix`,
    )
  const root = `${prefix}:${namespace}`
  return {
    /** Hash: reference time, decayed sums, time buckets, counters. */
    state: (dimension: Dimension, scope: Scope) => `${root}:ind:{${scopeTag(scope)}}:${dimension}`,
    /**
     * Sorted set: headline ids applied to the indicator, scored by event ms (idempotency), one per
     * indicator. Market and uncertainty shared market's (the aggregator gives both of a headline in one
     * apply, so the sets held the same ids, one sorted-set write per headline fewer), and the store then
     * took a headline's uncertainty contribution given in a later apply than its market one (or the other
     * way round) for a duplicate and dropped it: the store's contract is idempotence per indicator, which
     * a caller splitting a headline's contributions relies on. Keys written before (`market:ids` holding
     * uncertainty's ids too) read as market's alone: an uncertainty contribution given again within the
     * dedup window across the change is applied a second time (see the aggregator's README).
     */
    ids: (dimension: Dimension, scope: Scope) => `${root}:ind:{${scopeTag(scope)}}:${dimension}:ids`,
    /** Sorted set: admitted scope ids of one kind, scored by newest event ms (scope cap, top N). */
    scopes: (kind: ScopeKind) => `${root}:scopes:{${kind}}`,
    /** String: the newest event time any member published updates at (advanceWatermark). */
    watermark: `${root}:watermark`,
    /**
     * String: the namespace's born time (namespace-born.ts), set when absent by each apply and read with
     * each state. Its own slot, written by its own command: a scope's script touches only the scope's.
     */
    born: `${root}:born`,
    /**
     * String: one first-apply check's own key (the Redis store's adoption of state older than born
     * times), random per check. Its hash tag is the born key's whole name, so it lies in born's slot and
     * one script reads both (Redis Cluster).
     */
    bornCheck: (token: string) => `${root}:born-check:${token}:{${root}:born}`,
    /** Glob matching every key of this namespace. */
    pattern: `${root}:*`,
    /** Names the namespace readers should use; shared by all namespaces under the prefix. */
    activeNamespace: `${prefix}:indicators:active-namespace`,
  }
}
export type IndicatorKeys = ReturnType<typeof createIndicatorKeys>

import type { Dimension, Scope, ScopeKind } from '@tradepulse/contracts'

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

export function parseIndicatorKey(key: string): IndicatorTarget {
  const bar = key.indexOf('|')
  const colon = key.indexOf(':', bar + 1)
  if (bar < 1 || colon < 0) throw new Error(`not an indicator key: ${key}`)
  return {
    dimension: key.slice(0, bar) as Dimension,
    scope: { kind: key.slice(bar + 1, colon) as ScopeKind, id: unescapeId(key.slice(colon + 1)) },
  }
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
     * Sorted set: headline ids applied to the indicator, scored by event ms (idempotency). Market and
     * uncertainty count every headline of a scope at the same time, so their sets would be equal: they
     * share market's, one sorted-set write per headline fewer.
     */
    ids: (dimension: Dimension, scope: Scope) =>
      `${root}:ind:{${scopeTag(scope)}}:${dimension === 'uncertainty' ? 'market' : dimension}:ids`,
    /** Sorted set: admitted scope ids of one kind, scored by newest event ms (scope cap, top N). */
    scopes: (kind: ScopeKind) => `${root}:scopes:{${kind}}`,
    /** String: the newest event time any member published updates at (advanceWatermark). */
    watermark: `${root}:watermark`,
    /** Glob matching every key of this namespace. */
    pattern: `${root}:*`,
    /** Names the namespace readers should use; shared by all namespaces under the prefix. */
    activeNamespace: `${prefix}:indicators:active-namespace`,
  }
}
export type IndicatorKeys = ReturnType<typeof createIndicatorKeys>

import { LIMITS, type Scope, ScopeKind } from '@tradepulse/contracts'
import { OTHER_SCOPE_ID } from '@tradepulse/indicators'
import { z } from 'zod'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'

const KINDS = ScopeKind.options.join('|')
// An id is "*" or has no "*" in it: a partial wildcard ("region:C*") would match nothing, silently. It may
// hold spaces (a watchlist entity "Berkshire Hathaway"), but none around it: no scope id has them.
const FILTER = new RegExp(`^(\\*|(${KINDS}):(\\*|[^\\s*](?:[^*]*[^\\s*])?))$`)

/** The id an entry of the `<kind>:<id>` form names, or undefined for a wildcard or an entry of no form. */
function namedId(entry: string): string | undefined {
  const m = FILTER.exec(entry)
  const id = m?.[3]
  return id === undefined || id === '*' ? undefined : id
}

/**
 * The scope id that `<kind>:<id>` names, in the case the scorer writes ids of the kind in: region ids
 * (ISO codes) in upper case, commodity, sector and global ids and the folded `other` scope in lower case,
 * so `region:cn` names CN. An entity id (the watchlist's, whose ids never differ only in case: it refuses
 * that) is returned as written; entities match in any case (scopeIdsMatch), so `entity:tsla` in a desk
 * file takes TSLA's alerts rather than silently none. The gateway's `/api/indicators` reads this id, and
 * for an entity also its upper and lower case.
 */
export function scopeIdNamed(kind: ScopeKind, id: string): string {
  if (kind === 'entity') return id
  if (kind === 'region') return id.toLowerCase() === OTHER_SCOPE_ID ? OTHER_SCOPE_ID : id.toUpperCase()
  return id.toLowerCase()
}

/**
 * Whether `<kind>:<named>` names the stored scope id `stored`: the one comparison of the rules, the desks
 * and the gateway's alert filter. Ids of the scorer's kinds compare exactly after scopeIdNamed; entity ids
 * in any case (an id kept from an older watchlist in another case, "Abc" then "ABC", is still the same
 * entity to a desk that names it).
 */
export function scopeIdsMatch(kind: ScopeKind, named: string, stored: string): boolean {
  return kind === 'entity'
    ? named.toLowerCase() === stored.toLowerCase()
    : scopeIdNamed(kind, named) === stored
}

/**
 * One scope filter entry: `*` (every scope), `<kind>:*` (every scope of a kind, for example
 * `region:*`) or `<kind>:<id>` (one scope, for example `region:CN`, `commodity:rare_earths`,
 * `global:all`, `entity:Berkshire Hathaway`). Ids compare as scopeIdsMatch says (`region:cn` names CN,
 * `entity:tsla` TSLA).
 * An id is at most what a Scope.id may be (the contracts' LIMITS.maxScopeIdChars): no update or
 * alert carries a longer one, so such an entry would match nothing, silently.
 */
export const ScopeFilterEntry = z
  .string()
  .trim()
  .regex(FILTER, {
    message: `expected "*", "<kind>:*" or "<kind>:<id>" (no "*" inside an id) with kind one of ${ScopeKind.options.join(', ')}`,
  })
  .superRefine((entry, ctx) => {
    // Only for an entry of the form (the regex named any other), so an entry is refused for one reason.
    const id = namedId(entry)
    if (id === undefined || id.length <= LIMITS.maxScopeIdChars) return
    ctx.addIssue({
      code: 'custom',
      message: `the id is ${id.length} characters, and a scope id is at most ${LIMITS.maxScopeIdChars}: it would match nothing`,
    })
  })

export const ScopeFilter = z
  .array(ScopeFilterEntry)
  .min(1)
  .max(ALERTING_DEFAULTS.maxScopeFiltersPerEntry)
  .default(['*'])
export type ScopeFilter = z.infer<typeof ScopeFilter>

export type MatchScopeOptions = {
  /**
   * Whether `*` and `<kind>:*` take the folded `other` scope too (when not, only `<kind>:other` does).
   * Rules and desks leave it off: an alert on "region other" is noise to a desk. A reader of alerts
   * already raised (the gateway's `?scope=`) turns it on: since rules' wildcards skip `other`, an alert on
   * it was raised by a rule naming it, and a reader asking for every region's alerts would otherwise not
   * see one that someone asked for.
   */
  wildcardsTakeOther?: boolean
}

/**
 * True when the scope passes the filter (entries as ScopeFilterEntry reads them). Ids compare as
 * scopeIdsMatch says; kinds as written. Wildcards skip the indicators' `other` scope (the folded tail of
 * rare scopes) unless `options.wildcardsTakeOther`: name `region:other` to watch it.
 */
export function matchesScope(filter: readonly string[], scope: Scope, options?: MatchScopeOptions): boolean {
  const wildcardsSkip = scope.id === OTHER_SCOPE_ID && options?.wildcardsTakeOther !== true
  for (const entry of filter) {
    if (entry === '*' || entry === `${scope.kind}:*`) {
      if (!wildcardsSkip) return true
    } else if (
      entry.length > scope.kind.length &&
      entry.startsWith(scope.kind) &&
      entry[scope.kind.length] === ':' &&
      scopeIdsMatch(scope.kind, entry.slice(scope.kind.length + 1), scope.id)
    ) {
      return true
    }
  }
  return false
}

/** The kind an entry names ("*": any), and its id ("*": every id of the kind). */
function entryParts(entry: string): { kind: string; id: string } {
  const colon = entry.indexOf(':')
  return colon < 0 ? { kind: '*', id: '*' } : { kind: entry.slice(0, colon), id: entry.slice(colon + 1) }
}

/**
 * Whether some scope may pass both filters (matchesScope). Generous where in doubt: a wildcard meets
 * every id of its kind, the folded `other` too, so only filters that can share no scope are told apart
 * (a desk on `region:CN` naming a rule on `region:JP` would get nothing of it).
 */
export function scopeFiltersMeet(a: readonly string[], b: readonly string[]): boolean {
  return a.some((x) =>
    b.some((y) => {
      const p = entryParts(x)
      const q = entryParts(y)
      if (p.kind !== '*' && q.kind !== '*' && p.kind !== q.kind) return false
      if (p.id === '*' || q.id === '*') return true
      // Both name an id, so both name their kind, the same one.
      const kind = p.kind as ScopeKind
      return scopeIdsMatch(kind, p.id, scopeIdNamed(kind, q.id))
    }),
  )
}

import type { Scope, ScopeKind } from '@tradepulse/contracts'
import type { Contribution } from './contributions.ts'
import type { FoldedContribution } from './indicator-store.ts'

/** Scopes beyond a kind's cap are folded into this one scope per kind. */
export const OTHER_SCOPE_ID = 'other'

export type ScopeCandidate = { id: string; newestMs: number; mentions: number }

/**
 * The distinct non-global scopes of a batch, per kind, most mentioned first (ties by id), so when a
 * kind is near its cap the batch's common scopes are admitted before its rare ones.
 */
export function scopeCandidates(contributions: readonly Contribution[]): Map<ScopeKind, ScopeCandidate[]> {
  const byKind = new Map<ScopeKind, Map<string, { newestMs: number; headlines: Set<string> }>>()
  for (const c of contributions) {
    if (c.scope.kind === 'global') continue
    let kind = byKind.get(c.scope.kind)
    if (!kind) {
      kind = new Map()
      byKind.set(c.scope.kind, kind)
    }
    const entry = kind.get(c.scope.id)
    if (entry) {
      entry.newestMs = Math.max(entry.newestMs, c.eventMs)
      entry.headlines.add(c.headlineId)
    } else {
      kind.set(c.scope.id, { newestMs: c.eventMs, headlines: new Set([c.headlineId]) })
    }
  }
  const out = new Map<ScopeKind, ScopeCandidate[]>()
  for (const [kind, entries] of byKind) {
    const list = [...entries].map(([id, e]) => ({ id, newestMs: e.newestMs, mentions: e.headlines.size }))
    list.sort((a, b) => b.mentions - a.mentions || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    out.set(kind, list)
  }
  return out
}

/**
 * Admits scopes of one kind into its registry (scope id → newest event ms), in place; returns one flag
 * per candidate. Entries older than the registry's newest event − retentionMs leave first, which frees
 * their place. `other` is always admitted and not counted. Which scopes win a contested last place
 * depends on arrival order: the cap trades exactness at the margin for bounded key cardinality.
 *
 * Mirrors lua/admitScopes-1.lua.
 */
export function admitScopes(
  registry: Map<string, number>,
  candidates: readonly ScopeCandidate[],
  cap: number,
  retentionMs: number,
): boolean[] {
  let newest = Number.NEGATIVE_INFINITY
  for (const t of registry.values()) if (t > newest) newest = t
  for (const c of candidates) if (c.newestMs > newest) newest = c.newestMs
  for (const [id, t] of registry) if (t < newest - retentionMs) registry.delete(id)
  let count = registry.size - (registry.has(OTHER_SCOPE_ID) ? 1 : 0)
  return candidates.map((c) => {
    const known = registry.get(c.id)
    if (known !== undefined || c.id === OTHER_SCOPE_ID || count < cap) {
      if (known === undefined && c.id !== OTHER_SCOPE_ID) count++
      registry.set(c.id, Math.max(known ?? Number.NEGATIVE_INFINITY, c.newestMs))
      return true
    }
    return false
  })
}

/**
 * Rewrites contributions of scopes that are not admitted to their kind's `other` scope. A headline
 * that mentions two folded scopes counts once in `other`, not twice (that would read as a duplicate).
 * Each contribution rewritten or dropped so is pushed to `folded`, when given, with its own scope.
 */
export function foldRareScopes(
  contributions: readonly Contribution[],
  isAdmitted: (scope: Scope) => boolean,
  folded?: FoldedContribution[],
): Contribution[] {
  const out: Contribution[] = []
  const seen = new Set<string>()
  for (const c of contributions) {
    if (c.scope.kind === 'global' || isAdmitted(c.scope)) {
      out.push(c)
      continue
    }
    folded?.push({ dimension: c.dimension, scope: c.scope, headlineId: c.headlineId })
    const id = `${c.dimension}|${c.scope.kind}|${c.headlineId}`
    if (seen.has(id)) continue
    seen.add(id)
    out.push({ ...c, scope: { kind: c.scope.kind, id: OTHER_SCOPE_ID } })
  }
  return out
}

import type { EvidenceProvider } from '@tradepulse/alerting'
import type { ScoredHeadline } from '@tradepulse/contracts'
import { scopesOf } from '@tradepulse/indicators'

/**
 * Recent scored headlines per scope, for the evidence of indicator alerts (the evaluation is
 * synchronous, so it cannot read them from anywhere slower than memory). Bounded: the last `perScope`
 * headlines of the `maxScopes` most recently active scopes; a headline is shared by all its scopes.
 * Empty after a restart until headlines flow again: evidence is best effort, the alert is not.
 */
export function createHeadlineMemory(opts: { maxScopes: number; perScope: number }) {
  // Map iteration order is insertion order: deleting and re-inserting a scope makes it the newest.
  const byScope = new Map<string, ScoredHeadline[]>()
  let scorerVersion: string | undefined
  return {
    add(h: ScoredHeadline): void {
      scorerVersion = h.scorerVersion
      for (const scope of scopesOf(h)) {
        const k = `${scope.kind}:${scope.id}`
        const list = byScope.get(k) ?? []
        byScope.delete(k)
        if (!list.some((x) => x.id === h.id)) list.push(h)
        if (list.length > opts.perScope) list.shift()
        byScope.set(k, list)
        if (byScope.size > opts.maxScopes) byScope.delete(byScope.keys().next().value!)
      }
    },
    evidence: ((_dimension, scope) => byScope.get(`${scope.kind}:${scope.id}`) ?? []) as EvidenceProvider,
    /** The scorer version of the newest headline seen; IndicatorUpdate carries none. */
    scorerVersion: () => scorerVersion,
    size: () => byScope.size,
  }
}
export type HeadlineMemory = ReturnType<typeof createHeadlineMemory>

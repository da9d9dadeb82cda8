import { type EvidenceHeadline, type EvidenceProvider, evidenceHeadline } from '@tradepulse/alerting'
import { Dimension, type ScoredHeadline } from '@tradepulse/contracts'
import { scopesOf } from '@tradepulse/indicators'

/**
 * Recent headlines per scope and dimension, for the evidence of indicator alerts (the evaluation is
 * synchronous, so it cannot read them from anywhere slower than memory). Per (dimension, scope), the
 * last `perScope` headlines about that dimension (tariff and supply chain: those the scorer found about
 * it; market and uncertainty: every headline, as the indicators count them), so a busy scope's market
 * news does not push out its tariff headlines; of the `maxScopes` most recently active scopes. Each
 * entry is the compact evidence projection (evidenceHeadline: no body, only that dimension's cues),
 * one object per headline and dimension shared by all its scopes: at most maxScopes × 4 × perScope
 * entries of about the headline text's size (at most 1,000 characters), where whole scored headlines
 * (bodies up to 20,000 characters) took hundreds of MB at the defaults. Empty after a restart until
 * headlines flow again: evidence is best effort, the alert is not. An indicator alert's scorerVersion
 * comes from here too, per scope: its first evidence headline's (evaluateIndicator's topEvidence), or
 * "unknown" when the scope has none; there is no process-wide "newest scorer version", which named a
 * scorer (a canary) that never scored the alert's scope.
 */
export function createHeadlineMemory(opts: { maxScopes: number; perScope: number }) {
  // Map iteration order is insertion order: deleting and re-inserting a scope makes it the newest.
  const byScope = new Map<string, Map<Dimension, EvidenceHeadline[]>>()
  return {
    add(h: ScoredHeadline): void {
      const entries: [Dimension, EvidenceHeadline][] = []
      for (const dimension of Dimension.options) {
        const e = evidenceHeadline(h, dimension)
        if (e) entries.push([dimension, e])
      }
      if (entries.length === 0) return
      for (const scope of scopesOf(h)) {
        const k = `${scope.kind}:${scope.id}`
        const lists = byScope.get(k) ?? new Map<Dimension, EvidenceHeadline[]>()
        byScope.delete(k)
        for (const [dimension, e] of entries) {
          const list = lists.get(dimension) ?? []
          if (!list.some((x) => x.id === e.id)) list.push(e)
          if (list.length > opts.perScope) list.shift()
          lists.set(dimension, list)
        }
        byScope.set(k, lists)
        if (byScope.size > opts.maxScopes) byScope.delete(byScope.keys().next().value!)
      }
    },
    evidence: ((dimension, scope) =>
      byScope.get(`${scope.kind}:${scope.id}`)?.get(dimension) ?? []) as EvidenceProvider,
    size: () => byScope.size,
  }
}
export type HeadlineMemory = ReturnType<typeof createHeadlineMemory>

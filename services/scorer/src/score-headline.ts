import type { Headline, ScoredHeadline } from '@tradepulse/contracts'
import type { Scorer } from '@tradepulse/scoring'

/** A headline and its scores as one record; `truncated` is true when either ingest or the scorer cut text. */
export function scoreHeadline(scorer: Scorer, h: Headline, scoredAt: Date): ScoredHeadline {
  const r = scorer.score(
    h.body === undefined ? { headline: h.headline } : { headline: h.headline, body: h.body },
  )
  return { ...h, ...r, truncated: h.truncated || r.truncated, scoredAt: scoredAt.toISOString() }
}

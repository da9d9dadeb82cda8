import type { Alert, Dimension, ScoredHeadline } from '@tradepulse/contracts'
import type { AlertSide } from './alert-keys.ts'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'

export type AlertEvidence = Alert['evidence'][number]

/** A headline's value on one dimension and the weight it carries there; undefined when not about it. */
export function headlineValue(
  h: ScoredHeadline,
  dimension: Dimension,
): { value: number; relevance: number } | undefined {
  switch (dimension) {
    case 'tariff':
    case 'supplyChain': {
      const s = h.scores[dimension]
      return s.label === null ? undefined : { value: s.score, relevance: s.relevance }
    }
    case 'market':
      return { value: h.scores.market.score, relevance: 1 }
    case 'uncertainty':
      return { value: h.scores.uncertainty, relevance: 1 }
  }
}

/** The evidence entry of one headline: its score on the dimension and that dimension's cue texts. */
export function evidenceOf(h: ScoredHeadline, dimension: Dimension, value: number): AlertEvidence {
  const cues: string[] = []
  for (const c of h.explanation) {
    if (c.dimension === dimension && !cues.includes(c.cue)) cues.push(c.cue)
    if (cues.length >= ALERTING_DEFAULTS.maxCuesPerEvidence) break
  }
  return { headlineId: h.id, headline: h.headline, score: value, cues }
}

/**
 * The top headlines behind an indicator alert, published within `evidenceWindowMs` before asOf. For a
 * sentiment alert, those pointing the alert's way, strongest (score × relevance) first; for an activity
 * alert (volume, buzz, count: a burst, whichever way it points), the newest first, then the strongest
 * either way. Ties by id, so the choice does not depend on the order they were given in.
 */
export function topEvidence(
  headlines: readonly ScoredHeadline[],
  dimension: Dimension,
  side: AlertSide | 'activity',
  asOfMs: number,
): { evidence: AlertEvidence[]; scorerVersion: string | undefined } {
  const sign = side === 'up' ? 1 : side === 'down' ? -1 : 0
  const since = asOfMs - ALERTING_DEFAULTS.evidenceWindowMs
  const ranked: { h: ScoredHeadline; value: number; strength: number; at: number }[] = []
  for (const h of headlines) {
    const at = Date.parse(h.publishedAt)
    if (!(at <= asOfMs && at >= since)) continue
    const v = headlineValue(h, dimension)
    if (!v) continue
    if (sign !== 0 && v.value * sign <= 0) continue
    ranked.push({
      h,
      value: v.value,
      strength: (sign === 0 ? Math.abs(v.value) : v.value * sign) * v.relevance,
      at,
    })
  }
  ranked.sort(
    (a, b) =>
      (sign === 0 ? b.at - a.at : 0) ||
      b.strength - a.strength ||
      (a.h.id < b.h.id ? -1 : a.h.id > b.h.id ? 1 : 0),
  )
  const top = ranked.slice(0, ALERTING_DEFAULTS.maxEvidence)
  return {
    evidence: top.map((r) => evidenceOf(r.h, dimension, r.value)),
    scorerVersion: top[0]?.h.scorerVersion,
  }
}

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

/** The cue texts of one dimension in a headline's explanation, each once, at most maxCuesPerEvidence. */
function cuesOf(h: ScoredHeadline, dimension: Dimension): string[] {
  const cues: string[] = []
  for (const c of h.explanation) {
    if (c.dimension === dimension && !cues.includes(c.cue)) cues.push(c.cue)
    if (cues.length >= ALERTING_DEFAULTS.maxCuesPerEvidence) break
  }
  return cues
}

/** The evidence entry of one headline: its score on the dimension and that dimension's cue texts. */
export function evidenceOf(h: ScoredHeadline, dimension: Dimension, value: number): AlertEvidence {
  return { headlineId: h.id, headline: h.headline, score: value, cues: cuesOf(h, dimension) }
}

/**
 * What an indicator alert's evidence needs of one headline on one dimension: a compact projection of the
 * ScoredHeadline (no body, no scores or cues of other dimensions), so a memory of recent headlines costs
 * little per entry (a body may be 20,000 characters; this holds the headline text, at most 1,000).
 */
export type EvidenceHeadline = {
  readonly id: string
  readonly headline: string
  readonly publishedAtMs: number
  readonly ingestedAtMs: number
  readonly scorerVersion: string
  /** The headline's value on the dimension, and the weight it carries there (headlineValue). */
  readonly value: number
  readonly relevance: number
  readonly cues: readonly string[]
}

/**
 * The headline as evidence on `dimension`; undefined when it is not about the dimension (tariff and
 * supply chain: no label) or has no readable publication time, so it can never be evidence there.
 */
export function evidenceHeadline(h: ScoredHeadline, dimension: Dimension): EvidenceHeadline | undefined {
  const v = headlineValue(h, dimension)
  const publishedAtMs = Date.parse(h.publishedAt)
  if (!v || !Number.isFinite(publishedAtMs)) return undefined
  return {
    id: h.id,
    headline: h.headline,
    publishedAtMs,
    ingestedAtMs: Date.parse(h.ingestedAt),
    scorerVersion: h.scorerVersion,
    value: v.value,
    relevance: v.relevance,
    cues: cuesOf(h, dimension),
  }
}

/**
 * The top headlines behind an indicator alert (given as evidence on the alert's dimension), published
 * within `evidenceWindowMs` before asOf. For a sentiment alert, those pointing the alert's way, strongest
 * (score × relevance) first; for an activity alert (volume, buzz, count: a burst, whichever way it
 * points), the newest first, then the strongest either way. Ties by id, so the choice does not depend on
 * the order they were given in.
 */
export function topEvidence(
  headlines: readonly EvidenceHeadline[],
  side: AlertSide | 'activity',
  asOfMs: number,
): { evidence: AlertEvidence[]; scorerVersion: string | undefined } {
  const sign = side === 'up' ? 1 : side === 'down' ? -1 : 0
  const since = asOfMs - ALERTING_DEFAULTS.evidenceWindowMs
  const ranked: { h: EvidenceHeadline; strength: number }[] = []
  for (const h of headlines) {
    const at = h.publishedAtMs
    if (!(at <= asOfMs && at >= since)) continue
    if (sign !== 0 && h.value * sign <= 0) continue
    ranked.push({ h, strength: (sign === 0 ? Math.abs(h.value) : h.value * sign) * h.relevance })
  }
  ranked.sort(
    (a, b) =>
      (sign === 0 ? b.h.publishedAtMs - a.h.publishedAtMs : 0) ||
      b.strength - a.strength ||
      (a.h.id < b.h.id ? -1 : a.h.id > b.h.id ? 1 : 0),
  )
  const top = ranked.slice(0, ALERTING_DEFAULTS.maxEvidence)
  return {
    evidence: top.map(({ h }) => ({
      headlineId: h.id,
      headline: h.headline,
      score: h.value,
      cues: [...h.cues],
    })),
    scorerVersion: top[0]?.h.scorerVersion,
  }
}

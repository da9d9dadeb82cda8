import type {
  Dimension,
  Scope,
  ScopeKind,
  ScoredHeadline,
  ScoredIndicatorInput,
  SentimentLabel,
} from '@tradepulse/contracts'

/** What one headline adds to one indicator (one dimension in one scope). */
export type Contribution = {
  dimension: Dimension
  scope: Scope
  headlineId: string
  /** Event time (publishedAt), epoch ms: every indicator is computed by event time. */
  eventMs: number
  /** Sentiment in [-1, 1]; for uncertainty the uncertainty score in [0, 1]. */
  value: number
  /** Relevance for tariff and supply chain; 1 for market and uncertainty. */
  weight: number
  /** Counts towards diffusion: +1 positive, −1 negative, 0 neutral. */
  sign: -1 | 0 | 1
}

const ENTITY_KINDS: readonly [Exclude<ScopeKind, 'global'>, keyof ScoredHeadline['entities']][] = [
  ['region', 'regions'],
  ['commodity', 'commodities'],
  ['sector', 'sectors'],
  ['entity', 'companies'],
]

export const GLOBAL_SCOPE: Scope = { kind: 'global', id: 'all' }

/** The scopes a headline counts in: global plus each distinct entity it mentions. */
export function scopesOf(headline: Pick<ScoredHeadline, 'entities'>): Scope[] {
  const scopes: Scope[] = [GLOBAL_SCOPE]
  for (const [kind, field] of ENTITY_KINDS) {
    for (const id of new Set(headline.entities[field])) if (id.length > 0) scopes.push({ kind, id })
  }
  return scopes
}

function signOf(label: SentimentLabel): -1 | 0 | 1 {
  return label === 'positive' ? 1 : label === 'negative' ? -1 : 0
}

/**
 * Maps one scored headline to its contributions: each relevant dimension × each scope. Tariff and
 * supply chain are skipped when their label is null (the text is not about them).
 */
export function contributionsOf(headline: ScoredIndicatorInput): Contribution[] {
  const eventMs = Date.parse(headline.publishedAt)
  if (!Number.isFinite(eventMs)) return []
  const { scores } = headline
  const values: Omit<Contribution, 'scope' | 'headlineId' | 'eventMs'>[] = []
  for (const dimension of ['tariff', 'supplyChain'] as const) {
    const s = scores[dimension]
    if (s.label === null) continue
    values.push({ dimension, value: s.score, weight: s.relevance, sign: signOf(s.label) })
  }
  values.push({
    dimension: 'market',
    value: scores.market.score,
    weight: 1,
    sign: signOf(scores.market.label),
  })
  // Uncertainty has no direction: "positive" for diffusion means the headline carries uncertainty cues.
  values.push({
    dimension: 'uncertainty',
    value: scores.uncertainty,
    weight: 1,
    sign: scores.uncertainty > 0 ? 1 : 0,
  })

  const out: Contribution[] = []
  for (const scope of scopesOf(headline)) {
    for (const v of values) out.push({ ...v, scope, headlineId: headline.id, eventMs })
  }
  return out
}

/**
 * The furthest from the epoch a JavaScript Date holds, either way (±275760 years). An event time past it
 * was applied, and every read of the indicator (the memory store's and Redis's) then withheld it as
 * `invalid time`: refused at the boundary instead, named, so the aggregator dead-letters its headline.
 */
const DATE_LIMIT_MS = 8_640_000_000_000_000

/**
 * Why a contribution cannot be applied, or undefined when it can. contributionsOf only makes valid
 * ones; stores check at their boundary so a caller's bug fails loudly instead of storing NaN.
 *
 * A weight is a relevance or 1, so in [0, 1], and a value a sentiment or an uncertainty score, so in
 * [-1, 1]: bounded so, an indicator's sums stay within its number of headlines. Finite alone was not
 * enough: two weights (or values) of 1e308 overflowed the sums to Infinity, which the memory store kept
 * (every read then withheld the indicator as invalid_state) while the Redis fast path refused the sums as
 * bad arguments; both stores now refuse such a contribution alike, naming it (assertValidContributions).
 */
export function contributionProblem(c: Contribution): string | undefined {
  if (c.headlineId.length === 0) return 'empty headline id'
  if (!Number.isFinite(c.eventMs)) return `event time ${c.eventMs} is not finite`
  if (Math.abs(c.eventMs) > DATE_LIMIT_MS)
    return `event time ${c.eventMs} is past what a Date holds (±${DATE_LIMIT_MS} ms)`
  // Negated, so that NaN fails too.
  if (!(c.weight >= 0 && c.weight <= 1)) return `weight ${c.weight} is not a number in [0, 1]`
  if (!(c.value >= -1 && c.value <= 1)) return `value ${c.value} is not a number in [-1, 1]`
  if (c.sign !== -1 && c.sign !== 0 && c.sign !== 1) return `sign ${c.sign} is not -1, 0 or 1`
  return undefined
}

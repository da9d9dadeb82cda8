import type { ScoredHeadline, SentimentLabel } from '@tradepulse/contracts'

/** Fixtures shared by the conformance suite and the TypeScript/Lua parity test. Not exported from index. */

export const MIN_MS = 60_000
export const HOUR_MS = 60 * MIN_MS
/** On an hour boundary, so bucket edges are easy to reason about. */
export const T0 = Date.UTC(2025, 3, 2, 10)

export type HeadlineSpec = {
  tariff?: number | null
  relevance?: number
  supplyChain?: number | null
  market?: number
  uncertainty?: number
  regions?: string[]
  commodities?: string[]
  sectors?: string[]
  companies?: string[]
}

const label = (score: number): SentimentLabel =>
  score > 0.1 ? 'positive' : score < -0.1 ? 'negative' : 'neutral'

/** A valid ScoredHeadline with the given scores and entities; a null tariff/supplyChain is "not relevant". */
export function scoredHeadline(id: string, eventMs: number, spec: HeadlineSpec = {}): ScoredHeadline {
  const dim = (score: number | null | undefined) =>
    score === null || score === undefined
      ? { score: 0, relevance: 0, confidence: 0, label: null }
      : { score, relevance: spec.relevance ?? 1, confidence: 0.8, label: label(score) }
  const at = new Date(eventMs).toISOString()
  const market = spec.market ?? 0
  return {
    id,
    source: 'fixture',
    headline: `headline ${id}`,
    publishedAt: at,
    ingestedAt: at,
    truncated: false,
    scores: {
      tariff: dim(spec.tariff),
      supplyChain: dim(spec.supplyChain),
      market: { score: market, label: label(market) },
      uncertainty: spec.uncertainty ?? 0,
    },
    events: [],
    entities: {
      regions: spec.regions ?? [],
      commodities: spec.commodities ?? [],
      sectors: spec.sectors ?? [],
      companies: spec.companies ?? [],
    },
    explanation: [],
    scorerVersion: 'fixture',
    scoredAt: at,
  }
}

/** Deterministic PRNG (mulberry32), so a failing order can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

const pick = <T>(items: readonly T[], random: () => number) => items.filter(() => random() < 0.4)

/** `count` random headlines over `spanMs` from T0, sorted by event time. */
export function randomSeries(count: number, spanMs: number, seed = 7): ScoredHeadline[] {
  const random = seededRandom(seed)
  const round = (x: number) => Math.round(x * 1000) / 1000
  return Array.from({ length: count }, (_, i) =>
    scoredHeadline(`h${i}`, T0 + Math.floor(random() * spanMs), {
      tariff: random() < 0.3 ? null : round(random() * 2 - 1),
      relevance: round(random()),
      supplyChain: random() < 0.5 ? null : round(random() * 2 - 1),
      market: round(random() * 2 - 1),
      uncertainty: random() < 0.5 ? 0 : round(random()),
      regions: pick(['CN', 'US', 'DE', 'JP'], random),
      commodities: pick(['steel', 'chips'], random),
      sectors: pick(['autos'], random),
      companies: pick(['Acme'], random),
    }),
  ).sort((a, b) => Date.parse(a.publishedAt) - Date.parse(b.publishedAt))
}

/** Batches of 1..maxSize in the given order. */
export function inBatches<T>(items: readonly T[], random: () => number, maxSize = 6): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; ) {
    const size = 1 + Math.floor(random() * maxSize)
    out.push(items.slice(i, i + size))
    i += size
  }
  return out
}

/**
 * Shuffles headlines within 4-minute chunks of event time; in batches of at most 6 nothing then
 * arrives more than the 10-minute grace behind the newest headline seen.
 */
export function shuffledWithinGrace(
  series: readonly ScoredHeadline[],
  random: () => number,
): ScoredHeadline[] {
  const chunks = new Map<number, ScoredHeadline[]>()
  for (const h of series) {
    const k = Math.floor(Date.parse(h.publishedAt) / (4 * MIN_MS))
    chunks.set(k, [...(chunks.get(k) ?? []), h])
  }
  return [...chunks.values()].flatMap((chunk) => shuffled(chunk, random))
}

/** |a − b| ≤ 1e-9 relative to the larger magnitude (absolute below 1, where cancellation makes relative meaningless). */
export function closeEnough(a: number, b: number, tolerance = 1e-9): boolean {
  return Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(a), Math.abs(b))
}

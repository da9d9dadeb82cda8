// Builders shared by this package's tests. Not exported from index.
import type {
  Cue,
  IndicatorUpdate,
  Scope,
  ScoredHeadline,
  SentimentLabel,
  TradeEvent,
} from '@tradepulse/contracts'
import { indicatorKey } from '@tradepulse/indicators'
import { parseRules, type RuleSet } from './parse-rules.ts'

export const MIN_MS = 60_000
export const HOUR_MS = 60 * MIN_MS
/** On an hour boundary, so cooldown buckets are easy to reason about. */
export const T0 = Date.UTC(2025, 3, 2, 10)

const label = (score: number): SentimentLabel =>
  score > 0.1 ? 'positive' : score < -0.1 ? 'negative' : 'neutral'

export type HeadlineSpec = {
  text?: string
  tariff?: number | null
  supplyChain?: number | null
  relevance?: number
  confidence?: number
  market?: number
  uncertainty?: number
  regions?: string[]
  commodities?: string[]
  sectors?: string[]
  events?: Partial<TradeEvent>[]
  cues?: Partial<Cue>[]
  publishedMs?: number
  ingestedMs?: number
}

export function scoredHeadline(id: string, spec: HeadlineSpec = {}): ScoredHeadline {
  const dim = (score: number | null | undefined) =>
    score === null || score === undefined
      ? { score: 0, relevance: 0, confidence: 0, label: null }
      : { score, relevance: spec.relevance ?? 0.9, confidence: spec.confidence ?? 0.8, label: label(score) }
  const span = { field: 'headline' as const, start: 0, end: 1 }
  const market = spec.market ?? 0
  return {
    id,
    source: 'fixture',
    headline: spec.text ?? `headline ${id}`,
    publishedAt: new Date(spec.publishedMs ?? T0).toISOString(),
    ingestedAt: new Date(spec.ingestedMs ?? spec.publishedMs ?? T0).toISOString(),
    truncated: false,
    scores: {
      tariff: dim(spec.tariff),
      supplyChain: dim(spec.supplyChain),
      market: { score: market, label: label(market) },
      uncertainty: spec.uncertainty ?? 0,
    },
    events: (spec.events ?? []).map((e) => ({
      type: 'tariff_raised',
      dimension: 'tariff',
      direction: -1,
      threat: false,
      negated: false,
      span,
      ...e,
    })),
    entities: {
      regions: spec.regions ?? [],
      commodities: spec.commodities ?? [],
      sectors: spec.sectors ?? [],
      companies: [],
    },
    explanation: (spec.cues ?? []).map((c) => ({ dimension: 'tariff', cue: 'cue', weight: -1, span, ...c })),
    scorerVersion: 'scorer-test',
    scoredAt: new Date(spec.ingestedMs ?? spec.publishedMs ?? T0).toISOString(),
  }
}

export type UpdateSpec = Partial<Omit<IndicatorUpdate, 'asOf' | 'updatedAt'>> & {
  asOfMs?: number
  updatedMs?: number
}

export function indicatorUpdate(spec: UpdateSpec = {}): IndicatorUpdate {
  const dimension = spec.dimension ?? 'tariff'
  const scope: Scope = spec.scope ?? { kind: 'region', id: 'CN' }
  const asOfMs = spec.asOfMs ?? T0
  return {
    key: indicatorKey(dimension, scope),
    dimension,
    scope,
    asOf: new Date(asOfMs).toISOString(),
    mean: spec.mean ?? { '15m': 0, '1h': 0, '24h': 0 },
    volume: spec.volume ?? { '15m': 10, '1h': 10, '24h': 10 },
    buzz: spec.buzz ?? 0,
    momentum: spec.momentum ?? 0,
    diffusion: spec.diffusion ?? 0,
    count: spec.count ?? 10,
    updatedAt: new Date(spec.updatedMs ?? asOfMs).toISOString(),
  }
}

/** Parses rules given as plain objects (through the JSON path of parseRules); throws when invalid. */
export function rulesOf(...rules: Record<string, unknown>[]): RuleSet {
  const r = parseRules(JSON.stringify({ version: 'test', rules }), 'json')
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return r
}

// The alerter's handler as its tests build it: an in-memory headline memory, a silent log, its own
// metrics registry, and a publish that collects what it is given (or the one passed). Not exported from index.
import type { Desk, RuleSet } from '@tradepulse/alerting'
import type { Alert, IndicatorUpdate, ScoredHeadline, TopicCatalogue } from '@tradepulse/contracts'
import { indicatorKey } from '@tradepulse/indicators'
import { createLogger, type InRecord, type Logger, type OutRecord } from '@tradepulse/platform'
import { Registry } from 'prom-client'
import type { AlertStore, ClaimedAlert } from './alert-store.ts'
import { createAlerterHandler } from './alerter-handler.ts'
import { createAlerterMetrics } from './alerter-metrics.ts'
import { createHeadlineMemory } from './headline-memory.ts'

export function testAlerterHandler(opts: {
  topics: TopicCatalogue
  /** The rules in force, or what gives them at each batch (a reload). */
  rules: RuleSet | (() => RuleSet)
  store: AlertStore
  desks?: readonly Desk[]
  publish?: (records: OutRecord[]) => Promise<void>
  /** The handler's wall clock, when the test fixes it (or moves it). */
  nowMs?: number | (() => number)
  maxEventAgeMs?: number
  /** The hysteresis TTL the handler judges old indicator updates by (off when absent). */
  hysteresisTtlMs?: number
  /** How long lines the rules do not list are kept, in event time (deleted at once when absent). */
  hysteresisPruneGraceMs?: number
  /** The dedup window the handler judges headlines read again by (off when absent). */
  dedupWindowMs?: number
  /** Where it logs (silent when absent). */
  log?: Logger
  /** The handler's slices of work between turns of the event loop, in ms (its default when absent). */
  sliceMs?: number
}) {
  const published: OutRecord[] = []
  const registry = new Registry()
  const handler = createAlerterHandler({
    topics: opts.topics,
    rules: typeof opts.rules === 'function' ? opts.rules : () => opts.rules as RuleSet,
    desks: opts.desks ?? [],
    store: opts.store,
    memory: createHeadlineMemory({ maxScopes: 100, perScope: 5 }),
    publish:
      opts.publish ??
      (async (out) => {
        published.push(...out)
      }),
    log: opts.log ?? createLogger({ level: 'silent' }),
    metrics: createAlerterMetrics(registry),
    ...(opts.nowMs !== undefined
      ? { clock: { now: typeof opts.nowMs === 'function' ? opts.nowMs : () => opts.nowMs as number } }
      : {}),
    ...(opts.maxEventAgeMs !== undefined ? { maxEventAgeMs: opts.maxEventAgeMs } : {}),
    ...(opts.hysteresisTtlMs !== undefined ? { hysteresisTtlMs: opts.hysteresisTtlMs } : {}),
    ...(opts.hysteresisPruneGraceMs !== undefined
      ? { hysteresisPruneGraceMs: opts.hysteresisPruneGraceMs }
      : {}),
    ...(opts.dedupWindowMs !== undefined ? { dedupWindowMs: opts.dedupWindowMs } : {}),
    ...(opts.sliceMs !== undefined ? { sliceMs: opts.sliceMs } : {}),
  })
  return { handler, published, registry }
}

/**
 * The tariff indicator of region CN at `atMin` minutes after `t0`, its mean `mean` on every half-life
 * (a level rule on any of them reads it), 20 headlines behind it.
 */
export function cnTariffUpdate(t0: number, atMin: number, mean: number, updatedMs = t0): IndicatorUpdate {
  const scope = { kind: 'region' as const, id: 'CN' }
  return {
    key: indicatorKey('tariff', scope),
    dimension: 'tariff',
    scope,
    asOf: new Date(t0 + atMin * 60_000).toISOString(),
    mean: { '15m': mean, '1h': mean, '24h': mean },
    volume: { '15m': 5, '1h': 10, '24h': 20 },
    buzz: 0,
    momentum: 0,
    diffusion: 0,
    count: 20,
    updatedAt: new Date(updatedMs).toISOString(),
  }
}

/**
 * Scored headlines as the alerter reads them: records of `topic` (headlines.scored), partition 0, at
 * offsets from `from` on, each stamped `timestampOf(it)` (the clock as the record is made, when absent).
 */
export const scoredRecords = (
  topic: string,
  headlines: readonly ScoredHeadline[],
  from = 0,
  timestampOf: (h: ScoredHeadline) => number = () => Date.now(),
): InRecord[] =>
  headlines.map((h, i) => ({
    topic,
    partition: 0,
    offset: String(from + i),
    key: Buffer.from(h.id),
    value: Buffer.from(JSON.stringify(h)),
    headers: {},
    timestamp: timestampOf(h),
  }))

/** An indicator update as the alerter reads it: a record of `topic` (the indicators topic), partition 0. */
export const indicatorRecord = (
  topic: string,
  u: IndicatorUpdate,
  offset: number,
  timestamp: number,
): InRecord => ({
  topic,
  partition: 0,
  offset: String(offset),
  key: Buffer.from(u.key),
  value: Buffer.from(JSON.stringify(u)),
  headers: {},
  timestamp,
})

/**
 * A scored headline about region CN published at `publishedMs`: about tariffs with score `tariff` (0.9
 * relevant, one cue), or not about them (null: a market headline, `market` its tone).
 */
export function cnHeadline(
  id: string,
  publishedMs: number,
  spec: { tariff: number | null; market?: number; body?: string },
): ScoredHeadline {
  const at = new Date(publishedMs).toISOString()
  const span = { field: 'headline' as const, start: 0, end: 4 }
  const market = spec.market ?? 0
  return {
    id,
    source: 'fixture',
    headline: `China headline ${id}`,
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    publishedAt: at,
    ingestedAt: new Date().toISOString(),
    truncated: false,
    scores: {
      tariff:
        spec.tariff === null
          ? { score: 0, relevance: 0, confidence: 0, label: null }
          : {
              score: spec.tariff,
              relevance: 0.9,
              confidence: 0.8,
              label: spec.tariff < 0 ? 'negative' : 'positive',
            },
      supplyChain: { score: 0, relevance: 0, confidence: 0, label: null },
      market: { score: market, label: market > 0.1 ? 'positive' : market < -0.1 ? 'negative' : 'neutral' },
      uncertainty: 0,
    },
    events: [],
    entities: { regions: ['CN'], commodities: [], sectors: [], companies: [] },
    explanation:
      spec.tariff === null
        ? [{ dimension: 'market', cue: 'stocks rise', weight: 1, span }]
        : [{ dimension: 'tariff', cue: 'raises tariffs', weight: -1, span }],
    scorerVersion: 'scorer-test',
    scoredAt: at,
  }
}

/**
 * The alert the alerter's tests post and claim: rule tariff_down's warning on region CN, id `id`, published,
 * ingested and detected at `atMs`, no evidence; `over` sets any field, or adds one a reader drops.
 */
export function tariffAlert(
  id: string,
  atMs: number,
  over: Partial<Alert> & Record<string, unknown> = {},
): Alert {
  const at = new Date(atMs).toISOString()
  return {
    id,
    rule: 'tariff_down',
    ruleKind: 'headline_shock',
    severity: 'warning',
    dimension: 'tariff',
    scope: { kind: 'region', id: 'CN' },
    direction: 'down',
    value: -0.8,
    threshold: 0.7,
    message: `tariff alert ${id}`,
    evidence: [],
    publishedAt: at,
    ingestedAt: at,
    detectedAt: at,
    latencyMs: 0,
    scorerVersion: 'scorer-test',
    rulesVersion: 'r-1',
    ...over,
  }
}

/**
 * An outbox entry (what an attempt claimed for its record) of a tariff alert on region CN, id `id`, at
 * `eventMs`, an hour's cooldown, the alert (tariffAlert) with one evidence headline; `extra` overrides its fields.
 */
export function claimedAlertFixture(
  id: string,
  eventMs: number,
  extra: Partial<ClaimedAlert> = {},
): ClaimedAlert {
  return {
    stream: 'tariff_down|tariff|region:CN|down',
    eventMs,
    cooldownMs: 3_600_000,
    alert: tariffAlert(id, eventMs, {
      evidence: [
        { headlineId: `h-${id}`, headline: `headline ${id}`, score: -0.8, cues: ['raises tariffs'] },
      ],
      latencyMs: 12,
    }),
    desks: ['cn'],
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    ...extra,
  }
}

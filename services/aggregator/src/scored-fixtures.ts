// Test and benchmark fixtures (`@tradepulse/aggregator/fixtures`): scored headlines with controlled
// event times and entities, deterministic from a seed. Not part of the worker.
import type { ScoredHeadline, SentimentLabel } from '@tradepulse/contracts'
import {
  contributionsOf,
  type IndicatorStore,
  type IndicatorTarget,
  indicatorKey,
  parseIndicatorKey,
} from '@tradepulse/indicators'
import type { InRecord } from '@tradepulse/platform'
import { Kafka, logLevel, type Producer } from 'kafkajs'

export const MIN_MS = 60_000
export const HOUR_MS = 60 * MIN_MS

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

const label = (s: number): SentimentLabel => (s > 0.1 ? 'positive' : s < -0.1 ? 'negative' : 'neutral')
const round3 = (x: number) => Math.round(x * 1000) / 1000

/** `count` scored headlines with event times spread over [startMs, startMs + spanMs), sorted by event time. */
export function scoredSeries(
  count: number,
  options: { startMs: number; spanMs: number; seed?: number; idPrefix?: string },
): ScoredHeadline[] {
  const random = seededRandom(options.seed ?? 7)
  const pick = (items: readonly string[]) => items.filter(() => random() < 0.35)
  return Array.from({ length: count }, (_, i) => {
    const at = new Date(options.startMs + Math.floor(random() * options.spanMs)).toISOString()
    const dim = () => {
      if (random() < 0.4) return { score: 0, relevance: 0, confidence: 0, label: null }
      const score = round3(random() * 2 - 1)
      return { score, relevance: round3(0.2 + random() * 0.8), confidence: 0.8, label: label(score) }
    }
    const market = round3(random() * 2 - 1)
    return {
      id: `${options.idPrefix ?? 'h'}-${i}`,
      source: 'fixture',
      headline: `fixture headline ${i}`,
      publishedAt: at,
      ingestedAt: at,
      truncated: false,
      scores: {
        tariff: dim(),
        supplyChain: dim(),
        market: { score: market, label: label(market) },
        uncertainty: random() < 0.5 ? 0 : round3(random()),
      },
      events: [],
      entities: {
        regions: pick(['CN', 'US', 'DE', 'JP', 'MX']),
        commodities: pick(['steel', 'chips', 'rare earths']),
        sectors: pick(['autos', 'semiconductors']),
        companies: pick(['Acme']),
      },
      explanation: [],
      scorerVersion: 'fixture',
      scoredAt: at,
    } satisfies ScoredHeadline
  }).sort((a, b) => Date.parse(a.publishedAt) - Date.parse(b.publishedAt))
}

/**
 * Scored headlines as the aggregator's input records on `topic`/`partition`: one each, at offsets from 0,
 * keyed and valued as the scorer produces them, no headers, Kafka timestamp `timestamp` (0 by default:
 * no clock reading, so the wall clock is the records' "now").
 */
export function scoredRecords(
  topic: string,
  partition: number,
  headlines: readonly ScoredHeadline[],
  timestamp = 0,
): InRecord[] {
  return headlines.map((h, i) => ({
    topic,
    partition,
    offset: String(i),
    key: Buffer.from(h.id),
    value: Buffer.from(JSON.stringify(h)),
    headers: {},
    timestamp,
  }))
}

export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/**
 * Every headline twice, shuffled within chunks of `chunkMs` of event time (default 4 min, well inside
 * the 10 min grace): whatever the order, nothing arrives more than two chunks behind the newest.
 */
export function doubledAndShuffled(
  series: readonly ScoredHeadline[],
  random: () => number,
  chunkMs = 4 * MIN_MS,
): ScoredHeadline[] {
  const chunks = new Map<number, ScoredHeadline[]>()
  for (const h of series) {
    const k = Math.floor(Date.parse(h.publishedAt) / chunkMs)
    const list = chunks.get(k) ?? []
    if (list.length === 0) chunks.set(k, list)
    list.push(h, h)
  }
  return [...chunks.keys()].sort((a, b) => a - b).flatMap((k) => shuffled(chunks.get(k)!, random))
}

/** Every indicator the headlines touch. */
export function targetsOf(headlines: readonly ScoredHeadline[]): IndicatorTarget[] {
  const keys = new Set<string>()
  for (const h of headlines) for (const c of contributionsOf(h)) keys.add(indicatorKey(c.dimension, c.scope))
  return [...keys].sort().map(parseIndicatorKey)
}

/** |a − b| ≤ tolerance relative to the larger magnitude (absolute below 1). */
export function closeEnough(a: number, b: number, tolerance = 1e-9): boolean {
  return Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(a), Math.abs(b))
}

/**
 * Differences between two stores' indicators at one event time: means and momentum within 1e-9
 * relative, counts, volumes, buzz and diffusion exactly. Empty when they agree. updatedAt (wall clock)
 * is not compared.
 */
export async function compareStores(
  a: IndicatorStore,
  b: IndicatorStore,
  targets: readonly IndicatorTarget[],
  asOfMs: number,
): Promise<string[]> {
  const problems: string[] = []
  for (const { dimension, scope } of targets) {
    const [ra, rb] = await Promise.all([a.get(dimension, scope, asOfMs), b.get(dimension, scope, asOfMs)])
    const what = `${dimension} ${scope.kind}:${scope.id}`
    if (!ra || !rb) {
      if (ra !== rb) problems.push(`${what}: ${ra ? 'missing on the right' : 'missing on the left'}`)
      continue
    }
    for (const [k, v] of Object.entries(ra.mean))
      if (!closeEnough(v, rb.mean[k] ?? Number.NaN)) problems.push(`${what} mean ${k}: ${v} vs ${rb.mean[k]}`)
    if (!closeEnough(ra.momentum, rb.momentum))
      problems.push(`${what} momentum: ${ra.momentum} vs ${rb.momentum}`)
    for (const field of ['count', 'buzz', 'diffusion'] as const)
      if (ra[field] !== rb[field]) problems.push(`${what} ${field}: ${ra[field]} vs ${rb[field]}`)
    if (JSON.stringify(ra.volume) !== JSON.stringify(rb.volume))
      problems.push(`${what} volume: ${JSON.stringify(ra.volume)} vs ${JSON.stringify(rb.volume)}`)
  }
  return problems
}

/** A consumer group's committed offsets and the topic's end offsets, each summed over partitions. */
export async function groupProgress(
  brokers: string[],
  groupId: string,
  topic: string,
): Promise<{ committed: number; end: number; atEnd: boolean }> {
  const admin = new Kafka({ clientId: 'fixtures-progress', brokers, logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const ends = await admin.fetchTopicOffsets(topic)
    const [group] = await admin.fetchOffsets({ groupId, topics: [topic] })
    let committed = 0
    let end = 0
    let atEnd = true
    for (const e of ends) {
      const c = Math.max(0, Number(group?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1))
      committed += c
      end += Number(e.high)
      if (c < Number(e.high)) atEnd = false
    }
    return { committed, end, atEnd }
  } finally {
    await admin.disconnect()
  }
}

/** Produces scored headlines keyed by id, in order, 500 to a request. */
/**
 * Produces headlines in order, `perRequest` (500) a produce request, each to the partition
 * `partitionOf` gives for its index in `headlines` (by default the partitioner's, by key).
 */
export async function produceScored(
  producer: Producer,
  topic: string,
  headlines: readonly ScoredHeadline[],
  options: { perRequest?: number; partitionOf?: (index: number) => number } = {},
) {
  const { perRequest = 500, partitionOf } = options
  for (let i = 0; i < headlines.length; i += perRequest) {
    await producer.send({
      topic,
      messages: headlines.slice(i, i + perRequest).map((h, j) => ({
        key: h.id,
        value: JSON.stringify(h),
        ...(partitionOf ? { partition: partitionOf(i + j) } : {}),
      })),
    })
  }
}

/** The clean in-order run: headlines applied in the order given, `perBatch` at a time. */
export async function applyInOrder(
  store: IndicatorStore,
  headlines: readonly ScoredHeadline[],
  perBatch = 20,
): Promise<{ applied: number; duplicates: number; late: number }> {
  const total = { applied: 0, duplicates: 0, late: 0 }
  for (let i = 0; i < headlines.length; i += perBatch) {
    const r = await store.applyBatch(headlines.slice(i, i + perBatch).flatMap(contributionsOf))
    total.applied += r.applied
    total.duplicates += r.duplicates
    total.late += r.late
  }
  return total
}

/**
 * The stream of a feed whose clock runs ahead (the review of AGGREGATOR_MAX_AHEAD_MS): twelve CN
 * tariff headlines five minutes apart up to a minute boundary 1-2 min ago, and just before the last,
 * another feed's headline (no region, no tariff) stamped six minutes past that. In produce order, with
 * that boundary (`base`).
 */
export function aheadOfClockStream(idPrefix: string): { base: number; headlines: ScoredHeadline[] } {
  const base = Math.floor(Date.now() / MIN_MS) * MIN_MS - MIN_MS
  const at = (h: ScoredHeadline, ms: number, other = false): ScoredHeadline => ({
    ...h,
    publishedAt: new Date(ms).toISOString(),
    ingestedAt: new Date(Math.min(ms, Date.now())).toISOString(),
    scores: {
      ...h.scores,
      tariff: other
        ? { score: 0, relevance: 0, confidence: 0, label: null }
        : { score: -0.8, relevance: 0.9, confidence: 0.8, label: 'negative' },
    },
    entities: { regions: other ? [] : ['CN'], commodities: [], sectors: [], companies: [] },
  })
  const series = scoredSeries(13, { startMs: base, spanMs: 1, seed: 9, idPrefix })
  const cn = series.slice(0, 12).map((h, i) => at(h, base - (11 - i) * 5 * MIN_MS))
  const skewed = at(series[12]!, base + 6 * MIN_MS, true)
  return { base, headlines: [...cn.slice(0, 11), skewed, cn[11]!] }
}

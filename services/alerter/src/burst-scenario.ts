// The scenario of the re-arm tests (rearm-after-silence, rearm-after-key-expiry): a burst of rare-earth
// magnet headlines, scored by the real scorer and applied to the real indicator store as the aggregator
// applies them, its updates read back as the aggregator publishes them, for the alerter's handler or the
// whole alerter on Kafka and Redis.
import { readFileSync } from 'node:fs'
import { parseRules, RULE_FILES, type RuleSet } from '@tradepulse/alerting'
import type { Alert, Headline, IndicatorUpdate, ScoredHeadline, TopicCatalogue } from '@tradepulse/contracts'
import { contributionsOf, type IndicatorStore, indicatorKey, parseIndicatorKey } from '@tradepulse/indicators'
import {
  createLogger,
  createRedisIndicatorStore,
  type InRecord,
  loadConfig,
  type OutRecord,
} from '@tradepulse/platform'
import { scoreHeadline } from '@tradepulse/scorer'
import { createScorer } from '@tradepulse/scoring'
import { collectTopic, randomName, testProducer } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { buildAlerterApp } from './build-app.ts'
import { AlerterConfig } from './config.ts'
import { alerterEnv, alerterTopics } from './kafka-set-up.ts'
import { scenarioDesks } from './scenario-fixtures.ts'

export const MIN = 60_000
export const HOUR = 60 * MIN
export const DAY = 24 * HOUR
export const T0 = Date.parse('2026-03-02T08:00:00Z')
export const BURST = [
  'China halts exports of rare earths and permanent magnets pending new licence rules',
  'Rare earth magnet shortage forces automakers to halt production lines',
  'Magnet shortage halts production at European car plants',
  'Beijing tightens export controls on rare earth magnets',
]
export const MAGNETS = 'supplyChain|commodity:magnets'

const parsed = parseRules(readFileSync(RULE_FILES.defaultRules, 'utf8'), 'yaml')
if (!parsed.ok) throw new Error('the default rules do not parse')
export const defaultRules: RuleSet = parsed
const scorer = createScorer()

/** Headlines of the burst (`texts`, every one by default), five minutes apart from `startMs`, scored. */
export const burst = (tag: string, startMs: number, texts: readonly string[] = BURST): ScoredHeadline[] =>
  texts.map((text, i) => {
    const at = new Date(startMs + i * 5 * MIN)
    const h: Headline = {
      id: `${tag}-${i}`,
      source: 'review',
      headline: text,
      publishedAt: at.toISOString(),
      ingestedAt: at.toISOString(),
      truncated: false,
    }
    return scoreHeadline(scorer, h, at)
  })

/**
 * One aggregator batch: the headlines applied to the store in event-time runs, then every indicator
 * they touched read at the batch's newest event time (the aggregator's watermark), as it publishes.
 */
export async function aggregate(
  store: IndicatorStore,
  headlines: ScoredHeadline[],
): Promise<IndicatorUpdate[]> {
  await store.applyRuns(headlines.map((h) => contributionsOf(h)))
  const keys = [
    ...new Set(headlines.flatMap((h) => contributionsOf(h).map((c) => indicatorKey(c.dimension, c.scope)))),
  ]
  const asOfMs = Math.max(...headlines.map((h) => Date.parse(h.publishedAt)))
  const updates = await Promise.all(
    keys.map((k) => {
      const { dimension, scope } = parseIndicatorKey(k)
      return store.get(dimension, scope, asOfMs)
    }),
  )
  return updates.filter((u): u is IndicatorUpdate => u !== undefined)
}

/** Indicator updates as the alerter's handler reads them off `indicators.v1` (one partition, from `offset`). */
export const indicatorRecords = (
  topics: TopicCatalogue,
  updates: IndicatorUpdate[],
  offset: number,
  timestamp: number,
): InRecord[] =>
  updates.map((u, i) => ({
    topic: topics.indicators.name,
    partition: 0,
    offset: String(offset + i),
    key: Buffer.from(u.key),
    value: Buffer.from(JSON.stringify(u)),
    headers: {},
    timestamp,
  }))

/** `<asOf> <rule> <indicator>` of the alerts on alerts.v1 among `out`. */
export const describeAlerts = (topics: TopicCatalogue, out: OutRecord[]): string[] =>
  out
    .filter((r) => r.topic === topics.alerts.name)
    .map((r) => JSON.parse(r.value as string) as Alert)
    .map((a) => `${a.publishedAt} ${a.rule} ${a.dimension}|${a.scope.kind}:${a.scope.id}`)

/**
 * The whole alerter on Kafka and Redis under a prefix of its own (one partition per topic, so it reads
 * the updates, and the collector the alerts, in order), started and joined; `produce` sends indicator
 * updates as the aggregator does, `onMagnets` the 1h supply-chain tone alerts of magnets seen so far.
 */
export async function startBurstAlerter(kafkaBrokers: string[], redisUrl: string, tag: string) {
  const { prefix, topics } = await alerterTopics(kafkaBrokers, tag)
  const redis = new Redis(redisUrl)
  const indicatorPrefix = randomName(`${tag}-ind`)
  const indicators = createRedisIndicatorStore(redis, { prefix: indicatorPrefix })
  const app = buildAlerterApp(
    loadConfig(
      AlerterConfig,
      alerterEnv({
        kafkaBrokers,
        redisUrl,
        prefix,
        rules: { file: RULE_FILES.defaultRules },
        desks: scenarioDesks(),
        extra: { ALERTER_WEBHOOKS_ENABLED: 'false' },
      }),
    ),
    { log: createLogger({ level: 'silent' }) },
  )
  const alerts = await collectTopic(kafkaBrokers, topics.alerts.name)
  const producer = await testProducer(kafkaBrokers)
  const stop = async () => {
    await app.stop()
    await alerts.stop()
    await producer.disconnect()
    await redis.quit()
  }
  try {
    await app.start()
    await app.runner.joined()
  } catch (err) {
    await stop()
    throw err
  }
  return {
    redis,
    indicators,
    indicatorPrefix,
    stop,
    produce: async (updates: IndicatorUpdate[]) =>
      producer.send({
        topic: topics.indicators.name,
        messages: updates.map((u) => ({ key: u.key, value: JSON.stringify(u) })),
      }),
    onMagnets: () =>
      alerts.messages
        .map((m) => JSON.parse(m.value!.toString()) as Alert)
        .filter((a) => a.rule === 'supply_tone_1h_negative' && a.scope.id === 'magnets'),
  }
}

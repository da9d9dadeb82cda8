// A level rule that fired on one burst of news, when the aggregator's keys of its indicator are gone
// before the next: expired (171 h after their last write) or lost (an eviction, a flush). The aggregator
// starts the indicator again from nothing (its count from 0) while the alerter's hysteresis hash, kept
// longer or written later, still holds the line disarmed. Headlines scored by the real scorer, applied to
// the real Redis indicator store as the aggregator applies them, and the alerter's handler on its Redis
// store, or the whole alerter on Kafka and Redis.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseRules, RULE_FILES, type RuleSet } from '@tradepulse/alerting'
import {
  type Alert,
  createManualClock,
  createTopicCatalogue,
  type Headline,
  type IndicatorUpdate,
  listTopics,
  type ScoredHeadline,
} from '@tradepulse/contracts'
import { contributionsOf, type IndicatorStore, indicatorKey, parseIndicatorKey } from '@tradepulse/indicators'
import {
  createKeys,
  createLogger,
  createRedisIndicatorStore,
  type InRecord,
  loadConfig,
  type OutRecord,
} from '@tradepulse/platform'
import { scoreHeadline } from '@tradepulse/scorer'
import { createScorer } from '@tradepulse/scoring'
import { collectTopic, createTopics, randomName, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createRedisAlertStore } from './alert-store.ts'
import { buildAlerterApp } from './build-app.ts'
import { AlerterConfig } from './config.ts'
import { scenarioDesks } from './scenario-fixtures.ts'
import { testAlerterHandler } from './test-handler.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const T0 = Date.parse('2026-03-02T08:00:00Z')
const BURST = [
  'China halts exports of rare earths and permanent magnets pending new licence rules',
  'Rare earth magnet shortage forces automakers to halt production lines',
  'Magnet shortage halts production at European car plants',
  'Beijing tightens export controls on rare earth magnets',
]
const MAGNETS = 'supplyChain|commodity:magnets'
const TONE = `supply_tone_1h_negative ${MAGNETS}`

const parsed = parseRules(readFileSync(RULE_FILES.defaultRules, 'utf8'), 'yaml')
if (!parsed.ok) throw new Error('the default rules do not parse')
const defaultRules: RuleSet = parsed
const scorer = createScorer()

/** Headlines of the burst (`texts`, every one by default), five minutes apart from `startMs`, scored. */
const burst = (tag: string, startMs: number, texts: readonly string[] = BURST): ScoredHeadline[] =>
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
async function aggregate(store: IndicatorStore, headlines: ScoredHeadline[]): Promise<IndicatorUpdate[]> {
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

/** Every key under `prefix` deleted: the aggregator's keys expired, or evicted, as they are for it. */
async function dropKeys(redis: Redis, prefix: string): Promise<number> {
  const keys = await redis.keys(`${prefix}:*`)
  if (keys.length > 0) await redis.del(...keys)
  return keys.length
}

/** `<rule> <indicator>` of an alert, without its time. */
const stream = (d: string) => d.split(' ').slice(1).join(' ')

describe("an indicator rule whose indicator's keys are gone while its line is disarmed, on Redis", () => {
  const { redisUrl } = testInfra()
  const redis = new Redis(redisUrl)
  afterAll(() => redis.quit())
  const topics = createTopicCatalogue(`${randomName('rearm-expiry')}.`)
  const ctx = { signal: new AbortController().signal }
  /** `<asOf> <rule> <indicator>` of the alerts on alerts.v1 among `out`. */
  const described = (out: OutRecord[]) =>
    out
      .filter((r) => r.topic === topics.alerts.name)
      .map((r) => JSON.parse(r.value as string) as Alert)
      .map((a) => `${a.publishedAt} ${a.rule} ${a.dimension}|${a.scope.kind}:${a.scope.id}`)

  /** The aggregator's store and the alerter's handler on the Redis alert store, fed one batch at a time. */
  function pipeline() {
    const clock = createManualClock(T0)
    const indicatorPrefix = randomName('rearm-expiry-ind')
    const indicators = createRedisIndicatorStore(redis, { prefix: indicatorPrefix, clock })
    const alertPrefix = randomName('rearm-expiry')
    // Kept 30 days: longer than the aggregator's keys, as ALERTER_HYSTERESIS_TTL_MS could be set before
    // 85d4e6d, and as any hash is in effect when the alerter writes it hours after the aggregator's last
    // write (a backlog, a new consumer group reading the compacted topic).
    const store = createRedisAlertStore(redis, {
      prefix: alertPrefix,
      dedupWindowMs: 7 * DAY,
      hysteresisTtlMs: 30 * DAY,
    })
    const { handler, published } = testAlerterHandler({ topics, rules: defaultRules, store })
    let offset = 0
    return {
      published,
      /** The line the alerter keeps for the 1h supply-chain tone of magnets, as stored. */
      toneLine: async () => {
        const hash = await redis.hgetall(createKeys(alertPrefix).alertHysteresis(MAGNETS))
        const field = Object.keys(hash).find((f) => f.includes('supply_tone_1h_negative'))
        return field === undefined ? undefined : JSON.parse(hash[field]!)
      },
      dropIndicators: () => dropKeys(redis, indicatorPrefix),
      feed: async (headlines: ScoredHeadline[]) => {
        clock.set(Date.parse(headlines.at(-1)!.publishedAt))
        const updates = await aggregate(indicators, headlines)
        const records: InRecord[] = updates.map((u) => ({
          topic: topics.indicators.name,
          partition: 0,
          offset: String(offset++),
          key: Buffer.from(u.key),
          value: Buffer.from(JSON.stringify(u)),
          headers: {},
          timestamp: clock.now(),
        }))
        await handler(records, ctx)
      },
    }
  }

  it('pages again on the burst after nine quiet days that outlived the aggregator keys', async () => {
    const p = pipeline()
    for (const h of burst('a', T0)) await p.feed([h])
    const first = described(p.published.splice(0))
    expect(first.map(stream)).toContain(TONE)
    // Nine quiet days: the aggregator's keys (171 h) have expired; the alerter's line is still disarmed.
    expect(await p.dropIndicators()).toBeGreaterThan(0)
    expect(await p.toneLine()).toMatchObject({ armed: false, count: 4 })
    for (const h of burst('b', T0 + 9 * DAY)) await p.feed([h])
    const second = described(p.published)
    // Every alert of the first burst again, the magnets tone among them (before: none of them).
    expect(second.map(stream).sort()).toEqual(first.map(stream).sort())
    expect(second).toContain(`${new Date(T0 + 9 * DAY + 10 * MIN).toISOString()} ${TONE}`)
  })

  it('pages again when the keys were lost during a quiet spell of three hours, the next burst in one batch', async () => {
    const p = pipeline()
    for (const h of burst('a', T0)) await p.feed([h])
    expect(described(p.published.splice(0)).map(stream)).toContain(TONE)
    expect(await p.dropIndicators()).toBeGreaterThan(0)
    // Three headlines in one aggregator batch: count 3 after the line's 4, the 15 min window holding all.
    await p.feed(burst('b', T0 + 3 * HOUR, BURST.slice(0, 3)))
    expect(described(p.published)).toContain(`${new Date(T0 + 3 * HOUR + 10 * MIN).toISOString()} ${TONE}`)
  })

  it('pages once for an episode whose keys were lost in the middle of it', async () => {
    const p = pipeline()
    for (const h of burst('a', T0, BURST.slice(0, 3))) await p.feed([h])
    expect(described(p.published.splice(0)).map(stream)).toContain(TONE)
    expect(await p.dropIndicators()).toBeGreaterThan(0)
    // The episode goes on from nothing, twenty minutes on and then every five minutes for an hour: its
    // first update's 15 min window starts after the last one, yet the tone read there, five minutes on,
    // was still past -0.35, so the line stays disarmed as the new run's mean goes past -0.5 again.
    for (const h of burst('c', T0 + 30 * MIN, [...BURST, ...BURST, ...BURST])) await p.feed([h])
    expect(described(p.published).filter((d) => stream(d) === TONE)).toEqual([])
    const line = await p.toneLine()
    expect(line).toMatchObject({ armed: false })
    expect(line.lastValue).toBeLessThan(-0.5)
  })
})

describe('the alerter on Kafka and Redis, the aggregator keys lost in a quiet spell', () => {
  const { kafkaBrokers, redisUrl } = testInfra()

  it('pages again on the next burst, with the default hysteresis TTL', async () => {
    const prefix = `${randomName('rearm-lost')}.`
    const topics = createTopicCatalogue(prefix)
    // One partition each: the alerter reads the updates, and the collector the alerts, in order.
    await createTopics(kafkaBrokers, [
      ...listTopics(topics).map((t) => ({ name: t.name, partitions: 1 })),
      ...['tariff', 'supply', 'risk'].map((d) => ({ name: topics.deskAlerts(d).name, partitions: 1 })),
    ])
    const redis = new Redis(redisUrl)
    const indicatorPrefix = randomName('rearm-lost-ind')
    const indicators = createRedisIndicatorStore(redis, { prefix: indicatorPrefix })
    const dir = mkdtempSync(join(tmpdir(), 'alerter-rearm-lost-'))
    writeFileSync(join(dir, 'desks.yaml'), scenarioDesks())
    const app = buildAlerterApp(
      loadConfig(AlerterConfig, {
        KAFKA_BROKERS: kafkaBrokers.join(','),
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix.replaceAll('.', '_'),
        TRADEPULSE_TOPIC_PREFIX: prefix,
        HTTP_PORT: '0',
        TOPICS_AUTO_CREATE: 'false',
        ALERTER_RULES_FILE: RULE_FILES.defaultRules,
        ALERTER_DESKS_FILE: join(dir, 'desks.yaml'),
        ALERTER_WEBHOOKS_ENABLED: 'false',
      }),
      { log: createLogger({ level: 'silent' }) },
    )
    const alerts = await collectTopic(kafkaBrokers, topics.alerts.name)
    const producer = await testProducer(kafkaBrokers)
    const produce = async (updates: IndicatorUpdate[]) =>
      producer.send({
        topic: topics.indicators.name,
        messages: updates.map((u) => ({ key: u.key, value: JSON.stringify(u) })),
      })
    const onMagnets = () =>
      alerts.messages
        .map((m) => JSON.parse(m.value!.toString()) as Alert)
        .filter((a) => a.rule === 'supply_tone_1h_negative' && a.scope.id === 'magnets')
    try {
      await app.start()
      await app.runner.joined()
      for (const h of burst('app-a', T0)) await produce(await aggregate(indicators, [h]))
      await waitFor(() => onMagnets().length === 1 || undefined, { what: 'the first burst alert' })
      // Two quiet days in, Redis evicts the aggregator's keys (the alerter's hash is kept): the next
      // burst starts the indicator again from count 0.
      expect(await dropKeys(redis, indicatorPrefix)).toBeGreaterThan(0)
      for (const h of burst('app-b', T0 + 3 * DAY)) await produce(await aggregate(indicators, [h]))
      const again = await waitFor(() => onMagnets()[1], { what: 'the second burst alert' })
      expect(again.publishedAt).toBe(new Date(T0 + 3 * DAY + 10 * MIN).toISOString())
      expect(again.value).toBe(onMagnets()[0]!.value)
    } finally {
      await app.stop()
      await alerts.stop()
      await producer.disconnect()
      await redis.quit()
    }
  })
})

// The review's case end to end: a level rule that fired on one burst of news fires again on the same
// burst after days of silence on its scope. Headlines scored by the real scorer, applied to the real
// Redis indicator store as the aggregator applies them, its updates read back as the aggregator
// publishes them, and the alerter's handler (Redis and memory stores) or the whole alerter on Kafka.
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
import { type AlertStore, createRedisAlertStore } from './alert-store.ts'
import { buildAlerterApp } from './build-app.ts'
import { AlerterConfig } from './config.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'
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

const parsed = parseRules(readFileSync(RULE_FILES.defaultRules, 'utf8'), 'yaml')
if (!parsed.ok) throw new Error('the default rules do not parse')
const defaultRules: RuleSet = parsed
const scorer = createScorer()

/** The burst's headlines, five minutes apart from `startMs`, scored. */
const burst = (tag: string, startMs: number): ScoredHeadline[] =>
  BURST.map((text, i) => {
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

const topics = createTopicCatalogue(`${randomName('rearm')}.`)
const ctx = { signal: new AbortController().signal }
/** `<asOf> <rule> <indicator>` of the alerts on alerts.v1 among `out`. */
const described = (out: OutRecord[]) =>
  out
    .filter((r) => r.topic === topics.alerts.name)
    .map((r) => JSON.parse(r.value as string) as Alert)
    .map((a) => `${a.publishedAt} ${a.rule} ${a.dimension}|${a.scope.kind}:${a.scope.id}`)

describe('an indicator rule across days of silence, on the real indicator store', () => {
  const { redisUrl } = testInfra()
  const redis = new Redis(redisUrl)
  afterAll(() => redis.quit())

  /**
   * Burst 1, three silent days, burst 2, through the alerter's handler over `store`: burst 2 comes
   * headline by headline, or (batched) in one aggregator batch. The alerts of each burst.
   */
  async function run(store: AlertStore, batched: boolean) {
    const clock = createManualClock(T0)
    const indicators = createRedisIndicatorStore(redis, { prefix: randomName('rearm-ind'), clock })
    const { handler, published } = testAlerterHandler({ topics, rules: defaultRules, store })
    let offset = 0
    const feed = async (headlines: ScoredHeadline[]) => {
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
    }
    for (const h of burst('a', T0)) await feed([h])
    const first = described(published.splice(0))
    const second = burst('b', T0 + 3 * DAY)
    if (batched) await feed(second)
    else for (const h of second) await feed([h])
    return { first, second: described(published) }
  }

  const redisStore = () =>
    createRedisAlertStore(redis, {
      prefix: randomName('rearm'),
      dedupWindowMs: 7 * DAY,
      hysteresisTtlMs: 7 * DAY,
    })
  const memoryStore = () => createMemoryAlertStore({ dedupWindowMs: 7 * DAY, clock: createManualClock(T0) })
  /** An alert's description three days later. */
  const threeDaysOn = (d: string) => {
    const [at, ...rest] = d.split(' ')
    return [new Date(Date.parse(at!) + 3 * DAY).toISOString(), ...rest].join(' ')
  }

  it.each([
    ['Redis', redisStore],
    ['memory', memoryStore],
  ])('%s: the second burst raises the alerts the first did, three days on', async (_, open) => {
    const { first, second } = await run(open(), false)
    expect(first.filter((d) => d.endsWith(` supply_tone_1h_negative ${MAGNETS}`))).toHaveLength(1)
    expect(second).toEqual(first.map(threeDaysOn))
  })

  it.each([
    ['Redis', redisStore],
    ['memory', memoryStore],
  ])(
    '%s: a second burst in one aggregator batch (past the line on its first update) alerts too',
    async (_, open) => {
      const { first, second } = await run(open(), true)
      // The batch's one update per indicator, at its newest headline: the same rules and indicators.
      const last = new Date(T0 + 3 * DAY + 15 * MIN).toISOString()
      expect([...second].sort()).toEqual(
        [...new Set(first.map((d) => `${last} ${d.split(' ').slice(1).join(' ')}`))].sort(),
      )
      expect(second).toContain(`${last} supply_tone_1h_negative ${MAGNETS}`)
    },
  )
})

describe('the alerter on Kafka and Redis across days of silence', () => {
  const { kafkaBrokers, redisUrl } = testInfra()

  it('pages again on the next burst after three silent days', async () => {
    const prefix = `${randomName('rearm-app')}.`
    const topics = createTopicCatalogue(prefix)
    // One partition each: the alerter reads the updates, and the collector the alerts, in order.
    await createTopics(kafkaBrokers, [
      ...listTopics(topics).map((t) => ({ name: t.name, partitions: 1 })),
      ...['tariff', 'supply', 'risk'].map((d) => ({ name: topics.deskAlerts(d).name, partitions: 1 })),
    ])
    const redis = new Redis(redisUrl)
    const indicators = createRedisIndicatorStore(redis, { prefix: randomName('rearm-app-ind') })
    const dir = mkdtempSync(join(tmpdir(), 'alerter-rearm-'))
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
    const seen = () => alerts.messages.map((m) => JSON.parse(m.value!.toString()) as Alert)
    const onMagnets = () =>
      seen().filter((a) => a.rule === 'supply_tone_1h_negative' && a.scope.id === 'magnets')
    try {
      await app.start()
      await app.runner.joined()
      for (const h of burst('app-a', T0)) await produce(await aggregate(indicators, [h]))
      await waitFor(() => onMagnets().length === 1 || undefined, { what: 'the first burst alert' })
      for (const h of burst('app-b', T0 + 3 * DAY)) await produce(await aggregate(indicators, [h]))
      const again = await waitFor(() => onMagnets()[1], { what: 'the second burst alert' })
      expect(again.publishedAt).toBe(new Date(T0 + 3 * DAY + 10 * MIN).toISOString())
      expect(again.value).toBe(onMagnets()[0]!.value)
      expect(again.id).not.toBe(onMagnets()[0]!.id)
    } finally {
      await app.stop()
      await alerts.stop()
      await producer.disconnect()
      await redis.quit()
    }
  })
})

import { parseRules, type RuleSet } from '@tradepulse/alerting'
import { type Alert, createTopicCatalogue, type ScoredHeadline } from '@tradepulse/contracts'
import { type InRecord, produceAll, TradepulseError } from '@tradepulse/platform'
import { collectTopic, createTopics, randomName, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import type { Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisAlertStore } from './alert-store.ts'
import { testAlerterHandler } from './test-handler.ts'

const MIN = 60_000
const DAY = 1_440 * MIN
const T0 = Date.parse('2026-03-02T08:00:00Z')
const ctx = { signal: new AbortController().signal }

/** One headline rule on CN tariffs, its threshold as given, an hour's cooldown (and id bucket). */
function tariffRule(threshold: number): RuleSet {
  const parsed = parseRules(
    `version: r-${threshold}
rules:
  - id: tariff_down
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:CN]
    direction: down
    threshold: ${threshold}
    minRelevance: 0.5
    severity: warning
    cooldownMs: 3600000
`,
    'yaml',
  )
  if (!parsed.ok) throw new Error('rules do not parse')
  return parsed
}

/** A scored headline about CN with the given tariff score, published `atMin` minutes after T0. */
function headline(id: string, atMin: number, tariff: number): ScoredHeadline {
  const at = new Date(T0 + atMin * MIN).toISOString()
  return {
    id,
    source: 'fixture',
    headline: `US tariffs on China, headline ${id}`,
    publishedAt: at,
    ingestedAt: new Date().toISOString(),
    truncated: false,
    scores: {
      tariff: { score: tariff, relevance: 0.9, confidence: 0.8, label: 'negative' },
      supplyChain: { score: 0, relevance: 0, confidence: 0, label: null },
      market: { score: 0, label: 'neutral' },
      uncertainty: 0,
    },
    events: [],
    entities: { regions: ['CN'], commodities: [], sectors: [], companies: [] },
    explanation: [],
    scorerVersion: 'scorer-test',
    scoredAt: at,
  }
}

describe('alerter: a batch retried after a Kafka fault, on Kafka and Redis', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  let redis: Redis
  let producer: Producer
  beforeAll(async () => {
    redis = new Redis(redisUrl)
    producer = await testProducer(kafkaBrokers)
  })
  afterAll(async () => {
    await producer.disconnect()
    await redis.quit()
  })
  const redisStore = () =>
    createRedisAlertStore(redis, {
      prefix: randomName('alerts'),
      dedupWindowMs: 7 * DAY,
      hysteresisTtlMs: 7 * DAY,
    })
  /** Publishes to Kafka, but the first call fails as Kafka down would. */
  const failingOnce = () => {
    let faults = 1
    return async (out: Parameters<typeof produceAll>[1]) => {
      if (faults-- > 0) throw new TradepulseError('INFRA_KAFKA', 'KafkaJSConnectionError: Connection timeout')
      await produceAll(producer, out)
    }
  }

  it('sends the alert the failed attempt claimed, by the rules it claimed under, though the rules were reloaded before the retry, and decides later batches by the new rules', async () => {
    const topics = createTopicCatalogue(`${randomName('reload')}.`)
    await createTopics(kafkaBrokers, [{ name: topics.alerts.name }])
    const alerts = await collectTopic(kafkaBrokers, topics.alerts.name)
    try {
      let rules = tariffRule(0.7)
      const { handler } = testAlerterHandler({
        topics,
        rules: () => rules,
        store: redisStore(),
        publish: failingOnce(),
      })
      let offset = 0
      const record = (h: ScoredHeadline): InRecord => ({
        topic: topics.scored.name,
        partition: 0,
        offset: String(offset++),
        key: Buffer.from(h.id),
        value: Buffer.from(JSON.stringify(h)),
        headers: {},
        timestamp: Date.now(),
      })

      const a = record(headline('a', 1, -0.8))
      await expect(handler([a], ctx)).rejects.toThrow('Connection timeout') // claimed, not published
      rules = tariffRule(0.95) // the rules file reloaded before the runner's retry
      await handler([a], ctx) // the retry: a's claim is published, by the rules that claimed it
      await handler([record(headline('b', 20, -0.97))], ctx) // a's alert id (same hour): a duplicate
      await handler([record(headline('c', 180, -0.9))], ctx) // past 0.7, not past 0.95: nothing
      await handler([record(headline('d', 300, -0.97))], ctx) // past 0.95 and a's cooldown: fires

      const sent = () =>
        alerts.messages
          .map((m) => JSON.parse(m.value!.toString()) as Alert)
          .map((x) => `${x.evidence[0]?.headlineId} ${x.rulesVersion.split('+')[0]}`)
      // One partition: once d's alert is read, everything published before it is too.
      await waitFor(() => sent().some((s) => s.startsWith('d ')), { what: "d's alert on alerts.v1" })
      expect(sent()).toEqual(['a r-0.7', 'd r-0.95'])
    } finally {
      await alerts.stop()
    }
  })
  it('counts each alert once in tradepulse_alerts_total when its batch is retried after a Kafka fault', async () => {
    const topics = createTopicCatalogue(`${randomName('count')}.`)
    await createTopics(kafkaBrokers, [{ name: topics.alerts.name }])
    const alerts = await collectTopic(kafkaBrokers, topics.alerts.name)
    try {
      const { handler, registry } = testAlerterHandler({
        topics,
        rules: tariffRule(0.7),
        store: redisStore(),
        publish: failingOnce(),
      })
      // Three headlines past the line, each in its own hour: three alerts.
      const batch = [0, 1, 2].map(
        (i): InRecord => ({
          topic: topics.scored.name,
          partition: 0,
          offset: String(i),
          key: Buffer.from(`h${i}`),
          value: Buffer.from(JSON.stringify(headline(`h${i}`, 90 * i, -0.8))),
          headers: {},
          timestamp: Date.now(),
        }),
      )
      await expect(handler(batch, ctx)).rejects.toThrow('Connection timeout')
      await handler(batch, ctx) // the runner's retry
      await handler(batch, ctx) // a redelivery: all sent
      // A marker after them on the one partition: once it is read, every alert published before it is.
      await producer.send({ topic: topics.alerts.name, messages: [{ key: 'end', value: '{}' }] })
      await waitFor(() => alerts.messages.some((m) => m.key === 'end'), { what: 'the marker on alerts.v1' })
      const ids = alerts.messages.filter((m) => m.key !== 'end').map((m) => m.headers.ce_id)
      expect(ids).toHaveLength(3)
      expect(new Set(ids).size).toBe(3)
      const counted = (await registry.getMetricsAsJSON())
        .find((m) => m.name === 'tradepulse_alerts_total')!
        .values.reduce((n, v) => n + v.value, 0)
      expect(counted).toBe(3)
    } finally {
      await alerts.stop()
    }
  })
})

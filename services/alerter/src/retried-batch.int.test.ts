import { type Desk, parseDesks, parseRules, type RuleSet } from '@tradepulse/alerting'
import {
  type Alert,
  createTopicCatalogue,
  type ScoredHeadline,
  type TopicCatalogue,
} from '@tradepulse/contracts'
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

/** Records of headlines.scored, one partition, each at the next offset. */
function scoredRecords(topics: TopicCatalogue) {
  let offset = 0
  return (h: ScoredHeadline): InRecord => ({
    topic: topics.scored.name,
    partition: 0,
    offset: String(offset++),
    key: Buffer.from(h.id),
    value: Buffer.from(JSON.stringify(h)),
    headers: {},
    timestamp: Date.now(),
  })
}

/** One desk watching region CN, paged from `minSeverity` up. */
function cnDesk(minSeverity: 'info' | 'critical' = 'info'): Desk[] {
  const parsed = parseDesks(
    `version: 1\ndesks:\n  - id: cn\n    scopes: [region:CN]\n    minSeverity: ${minSeverity}\n`,
    'yaml',
  )
  if (!parsed.ok) throw new Error('desks do not parse')
  return parsed.desks
}

/** "<headline of its first evidence> <rules version>" of each alert collected, in order. */
const sentOf = (messages: { value: Buffer | null }[]) =>
  messages
    .map((m) => JSON.parse(m.value!.toString()) as Alert)
    .map((x) => `${x.evidence[0]?.headlineId} ${x.rulesVersion.split('+')[0]}`)

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
      const record = scoredRecords(topics)
      const a = record(headline('a', 1, -0.8))
      await expect(handler([a], ctx)).rejects.toThrow('Connection timeout') // claimed, not published
      rules = tariffRule(0.95) // the rules file reloaded before the runner's retry
      await handler([a], ctx) // the retry: a's claim is published, by the rules that claimed it
      await handler([record(headline('b', 20, -0.97))], ctx) // a's alert id (same hour): a duplicate
      await handler([record(headline('c', 180, -0.9))], ctx) // past 0.7, not past 0.95: nothing
      await handler([record(headline('d', 300, -0.97))], ctx) // past 0.95 and a's cooldown: fires

      const sent = () => sentOf(alerts.messages)
      // One partition: once d's alert is read, everything published before it is too.
      await waitFor(() => sent().some((s) => s.startsWith('d ')), { what: "d's alert on alerts.v1" })
      expect(sent()).toEqual(['a r-0.7', 'd r-0.95'])
    } finally {
      await alerts.stop()
    }
  })
  it('sends the alert a failed attempt claimed, exactly once and with its desk copy, from another process whose rules would not raise it', async () => {
    const topics = createTopicCatalogue(`${randomName('handover')}.`)
    const deskTopic = topics.deskAlerts('cn').name
    await createTopics(kafkaBrokers, [{ name: topics.alerts.name }, { name: deskTopic }])
    const alerts = await collectTopic(kafkaBrokers, topics.alerts.name)
    const desk = await collectTopic(kafkaBrokers, deskTopic)
    // Two processes: each its own Redis connection, over the same keys.
    const prefix = randomName('alerts')
    const [redisA, redisB] = [new Redis(redisUrl), new Redis(redisUrl)]
    const storeOver = (r: Redis) =>
      createRedisAlertStore(r, { prefix, dedupWindowMs: 7 * DAY, hysteresisTtlMs: 7 * DAY })
    try {
      // Process A: rules at 0.7, the CN desk; its publish fails (Kafka down), then it is gone (a crash,
      // or its partition given to B at a rebalance): its claim is never confirmed, nor retried there.
      const a = testAlerterHandler({
        topics,
        rules: tariffRule(0.7),
        desks: cnDesk(),
        store: storeOver(redisA),
        publish: async () => {
          throw new TradepulseError('INFRA_KAFKA', 'KafkaJSConnectionError: Connection timeout')
        },
      })
      // Process B: the rules file reloaded meanwhile (0.95: 'a' raises nothing), and the desks file (the
      // CN desk paged for critical alerts only).
      const b = testAlerterHandler({
        topics,
        rules: tariffRule(0.95),
        desks: cnDesk('critical'),
        store: storeOver(redisB),
        publish: (out) => produceAll(producer, out),
      })
      const record = scoredRecords(topics)
      const first = [record(headline('a', 1, -0.8))]
      await expect(a.handler(first, ctx)).rejects.toThrow('Connection timeout') // claimed, not published
      await b.handler(first, ctx) // the records redelivered to B: a's claim published, as A decided it
      await b.handler(first, ctx) // again (B's offset commit lost): sent already, nothing
      await b.handler([record(headline('b', 20, -0.97))], ctx) // a's alert id (same hour): a duplicate
      await b.handler([record(headline('c', 180, -0.9))], ctx) // past 0.7, not past 0.95: nothing
      await b.handler([record(headline('d', 300, -0.97))], ctx) // past 0.95 and a's cooldown: fires

      // One partition each: once d's alert (or the marker) is read, everything published before it is.
      await waitFor(() => sentOf(alerts.messages).some((s) => s.startsWith('d ')), {
        what: "d's alert on alerts.v1",
      })
      expect(sentOf(alerts.messages)).toEqual(['a r-0.7', 'd r-0.95'])
      await producer.send({ topic: deskTopic, messages: [{ key: 'end', value: '{}' }] })
      await waitFor(() => desk.messages.some((m) => m.key === 'end'), {
        what: 'the marker on the desk topic',
      })
      // A routed a's alert (a warning) to the CN desk: its copy goes there, as A decided; d's does not.
      expect(sentOf(desk.messages.filter((m) => m.key !== 'end'))).toEqual(['a r-0.7'])
      expect(desk.messages[0]!.headers.ce_id).toBe(alerts.messages[0]!.headers.ce_id)
    } finally {
      await Promise.all([alerts.stop(), desk.stop(), redisA.quit(), redisB.quit()])
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

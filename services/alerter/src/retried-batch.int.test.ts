import { type Desk, parseDesks, parseRules, type RuleSet } from '@tradepulse/alerting'
import type { Alert, ScoredHeadline, TopicCatalogue } from '@tradepulse/contracts'
import { type InRecord, type Outcome, produceAll, TradepulseError } from '@tradepulse/platform'
import { randomName, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import type { Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisAlertStore } from './alert-store.ts'
import { collectedTopics } from './kafka-set-up.ts'
import { testAlerterHandler } from './test-handler.ts'

const MIN = 60_000
const DAY = 1_440 * MIN
const T0 = Date.parse('2026-03-02T08:00:00Z')
const ctx = { signal: new AbortController().signal }

/**
 * One headline rule on CN tariffs, its threshold as given, an hour's cooldown (and id bucket) unless
 * given; its version names both ("r-0.7", "r-0.7-120m").
 */
function tariffRule(threshold: number, cooldownMs = 60 * MIN): RuleSet {
  const parsed = parseRules(
    `version: r-${threshold}${cooldownMs === 60 * MIN ? '' : `-${cooldownMs / MIN}m`}
rules:
  - id: tariff_down
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:CN]
    direction: down
    threshold: ${threshold}
    minRelevance: 0.5
    severity: warning
    cooldownMs: ${cooldownMs}
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
    const {
      topics,
      collected: [alerts],
      stop,
    } = await collectedTopics(kafkaBrokers, 'reload', (t) => [t.alerts])
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
      await stop()
    }
  })
  it('sends the alert a failed attempt claimed, exactly once and with its desk copy, from another process whose rules would not raise it', async () => {
    const {
      topics,
      collected: [alerts, desk],
      stop,
    } = await collectedTopics(kafkaBrokers, 'handover', (t) => [t.alerts, t.deskAlerts('cn')])
    const deskTopic = topics.deskAlerts('cn').name
    // Two processes: each its own Redis connection, over the same keys.
    const prefix = randomName('alerts')
    const [redisA, redisB] = [new Redis(redisUrl), new Redis(redisUrl)]
    try {
      // Process A: rules at 0.7, the CN desk; its publish fails (Kafka down), then it is gone (a crash,
      // or its partition given to B at a rebalance): its claim is never confirmed, nor retried there.
      const a = testAlerterHandler({
        topics,
        rules: tariffRule(0.7),
        desks: cnDesk(),
        store: storeOver(redisA, prefix),
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
        store: storeOver(redisB, prefix),
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
      await Promise.all([stop(), redisA.quit(), redisB.quit()])
    }
  })
  /** An alert store over its own connection to Redis (one process's), under `prefix`. */
  const storeOver = (r: Redis, prefix: string) =>
    createRedisAlertStore(r, { prefix, dedupWindowMs: 7 * DAY, hysteresisTtlMs: 7 * DAY })
  /** The same, whose claims fail (Redis timing out). */
  const claimFailingOver = (r: Redis, prefix: string) => ({
    ...storeOver(r, prefix),
    async claim(): Promise<never> {
      throw new TradepulseError('INFRA_REDIS', 'Command timed out')
    },
  })

  it('does not send an alert held for a record whose claim never ran, when the process retrying the record no longer raises it', async () => {
    const {
      topics,
      collected: [alerts],
      stop,
    } = await collectedTopics(kafkaBrokers, 'unclaimed', (t) => [t.alerts])
    const prefix = randomName('alerts')
    const [redisA, redisB] = [new Redis(redisUrl), new Redis(redisUrl)]
    try {
      // Process A (line at 0.7) holds a's alert in the record's outbox entry, then its claim fails, and A is
      // gone (a crash, a rebalance) before retrying: nothing was claimed, nothing sent.
      const a = testAlerterHandler({
        topics,
        rules: tariffRule(0.7),
        store: claimFailingOver(redisA, prefix),
      })
      // Process B, the rules reloaded meanwhile (0.95): 'a' raises nothing there.
      const b = testAlerterHandler({
        topics,
        rules: tariffRule(0.95),
        store: storeOver(redisB, prefix),
        publish: (out) => produceAll(producer, out),
      })
      const record = scoredRecords(topics)
      const first = [record(headline('a', 1, -0.8))]
      await expect(a.handler(first, ctx)).rejects.toThrow('Command timed out') // held, never claimed
      await b.handler(first, ctx) // decided by B's rules: nothing
      await b.handler([record(headline('b', 20, -0.97))], ctx) // a's alert id (same hour), free: fires
      await waitFor(() => sentOf(alerts.messages).some((s) => s.startsWith('b ')), {
        what: "b's alert on alerts.v1",
      })
      expect(sentOf(alerts.messages)).toEqual(['b r-0.95'])
    } finally {
      await Promise.all([stop(), redisA.quit(), redisB.quit()])
    }
  })

  it("claims in place of an alert held and never claimed the retry's own alert of that event, held so that a later retry sends it", async () => {
    const {
      topics,
      collected: [alerts],
      stop,
    } = await collectedTopics(kafkaBrokers, 'instead', (t) => [t.alerts])
    const prefix = randomName('alerts')
    const [redisA, redisB, redisC] = [new Redis(redisUrl), new Redis(redisUrl), new Redis(redisUrl)]
    try {
      // A holds a's alert (an hour's cooldown) and its claim fails; A is gone.
      const a = testAlerterHandler({
        topics,
        rules: tariffRule(0.7),
        store: claimFailingOver(redisA, prefix),
      })
      // B raises a's event too, under another id (a two hours' cooldown: another time bucket); it claims
      // that alert, its publish fails (Kafka down), and B is gone too.
      const b = testAlerterHandler({
        topics,
        rules: tariffRule(0.7, 120 * MIN),
        store: storeOver(redisB, prefix),
        publish: async () => {
          throw new TradepulseError('INFRA_KAFKA', 'KafkaJSConnectionError: Connection timeout')
        },
      })
      // C's rules (0.95) raise nothing for 'a': what goes out is the alert B claimed, from its entry.
      const c = testAlerterHandler({
        topics,
        rules: tariffRule(0.95),
        store: storeOver(redisC, prefix),
        publish: (out) => produceAll(producer, out),
      })
      const record = scoredRecords(topics)
      const first = [record(headline('a', 1, -0.8))]
      await expect(a.handler(first, ctx)).rejects.toThrow('Command timed out')
      await expect(b.handler(first, ctx)).rejects.toThrow('Connection timeout')
      await c.handler(first, ctx)
      await c.handler([record(headline('d', 300, -0.97))], ctx) // past every cooldown: fires
      await waitFor(() => sentOf(alerts.messages).some((s) => s.startsWith('d ')), {
        what: "d's alert on alerts.v1",
      })
      expect(sentOf(alerts.messages)).toEqual(['a r-0.7-120m', 'd r-0.95'])
    } finally {
      await Promise.all([stop(), redisA.quit(), redisB.quit(), redisC.quit()])
    }
  })

  it('counts each alert once in tradepulse_alerts_total when its batch is retried after a Kafka fault', async () => {
    const {
      topics,
      collected: [alerts],
      stop,
    } = await collectedTopics(kafkaBrokers, 'count', (t) => [t.alerts])
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
      await stop()
    }
  })
})

describe('alerter: an alert Kafka refuses for good, on Kafka and Redis', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  let redis: Redis
  beforeAll(() => {
    redis = new Redis(redisUrl)
  })
  afterAll(() => redis.quit())

  it('dead-letters the record of an alert too large for alerts.v1 and releases its claim: its id and stream are free for the next alert; the rest of the batch goes out', async () => {
    // An alert of a short headline is about 1 KB on the wire, one of a 900-character headline about 2 KB.
    const {
      topics,
      collected: [alerts],
      stop,
    } = await collectedTopics(kafkaBrokers, 'refused', (t) => [
      { name: t.alerts.name, config: { 'max.message.bytes': '1600' } },
    ])
    const producer = await testProducer(kafkaBrokers)
    try {
      const { handler } = testAlerterHandler({
        topics,
        rules: tariffRule(0.7),
        store: createRedisAlertStore(redis, {
          prefix: randomName('alerts'),
          dedupWindowMs: 7 * DAY,
          hysteresisTtlMs: 7 * DAY,
        }),
        publish: (out) => produceAll(producer, out),
      })
      const record = scoredRecords(topics)
      const large = (id: string, atMin: number) => ({
        ...headline(id, atMin, -0.8),
        headline: 'x'.repeat(900),
      })
      const outcomes = (list: Outcome[]) => list.map((o) => (o.kind === 'dlq' ? `dlq ${o.reason}` : o.kind))

      expect(outcomes(await handler([record(large('a', 1))], ctx))).toEqual(['dlq output_refused'])
      // a's alert id (same hour), 29 min after it: a's claim released, so it fires.
      expect(outcomes(await handler([record(headline('b', 30, -0.8))], ctx))).toEqual(['ok'])
      await handler([record(headline('c', 80, -0.8))], ctx) // 50 min after b: held back
      // A batch whose alerts go out in one request, refused as a whole (two alerts are over the limit):
      // each is sent alone, the large one refused, the others sent.
      const batch = [headline('d', 200, -0.8), large('e', 300), headline('f', 400, -0.8)].map(record)
      expect(outcomes(await handler(batch, ctx))).toEqual(['ok', 'dlq output_refused', 'ok'])
      await handler([record(headline('g', 320, -0.8))], ctx) // 20 min after e, refused: fires

      await producer.send({ topic: topics.alerts.name, messages: [{ key: 'end', value: '{}' }] })
      await waitFor(() => alerts.messages.some((m) => m.key === 'end'), { what: 'the marker on alerts.v1' })
      expect(sentOf(alerts.messages.filter((m) => m.key !== 'end'))).toEqual([
        'b r-0.7',
        'd r-0.7',
        'f r-0.7',
        'g r-0.7',
      ])
    } finally {
      await Promise.all([stop(), producer.disconnect()])
    }
  })
})

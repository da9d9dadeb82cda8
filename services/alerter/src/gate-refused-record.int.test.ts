import { parseRules } from '@tradepulse/alerting'
import type { Alert, ScoredHeadline } from '@tradepulse/contracts'
import {
  createBatchStages,
  createKeys,
  createLogger,
  createMetrics,
  DLQ_HEADERS,
  type InRecord,
  indicatorAsOfMs,
  produceAll,
  publishedAtMs,
} from '@tradepulse/platform'
import { randomName, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createRedisAlertStore } from './alert-store.ts'
import { gateInEventTime } from './event-time-gate.ts'
import { collectedTopics } from './kafka-set-up.ts'
import { cnLevelRule } from './scenario-fixtures.ts'
import { cnHeadline, cnTariffUpdate, testAlerterHandler } from './test-handler.ts'

const MIN = 60_000
const DAY = 1_440 * MIN
const T0 = Date.parse('2026-03-02T08:00:00Z')

const RULES = `version: r-1
rules:
  - id: tariff_down
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:CN, region:US]
    direction: down
    threshold: 0.7
    minRelevance: 0.5
    severity: warning
    cooldownMs: ${60 * MIN}
${cnLevelRule(60 * MIN)}`

/** A scored headline about `region` (CN or US) with tariff score -0.9, published `atMin` after T0. */
const shock = (id: string, region: string, atMin: number): ScoredHeadline => {
  const h = cnHeadline(id, T0 + atMin * MIN, { tariff: -0.9 })
  return { ...h, entities: { ...h.entities, regions: [region] } }
}

/**
 * The alerter's handler behind its event-time gate and the runner's batch stages (one for every partition,
 * as the runner has, so one reply breaker), over a real Redis where the hysteresis hash of region CN's
 * tariff indicator holds the wrong type: Redis refuses every read of it (WRONGTYPE) for good. Three
 * partitions handled at once, as one fetch hands them out: the indicator update of that key (indicators/0)
 * and two headlines 30 minutes newer (headlines.scored/1 and /2), which wait in the gate for it. Before,
 * the round holding the update alone failed every submission waiting: each headline, a chunk of one, was
 * dead-lettered with the update's WRONGTYPE and its alert lost, and with REDIS_REPLY_FAILURES_MAX at 3
 * the third failure in a row on that key stopped the alerter (RepeatedReplyError, exit 69).
 */
describe('alerter on Redis and Kafka: a record Redis refuses for good, handled at once with other partitions', () => {
  const { kafkaBrokers, redisUrl } = testInfra()

  it("dead-letters that record alone; the other partitions' headlines waiting in the gate raise their alerts", async () => {
    const {
      topics,
      collected: [alerts, dlq],
      stop,
    } = await collectedTopics(kafkaBrokers, 'refused', (t) => [t.alerts, t.dlq])
    const redis = new Redis(redisUrl)
    const producer = await testProducer(kafkaBrokers)
    try {
      const prefix = randomName('alerts')
      const rules = parseRules(RULES, 'yaml')
      if (!rules.ok) throw new Error('rules do not parse')
      const update = cnTariffUpdate(T0, 0, -0.6)
      await redis.set(createKeys(prefix).alertHysteresis(update.key), 'not a hash')
      const { handler } = testAlerterHandler({
        topics,
        rules,
        store: createRedisAlertStore(redis, { prefix, dedupWindowMs: 7 * DAY, hysteresisTtlMs: 7 * DAY }),
        nowMs: T0 + 40 * MIN,
        publish: (out) => produceAll(producer, out),
      })
      const eventMs = (r: InRecord) =>
        r.topic === topics.indicators.name ? indicatorAsOfMs(r.value) : publishedAtMs(r.value)
      const stages = createBatchStages({
        handler: gateInEventTime(handler, { aheadMs: MIN, eventMs }),
        worker: 'alerter',
        dlqTopic: topics.dlq.name,
        log: createLogger({ level: 'silent' }),
        metrics: createMetrics('alerter', new Registry()),
        signal: new AbortController().signal,
        produce: (out) => produceAll(producer, out),
        replyFailuresMax: 3,
      })
      const rec = (topic: string, partition: number, value: unknown): InRecord => ({
        topic,
        partition,
        offset: '0',
        key: null,
        value: Buffer.from(JSON.stringify(value)),
        headers: {},
        timestamp: T0 + 40 * MIN,
      })

      const prepared = await Promise.allSettled([
        stages.prepare([rec(topics.indicators.name, 0, update)]),
        stages.prepare([rec(topics.scored.name, 1, shock('h-cn', 'CN', 30))]),
        stages.prepare([rec(topics.scored.name, 2, shock('h-us', 'US', 31))]),
      ])
      // None stops the alerter (before, the third was a RepeatedReplyError).
      const batches = prepared.map((p) => {
        if (p.status === 'rejected') throw p.reason
        return p.value
      })
      expect(batches.map((b) => b.outcomes.map((o) => o.kind))).toEqual([['dlq'], ['ok'], ['ok']])
      for (const b of batches) await stages.publish(b)

      // Each topic has one partition: once the end marker is read, everything before it is too.
      await producer.send({ topic: topics.alerts.name, messages: [{ key: 'end', value: '{}' }] })
      await producer.send({ topic: topics.dlq.name, messages: [{ key: 'end', value: '{}' }] })
      await waitFor(() => alerts.messages.some((m) => m.key === 'end'), { what: 'the end of alerts.v1' })
      await waitFor(() => dlq.messages.some((m) => m.key === 'end'), { what: 'the end of the dlq' })
      const sent = alerts.messages
        .filter((m) => m.key !== 'end')
        .map((m) => JSON.parse(m.value!.toString()) as Alert)
        .map((a) => `${a.rule} ${a.scope.kind}:${a.scope.id} ${a.evidence[0]?.headlineId}`)
      expect(sent.sort()).toEqual(['tariff_down region:CN h-cn', 'tariff_down region:US h-us'])
      const letters = dlq.messages.filter((m) => m.key !== 'end')
      expect(letters.map((m) => m.headers)).toEqual([
        expect.objectContaining({
          [DLQ_HEADERS.reason]: 'handler_error',
          [DLQ_HEADERS.topic]: topics.indicators.name,
          [DLQ_HEADERS.partition]: '0',
          [DLQ_HEADERS.offset]: '0',
        }),
      ])
      expect(JSON.parse(letters[0]!.value!.toString())).toMatchObject({
        message: expect.stringMatching(/^INFRA_REDIS \(ReplyError\): WRONGTYPE/),
      })
    } finally {
      await stop()
      await producer.disconnect()
      await redis.quit()
    }
  })
})

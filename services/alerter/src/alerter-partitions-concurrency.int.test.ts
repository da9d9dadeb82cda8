import { createTopicCatalogue, listTopics } from '@tradepulse/contracts'
import { indicatorKey } from '@tradepulse/indicators'
import { createLogger, ensureTopics, loadConfig } from '@tradepulse/platform'
import { randomName, testInfra, testKafka, testProducer, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { buildAlerterApp } from './build-app.ts'
import { AlerterConfig } from './config.ts'
import { alerterEnv } from './kafka-set-up.ts'
import { scenarioDesks } from './scenario-fixtures.ts'
import { cnHeadline, cnTariffUpdate } from './test-handler.ts'

const MIN = 60_000
const RULES = `version: concurrency-1
rules:
  - id: tariff_down
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:CN]
    direction: down
    threshold: 0.7
    minRelevance: 0.6
    severity: warning
    cooldownMs: 3600000
`

describe('alerter catching up a backlog over all its input partitions, its own defaults', () => {
  const { kafkaBrokers, redisUrl } = testInfra()

  // With the platform's 3 partitions handled at once of the 12 it is assigned (headlines.scored and
  // indicators, 6 each), partitions the aligner resumed together were handled apart, each held back by the
  // others' older records, and the aligner forced steps on the backlog (records could come late).
  it('handles every partition it is assigned at once: the backlog is taken whole with no forced step', async () => {
    const prefix = `${randomName('alerter-concurrency')}.`
    const topics = createTopicCatalogue(prefix)
    // The topics as the catalogue makes them (tradepulse topics create, TOPICS_AUTO_CREATE).
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    try {
      await ensureTopics(admin, listTopics(topics))
    } finally {
      await admin.disconnect()
    }
    const T0 = Date.now() - 3 * 60 * MIN
    // Scored headlines on every partition, their event times interleaved across them (a minute apart on
    // each); indicator updates in event-time order per key but not per partition, as the compacted
    // topic holds them: each partition has one scope's two hours, then another's from the start again.
    const scored = Array.from({ length: topics.scored.partitions }, (_, p) =>
      Array.from({ length: 120 }, (_, i) => {
        const h = cnHeadline(`h-${p}-${i}`, T0 + i * MIN + p * 10_000, {
          tariff: i % 40 === 0 ? -0.9 : null,
        })
        return { partition: p, key: h.id, value: JSON.stringify(h) }
      }),
    ).flat()
    const updates = Array.from({ length: topics.indicators.partitions }, (_, p) =>
      ['A', 'B'].flatMap((s) =>
        Array.from({ length: 60 }, (_, i) => {
          const u = cnTariffUpdate(T0, i * 2 + p / 6, 0, Date.now())
          const scope = { kind: 'region' as const, id: `${s}${p}` }
          const update = { ...u, key: indicatorKey('tariff', scope), scope }
          return { partition: p, key: update.key, value: JSON.stringify(update) }
        }),
      ),
    ).flat()
    const producer = await testProducer(kafkaBrokers)
    try {
      await producer.send({ topic: topics.scored.name, messages: scored })
      await producer.send({ topic: topics.indicators.name, messages: updates })
    } finally {
      await producer.disconnect()
    }

    const config = loadConfig(
      AlerterConfig,
      alerterEnv({
        kafkaBrokers,
        redisUrl,
        prefix,
        rules: { text: RULES },
        desks: scenarioDesks(),
        extra: { TOPICS_AUTO_CREATE: 'true', ALERTER_WEBHOOKS_ENABLED: 'false' },
      }),
    )
    expect(config.KAFKA_PARTITIONS_CONCURRENCY).toBe(topics.scored.partitions + topics.indicators.partitions)
    const app = buildAlerterApp(config, { log: createLogger({ level: 'silent' }) })
    const taken = async () => {
      const values = (await app.metrics.messagesIn.get()).values
      return values.reduce((n, v) => n + v.value, 0)
    }
    try {
      await app.start()
      await waitFor(async () => (await taken()) === scored.length + updates.length, {
        what: 'every record of the backlog taken',
        timeoutMs: 120_000,
      })
      const forced = (await app.metrics.alignForced.get()).values[0]?.value ?? 0
      expect(forced).toBe(0)
    } finally {
      await app.stop()
    }
  }, 180_000)
})

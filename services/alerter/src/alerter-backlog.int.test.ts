import type { Alert, Headline } from '@tradepulse/contracts'
import { createLogger, loadConfig } from '@tradepulse/platform'
import { scoreHeadline } from '@tradepulse/scorer'
import { createScorer } from '@tradepulse/scoring'
import { collectTopic, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { buildAlerterApp } from './build-app.ts'
import { AlerterConfig } from './config.ts'
import { alerterEnv, alerterTopics } from './kafka-set-up.ts'
import { scenarioDesks } from './scenario-fixtures.ts'

const MIN = 60_000
const T0 = Date.UTC(2026, 2, 4, 9)

const RULES = `version: backlog-1
rules:
  - id: truce
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:CN]
    direction: up
    threshold: 0.7
    minRelevance: 0.6
    eventTypes: [truce]
    severity: info
    cooldownMs: 21600000
`

describe('alerter catching up a backlog spread over partitions', () => {
  const { kafkaBrokers, redisUrl } = testInfra()

  it('takes it in event-time order across partitions: the cooldown keeps the first headline in event time, not the first read', async () => {
    // The desk topics as the alerter makes them (TOPICS_AUTO_CREATE).
    const { prefix, topics } = await alerterTopics(kafkaBrokers, 'alerter-backlog', {
      scored: 2,
      desks: false,
    })
    const scorer = createScorer()
    const scored = (id: string, atMin: number, text: string) => {
      const h: Headline = {
        id,
        source: 'backlog',
        headline: text,
        publishedAt: new Date(T0 + atMin * MIN).toISOString(),
        ingestedAt: new Date(T0 + atMin * MIN).toISOString(),
        truncated: false,
      }
      return { key: id, value: JSON.stringify(scoreHeadline(scorer, h, new Date(T0 + atMin * MIN))) }
    }
    // Partition 1: twenty quiet headlines, then the truce at minute 40. Partition 0: its rewrite at minute
    // 52. Read as fetched, partition 0's one record is handled while partition 1 is still on its first
    // chunks (KAFKA_MAX_BATCH 5), and the rewrite takes the cooldown.
    const producer = await testProducer(kafkaBrokers)
    try {
      await producer.send({
        topic: topics.scored.name,
        messages: [
          ...Array.from({ length: 20 }, (_, i) => ({
            ...scored(`quiet-${i}`, i + 1, `Local bakery wins regional bread award number ${i}`),
            partition: 1,
          })),
          { ...scored('truce', 40, 'US and China agree to a 90-day tariff truce'), partition: 1 },
          { ...scored('rewrite', 52, 'US, China agree 90-day tariff truce'), partition: 0 },
        ],
      })
    } finally {
      await producer.disconnect()
    }

    const app = buildAlerterApp(
      loadConfig(
        AlerterConfig,
        alerterEnv({
          kafkaBrokers,
          redisUrl,
          prefix,
          rules: { text: RULES },
          desks: scenarioDesks(),
          extra: { TOPICS_AUTO_CREATE: 'true', KAFKA_MAX_BATCH: '5', ALERTER_WEBHOOKS_ENABLED: 'false' },
        }),
      ),
      { log: createLogger({ level: 'silent' }) },
    )
    const alerts = await collectTopic(kafkaBrokers, topics.alerts.name)
    try {
      await app.start()
      const first = await waitFor(() => alerts.messages[0], { what: 'the truce alert' })
      const alert = JSON.parse(first.value!.toString()) as Alert
      expect([alert.rule, alert.scope.id, alert.evidence.map((e) => e.headlineId)]).toEqual([
        'truce',
        'CN',
        ['truce'],
      ])
      expect(alert.publishedAt).toBe(new Date(T0 + 40 * MIN).toISOString())
    } finally {
      await app.stop()
      await alerts.stop()
    }
    expect(alerts.messages).toHaveLength(1)
  })
})

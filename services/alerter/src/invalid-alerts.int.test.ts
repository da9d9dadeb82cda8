import { PassThrough } from 'node:stream'
import { Alert, DeadLetter, ISO_TIME_OUT_OF_RANGE } from '@tradepulse/contracts'
import { createLogger, loadConfig } from '@tradepulse/platform'
import { type CollectedMessage, collectTopic, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { buildAlerterApp } from './build-app.ts'
import { AlerterConfig } from './config.ts'
import { alerterEnv, alerterTopics, SCENARIO_DESK_IDS } from './kafka-set-up.ts'
import {
  SCENARIO_EXPECTED,
  SCENARIO_RULES,
  SCENARIO_T0,
  scenarioDesks,
  scenarioHeadlines,
  scenarioUpdates,
} from './scenario-fixtures.ts'

const MIN = 60_000
/** A local time whose UTC instant is in year 10000: no `…Z` datetime spells it, and no reader takes it. */
const YEAR_10000_IN_UTC = '9999-12-31T23:00:00-05:00'

/** `<rule> <scope> <trigger>` of an alert record, checked against the strict contract. */
function describeAlert(m: CollectedMessage): string {
  const a = Alert.parse(JSON.parse(m.value!.toString()))
  const trigger =
    a.ruleKind === 'headline_shock'
      ? a.evidence[0]?.headlineId
      : `@${(Date.parse(a.publishedAt) - SCENARIO_T0) / MIN}`
  return `${a.rule} ${a.scope.kind}:${a.scope.id} ${trigger}`
}

describe('alerter on Kafka and Redis: times no worker can write back', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('dead-letters as schema_invalid, naming the field, the headline and the indicator update whose entry time is year 10000 in UTC, raises no alert from them (none breaks the Alert contract), and goes on', async () => {
    const { prefix, topics } = await alerterTopics(kafkaBrokers, 'alertinv')
    const desks = SCENARIO_DESK_IDS
    const producer = await testProducer(kafkaBrokers)
    cleanups.push(() => producer.disconnect())
    const out = new PassThrough()
    let logged = ''
    out.on('data', (chunk: Buffer) => {
      logged += chunk.toString()
    })
    const config = loadConfig(
      AlerterConfig,
      alerterEnv({ kafkaBrokers, redisUrl, prefix, rules: { text: SCENARIO_RULES }, desks: scenarioDesks() }),
    )
    const app = buildAlerterApp(config, { log: createLogger({ level: 'error' }, out), env: {} })
    cleanups.push(() => app.stop())
    const alerts = await collectTopic(kafkaBrokers, topics.alerts.name)
    const deskTopics = await Promise.all(
      desks.map((d) => collectTopic(kafkaBrokers, topics.deskAlerts(d).name)),
    )
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    cleanups.push(alerts.stop, dlq.stop, ...deskTopics.map((d) => d.stop))
    await app.start()
    await app.runner.joined()

    // esc1 (offset 0) would raise tariff_down on US and CN; its entry time is year 10000 in UTC.
    const now = Date.now()
    const headlines = scenarioHeadlines(now)
    headlines[0] = { ...headlines[0]!, ingestedAt: YEAR_10000_IN_UTC }
    await producer.send({
      topic: topics.scored.name,
      messages: headlines.map((h) => ({ key: h.id, value: JSON.stringify(h) })),
    })
    // esc1 raises nothing: esc2 (ten minutes later, within the cooldown esc1's would have started) fires.
    const headlineAlerts = [
      ...SCENARIO_EXPECTED.filter((e) => !e.includes('@') && !e.endsWith(' esc1')),
      'tariff_down region:US tariff down esc2',
      'tariff_down region:CN tariff down esc2',
    ].map((e) => e.split(' '))
    const expectedHeadlineAlerts = headlineAlerts.map(
      ([rule, scope, , , trigger]) => `${rule} ${scope} ${trigger}`,
    )
    await waitFor(() => alerts.messages.length >= expectedHeadlineAlerts.length, { what: 'headline alerts' })
    // The CN update at 25 min (offset 1) crosses the level line with an entry time of year 10000 in UTC.
    const updates = scenarioUpdates(now)
    const crossing = updates.findIndex((u) => u.asOf === new Date(SCENARIO_T0 + 25 * MIN).toISOString())
    updates[crossing] = { ...updates[crossing]!, ingestedAt: YEAR_10000_IN_UTC }
    await producer.send({
      topic: topics.indicators.name,
      messages: updates.map((u) => ({ key: u.key, value: JSON.stringify(u) })),
    })
    // The alerter never sees the crossing at 25 min: 35, still past the line, is the first; it re-arms
    // at 65 and fires at 75.
    const expected = [
      ...expectedHeadlineAlerts,
      'tariff_level_cn region:CN @35',
      'tariff_level_cn region:CN @75',
    ]
    await waitFor(() => alerts.messages.map(describeAlert).includes('tariff_level_cn region:CN @75'), {
      what: 'the level alert at 75 min',
    })
    await waitFor(() => dlq.messages.length >= 2, { what: 'the dead letters' })
    expect(alerts.messages.map(describeAlert).sort()).toEqual([...expected].sort())

    const letters = dlq.messages.map((m) => DeadLetter.parse(JSON.parse(m.value!.toString())))
    expect(letters).toEqual([
      expect.objectContaining({
        reason: 'schema_invalid',
        worker: 'alerter',
        origin: {
          topic: topics.scored.name,
          partition: 0,
          offset: '0',
          timestamp: expect.stringMatching(/^\d+$/),
        },
        message: `ingestedAt: ${ISO_TIME_OUT_OF_RANGE}`,
      }),
      expect.objectContaining({
        reason: 'schema_invalid',
        worker: 'alerter',
        origin: {
          topic: topics.indicators.name,
          partition: 0,
          offset: String(crossing),
          timestamp: expect.stringMatching(/^\d+$/),
        },
        message: `ingestedAt: ${ISO_TIME_OUT_OF_RANGE}`,
      }),
    ])
    expect(letters.map((l) => l.payload)).toEqual([
      JSON.stringify(headlines[0]),
      JSON.stringify(updates[crossing]),
    ])

    // Desk copies: none of the left-out alerts, and every record on them meets the contract. Read once the
    // tariff desk has its last alert and every desk collector has read its topic to the end (before, the
    // desk copies were taken before that wait: a left-out alert not yet fetched went unseen).
    await waitFor(
      () => deskTopics[0]!.messages.map(describeAlert).includes('tariff_level_cn region:CN @75'),
      {
        what: "the tariff desk's level alert",
      },
    )
    await Promise.all(deskTopics.map((d) => d.caughtUp()))
    const deskAlerts = deskTopics.flatMap((d) => d.messages.map(describeAlert))
    expect(deskAlerts.filter((d) => d.endsWith(' esc1') || d.endsWith(' @25'))).toEqual([])
    expect(deskTopics[0]!.messages.map(describeAlert)).toContain('tariff_down region:CN esc2')

    const metric = Number(
      / (\d+)$/m.exec(
        await app.metrics.registry.getSingleMetricAsString('tradepulse_alerts_invalid_total'),
      )?.[1],
    )
    expect(metric).toBe(0)
    expect(logged.split('\n').filter((l) => l.includes('alerts break the Alert contract'))).toEqual([])
  })
})

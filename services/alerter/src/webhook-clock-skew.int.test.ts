import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { TopicCatalogue } from '@tradepulse/contracts'
import { createCapturingLogger, type LogLine, loadConfig } from '@tradepulse/platform'
import { REPO_ROOT, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { buildAlerterApp } from './build-app.ts'
import { AlerterConfig } from './config.ts'
import {
  alerterEnv,
  alerterTopics,
  deskAlertValue,
  deskLaneTopics,
  SCENARIO_DESK_IDS,
  startedDeskLane,
} from './kafka-set-up.ts'
import { SCENARIO_RULES, scenarioDesks } from './scenario-fixtures.ts'

const HOUR_MS = 3_600_000
const MIN_MS = 60_000
const DESK = 'tariff'
const run = promisify(execFile)

describe("a desk's webhook lane on another host than the alerter that wrote its alerts", () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  /** One alert on the desk topic as an alerter whose clock reads `writerNowMs` sends it (kafkajs's CreateTime). */
  async function writeAlert(topic: string, id: string, writerNowMs: number) {
    const producer = await testProducer(kafkaBrokers)
    try {
      await producer.send({
        topic,
        messages: [
          {
            key: id,
            value: deskAlertValue(id, { detectedAt: new Date(writerNowMs).toISOString() }),
            headers: { ce_id: id },
            timestamp: String(writerNowMs),
          },
        ],
      })
    } finally {
      await producer.disconnect()
    }
  }

  /**
   * The desk's lane (max age 1 h), its clock `now`, over `topics`; resolves once an alert is delivered or
   * expired: the delivered and expired counts, and the alert ids posted.
   */
  async function laneOutcome(topics: TopicCatalogue, now = Date.now) {
    const lane = await startedDeskLane({
      kafkaBrokers,
      cleanups,
      topics,
      deskId: DESK,
      options: { maxAgeMs: HOUR_MS },
      now,
    })
    const outcome = await waitFor(
      async () => {
        const counts = await lane.results()
        return counts.delivered || counts.expired
          ? { delivered: counts.delivered ?? 0, expired: counts.expired ?? 0 }
          : false
      },
      { what: 'the alert delivered or expired' },
    )
    return { outcome, posted: lane.posted }
  }

  it('posts a fresh alert written by an alerter whose clock runs 2 h behind', async () => {
    // With the writer's clock on its record (CreateTime), the lane (max age 1 h) took it for 2 h old and
    // counted it expired: the desk silently missed it.
    const topics = await deskLaneTopics(kafkaBrokers, 'webhook-clock', DESK)
    await writeAlert(topics.deskAlerts(DESK).name, 'behind-1', Date.now() - 2 * HOUR_MS)
    const lane = await laneOutcome(topics)
    expect(lane.outcome).toEqual({ delivered: 1, expired: 0 })
    expect(lane.posted).toEqual(['behind-1'])
  })

  it('posts a fresh alert written by an alerter whose clock runs 2 h ahead', async () => {
    // With CreateTime Kafka refused its record for good (INVALID_TIMESTAMP: more than the broker's
    // message.timestamp.after.max.ms, 1 h by default since Kafka 4.0, ahead of its clock): no alert at all.
    const topics = await deskLaneTopics(kafkaBrokers, 'webhook-clock', DESK)
    await writeAlert(topics.deskAlerts(DESK).name, 'ahead-1', Date.now() + 2 * HOUR_MS)
    const lane = await laneOutcome(topics)
    expect(lane.outcome).toEqual({ delivered: 1, expired: 0 })
    expect(lane.posted).toEqual(['ahead-1'])
  })

  it('does not post an alert past the max age written by an alerter whose clock runs 50 min ahead', async () => {
    // Its turn comes 90 min after it was written (the lane's clock says so): past the 1 h max age. With the
    // writer's clock on its record it looked 40 min old and was posted.
    const topics = await deskLaneTopics(kafkaBrokers, 'webhook-clock', DESK)
    await writeAlert(topics.deskAlerts(DESK).name, 'ahead-2', Date.now() + 50 * MIN_MS)
    const lateNow = () => Date.now() + 90 * MIN_MS
    const lane = await laneOutcome(topics, lateNow)
    expect(lane.outcome).toEqual({ delivered: 0, expired: 1 })
    expect(lane.posted).toEqual([])
  })

  it('warns at start of alerts and desk topics created with CreateTime, naming the command that sets them; after it, none', async () => {
    // As an earlier catalogue created them: with the broker's default timestamp type, CreateTime.
    const { prefix, topics } = await alerterTopics(kafkaBrokers, 'webhook-clock')
    const desks = SCENARIO_DESK_IDS.map((d) => topics.deskAlerts(d).name)
    const env = alerterEnv({
      kafkaBrokers,
      redisUrl,
      prefix,
      rules: { text: SCENARIO_RULES },
      desks: scenarioDesks(),
    })
    /** The alerter started and stopped: its warnings of topics' timestamp types. */
    const startAlerter = async () => {
      const { log, lines } = createCapturingLogger<LogLine & { topic?: string; wanted?: string }>('warn')
      const app = buildAlerterApp(loadConfig(AlerterConfig, env), { log, env: {} })
      try {
        await app.start()
      } finally {
        await app.stop()
      }
      return lines.filter((l) => l.wanted !== undefined)
    }

    const warned = await startAlerter()
    // Every topic the alerter reads or writes: the catalogue makes them all LogAppendTime (51cc98e).
    expect(warned.map((l) => l.topic).sort()).toEqual(
      [topics.scored.name, topics.indicators.name, topics.dlq.name, topics.alerts.name, ...desks].sort(),
    )
    for (const name of [topics.alerts.name, ...desks])
      expect(warned.find((l) => l.topic === name)).toMatchObject({
        level: 40,
        timestampType: 'CreateTime',
        wanted: 'LogAppendTime',
        msg: expect.stringContaining('(`tradepulse topics create --desks` sets it)'),
      })

    // What the operator is told to run, with the alerter's environment (its ALERTER_DESKS_FILE).
    const created = await run(
      process.execPath,
      [join(REPO_ROOT, 'packages/cli/src/main.ts'), 'topics', 'create', '--desks'],
      { env: { ...process.env, ...env } },
    )
    for (const name of [topics.alerts.name, ...desks])
      expect(created.stdout).toContain(
        `updated  ${name}  message.timestamp.type CreateTime -> LogAppendTime\n`,
      )
    expect(await startAlerter()).toEqual([])
  })
})

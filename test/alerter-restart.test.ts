import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  SCENARIO_EXPECTED,
  SCENARIO_RULES,
  SCENARIO_T0,
  scenarioDesks,
  scenarioHeadlines,
  scenarioUpdates,
} from '@tradepulse/alerter/scenario'
import { type Alert, listTopics } from '@tradepulse/contracts'
import {
  type CollectedMessage,
  collectTopic,
  groupCommittedToEnd,
  type TopicCollector,
  waitFor,
} from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { useAlerterProcess } from './worker-process.ts'

const MIN = 60_000
const DAY_MIN = 1_440
const COPIES = 60

const alertOf = (m: CollectedMessage) => JSON.parse(m.value!.toString()) as Alert
/** `<rule> <scope> <dimension> <direction> <trigger>`, as SCENARIO_EXPECTED writes them, per copy. */
function describeAlert(a: Alert): string {
  if (a.ruleKind === 'headline_shock') {
    const [copy, id] = a.evidence[0]!.headlineId.split(':')
    return `${copy} ${a.rule} ${a.scope.kind}:${a.scope.id} ${a.dimension} ${a.direction} ${id}`
  }
  const min = (Date.parse(a.publishedAt) - SCENARIO_T0) / MIN
  return `c${Math.floor(min / DAY_MIN)} ${a.rule} ${a.scope.kind}:${a.scope.id} ${a.dimension} ${a.direction} @${min % DAY_MIN}`
}

describe('alerter as a process: restarts and replays add no alert', () => {
  const t = useAlerterProcess({
    name: 'alerter-restart',
    rules: SCENARIO_RULES,
    desks: scenarioDesks(),
    topics: (topics) => [
      // One partition in: cooldowns in event time depend on the script's order within a scope.
      ...listTopics(topics).map((topic) => ({
        name: topic.name,
        partitions: topic.name === topics.alerts.name ? 3 : 1,
      })),
      ...['tariff', 'supply', 'risk'].map((d) => ({ name: topics.deskAlerts(d).name, partitions: 2 })),
    ],
    env: {
      KAFKA_SESSION_TIMEOUT_MS: '3000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '300',
      // Small batches, so a kill lands between many of them.
      KAFKA_MAX_BATCH: '20',
      KAFKA_MAX_BYTES_PER_PARTITION: '16384',
      SHUTDOWN_DEADLINE_MS: '10000',
    },
  })

  /** Waits for the alerter's group to commit both its inputs to their ends, then `alerts` to read its topic to the end. */
  async function inputHandled(alerts: TopicCollector): Promise<void> {
    const { topics } = t
    await waitFor(
      () =>
        groupCommittedToEnd(t.kafkaBrokers, `${t.prefix}alerter`, [
          topics.scored.name,
          topics.indicators.name,
        ]),
      { timeoutMs: 60_000, what: "the alerter's input committed to its end" },
    )
    await alerts.caughtUp()
  }

  /** COPIES copies of the scenario, each a day later than the one before (its own cooldown buckets). */
  async function produceCopies(): Promise<string[]> {
    const { topics, producer } = t
    const expected: string[] = []
    for (let c = 0; c < COPIES; c++) {
      const shift = c * DAY_MIN * MIN
      const now = Date.now()
      const headlines = scenarioHeadlines(now, `c${c}:`).map((h) => ({
        ...h,
        publishedAt: new Date(Date.parse(h.publishedAt) + shift).toISOString(),
      }))
      const updates = scenarioUpdates(now).map((u) => ({
        ...u,
        asOf: new Date(Date.parse(u.asOf) + shift).toISOString(),
      }))
      await producer.send({
        topic: topics.scored.name,
        messages: headlines.map((h) => ({ key: h.id, value: JSON.stringify(h) })),
      })
      await producer.send({
        topic: topics.indicators.name,
        messages: updates.map((u) => ({ key: u.key, value: JSON.stringify(u) })),
      })
      for (const e of SCENARIO_EXPECTED) expected.push(`c${c} ${e}`)
    }
    return expected
  }

  it('after SIGKILL twice mid-run, sends every expected alert id and no other', async () => {
    const alerts = await collectTopic(t.kafkaBrokers, t.topics.alerts.name)
    t.stops.push(alerts.stop)
    const expected = await produceCopies()
    let worker = t.start()
    for (const share of [0.3, 0.6]) {
      await waitFor(() => alerts.messages.length >= share * expected.length, {
        timeoutMs: 60_000,
        what: `${share} of the alerts`,
      })
      worker.child.kill('SIGKILL')
      expect((await worker.exited).signal).toBe('SIGKILL')
      worker = t.start()
    }
    const ids = () => new Set(alerts.messages.map((m) => alertOf(m).id))
    await waitFor(() => ids().size >= expected.length, { timeoutMs: 90_000, what: 'every alert' })
    // Judged once the whole input is committed (every alert of it acknowledged, a redelivered tail too) and
    // the collector has read the alerts topic to its end: before, a fixed second, after which an alert of
    // a tail still on its way went unjudged.
    await inputHandled(alerts)
    const seen = [...new Map(alerts.messages.map((m) => [alertOf(m).id, describeAlert(alertOf(m))])).values()]
    expect(seen.sort()).toEqual([...expected].sort())
    // A kill between publishing and confirming may repeat an alert, always with the same id.
    expect(alerts.messages.length - ids().size).toBeLessThanOrEqual(2 * 20 * 3)
  })

  it('after SIGTERM mid-run, a restart and a full replay of the input add nothing, not even a copy', async () => {
    const { topics } = t
    const alerts = await collectTopic(t.kafkaBrokers, topics.alerts.name)
    t.stops.push(alerts.stop)
    const expected = await produceCopies()
    const first = t.start()
    await waitFor(() => alerts.messages.length >= 0.4 * expected.length, { timeoutMs: 60_000, what: '40%' })
    first.child.kill('SIGTERM')
    expect((await first.exited).code).toBe(0)
    t.start()
    await waitFor(() => alerts.messages.length >= expected.length, { timeoutMs: 90_000, what: 'every alert' })
    // Replay: the whole input again, as a new record each, with the same ids and times.
    await produceCopies()
    // A marker after the replay, on the same input partitions: once its alert is out, the replay was decided.
    const [marker] = scenarioHeadlines(Date.now(), 'marker:')
    await t.producer.send({
      topic: topics.scored.name,
      messages: [
        {
          key: 'marker',
          value: JSON.stringify({
            ...marker,
            publishedAt: new Date(SCENARIO_T0 + 400 * DAY_MIN * MIN).toISOString(),
          }),
        },
      ],
    })
    await waitFor(() => alerts.messages.some((m) => alertOf(m).evidence[0]?.headlineId === 'marker:esc1'), {
      timeoutMs: 60_000,
      what: 'marker alert',
    })
    // The marker says the headlines' replay was decided, not the indicator updates' (another input topic),
    // nor that the collector has read the alerts' other partitions as far: the whole input committed, and
    // the alerts topic read to its end.
    await inputHandled(alerts)
    const ids = alerts.messages.map((m) => alertOf(m).id)
    expect(ids.length).toBe(new Set(ids).size)
    const described = alerts.messages
      .map((m) => describeAlert(alertOf(m)))
      .filter((d) => !d.startsWith('marker'))
    expect(described.sort()).toEqual([...expected].sort())
  })

  it('refuses an invalid rules file at start, naming the field, with exit code 78', async () => {
    writeFileSync(join(t.dir, 'bad.yaml'), SCENARIO_RULES.replace('severity: warning', 'severity: loud'))
    const w = t.start({ ALERTER_RULES_FILE: join(t.dir, 'bad.yaml') })
    const exit = await w.exited
    expect(exit.code).toBe(78)
    expect(w.output()).toMatch(/ALERTER_RULES_FILE \(.*bad\.yaml\): rules\[0\]\.severity: /)
  })
})

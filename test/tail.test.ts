import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { type Alert, createTopicCatalogue } from '@tradepulse/contracts'
import { createTopics, REPO_ROOT, randomName, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'

const alert = (id: string, rule: string): Alert => ({
  id,
  rule,
  ruleKind: 'headline_shock',
  severity: 'critical',
  dimension: 'tariff',
  scope: { kind: 'region', id: 'CN' },
  direction: 'down',
  value: -0.9,
  threshold: -0.75,
  message: `Tariff shock on CN (${rule})`,
  evidence: [
    { headlineId: 'h1', headline: 'US raises tariffs on China', score: -0.9, cues: ['raises + tariffs'] },
  ],
  publishedAt: '2026-03-02T14:30:00.000Z',
  ingestedAt: '2026-03-02T14:30:00.100Z',
  detectedAt: '2026-03-02T14:30:00.140Z',
  latencyMs: 40,
  scorerVersion: 'scoring-test',
  rulesVersion: 'rules-test',
})

describe('tradepulse tail alerts', () => {
  const { kafkaBrokers } = testInfra()

  /** `tradepulse tail alerts ARGS` on the topics of `prefix`, its output collected as it comes. */
  function tail(prefix: string, args: string[]) {
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'packages/cli/src/main.ts'), 'tail', 'alerts', ...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          KAFKA_BROKERS: kafkaBrokers.join(','),
          TRADEPULSE_TOPIC_PREFIX: prefix,
          LOG_PRETTY: 'false',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    const exited = new Promise((r) => child.once('exit', r))
    const output = { out: '', err: '' }
    child.stdout.on('data', (d) => {
      output.out += d
    })
    child.stderr.on('data', (d) => {
      output.err += d
    })
    const stop = async () => {
      child.kill('SIGINT')
      await exited
    }
    return { output, stop }
  }

  it('prints alerts of a desk topic readably as they arrive, and reports records that are not alerts', async () => {
    const prefix = `${randomName('tail')}.`
    const topics = createTopicCatalogue(prefix)
    await createTopics(kafkaBrokers, [
      { name: topics.alerts.name },
      { name: topics.deskAlerts('tariff').name },
    ])
    const t = tail(prefix, ['--desk', 'tariff', '--from-beginning'])
    const producer = await testProducer(kafkaBrokers)
    await producer.send({
      topic: topics.deskAlerts('tariff').name,
      messages: [
        { key: 'region:CN', value: JSON.stringify(alert('a1', 'trade_measure_enacted')) },
        { key: 'region:CN', value: 'not an alert' },
      ],
    })
    await producer.send({
      topic: topics.alerts.name,
      messages: [{ key: 'region:CN', value: JSON.stringify(alert('a2', 'other_topic_rule')) }],
    })
    await producer.disconnect()
    try {
      // A minute for a process to start under load, as for `tradepulse start` (test/start-on-kafka.test.ts).
      await waitFor(
        () =>
          /trade_measure_enacted/.test(t.output.out) &&
          /not an alert at \S*alerts\.desk\.tariff\.v1\[0\]@1: not an alert\)/.test(t.output.err),
        {
          what: 'tail output',
          timeoutMs: 60_000,
        },
      )
      expect(t.output.out).toMatch(/CRIT\s+trade_measure_enacted\s+region:CN/)
      expect(t.output.out).toMatch(/Tariff shock on CN/)
      expect(t.output.out).not.toMatch(/other_topic_rule/)
      expect(t.output.err).toMatch(
        new RegExp(`Following ${prefix.replaceAll('.', '\\.')}alerts\\.desk\\.tariff\\.v1`),
      )
    } finally {
      await t.stop()
    }
  })

  it('follows alerts.v1 from new alerts on by default, leaving out those already there', async () => {
    const prefix = `${randomName('tail')}.`
    const topics = createTopicCatalogue(prefix)
    await createTopics(kafkaBrokers, [{ name: topics.alerts.name }])
    const producer = await testProducer(kafkaBrokers)
    const send = (id: string, rule: string) =>
      producer.send({
        topic: topics.alerts.name,
        messages: [{ key: 'region:CN', value: JSON.stringify(alert(id, rule)) }],
      })
    await send('old', 'already_there_rule')
    const t = tail(prefix, [])
    try {
      await waitFor(() => /Following .*alerts\.v1;/.test(t.output.err), {
        what: 'tail started',
        timeoutMs: 60_000,
      })
      // Where the new group starts reading is set when it first fetches: keep sending until one shows.
      let n = 0
      await waitFor(
        async () => {
          await send(`new-${n}`, `arrived_live_${n++}`)
          return /arrived_live_/.test(t.output.out)
        },
        { what: 'a live alert printed' },
      )
      expect(t.output.out).toMatch(/CRIT\s+arrived_live_\d+\s+region:CN/)
      expect(t.output.out).not.toMatch(/already_there_rule/)
    } finally {
      await producer.disconnect()
      await t.stop()
    }
  })
})

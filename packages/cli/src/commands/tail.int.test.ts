import { createTopicCatalogue } from '@tradepulse/contracts'
import { createTopics, randomName, testAlert, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { cli, expectOneLine, spawnCli } from '../test-helpers.ts'

describe('tradepulse tail alerts on Kafka', { timeout: 60_000 }, () => {
  const { kafkaBrokers } = testInfra()

  it('refuses a desk Kafka has no topic for in one line naming it, the topic and the desks it has (exit 78)', async () => {
    // It went on to subscribe, and Kafka's "This server does not host this topic-partition" came back as
    // exit 69 with a hint to run `tradepulse topics create`, which creates no desk's topic.
    const prefix = `${randomName('tail-desk')}.`
    const catalogue = createTopicCatalogue(prefix)
    const env = { KAFKA_BROKERS: kafkaBrokers.join(','), TRADEPULSE_TOPIC_PREFIX: prefix }
    const none = await cli(['tail', 'alerts', '--desk', 'fx'], env)
    expect(none.code, none.stderr).toBe(78)
    expectOneLine(
      none.stderr,
      new RegExp(
        `^tradepulse: tail alerts: --desk fx: Kafka at ${kafkaBrokers.join(',').replaceAll('.', '\\.')} \\(KAFKA_BROKERS\\) has no topic ${prefix.replaceAll('.', '\\.')}alerts\\.desk\\.fx\\.v1; no desk has a topic there \\(the alerter creates one for each desk of its ALERTER_DESKS_FILE; tradepulse topics create --desk fx creates this one\\)$`,
      ),
    )
    await createTopics(kafkaBrokers, [
      { name: catalogue.deskAlerts('metals').name },
      { name: catalogue.deskAlerts('energy').name },
    ])
    const typo = await cli(['tail', 'alerts', '--desk', 'metal'], env)
    expect(typo.code, typo.stderr).toBe(78)
    expectOneLine(
      typo.stderr,
      /^tradepulse: tail alerts: --desk metal: .* has no topic \S+alerts\.desk\.metal\.v1; desks with a topic there: energy, metals \(/,
    )
    expect(typo.stdout).toBe('')
  })

  it('refuses a prefix whose alerts topic Kafka does not have in one line naming it and the prefix (exit 78)', async () => {
    // A mistyped TRADEPULSE_TOPIC_PREFIX: Kafka's "does not host this topic-partition" came back as exit 69
    // (retry, to a supervisor) with a hint to run `tradepulse topics create`, a second catalogue.
    const prefix = `${randomName('tail-typo')}.`
    const env = { KAFKA_BROKERS: kafkaBrokers.join(','), TRADEPULSE_TOPIC_PREFIX: prefix }
    const missing = await cli(['tail', 'alerts'], env)
    expect(missing.code, missing.stderr).toBe(78)
    expectOneLine(
      missing.stderr,
      new RegExp(
        `^tradepulse: tail alerts: Kafka at ${kafkaBrokers.join(',').replaceAll('.', '\\.')} \\(KAFKA_BROKERS\\) has no topic ${prefix.replaceAll('.', '\\.')}alerts\\.v1 \\(TRADEPULSE_TOPIC_PREFIX "${prefix.replaceAll('.', '\\.')}"; the workers create it as they start, as does tradepulse topics create\\)$`,
      ),
    )
    expect(missing.stdout).toBe('')
  })

  it('names a record that is no alert by partition and offset, its control characters escaped', async () => {
    // Written raw, a producer's escape sequences retitled the operator's terminal and cleared it.
    const prefix = `${randomName('tail-escape')}.`
    const topic = createTopicCatalogue(prefix).alerts.name
    await createTopics(kafkaBrokers, [{ name: topic, partitions: 2 }])
    const producer = await testProducer(kafkaBrokers)
    try {
      await producer.send({
        topic,
        messages: [{ partition: 1, value: '\x1b]0;pwned\x07\x1b[2J not an alert' }],
      })
    } finally {
      await producer.disconnect()
    }
    const tail = spawnCli(['tail', 'alerts', '--from-beginning'], {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      TRADEPULSE_TOPIC_PREFIX: prefix,
    })
    try {
      await waitFor(() => tail.output.err.includes('(not an alert'), { what: 'the record named' })
      expect(tail.output.err).toContain(
        `(not an alert at ${topic}[1]@0: \\u001b]0;pwned\\u0007\\u001b[2J not an alert)\n`,
      )
      expect(tail.output.err).not.toContain('\x1b')
      expect(tail.output.out).toBe('')
    } finally {
      tail.child.kill('SIGTERM')
      await tail.exited
    }
  })

  it('--json escapes the C1 controls, DEL and bidi overrides JSON.stringify leaves raw, reading back as the same alert', async () => {
    // JSON.stringify escapes C0 controls only: U+009B (a CSI) and U+202E (right-to-left override) went to
    // the operator's terminal raw.
    const prefix = `${randomName('tail-json')}.`
    const topic = createTopicCatalogue(prefix).alerts.name
    await createTopics(kafkaBrokers, [{ name: topic }])
    const text = 'CN \u009b2J \u0085 \u202eevil\u202c \u2066x\u2069 \u007f \u001b]0;t\u0007'
    const alert = testAlert('a1', {
      rule: `r ${text}`,
      message: `Tariff escalation ${text}`,
      evidence: [{ headlineId: 'h', headline: `h ${text}`, score: -0.8, cues: [`c ${text}`] }],
    })
    const producer = await testProducer(kafkaBrokers)
    try {
      await producer.send({ topic, messages: [{ value: JSON.stringify(alert) }] })
    } finally {
      await producer.disconnect()
    }
    const tail = spawnCli(['tail', 'alerts', '--from-beginning', '--json'], {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      TRADEPULSE_TOPIC_PREFIX: prefix,
    })
    try {
      await waitFor(() => tail.output.out.includes('\n'), { what: 'the alert printed' })
      const line = tail.output.out.split('\n')[0]!
      expect(line).not.toMatch(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/u)
      expect(line).toContain(
        'Tariff escalation CN \\u009b2J \\u0085 \\u202eevil\\u202c \\u2066x\\u2069 \\u007f ',
      )
      expect(JSON.parse(line)).toEqual(alert)
    } finally {
      tail.child.kill('SIGTERM')
      await tail.exited
    }
  })
})

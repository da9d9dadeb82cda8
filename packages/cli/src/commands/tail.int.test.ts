import { createTopicCatalogue } from '@tradepulse/contracts'
import { createTopics, randomName, testInfra } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { cli, expectOneLine } from '../test-helpers.ts'

describe('tradepulse tail alerts --desk on Kafka', { timeout: 60_000 }, () => {
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
})

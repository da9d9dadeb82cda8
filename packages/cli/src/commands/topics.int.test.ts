import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createTopicCatalogue, listTopics } from '@tradepulse/contracts'
import { createTopics, randomName, testInfra } from '@tradepulse/testing'
import { testKafka } from '@tradepulse/testing/kafka'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const MAIN = join(import.meta.dirname, '..', 'main.ts')

describe('tradepulse topics create on Kafka', () => {
  const { kafkaBrokers } = testInfra()

  it("creates the catalogue and, with --desks, every desk's topic of the desks file; again, nothing", async () => {
    const prefix = `${randomName('topics')}.`
    const file = join(mkdtempSync(join(tmpdir(), 'topics-')), 'desks.yaml')
    writeFileSync(
      file,
      'version: t-1\ndesks:\n  - id: fx\n    scopes: ["*"]\n  - id: metals\n    scopes: ["commodity:*"]\n',
    )
    const env = { ...process.env, KAFKA_BROKERS: kafkaBrokers.join(','), TRADEPULSE_TOPIC_PREFIX: prefix }
    const first = await run(process.execPath, [MAIN, 'topics', 'create', '--desks', file, '--desk', 'fx'], {
      env,
    })
    const catalogue = createTopicCatalogue(prefix)
    const expected = [
      ...listTopics(catalogue).map((t) => t.name),
      catalogue.deskAlerts('fx').name,
      catalogue.deskAlerts('metals').name,
    ]
    expect(first.stdout.trim().split('\n')).toEqual(expected.map((n) => `created  ${n}`))
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    try {
      const existing = new Set(await admin.listTopics())
      expect(expected.filter((n) => !existing.has(n))).toEqual([])
    } finally {
      await admin.disconnect()
    }
    const again = await run(process.execPath, [MAIN, 'topics', 'create', '--desks', file], { env })
    expect(again.stdout.trim().split('\n')).toEqual(expected.map((n) => `exists   ${n}`))
  })

  it("sets the catalogue's timestamp type on a headlines.scored created before it said, keeping its retention; again, nothing", async () => {
    const prefix = `${randomName('topics')}.`
    const catalogue = createTopicCatalogue(prefix)
    const scored = catalogue.scored.name
    // As an earlier `topics create` made it: no message.timestamp.type (the broker's CreateTime).
    await createTopics(kafkaBrokers, [{ name: scored, config: { 'retention.ms': '2592000000' } }])
    const env = { ...process.env, KAFKA_BROKERS: kafkaBrokers.join(','), TRADEPULSE_TOPIC_PREFIX: prefix }
    const first = await run(process.execPath, [MAIN, 'topics', 'create'], { env })
    expect(first.stdout.trim().split('\n')).toEqual(
      listTopics(catalogue).map((t) =>
        t.name === scored
          ? `updated  ${scored}  message.timestamp.type CreateTime -> LogAppendTime`
          : `created  ${t.name}`,
      ),
    )
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    try {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: scored }],
      })
      const set = Object.fromEntries(
        resources[0]!.configEntries
          .filter((e) => e.configSource === 1)
          .map((e) => [e.configName, e.configValue]),
      )
      expect(set).toEqual({ 'retention.ms': '2592000000', 'message.timestamp.type': 'LogAppendTime' })
    } finally {
      await admin.disconnect()
    }
    const again = await run(process.execPath, [MAIN, 'topics', 'create'], { env })
    expect(again.stdout.trim().split('\n')).toEqual(listTopics(catalogue).map((t) => `exists   ${t.name}`))
  })

  it('warns of an existing indicators topic made with delete, leaving it as it is; not of the topics as the catalogue specifies them', async () => {
    const prefix = `${randomName('topics')}.`
    const catalogue = createTopicCatalogue(prefix)
    const indicators = catalogue.indicators.name
    // Pre-created by hand with the broker's defaults for the policy and retention (delete, 7 days), its
    // timestamp type as the catalogue's.
    await createTopics(kafkaBrokers, [
      {
        name: indicators,
        partitions: catalogue.indicators.partitions,
        config: {
          'cleanup.policy': 'delete',
          'retention.ms': '604800000',
          'message.timestamp.type': 'LogAppendTime',
        },
      },
    ])
    const env = { ...process.env, KAFKA_BROKERS: kafkaBrokers.join(','), TRADEPULSE_TOPIC_PREFIX: prefix }
    const warnings = (stderr: string) =>
      stderr.split('\n').filter((l) => l.startsWith('tradepulse: warning: '))
    const first = await run(process.execPath, [MAIN, 'topics', 'create'], { env })
    expect(first.stdout.trim().split('\n')).toEqual(
      listTopics(catalogue).map((t) => `${t.name === indicators ? 'exists ' : 'created'}  ${t.name}`),
    )
    const expected = [
      `tradepulse: warning: ${indicators} has cleanup.policy=delete, where the catalogue sets compact: its records are deleted after retention.ms (7 d), each key's latest value with them, where compaction keeps it for ever (set it with \`kafka-configs --alter --entity-type topics --entity-name ${indicators} --add-config cleanup.policy=compact\`)`,
      `tradepulse: warning: ${indicators} has retention.ms=604800000, where the catalogue sets -1: its records are deleted after 7 d, where the catalogue keeps them for ever: a replay, a rebuild or a reader behind finds them gone (set it with \`kafka-configs --alter --entity-type topics --entity-name ${indicators} --add-config retention.ms=-1\`)`,
    ]
    expect(warnings(first.stderr)).toEqual(expected)
    // Again: every other topic now exists as specified, and is not warned of; the indicators topic still is.
    const again = await run(process.execPath, [MAIN, 'topics', 'create'], { env })
    expect(again.stdout.trim().split('\n')).toEqual(listTopics(catalogue).map((t) => `exists   ${t.name}`))
    expect(warnings(again.stderr)).toEqual(expected)
  })

  it('names the desks file, the flag it came from and the reason when it cannot be read', async () => {
    const err = await run(
      process.execPath,
      [MAIN, 'topics', 'create', '--desks', '/nonexistent/desks.yaml'],
      {
        env: { ...process.env, KAFKA_BROKERS: kafkaBrokers.join(','), TRADEPULSE_TOPIC_PREFIX: 'unused.' },
      },
    ).catch((e: { code: number; stderr: string }) => e)
    expect(err).toMatchObject({ code: 78 })
    // The file came from the flag, not from ALERTER_DESKS_FILE.
    expect((err as { stderr: string }).stderr).toMatch(
      /^tradepulse: --desks \/nonexistent\/desks\.yaml: cannot read it: no such file/,
    )
  })
})

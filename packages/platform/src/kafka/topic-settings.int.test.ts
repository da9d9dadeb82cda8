import { Writable } from 'node:stream'
import type { TopicSpec } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { BaseConfig, loadConfig } from '../config.ts'
import { createKafkaWorker, topicsAtStart } from '../kafka-worker.ts'
import { createLogger } from '../logger.ts'
import { kafkaBrokers, quietKafka, randomName, testCleanups } from './int-test-support.ts'
import { createTopicsWithLeaders, ensureTopics, topicSettingsDrift } from './kafka-client.ts'

// Existing topics set up otherwise than the catalogue says (pre-created by hand, by an older catalogue)
// are named at a worker's start and by `topics create`: an indicators topic made with delete instead of
// compact silently lost its readings after 7 days, only message.timestamp.type being checked.

const DAY_MS = 86_400_000

const spec = (name: string, over: Partial<TopicSpec> = {}): TopicSpec => ({
  name,
  schema: z.unknown(),
  partitions: 2,
  retentionMs: 30 * DAY_MS,
  compacted: false,
  ...over,
})

/** As the catalogue's indicators topic: compacted, kept for ever. */
const compacted = (name: string) => spec(name, { compacted: true, retentionMs: -1 })

describe('topic settings unlike the catalogue, on the real broker', () => {
  const { cleanups, connected } = testCleanups()

  async function admin() {
    return connected(quietKafka(randomName('settings-admin')).admin())
  }

  async function preCreate(
    topics: { topic: string; partitions: number; config: Record<string, string> }[],
  ): Promise<void> {
    const a = await admin()
    await createTopicsWithLeaders(
      a,
      topics.map((t) => ({
        topic: t.topic,
        numPartitions: t.partitions,
        replicationFactor: 1,
        configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
      })),
    )
    cleanups.push(() => a.deleteTopics({ topics: topics.map((t) => t.topic) }))
  }

  it('names a compacted topic made with delete, fewer partitions and a shorter retention; not a topic as specified', async () => {
    const [asDelete, right, fewer, shorter, missing] = ['delete', 'right', 'fewer', 'short', 'missing'].map(
      (n) => randomName(`settings-${n}`),
    ) as [string, string, string, string, string]
    await preCreate([
      // indicators.v1 pre-created by hand with the broker's defaults: delete, 7 days.
      {
        topic: asDelete,
        partitions: 2,
        config: { 'cleanup.policy': 'delete', 'retention.ms': String(7 * DAY_MS) },
      },
      { topic: fewer, partitions: 1, config: { 'retention.ms': String(30 * DAY_MS) } },
      { topic: shorter, partitions: 2, config: { 'retention.ms': String(DAY_MS) } },
    ])
    const a = await admin()
    await ensureTopics(a, [compacted(right)])
    cleanups.push(() => a.deleteTopics({ topics: [right] }))

    const drift = await topicSettingsDrift(a, [
      compacted(asDelete),
      compacted(right),
      spec(fewer, { partitions: 3 }),
      spec(shorter),
      spec(missing),
    ])
    expect(drift.map(({ name, setting, actual, wanted }) => ({ name, setting, actual, wanted }))).toEqual([
      { name: asDelete, setting: 'cleanup.policy', actual: 'delete', wanted: 'compact' },
      { name: asDelete, setting: 'retention.ms', actual: String(7 * DAY_MS), wanted: '-1' },
      { name: fewer, setting: 'partitions', actual: '1', wanted: '3' },
      { name: shorter, setting: 'retention.ms', actual: String(DAY_MS), wanted: String(30 * DAY_MS) },
    ])
    expect(drift[0]!.consequence).toContain("each key's latest value with them")
    // Nothing created on the way.
    expect(await a.listTopics()).not.toContain(missing)
  })

  it("warns at a worker's start of a compacted topic it writes that was made with delete, and runs on; not of one as specified", async () => {
    const [asDelete, right] = [randomName('settings-delete'), randomName('settings-right')]
    await preCreate([
      {
        topic: asDelete,
        partitions: 2,
        config: { 'cleanup.policy': 'delete', 'retention.ms': String(7 * DAY_MS) },
      },
    ])
    const a = await admin()
    await ensureTopics(a, [compacted(right)])
    cleanups.push(() => a.deleteTopics({ topics: [right] }))

    const lines: { level: number; msg: string; topic?: string }[] = []
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l))
        done()
      },
    })
    const config = loadConfig(BaseConfig, {
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_GROUP_ID: randomName('settings-group'),
      HTTP_PORT: '0',
    })
    const worker = createKafkaWorker({
      worker: 'probe',
      config,
      log: createLogger({ level: 'warn', pretty: false }, sink),
      inputTopics: [right],
      dlqTopic: asDelete,
      defaultHttpPort: 0,
      handler: async (rs) => rs.map(() => ({ kind: 'ok' as const })),
      ...topicsAtStart(false, [compacted(asDelete), compacted(right)], [asDelete]),
    })
    cleanups.push(() => worker.stop())
    await worker.start()
    expect((await worker.health()).checks.consumer?.status).toBe('ok')
    const warned = lines.filter((l) => l.level === 40).map((l) => l.msg)
    expect(warned.filter((m) => m.startsWith(`${asDelete} has cleanup.policy=delete`))).toEqual([
      `${asDelete} has cleanup.policy=delete, where the catalogue sets compact: its records are deleted after retention.ms (7 d), each key's latest value with them, where compaction keeps it for ever (set it with \`kafka-configs --alter --entity-type topics --entity-name ${asDelete} --add-config cleanup.policy=compact\`)`,
    ])
    expect(warned.filter((m) => m.startsWith(`${right} `))).toEqual([])
  })
})

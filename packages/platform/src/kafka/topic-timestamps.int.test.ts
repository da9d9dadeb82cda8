import type { TopicSpec } from '@tradepulse/contracts'
import { type Admin, CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { kafkaBrokers, randomName, waitFor } from './int-test-support.ts'
import {
  alignTimestampTypes,
  createTopicsWithLeaders,
  ensureTopics,
  timestampTypeDrift,
} from './kafka-client.ts'

const HOUR_MS = 3_600_000

const spec = (name: string, timestampType?: TopicSpec['timestampType']): TopicSpec => ({
  name,
  schema: z.unknown(),
  partitions: 1,
  retentionMs: 7 * 24 * HOUR_MS,
  compacted: false,
  ...(timestampType ? { timestampType } : {}),
})

describe('topic timestamp types on the real broker', () => {
  const brokers = kafkaBrokers()
  const kafka = new Kafka({ clientId: randomName('ts-test'), brokers, logLevel: logLevel.NOTHING })
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  async function connectedAdmin(): Promise<Admin> {
    const admin = kafka.admin()
    await admin.connect()
    cleanups.push(() => admin.disconnect())
    return admin
  }

  /** The values set on the topic itself (not the broker's defaults). */
  async function topicSettings(admin: Admin, topic: string): Promise<Record<string, string>> {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: topic }],
    })
    return Object.fromEntries(
      (resources[0]?.configEntries ?? [])
        .filter((e) => e.configSource === 1)
        .map((e) => [e.configName, e.configValue]),
    )
  }

  it("creates a LogAppendTime topic, whose records kafkajs reads at the broker's time whatever the producer stamped, in every codec", async () => {
    const admin = await connectedAdmin()
    const topic = randomName('ts-append')
    expect(await ensureTopics(admin, [spec(topic, 'LogAppendTime')])).toEqual([topic])
    expect(await topicSettings(admin, topic)).toMatchObject({ 'message.timestamp.type': 'LogAppendTime' })

    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    cleanups.push(() => producer.disconnect())
    // A producer whose clock runs an hour behind, in batches of three (one request each) per codec.
    const codecs = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy]
    const before = Date.now()
    for (const compression of codecs)
      await producer.send({
        topic,
        compression,
        messages: [0, 1, 2].map((i) => ({
          key: `${compression}-${i}`,
          value: 'x',
          timestamp: String(before - HOUR_MS + i * 1_000),
        })),
      })
    const after = Date.now()

    const read: { key: string; timestamp: number }[] = []
    const consumer = kafka.consumer({ groupId: randomName('ts-reader'), maxWaitTimeInMs: 50 })
    await consumer.connect()
    cleanups.push(() => consumer.disconnect())
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        read.push({ key: String(message.key), timestamp: Number(message.timestamp) })
      },
    })
    await waitFor(() => (read.length >= 9 ? true : undefined), 'the nine records')
    // Each record at its batch's append time (the broker's clock; this machine's), not at the hour-old
    // time its producer gave, nor that plus its offset in the batch.
    for (const r of read) {
      expect(r.timestamp, r.key).toBeGreaterThanOrEqual(before)
      expect(r.timestamp, r.key).toBeLessThanOrEqual(after)
    }
    for (const c of codecs) {
      const batch = read.filter((r) => r.key.startsWith(`${c}-`)).map((r) => r.timestamp)
      expect(new Set(batch).size, `codec ${c}`).toBe(1)
    }
    // The broker's time index answers by append time too (a rebuild's --since).
    const [from] = await admin.fetchTopicOffsetsByTimestamp(topic, before - HOUR_MS / 2)
    expect(from?.offset).toBe('0')
  })

  it('names an existing topic with another timestamp type, and sets it keeping the values set on the topic; then none', async () => {
    const admin = await connectedAdmin()
    const old = randomName('ts-old')
    const right = randomName('ts-right')
    const untyped = randomName('ts-untyped')
    const missing = randomName('ts-missing')
    // Created as an earlier catalogue did: no timestamp type (the broker's CreateTime), its own retention
    // and an operator's max.message.bytes.
    await createTopicsWithLeaders(admin, [
      {
        topic: old,
        numPartitions: 1,
        replicationFactor: 1,
        configEntries: [
          { name: 'cleanup.policy', value: 'delete' },
          { name: 'retention.ms', value: '123456789' },
          { name: 'max.message.bytes', value: '2000000' },
        ],
      },
    ])
    await ensureTopics(admin, [spec(right, 'LogAppendTime'), spec(untyped)])
    const specs = [
      spec(old, 'LogAppendTime'),
      spec(right, 'LogAppendTime'),
      spec(untyped),
      spec(missing, 'LogAppendTime'),
    ]
    const drift = [{ name: old, actual: 'CreateTime', wanted: 'LogAppendTime' }]
    expect(await timestampTypeDrift(admin, specs)).toEqual(drift)
    expect(await alignTimestampTypes(admin, specs)).toEqual(drift)
    expect(await topicSettings(admin, old)).toEqual({
      'cleanup.policy': 'delete',
      'retention.ms': '123456789',
      'max.message.bytes': '2000000',
      'message.timestamp.type': 'LogAppendTime',
    })
    expect(await timestampTypeDrift(admin, specs)).toEqual([])
    expect(await alignTimestampTypes(admin, specs)).toEqual([])
    // Nothing was created on the way.
    expect(await admin.listTopics()).not.toContain(missing)
  })
})

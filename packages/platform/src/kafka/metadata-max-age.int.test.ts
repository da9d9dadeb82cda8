import { type Admin, Partitioners } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { BaseConfig, loadConfig } from '../config.ts'
import { createLogger } from '../logger.ts'
import { createMetrics } from '../metrics.ts'
import {
  kafkaBrokers,
  probeRunnerConfig,
  quietKafka,
  randomName,
  startJoining,
  testCleanups,
  until,
  waitFor,
} from './int-test-support.ts'
import { createTopicsWithLeaders, kafkaClientConfig } from './kafka-client.ts'
import { createKafkaTransport } from './kafka-transport.ts'
import type { InRecord } from './records.ts'

// Partitions added to a topic: a worker's consumer reads them, and its producer writes to them, within
// KAFKA_METADATA_MAX_AGE_MS (2 s here). With kafkajs's default age (300 s) neither happened for five
// minutes, and these tests timed out.

const silent = createLogger({ level: 'silent' })

describe('partitions added to a topic, on the real broker', () => {
  const { cleanups, connected } = testCleanups()
  const config = loadConfig(BaseConfig, {
    KAFKA_BROKERS: kafkaBrokers().join(','),
    KAFKA_METADATA_MAX_AGE_MS: '2000',
  })
  /** A worker's transport made of the configuration, as createKafkaWorker makes it. */
  const workerTransport = () => createKafkaTransport(kafkaClientConfig(config, randomName('age')), silent)

  async function oneTopic(): Promise<{ topic: string; admin: Admin }> {
    const admin = await connected(quietKafka(randomName('age-admin')).admin())
    const topic = randomName('age')
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }])
    cleanups.push(() => admin.deleteTopics({ topics: [topic] }))
    return { topic, admin }
  }

  /** Waits until the broker shows `count` partitions of `topic`, each with a leader. */
  const partitionsLed = (admin: Admin, topic: string, count: number) =>
    until(async () => {
      const [t] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics
      return t?.partitions.length === count && t.partitions.every((p) => p.leader >= 0)
    }, `${count} partitions with a leader`)

  it("a worker's consumer reads a partition added while it runs", async () => {
    const { topic, admin } = await oneTopic()
    const seen: InRecord[] = []
    const runner = workerTransport().createRunner(
      async (records) => {
        seen.push(...records)
        return records.map(() => ({ kind: 'ok' as const }))
      },
      probeRunnerConfig(topic, randomName('age-group')),
      silent,
      createMetrics(randomName('age')),
    )
    cleanups.push(() => runner.stop())
    await startJoining(runner, 'the runner joining its group')
    // A writer of its own, its metadata fresh at each send: it knows the new partition at once.
    const writer = await connected(
      quietKafka(randomName('age-writer')).producer({ createPartitioner: Partitioners.DefaultPartitioner }),
    )
    await writer.send({ topic, messages: [{ partition: 0, key: 'a', value: 'before' }] })
    await waitFor(() => seen.some((r) => r.value?.toString() === 'before'), 'the record on partition 0')

    await admin.createPartitions({ topicPartitions: [{ topic, count: 2 }] })
    await partitionsLed(admin, topic, 2)
    const fresh = await connected(
      quietKafka(randomName('age-writer')).producer({ createPartitioner: Partitioners.DefaultPartitioner }),
    )
    await fresh.send({ topic, messages: [{ partition: 1, key: 'b', value: 'after' }] })
    const read = await waitFor(
      () => seen.find((r) => r.value?.toString() === 'after'),
      'the record on the added partition',
    )
    expect(read.partition).toBe(1)
  })

  it("a worker's producer writes to partitions added after its first send", async () => {
    const { topic, admin } = await oneTopic()
    const publisher = workerTransport().createPublisher()
    cleanups.push(() => publisher.close())
    await publisher.send([{ topic, key: 'k-0', value: 'x' }])

    await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] })
    await partitionsLed(admin, topic, 4)
    let sent = 1
    // Eight keys a round: with four partitions, one of them lands past partition 0 in all but 1 in 65536.
    await until(async () => {
      await publisher.send(Array.from({ length: 8 }, () => ({ topic, key: `k-${sent++}`, value: 'x' })))
      // Asked of a new client: the admin's own metadata may still have the one partition.
      const reader = quietKafka(randomName('age-reader')).admin()
      await reader.connect()
      try {
        const offsets = await reader.fetchTopicOffsets(topic)
        return offsets.some((o) => o.partition > 0 && Number(o.high) > 0)
      } finally {
        await reader.disconnect()
      }
    }, 'a record written to an added partition')
  })
})

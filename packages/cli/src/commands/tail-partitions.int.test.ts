import {
  createTopics,
  randomName,
  testAlert,
  testInfra,
  testKafka,
  testProducer,
  waitFor,
} from '@tradepulse/testing'
import type { Kafka } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { type FollowKafka, followTopic } from './tail.ts'

/**
 * followTopic on the real broker, its consumer's metadata expiring after 2 s (kafkajs's default is 5 min,
 * KAFKA_METADATA_MAX_AGE_MS): a partition added is seen by a rejoin within it. `beforeJoin` runs once the
 * starting offsets are taken, before the consumer connects. `ready` resolves at `started`, where the CLI
 * prints its "Following" line, the starting offsets taken: a record written before it may be below them,
 * never shown (rejects if followTopic does).
 */
function follow(kafka: Kafka, topic: string, beforeJoin: () => Promise<void> = async () => {}) {
  const shown: string[] = []
  const rewound: string[] = []
  const joins: Record<string, number[]>[] = []
  const seam: FollowKafka = {
    admin: () => kafka.admin(),
    consumer: (config) => {
      const consumer = kafka.consumer({ ...config, metadataMaxAge: 2_000 })
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => void joins.push(payload.memberAssignment))
      const connect = consumer.connect
      return Object.assign(consumer, {
        connect: async () => {
          await beforeJoin()
          await connect()
        },
      })
    },
  }
  let closing: (() => Promise<void>) | undefined
  let started!: () => void
  const isStarted = new Promise<void>((resolve) => {
    started = resolve
  })
  const followed = followTopic(seam, {
    topic,
    groupId: randomName('tail-partitions'),
    fromBeginning: false,
    maxWaitTimeInMs: 100,
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
    started: () => started(),
    opened: (consumer) => {
      closing = () => consumer.disconnect()
    },
    onMessage: (partition, message) => void shown.push(`[${partition}]@${message.offset} ${message.value}`),
    rewound: (partition, was, now) => void rewound.push(`[${partition}] ${was} -> ${now}`),
  })
  let failed: unknown
  followed.catch((err) => {
    failed = err
  })
  const ready = Promise.race([isStarted, followed])
  return { shown, rewound, joins, ready, failed: () => failed, close: async () => closing?.() }
}

const value = (id: string) => JSON.stringify(testAlert(id))

describe('tail alerts on a topic changed while it runs', { timeout: 90_000 }, () => {
  const { kafkaBrokers } = testInfra()

  // A partition not known at the start was read from where a new group subscribed to new records starts,
  // its end once kafkajs's metadata had it: each record written to it before was never shown.
  it('shows every record of the partitions added since its start, those written before it saw them too, once', async () => {
    const topic = randomName('tail-grown')
    await createTopics(kafkaBrokers, [{ name: topic, partitions: 2 }])
    const kafka = testKafka(kafkaBrokers)
    const admin = kafka.admin()
    await admin.connect()
    const send = async (records: { partition: number; id: string }[]) => {
      // A fresh producer: its metadata has the partitions just added.
      const producer = await testProducer(kafkaBrokers)
      try {
        await producer.send({
          topic,
          messages: records.map((r) => ({ partition: r.partition, value: value(r.id) })),
        })
      } finally {
        await producer.disconnect()
      }
    }
    const grow = async (count: number) => {
      await admin.createPartitions({ topicPartitions: [{ topic, count }] })
      await waitFor(async () => (await admin.fetchTopicOffsets(topic)).length === count, {
        what: `${count} partitions`,
      })
    }
    // Added after the offsets were taken and written to before the first join: the join is sure to come
    // after the record.
    const tail = follow(kafka, topic, async () => {
      await grow(3)
      await send([{ partition: 2, id: 'P2-0' }])
    })
    try {
      const id = (line: string) => JSON.parse(line.slice(line.indexOf(' ') + 1)).id as string
      const shownIds = () => tail.shown.map(id)
      await tail.ready
      await send([{ partition: 0, id: 'P0-0' }])
      await waitFor(() => shownIds().includes('P0-0') || tail.failed(), { what: 'the first record shown' })
      // Added while it runs: seen once its metadata expires, the record written before that is shown too.
      await grow(4)
      await send([{ partition: 3, id: 'P3-0' }])
      await waitFor(() => tail.joins.some((j) => j[topic]?.length === 4) || tail.failed(), {
        what: 'a join with the 4 partitions',
      })
      await send([
        { partition: 2, id: 'P2-1' },
        { partition: 3, id: 'P3-1' },
      ])
      await waitFor(() => (shownIds().includes('P2-1') && shownIds().includes('P3-1')) || tail.failed(), {
        what: 'the later records shown',
      })
      expect(tail.failed()).toBeUndefined()
      expect(shownIds().sort()).toEqual(['P0-0', 'P2-0', 'P2-1', 'P3-0', 'P3-1'])
      expect(tail.shown.map((l) => l.slice(0, l.indexOf(' '))).sort()).toEqual([
        '[0]@0',
        '[2]@0',
        '[2]@1',
        '[3]@0',
        '[3]@1',
      ])
    } finally {
      await tail.close()
      await admin.disconnect()
    }
  })

  // Its next offsets pointed past the new topic's end: kafkajs put the consumer at the end, and no record
  // below the old topic's offsets was taken, so nothing was shown until the new topic passed them.
  it('shows the records of a topic deleted and made again while it runs, saying it reads it from its start', async () => {
    const topic = randomName('tail-recreated')
    await createTopics(kafkaBrokers, [{ name: topic }])
    const kafka = testKafka(kafkaBrokers)
    const admin = kafka.admin()
    await admin.connect()
    const send = async (ids: string[]) => {
      const producer = await testProducer(kafkaBrokers)
      try {
        await producer.send({ topic, messages: ids.map((id) => ({ value: value(id) })) })
      } finally {
        await producer.disconnect()
      }
    }
    await send(['OLD-0', 'OLD-1', 'OLD-2'])
    const tail = follow(kafka, topic)
    try {
      const shownIds = () => tail.shown.map((l) => JSON.parse(l.slice(l.indexOf(' ') + 1)).id as string)
      await tail.ready
      await send(['OLD-3'])
      await waitFor(() => shownIds().includes('OLD-3') || tail.failed(), { what: 'the first record shown' })
      await admin.deleteTopics({ topics: [topic] })
      // Made again once the broker has let the old one go.
      await waitFor(
        async () => {
          try {
            await createTopics(kafkaBrokers, [{ name: topic }])
            return true
          } catch {
            return false
          }
        },
        { what: 'the topic made again' },
      )
      await send(['NEW-0', 'NEW-1'])
      await waitFor(() => shownIds().includes('NEW-1') || tail.failed(), {
        what: 'the new records shown',
      })
      expect(tail.failed()).toBeUndefined()
      expect(shownIds()).toEqual(['OLD-3', 'NEW-0', 'NEW-1'])
      expect(tail.rewound).toEqual(['[0] 4 -> 0'])
    } finally {
      await tail.close()
      await admin.disconnect()
    }
  })
})

import { createTopicsWithLeaders } from '@tradepulse/platform'
import { type Admin, type Consumer, Kafka, logLevel, Partitioners, type Producer } from 'kafkajs'
import { randomName } from './random-name.ts'

export type CollectedMessage = {
  topic: string
  partition: number
  offset: string
  key: string | null
  value: Buffer | null
  headers: Record<string, string>
  timestamp: number
}

export function testKafka(brokers: string[]): Kafka {
  return new Kafka({ clientId: randomName('test'), brokers, logLevel: logLevel.NOTHING })
}

/** Runs `work` with a connected admin client, disconnected afterwards whatever happens. */
async function withAdmin<T>(brokers: string[], work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = testKafka(brokers).admin()
  await admin.connect()
  try {
    return await work(admin)
  } finally {
    await admin.disconnect()
  }
}

/**
 * Creates topics, waiting for their leaders (platform's createTopicsWithLeaders: kafkajs's own wait gives
 * up at the UNKNOWN_TOPIC_OR_PARTITION a loaded broker answers for a topic it has just created; 6 and 15
 * of 150 creations failed so at a load of 10, none of 300 with the wait).
 */
export async function createTopics(
  brokers: string[],
  topics: { name: string; partitions?: number; config?: Record<string, string> }[],
): Promise<void> {
  await withAdmin(brokers, (admin) =>
    createTopicsWithLeaders(
      admin,
      topics.map((t) => ({
        topic: t.name,
        numPartitions: t.partitions ?? 1,
        replicationFactor: 1,
        ...(t.config
          ? { configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })) }
          : {}),
      })),
    ),
  )
}

export async function deleteTopicsWithPrefix(brokers: string[], prefix: string): Promise<void> {
  await deleteTopicsWhere(brokers, (t) => t.startsWith(prefix))
}

/** Deletes the topics `which` selects; returns how many. */
export function deleteTopicsWhere(brokers: string[], which: (topic: string) => boolean): Promise<number> {
  return withAdmin(brokers, async (admin) => {
    const topics = (await admin.listTopics()).filter(which)
    if (topics.length) await admin.deleteTopics({ topics })
    return topics.length
  })
}

export function listTopicNames(brokers: string[]): Promise<string[]> {
  return withAdmin(brokers, (admin) => admin.listTopics())
}

export async function testProducer(brokers: string[]): Promise<Producer> {
  // Idempotent: a send retried after a timeout on a loaded broker writes its records once (a rebuild
  // counting the records it read saw 402 of 400).
  const producer = testKafka(brokers).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  })
  await producer.connect()
  return producer
}

/** Reads a topic from the beginning into an array, until stopped. */
export async function collectTopic(
  brokers: string[],
  topic: string,
): Promise<{ messages: CollectedMessage[]; stop(): Promise<void> }> {
  const messages: CollectedMessage[] = []
  const consumer: Consumer = testKafka(brokers).consumer({
    groupId: randomName('collector'),
    maxWaitTimeInMs: 50,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ topic: t, partition, message }) => {
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v)
      messages.push({
        topic: t,
        partition,
        offset: message.offset,
        key: message.key ? message.key.toString() : null,
        value: message.value,
        headers,
        timestamp: Number(message.timestamp),
      })
    },
  })
  return { messages, stop: () => consumer.disconnect() }
}

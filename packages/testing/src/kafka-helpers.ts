import { createTopicsWithLeaders } from '@tradepulse/platform'
import { type Admin, type Consumer, Kafka, logLevel, Partitioners, type Producer } from 'kafkajs'
import { randomName } from './random-name.ts'
import { waitFor } from './wait-for.ts'

export type CollectedMessage = {
  topic: string
  partition: number
  offset: string
  key: string | null
  value: Buffer | null
  /** A header given once: its value; given more than once: its values, in order. */
  headers: Record<string, string | string[]>
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

/**
 * Whether `groupId` has committed every partition of each of `topics` to its end (its last stable offset):
 * every record there handled, its outputs acknowledged. With a collector's caughtUp() after it, an absence
 * in a worker's output topic is proven: nothing it read can still be on its way.
 */
export function groupCommittedToEnd(brokers: string[], groupId: string, topics: string[]): Promise<boolean> {
  return withAdmin(brokers, async (admin) => {
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic)
      const [group] = await admin.fetchOffsets({ groupId, topics: [topic] })
      for (const e of ends) {
        const committed = Number(group?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1)
        if (Number(e.high) > Number(e.low) && committed < Number(e.high)) return false
      }
    }
    return true
  })
}

/** A collector of a topic's records: see collectTopic. */
export type TopicCollector = {
  /** The records read so far, in the order read (per partition, in offset order). */
  messages: CollectedMessage[]
  /**
   * Resolves once the collector has read every record the topic holds now (to each partition's last stable
   * offset, read as this is called). An absence asserted after it is one the topic's contents prove: "no
   * record X" right after an awaited write can pass only because the collector has not fetched X yet.
   */
  caughtUp(): Promise<void>
  stop(): Promise<void>
}

/**
 * Each partition of `topic` with its first and next offsets (under read_committed: a transaction left open
 * ends it), asked again while the broker answers with an error (a topic just created can have no leader
 * yet on a loaded broker: NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION), each time on a fresh client.
 */
function partitionEnds(
  brokers: string[],
  topic: string,
  timeoutMs: number,
): Promise<{ partition: number; low: bigint; high: bigint }[]> {
  return waitFor(
    () =>
      withAdmin(brokers, async (admin) =>
        (await admin.fetchTopicOffsets(topic)).map((p) => ({
          partition: p.partition,
          low: BigInt(p.low),
          high: BigInt(p.high),
        })),
      ),
    { timeoutMs, what: `the offsets of ${topic}` },
  )
}

/**
 * Reads a topic from the beginning into an array, until stopped. It returns once its consumer has joined
 * its group with every partition of the topic assigned and has read each partition to the end it had when
 * collectTopic was called (the last stable offset: a transaction left open is not waited for, its records
 * come once it commits). So `messages` holds at its return every record the topic held before, and "nothing
 * has arrived" then says something; anything sent later is collected as it comes. Before an absence is
 * asserted on records written after that, await `caughtUp()`.
 *
 * `headers`: a header given once is its value as a string; a header given more than once is the list of
 * its values, in order (two headers `a` and `b` are `['a', 'b']`, not one `a,b`).
 */
export async function collectTopic(
  brokers: string[],
  topic: string,
  { timeoutMs = 60_000 }: { timeoutMs?: number } = {},
): Promise<TopicCollector> {
  // The ends to reach, read before the consumer starts: everything sent before this call is below them.
  const ends = await partitionEnds(brokers, topic, timeoutMs)
  const messages: CollectedMessage[] = []
  /** The next offset to read, per partition, as far as this consumer has read. */
  const positions = new Map<number, bigint>()
  const advance = (partition: number, offset: string) => {
    const next = BigInt(offset) + 1n
    if (next > (positions.get(partition) ?? -1n)) positions.set(partition, next)
  }
  let assigned: number[] = []
  let crashed: Error | undefined
  const consumer: Consumer = testKafka(brokers).consumer({
    groupId: randomName('collector'),
    maxWaitTimeInMs: 50,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
  })
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    assigned = payload.memberAssignment[topic] ?? []
  })
  // Batches of control records or aborted records alone reach no eachMessage: their end comes here.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic === topic) advance(payload.partition, payload.lastOffset)
  })
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    crashed = payload.error
  })
  /** Waits until every partition of `to` is assigned and read to its end there. */
  const readTo = (to: { partition: number; low: bigint; high: bigint }[], what: string) =>
    waitFor(
      () => {
        if (crashed) throw crashed
        return to.every(
          (e) =>
            assigned.includes(e.partition) &&
            (e.high <= e.low || (positions.get(e.partition) ?? -1n) >= e.high),
        )
      },
      {
        timeoutMs,
        what: `the collector of ${topic} to ${what} (partitions ${to.map((e) => e.partition).join(', ')} to offsets ${to.map((e) => e.high).join(', ')})`,
      },
    )
  try {
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        const headers: Record<string, string | string[]> = {}
        for (const [k, v] of Object.entries(message.headers ?? {})) {
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.map(String) : String(v)
        }
        messages.push({
          topic: t,
          partition,
          offset: message.offset,
          key: message.key ? message.key.toString() : null,
          value: message.value,
          headers,
          timestamp: Number(message.timestamp),
        })
        advance(partition, message.offset)
      },
    })
    await readTo(ends, 'join and read what the topic held')
  } catch (err) {
    await consumer.disconnect().catch(() => {})
    throw err
  }
  return {
    messages,
    caughtUp: async () => {
      await readTo(await partitionEnds(brokers, topic, timeoutMs), 'read to the end')
    },
    stop: () => consumer.disconnect(),
  }
}

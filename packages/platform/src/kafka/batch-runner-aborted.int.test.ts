import { type Admin, type Consumer, logLevel, type Producer } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../logger.ts'
import type { BatchRunnerConfig } from './batch-runner.ts'
import { kafkaBrokers, probeRunner, randomName, testCleanups, until, waitFor } from './int-test-support.ts'
import { createKafka, createTopicsWithLeaders } from './kafka-client.ts'
import type { BatchHandler, InRecord } from './records.ts'

const silent = createLogger({ level: 'silent' })

// With a transactional producer, a partition may end in records of an aborted transaction and its
// control record (the abort marker). A read_committed consumer (kafkajs's default) never sees them:
// kafkajs gives eachBatch no batch whose records are all filtered out (Batch.isEmptyDueToFiltering),
// and resolves such a batch itself. The runner must still commit past them, or the group's position
// stays before them (a lag in every lag tool) until a live record comes.
describe('batch runner over aborted transactions', () => {
  const brokers = kafkaBrokers()
  const kafka = createKafka({ brokers, clientId: randomName('aborted') }, silent, {
    logLevel: logLevel.NOTHING,
  })
  const { cleanups, connected } = testCleanups()

  async function inputTopic(admin: Admin, partitions: number): Promise<string> {
    const topic = `${randomName('aborted')}.in`
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: partitions, replicationFactor: 1 }])
    cleanups.push(() => admin.deleteTopics({ topics: [topic] }))
    return topic
  }

  async function transactional(): Promise<Producer> {
    const producer = kafka.producer({
      transactionalId: randomName('tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    })
    await producer.connect()
    cleanups.push(() => producer.disconnect())
    return producer
  }

  /** Writes `values` to `partition` in one transaction, then commits or aborts it. */
  async function inTransaction(
    producer: Producer,
    topic: string,
    partition: number,
    values: string[],
    end: 'commit' | 'abort',
  ): Promise<void> {
    const tx = await producer.transaction()
    await tx.send({ topic, messages: values.map((value) => ({ partition, value })) })
    await tx[end]()
  }

  /** The group's committed offset and the high watermark of each partition of `topic`. */
  async function positions(admin: Admin, groupId: string, topic: string) {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
    const ends = await admin.fetchTopicOffsets(topic)
    return ends
      .map((e) => ({
        partition: e.partition,
        high: Number(e.high),
        committed: Number(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1),
      }))
      .sort((a, b) => a.partition - b.partition)
  }

  const runner = (
    topic: string,
    groupId: string,
    handler: BatchHandler,
    over: Partial<BatchRunnerConfig> = {},
    consumers: Consumer[] = [],
  ) =>
    probeRunner(kafka, topic, groupId, handler, cleanups, {
      over: { heartbeatIntervalMs: 500, partitionsConcurrency: 2, ...over },
      seen: (c) => consumers.push(c),
    })

  const values = (records: InRecord[]) => records.map((r) => r.value!.toString())

  it.each([
    ['on its timer (KAFKA_COMMIT_INTERVAL_MS=20)', 20],
    ["with kafkajs's autoCommit (KAFKA_COMMIT_INTERVAL_MS=0)", 0],
  ])(
    'commits past aborted records that arrive at the end of a partition it has read, %s',
    async (_, interval) => {
      const admin = await connected(kafka.admin())
      const topic = await inputTopic(admin, 1)
      const groupId = randomName('aborted')
      const handled: string[] = []
      const r = runner(
        topic,
        groupId,
        async (records) => {
          handled.push(...values(records))
          return records.map(() => ({ kind: 'ok' as const }))
        },
        { commitIntervalMs: interval },
      )
      await r.start()
      const producer = await transactional()
      await inTransaction(producer, topic, 0, ['c0', 'c1', 'c2'], 'commit')
      // Read and committed (3 records and the commit marker) before the aborted ones are written.
      await until(
        async () => (await positions(admin, groupId, topic))[0]!.committed === 4,
        'offset 4 committed',
      )
      await inTransaction(producer, topic, 0, ['a0', 'a1'], 'abort')
      // 3 committed records, their commit marker, 2 aborted records and their abort marker.
      expect((await positions(admin, groupId, topic))[0]!.high).toBe(7)
      await until(
        async () => (await positions(admin, groupId, topic))[0]!.committed === 7,
        "the group's position at the high watermark (7)",
      )
      expect(handled).toEqual(['c0', 'c1', 'c2'])
    },
  )

  it('tells its position in a partition past the transaction markers and aborted records that end it', async () => {
    const admin = await connected(kafka.admin())
    const topic = await inputTopic(admin, 2)
    const groupId = randomName('aborted')
    const producer = await transactional()
    // Partition 0: c0 and its commit marker (high 2); partition 1: a0 and its abort marker (high 2).
    await inTransaction(producer, topic, 0, ['c0'], 'commit')
    await inTransaction(producer, topic, 1, ['a0'], 'abort')
    const handled: string[] = []
    const r = runner(topic, groupId, async (records) => {
      handled.push(...values(records))
      return records.map(() => ({ kind: 'ok' as const }))
    })
    const told = new Map<number, number>()
    const stop = r.onPosition!((t, partition, next) => {
      if (t === topic) told.set(partition, next)
    })
    cleanups.push(async () => stop())
    await r.start()
    await waitFor(
      () => (told.get(0) === 2 && told.get(1) === 2 ? true : undefined),
      'positions 2 and 2, past both markers',
    )
    // Then past a record and its marker that come live.
    await inTransaction(producer, topic, 0, ['c1'], 'commit')
    await waitFor(() => (told.get(0) === 4 ? true : undefined), 'position 4 on partition 0')
    expect(handled).toEqual(['c0', 'c1'])
  })

  it('commits past aborted records that are the first it fetches (a restart at them)', async () => {
    const admin = await connected(kafka.admin())
    const topic = await inputTopic(admin, 1)
    const groupId = randomName('aborted')
    const producer = await transactional()
    const handled: string[] = []
    const handler: BatchHandler = async (records) => {
      handled.push(...values(records))
      return records.map(() => ({ kind: 'ok' as const }))
    }
    // A first run reads c0 and c1 (and the commit marker) and stops; then come the aborted records.
    const first = runner(topic, groupId, handler)
    await first.start()
    await inTransaction(producer, topic, 0, ['c0', 'c1'], 'commit')
    await until(
      async () => (await positions(admin, groupId, topic))[0]!.committed === 3,
      'offset 3 committed',
    )
    await first.stop()
    await inTransaction(producer, topic, 0, ['a0', 'a1'], 'abort')
    handled.length = 0
    const r = runner(topic, groupId, handler)
    await r.start()
    expect((await positions(admin, groupId, topic))[0]!.high).toBe(6)
    await until(
      async () => (await positions(admin, groupId, topic))[0]!.committed === 6,
      'offset 6 committed',
    )
    // The next record is read and committed as usual.
    await inTransaction(producer, topic, 0, ['c2'], 'commit')
    await until(
      async () => (await positions(admin, groupId, topic))[0]!.committed === 8,
      'offset 8 committed',
    )
    expect(handled).toEqual(['c2'])
  })

  it('with event-time alignment, a partition that ends in aborted records does not hold the others', async () => {
    const admin = await connected(kafka.admin())
    const topic = await inputTopic(admin, 2)
    const groupId = randomName('aborted')
    const producer = await transactional()
    const handled: string[] = []
    const handler: BatchHandler = async (records) => {
      handled.push(...values(records))
      return records.map(() => ({ kind: 'ok' as const }))
    }
    const align = { aheadMs: 1_000, eventMs: (record: InRecord) => record.timestamp }
    // A first run reads partition 0 (c0 and the commit marker) and stops; then partition 0 gets aborted
    // records and partition 1 a backlog spanning a minute of event time.
    const first = runner(topic, groupId, handler, { align })
    await first.start()
    await inTransaction(producer, topic, 0, ['c0'], 'commit')
    await until(
      async () => (await positions(admin, groupId, topic))[0]!.committed === 2,
      'offset 2 committed',
    )
    await first.stop()
    handled.length = 0
    await inTransaction(producer, topic, 0, ['a0', 'a1'], 'abort')
    const plain = kafka.producer()
    await plain.connect()
    cleanups.push(() => plain.disconnect())
    const start = Date.now() - 60_000
    await plain.send({
      topic,
      messages: Array.from({ length: 6 }, (_, i) => ({
        partition: 1,
        value: `b${i}`,
        timestamp: String(start + i * 10_000),
      })),
    })
    const r = runner(topic, groupId, handler, { align })
    await r.start()
    await waitFor(() => (handled.length >= 6 ? true : undefined), "partition 1's backlog handled")
    expect(handled).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'b5'])
    await until(async () => {
      const [p0, p1] = await positions(admin, groupId, topic)
      return p0!.committed === p0!.high && p1!.committed === p1!.high
    }, 'both partitions committed to their ends')
  })

  it('commits nothing past aborted records while a deferred batch before them is unfinished', async () => {
    const admin = await connected(kafka.admin())
    const topic = await inputTopic(admin, 2)
    const groupId = randomName('aborted')
    const consumers: Consumer[] = []
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const handled: string[] = []
    const r = runner(
      topic,
      groupId,
      async (records, ctx) => {
        handled.push(...values(records))
        // Partition 0's first batch finishes its effects later (HandlerContext.defer).
        if (records[0]!.partition === 0 && values(records).includes('c0')) ctx.defer!(held.then(() => []))
        return records.map(() => ({ kind: 'ok' as const }))
      },
      {},
      consumers,
    )
    await r.start()
    const consumer = consumers[0]!
    const commits: { partition: number; offset: string }[] = []
    const commitOffsets = consumer.commitOffsets.bind(consumer)
    consumer.commitOffsets = (offsets) => {
      for (const o of offsets) commits.push({ partition: o.partition, offset: o.offset })
      return commitOffsets(offsets)
    }
    let passedOver = false
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      if (e.payload.partition === 0 && e.payload.batchSize === 0) passedOver = true
    })
    const producer = await transactional()
    await inTransaction(producer, topic, 0, ['c0', 'c1'], 'commit')
    await waitFor(() => (handled.includes('c1') ? true : undefined), 'c0 and c1 handled')
    await inTransaction(producer, topic, 0, ['a0', 'a1'], 'abort')
    await waitFor(() => (passedOver ? true : undefined), "kafkajs passing over partition 0's aborted records")
    // Partition 1's record is committed on the timer: partition 0 must not be committed past its held batch.
    await inTransaction(producer, topic, 1, ['p1'], 'commit')
    await waitFor(
      () => (commits.some((c) => c.partition === 1 && c.offset === '2') ? true : undefined),
      "partition 1's commit",
    )
    expect(commits.filter((c) => c.partition === 0)).toEqual([])
    expect((await positions(admin, groupId, topic))[0]).toEqual({ partition: 0, high: 6, committed: -1 })
    release()
    await until(
      async () => (await positions(admin, groupId, topic))[0]!.committed === 6,
      'offset 6 committed',
    )
    expect(handled).toEqual(['c0', 'c1', 'p1'])
  })
})

import type { Admin, Consumer, Producer } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { createCapturingLogger } from '../logger.ts'
import { createMetrics, type Metrics } from '../metrics.ts'
import {
  probeInput,
  probeRunner,
  probeTopic,
  quietKafka,
  randomName,
  testCleanups,
  until,
  waitFor,
} from './int-test-support.ts'
import { createTopicsWithLeaders } from './kafka-client.ts'
import type { BatchHandler } from './records.ts'

type Line = { level: number; msg: string; topic?: string; partition?: number; from?: string; to?: string }

// kafkajs resets a partition's position on its own when a fetch is answered OFFSET_OUT_OF_RANGE: it
// commits its marker (-2) and reads from the earliest offset kept, with one "Offset out of range" line.
// Fetched below where the runner was: the topic was deleted and made again. Above: records deleted
// (retention, deleteRecords) before the group read them.
describe('batch runner when kafkajs resets a partition out of range', () => {
  const kafka = quietKafka(randomName('resets'))
  const { cleanups, connected } = testCleanups()
  /** An admin, a producer, and a fresh input topic with its group. */
  const input = () => probeInput(randomName('resets'), connected, cleanups)

  function runner(
    topic: string,
    groupId: string,
    handled: string[],
    consumers: Consumer[] = [],
    deferring?: (values: string[]) => Promise<void> | undefined,
  ) {
    const { log, lines } = createCapturingLogger<Line>('debug')
    const metrics = createMetrics('probe')
    const handler: BatchHandler = async (records, ctx) => {
      const values = records.map((r) => r.value!.toString())
      handled.push(...values)
      const work = deferring?.(values)
      if (work) ctx.defer!(work.then(() => []))
      return records.map(() => ({ kind: 'ok' as const }))
    }
    const r = probeRunner(kafka, topic, groupId, handler, cleanups, {
      log,
      metrics,
      seen: (c) => consumers.push(c),
    })
    return { runner: r, lines, metrics }
  }

  async function send(producer: Producer, topic: string, values: string[]): Promise<void> {
    await producer.send({ topic, messages: values.map((value) => ({ partition: 0, value })) })
  }

  async function skipped(metrics: Metrics, topic: string): Promise<number> {
    const { values } = await metrics.skipped.get()
    return values.find((v) => v.labels.topic === topic && v.labels.partition === '0')?.value ?? 0
  }

  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => `v${a + i}`)

  /** Deletes `topic` and makes it again, holding n0..n2, while `consumer` is paused (fetches nothing). */
  async function remakeWhilePaused(admin: Admin, producer: Producer, consumer: Consumer, topic: string) {
    consumer.pause([{ topic }])
    await admin.deleteTopics({ topics: [topic] })
    await until(async () => !(await admin.listTopics()).includes(topic), 'the topic deleted')
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }])
    await send(producer, topic, ['n0', 'n1', 'n2'])
    consumer.resume([{ topic }])
  }

  it("commits the new topic's offsets after the topic is deleted and made again, and warns of it", async () => {
    const { admin, producer, topic, groupId, committed } = await input()
    const handled: string[] = []
    const consumers: Consumer[] = []
    const { runner: r, lines } = runner(topic, groupId, handled, consumers)
    await send(producer, topic, range(0, 8))
    await r.start()
    await until(async () => (await committed()) === 8, 'the old topic committed to its end')
    // Fetching nothing while the topic is deleted and made again: the next fetch, at 8, meets the new one.
    await remakeWhilePaused(admin, producer, consumers[0]!, topic)
    await waitFor(() => handled.includes('n2'), "the new topic's records handled")
    // Before, the committer ignored every offset below the old topic's end: -2 (kafkajs's marker) stayed.
    await until(async () => (await committed()) === 3, "the new topic's offsets committed")
    const warned = lines.find((l) => l.msg.startsWith('offsets went back'))
    expect(warned).toMatchObject({ level: 40, topic, partition: 0, from: '8', to: '0' })
    expect(warned?.msg).toContain('the topic was probably deleted and created again')
  })

  it("commits no offset of the old topic's deferred work that finishes after the reset", async () => {
    const { admin, producer, topic, groupId, committed } = await input()
    const handled: string[] = []
    const consumers: Consumer[] = []
    let open: () => void = () => {}
    const gate = new Promise<void>((r) => {
      open = r
    })
    // The old topic's last batch finishes its work only once the new topic's records are committed.
    const { runner: r } = runner(topic, groupId, handled, consumers, (values) =>
      values.includes('v7') ? gate : undefined,
    )
    await send(producer, topic, range(0, 4))
    await r.start()
    await until(async () => (await committed()) === 4, 'the first four committed')
    await send(producer, topic, range(4, 8))
    await waitFor(() => handled.includes('v7'), 'the deferred batch handled')
    await remakeWhilePaused(admin, producer, consumers[0]!, topic)
    await until(async () => (await committed()) === 3, "the new topic's offsets committed")
    open()
    // The old work has finished (no output to send); two ticks of the commit timer have had their chance.
    for (let i = 0; i < 2; i++)
      await new Promise<void>((res) => {
        const off = r.onCommitTick!(() => {
          off()
          res()
        })
      })
    expect(await committed()).toBe(3)
  })

  it('counts and logs the records deleted before the group, stopped meanwhile, read them', async () => {
    const { admin, producer, topic, groupId, committed } = await input()
    const handled: string[] = []
    const first = runner(topic, groupId, handled)
    await send(producer, topic, range(0, 5))
    await first.runner.start()
    await until(async () => (await committed()) === 5, 'the first five committed')
    await first.runner.stop()
    await send(producer, topic, range(5, 15))
    // Offsets 5..11 deleted unread; 12..14 kept.
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '12' }] })
    const second = runner(topic, groupId, handled)
    await second.runner.start()
    await waitFor(() => handled.includes('v14'), 'the records kept handled')
    expect(handled).toEqual([...range(0, 5), ...range(12, 15)])
    expect(await skipped(second.metrics, topic)).toBe(7)
    const error = second.lines.find((l) => l.level === 50 && l.msg.includes('skipped unread'))
    expect(error).toMatchObject({ topic, partition: 0, from: '5', to: '12' })
    expect(error?.msg).toContain('[5, 12)')
  })

  it('counts and logs the records deleted while the running group lagged behind them', async () => {
    const { admin, producer, topic, groupId } = await input()
    const handled: string[] = []
    const consumers: Consumer[] = []
    const { runner: r, lines, metrics } = runner(topic, groupId, handled, consumers)
    await send(producer, topic, range(0, 4))
    await r.start()
    await waitFor(() => handled.includes('v3'), 'the first four handled')
    consumers[0]!.pause([{ topic }]) // lagging: nothing fetched while records come and go
    await send(producer, topic, range(4, 20))
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '15' }] })
    consumers[0]!.resume([{ topic }])
    await waitFor(() => handled.includes('v19'), 'the records kept handled')
    expect(handled).toEqual([...range(0, 4), ...range(15, 20)])
    expect(await skipped(metrics, topic)).toBe(11)
    const error = lines.find((l) => l.level === 50 && l.msg.includes('skipped unread'))
    expect(error).toMatchObject({ topic, partition: 0, from: '4', to: '15' })
  })

  it('takes no transaction markers nor aborted records for records skipped, across a restart', async () => {
    const admin = await connected(kafka.admin())
    const { topic, groupId, committed } = await probeTopic(admin, randomName('resets'), cleanups)
    const producer = kafka.producer({
      transactionalId: randomName('tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    })
    await connected(producer)
    const inTransaction = async (values: string[], end: 'commit' | 'abort') => {
      const tx = await producer.transaction()
      await tx.send({ topic, messages: values.map((value) => ({ partition: 0, value })) })
      await tx[end]()
    }
    const handled: string[] = []
    const first = runner(topic, groupId, handled)
    await inTransaction(['a0', 'a1'], 'commit')
    await inTransaction(['x0', 'x1', 'x2'], 'abort')
    await inTransaction(['b0'], 'commit')
    await first.runner.start()
    await waitFor(() => handled.includes('b0'), 'the committed records handled')
    // The partition ends in a marker, after 2 + marker + 3 aborted + marker + 1: the group resumes past it.
    const high = async () => Number((await admin.fetchTopicOffsets(topic))[0]!.high)
    expect(await high()).toBe(9)
    await until(async () => (await committed()) === 9, 'committed past the last marker')
    await first.runner.stop()
    await inTransaction(['y0'], 'abort')
    await inTransaction(['c0', 'c1'], 'commit')
    const second = runner(topic, groupId, handled)
    await second.runner.start()
    await waitFor(() => handled.includes('c1'), 'the records after the restart handled')
    expect(await high()).toBe(14)
    await until(async () => (await committed()) === 14, 'committed past the last marker')
    expect(handled).toEqual(['a0', 'a1', 'b0', 'c0', 'c1'])
    for (const { lines, metrics } of [first, second]) {
      expect(await skipped(metrics, topic)).toBe(0)
      expect(
        lines.filter((l) => l.msg.includes('skipped unread') || l.msg.startsWith('offsets went back')),
      ).toEqual([])
    }
  })
})

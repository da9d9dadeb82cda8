import type { TopicSpec } from '@tradepulse/contracts'
import { Kafka, logLevel } from 'kafkajs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { describeInfraFailure } from '../lifecycle.ts'
import { kafkaBrokers, probeRunner, randomName, testCleanups, until } from './int-test-support.ts'
import { ensureTopics } from './kafka-client.ts'
import { kafkaClockError } from './produce.ts'
import type { BatchHandler } from './records.ts'

const HOUR_MS = 3_600_000

const spec = (name: string, timestampType: TopicSpec['timestampType']): TopicSpec => ({
  name,
  schema: z.unknown(),
  partitions: 1,
  retentionMs: 7 * 24 * HOUR_MS,
  compacted: false,
  timestampType,
})

describe('a host whose clock runs 2 h ahead of the broker (Kafka 4: message.timestamp.after.max.ms, 1 h)', () => {
  const kafka = new Kafka({
    clientId: randomName('clock'),
    brokers: kafkaBrokers(),
    logLevel: logLevel.NOTHING,
  })
  const { cleanups, connected } = testCleanups()
  afterEach(() => {
    vi.restoreAllMocks()
  })

  /** Input and output on CreateTime topics, the dlq LogAppendTime (the catalogue's); one record in. */
  async function setUp() {
    const admin = await connected(kafka.admin())
    const [input, out, dlq] = ['clock-in', 'clock-out', 'clock-dlq'].map(randomName) as [
      string,
      string,
      string,
    ]
    await ensureTopics(admin, [
      spec(input, 'CreateTime'),
      spec(out, 'CreateTime'),
      spec(dlq, 'LogAppendTime'),
    ])
    const producer = await connected(kafka.producer())
    await producer.send({ topic: input, messages: [{ key: 'h-1', value: '{"id":"h-1"}' }] })
    const handler: BatchHandler = async (records) =>
      records.map((r) => ({
        kind: 'ok',
        out: [{ topic: out, key: r.key?.toString() ?? null, value: 'scored' }],
      }))
    const end = async (topic: string) => (await admin.fetchTopicOffsets(topic))[0]?.high
    return { admin, input, out, dlq, handler, end }
  }

  /** This process's clock (kafkajs stamps records with Date.now()) two hours ahead, until restored. */
  function clockAhead(): () => void {
    const real = Date.now.bind(Date)
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => real() + 2 * HOUR_MS)
    return () => spy.mockRestore()
  }

  it('fails naming the clock, with nothing dead-lettered, skipped or committed', async () => {
    const { admin, input, out, dlq, handler, end } = await setUp()
    const groupId = randomName('clock-group')
    clockAhead()
    const runner = probeRunner(kafka, input, groupId, handler, cleanups, {
      over: { dlqTopic: dlq, credentialsRefusedMs: 3_000 },
    })
    await runner.start()
    // Before: Kafka's INVALID_TIMESTAMP was taken for the record's fault: its output was dead-lettered
    // (output_refused) and its offset committed, the headline lost for a clock, and the runner never failed.
    const failure = await Promise.race([
      runner.failed(),
      new Promise<undefined>((r) => setTimeout(r, 20_000, undefined)),
    ])
    expect(failure?.message).toMatch(
      new RegExp(
        `^this host's clock, refused for 3000 ms: Kafka refused the timestamps of records for ${out} \\(INVALID_TIMESTAMP\\): they were stamped with this host's clock, \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z at the send, which is more than the topic's message.timestamp.after.max.ms \\(1 h by default\\) ahead of the broker's clock`,
      ),
    )
    expect(failure?.code).toBe('INFRA_KAFKA')
    // The refusal kept as its cause (the log shows it, Kafka's answer under it; it was dropped when the
    // exit line gave the innermost message), the exit line still in the failure's words, naming the clock.
    expect(kafkaClockError(failure?.cause)?.topics).toEqual([out])
    expect(describeInfraFailure(failure, { KAFKA_BROKERS: 'k:9092' })).toBe(
      `Kafka at k:9092 (KAFKA_BROKERS) failed: ${failure?.message}`,
    )
    expect(await runner.health()).toMatchObject({
      status: 'failed',
      detail: "INFRA_KAFKA: clock ahead of Kafka (this host's time)",
    })
    await runner.stop()
    vi.restoreAllMocks()
    expect(await end(dlq)).toBe('0')
    expect(await end(out)).toBe('0')
    const [committed] = await admin.fetchOffsets({ groupId, topics: [input] })
    expect(committed?.partitions[0]?.offset).toBe('-1')
  })

  it('waits it out while it lasts: the clock set right, the same output goes through, nothing dead-lettered', async () => {
    const { input, out, dlq, handler, end } = await setUp()
    const restore = clockAhead()
    const runner = probeRunner(kafka, input, randomName('clock-group'), handler, cleanups, {
      over: { dlqTopic: dlq, credentialsRefusedMs: 60_000 },
    })
    await runner.start()
    await until(
      async () =>
        /^INFRA_KAFKA: clock ahead of Kafka \(this host's time, attempt [2-9]/.test(
          (await runner.health()).detail ?? '',
        ),
      'health degraded naming the clock',
    )
    expect((await runner.health()).status).toBe('degraded')
    restore()
    await until(async () => (await end(out)) === '1', 'the output written')
    await until(async () => (await runner.health()).status === 'ok', 'health ok')
    expect(await end(dlq)).toBe('0')
  })

  it('still takes a timestamp a handler gave 2 h ahead for that record: its input dead-lettered (output_refused), the runner on', async () => {
    const { input, out, dlq, end } = await setUp()
    const handler: BatchHandler = async (records) =>
      records.map(() => ({
        kind: 'ok',
        out: [{ topic: out, key: 'k', value: 'scored', timestamp: Date.now() + 2 * HOUR_MS }],
      }))
    const runner = probeRunner(kafka, input, randomName('clock-group'), handler, cleanups, {
      over: { dlqTopic: dlq, credentialsRefusedMs: 3_000 },
    })
    await runner.start()
    await until(async () => (await end(dlq)) === '1', 'the dead letter')
    const letters: { reason?: string; message?: string }[] = []
    const consumer = await connected(
      kafka.consumer({ groupId: randomName('clock-read'), maxWaitTimeInMs: 50 }),
    )
    await consumer.subscribe({ topic: dlq, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        letters.push(JSON.parse(String(message.value)))
      },
    })
    await until(async () => letters.length === 1, 'the letter read')
    expect(letters[0]).toMatchObject({ reason: 'output_refused' })
    expect(letters[0]?.message).toMatch(/^Kafka refused its output \(INVALID_TIMESTAMP\)/)
    expect(await end(out)).toBe('0')
    expect((await runner.health()).status).toBe('ok')
  })
})

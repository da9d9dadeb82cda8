import { DeadLetter } from '@tradepulse/contracts'
import { type Admin, type Consumer, type IHeaders, Kafka, type KafkaMessage, logLevel } from 'kafkajs'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { BaseConfig, KAFKA_MAX_TOPIC_CHARS, loadConfig, MAX_TOPIC_PREFIX_CHARS } from '../config.ts'
import { createKafkaWorker } from '../kafka-worker.ts'
import { createCapturingLogger } from '../logger.ts'
import { kafkaBrokers, randomName, waitFor } from './int-test-support.ts'
import { createTopicsWithLeaders } from './kafka-client.ts'
import { parseJsonRecord } from './parse-record.ts'
import type { Outcome } from './records.ts'

const Payload = z.strictObject({ id: z.string(), headline: z.string() })

describe('dead letters on the real broker', () => {
  const brokers = kafkaBrokers()
  const kafka = new Kafka({ clientId: randomName('dlq-test'), brokers, logLevel: logLevel.NOTHING })
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  async function withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = kafka.admin()
    await admin.connect()
    try {
      return await work(admin)
    } finally {
      await admin.disconnect()
    }
  }
  /** Topics of one partition; `config` gives a topic's own settings (max.message.bytes). */
  async function createTopics(names: string[], config: Record<string, Record<string, string>> = {}) {
    await withAdmin((admin) =>
      createTopicsWithLeaders(
        admin,
        names.map((topic) => ({
          topic,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: Object.entries(config[topic] ?? {}).map(([name, value]) => ({ name, value })),
        })),
      ),
    )
    cleanups.push(() => withAdmin((admin) => admin.deleteTopics({ topics: names })))
  }
  /** Every record of `topic` so far, read by a consumer of its own from the start. */
  async function collect(topic: string): Promise<KafkaMessage[]> {
    const seen: KafkaMessage[] = []
    const consumer: Consumer = kafka.consumer({ groupId: randomName('dlq-reader'), maxWaitTimeInMs: 100 })
    await consumer.connect()
    cleanups.push(() => consumer.disconnect())
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message) })
    return seen
  }

  /** A worker on `input` that dead-letters what parseJsonRecord refuses and echoes the rest to `output`. */
  async function startWorker(input: string, output: string, dlq: string) {
    const { log, lines } = createCapturingLogger()
    const config = loadConfig(BaseConfig, {
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_GROUP_ID: randomName('dlq-worker'),
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
      KAFKA_COMMIT_INTERVAL_MS: '0',
      HTTP_PORT: '0',
    })
    const worker = createKafkaWorker({
      worker: 'probe',
      config,
      log,
      inputTopics: [input],
      dlqTopic: dlq,
      defaultHttpPort: 0,
      handler: async (records) =>
        records.map((r): Outcome => {
          const parsed = parseJsonRecord(Payload, r.value)
          if (!parsed.ok) return { kind: 'dlq', reason: parsed.reason, message: parsed.message }
          return { kind: 'ok', out: [{ topic: output, key: parsed.value.id, value: parsed.value.headline }] }
        }),
    })
    cleanups.push(() => worker.stop())
    await worker.start()
    return lines
  }

  async function produce(
    topic: string,
    messages: { key: string; value: string; headers?: IHeaders; timestamp?: string }[],
  ) {
    const producer = kafka.producer()
    await producer.connect()
    cleanups.push(() => producer.disconnect())
    await producer.send({ topic, acks: -1, messages })
  }

  const sig = Buffer.from([0xde, 0xad, 0xbe, 0xef])
  const headers: IHeaders = { sig, multi: [Buffer.from('first'), Buffer.from('second')], text: 'plain' }

  /** The original headers as a consumer of the dlq reads them back: exactly as sent, then ours. */
  function expectOriginalHeaders(got: IHeaders) {
    // They read back as { sig: 'ޭ��', multi: 'second' } (the letter's text, and the record's own had none).
    expect(Buffer.isBuffer(got.sig) && got.sig.equals(sig), JSON.stringify(got)).toBe(true)
    expect(got.multi).toEqual([Buffer.from('first'), Buffer.from('second')])
    expect(got.text).toEqual(Buffer.from('plain'))
  }

  it('keeps the headers of a dead-lettered record byte for byte, a repeated one whole', async () => {
    const prefix = randomName('dlq')
    const [input, output, dlq] = [`${prefix}.in`, `${prefix}.out`, `${prefix}.dlq`]
    await createTopics([input, output, dlq])
    await startWorker(input, output, dlq)
    await produce(input, [{ key: 'b1', value: '{not json', headers }])
    const letters = await collect(dlq)
    const [letter] = await waitFor(() => (letters.length > 0 ? letters : undefined), 'the dead letter')
    expectOriginalHeaders(letter!.headers!)
    expect(String(letter!.headers!['tp-dlq-reason'])).toBe('invalid_json')
    expect(DeadLetter.parse(JSON.parse(String(letter!.value))).headers).toEqual({ text: 'plain' })
  })

  it('dead-letters a record naming a key twice, with its headers, naming it on the log line', async () => {
    const prefix = randomName('dlq')
    const [input, output, dlq] = [`${prefix}.in`, `${prefix}.out`, `${prefix}.dlq`]
    await createTopics([input, output, dlq])
    const lines = await startWorker(input, output, dlq)
    const bad = '{"id":"g5","headline":"Tariffs lifted","headline":"Tariffs raised"}'
    await produce(input, [
      { key: 'g5', value: bad, headers },
      { key: 'g6', value: '{"id":"g6","headline":"Tariffs eased"}' },
    ])

    const letters = await collect(dlq)
    const outs = await collect(output)
    const [letter] = await waitFor(() => (letters.length > 0 ? letters : undefined), 'the dead letter')
    await waitFor(() => (outs.length > 0 ? outs : undefined), 'the good record')
    // Read back from the broker as any consumer sees it: the original headers exactly, then ours.
    expectOriginalHeaders(letter!.headers!)
    expect(String(letter!.headers!['tp-dlq-reason'])).toBe('schema_invalid')
    expect(String(letter!.headers!['tp-origin-topic'])).toBe(input)
    const body = DeadLetter.parse(JSON.parse(String(letter!.value)))
    expect(body).toMatchObject({
      reason: 'schema_invalid',
      message: 'headline: key given more than once in one object (JSON.parse would keep the last silently)',
      payload: bad,
      payloadEncoding: 'utf8',
      key: 'g5',
      origin: { topic: input, partition: 0, offset: '0' },
      // The text copy: only what has an exact text form.
      headers: { text: 'plain' },
    })
    expect(outs.map((m) => String(m.value))).toEqual(['Tariffs eased'])
    const line = await waitFor(() => lines.find((l) => l.msg === 'record sent to the dlq'), 'the dlq line')
    expect(line).toMatchObject({
      reason: 'schema_invalid',
      topic: input,
      partition: 0,
      offset: '0',
      key: 'g5',
      id: 'g5',
    })
  })

  it("carries the original record's Kafka timestamp, the record refused or its output refused; the letter's own is when it was written", async () => {
    const prefix = randomName('dlq')
    const [input, output, dlq] = [`${prefix}.in`, `${prefix}.out`, `${prefix}.dlq`]
    // An output Kafka refuses a long headline on: that record's letter is output_refused.
    await createTopics([input, output, dlq], { [output]: { 'max.message.bytes': '200' } })
    await startWorker(input, output, dlq)
    // Two days back: a backlog, or a feed's own stamp, which ingest takes as the headline's entry time.
    const at = (i: number) => Date.now() - 2 * 86_400_000 + i
    const sent = [at(1), at(2), at(3)]
    const before = Date.now()
    await produce(input, [
      { key: 't1', value: '{not json', timestamp: String(sent[0]) },
      {
        key: 't2',
        value: JSON.stringify({ id: 't2', headline: 'x'.repeat(500) }),
        timestamp: String(sent[1]),
      },
      { key: 't3', value: '{"id":"t3","headline":"Tariffs eased"}', timestamp: String(sent[2]) },
    ])
    const letters = await collect(dlq)
    // By reason: the invalid_json letter is written twice, with the request Kafka refused part of and
    // again input by input (at least once, as produceEach says).
    const byReason = () =>
      new Map(letters.map((m) => [String(m.headers!['tp-dlq-reason']), m.headers!['tp-origin-timestamp']]))
    await waitFor(() => (byReason().size >= 2 ? true : undefined), 'both kinds of dead letter')
    // They carried none: a replay took the time it was sent as the headline's event time.
    expect(Object.fromEntries([...byReason()].map(([reason, ts]) => [reason, ts && String(ts)]))).toEqual({
      invalid_json: String(sent[0]),
      output_refused: String(sent[1]),
    })
    // The dlq's 30 days of retention count from when a letter was written, not from the original.
    for (const m of letters) expect(Number(m.timestamp)).toBeGreaterThanOrEqual(before - 1_000)
  })

  it('creates the longest topic name the longest prefix gives, which is as long as Kafka takes', async () => {
    // alerts.desk.<63-character desk id>.v1 after a prefix of MAX_TOPIC_PREFIX_CHARS: 249 characters.
    const stem = `${randomName('p')}.`
    const prefix = stem + 'p'.repeat(MAX_TOPIC_PREFIX_CHARS - stem.length)
    const longest = `${prefix}alerts.desk.${'d'.repeat(63)}.v1`
    expect(longest).toHaveLength(KAFKA_MAX_TOPIC_CHARS)
    await createTopics([longest])
    expect(await withAdmin((admin) => admin.listTopics())).toContain(longest)
    // One more character is refused by the broker: the bound is Kafka's.
    await expect(
      withAdmin((admin) =>
        admin.createTopics({ topics: [{ topic: `${longest}x`, numPartitions: 1, replicationFactor: 1 }] }),
      ),
    ).rejects.toThrow()
  })
})

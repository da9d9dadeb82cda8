import { PassThrough } from 'node:stream'
import { DeadLetter } from '@tradepulse/contracts'
import { KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../logger.ts'
import { createMetrics } from '../metrics.ts'
import { createBatchProcessor, recordRefusal } from './batch-processor.ts'
import type { InRecord, Outcome, OutRecord } from './records.ts'

/** As kafkajs's retrier gives up on a protocol error it may not retry: wrapped, the protocol error its cause. */
const refused = (type: string) => {
  // kafkajs's typings omit the fields its constructors read (type, code; the wrapper's cause).
  const spec = { type, code: 10, retriable: false, message: `refused: ${type}` } as unknown as Error
  const e = new KafkaJSProtocolError(spec)
  const Wrapper = KafkaJSNonRetriableError as unknown as new (e: Error, o: { cause: Error }) => Error
  return new Wrapper(e, { cause: e })
}

const rec = (offset: number, value: string): InRecord => ({
  topic: 'in',
  partition: 0,
  offset: String(offset),
  key: Buffer.from(`k${offset}`),
  value: Buffer.from(value),
  headers: {},
  timestamp: 0,
})

/** A processor whose handler echoes each record to `out`, and whose Kafka refuses any request holding a record over 100 bytes. */
function setup(produceFault?: (records: OutRecord[]) => unknown) {
  const written: OutRecord[] = []
  const requests: number[] = []
  const logs: string[] = []
  const stream = new PassThrough()
  stream.on('data', (d) => logs.push(String(d)))
  const metrics = createMetrics('test')
  const process = createBatchProcessor({
    handler: async (records) =>
      records.map(
        (r): Outcome =>
          String(r.value) === 'bad'
            ? { kind: 'dlq', reason: 'schema_invalid', message: 'x'.repeat(50_000) }
            : { kind: 'ok', out: [{ topic: 'out', key: null, value: String(r.value) }] },
      ),
    worker: 'test',
    dlqTopic: 'dlq',
    log: createLogger({ level: 'info' }, stream),
    metrics,
    signal: new AbortController().signal,
    produce: async (records) => {
      requests.push(records.length)
      const fault = produceFault?.(records)
      if (fault) throw fault
      if (records.some((r) => String(r.value).length > 100 && r.topic !== 'dlq'))
        throw refused('MESSAGE_TOO_LARGE')
      written.push(...records)
    },
  })
  return { process, written, requests, logs, metrics }
}

/**
 * An echoing processor whose queued requests Kafka always refuses as too large (another partition's
 * record shared them), and whose records sent alone go to `alone`.
 */
function refusedInQueue(alone: (records: OutRecord[]) => Promise<void>) {
  return createBatchProcessor({
    handler: async (records) =>
      records.map((r) => ({ kind: 'ok', out: [{ topic: 'out', key: null, value: String(r.value) }] })),
    worker: 'test',
    dlqTopic: 'dlq',
    log: createLogger({ level: 'silent' }),
    metrics: createMetrics('test'),
    signal: new AbortController().signal,
    produce: async () => {
      throw refused('MESSAGE_TOO_LARGE')
    },
    produceAlone: alone,
  })
}

describe('batch processor: Kafka refusing a record', () => {
  it('finds the record whose output Kafka refuses and sends it to the dlq; the others go through', async () => {
    const { process, written, metrics } = setup()
    await process([rec(1, 'a'), rec(2, 'y'.repeat(200)), rec(3, 'c')])
    expect(written.filter((r) => r.topic === 'out').map((r) => r.value)).toEqual(['a', 'c'])
    const letters = written.filter((r) => r.topic === 'dlq')
    expect(letters).toHaveLength(1)
    const letter = DeadLetter.parse(JSON.parse(String(letters[0]!.value)))
    expect(letter).toMatchObject({ reason: 'output_refused', origin: { offset: '2' } })
    expect(letter.message).toMatch(/MESSAGE_TOO_LARGE/)
    expect(await metrics.registry.metrics()).toMatch(
      /tradepulse_dlq_total\{[^}]*reason="output_refused"[^}]*\} 1/,
    )
  })

  it('skips, with an error line naming it, a record whose dead letter Kafka refuses too', async () => {
    const { process, written, logs } = setup((records) =>
      records.some((r) => r.topic === 'dlq' || String(r.value).length > 100)
        ? refused('INVALID_RECORD')
        : undefined,
    )
    await process([rec(1, 'a'), rec(7, 'y'.repeat(200))])
    expect(written.map((r) => r.value)).toEqual(['a'])
    expect(logs.join('')).toMatch(/"offset":"7".*refused the output and the dead letter/)
  })

  it('waits out a refusal that is not the record’s (a topic it may not write): retriable, nothing dead-lettered', async () => {
    const { process, written } = setup(() => refused('TOPIC_AUTHORIZATION_FAILED'))
    const err = await process([rec(1, 'a')]).catch((e) => e)
    expect(err).toMatchObject({ code: 'INFRA_KAFKA', retriable: true })
    expect(written).toEqual([])
  })

  it('cuts a long dlq message so that the letter stays small', async () => {
    const { process, written } = setup()
    await process([rec(1, 'bad')])
    const letter = DeadLetter.parse(JSON.parse(String(written[0]!.value)))
    expect(letter.message.length).toBeLessThanOrEqual(8192)
    expect(letter.message).toMatch(/… \(\d+ more characters\)$/)
  })

  it("blames a refusal only on a record sent alone, not on another partition's that shared the request", async () => {
    // The queued request merges this batch's records with another partition's too-large one, so it is
    // refused whatever this batch holds; sent alone, this batch's records go through.
    const written: OutRecord[] = []
    const processBatch = refusedInQueue(async (records) => {
      written.push(...records)
    })
    await processBatch([rec(1, 'a'), rec(2, 'b')])
    expect(written.map((r) => [r.topic, r.value])).toEqual([
      ['out', 'a'],
      ['out', 'b'],
    ])
  })

  it('waits out a fault that is not a refusal while it looks for the refused record', async () => {
    let calls = 0
    const processBatch = refusedInQueue(async () => {
      calls++
      throw refused('OUT_OF_ORDER_SEQUENCE_NUMBER')
    })
    const err = await processBatch([rec(1, 'a')]).catch((e) => e)
    expect(calls).toBe(1)
    expect(err).toMatchObject({ code: 'INFRA_KAFKA', retriable: true })
  })

  it('recognises a refusal through kafkajs wrappers only for record faults', () => {
    expect(recordRefusal(refused('MESSAGE_TOO_LARGE'))).toBe('MESSAGE_TOO_LARGE')
    expect(recordRefusal(refused('TOPIC_AUTHORIZATION_FAILED'))).toBeUndefined()
    expect(recordRefusal(new Error('x'))).toBeUndefined()
  })
})

describe('the "record sent to the dlq" line', () => {
  it('names the record: topic, partition, offset, key, and its id when the payload tells it', async () => {
    const logs: string[] = []
    const stream = new PassThrough()
    stream.on('data', (d) => logs.push(String(d)))
    const records: InRecord[] = [
      { ...rec(7, '{"id":"g5","headline":7}'), partition: 3 },
      { ...rec(8, 'not json'), key: Buffer.from([0xff, 0x00]) },
      { ...rec(9, '{"id":"a","id":"b"}'), key: null },
      rec(10, '{"headline":"x"}'),
    ]
    const process = createBatchProcessor({
      handler: async (rs) =>
        rs.map(
          (r, i): Outcome =>
            i === 3
              ? { kind: 'dlq', reason: 'schema_invalid', message: 'm', id: 'from-handler' }
              : { kind: 'dlq', reason: 'schema_invalid', message: `m${r.offset}` },
        ),
      worker: 'test',
      dlqTopic: 'dlq',
      log: createLogger({ level: 'info' }, stream),
      metrics: createMetrics('test'),
      signal: new AbortController().signal,
      produce: async () => {},
    })
    await process(records)
    const lines = logs
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.includes('record sent to the dlq'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    const named = lines.map(({ reason, message, topic, partition, offset, key, id }) => ({
      reason,
      message,
      topic,
      partition,
      offset,
      key,
      id,
    }))
    expect(named).toEqual([
      {
        reason: 'schema_invalid',
        message: 'm7',
        topic: 'in',
        partition: 3,
        offset: '7',
        key: 'k7',
        id: 'g5',
      },
      {
        reason: 'schema_invalid',
        message: 'm8',
        topic: 'in',
        partition: 0,
        offset: '8',
        key: 'base64:/wA=',
        id: undefined,
      },
      // "id" given twice: no id anyone can trust.
      {
        reason: 'schema_invalid',
        message: 'm9',
        topic: 'in',
        partition: 0,
        offset: '9',
        key: undefined,
        id: undefined,
      },
      {
        reason: 'schema_invalid',
        message: 'm',
        topic: 'in',
        partition: 0,
        offset: '10',
        key: 'k10',
        id: 'from-handler',
      },
    ])
  })
})

import { createRequire } from 'node:module'
import { DeadLetter } from '@tradepulse/contracts'
import { KafkaJSProtocolError, KafkaJSSASLAuthenticationError } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { TradepulseError } from '../errors.ts'
import { createLogger } from '../logger.ts'
import { createMetrics } from '../metrics.ts'
import { createBatchProcessor } from './batch-processor.ts'
import type { InRecord, Outcome, OutRecord } from './records.ts'

// A handler failing on one record of its batch: a fault retrying cannot mend (a bug, a Redis reply that
// is the same on every try) sends that record to the dlq and lets the others through; an outage fails the
// batch retriable, for the runner to wait out, dead-lettering nothing. (Over a real Redis:
// batch-processor-redis.int.test.ts.)

// ioredis's own classes, as it throws them: a reply (its SimpleError), a command aborted as its
// connection closed (redis-errors's AbortError).
const fromIoredis = createRequire(createRequire(import.meta.url).resolve('ioredis'))
type ErrorClass = new (message: string) => Error
const { SimpleError } = fromIoredis('./resp/errors.js') as { SimpleError: ErrorClass }
const { AbortError } = fromIoredis('redis-errors') as { AbortError: ErrorClass }

const rec = (offset: number): InRecord => ({
  topic: 'in',
  partition: 0,
  offset: String(offset),
  key: null,
  value: Buffer.from(`v${offset}`),
  headers: {},
  timestamp: 0,
})

/** A processor whose handler throws `fault()` for a batch holding the record at offset 2. */
function failingOn2(fault: () => unknown) {
  const written: OutRecord[] = []
  const handled: string[][] = []
  const process = createBatchProcessor({
    handler: async (records) => {
      handled.push(records.map((r) => r.offset))
      if (records.some((r) => r.offset === '2')) throw fault()
      return records.map(() => ({ kind: 'ok', out: [{ topic: 'out', key: null, value: 'done' }] }))
    },
    worker: 'test',
    dlqTopic: 'dlq',
    log: createLogger({ level: 'silent' }),
    metrics: createMetrics('test'),
    signal: new AbortController().signal,
    produce: async (records) => {
      written.push(...records)
    },
  })
  return { process, written, handled }
}

describe('batch processor: a handler failing on one record', () => {
  it.each([
    [
      'a bug whose message names Redis (it was taken for a Redis outage and retried for ever)',
      () => new TypeError("Cannot read properties of undefined (reading 'Redis')"),
      "INTERNAL (TypeError): Cannot read properties of undefined (reading 'Redis')",
    ],
    [
      'a Redis reply that is the same on every try',
      () => new SimpleError('WRONGTYPE Operation against a key holding the wrong kind of value'),
      'INFRA_REDIS (ReplyError): WRONGTYPE Operation against a key holding the wrong kind of value',
    ],
  ])(
    'dead-letters the record for %s, naming the error, and passes the others',
    async (_what, fault, message) => {
      const { process, written, handled } = failingOn2(fault)
      await process([rec(1), rec(2), rec(3)])
      expect(handled).toEqual([['1', '2', '3'], ['1'], ['2'], ['3']])
      expect(written.map((r) => r.topic)).toEqual(['out', 'dlq', 'out'])
      const letter = DeadLetter.parse(JSON.parse(String(written[1]!.value)))
      expect(letter).toMatchObject({ reason: 'handler_error', message, origin: { offset: '2' } })
    },
  )

  it.each([
    ['Redis loading its data', () => new SimpleError('LOADING Redis is loading the dataset in memory')],
    [
      'a command aborted as its connection closed',
      () => new AbortError('Command aborted due to connection close'),
    ],
    ['no reply within REDIS_TIMEOUT_MS', () => new Error('Command timed out')],
  ])('fails the batch retriable for %s, dead-lettering nothing', async (_what, fault) => {
    const { process, written, handled } = failingOn2(fault)
    const err = await process([rec(1), rec(2), rec(3)]).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'INFRA_REDIS', retriable: true })
    expect(handled).toEqual([['1', '2', '3']])
    expect(written).toEqual([])
  })

  // A call the handler makes to Kafka (its own producer or admin) refused for the deployment's
  // credentials or ACL: every record would be refused alike. Dead-lettered, the whole stream went to the dlq.
  it.each([
    [
      'Kafka refusing the credentials',
      () =>
        new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)(
          'SASL PLAIN authentication failed: Authentication failed: Invalid username or password',
        ),
      'KAFKA_AUTH',
    ],
    [
      "Kafka's ACL refusing a topic",
      () =>
        new KafkaJSProtocolError(
          Object.assign(new Error('Not authorized to access topics: [Topic authorization failed]'), {
            type: 'TOPIC_AUTHORIZATION_FAILED',
            code: 29,
            retriable: false,
          }),
        ),
      'INFRA_KAFKA',
    ],
  ])(
    "fails the batch retriable for %s in the handler's own call, dead-lettering nothing",
    async (_what, fault, code) => {
      const { process, written, handled } = failingOn2(fault)
      const err = await process([rec(1), rec(2), rec(3)]).catch((e: unknown) => e)
      expect(err).toMatchObject({ code, retriable: true })
      expect(handled).toEqual([['1', '2', '3']])
      expect(written).toEqual([])
    },
  )
})

describe('batch processor: a handler that returns no outcome for a record', () => {
  it('fails the batch as a bug naming the worker, the handler, the record and its offset, producing nothing', async () => {
    const written: OutRecord[] = []
    // A hole where the second outcome should be, as an array made with `new Array(n)` and not filled.
    const aggregate = async (records: InRecord[]) => {
      const outcomes = new Array<Outcome>(records.length)
      outcomes[0] = { kind: 'ok' }
      outcomes[2] = { kind: 'retry', reason: 'never reached' }
      return outcomes
    }
    const process = createBatchProcessor({
      handler: aggregate,
      worker: 'test',
      dlqTopic: 'dlq',
      log: createLogger({ level: 'silent' }),
      metrics: createMetrics('test'),
      signal: new AbortController().signal,
      produce: async (records) => {
        written.push(...records)
      },
    })
    // Before: "Cannot read properties of undefined (reading 'kind')", naming nothing.
    const err = await process([rec(1), rec(2), rec(3)]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TradepulseError)
    expect(err).toMatchObject({
      code: 'INTERNAL',
      retriable: false,
      message:
        'the test handler (aggregate) returned no outcome for record 1 of 3 (in/0 offset 2): a bug in the handler',
    })
    expect(written).toEqual([])
  })
})

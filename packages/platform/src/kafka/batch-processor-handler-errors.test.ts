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

// A handler that computes without awaiting I/O (the scorer) resolves each call in microtasks: handled
// again one record at a time, the batch held the event loop throughout, and the batch's signal was not
// looked at between records.
describe('batch processor: a failed batch handled one record at a time', () => {
  /** Busy for `ms` of CPU, as a handler scoring a long body is. */
  const busy = (ms: number) => {
    const until = performance.now() + ms
    while (performance.now() < until) {}
  }
  const ok = (): Outcome => ({ kind: 'ok', out: [{ topic: 'out', key: null, value: 'done' }] })
  /** A processor over `handle`, the offsets of each call in `handled`, what it produces in `written`. */
  function processorOf(
    handle: (records: InRecord[]) => Promise<Outcome[]>,
    signal = new AbortController().signal,
  ) {
    const handled: string[][] = []
    const written: OutRecord[] = []
    const process = createBatchProcessor({
      handler: (records) => {
        handled.push(records.map((r) => r.offset))
        return handle(records)
      },
      worker: 'test',
      dlqTopic: 'dlq',
      log: createLogger({ level: 'silent' }),
      metrics: createMetrics('test'),
      signal,
      produce: async (records) => {
        written.push(...records)
      },
    })
    return { process, handled, written }
  }

  it('gives the event loop turns between the records, so a timer due (the heartbeat) fires during it', async () => {
    const { process, handled } = processorOf(async (records) => {
      const outcomes: Outcome[] = []
      for (const r of records) {
        busy(10)
        if (r.offset === '2') throw new TypeError('a bug')
        outcomes.push(ok())
      }
      return outcomes
    })
    /** How many calls had started when the timer fired. */
    let callsAtTimer: number | undefined
    // Due after 1 ms: the whole-batch call alone takes longer, so it is due all through the isolation.
    const timer = setTimeout(() => {
      callsAtTimer = handled.length
    }, 0)
    const offsets = Array.from({ length: 20 }, (_, i) => i + 1)
    await process(offsets.map(rec))
    clearTimeout(timer)
    expect(handled).toEqual([offsets.map(String), ...offsets.map((o) => [String(o)])])
    // Before: the timer fired only once the batch was done (callsAtTimer undefined here).
    expect(callsAtTimer).toBeGreaterThanOrEqual(1)
    expect(callsAtTimer).toBeLessThan(handled.length)
  })

  it('hands the next record on at once after a call that had its turns (I/O), nothing else run between', async () => {
    const events: string[] = []
    const { process } = processorOf(async (records) => {
      const call = records.map((r) => r.offset).join(',')
      events.push(call)
      // A reply awaited, then work of another partition queued for the loop's next turn (as the
      // alerter's event-time gate schedules its next round once a round is done).
      await new Promise((r) => setImmediate(r))
      setImmediate(() => events.push(`queued by ${call}`))
      if (records.some((r) => r.offset === '2')) throw new TypeError('a bug')
      return records.map(ok)
    })
    await process([rec(1), rec(2), rec(3)])
    await new Promise((r) => setImmediate(r))
    // Each call is made before the work queued at the end of the call before it.
    expect(events).toEqual([
      '1,2,3',
      '1',
      'queued by 1,2,3',
      '2',
      'queued by 1',
      '3',
      'queued by 2',
      'queued by 3',
    ])
  })

  it('stops at the next record once the batch is given up (a stop, a rebalance), producing nothing', async () => {
    const stop = new AbortController()
    const reason = new TradepulseError('SHUTDOWN', 'the worker is stopping', { retriable: true })
    const { process, handled, written } = processorOf(async (records) => {
      if (records.some((r) => r.offset === '5')) throw new TypeError('a bug')
      // Told of the stop while the first record is handled alone.
      if (records.length === 1) stop.abort(reason)
      return records.map(ok)
    }, stop.signal)
    const err = await process([rec(1), rec(2), rec(3), rec(4), rec(5)]).catch((e: unknown) => e)
    expect(err).toBe(reason)
    // Before: records 2 to 5 handled too, the stop waiting for every one.
    expect(handled).toEqual([['1', '2', '3', '4', '5'], ['1']])
    expect(written).toEqual([])
  })

  it('gives up as a retriable SHUTDOWN when the signal was aborted without a reason of ours', async () => {
    const stop = new AbortController()
    const { process, handled, written } = processorOf(async (records) => {
      if (records.length > 1) throw new TypeError('a bug')
      stop.abort()
      return records.map(ok)
    }, stop.signal)
    const err = await process([rec(1), rec(2), rec(3)]).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'SHUTDOWN', retriable: true })
    expect(handled).toEqual([['1', '2', '3'], ['1']])
    expect(written).toEqual([])
  })
})

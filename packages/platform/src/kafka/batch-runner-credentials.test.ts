import type { EachBatchPayload, Kafka } from 'kafkajs'
import { KafkaJSSASLAuthenticationError } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import type { TradepulseError } from '../errors.ts'
import { createLogger } from '../logger.ts'
import { createMetrics } from '../metrics.ts'
import { type BatchRunnerConfig, createBatchRunner } from './batch-runner.ts'
import type { TradepulseProducer } from './kafka-client.ts'
import type { BatchHandler } from './records.ts'

// The clock of refused credentials counts per partition. Two partitions handled at once, each on a broker
// of its own, is what a single test broker cannot give (kafkajs fetches each broker's partitions
// together, and fetches again only once the whole fetch is handled), so kafkajs's consumer is played here:
// its eachBatch is called for each partition as a fetcher per broker would.

/** A consumer that joins with partitions 0 and 1 of `in` and hands batches over when `deliver` is called. */
function fetchingKafka() {
  let eachBatch: ((p: EachBatchPayload) => Promise<void>) | undefined
  const listeners = new Map<string, ((e: unknown) => void)[]>()
  const kafka = {
    consumer() {
      return {
        events: {
          GROUP_JOIN: 'join',
          REBALANCING: 'rebalancing',
          FETCH: 'fetch',
          CRASH: 'crash',
          END_BATCH_PROCESS: 'end',
        },
        on(event: string, fn: (e: unknown) => void) {
          listeners.set(event, [...(listeners.get(event) ?? []), fn])
        },
        async connect() {},
        async subscribe() {},
        async run(opts: { eachBatch: (p: EachBatchPayload) => Promise<void> }) {
          eachBatch = opts.eachBatch
          for (const fn of listeners.get('join') ?? []) fn({ payload: { memberAssignment: { in: [0, 1] } } })
        },
        pause() {},
        async commitOffsets() {},
        async disconnect() {},
      }
    },
  } as unknown as Kafka
  const producer: TradepulseProducer = {
    connect: async () => {},
    disconnect: async () => {},
    sendBatch: async () => [],
  }
  /** Hands partition `partition` a batch of one record at `offset`; resolves once eachBatch returns. */
  const deliver = (partition: number, offset: number): Promise<void> => {
    const message = {
      offset: String(offset),
      key: null,
      value: Buffer.from('v'),
      headers: {},
      timestamp: '0',
    }
    return eachBatch!({
      batch: {
        topic: 'in',
        partition,
        highWatermark: String(offset + 1),
        messages: [message],
        lastOffset: () => String(offset),
      },
      resolveOffset: () => {},
      heartbeat: async () => {},
      isRunning: () => true,
      isStale: () => false,
      pause: () => () => {},
    } as unknown as EachBatchPayload)
  }
  return { kafka, producer, deliver }
}

const cfg: BatchRunnerConfig = {
  worker: 'probe',
  groupId: 'g',
  topics: ['in'],
  dlqTopic: 'dlq',
  maxBatch: 10,
  fetchMaxWaitMs: 100,
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 3_000,
  maxBytesPerPartition: 1_048_576,
  partitionsConcurrency: 2,
  retryBaseMs: 10,
  retryMaxMs: 20,
  commitIntervalMs: 1_000,
  credentialsRefusedMs: 500,
}

describe('batch runner: refused credentials per partition', () => {
  it("fails on a partition's refused handler call though another partition's output keeps going through", async () => {
    // Partition 0's record needs the handler's own Kafka call, refused; partition 1's do not. Each of
    // partition 1's batches acknowledged stopped the clock, and partition 0 was held for ever.
    const handler: BatchHandler = async (records) => {
      if (records.some((r) => r.partition === 0))
        throw new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)(
          'SASL PLAIN authentication failed: Authentication failed: Invalid username or password',
        )
      return records.map(() => ({ kind: 'ok' }))
    }
    const { kafka, producer, deliver } = fetchingKafka()
    const runner = createBatchRunner(
      kafka,
      producer,
      handler,
      cfg,
      createLogger({ level: 'silent' }),
      createMetrics('probe'),
    )
    await runner.start()
    let failure: TradepulseError | undefined
    void runner.failed().then((err) => {
      failure = err
    })
    const held = deliver(0, 0)
    let done = 0
    const until = Date.now() + 3_000
    for (let offset = 0; failure === undefined && Date.now() < until; offset++) {
      await deliver(1, offset)
      done++
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(failure).toMatchObject({ code: 'KAFKA_AUTH' })
    expect(failure?.message).toMatch(
      /^Kafka refused the credentials \(KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD\) for 500 ms/,
    )
    expect(done).toBeGreaterThanOrEqual(3)
    await runner.stop()
    await held
  })
})

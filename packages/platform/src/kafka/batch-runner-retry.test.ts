import {
  type EachBatchPayload,
  type Kafka,
  KafkaJSConnectionError,
  KafkaJSProtocolError,
  type KafkaMessage,
} from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { TradepulseError } from '../errors.ts'
import { createLogger } from '../logger.ts'
import { createMetrics } from '../metrics.ts'
import { type BatchRunnerConfig, createBatchRunner } from './batch-runner.ts'
import { waitFor } from './int-test-support.ts'
import type { TradepulseProducer } from './kafka-client.ts'
import type { BatchHandler } from './records.ts'

// A stage retrying an infrastructure fault heartbeats while it runs and between its attempts. A
// heartbeat that answers a rebalance ends the retry at its next wait (never the attempt under way) and
// the batch gives up with that error, for kafkajs to rejoin; any other heartbeat fault changes nothing.
// (On a real broker: batch-runner-retry-rebalance.int.test.ts.)

const rebalancing = () =>
  new KafkaJSProtocolError(
    Object.assign(new Error('The group is rebalancing, so a rejoin is needed'), {
      type: 'REBALANCE_IN_PROGRESS',
      code: 27,
      retriable: false,
    }),
  )

const cfg: BatchRunnerConfig = {
  worker: 'probe',
  groupId: 'g',
  topics: ['in'],
  dlqTopic: 'dlq',
  maxBatch: 10,
  fetchMaxWaitMs: 100,
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 5,
  maxBytesPerPartition: 1_048_576,
  partitionsConcurrency: 1,
  retryBaseMs: 5,
  retryMaxMs: 10,
  commitIntervalMs: 5,
}

/** A runner over a fake consumer: `batch` hands it one batch of `values`, as kafkajs's eachBatch would. */
async function started(handler: BatchHandler) {
  let eachBatch: ((p: EachBatchPayload) => Promise<void>) | undefined
  const commits: unknown[] = []
  const kafka = {
    consumer() {
      return {
        events: {
          GROUP_JOIN: 'join',
          REBALANCING: 'rebalancing',
          FETCH: 'fetch',
          END_BATCH_PROCESS: 'end',
          CRASH: 'crash',
        },
        on() {},
        async connect() {},
        async subscribe() {},
        async run(config: { eachBatch: (p: EachBatchPayload) => Promise<void> }) {
          eachBatch = config.eachBatch
        },
        pause() {},
        async commitOffsets(offsets: unknown[]) {
          commits.push(...offsets)
        },
        async disconnect() {},
      }
    },
  } as unknown as Kafka
  const producer: TradepulseProducer = {
    connect: async () => {},
    disconnect: async () => {},
    sendBatch: async () => [],
  }
  const runner = createBatchRunner(
    kafka,
    producer,
    handler,
    cfg,
    createLogger({ level: 'silent' }),
    createMetrics('probe'),
  )
  await runner.start()
  const resolved: string[] = []
  const batch = (values: string[], heartbeat: () => Promise<void>) => {
    const messages = values.map(
      (value, i) =>
        ({
          offset: String(i),
          key: null,
          value: Buffer.from(value),
          headers: {},
          timestamp: '0',
        }) as KafkaMessage,
    )
    const payload = {
      batch: {
        topic: 'in',
        partition: 0,
        highWatermark: String(values.length),
        messages,
        lastOffset: () => String(values.length - 1),
      },
      resolveOffset: (offset: string) => void resolved.push(offset),
      heartbeat,
      pause: () => () => {},
      isRunning: () => true,
      isStale: () => false,
    } as unknown as EachBatchPayload
    const run = eachBatch!(payload)
    const outcome: { settled: boolean } = { settled: false }
    run.then(
      () => {
        outcome.settled = true
      },
      () => {
        outcome.settled = true
      },
    )
    return { run, outcome }
  }
  return { runner, batch, resolved, commits }
}

const down = () => new TradepulseError('INFRA_REDIS', 'Redis down (test)')
const ok: BatchHandler = async (records) => records.map(() => ({ kind: 'ok' as const }))

describe('batch runner retrying a stage while the group rebalances', () => {
  it('lets the attempt under way settle, then gives the batch up with the rebalance: no further attempt, nothing resolved', async () => {
    let attempts = 0
    let finish: (err?: Error) => void = () => {}
    const { runner, batch, resolved, commits } = await started(async (records) => {
      attempts++
      // The first attempt is still writing when the rebalance is heard.
      await new Promise<void>((resolve, reject) => {
        finish = (err) => (err ? reject(err) : resolve())
      })
      return ok(records, { signal: new AbortController().signal })
    })
    const err = rebalancing()
    let heartbeats = 0
    const { run, outcome } = batch(['v0', 'v1'], async () => {
      heartbeats++
      throw err
    })
    await waitFor(() => (heartbeats > 0 ? true : undefined), 'a heartbeat during the attempt')
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r))
    expect(outcome.settled).toBe(false) // the attempt under way is not abandoned
    finish(down())
    await expect(run).rejects.toBe(err)
    expect(attempts).toBe(1)
    expect(heartbeats).toBe(1) // nothing more to tell a group that waits for this member to rejoin
    expect(resolved).toEqual([])
    await runner.stop()
    expect(commits).toEqual([])
  })

  it('gives up with the rebalance even when the attempt under way then succeeds, resolving nothing', async () => {
    let finish: () => void = () => {}
    const { runner, batch, resolved, commits } = await started(async (records) => {
      await new Promise<void>((resolve) => {
        finish = resolve
      })
      return ok(records, { signal: new AbortController().signal })
    })
    const err = rebalancing()
    let heartbeats = 0
    const { run } = batch(['v0'], async () => {
      heartbeats++
      throw err
    })
    await waitFor(() => (heartbeats > 0 ? true : undefined), 'a heartbeat during the attempt')
    finish()
    await expect(run).rejects.toBe(err)
    expect(resolved).toEqual([])
    await runner.stop()
    expect(commits).toEqual([])
  })

  it('stops retrying at the wait where a heartbeat between attempts hears the rebalance', async () => {
    let attempts = 0
    const { runner, batch, resolved } = await started(async () => {
      attempts++
      throw down()
    })
    const err = rebalancing()
    let rebalanced = false
    let attemptsAtRebalance = 0
    const { run } = batch(['v0'], async () => {
      if (attempts >= 3) {
        rebalanced = true
        attemptsAtRebalance = attempts
        throw err
      }
    })
    await expect(run).rejects.toBe(err)
    expect(rebalanced).toBe(true)
    expect(attemptsAtRebalance).toBeGreaterThanOrEqual(3)
    expect(attempts).toBe(attemptsAtRebalance)
    expect(resolved).toEqual([])
    await runner.stop()
  })

  it('keeps retrying through any other heartbeat fault, and resolves the batch once the fault clears', async () => {
    let attempts = 0
    const { runner, batch, resolved, commits } = await started(async (records, ctx) => {
      if (++attempts <= 5) throw down()
      return ok(records, ctx)
    })
    let heartbeats = 0
    // The coordinator unreachable while the fault lasts (the heartbeat after a resolved chunk still
    // rethrows whatever it gets, as it did before: the fault has cleared by then).
    const { run } = batch(['v0', 'v1'], async () => {
      heartbeats++
      if (attempts <= 5) throw new KafkaJSConnectionError('Connection error: connect ECONNREFUSED')
    })
    await run
    expect(attempts).toBe(6)
    expect(heartbeats).toBeGreaterThan(0)
    expect(resolved).toEqual(['1'])
    await waitFor(() => (commits.length > 0 ? true : undefined), 'the commit')
    expect(commits).toEqual([{ topic: 'in', partition: 0, offset: '2' }])
    await runner.stop()
  })
})

import { Writable } from 'node:stream'
import {
  type EachBatchPayload,
  type Kafka,
  KafkaJSConnectionError,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  type KafkaMessage,
} from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { TradepulseError } from '../errors.ts'
import { createCapturingLogger, createLogger, type Logger } from '../logger.ts'
import { createMetrics, type Metrics } from '../metrics.ts'
import { type BatchRunnerConfig, createBatchRunner } from './batch-runner.ts'
import { retryingDetail, waitFor } from './int-test-support.ts'
import type { TradepulseProducer } from './kafka-client.ts'
import type { BatchHandler } from './records.ts'

// A stage retrying an infrastructure fault heartbeats while it runs and between its attempts. A
// heartbeat that answers a rebalance ends the retry at its next wait (never the attempt under way) and
// the batch gives up with that error, for kafkajs to rejoin; any other heartbeat fault changes nothing.
// (On a real broker: batch-runner-retry-rebalance.int.test.ts.)

/** A Kafka error answer as kafkajs throws it (its createErrorFromCode). */
const answer = (type: string, code: number, retriable: boolean) =>
  new KafkaJSProtocolError(Object.assign(new Error(`${type} (test)`), { type, code, retriable }))
const rebalancing = () => answer('REBALANCE_IN_PROGRESS', 27, false)

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
async function started(
  handler: BatchHandler,
  over: Partial<BatchRunnerConfig> = {},
  deps: { log?: Logger; metrics?: Metrics } = {},
) {
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
    { ...cfg, ...over },
    deps.log ?? createLogger({ level: 'silent' }),
    deps.metrics ?? createMetrics('probe'),
  )
  await runner.start()
  const resolved: string[] = []
  const batch = (values: string[], heartbeat: () => Promise<void>, partition = 0) => {
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
        partition,
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
    // The coordinator unreachable while the fault lasts.
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

describe('batch runner heartbeating between the chunks of a batch', () => {
  // Six records in chunks of two; commits only at the stop, so that each one made shows.
  const chunked = { maxBatch: 2, commitIntervalMs: 60_000 }
  const values = ['v0', 'v1', 'v2', 'v3', 'v4', 'v5']

  // What a heartbeat throws that says nothing of the member's partitions: the batch goes on.
  it.each([
    [
      'a request timed out',
      () => new KafkaJSRequestTimeoutError('Request Heartbeat(key: 12, version: 3) timed out'),
    ],
    ['a connection error', () => new KafkaJSConnectionError('Connection error: read ECONNRESET')],
    ['the coordinator unavailable', () => answer('GROUP_COORDINATOR_NOT_AVAILABLE', 15, true)],
    ['the coordinator loading', () => answer('GROUP_LOAD_IN_PROGRESS', 14, true)],
  ])(
    'goes on with the batch through %s: every record handled once, its end committed once',
    async (_, fault) => {
      const handled: string[] = []
      const { runner, batch, resolved, commits } = await started(async (records, ctx) => {
        handled.push(...records.map((r) => r.value!.toString()))
        return ok(records, ctx)
      }, chunked)
      let failures = 0
      // Every heartbeat fails from the one after the first chunk on (the coordinator unreachable for
      // the rest of the batch).
      const { run } = batch(values, async () => {
        if (resolved.length > 0) {
          failures++
          throw fault()
        }
      })
      await run
      expect(failures).toBeGreaterThan(0)
      expect(resolved).toEqual(['1', '3', '5'])
      expect(handled).toEqual(values)
      await runner.stop()
      expect(commits).toEqual([{ topic: 'in', partition: 0, offset: '6' }])
    },
  )

  it('goes on with the batch when one heartbeat fails and the next succeeds', async () => {
    const handled: string[] = []
    const { runner, batch, resolved, commits } = await started(async (records, ctx) => {
      handled.push(...records.map((r) => r.value!.toString()))
      return ok(records, ctx)
    }, chunked)
    let failed = false
    let after = 0
    const { run } = batch(values, async () => {
      if (resolved.length === 0) return
      if (!failed) {
        failed = true
        throw new KafkaJSRequestTimeoutError('Request Heartbeat(key: 12, version: 3) timed out')
      }
      after++
    })
    await run
    expect(failed).toBe(true)
    expect(after).toBeGreaterThan(0) // later chunks still heartbeat
    expect(resolved).toEqual(['1', '3', '5'])
    expect(handled).toEqual(values)
    await runner.stop()
    expect(commits).toEqual([{ topic: 'in', partition: 0, offset: '6' }])
  })

  // What says the member must give its partitions up: the batch ends there, as before.
  it.each([
    ['REBALANCE_IN_PROGRESS', 27, false],
    ['ILLEGAL_GENERATION', 22, false],
    ['UNKNOWN_MEMBER_ID', 25, false],
    ['NOT_COORDINATOR_FOR_GROUP', 16, true],
  ] as const)(
    'gives the batch up after a chunk when the heartbeat answers %s: nothing more resolved',
    async (type, code, retriable) => {
      const handled: string[] = []
      const { runner, batch, resolved, commits } = await started(async (records, ctx) => {
        handled.push(...records.map((r) => r.value!.toString()))
        return ok(records, ctx)
      }, chunked)
      const err = answer(type, code, retriable)
      let heartbeats = 0
      const { run } = batch(values, async () => {
        if (resolved.length > 0) {
          heartbeats++
          throw err
        }
      })
      await expect(run).rejects.toBe(err)
      expect(heartbeats).toBe(1) // nothing more to tell a group that waits for this member to rejoin
      expect(resolved).toEqual(['1'])
      // The next chunk's handler may have started early; nothing past it.
      expect(handled.slice(0, 2)).toEqual(['v0', 'v1'])
      expect(handled).not.toContain('v4')
      await runner.stop()
      // The first chunk is done and committed; the rest come again to whoever owns the partition.
      expect(commits).toEqual([{ topic: 'in', partition: 0, offset: '2' }])
    },
  )
})

describe('batch runner health while it waits a fault out', () => {
  it('says the code, a short reason and the attempt, never the error text', async () => {
    let failing = true
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.20.30.40:6379'), {
      code: 'ECONNREFUSED',
    })
    const { runner, batch, resolved } = await started(async (records, ctx) => {
      if (failing)
        throw new TradepulseError('INFRA_REDIS', `Redis at 10.20.30.40:6379: ${refused.message}`, {
          cause: refused,
        })
      return ok(records, ctx)
    })
    const { run } = batch(['v0'], async () => {})
    expect(await retryingDetail(runner)).toMatch(/^INFRA_REDIS: unreachable \(attempt \d+\)$/)
    failing = false
    await run
    expect(resolved).toEqual(['0'])
    await runner.stop()
  })
})

describe('batch runner warning of a lasting fault', () => {
  it('logs the first retry whole, counts the rest and says when it clears: not a line of error and stack per retry', async () => {
    const { log, lines } = createCapturingLogger<{
      msg: string
      level: number
      err?: unknown
      repeated?: number
    }>()
    const metrics = createMetrics('probe')
    let attempts = 0
    const { runner, batch, resolved } = await started(
      async (records, ctx) => {
        if (++attempts <= 20)
          throw new TradepulseError('INFRA_REDIS', 'Redis at 127.0.0.1:6379: OOM command not allowed')
        return ok(records, ctx)
      },
      {},
      { log, metrics },
    )
    const { run } = batch(['v0'], async () => {})
    await run
    await runner.stop()
    expect(resolved).toEqual(['0'])
    expect((await metrics.retries.get()).values.map((v) => v.value)).toEqual([20])
    const warned = lines.filter((l) => /^infrastructure fault; retrying the batch/.test(l.msg))
    // Each of the 20 retries was a warning with the error whole (a full Redis: 80-90 lines in 30 s).
    expect(warned.map((l) => [l.err !== undefined, l.repeated])).toEqual([
      [true, undefined],
      [false, 19],
    ])
    expect(warned[1]!.msg).toMatch(/\(19 more since the last line; cleared after \d+ s\)$/)
  })
})

describe('batch runner stopping while a handler runs', () => {
  it('takes a handler giving its batch up with a retriable SHUTDOWN for the stop, not a fault: no warning, no retry counted', async () => {
    // The scorer ends its batch at its next slice once the signal is aborted, throwing a retriable
    // SHUTDOWN. Before, the runner's retry warned "infrastructure fault; retrying the batch" and counted
    // a retry for it, on every partition, at every stop.
    const lines: { msg?: string; level?: number }[] = []
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line))
        done()
      },
    })
    const metrics = createMetrics('probe')
    let began = false
    let resume: () => void = () => {}
    const { runner, batch, resolved, commits } = await started(
      async (records, ctx) => {
        began = true
        await new Promise<void>((r) => {
          resume = r
        })
        if (ctx.signal.aborted)
          throw new TradepulseError('SHUTDOWN', 'scoring stopped: the worker is stopping', {
            retriable: true,
          })
        return ok(records, ctx)
      },
      {},
      { log: createLogger({ level: 'info' }, sink), metrics },
    )
    const { run } = batch(['v0', 'v1'], async () => {})
    await waitFor(() => (began ? true : undefined), 'the handler under way')
    const stopped = runner.stop()
    resume()
    await run
    await stopped
    expect(resolved).toEqual([])
    expect(commits).toEqual([])
    expect(lines.filter((l) => /infrastructure fault/.test(l.msg ?? ''))).toEqual([])
    expect((await metrics.retries.get()).values).toEqual([])
  })
})

describe("batch runner telling a handler of a rebalance by the batch's signal", () => {
  /** A handler scoring a record per slice, looking at its signal between slices as the scorer does. */
  const slicing =
    (scored: string[], reasons: unknown[]): BatchHandler =>
    async (records, ctx) => {
      for (const r of records) {
        await new Promise((resolve) => setTimeout(resolve, 5))
        scored.push(r.value!.toString())
        if (ctx.signal.aborted) {
          reasons.push(ctx.signal.reason)
          throw new TradepulseError('SHUTDOWN', 'scoring stopped', { retriable: true })
        }
      }
      return ok(records, ctx)
    }
  const values = Array.from({ length: 400 }, (_, i) => `v${i}`)

  it('aborts the signal of the batch whose heartbeat hears the rebalance: the handler ends at its next slice, nothing resolved, no retry', async () => {
    // Before, the handler scored the whole batch while the group waited for this member to rejoin.
    const scored: string[] = []
    const reasons: unknown[] = []
    const metrics = createMetrics('probe')
    const { runner, batch, resolved, commits } = await started(
      slicing(scored, reasons),
      { maxBatch: 1_000 },
      { metrics },
    )
    const err = rebalancing()
    const { run } = batch(values, async () => {
      if (scored.length >= 3) throw err
    })
    await expect(run).rejects.toBe(err)
    expect(scored.length).toBeLessThan(values.length)
    expect(reasons).toHaveLength(1)
    expect(reasons[0]).toMatchObject({ code: 'SHUTDOWN', retriable: true, cause: err })
    expect(resolved).toEqual([])
    expect((await metrics.retries.get()).values).toEqual([])
    await runner.stop()
    expect(commits).toEqual([])
  })

  it('aborts every batch under way, not only the one whose heartbeat heard it: the member rejoins as one', async () => {
    const scored: string[] = []
    const reasons: unknown[] = []
    const { runner, batch, resolved } = await started(slicing(scored, reasons), {
      maxBatch: 1_000,
      partitionsConcurrency: 2,
    })
    const err = rebalancing()
    // Partition 1's heartbeats never fail (kafkajs sends one only once its interval has passed: another
    // batch's heartbeat may be the one that hears the answer).
    const quiet = batch(values, async () => {}, 1)
    const told = batch(values, async () => {
      if (scored.length >= 3) throw err
    })
    await expect(told.run).rejects.toBe(err)
    await expect(quiet.run).rejects.toBe(err)
    expect(reasons).toHaveLength(2)
    expect(scored.length).toBeLessThan(2 * values.length)
    expect(resolved).toEqual([])
    await runner.stop()
  })
})

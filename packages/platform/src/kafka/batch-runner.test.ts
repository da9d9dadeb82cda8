import {
  type ConsumerConfig,
  type Kafka,
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs'
import { describe, expect, it, vi } from 'vitest'
import { TradepulseError } from '../errors.ts'
import { describeInfraFailure } from '../lifecycle.ts'
import { createCapturingLogger } from '../logger.ts'
import { createMetrics } from '../metrics.ts'
import {
  type BatchRunner,
  type BatchRunnerConfig,
  createBatchRunner,
  sessionTimeoutRefusal,
} from './batch-runner.ts'
import { until } from './int-test-support.ts'
import type { TradepulseProducer } from './kafka-client.ts'
import { LEADER_READY_MS } from './topic-ends.ts'

/** Kafka's answer to a join with a session timeout outside the broker's bounds, as kafkajs raises it. */
const refusal = () =>
  new KafkaJSProtocolError(
    Object.assign(new Error('The session timeout is not within the range allowed by the broker'), {
      type: 'INVALID_SESSION_TIMEOUT',
      code: 26,
      retriable: false,
    }),
  )

const MESSAGE =
  "invalid configuration: KAFKA_SESSION_TIMEOUT_MS=1900000 refused by the Kafka broker (INVALID_SESSION_TIMEOUT): it must lie within the broker's group.min.session.timeout.ms..group.max.session.timeout.ms (usually the defaults, 6000..1800000)"

/** A consumer crash as kafkajs tells it: the error, and whether it restarts the consumer. */
type Crash = { error: Error; restart: boolean }

/**
 * A fake Kafka and producer. Each consumer made is recorded in `made` (its config, whether it is
 * connected, has run, was disconnected); at run it joins the group (partition 0 of `in`), crashes with
 * `crash` (a crash at the first join, within run, as kafkajs does) or does nothing. `crashNow` crashes it
 * later (a rejoin after the start); `fetched` tells of a fetch answered, as kafkajs does after each one.
 * With `drains`, disconnect waits for `finish` (a graceful stop draining); with `producerWaits`, the
 * producer's connect waits for `connectProducer` (Kafka slow to answer). `newRunner` makes a runner
 * over them handling nothing. `admin` makes the admin clients (the partitions' ends read at a join).
 */
function fakeKafka({
  atRun,
  crash,
  drains = false,
  producerWaits = false,
  admin,
}: {
  atRun: 'join' | 'crash' | 'nothing'
  crash?: Crash
  drains?: boolean
  producerWaits?: boolean
  /** Makes each admin client the runner asks for. */
  admin?: () => object
}) {
  const made: { config: ConsumerConfig; connected: boolean; ran: boolean; disconnected: boolean }[] = []
  let emit: (event: string, e: unknown) => void = () => {}
  const crashNow = () => emit('crash', { payload: { ...crash, groupId: 'g' } })
  // A finish before the disconnect lets it end at once.
  let finished = false
  let finish = () => {
    finished = true
  }
  const kafka = {
    admin: () => admin?.(),
    consumer(config: ConsumerConfig) {
      const listeners = new Map<string, ((e: unknown) => void)[]>()
      const state = { config, connected: false, ran: false, disconnected: false }
      made.push(state)
      emit = (event, e) => {
        for (const fn of listeners.get(event) ?? []) fn(e)
      }
      return {
        events: { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', FETCH: 'fetch', CRASH: 'crash' },
        on(event: string, fn: (e: unknown) => void) {
          listeners.set(event, [...(listeners.get(event) ?? []), fn])
        },
        async connect() {
          state.connected = true
        },
        async subscribe() {},
        async run() {
          state.ran = true
          if (atRun === 'join') emit('join', { payload: { memberAssignment: { in: [0] } } })
          else if (atRun === 'crash') crashNow()
        },
        // As kafkajs's, before run.
        pause() {
          if (!state.ran) throw new Error('not running')
        },
        async disconnect() {
          if (drains && !finished) {
            await new Promise<void>((resolve) => {
              finish = resolve
            })
          }
          state.connected = false
          state.disconnected = true
        },
      }
    },
  } as unknown as Kafka
  const producer = { connected: false }
  let connectProducer = () => {}
  const fakeProducer: TradepulseProducer = {
    connect: async () => {
      if (producerWaits) {
        await new Promise<void>((resolve) => {
          connectProducer = resolve
        })
      }
      producer.connected = true
    },
    disconnect: async () => {
      producer.connected = false
    },
    sendBatch: async () => [],
  }
  const fetched = () => emit('fetch', { payload: { numberOfBatches: 0, duration: 1, nodeId: 0 } })
  return {
    made,
    producer,
    crashNow,
    fetched,
    finish: () => finish(),
    connectProducer: () => connectProducer(),
    newRunner: (config = cfg, log = createCapturingLogger().log) =>
      createBatchRunner(kafka, fakeProducer, async () => [], config, log, createMetrics('probe')),
  }
}

const cfg: BatchRunnerConfig = {
  worker: 'probe',
  groupId: 'g',
  topics: ['in'],
  dlqTopic: 'dlq',
  maxBatch: 10,
  fetchMaxWaitMs: 100,
  sessionTimeoutMs: 1_900_000,
  heartbeatIntervalMs: 3_000,
  maxBytesPerPartition: 1_048_576,
  partitionsConcurrency: 1,
  retryBaseMs: 10,
  retryMaxMs: 20,
  commitIntervalMs: 1_000,
}

describe('sessionTimeoutRefusal', () => {
  it('names KAFKA_SESSION_TIMEOUT_MS, the value and the usual bounds for INVALID_SESSION_TIMEOUT', () => {
    const err = sessionTimeoutRefusal(refusal(), 1_900_000)
    expect(err).toBeInstanceOf(TradepulseError)
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', retriable: false, message: MESSAGE })
    // Wrapped by kafkajs's retrier.
    const wrapped = Object.assign(new KafkaJSNonRetriableError(refusal()), { cause: refusal() })
    expect(sessionTimeoutRefusal(wrapped, 1_900_000)?.message).toBe(MESSAGE)
  })

  it('is undefined for any other error', () => {
    expect(sessionTimeoutRefusal(new KafkaJSError('Connection error'), 10_000)).toBeUndefined()
    const other = new KafkaJSProtocolError(
      Object.assign(new Error('x'), { type: 'UNKNOWN_MEMBER_ID', code: 25, retriable: false }),
    )
    expect(sessionTimeoutRefusal(other, 10_000)).toBeUndefined()
    expect(sessionTimeoutRefusal(undefined, 10_000)).toBeUndefined()
  })
})

/** `runner` started; `seen.failed` is what its failed() resolved to, once it has. */
async function startedRunner(runner: ReturnType<typeof createBatchRunner>) {
  await runner.start()
  const seen: { failed?: Error } = {}
  void runner.failed().then((err) => {
    seen.failed = err
  })
  return { runner, seen }
}

describe('batch runner health before its start', () => {
  it('is starting (degraded, not ready), not failed, until start is called, so /healthz stays 200', async () => {
    const { newRunner } = fakeKafka({ atRun: 'crash', crash: { error: refusal(), restart: false } })
    const runner = newRunner()
    expect(await runner.health()).toEqual({ status: 'degraded', ready: false, detail: 'starting' })
    await expect(runner.start()).rejects.toThrow(MESSAGE)
    expect(await runner.health()).toMatchObject({ status: 'failed', ready: false, detail: 'not running' })
  })
})

describe('batch runner on a consumer crash', () => {
  it('fails its start on a refused session timeout, stopped, without logging a crash', async () => {
    const { made, producer, newRunner } = fakeKafka({
      atRun: 'crash',
      crash: { error: refusal(), restart: false },
    })
    const { log, lines } = createCapturingLogger()
    const runner = newRunner(cfg, log)
    await expect(runner.start()).rejects.toThrow(MESSAGE)
    expect(made).toHaveLength(1)
    expect(made[0]!.disconnected).toBe(true)
    expect(producer.connected).toBe(false)
    expect(await runner.health()).toMatchObject({ status: 'failed', ready: false })
    expect(lines.filter((l) => l.level >= 50)).toEqual([])
    // Never restarted, however kafkajs asks (it does not for a non-retriable error).
    const restartOnFailure = made[0]!.config.retry!.restartOnFailure!
    expect(await restartOnFailure(refusal())).toBe(false)
  })

  it('keeps restarting on any other crash: the start goes on, degraded, the crash logged', async () => {
    const error = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 10.20.30.40:9092', {
      broker: '10.20.30.40:9092',
      code: 'ECONNREFUSED',
    })
    const { made, newRunner } = fakeKafka({ atRun: 'crash', crash: { error, restart: true } })
    const { log, lines } = createCapturingLogger()
    const runner = newRunner(cfg, log)
    await runner.start()
    // A short reason in the health body (anyone reaching the port reads it), the error whole in the log.
    expect(await runner.health()).toMatchObject({
      status: 'degraded',
      detail: 'consumer crashed: unreachable',
    })
    expect(lines.filter((l) => l.level >= 50)).toEqual([
      expect.objectContaining({
        msg: 'consumer crashed',
        err: expect.objectContaining({ message: error.message }),
      }),
    ])
    expect(await made[0]!.config.retry!.restartOnFailure!(error)).toBe(true)
    await runner.stop()
  })

  it('reports a session timeout refused at a rejoin after the start as failed(), naming the variable', async () => {
    const { newRunner, crashNow } = fakeKafka({
      atRun: 'join',
      crash: { error: refusal(), restart: false },
    })
    const { log, lines } = createCapturingLogger()
    const { runner, seen } = await startedRunner(newRunner(cfg, log))
    await new Promise((r) => setImmediate(r))
    expect(seen.failed).toBeUndefined()
    crashNow()
    await new Promise((r) => setImmediate(r))
    expect(seen.failed).toMatchObject({ code: 'CONFIG_INVALID', message: MESSAGE })
    expect(await runner.health()).toMatchObject({ status: 'failed', detail: MESSAGE })
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([MESSAGE])
    await runner.stop()
  })

  it('reports credentials the broker refused to the running consumer as failed() at once, naming the variables, and restarts nothing', async () => {
    // kafkajs's types give this class no constructor arguments; it takes a message as every KafkaJSError.
    const error = new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)(
      'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512',
    )
    const { made, newRunner, crashNow } = fakeKafka({
      atRun: 'join',
      crash: { error, restart: false },
    })
    const { log, lines } = createCapturingLogger()
    const { runner, seen } = await startedRunner(newRunner(cfg, log))
    crashNow()
    await new Promise((r) => setImmediate(r))
    expect(seen.failed).toMatchObject({
      code: 'KAFKA_AUTH',
      message: `Kafka refused the credentials (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD) to the consumer: ${error.message}`,
    })
    expect(await runner.health()).toMatchObject({
      status: 'failed',
      detail: 'consumer crashed: auth refused (KAFKA_SASL_USERNAME)',
    })
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([seen.failed!.message])
    // Were kafkajs to ask (a refusal wrapped in its retrier's error), it is not restarted either.
    const exceeded = Object.assign(new KafkaJSError(error.message), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      cause: error,
    })
    expect(await made[0]!.config.retry!.restartOnFailure!(exceeded)).toBe(false)
    await runner.stop()
  })

  it('does not report failed() for a crash kafkajs restarts from', async () => {
    const error = new KafkaJSError('Connection error: connect ECONNREFUSED')
    const { newRunner, crashNow } = fakeKafka({ atRun: 'join', crash: { error, restart: true } })
    const { log } = createCapturingLogger()
    const { runner, seen } = await startedRunner(newRunner(cfg, log))
    crashNow()
    await new Promise((r) => setImmediate(r))
    expect(seen.failed).toBeUndefined()
    expect(await runner.health()).toMatchObject({ status: 'degraded' })
    await runner.stop()
  })

  // A crash kafkajs does not restart from for any other reason (a fault it takes as final, a bug thrown
  // out of eachBatch): health said failed, and the process stayed up for ever, never restarted.
  it('reports a crash kafkajs does not restart from as failed(), naming its cause: Kafka refusing the group (exit 69)', async () => {
    const error = new KafkaJSProtocolError(
      Object.assign(new Error('Not authorized to access group: Group authorization failed'), {
        type: 'GROUP_AUTHORIZATION_FAILED',
        code: 30,
        retriable: false,
      }),
    )
    const { newRunner, crashNow } = fakeKafka({ atRun: 'join', crash: { error, restart: false } })
    const { log, lines } = createCapturingLogger()
    const { runner, seen } = await startedRunner(newRunner(cfg, log))
    crashNow()
    await new Promise((r) => setImmediate(r))
    expect(seen.failed).toMatchObject({
      code: 'INFRA_KAFKA',
      message:
        'the Kafka consumer crashed and kafkajs does not restart it (not permitted): Not authorized to access group: Group authorization failed',
    })
    expect(await runner.health()).toMatchObject({
      status: 'failed',
      detail: 'consumer crashed: not permitted',
    })
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual(['consumer crashed'])
    expect(describeInfraFailure(seen.failed, { KAFKA_BROKERS: 'kafka-1:9092' })).toMatch(
      /^Kafka at kafka-1:9092 \(KAFKA_BROKERS\) failed: /,
    )
    await runner.stop()
  })

  it("reports a bug thrown out of a batch, which kafkajs does not restart from, as failed() with the bug's own error (exit 1, not Kafka's)", async () => {
    const bug = new Error('handler returned 2 outcomes for 3 records')
    // As kafkajs's retrier wraps what eachBatch threw that is not retriable.
    const error = Object.assign(new KafkaJSNonRetriableError(bug), { cause: bug })
    const { newRunner, crashNow } = fakeKafka({ atRun: 'join', crash: { error, restart: false } })
    const { runner, seen } = await startedRunner(newRunner())
    crashNow()
    await new Promise((r) => setImmediate(r))
    expect(seen.failed).toMatchObject({
      code: 'INTERNAL',
      message:
        'the Kafka consumer crashed and kafkajs does not restart it (unexpected error): handler returned 2 outcomes for 3 records',
      cause: bug,
    })
    expect(describeInfraFailure(seen.failed)).toBeUndefined()
    await runner.stop()
  })

  it('fails its start on a crash at the first join that kafkajs does not restart from, stopped', async () => {
    const error = new KafkaJSProtocolError(
      Object.assign(new Error('Not authorized to access group: Group authorization failed'), {
        type: 'GROUP_AUTHORIZATION_FAILED',
        code: 30,
        retriable: false,
      }),
    )
    const { made, producer, newRunner } = fakeKafka({
      atRun: 'crash',
      crash: { error, restart: false },
    })
    const runner = newRunner()
    await expect(runner.start()).rejects.toMatchObject({
      code: 'INFRA_KAFKA',
      message: expect.stringMatching(
        /^the Kafka consumer crashed and kafkajs does not restart it \(not permitted\)/,
      ),
    })
    expect(made[0]!.disconnected).toBe(true)
    expect(producer.connected).toBe(false)
  })

  // A certificate expired or rotated wrongly while the worker runs: kafkajs restarts the consumer from
  // each crash, and it crashed again, for ever.
  describe('whose TLS keeps failing', () => {
    /** kafkajs's error for a connection whose handshake failed, after its retries, as it crashes with it. */
    const tlsCrash = () =>
      Object.assign(new KafkaJSError('Connection error: certificate has expired'), {
        name: 'KafkaJSNumberOfRetriesExceeded',
        cause: new KafkaJSConnectionError('Connection error: certificate has expired', {
          broker: 'kafka-1:9093',
          code: 'CERT_HAS_EXPIRED',
        }),
      })
    const tlsCfg = { ...cfg, credentialsRefusedMs: 300 }

    it('reports failed() once the bound passes with no fetch answered, naming the KAFKA_SSL variables (exit 69)', async () => {
      const { newRunner, crashNow } = fakeKafka({
        atRun: 'join',
        crash: { error: tlsCrash(), restart: true },
      })
      const { log, lines } = createCapturingLogger()
      const runner = newRunner(tlsCfg, log)
      await runner.start()
      crashNow()
      expect(await runner.health()).toMatchObject({
        status: 'degraded',
        detail: 'consumer crashed: tls failed',
      })
      const failed = await runner.failed()
      expect(failed).toMatchObject({
        code: 'INFRA_KAFKA',
        message:
          "Kafka's TLS failed for 300 ms (CERT_HAS_EXPIRED; KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE): Connection error: certificate has expired",
      })
      expect(await runner.health()).toMatchObject({
        status: 'failed',
        detail: 'INFRA_KAFKA: tls failed (KAFKA_SSL_*)',
      })
      expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([
        'consumer crashed',
        failed.message,
      ])
      expect(describeInfraFailure(failed, { KAFKA_BROKERS: 'kafka-1:9093' })).toMatch(
        /^Kafka at kafka-1:9093 \(KAFKA_BROKERS\): the broker's TLS certificate did not verify \(CERT_HAS_EXPIRED: .*\); set KAFKA_SSL_CA_FILE/,
      )
      await runner.stop()
    })

    it('does not when a fetch is answered within the bound (the TLS fault passed)', async () => {
      const crashing = () => fakeKafka({ atRun: 'join', crash: { error: tlsCrash(), restart: true } })
      const passed = crashing()
      const { runner, seen } = await startedRunner(passed.newRunner(tlsCfg))
      // A runner crashed the same way just after it, never fetching again: once it has failed, the bound
      // has passed for the first too (same bound, its clock started first).
      const control = crashing()
      const other = await startedRunner(control.newRunner(tlsCfg))
      try {
        passed.crashNow()
        control.crashNow()
        passed.fetched()
        await until(async () => other.seen.failed !== undefined, 'the control runner failed', 5_000)
        expect(other.seen.failed).toMatchObject({ code: 'INFRA_KAFKA' })
        expect(seen.failed).toBeUndefined()
      } finally {
        await runner.stop()
        await other.runner.stop()
      }
    })
  })
})

describe('batch runner stopped while its start waits on Kafka', () => {
  it('disconnects what connected after the stop, and never joins the group', async () => {
    // kafkajs goes on connecting a client disconnected while it connects: a stop during the start
    // (SIGTERM while Kafka is slow to answer) left the producer connected and the consumer joining.
    const { made, producer, newRunner, connectProducer } = fakeKafka({
      atRun: 'nothing',
      producerWaits: true,
    })
    const runner = newRunner()
    const starting = runner.start()
    await runner.stop()
    connectProducer() // Kafka answers at last
    await starting
    expect({
      producer: producer.connected,
      consumerConnected: made[0]!.connected,
      ran: made[0]!.ran,
    }).toEqual({
      producer: false,
      consumerConnected: false,
      ran: false,
    })
  })
})

describe('batch runner stall detection', () => {
  // What the stall limit is for: a runner joined to its group that neither fetches nor has a batch or an
  // attempt of one under way is stuck (kafkajs's loop stopped without a crash), and only a restart mends
  // it. A stage's attempt under way is not that (batch-runner-slow-attempt.int.test.ts).
  it('reports failed with no fetch, no batch and nothing under way past the limit, and ok at a fetch', async () => {
    const { newRunner, fetched } = fakeKafka({ atRun: 'join' })
    const runner = newRunner({ ...cfg, stallAfterMs: 50 })
    try {
      await runner.start()
      expect(await runner.health()).toEqual({ status: 'ok', ready: true, detail: undefined })
      await until(async () => (await runner.health()).status === 'failed', 'the stall reported', 5_000)
      expect(await runner.health()).toEqual({
        status: 'failed',
        ready: false,
        detail: expect.stringMatching(/^no fetch or batch for \d+ ms$/),
      })
      fetched()
      expect(await runner.health()).toEqual({ status: 'ok', ready: true, detail: undefined })
    } finally {
      await runner.stop()
    }
  })
})

describe('batch runner stall detection across a wall-clock step', () => {
  // Elapsed times were read with Date.now(): a wall clock set forward past the stall limit (an NTP step,
  // a VM resumed) reported a stall that was none (/healthz 503, a liveness probe's restart), and one set
  // back hid a real stall for as long as the step.
  /**
   * `body` run on a started runner stalling after `stallAfterMs`, given `stepClock(ms)`, which sets the wall
   * clock `ms` off the real one; after it, the clock is real again and the runner stopped.
   */
  async function withStartedRunner(
    stallAfterMs: number,
    body: (runner: BatchRunner, stepClock: (ms: number) => void) => Promise<void>,
  ) {
    const realNow = Date.now.bind(Date)
    const { newRunner } = fakeKafka({ atRun: 'join' })
    const runner = newRunner({ ...cfg, stallAfterMs })
    try {
      await runner.start()
      await body(runner, (ms) => vi.spyOn(Date, 'now').mockImplementation(() => realNow() + ms))
    } finally {
      vi.restoreAllMocks()
      await runner.stop()
    }
  }

  it('does not report a stall when the wall clock steps forward past the limit', () =>
    withStartedRunner(60_000, async (runner, stepClock) => {
      expect(await runner.health()).toEqual({ status: 'ok', ready: true, detail: undefined })
      stepClock(2 * 3_600_000)
      expect(await runner.health()).toEqual({ status: 'ok', ready: true, detail: undefined })
    }))

  it('still reports a real stall when the wall clock steps back an hour', () =>
    withStartedRunner(50, async (runner, stepClock) => {
      stepClock(-3_600_000)
      await until(async () => (await runner.health()).status === 'failed', 'the stall reported', 5_000)
      expect(await runner.health()).toEqual({
        status: 'failed',
        ready: false,
        detail: expect.stringMatching(/^no fetch or batch for \d+ ms$/),
      })
    }))
})

describe('batch runner health while it stops', () => {
  it('is stopping (degraded, not ready) while a graceful stop drains, so /healthz stays 200', async () => {
    // A SIGTERM's stop reported failed ("not running") for as long as the drain took (up to
    // SHUTDOWN_DEADLINE_MS): /healthz 503, a liveness probe's failure for a worker doing as it was told.
    const { newRunner, finish } = fakeKafka({ atRun: 'join', drains: true })
    const runner = newRunner()
    await runner.start()
    expect(await runner.health()).toEqual({ status: 'ok', ready: true, detail: undefined })
    const stopping = runner.stop()
    expect(await runner.health()).toEqual({ status: 'degraded', ready: false, detail: 'stopping' })
    finish()
    await stopping
    expect(await runner.health()).toMatchObject({ status: 'failed', ready: false, detail: 'not running' })
  })

  it('stays failed with its reason while a stop after a fault drains', async () => {
    const { newRunner, finish, crashNow } = fakeKafka({
      atRun: 'join',
      crash: { error: new TypeError('a bug'), restart: false },
      drains: true,
    })
    const runner = newRunner()
    await runner.start()
    crashNow()
    const stopping = runner.stop()
    expect(await runner.health()).toMatchObject({
      status: 'failed',
      ready: false,
      detail: expect.stringMatching(/^consumer crashed/),
    })
    finish()
    await stopping
  })
})

describe("batch runner reading the partitions' ends at an assignment", () => {
  /** Kafka's answer while a partition just made has no leader yet, as kafkajs raises it. */
  const noLeader = () =>
    new KafkaJSProtocolError(
      Object.assign(
        new Error(
          'There is no leader for this topic-partition as we are in the middle of a leadership election',
        ),
        {
          type: 'LEADER_NOT_AVAILABLE',
          code: 5,
          retriable: true,
        },
      ),
    )
  /**
   * Admin clients whose offsets requests fail with `fault()` while it gives one, then answer: partition 0
   * of `in` holds 5 records, all read by the group.
   */
  function endsAdmins(fault: () => Error | undefined) {
    return () => ({
      connect: async () => {},
      disconnect: async () => {},
      fetchTopicOffsets: async () => {
        const err = fault()
        if (err) throw err
        return [{ partition: 0, offset: '5', low: '0', high: '5' }]
      },
      fetchOffsets: async () => [
        { topic: 'in', partitions: [{ partition: 0, offset: '5', metadata: null }] },
      ],
      fetchTopicMetadata: async () => ({
        topics: [{ name: 'in', partitions: [{ partitionId: 0, leader: 1 }] }],
      }),
      describeGroups: async () => ({ groups: [{ members: [{}] }] }),
    })
  }
  const aligned: BatchRunnerConfig = { ...cfg, align: { aheadMs: 60_000, eventMs: (r) => r.timestamp } }
  type Line = { level: number; msg: string; attempts?: number; forMs?: number; err?: unknown }
  const warnings = (lines: Line[]) =>
    lines.filter((l) => l.level === 40 && l.msg.startsWith("could not read the partitions' ends"))
  const read = (lines: Line[]) => lines.find((l) => l.msg === "partitions' ends read")

  // Right after ingest makes the run's topics, the brokers answer LEADER_NOT_AVAILABLE for a moment: a
  // first start wrote a warning with kafkajs's whole stack for each worker's assignment.
  it('tells a partition without a leader for a moment at debug only: no warning', async () => {
    let failures = 0
    const admin = endsAdmins(() => (failures++ < 2 ? noLeader() : undefined))
    const { newRunner } = fakeKafka({ atRun: 'join', admin })
    const { log, lines } = createCapturingLogger<Line>('debug')
    const runner = newRunner(aligned, log)
    await runner.start()
    try {
      await until(async () => read(lines) !== undefined, "the partitions' ends read", 5_000)
      expect(read(lines)?.attempts).toBe(3)
      expect(warnings(lines)).toEqual([])
      expect(lines.filter((l) => l.msg.startsWith("partitions' ends not read yet")).length).toBe(2)
    } finally {
      await runner.stop()
    }
  })

  it(`warns once of a partition without a leader for longer than LEADER_READY_MS (${LEADER_READY_MS} ms), by its type and message, without a stack`, async () => {
    vi.useFakeTimers()
    try {
      const t0 = performance.now()
      const admin = endsAdmins(() => (performance.now() - t0 < 2 * LEADER_READY_MS ? noLeader() : undefined))
      const { newRunner } = fakeKafka({ atRun: 'join', admin })
      const { log, lines } = createCapturingLogger<Line>('debug')
      const runner = newRunner(aligned, log)
      await runner.start()
      for (let i = 0; i < 100 && !read(lines); i++) await vi.advanceTimersByTimeAsync(100)
      expect(read(lines)?.attempts).toBeGreaterThan(2)
      expect(warnings(lines)).toEqual([
        expect.objectContaining({
          error: { type: 'LEADER_NOT_AVAILABLE', message: noLeader().message },
          forMs: expect.any(Number),
        }),
      ])
      expect(JSON.stringify(warnings(lines)[0])).not.toContain('stack')
      expect(warnings(lines)[0]?.forMs).toBeGreaterThanOrEqual(LEADER_READY_MS)
      const stopping = runner.stop()
      await vi.runOnlyPendingTimersAsync()
      await stopping
    } finally {
      vi.useRealTimers()
    }
  })

  it('warns of any other fault at its first retry, with the error whole', async () => {
    let failures = 0
    const admin = endsAdmins(() =>
      failures++ < 3
        ? new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 10.20.30.40:9092')
        : undefined,
    )
    const { newRunner } = fakeKafka({ atRun: 'join', admin })
    const { log, lines } = createCapturingLogger<Line>('debug')
    const runner = newRunner(aligned, log)
    await runner.start()
    try {
      await until(async () => read(lines) !== undefined, "the partitions' ends read", 5_000)
      expect(read(lines)?.attempts).toBe(4)
      expect(warnings(lines)).toEqual([
        expect.objectContaining({
          msg: "could not read the partitions' ends; retrying (an empty partition holds the others meanwhile)",
          err: expect.objectContaining({ message: expect.stringContaining('ECONNREFUSED') }),
        }),
      ])
    } finally {
      await runner.stop()
    }
  })
})

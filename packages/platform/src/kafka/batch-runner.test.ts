import {
  type ConsumerConfig,
  type Kafka,
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { TradepulseError } from '../errors.ts'
import { describeInfraFailure } from '../lifecycle.ts'
import { createCapturingLogger } from '../logger.ts'
import { createMetrics } from '../metrics.ts'
import { type BatchRunnerConfig, createBatchRunner, sessionTimeoutRefusal } from './batch-runner.ts'
import type { TradepulseProducer } from './kafka-client.ts'

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

/**
 * A Kafka whose consumer crashes at its join (within run) with `crash`, as kafkajs does; with `later`,
 * run joins and the crash comes when `crashNow` is called (a rejoin after the start).
 */
function crashingKafka(crash: { error: Error; restart: boolean }, later = false) {
  const made: { config: ConsumerConfig; disconnected: boolean }[] = []
  let emit: (event: string, e: unknown) => void = () => {}
  const kafka = {
    consumer(config: ConsumerConfig) {
      const listeners = new Map<string, ((e: unknown) => void)[]>()
      const state = { config, disconnected: false }
      made.push(state)
      emit = (event, e) => {
        for (const fn of listeners.get(event) ?? []) fn(e)
      }
      return {
        events: { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', FETCH: 'fetch', CRASH: 'crash' },
        on(event: string, fn: (e: unknown) => void) {
          listeners.set(event, [...(listeners.get(event) ?? []), fn])
        },
        async connect() {},
        async subscribe() {},
        async run() {
          if (later) emit('join', { payload: { memberAssignment: { in: [0] } } })
          else emit('crash', { payload: { ...crash, groupId: 'g' } })
        },
        pause() {
          throw new Error('not running')
        },
        async disconnect() {
          state.disconnected = true
        },
      }
    },
  } as unknown as Kafka
  const producer = { connected: false }
  const fakeProducer: TradepulseProducer = {
    connect: async () => {
      producer.connected = true
    },
    disconnect: async () => {
      producer.connected = false
    },
    sendBatch: async () => [],
  }
  const crashNow = () => emit('crash', { payload: { ...crash, groupId: 'g' } })
  /** A fetch answered, as kafkajs tells it after each one. */
  const fetched = () => emit('fetch', { payload: { numberOfBatches: 0, duration: 1, nodeId: 0 } })
  return { kafka, made, producer, fakeProducer, crashNow, fetched }
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

/** A runner over `kafka` handling nothing, started; `seen.failed` is what its failed() resolved to, once it has. */
async function startedRunner(
  kafka: Parameters<typeof createBatchRunner>[0],
  producer: Parameters<typeof createBatchRunner>[1],
  config: Parameters<typeof createBatchRunner>[3],
  log: Parameters<typeof createBatchRunner>[4],
) {
  const runner = createBatchRunner(kafka, producer, async () => [], config, log, createMetrics('probe'))
  await runner.start()
  const seen: { failed?: Error } = {}
  void runner.failed().then((err) => {
    seen.failed = err
  })
  return { runner, seen }
}

describe('batch runner health before its start', () => {
  it('is starting (degraded, not ready), not failed, until start is called, so /healthz stays 200', async () => {
    const { kafka, fakeProducer } = crashingKafka({ error: refusal(), restart: false })
    const runner = createBatchRunner(
      kafka,
      fakeProducer,
      async () => [],
      cfg,
      createCapturingLogger().log,
      createMetrics('probe'),
    )
    expect(await runner.health()).toEqual({ status: 'degraded', ready: false, detail: 'starting' })
    await expect(runner.start()).rejects.toThrow(MESSAGE)
    expect(await runner.health()).toMatchObject({ status: 'failed', ready: false, detail: 'not running' })
  })
})

describe('batch runner on a consumer crash', () => {
  it('fails its start on a refused session timeout, stopped, without logging a crash', async () => {
    const { kafka, made, producer, fakeProducer } = crashingKafka({ error: refusal(), restart: false })
    const { log, lines } = createCapturingLogger()
    const runner = createBatchRunner(kafka, fakeProducer, async () => [], cfg, log, createMetrics('probe'))
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
    const { kafka, made, fakeProducer } = crashingKafka({ error, restart: true })
    const { log, lines } = createCapturingLogger()
    const runner = createBatchRunner(kafka, fakeProducer, async () => [], cfg, log, createMetrics('probe'))
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
    const { kafka, fakeProducer, crashNow } = crashingKafka({ error: refusal(), restart: false }, true)
    const { log, lines } = createCapturingLogger()
    const { runner, seen } = await startedRunner(kafka, fakeProducer, cfg, log)
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
    const { kafka, made, fakeProducer, crashNow } = crashingKafka({ error, restart: false }, true)
    const { log, lines } = createCapturingLogger()
    const { runner, seen } = await startedRunner(kafka, fakeProducer, cfg, log)
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
    const { kafka, fakeProducer, crashNow } = crashingKafka({ error, restart: true }, true)
    const { log } = createCapturingLogger()
    const { runner, seen } = await startedRunner(kafka, fakeProducer, cfg, log)
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
    const { kafka, fakeProducer, crashNow } = crashingKafka({ error, restart: false }, true)
    const { log, lines } = createCapturingLogger()
    const { runner, seen } = await startedRunner(kafka, fakeProducer, cfg, log)
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
    const { kafka, fakeProducer, crashNow } = crashingKafka({ error, restart: false }, true)
    const { runner, seen } = await startedRunner(kafka, fakeProducer, cfg, createCapturingLogger().log)
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
    const { kafka, made, producer, fakeProducer } = crashingKafka({ error, restart: false })
    const runner = createBatchRunner(
      kafka,
      fakeProducer,
      async () => [],
      cfg,
      createCapturingLogger().log,
      createMetrics('probe'),
    )
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
      const { kafka, fakeProducer, crashNow } = crashingKafka({ error: tlsCrash(), restart: true }, true)
      const { log, lines } = createCapturingLogger()
      const runner = createBatchRunner(
        kafka,
        fakeProducer,
        async () => [],
        tlsCfg,
        log,
        createMetrics('probe'),
      )
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
      const { kafka, fakeProducer, crashNow, fetched } = crashingKafka(
        { error: tlsCrash(), restart: true },
        true,
      )
      const { runner, seen } = await startedRunner(kafka, fakeProducer, tlsCfg, createCapturingLogger().log)
      crashNow()
      await new Promise((r) => setTimeout(r, 100))
      fetched()
      await new Promise((r) => setTimeout(r, 500))
      expect(seen.failed).toBeUndefined()
      await runner.stop()
    })
  })
})

describe('batch runner stopped while its start waits on Kafka', () => {
  it('disconnects what connected after the stop, and never joins the group', async () => {
    // kafkajs goes on connecting a client disconnected while it connects: a stop during the start
    // (SIGTERM while Kafka is slow to answer) left the producer connected and the consumer joining.
    const state = { consumerConnected: false, ran: false }
    let connectProducer: () => void = () => {}
    const kafka = {
      consumer: () => ({
        events: { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', FETCH: 'fetch', CRASH: 'crash' },
        on() {},
        async connect() {
          state.consumerConnected = true
        },
        async subscribe() {},
        async run() {
          state.ran = true
        },
        pause() {
          throw new Error('not running')
        },
        async disconnect() {
          state.consumerConnected = false
        },
      }),
    } as unknown as Kafka
    const producer = { connected: false }
    const fakeProducer: TradepulseProducer = {
      connect: () =>
        new Promise<void>((resolve) => {
          connectProducer = () => {
            producer.connected = true
            resolve()
          }
        }),
      disconnect: async () => {
        producer.connected = false
      },
      sendBatch: async () => [],
    }
    const runner = createBatchRunner(
      kafka,
      fakeProducer,
      async () => [],
      cfg,
      createCapturingLogger().log,
      createMetrics('probe'),
    )
    const starting = runner.start()
    await runner.stop()
    connectProducer() // Kafka answers at last
    await starting
    expect({ producer: producer.connected, ...state }).toEqual({
      producer: false,
      consumerConnected: false,
      ran: false,
    })
  })
})

describe('batch runner health while it stops', () => {
  /** A Kafka whose consumer joins at run and whose disconnect waits for `finish` (a graceful stop draining). */
  function drainingKafka() {
    let emit: (event: string, e: unknown) => void = () => {}
    let finished = false
    let finish: () => void = () => {
      finished = true
    }
    const kafka = {
      consumer: () => {
        const listeners = new Map<string, ((e: unknown) => void)[]>()
        emit = (event, e) => {
          for (const fn of listeners.get(event) ?? []) fn(e)
        }
        return {
          events: { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', FETCH: 'fetch', CRASH: 'crash' },
          on(event: string, fn: (e: unknown) => void) {
            listeners.set(event, [...(listeners.get(event) ?? []), fn])
          },
          async connect() {},
          async subscribe() {},
          async run() {
            emit('join', { payload: { memberAssignment: { in: [0] } } })
          },
          pause() {},
          disconnect: () =>
            new Promise<void>((resolve) => {
              if (finished) resolve()
              finish = resolve
            }),
        }
      },
    } as unknown as Kafka
    const fakeProducer: TradepulseProducer = {
      connect: async () => {},
      disconnect: async () => {},
      sendBatch: async () => [],
    }
    return { kafka, fakeProducer, finish: () => finish(), crash: (e: unknown) => emit('crash', e) }
  }

  it('is stopping (degraded, not ready) while a graceful stop drains, so /healthz stays 200', async () => {
    // A SIGTERM's stop reported failed ("not running") for as long as the drain took (up to
    // SHUTDOWN_DEADLINE_MS): /healthz 503, a liveness probe's failure for a worker doing as it was told.
    const { kafka, fakeProducer, finish } = drainingKafka()
    const runner = createBatchRunner(
      kafka,
      fakeProducer,
      async () => [],
      cfg,
      createCapturingLogger().log,
      createMetrics('probe'),
    )
    await runner.start()
    expect(await runner.health()).toEqual({ status: 'ok', ready: true, detail: undefined })
    const stopping = runner.stop()
    expect(await runner.health()).toEqual({ status: 'degraded', ready: false, detail: 'stopping' })
    finish()
    await stopping
    expect(await runner.health()).toMatchObject({ status: 'failed', ready: false, detail: 'not running' })
  })

  it('stays failed with its reason while a stop after a fault drains', async () => {
    const { kafka, fakeProducer, finish, crash } = drainingKafka()
    const runner = createBatchRunner(
      kafka,
      fakeProducer,
      async () => [],
      cfg,
      createCapturingLogger().log,
      createMetrics('probe'),
    )
    await runner.start()
    crash({ payload: { error: new TypeError('a bug'), restart: false, groupId: 'g' } })
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

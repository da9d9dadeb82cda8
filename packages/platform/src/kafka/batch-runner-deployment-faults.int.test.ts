import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { type AddressInfo, connect as netConnect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { type Admin, type ISocketFactory, KafkaJSSASLAuthenticationError, logLevel } from 'kafkajs'
import { describe, expect, inject, it } from 'vitest'
import type { TradepulseError } from '../errors.ts'
import { describeInfraFailure, EXIT_UNAVAILABLE } from '../lifecycle.ts'
import { createLogger } from '../logger.ts'
import { createMetrics } from '../metrics.ts'
import { exitCodeOf, spawnModule } from '../process-test-support.ts'
import { closeRedis, createRedis } from '../redis-client.ts'
import { type BatchRunner, createBatchRunner } from './batch-runner.ts'
import {
  kafkaBrokers,
  probeRunner,
  probeRunnerConfig,
  randomName,
  testCleanups,
  until,
} from './int-test-support.ts'
import { createKafka, createProducer, createTopicsWithLeaders } from './kafka-client.ts'
import type { BatchHandler } from './records.ts'
import { RepeatedReplyError } from './reply-breaker.ts'

// Faults of the deployment met while a batch is handled, on a real broker: no record is to blame, so
// none is dead-lettered and nothing is committed; the worker stops (failed()) naming what to fix, for its
// supervisor to restart it once that is fixed.

const silent = createLogger({ level: 'silent' })

function redisUrl(): string {
  const provided = (inject as (key: string) => unknown)('redisUrl')
  return typeof provided === 'string' ? provided : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
}

/** Resolves with what `runner.failed()` reports, or undefined if it has not within `ms`. */
async function failedWithin(runner: BatchRunner, ms: number): Promise<TradepulseError | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms)
  })
  try {
    return await Promise.race([runner.failed(), timeout])
  } finally {
    clearTimeout(timer)
  }
}

describe('batch runner on a fault of the deployment inside a batch', () => {
  const brokers = kafkaBrokers()
  const { cleanups, connected } = testCleanups()
  const kafka = () =>
    createKafka({ brokers, clientId: randomName('deploy-fault') }, silent, { logLevel: logLevel.NOTHING })

  /** An input topic holding `values`, an empty dlq topic, and the group's committed offset and the dlq's size. */
  async function topics(values: string[]) {
    const name = randomName('deploy-fault')
    const admin: Admin = await connected(kafka().admin())
    const topic = `${name}.in`
    const dlq = `${name}.dlq`
    await createTopicsWithLeaders(admin, [
      { topic, numPartitions: 1, replicationFactor: 1 },
      { topic: dlq, numPartitions: 1, replicationFactor: 1 },
    ])
    cleanups.push(() => admin.deleteTopics({ topics: [topic, dlq] }))
    const producer = await connected(kafka().producer())
    if (values.length > 0) await producer.send({ topic, messages: values.map((value) => ({ value })) })
    const groupId = randomName('deploy-fault')
    return {
      topic,
      dlq,
      groupId,
      committed: async () =>
        Number((await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions[0]!.offset),
      dlqSize: async () => Number((await admin.fetchTopicOffsets(dlq))[0]!.high),
    }
  }

  it("waits out Kafka refusing the credentials to a handler's own call, then fails naming the variables: nothing dead-lettered, nothing committed", async () => {
    const t = await topics(['a', 'b', 'c'])
    let calls = 0
    // The handler's own Kafka client (an alert producer, say) refused, as kafkajs raises it.
    const handler: BatchHandler = async () => {
      calls++
      throw new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)(
        'SASL PLAIN authentication failed: Authentication failed: Invalid username or password',
      )
    }
    const runner = probeRunner(kafka(), t.topic, t.groupId, handler, cleanups, {
      over: { dlqTopic: t.dlq, credentialsRefusedMs: 1_500 },
    })
    await runner.start()
    await until(
      async () =>
        /^KAFKA_AUTH: auth refused \(KAFKA_SASL_USERNAME, attempt [2-9]/.test(
          (await runner.health()).detail ?? '',
        ),
      'the refusal retried',
    )
    const failure = await failedWithin(runner, 20_000)
    expect(failure).toMatchObject({ code: 'KAFKA_AUTH' })
    expect(failure?.message).toMatch(
      /^Kafka refused the credentials \(KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD\) for 1500 ms: SASL PLAIN authentication failed/,
    )
    // The line the worker exits 69 with names them too.
    expect(describeInfraFailure(failure, { KAFKA_BROKERS: 'kafka-1:9092' })).toMatch(
      /^Kafka at kafka-1:9092 \(KAFKA_BROKERS\) refused the credentials: .*check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/,
    )
    expect(await runner.health()).toMatchObject({ status: 'failed' })
    expect(calls).toBeGreaterThan(1)
    await runner.stop()
    expect(await t.dlqSize()).toBe(0)
    expect(await t.committed()).toBe(-1)
  })

  it('stops consuming once records in a row fail on the same Redis reply to a key every record writes: nothing dead-lettered or committed, failed() naming the key', async () => {
    const t = await topics(Array.from({ length: 20 }, (_, i) => `r${i}`))
    const redis = createRedis(redisUrl(), silent, 'deploy-fault-test')
    const shared = `${randomName('tp-deploy-fault')}:indicator`
    cleanups.push(async () => {
      await redis.del(shared)
      await closeRedis(redis)
    })
    await redis.set(shared, 'a string, not a hash') // an operator's mistake
    const handled: number[] = []
    const handler: BatchHandler = async (records) => {
      handled.push(records.length)
      for (const _ of records) await redis.hincrby(shared, 'count', 1)
      return records.map(() => ({ kind: 'ok' }))
    }
    const runner = probeRunner(kafka(), t.topic, t.groupId, handler, cleanups, {
      over: { dlqTopic: t.dlq, redisReplyFailuresMax: 5 },
    })
    await runner.start()
    const failure = await failedWithin(runner, 20_000)
    expect(failure).toBeInstanceOf(RepeatedReplyError)
    expect(failure?.message).toMatch(
      new RegExp(
        `^5 records in a row failed on the same Redis reply to HINCRBY on key "${shared}": WRONGTYPE Operation against a key holding the wrong kind of value\\.`,
      ),
    )
    // The health body has no key; the line the worker exits 69 with has it.
    expect(await runner.health()).toMatchObject({
      status: 'failed',
      detail: 'stopped: 5 records in a row failed on the same Redis reply (reply WRONGTYPE)',
    })
    expect(describeInfraFailure(failure, { REDIS_URL: 'redis://redis-1:6379' })).toBe(
      `Redis at redis://redis-1:6379 (REDIS_URL) failed: ${failure!.message}`,
    )
    await runner.stop()
    // The batch, then five of its records one at a time; nothing more once stopped.
    expect(handled.filter((n) => n === 1)).toHaveLength(5)
    expect(await t.dlqSize()).toBe(0)
    expect(await t.committed()).toBe(-1)
  })

  it('exits a worker process 69 with the line naming the key and the reply, REDIS_REPLY_FAILURES_MAX from its environment', async () => {
    const t = await topics(Array.from({ length: 10 }, (_, i) => `r${i}`))
    const redis = createRedis(redisUrl(), silent, 'deploy-fault-test')
    const shared = `${randomName('tp-deploy-fault')}:indicator`
    cleanups.push(async () => {
      await redis.del(shared)
      await closeRedis(redis)
    })
    await redis.set(shared, 'a string, not a hash')
    // A worker's main as the services' are (runUntilSignal, exitOnFatal), in a process of its own.
    const index = fileURLToPath(new URL('../index.ts', import.meta.url))
    const main = `
      import { BaseConfig, closeRedis, createKafkaWorker, createLogger, createRedis, exitOnFatal, loadConfig, runUntilSignal } from ${JSON.stringify(index)}
      const config = loadConfig(BaseConfig, process.env)
      const log = createLogger({ level: config.LOG_LEVEL, pretty: false, name: 'probe' })
      const redis = createRedis(config.REDIS_URL, log, 'probe')
      const handler = async (records) => {
        for (const _ of records) await redis.hincrby(process.env.PROBE_KEY, 'count', 1)
        return records.map(() => ({ kind: 'ok' }))
      }
      const app = createKafkaWorker({ worker: 'probe', config, log, inputTopics: [process.env.PROBE_TOPIC], dlqTopic: process.env.PROBE_DLQ, defaultHttpPort: 0, handler, onStop: () => closeRedis(redis) })
      await runUntilSignal(app, log, config.SHUTDOWN_DEADLINE_MS).catch((err) => exitOnFatal(err, log))
    `
    const env = {
      PATH: process.env.PATH ?? '',
      KAFKA_BROKERS: brokers.join(','),
      REDIS_URL: redisUrl(),
      KAFKA_GROUP_ID: t.groupId,
      REDIS_REPLY_FAILURES_MAX: '3',
      HTTP_PORT: '0',
      PROBE_TOPIC: t.topic,
      PROBE_DLQ: t.dlq,
      PROBE_KEY: shared,
    }
    const worker = spawnModule(main, env)
    const exit = await exitCodeOf(worker, 60_000)
    const output = worker.output()
    expect(exit, output).toBe(EXIT_UNAVAILABLE)
    const fatal = output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level === 60)
      .map((l) => l.msg)
    expect(fatal).toEqual([
      expect.stringMatching(
        new RegExp(
          `^Redis at .* \\(REDIS_URL\\) failed: 3 records in a row failed on the same Redis reply to HINCRBY on key "${shared}": WRONGTYPE .*\\(REDIS_REPLY_FAILURES_MAX=3\\)$`,
        ),
      ),
    ])
    expect(await t.dlqSize()).toBe(0)
    expect(await t.committed()).toBe(-1)
  })

  it('fails on a consumer crash kafkajs does not restart from (a bug thrown out of a batch), naming it: nothing committed', async () => {
    const t = await topics(['a', 'b', 'c'])
    // Breaks the handler's contract (one outcome per record): the batch throws, not retriable, and
    // kafkajs crashes the consumer for good. The worker stayed up, failed, for ever.
    const runner = probeRunner(kafka(), t.topic, t.groupId, async () => [], cleanups, {
      over: { dlqTopic: t.dlq },
    })
    await runner.start()
    const failure = await failedWithin(runner, 20_000)
    expect(failure).toMatchObject({
      code: 'INTERNAL',
      message:
        'the Kafka consumer crashed and kafkajs does not restart it (unexpected error): handler returned 0 outcomes for 3 records',
    })
    expect(await runner.health()).toMatchObject({
      status: 'failed',
      detail: 'consumer crashed: unexpected error',
    })
    await runner.stop()
    expect(await t.dlqSize()).toBe(0)
    expect(await t.committed()).toBe(-1)
  })

  it("fails once Kafka's TLS keeps failing to the output for the bound (a certificate rotated wrongly), naming the KAFKA_SSL variables: nothing committed", async () => {
    const t = await topics([])
    const out = `${t.topic}.out`
    const admin = await connected(kafka().admin())
    await createTopicsWithLeaders(admin, [{ topic: out, numPartitions: 1, replicationFactor: 1 }])
    cleanups.push(() => admin.deleteTopics({ topics: [out] }))
    // The output's connections, made anew once `broken`, go to a TLS server whose certificate no CA
    // signed (a broker's rotated to one the workers do not trust): a real handshake, refused by Node.
    const tlsServer = selfSignedTlsServer()
    const port = await new Promise<number>((resolve) =>
      tlsServer.listen(0, '127.0.0.1', () => resolve((tlsServer.address() as AddressInfo).port)),
    )
    cleanups.push(() => new Promise<void>((resolve) => tlsServer.close(() => resolve())))
    const sockets = new Set<Socket>()
    let broken = false
    const socketFactory: ISocketFactory = ({ host, port: brokerPort, onConnect }) => {
      const socket = broken
        ? tlsConnect({ host: '127.0.0.1', port, servername: 'kafka-1' }, onConnect)
        : netConnect({ host, port: brokerPort }, onConnect)
      sockets.add(socket)
      return socket
    }
    const outputKafka = createKafka({ brokers, clientId: randomName('deploy-fault') }, silent, {
      logLevel: logLevel.NOTHING,
      socketFactory,
    })
    const handler: BatchHandler = async (records) =>
      records.map((r) => ({ kind: 'ok', out: [{ topic: out, key: null, value: r.value ?? '' }] }))
    const runner = createBatchRunner(
      kafka(),
      createProducer(outputKafka, silent),
      handler,
      probeRunnerConfig(t.topic, t.groupId, { dlqTopic: t.dlq, credentialsRefusedMs: 1_500 }),
      silent,
      createMetrics('probe'),
    )
    cleanups.push(() => runner.stop())
    await runner.start()
    const producer = await connected(kafka().producer())
    await producer.send({ topic: t.topic, messages: [{ value: 'before' }] })
    await until(async () => Number((await admin.fetchTopicOffsets(out))[0]!.high) === 1, 'the first output')
    await until(async () => (await t.committed()) === 1, 'the first record committed')

    // The brokers restart with the new certificate: every connection is reset, and made anew.
    broken = true
    for (const s of sockets) s.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))
    await producer.send({ topic: t.topic, messages: [{ value: 'after' }] })
    const failure = await failedWithin(runner, 60_000)
    expect(failure).toMatchObject({ code: 'INFRA_KAFKA' })
    expect(failure?.message).toMatch(
      /^Kafka's TLS failed for 1500 ms \(DEPTH_ZERO_SELF_SIGNED_CERT; KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE\): /,
    )
    expect(describeInfraFailure(failure, { KAFKA_BROKERS: 'kafka-1:9093' })).toMatch(
      /^Kafka at kafka-1:9093 \(KAFKA_BROKERS\): the broker's TLS certificate did not verify \(DEPTH_ZERO_SELF_SIGNED_CERT: .*\); set KAFKA_SSL_CA_FILE/,
    )
    expect(await runner.health()).toMatchObject({
      status: 'failed',
      detail: 'INFRA_KAFKA: tls failed (KAFKA_SSL_*)',
    })
    await runner.stop()
    expect(await t.committed()).toBe(1)
    expect(await t.dlqSize()).toBe(0)
  })
})

/** A TLS server with a certificate of its own signing (openssl, in a directory removed at once), closing every connection. */
function selfSignedTlsServer() {
  const dir = mkdtempSync(join(tmpdir(), 'tradepulse-tls-'))
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
        '-days',
        '1',
        '-subj',
        '/CN=kafka-1',
        '-addext',
        'subjectAltName=DNS:kafka-1',
      ],
      { cwd: dir, stdio: 'pipe' },
    )
    return createTlsServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (socket) => socket.destroy(),
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

import { fileURLToPath } from 'node:url'
import { type Admin, Kafka, logLevel } from 'kafkajs'
import { afterEach, describe, expect, it } from 'vitest'
import { BaseConfig, loadConfig } from '../config.ts'
import { TradepulseError } from '../errors.ts'
import { EXIT_CONFIG } from '../lifecycle.ts'
import { createCapturingLogger } from '../logger.ts'
import { createMetrics } from '../metrics.ts'
import { exitCodeOf, spawnModule } from '../process-test-support.ts'
import { createBatchRunner } from './batch-runner.ts'
import { kafkaBrokers, randomName } from './int-test-support.ts'
import { createKafka, createProducer, createTopicsWithLeaders } from './kafka-client.ts'

/** Above the broker's group.max.session.timeout.ms (default 1800000, as the local broker has it). */
const REFUSED_MS = 1_900_000

describe('batch runner with a session timeout the broker refuses', () => {
  const brokers = kafkaBrokers()
  /** Runs `work` with a connected admin client, disconnected afterwards. */
  async function withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = new Kafka({ clientId: 'session-timeout-test', brokers, logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    try {
      return await work(admin)
    } finally {
      await admin.disconnect()
    }
  }
  const topics: string[] = []
  afterEach(async () => {
    const made = topics.splice(0)
    if (made.length) await withAdmin((admin) => admin.deleteTopics({ topics: made }))
  })

  async function inputTopic(): Promise<string> {
    const topic = `${randomName('session-timeout')}.in`
    await withAdmin((admin) =>
      createTopicsWithLeaders(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }]),
    )
    topics.push(topic)
    return topic
  }

  it('fails its start with a configuration error naming KAFKA_SESSION_TIMEOUT_MS, and never restarts', async () => {
    const topic = await inputTopic()
    const { log, lines } = createCapturingLogger('debug')
    const kafka = createKafka({ brokers, clientId: randomName('session-timeout') }, log)
    const runner = createBatchRunner(
      kafka,
      createProducer(kafka, log),
      async () => [],
      {
        worker: 'probe',
        groupId: randomName('session-timeout'),
        topics: [topic],
        dlqTopic: topic,
        maxBatch: 100,
        fetchMaxWaitMs: 100,
        sessionTimeoutMs: REFUSED_MS,
        heartbeatIntervalMs: 3_000,
        maxBytesPerPartition: 1_048_576,
        partitionsConcurrency: 1,
        retryBaseMs: 20,
        retryMaxMs: 50,
        commitIntervalMs: 0,
      },
      log,
      createMetrics('probe'),
    )
    const failure = await runner.start().then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(failure).toBeInstanceOf(TradepulseError)
    expect(failure).toMatchObject({ code: 'CONFIG_INVALID' })
    expect((failure as Error).message).toBe(
      "invalid configuration: KAFKA_SESSION_TIMEOUT_MS=1900000 refused by the Kafka broker (INVALID_SESSION_TIMEOUT): it must lie within the broker's group.min.session.timeout.ms..group.max.session.timeout.ms (usually the defaults, 6000..1800000)",
    )
    expect(await runner.health()).toMatchObject({ status: 'failed', ready: false })
    // kafkajs crashed the consumer once and scheduled no restart (it logs "Restarting the consumer" when it
    // does); the runner logged no crash of its own, and nothing at error level (the caller reports it).
    expect(lines.filter((l) => /Restarting the consumer|consumer crashed/.test(l.msg))).toEqual([])
    expect(lines.filter((l) => l.level >= 50)).toEqual([])
    await runner.stop()
  })

  it("exits a worker's process with 78 and one line naming KAFKA_SESSION_TIMEOUT_MS", async () => {
    const topic = await inputTopic()
    // A worker's main as the services' are (runUntilSignal, exitOnFatal), in a process of its own.
    const index = fileURLToPath(new URL('../index.ts', import.meta.url))
    const main = `
      import { BaseConfig, createKafkaWorker, createLogger, exitOnFatal, loadConfig, runUntilSignal } from ${JSON.stringify(index)}
      const config = loadConfig(BaseConfig, process.env)
      const log = createLogger({ level: config.LOG_LEVEL, pretty: false, name: 'probe' })
      const app = createKafkaWorker({ worker: 'probe', config, log, inputTopics: [process.env.PROBE_TOPIC], dlqTopic: process.env.PROBE_TOPIC, defaultHttpPort: 0, handler: async () => [] })
      await runUntilSignal(app, log, config.SHUTDOWN_DEADLINE_MS).catch((err) => exitOnFatal(err, log))
    `
    const env = {
      PATH: process.env.PATH ?? '',
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_GROUP_ID: randomName('session-timeout'),
      KAFKA_SESSION_TIMEOUT_MS: String(REFUSED_MS),
      HTTP_PORT: '0',
      PROBE_TOPIC: topic,
    }
    // Checked like the worker's own: only the broker refuses it.
    expect(loadConfig(BaseConfig, env).KAFKA_SESSION_TIMEOUT_MS).toBe(REFUSED_MS)
    const worker = spawnModule(main, env)
    const exit = await exitCodeOf(worker, 30_000)
    const output = worker.output()
    expect(exit, output).toBe(EXIT_CONFIG)
    const named = output.split('\n').filter((l) => l.includes('KAFKA_SESSION_TIMEOUT_MS'))
    expect(named).toEqual([
      "tradepulse: invalid configuration: KAFKA_SESSION_TIMEOUT_MS=1900000 refused by the Kafka broker (INVALID_SESSION_TIMEOUT): it must lie within the broker's group.min.session.timeout.ms..group.max.session.timeout.ms (usually the defaults, 6000..1800000)",
    ])
    // That line is the only error: no crash logged by kafkajs or the runner, no restart.
    const errors = output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level >= 50)
    expect(errors).toEqual([])
    expect(output).not.toMatch(/Restarting the consumer|consumer crashed/)
  })
})

import { fileURLToPath } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'
import { afterEach, describe, expect, it } from 'vitest'
import { BaseConfig, loadConfig } from './config.ts'
import { kafkaBrokers, randomName } from './kafka/int-test-support.ts'
import { createTopicsWithLeaders } from './kafka/kafka-client.ts'
import { createKafkaWorker, topicsAtStart } from './kafka-worker.ts'
import { EXIT_CONFIG } from './lifecycle.ts'
import { createLogger } from './logger.ts'
import { exitCodeOf, spawnModule } from './process-test-support.ts'

// A worker that does not create its topics (TOPICS_AUTO_CREATE=false) checks them before it consumes, on
// a real broker: the ones it reads as well as the ones it writes.

const silent = createLogger({ level: 'silent' })
const index = fileURLToPath(new URL('./index.ts', import.meta.url))
const hint = 'create them with `tradepulse topics create`, or set TOPICS_AUTO_CREATE=true'

// A worker's main as the services' are (topicsAtStart, runUntilSignal, exitOnFatal), in a process of its own;
// false as a service's TOPICS_AUTO_CREATE=false gives it (BaseConfig has no such variable).
const main = `
  import { BaseConfig, createKafkaWorker, createLogger, exitOnFatal, loadConfig, runUntilSignal, topicsAtStart } from ${JSON.stringify(index)}
  try {
    const config = loadConfig(BaseConfig, process.env)
    const log = createLogger({ level: config.LOG_LEVEL, pretty: false, name: 'probe' })
    const app = createKafkaWorker({
      worker: 'probe', config, log, inputTopics: [process.env.PROBE_TOPIC], dlqTopic: process.env.PROBE_DLQ,
      defaultHttpPort: 0, handler: async (rs) => rs.map(() => ({ kind: 'ok' })),
      ...topicsAtStart(false, [], [process.env.PROBE_DLQ]),
    })
    await runUntilSignal(app, log, config.SHUTDOWN_DEADLINE_MS).catch((err) => exitOnFatal(err, log))
  } catch (err) {
    exitOnFatal(err)
  }
`

describe('a worker that does not create its topics, on a real broker', () => {
  const brokers = kafkaBrokers()
  const kafka = new Kafka({ clientId: randomName('start-topics'), brokers, logLevel: logLevel.NOTHING })
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  async function createTopics(names: string[]): Promise<void> {
    const admin = kafka.admin()
    await admin.connect()
    try {
      await createTopicsWithLeaders(
        admin,
        names.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
      )
    } finally {
      await admin.disconnect()
    }
    cleanups.push(async () => {
      const admin = kafka.admin()
      await admin.connect()
      await admin.deleteTopics({ topics: names }).finally(() => admin.disconnect())
    })
  }

  function workerEnv(): Record<string, string> {
    return {
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_GROUP_ID: randomName('start-topics'),
      HTTP_PORT: '0',
    }
  }

  it('exits 78 with one line naming its missing input topic and TOPICS_AUTO_CREATE, not a Kafka protocol error', async () => {
    const name = randomName('start-topics')
    const [input, dlq] = [`${name}.in`, `${name}.dlq`]
    await createTopics([dlq])
    const worker = spawnModule(main, {
      PATH: process.env.PATH ?? '',
      ...workerEnv(),
      PROBE_TOPIC: input,
      PROBE_DLQ: dlq,
    })
    const exit = await exitCodeOf(worker, 60_000)
    const output = worker.output()
    // It exited 69 naming KAFKA_BROKERS: "This server does not host this topic-partition", no topic named.
    expect(exit, output).toBe(EXIT_CONFIG)
    expect(output.split('\n').filter((l) => l.includes(input))).toEqual([
      `tradepulse: probe: topics missing: ${input} (${hint})`,
    ])
    expect(output).not.toContain('does not host this topic-partition')
  })

  it('names every missing topic it reads and writes, the ones it writes first, and starts once they exist', async () => {
    const name = randomName('start-topics')
    const [input, dlq] = [`${name}.in`, `${name}.dlq`]
    const config = loadConfig(BaseConfig, workerEnv())
    const worker = () =>
      createKafkaWorker({
        worker: 'probe',
        config,
        log: silent,
        inputTopics: [input],
        dlqTopic: dlq,
        defaultHttpPort: 0,
        handler: async (rs) => rs.map(() => ({ kind: 'ok' as const })),
        ...topicsAtStart(false, [], [dlq]),
      })
    const refused = worker()
    cleanups.push(() => refused.stop())
    const err = await refused.start().catch((e: unknown) => e)
    expect(err).toMatchObject({
      code: 'CONFIG_INVALID',
      message: `probe: topics missing: ${dlq}, ${input} (${hint})`,
    })

    await createTopics([input, dlq])
    const started = worker()
    cleanups.push(() => started.stop())
    await started.start()
    expect((await started.health()).checks.consumer?.status).toBe('ok')
  })
})

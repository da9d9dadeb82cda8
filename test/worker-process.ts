import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTopicCatalogue, type TopicCatalogue } from '@tradepulse/contracts'
import {
  createTopics,
  randomName,
  spawnWorker,
  testInfra,
  testProducer,
  type WorkerProcess,
} from '@tradepulse/testing'
import type { Producer } from 'kafkajs'
import { afterEach, beforeEach } from 'vitest'

export const ALERTER_MAIN = 'services/alerter/src/main.ts'

export type WorkerProcessOptions = {
  /** Stem of the test's random topic prefix and of its temp dir. */
  name: string
  /** The worker's entry point, from the repository root. */
  main: string
  /** The worker's name: its group is `<prefix><worker>`. */
  worker: string
  /** The topics to create before each test, with their partitions, from the test's catalogue. */
  topics: (catalogue: TopicCatalogue) => { name: string; partitions: number }[]
  /** Written to a fresh temp dir before each test, by file name. */
  files?: Record<string, string>
  /** The file's own settings for every spawned worker (session timeouts, batch sizes, ...), given the temp dir. */
  env: (dir: string) => Record<string, string>
}

export type WorkerProcessFixture = {
  readonly kafkaBrokers: string[]
  readonly redisUrl: string
  /** The current test's topic prefix, `<name>-<random>.`. */
  readonly prefix: string
  /** The current test's temp dir, holding the options' files. */
  readonly dir: string
  /** The topic catalogue under `prefix`. */
  readonly topics: TopicCatalogue
  readonly producer: Producer
  /** Clean-ups run after the test, once any worker still running has been killed. */
  readonly stops: (() => Promise<unknown>)[]
  /** The worker's connection to this test's Kafka topics, group and Redis keys. */
  kafkaEnv(): Record<string, string>
  /** The whole worker environment: kafkaEnv, HTTP and log settings, the options' env, then `extra`. */
  env(extra?: Record<string, string>): Record<string, string>
  /** Spawns the worker with env(extra); afterEach SIGKILLs it if it is still running. */
  start(extra?: Record<string, string>): WorkerProcess
}

/**
 * A worker run as its own process, in a describe block: registers the beforeEach (temp dir with the
 * options' files, random topics, a producer) and the afterEach (SIGKILL leftover workers, run stops,
 * disconnect), and returns accessors for the current test's state.
 */
export function useWorkerProcess(options: WorkerProcessOptions): WorkerProcessFixture {
  const { kafkaBrokers, redisUrl } = testInfra()
  let prefix: string
  let dir: string
  let producer: Producer
  let workers: WorkerProcess[]
  let stops: (() => Promise<unknown>)[]

  beforeEach(async () => {
    prefix = `${randomName(options.name)}.`
    dir = mkdtempSync(join(tmpdir(), `${options.name}-`))
    for (const [file, text] of Object.entries(options.files ?? {})) writeFileSync(join(dir, file), text)
    workers = []
    stops = []
    await createTopics(kafkaBrokers, options.topics(createTopicCatalogue(prefix)))
    producer = await testProducer(kafkaBrokers)
  })
  afterEach(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL')
    for (const s of stops) await s()
    await producer.disconnect()
  })

  const kafkaEnv = () => ({
    KAFKA_BROKERS: kafkaBrokers.join(','),
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix.replace(/\W/g, '_'),
    TRADEPULSE_TOPIC_PREFIX: prefix,
    KAFKA_GROUP_ID: `${prefix}${options.worker}`,
    TOPICS_AUTO_CREATE: 'false',
  })
  const env = (extra: Record<string, string> = {}) => ({
    ...kafkaEnv(),
    HTTP_PORT: '0',
    LOG_LEVEL: 'info',
    ...options.env(dir),
    ...extra,
  })

  return {
    kafkaBrokers,
    redisUrl,
    get prefix() {
      return prefix
    },
    get dir() {
      return dir
    },
    get topics() {
      return createTopicCatalogue(prefix)
    },
    get producer() {
      return producer
    },
    get stops() {
      return stops
    },
    kafkaEnv,
    env,
    start(extra) {
      const w = spawnWorker(options.main, env(extra))
      workers.push(w)
      return w
    },
  }
}

/** The alerter as a process: rules.yaml and desks.yaml in the temp dir, its settings pointing at them. */
export function useAlerterProcess(options: {
  name: string
  rules: string
  desks: string
  topics: WorkerProcessOptions['topics']
  env: Record<string, string>
}): WorkerProcessFixture {
  return useWorkerProcess({
    name: options.name,
    main: ALERTER_MAIN,
    worker: 'alerter',
    topics: options.topics,
    files: { 'rules.yaml': options.rules, 'desks.yaml': options.desks },
    env: (dir) => ({
      ALERTER_RULES_FILE: join(dir, 'rules.yaml'),
      ALERTER_DESKS_FILE: join(dir, 'desks.yaml'),
      ...options.env,
    }),
  })
}

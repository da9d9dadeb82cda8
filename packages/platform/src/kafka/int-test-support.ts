import { randomBytes } from 'node:crypto'
import { type Admin, type Consumer, type Kafka, type KafkaConfig, logLevel } from 'kafkajs'
import { afterEach, inject } from 'vitest'
import { createLogger, type Logger } from '../logger.ts'
import { createMetrics, type Metrics } from '../metrics.ts'
import { type BatchRunner, type BatchRunnerConfig, createBatchRunner } from './batch-runner.ts'
import { createKafka, createProducer, createTopicsWithLeaders } from './kafka-client.ts'
import type { BatchHandler, InRecord, Outcome } from './records.ts'

// For platform's own integration tests: platform cannot depend on @tradepulse/testing (which depends on
// platform), so the int project's broker comes from its global setup, and these are the few of testing's
// helpers those tests need.

export function kafkaBrokers(): string[] {
  const provided = (inject as (key: string) => unknown)('kafkaBrokers')
  return (typeof provided === 'string' ? provided : (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')).split(
    ',',
  )
}

/** As testing's randomName: with the run's token, so that the run's clean-up knows the topic for its own. */
export function randomName(prefix: string): string {
  const token = process.env.TRADEPULSE_TEST_RUN
  return `${prefix}-${token ? `r${token}-` : ''}${randomBytes(6).toString('hex')}`
}

/**
 * As testing's waitFor: polls until `check` returns a value other than undefined, null or false (0 and
 * '' are values), or fails naming `what`. null and false are not met: a regex with no match yet gives
 * null and a comparison not yet true gives false, and counting them as met let a test go on at once.
 */
export async function waitFor<T>(
  check: () => T | undefined | null | false,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined && value !== null && value !== false) return value
    if (Date.now() > deadline) throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** As waitFor, for a check that is itself asynchronous (one that asks Kafka). */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`until: ${what} not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A runner's health detail once it is retrying a fault a second time or more ("… (attempt 2)"). */
export async function retryingDetail(runner: {
  health(): Promise<{ detail?: string }>
}): Promise<string | undefined> {
  let detail: string | undefined
  await until(async () => {
    detail = (await runner.health()).detail
    return /attempt [2-9]/.test(detail ?? '')
  }, 'a few attempts')
  return detail
}

/** The batch runner settings of platform's Kafka tests on `topic`: small batches, fast heartbeats, retries and commits. */
export function probeRunnerConfig(
  topic: string,
  groupId: string,
  over: Partial<BatchRunnerConfig> = {},
): BatchRunnerConfig {
  return {
    worker: 'probe',
    groupId,
    topics: [topic],
    dlqTopic: topic,
    maxBatch: 100,
    fetchMaxWaitMs: 100,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 200,
    maxBytesPerPartition: 1_048_576,
    partitionsConcurrency: 1,
    retryBaseMs: 20,
    retryMaxMs: 50,
    commitIntervalMs: 20,
    ...over,
  }
}

/**
 * `kafka`, whose consumers are made with `rebalanceTimeoutMs` (how long the group waits for a member
 * to rejoin at a rebalance before dropping it; kafkajs's default is 60 s) and are each passed to `seen`.
 */
export function consumingWith(
  kafka: Kafka,
  opts: { rebalanceTimeoutMs?: number; seen?: (consumer: Consumer) => void },
): Kafka {
  return Object.assign(Object.create(kafka) as Kafka, {
    consumer: (cfg: Parameters<Kafka['consumer']>[0]) => {
      const c = kafka.consumer(
        opts.rebalanceTimeoutMs === undefined ? cfg : { ...cfg!, rebalanceTimeout: opts.rebalanceTimeoutMs },
      )
      opts.seen?.(c)
      return c
    },
  })
}

/**
 * A test file's clean-ups (call inside its describe): run newest first after each test, failures ignored;
 * `connected` connects a client (an admin, a producer) and disconnects it then.
 */
export function testCleanups() {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {})
  })
  async function connected<T extends { connect(): Promise<void>; disconnect(): Promise<void> }>(
    client: T,
  ): Promise<T> {
    await client.connect()
    cleanups.push(() => client.disconnect())
    return client
  }
  return { cleanups, connected }
}

/** testCleanups's `connected`. */
type Connected = ReturnType<typeof testCleanups>['connected']

const silent = createLogger({ level: 'silent' })

/** A client of the test's broker as the workers make theirs (createKafka), kafkajs's own log off; `extra` over it. */
export function quietKafka(clientId: string, extra: Partial<KafkaConfig> = {}): Kafka {
  return createKafka({ brokers: kafkaBrokers(), clientId }, silent, { logLevel: logLevel.NOTHING, ...extra })
}

/**
 * A fresh input topic `<name>.in` of one partition (deleted by `cleanups`), a fresh group id for it, and
 * the offset that group has committed on it (-1 until it commits).
 */
export async function probeTopic(admin: Admin, name: string, cleanups: (() => Promise<unknown>)[]) {
  const topic = `${name}.in`
  await createTopicsWithLeaders(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }])
  cleanups.push(() => admin.deleteTopics({ topics: [topic] }))
  const groupId = randomName('group')
  const committed = async () =>
    Number((await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions[0]!.offset)
  return { topic, groupId, committed }
}

/**
 * A probe's admin and producer, of clients of their own (`<name>-admin`, `<name>-producer`) and
 * connected until the clean-up, and its fresh input topic and group (probeTopic, named `name`).
 */
export async function probeInput(name: string, connected: Connected, cleanups: (() => Promise<unknown>)[]) {
  const admin = await connected(quietKafka(`${name}-admin`).admin())
  const probe = await probeTopic(admin, name, cleanups)
  const producer = await connected(quietKafka(`${name}-producer`).producer())
  return { admin, producer, ...probe }
}

/**
 * The clients of two members of one group, the second of which takes a lone partition from the first as
 * it joins: kafkajs's round-robin assignor gives a lone partition to the member whose id sorts first, and
 * a member id starts with its client id, so the second's client id sorts first.
 */
export function takeoverClients(name: string): { first: Kafka; second: Kafka } {
  return { first: quietKafka(`${name}-2`), second: quietKafka(`${name}-1`) }
}

/**
 * A handler for the member taking a partition over: it records every value it handles (`done`) and the
 * group's committed offset when it first read (`committedAtFirstRead`: where the member before left it).
 */
export function takingOver(committed: () => Promise<number>) {
  const done: string[] = []
  const committedAtFirstRead: number[] = []
  const handler: BatchHandler = async (records: InRecord[]): Promise<Outcome[]> => {
    if (committedAtFirstRead.length === 0) committedAtFirstRead.push(await committed())
    done.push(...records.map((r) => r.value!.toString()))
    return records.map(() => ({ kind: 'ok' as const }))
  }
  return { handler, done, committedAtFirstRead }
}

/**
 * Starts a runner joining a group where a rebalance may be held up, and waits (`what` names it should it
 * never come) until it has joined, then until its start settles.
 */
export async function startJoining(runner: BatchRunner, what: string): Promise<void> {
  let joined = false
  void runner.joined().then(() => {
    joined = true
  })
  const started = runner.start()
  started.catch(() => {})
  await waitFor(() => (joined ? true : undefined), what)
  await started
}

/**
 * A batch runner on `topic` over `kafka` with probeRunnerConfig (and `over`), stopped by `cleanups`;
 * its consumers are made as consumingWith says. It and its producer log to `log` (silent unless given),
 * as a worker's do, and count in `metrics` (a fresh 'probe' set unless given).
 */
export function probeRunner(
  kafka: Kafka,
  topic: string,
  groupId: string,
  handler: BatchHandler,
  cleanups: (() => Promise<unknown>)[],
  opts: {
    over?: Partial<BatchRunnerConfig>
    rebalanceTimeoutMs?: number
    seen?: (consumer: Consumer) => void
    log?: Logger
    metrics?: Metrics
  } = {},
): BatchRunner {
  const log = opts.log ?? silent
  const r = createBatchRunner(
    consumingWith(kafka, { rebalanceTimeoutMs: opts.rebalanceTimeoutMs, seen: opts.seen }),
    createProducer(kafka, log),
    handler,
    probeRunnerConfig(topic, groupId, opts.over),
    log,
    opts.metrics ?? createMetrics('probe'),
  )
  cleanups.push(() => r.stop())
  return r
}

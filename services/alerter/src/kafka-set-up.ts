// The set-up the alerter's integration tests share: the alerter's topics under a prefix of a test's own
// (all of them, or those a test of the handler reads, collected), the alerter's environment over them (its rules and desks files written to a temporary folder), an HTTP
// receiver for webhooks, and one desk's webhook lane on Kafka (with its topics and a receiver, started).
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Alert, createTopicCatalogue, listTopics, type TopicCatalogue } from '@tradepulse/contracts'
import {
  createKafka,
  createLogger,
  createProducer,
  ensureTopics,
  type Logger,
  type TradepulseProducer,
} from '@tradepulse/platform'
import {
  collectTopic,
  createTopics,
  freePort,
  randomName,
  type TopicCollector,
  testKafka,
  testProducer,
} from '@tradepulse/testing'
import type { Admin, KafkaConfig, Producer } from 'kafkajs'
import { Counter, Registry } from 'prom-client'
import { afterEach, beforeEach } from 'vitest'
import { createAlerterMetrics } from './alerter-metrics.ts'
import { tariffAlert } from './test-handler.ts'
import {
  createWebhookDispatcher,
  type WebhookDispatcherDeps,
  type WebhookOptions,
} from './webhook-dispatcher.ts'
import { ALERT_ID_HEADER } from './webhook-signature.ts'

/** The desks of `scenarioDesks()`. */
export const SCENARIO_DESK_IDS = ['tariff', 'supply', 'risk'] as const

/**
 * A fresh prefix (`<tag>-<random>.`) and the alerter's topics under it as a test creates them (with the
 * broker's defaults, not the catalogue's settings): every topic of the catalogue and the scenario's desk
 * topics (`desks: false`: none), of one partition but as `partitions` says.
 */
export async function alerterTopics(
  kafkaBrokers: string[],
  tag: string,
  partitions: { alerts?: number; scored?: number; desks?: number | false } = {},
): Promise<{ prefix: string; topics: TopicCatalogue }> {
  const prefix = `${randomName(tag)}.`
  const topics = createTopicCatalogue(prefix)
  const own: Record<string, number | undefined> = {
    [topics.alerts.name]: partitions.alerts,
    [topics.scored.name]: partitions.scored,
  }
  const desks = partitions.desks === false ? [] : SCENARIO_DESK_IDS
  const deskPartitions = partitions.desks || 1
  await createTopics(kafkaBrokers, [
    ...listTopics(topics).map((t) => ({ name: t.name, partitions: own[t.name] ?? 1 })),
    ...desks.map((d) => ({ name: topics.deskAlerts(d).name, partitions: deskPartitions })),
  ])
  return { prefix, topics }
}

/** A topic a test creates and reads: its name, and the topic configs set on it (the broker's defaults else). */
export type TopicToRead = { name: string; config?: Record<string, string> }

/**
 * The topics a test of the alerter's handler reads what it published on, under a fresh prefix
 * (`<tag>-<random>.`): those `which` picks of its catalogue (alerts.v1, a desk's, the dlq), created with
 * one partition each, so that what is read is in the order published, and each collected from its start
 * (collectTopic), in the order picked; `stop` stops every collector.
 */
export async function collectedTopics<T extends readonly TopicToRead[] | []>(
  kafkaBrokers: string[],
  tag: string,
  which: (topics: TopicCatalogue) => T,
): Promise<{
  topics: TopicCatalogue
  collected: { -readonly [K in keyof T]: TopicCollector }
  stop: () => Promise<void>
}> {
  const topics = createTopicCatalogue(`${randomName(tag)}.`)
  const picked: readonly TopicToRead[] = which(topics)
  await createTopics(
    kafkaBrokers,
    picked.map((t) => ({ name: t.name, ...(t.config ? { config: t.config } : {}) })),
  )
  const collected: TopicCollector[] = []
  const stop = async () => {
    await Promise.all(collected.map((c) => c.stop()))
  }
  try {
    for (const t of picked) collected.push(await collectTopic(kafkaBrokers, t.name))
  } catch (err) {
    await stop()
    throw err
  }
  return { topics, collected: collected as { -readonly [K in keyof T]: TopicCollector }, stop }
}

/**
 * The alerter's environment on the test's Kafka and Redis under `prefix` (its topics and its Redis keys),
 * without creating topics: its rules (`rules`, a rules file's text, or `rulesFile`, a file's path) and
 * desks (`desks`) written to a temporary folder; `extra` is set over it.
 */
export function alerterEnv(opts: {
  kafkaBrokers: string[]
  redisUrl: string
  prefix: string
  rules: { text: string } | { file: string }
  desks: string
  extra?: Record<string, string>
}): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'alerter-'))
  const rulesFile = 'file' in opts.rules ? opts.rules.file : join(dir, 'rules.yaml')
  if ('text' in opts.rules) writeFileSync(rulesFile, opts.rules.text)
  writeFileSync(join(dir, 'desks.yaml'), opts.desks)
  return {
    KAFKA_BROKERS: opts.kafkaBrokers.join(','),
    REDIS_URL: opts.redisUrl,
    REDIS_KEY_PREFIX: opts.prefix.replace(/\W/g, '_'),
    TRADEPULSE_TOPIC_PREFIX: opts.prefix,
    HTTP_PORT: '0',
    TOPICS_AUTO_CREATE: 'false',
    ALERTER_RULES_FILE: rulesFile,
    ALERTER_DESKS_FILE: join(dir, 'desks.yaml'),
    ...opts.extra,
  }
}

/**
 * An HTTP receiver on a free port of 127.0.0.1 answering each request with `handle`; `cleanups` gets its
 * closing (open connections dropped). Resolves with the URL to post to.
 */
export async function listenForWebhooks(
  cleanups: (() => Promise<unknown>)[],
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  const port = await freePort()
  const server = createServer(handle)
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  )
  return `http://127.0.0.1:${port}/hook`
}

/**
 * A desk record's value as the alerter writes it: an alert `id` that keeps the Alert contract (the webhook
 * lane posts nothing else: tariffAlert), its times now unless `extra` says; `extra` may add fields a reader drops.
 */
export function deskAlertValue(id: string, extra: Partial<Alert> & Record<string, unknown> = {}): string {
  return JSON.stringify(tariffAlert(id, Date.now(), extra))
}

/**
 * Alerts on a desk topic as the alerter writes them, to `partition`: the alert id as the key and in ce_id,
 * the alert (deskAlertValue) as the value.
 */
export async function sendDeskAlerts(
  producer: Producer,
  topic: string,
  ids: string[],
  partition = 0,
): Promise<void> {
  await producer.send({
    topic,
    messages: ids.map((id) => ({
      partition,
      key: id,
      value: deskAlertValue(id),
      headers: { ce_id: id },
    })),
  })
}

/** The lane options of the tests: quick retries, a 1 h max age. */
export const TEST_LANE_OPTIONS: WebhookOptions = {
  timeoutMs: 5_000,
  maxAttempts: 3,
  backoffBaseMs: 10,
  backoffMaxMs: 50,
  concurrency: 2,
  queueMax: 50,
  maxAgeMs: 3_600_000,
  retryAfterMaxMs: 60_000,
}

/**
 * One desk's webhook lane (`target`) on Kafka, its group `groupId`, its dead letters to `dlqTopic`, not
 * started (`cleanups` gets its stop); `wrapProducer` can put a fault before its dlq producer, `now` is its
 * clock, `deploymentFaultMs` its bound on dead letters refused for a fault of the deployment, `stopDeadlineMs` its stop's deadline (absent: deliveries in flight abandoned at once), `log` where it logs, `kafkaExtra` over its Kafka client's settings. Its client id is the member's, by which the group's description tells its partitions.
 */
export function testLane(opts: {
  kafkaBrokers: string[]
  cleanups: (() => Promise<unknown>)[]
  target: WebhookDispatcherDeps['targets'][number]
  groupId: string
  dlqTopic: string
  options?: Partial<WebhookOptions>
  wrapProducer?: (real: TradepulseProducer) => TradepulseProducer
  now?: () => number
  deploymentFaultMs?: number
  stopDeadlineMs?: number
  /** Where it logs (silent when absent). */
  log?: Logger
  /** Over its Kafka client's settings (a socketFactory through a proxy). */
  kafkaExtra?: Partial<KafkaConfig>
}) {
  const log = opts.log ?? createLogger({ level: 'silent' })
  const clientId = randomName('webhooks')
  const kafka = createKafka({ brokers: opts.kafkaBrokers, clientId }, log, opts.kafkaExtra)
  const real = createProducer(kafka, log)
  const registry = new Registry()
  const metrics = createAlerterMetrics(registry)
  // The worker's tradepulse_dlq_total, as build-app gives it (createMetrics's `dlq`).
  const dlqTotal = new Counter({
    name: 'tradepulse_dlq_total',
    help: 'dlq',
    labelNames: ['reason'],
    registers: [registry],
  })
  const dispatcher = createWebhookDispatcher({
    kafka,
    producer: opts.wrapProducer?.(real) ?? real,
    dlqTotal,
    groupId: opts.groupId,
    targets: [opts.target],
    dlqTopic: opts.dlqTopic,
    options: { ...TEST_LANE_OPTIONS, ...opts.options },
    consumer: { fetchMaxWaitMs: 100, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 },
    log,
    metrics,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.deploymentFaultMs !== undefined ? { deploymentFaultMs: opts.deploymentFaultMs } : {}),
    ...(opts.stopDeadlineMs !== undefined ? { stopDeadlineMs: opts.stopDeadlineMs } : {}),
  })
  opts.cleanups.push(() => dispatcher.stop())
  return { dispatcher, metrics, dlqTotal, clientId }
}

/**
 * A webhook lane's tests' set-up, registered with beforeEach and afterEach: before each test, desk
 * `deskId`'s topic (2 partitions) and a dlq under a fresh prefix (`<tag>-<random>.`), the lane's group,
 * a producer and an admin; after it, `cleanups` run, the last first (the producer and admin's
 * disconnects among them).
 */
export function webhookLaneFixture(kafkaBrokers: string[], tag: string, deskId: string) {
  const lane = {
    deskTopic: '',
    dlqTopic: '',
    groupId: '',
    producer: undefined as unknown as Producer,
    admin: undefined as unknown as Admin,
    cleanups: [] as (() => Promise<unknown>)[],
  }
  beforeEach(async () => {
    const prefix = randomName(tag)
    lane.deskTopic = `${prefix}.alerts.desk.${deskId}.v1`
    lane.dlqTopic = `${prefix}.dlq`
    lane.groupId = `${prefix}.alerter.webhooks`
    await createTopics(kafkaBrokers, [
      { name: lane.deskTopic, partitions: 2 },
      { name: lane.dlqTopic, partitions: 1 },
    ])
    const producer = await testProducer(kafkaBrokers)
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    lane.producer = producer
    lane.admin = admin
    lane.cleanups.push(
      () => producer.disconnect(),
      () => admin.disconnect(),
    )
  })
  afterEach(async () => {
    for (const c of lane.cleanups.splice(0).reverse()) await c()
  })
  return lane
}

/**
 * Desk `deskId`'s topic and the dlq under a fresh prefix (`<tag>-<random>.`), as the catalogue makes them
 * (`tradepulse topics create`, TOPICS_AUTO_CREATE): the desk topic's records stamped by the broker
 * (LogAppendTime), whatever the clock of the producer that sent them.
 */
export async function deskLaneTopics(
  kafkaBrokers: string[],
  tag: string,
  deskId: string,
): Promise<TopicCatalogue> {
  const topics = createTopicCatalogue(`${randomName(tag)}.`)
  const admin = testKafka(kafkaBrokers).admin()
  await admin.connect()
  try {
    await ensureTopics(admin, [topics.deskAlerts(deskId), topics.dlq])
  } finally {
    await admin.disconnect()
  }
  return topics
}

/**
 * Desk `deskId`'s webhook lane over its topic of `topics` (testLane: its dead letters to the dlq, its
 * options and clock `options` and `now`), started, posting to a receiver of its own that answers 204:
 * the alert ids it was posted, in order, and the lane's deliveries so far by result.
 */
export async function startedDeskLane(opts: {
  kafkaBrokers: string[]
  cleanups: (() => Promise<unknown>)[]
  topics: TopicCatalogue
  deskId: string
  options?: Partial<WebhookOptions>
  now?: () => number
}): Promise<{ posted: string[]; results: () => Promise<Record<string, number>> }> {
  const posted: string[] = []
  const url = await listenForWebhooks(opts.cleanups, (req, res) => {
    req.resume()
    req.on('end', () => {
      posted.push(String(req.headers[ALERT_ID_HEADER]))
      res.writeHead(204).end()
    })
  })
  const { dispatcher, metrics } = testLane({
    kafkaBrokers: opts.kafkaBrokers,
    cleanups: opts.cleanups,
    target: { deskId: opts.deskId, url, secret: 's', topic: opts.topics.deskAlerts(opts.deskId).name },
    groupId: `${opts.topics.dlq.name}.alerter.webhooks`,
    dlqTopic: opts.topics.dlq.name,
    ...(opts.options ? { options: opts.options } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  })
  await dispatcher.start()
  const results = async (): Promise<Record<string, number>> =>
    Object.fromEntries((await metrics.webhooks.get()).values.map((v) => [v.labels.result, v.value]))
  return { posted, results }
}

import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { createTopicCatalogue, listTopics, type TopicSpec } from '@tradepulse/contracts'
import type { IndicatorStore } from '@tradepulse/indicators'
import {
  askFreshAdmins,
  type BatchHandler,
  closeRedis,
  createKafka,
  createKafkaTransport,
  createKafkaWorker,
  createMetrics,
  createRedis,
  createRedisIndicatorStore,
  defaultGroupId,
  type HealthCheck,
  type InRecord,
  type KafkaWorker,
  kafkaClientConfig,
  maxRefAheadMsOf,
  redisDatabaseRefused,
  redisHealth,
  TradepulseError,
  type Transport,
  topicsAtStart,
  type WorkerDeps,
} from '@tradepulse/platform'
import { Counter, Gauge } from 'prom-client'
import { type AlertFeed, createAlertFeed } from './alert-feed.ts'
import { CATCH_UP_AHEAD_MS, createAlertStreams } from './alert-stream.ts'
import { type CatchUp, createCatchUp } from './catch-up.ts'
import { createClientOf } from './client-address.ts'
import { GATEWAY_HTTP_PORT, type GatewayConfig, streamsPerClient } from './config.ts'
import { createGatewayHandler } from './gateway-handler.ts'
import { createApiRoutes, type WithheldReason } from './http-api.ts'
import { deleteOwnGroup } from './own-group.ts'

export type GatewayDeps = WorkerDeps & {
  /** The indicators read; Redis from config when absent. */
  indicators?: IndicatorStore
  /**
   * Awaited before each chunk of records goes into the feed, as a slow handler would be. For tests: the
   * gateway held in its catch-up at a chosen record. Nothing on Kafka's side holds it so for sure: not
   * the time reading takes, nor a transaction left open, as the topic's ends are read at their last
   * stable offset (as far as a read-committed consumer reads), before the open transaction's records.
   */
  beforeFeed?: (records: readonly InRecord[]) => Promise<void>
  /**
   * Makes the Kafka clients of the gateway's own admin clients (the alerts topic's ends at the start, the
   * deletion of its own group at a stop), from the settings kafkaClientConfig gives; createKafka when
   * absent. For tests: what those clients are made with.
   */
  kafka?: (...args: Parameters<typeof createKafka>) => Pick<ReturnType<typeof createKafka>, 'admin'>
}

export type GatewayApp = KafkaWorker & { feed: AlertFeed }

/** How long a start keeps trying to read the alerts topic's ends (each second) before it fails. */
export const ENDS_RETRY_MS = 60_000

/** A kafkajs admin client, as createKafka's clients make them. */
type Admin = ReturnType<ReturnType<typeof createKafka>['admin']>
/** What makes them: a Kafka client (deps.kafka's). */
type AdminSource = { admin(): Admin }

/**
 * Each gateway reads every alert (it serves them all), so each has a consumer group of its own, new at
 * every start: it reads the alerts the topic still holds from the oldest, keeping the newest
 * GATEWAY_RECENT_ALERTS, then follows; a clean stop deletes it (own-group.ts). KAFKA_GROUP_ID set instead
 * resumes after its last commit, and that group is the operator's: never deleted.
 */
export function gatewayGroupId(config: Pick<GatewayConfig, 'KAFKA_GROUP_ID' | 'TRADEPULSE_TOPIC_PREFIX'>) {
  return (
    config.KAFKA_GROUP_ID ??
    `${defaultGroupId(config, 'gateway')}.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`
  )
}

/**
 * The gateway: alerts from Kafka into an in-memory feed, served with the indicators from Redis over HTTP
 * (http-api.ts) on the worker's port, beside its health and metrics. No state of its own.
 */
export function buildGatewayApp(config: GatewayConfig, deps: GatewayDeps): GatewayApp {
  const log = deps.log.child({ component: 'gateway' })
  const topics = createTopicCatalogue(config.TRADEPULSE_TOPIC_PREFIX)
  const metrics = createMetrics('gateway')
  const evicted = new Counter({
    name: 'tradepulse_gateway_feed_evicted_total',
    help: 'alerts the feed let go, the oldest first: past GATEWAY_RECENT_ALERTS (reason="count") or past GATEWAY_RECENT_ALERTS_MAX_BYTES (reason="bytes"); a stream resuming after one gets a gap event',
    labelNames: ['reason'],
    registers: [metrics.registry],
  })
  for (const reason of ['count', 'bytes']) evicted.inc({ reason }, 0)
  const feed = createAlertFeed(config.GATEWAY_RECENT_ALERTS, {
    maxBytes: config.GATEWAY_RECENT_ALERTS_MAX_BYTES,
    evicted: (reason) => evicted.inc({ reason }),
  })
  new Gauge({
    name: 'tradepulse_gateway_feed_bytes',
    help: "what the alerts held weigh together, each as its record's size (GATEWAY_RECENT_ALERTS_MAX_BYTES bounds it)",
    registers: [metrics.registry],
    collect() {
      this.set(feed.bytes)
    },
  })
  const alerts = new Counter({
    name: 'tradepulse_gateway_alerts_total',
    help: 'records read from the alerts topic: a new alert, a duplicate of one held (same id), or invalid (not an alert, or a record over 64 KB: skipped, logged)',
    labelNames: ['result'],
    registers: [metrics.registry],
  })
  // Shown at 0 from the start: a series that first appears at 1 is no increase to rate() or increase(),
  // so an alert on invalid records missed the first one after every start.
  for (const result of ['new', 'duplicate', 'invalid']) alerts.inc({ result }, 0)
  const open = new Gauge({
    name: 'tradepulse_gateway_streams',
    help: 'alert streams (server-sent events) open',
    registers: [metrics.registry],
  })
  const stalled = new Counter({
    name: 'tradepulse_gateway_streams_stalled_total',
    help: 'alert streams closed because their reader took nothing for GATEWAY_STREAM_STALL_MS',
    registers: [metrics.registry],
  })
  const refused = new Counter({
    name: 'tradepulse_gateway_streams_refused_total',
    help: 'alert streams refused: the gateway at GATEWAY_MAX_STREAMS (reason="total", 503), or the client at GATEWAY_MAX_STREAMS_PER_CLIENT (reason="client", 429)',
    labelNames: ['reason'],
    registers: [metrics.registry],
  })
  for (const reason of ['total', 'client']) refused.inc({ reason }, 0)
  const aged = new Counter({
    name: 'tradepulse_gateway_streams_aged_total',
    help: 'alert streams closed because they had been open for GATEWAY_STREAM_MAX_AGE_MS (their readers resume)',
    registers: [metrics.registry],
  })
  const listsRefused = new Counter({
    name: 'tradepulse_gateway_alert_lists_refused_total',
    help: 'GET /api/alerts answered 503 busy: the answers not yet taken by their readers at GATEWAY_ALERT_LISTS_MAX_UNSENT_BYTES',
    registers: [metrics.registry],
  })
  const withheld = new Counter({
    name: 'tradepulse_gateway_indicators_withheld_total',
    help: "indicators left out of /api/indicators and /api/indicators/top answers (named in their `withheld`, with the same reason), at each read: reason=\"damaged_ref\", the indicator's stored newest event time (Redis field ref) is not a number or further past the gateway's clock than AGGREGATOR_MAX_AHEAD_MS + AGGREGATOR_GRACE_MS (Redis edited or damaged, or this gateway's clock behind the aggregators'), until the aggregator's next apply to it repairs it, logged at error at most once a minute; reason=\"invalid_state\", what is read of its state breaks the IndicatorUpdate contract (a field of its Redis hash that is not a number: Redis edited or damaged), logged at warn with the key and the field at most once a minute",
    labelNames: ['reason'],
    registers: [metrics.registry],
  })
  for (const reason of ['damaged_ref', 'invalid_state'] satisfies WithheldReason[])
    withheld.inc({ reason }, 0)
  const indicatorReadsRefused = new Counter({
    name: 'tradepulse_gateway_indicator_reads_refused_total',
    help: 'GET /api/indicators and /api/indicators/top answered 503 busy: GATEWAY_MAX_INDICATOR_READS reads of Redis in flight',
    registers: [metrics.registry],
  })
  const listsCut = new Counter({
    name: 'tradepulse_gateway_alert_lists_cut_total',
    help: 'GET /api/alerts answers cut because their readers had not taken them within 60 s',
    registers: [metrics.registry],
  })
  // On Kafka: not ready until what the alerts topic held at the start has been read (catch-up.ts); streams
  // opened before then start once it has, and the alert list answers 503.
  const catchUp = deps.transport ? undefined : createCatchUp()
  const streams = createAlertStreams(
    feed,
    {
      maxStreams: config.GATEWAY_MAX_STREAMS,
      maxStreamsPerClient: streamsPerClient(config),
      clientOf: createClientOf(config.GATEWAY_TRUSTED_PROXIES),
      heartbeatMs: config.GATEWAY_STREAM_HEARTBEAT_MS,
      stallMs: config.GATEWAY_STREAM_STALL_MS,
      maxAgeMs: config.GATEWAY_STREAM_MAX_AGE_MS,
    },
    {
      opened: () => open.inc(),
      refused: (reason) => refused.inc({ reason }),
      closed: () => open.dec(),
      stalled: () => stalled.inc(),
      aged: () => aged.inc(),
    },
    catchUp,
  )
  const redis = deps.indicators
    ? undefined
    : createRedis(config.REDIS_URL, log, 'tradepulse-gateway', { timeoutMs: config.REDIS_TIMEOUT_MS })
  const indicators =
    deps.indicators ??
    createRedisIndicatorStore(redis!, {
      prefix: config.REDIS_KEY_PREFIX,
      namespace: config.AGGREGATOR_REDIS_NAMESPACE,
      // As the aggregator judges a stored newest event time: past it, the indicator is left out of answers.
      maxRefAheadMs: maxRefAheadMsOf(config),
    })
  // Redis serves the indicators only: without it the alerts are still served, so the gateway stays ready.
  // The check made once, as the other workers' are, not anew at every probe.
  const redisPing = redis && redisHealth(redis)
  const redisCheck: HealthCheck | undefined =
    redisPing && (async () => ({ ...(await redisPing()), ready: true }))
  const handle = createGatewayHandler({ feed, log, onAlert: (result) => alerts.inc({ result }) })
  const { beforeFeed } = deps
  const handler: BatchHandler =
    catchUp || beforeFeed
      ? async (records, ctx) => {
          await beforeFeed?.(records)
          const outcomes = await handle(records, ctx)
          catchUp?.handled(records)
          return outcomes
        }
      : handle
  const groupId = gatewayGroupId(config)
  // A group the gateway named itself is its own, of no use once it has stopped: deleted at a stop.
  const ownGroup = !deps.transport && config.KAFKA_GROUP_ID === undefined
  // The admin clients of the gateway's own, made here (none connects before it is used) of the
  // configuration's brokers, TLS and SASL, as the worker's consumer and producer are: with brokers alone,
  // a gateway on a secured cluster never read the alerts topic's ends, so never became ready.
  const clientId = config.KAFKA_CLIENT_ID ?? 'tradepulse-gateway'
  const makeKafka = deps.kafka ?? createKafka
  const endsKafka = catchUp && makeKafka(kafkaClientConfig(config, `${clientId}-ends`), log)
  // The admin of the ends' read under way (one per attempt, readEnds), then the one that read them, kept for
  // followCommits.
  let endsAdmin: Admin | undefined
  const groupAdmin = ownGroup
    ? makeKafka(
        kafkaClientConfig(config, `${clientId}-group`),
        log,
        // Few retries: an attempt the stop stopped waiting for ends soon after.
        { retry: { initialRetryTime: 100, retries: 2, maxRetryTime: 1_000 } },
      ).admin()
    : undefined
  // The consumer's start called: its group may exist.
  let started = false
  // The gateway's stop called: the start, where under way, goes no step further.
  let stopping = false
  let readingEnds: Promise<void> | undefined
  let following = false
  const pause = () => new Promise((resolve) => setTimeout(resolve, 1_000).unref())
  /**
   * The alerts topic's offsets at the start, into catchUp: read once HTTP listens (its health says so
   * meanwhile) and before the worker's other uses of Kafka (afterEnds), the consumer's start among them;
   * a stream that does not resume is answered only once they are read (alert-stream.ts). So every alert
   * written once a reader has such a stream open lies past them (news, sent to a stream that waited for
   * the catch-up: catch-up.ts). Read once the consumer had started and streams were answered, they took in
   * what was written meanwhile: such an alert counted as history, and a stream opened meanwhile without
   * Last-Event-ID began at the feed's end and never got it. A topic not there yet (TOPICS_AUTO_CREATE
   * makes it in the worker's start; without it the start stops, naming it) held nothing. Retried every
   * second (a partition without a leader yet, just made or its broker restarting, fails the read, and
   * kafkajs tries it once), for ENDS_RETRY_MS at most: then the start fails, as the worker's other reads
   * of Kafka at its start do. Each attempt on a fresh admin (askFreshAdmins): one asked again keeps the
   * metadata naming a partition's old leader until it expires (5 min), so after a leader moved it asked
   * the old one each second and the start failed. The gateway's stop ends it, during a wait too: no
   * attempt starts after it, and the admin of the last one is disconnected however it ends.
   */
  async function readEnds(tracker: CatchUp, kafka: AdminSource): Promise<void> {
    const name = topics.alerts.name
    // On the monotonic clock, as the platform's deadlines: a wall clock stepped forward (an NTP step, a VM
    // resumed) gave the start up at once, one stepped back kept it retrying for as long as the step.
    const giveUpAt = performance.now() + ENDS_RETRY_MS
    try {
      const got = await askFreshAdmins(
        kafka,
        async (admin) => {
          const offsets = (await admin.listTopics()).includes(name) ? await admin.fetchTopicOffsets(name) : []
          tracker.setEnds(
            offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) })),
          )
        },
        {
          attempts: Number.POSITIVE_INFINITY,
          waitMs: 1_000,
          // Any failure, until ENDS_RETRY_MS: then thrown. One met once the stop is called ends the asking
          // as stopped (shouldStop, checked right after this, before any wait or onRetry): the admin is
          // disconnected below and nothing is thrown, as for a failure thrown after the stop.
          retriable: () => performance.now() < giveUpAt,
          // No attempt once the stop is called, the wait before one included: one made after the stop's
          // cleanup had disconnected the admin it knew was never disconnected.
          shouldStop: () => stopping,
          onRetry: (err) =>
            log.warn(
              { err },
              "could not read the alerts topic's ends (retrying in 1 s): not ready, its consumer not started, until it has",
            ),
          onAdmin: (admin) => {
            endsAdmin = admin
          },
          keep: true,
        },
      )
      // Stopped, or an attempt under way at the stop that answered after its cleanup: the admin is
      // nobody's (followCommits starts only before the stop).
      if (!got.ok || stopping) await endsAdmin?.disconnect().catch(() => {})
    } catch (err) {
      await endsAdmin?.disconnect().catch(() => {})
      if (stopping) return
      throw new TradepulseError('INFRA_KAFKA', `could not read the ends of ${name} at the start`, {
        cause: err,
      })
    }
  }
  /**
   * For a group of its own name (KAFKA_GROUP_ID), the group's commits every second until caught up: the
   * group resumes at them, so a gateway restarted where it had read everything is handed no record, and
   * partitions other members of the group read are never handed to this one. Then the admin goes.
   */
  async function followCommits(tracker: CatchUp, admin: Admin): Promise<void> {
    while (config.KAFKA_GROUP_ID && !stopping && !tracker.caughtUp) {
      try {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topics.alerts.name] })
        tracker.committed(
          (committed?.partitions ?? []).map((p) => ({ partition: p.partition, offset: Number(p.offset) })),
        )
      } catch (err) {
        log.warn({ err, groupId }, "could not read the group's committed offsets (retrying in 1 s)")
      }
      if (!tracker.caughtUp) await pause()
    }
    await admin.disconnect().catch(() => {})
  }
  /**
   * `transport`, each of its uses at the worker's start (the topics' checks, the consumer's start) made
   * once the alerts topic's ends are read (readEnds), and none once the gateway's stop is called (a
   * consumer started after the stop would never be stopped). The worker's HTTP listens before them: its
   * health, its metrics and the routes that need no feed answer while the ends are read. A read that
   * failed for ENDS_RETRY_MS fails the worker's first step with it, and so the start (exit 69).
   */
  function afterEnds(transport: Transport, tracker: CatchUp, kafka: AdminSource): Transport {
    const after =
      <A extends unknown[], T>(use: (...args: A) => Promise<T>) =>
      async (...args: A): Promise<T> => {
        readingEnds ??= readEnds(tracker, kafka)
        await readingEnds
        if (stopping) throw new TradepulseError('SHUTDOWN', 'the gateway stopped while starting')
        return use(...args)
      }
    return {
      kind: transport.kind,
      createRunner(...args) {
        const runner = transport.createRunner(...args)
        const start = after(() => {
          started = true
          return runner.start()
        })
        return { ...runner, start }
      },
      ensureTopics: after((specs) => transport.ensureTopics(specs)),
      missingTopics: after((names) => transport.missingTopics(names)),
      timestampTypeDrift: after((specs) => transport.timestampTypeDrift(specs)),
      ...(transport.topicSettingsDrift
        ? { topicSettingsDrift: after((specs: TopicSpec[]) => transport.topicSettingsDrift!(specs)) }
        : {}),
      createPublisher: () => transport.createPublisher(),
    }
  }
  // The worker's bus, as it would make it, its uses at the start waiting for the ends (afterEnds).
  const transport =
    catchUp && endsKafka
      ? afterEnds(createKafkaTransport(kafkaClientConfig(config, clientId), log), catchUp, endsKafka)
      : deps.transport
  const app = createKafkaWorker({
    worker: 'gateway',
    config: { ...config, KAFKA_GROUP_ID: groupId },
    log,
    metrics,
    inputTopics: [topics.alerts.name],
    dlqTopic: topics.dlq.name,
    defaultHttpPort: GATEWAY_HTTP_PORT,
    ...(transport ? { transport } : {}),
    ...topicsAtStart(config.TOPICS_AUTO_CREATE, listTopics(topics), [topics.dlq.name]),
    handler,
    // Catching up, partitions are read in step by their records' times, so the feed (which keeps the
    // newest it read) ends with the newest alerts of every partition, not of the last one read. A resume
    // from another gateway's order looks back further than this (RESUME_SLACK_MS).
    align: { aheadMs: CATCH_UP_AHEAD_MS, eventMs: (r) => r.timestamp },
    allowedHosts: { hosts: config.GATEWAY_ALLOWED_HOSTS, variable: 'GATEWAY_ALLOWED_HOSTS' },
    routes: createApiRoutes({
      feed,
      streams,
      indicators,
      log,
      ...(catchUp ? { catchUp } : {}),
      maxUnsentBytes: config.GATEWAY_ALERT_LISTS_MAX_UNSENT_BYTES,
      answers: { refused: () => listsRefused.inc(), cut: () => listsCut.inc() },
      indicatorsWithheld: (n, reason) => withheld.inc({ reason }, n),
      maxIndicatorReads: config.GATEWAY_MAX_INDICATOR_READS,
      indicatorReadsRefused: () => indicatorReadsRefused.inc(),
    }),
    healthChecks: {
      ...(redisCheck ? { redis: redisCheck } : {}),
      ...(catchUp ? { alerts: catchUp.health } : {}),
    },
    // Unlike an outage, which the gateway serves its alerts through, a database the server refuses is
    // the configuration's and ends only with a change to it: the gateway stops (exit 78) as the others do,
    // rather than answer every indicator read 503 for good.
    ...(redis ? { fatal: [redisDatabaseRefused(redis)] } : {}),
    // After the runner's stop: the consumer has committed and left its group, which is then empty.
    onStop: async () => {
      streams.closeAll()
      await Promise.all([
        redis ? closeRedis(redis) : undefined,
        groupAdmin && started ? deleteOwnGroup(groupAdmin, groupId, log) : undefined,
        // Not handed to followCommits (the consumer not started): a read of the ends under way fails and
        // ends (stopping), one done leaves nothing open.
        following ? undefined : endsAdmin?.disconnect().catch(() => {}),
      ])
    },
  })
  // Where the consumer reads next, past transaction markers no handler sees: a partition ending in one
  // (any transactional writer's commit or abort) is read to its end all the same.
  if (catchUp) app.runner.onPosition?.((_topic, partition, next) => catchUp.position(partition, next))
  return {
    ...app,
    feed,
    async start() {
      await app.start()
      // Once, a start called again included: the following has the one admin client.
      if (catchUp && endsAdmin && started && !stopping && !following) {
        following = true
        void followCommits(catchUp, endsAdmin)
      }
    },
    stop() {
      stopping = true
      return app.stop()
    },
  }
}

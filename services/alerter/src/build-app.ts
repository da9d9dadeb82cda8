import { createTopicCatalogue, listTopics, type TopicSpec } from '@tradepulse/contracts'
import {
  acknowledgedBefore,
  closeRedis,
  createKafka,
  createKafkaTransport,
  createKafkaWorker,
  createMetrics,
  createProducer,
  createRedis,
  declareVariables,
  defaultGroupId,
  groupAlignmentExchange,
  type InRecord,
  indicatorAsOfMs,
  type KafkaWorker,
  kafkaClientConfig,
  type Logger,
  type OutRecord,
  publishedAtMs,
  redisDatabaseRefused,
  redisHealth,
  topicsAtStart,
  type WorkerDeps,
  watchRedisState,
} from '@tradepulse/platform'
import type { Redis } from 'ioredis'
import { type AlertStore, createRedisAlertStore } from './alert-store.ts'
import { createAlerterHandler } from './alerter-handler.ts'
import { createAlerterMetrics } from './alerter-metrics.ts'
import { ALERTER_HTTP_PORT, type AlerterConfig } from './config.ts'
import { deskSecretVariables, desksRefusingRules, loadDeskConfig } from './desk-config.ts'
import { gateInEventTime } from './event-time-gate.ts'
import { createHeadlineMemory } from './headline-memory.ts'
import { createRulesSource, type ReloadResult, type RulesSource } from './rules-source.ts'
import { createWebhookDispatcher } from './webhook-dispatcher.ts'

export type AlerterApp = KafkaWorker & {
  /** Re-reads the rules file now (SIGHUP); an invalid file is refused and the running rules stay. */
  reloadRules(): ReloadResult
  rules: RulesSource
}

export type AlerterDeps = WorkerDeps & {
  /** Cooldowns, dedup marks and hysteresis; Redis from config when absent. */
  store?: AlertStore
  /** Where desks' webhook secret variables are read (default process.env). */
  env?: Record<string, string | undefined>
  fetch?: typeof fetch
}

/**
 * The alerter's Redis client. A command whose connection closed before its reply came fails (a Redis
 * outage: the batch is tried again) rather than being sent again on the next connection, ioredis's
 * default: that could be long after, when the record's partition is another alerter's, which may have
 * decided the record otherwise (rules reloaded, the headline too old by then) and claimed nothing; the
 * late claim then held the alert's id and cooled its stream down around an alert nobody sends. Every
 * write of the alerter is retried by its batch (createRedis's resendUnfulfilled).
 */
export function createAlerterRedis(
  config: Pick<AlerterConfig, 'REDIS_URL' | 'REDIS_TIMEOUT_MS'>,
  log: Logger,
  name = 'tradepulse-alerter',
): Redis {
  return createRedis(config.REDIS_URL, log, name, {
    timeoutMs: config.REDIS_TIMEOUT_MS,
    resendUnfulfilled: false,
  })
}

/**
 * The alerter on Kafka and Redis: one consumer group on headlines.scored and indicators producing
 * alerts, and (when desks have webhooks) a second group on those desks' topics delivering them.
 */
export function buildAlerterApp(config: AlerterConfig, deps: AlerterDeps): AlerterApp {
  const log = deps.log.child({ component: 'alerter' })
  const topics = createTopicCatalogue(config.TRADEPULSE_TOPIC_PREFIX)
  const metrics = createMetrics('alerter')
  const alerterMetrics = createAlerterMetrics(metrics.registry)
  // Both files are read before anything connects: a bad file is a configuration error at start, a desk
  // naming a rule it would get nothing of included (one the rules file does not have, or whose dimensions
  // or severity never reach the desk: the desks file is refused). A reload of the rules that would leave
  // such a desk is refused alike, and the running rules stay.
  const rules = createRulesSource({
    file: config.ALERTER_RULES_FILE,
    debounceMs: config.ALERTER_RULES_RELOAD_DEBOUNCE_MS,
    log: log.child({ component: 'rules' }),
    metrics: alerterMetrics,
    check: (ruleSet) => desksRefusingRules(config.ALERTER_DESKS_FILE, desks.desks, ruleSet),
  })
  const desks = loadDeskConfig(
    config.ALERTER_DESKS_FILE,
    deps.env ?? process.env,
    config.ALERTER_WEBHOOKS_ENABLED,
    rules.current().rules,
  )
  // The variables its webhooks are signed with are read by this process, whatever their names: not
  // warned of as unknown at start (ALERTER_TARIFF_KEY has a worker's prefix, and no SECRET in it).
  declareVariables(deskSecretVariables(desks.desks))
  // A webhook secret too short to trust is taken (refusing it would stop webhooks at an upgrade), and said.
  for (const warning of desks.warnings) log.warn({ file: config.ALERTER_DESKS_FILE }, warning)
  const deskTopics: TopicSpec[] = desks.desks.map((d) => topics.deskAlerts(d.id))

  const redis = deps.store ? undefined : createAlerterRedis(config, log)
  const store =
    deps.store ??
    createRedisAlertStore(redis!, {
      prefix: config.REDIS_KEY_PREFIX,
      dedupWindowMs: config.ALERTER_DEDUP_WINDOW_MS,
      hysteresisTtlMs: config.ALERTER_HYSTERESIS_TTL_MS,
    })
  const state =
    redis &&
    watchRedisState(redis, {
      prefix: config.REDIS_KEY_PREFIX,
      what: 'alert cooldowns, hysteresis and sent marks',
      refillMs: Math.max(config.ALERTER_DEDUP_WINDOW_MS, config.ALERTER_HYSTERESIS_TTL_MS),
      remedy:
        'Until then an indicator rule re-arms and pages again on its next update past its threshold, and a cooldown under way is forgotten',
      log,
      registry: metrics.registry,
    })
  const clientId = config.KAFKA_CLIENT_ID ?? 'tradepulse-alerter'
  const groupId = defaultGroupId(config, 'alerter')
  const transport = deps.transport ?? createKafkaTransport(kafkaClientConfig(config, clientId), log)
  const kafka = createKafka(kafkaClientConfig(config, `${clientId}-alerts`), log)
  // The handler publishes alerts itself: they must be acknowledged before it marks them sent.
  const publisher = transport.createPublisher()
  const count = (records: readonly OutRecord[]) => {
    const counts = new Map<string, number>()
    for (const r of records) counts.set(r.topic, (counts.get(r.topic) ?? 0) + 1)
    for (const [topic, n] of counts) metrics.messagesOut.inc({ topic }, n)
  }
  const publish = async (records: OutRecord[]) => {
    try {
      await publisher.send(records)
    } catch (err) {
      count(acknowledgedBefore(err, records)) // written before the fault: the handler does not send them again
      throw err
    }
    count(records)
  }
  // After Kafka refused a record of a publish for good, the handler sends the rest one record at a time
  // to find which: on a publisher of their own, one send after another, so no request holds another
  // partition's records (the shared publisher's queue merges them, and one refused record would fail
  // them all alike). Only the Kafka transport refuses records.
  const alonePublisher = transport.kind === 'kafka' ? transport.createPublisher() : undefined
  let aloneChain: Promise<unknown> = Promise.resolve()
  const publishAlone = async (records: OutRecord[]) => {
    const sending = aloneChain.then(() => alonePublisher!.send(records))
    aloneChain = sending.catch(() => {})
    await sending
    count(records)
  }

  // A cap on attempts dead-letters every alert of a receiver down for longer than its attempts and backoffs
  // (5 of them: about 5.5 s, the old default): taken, but said at start.
  if (desks.webhooks.length > 0 && config.ALERTER_WEBHOOK_MAX_ATTEMPTS > 0)
    log.warn(
      { ALERTER_WEBHOOK_MAX_ATTEMPTS: config.ALERTER_WEBHOOK_MAX_ATTEMPTS },
      `ALERTER_WEBHOOK_MAX_ATTEMPTS is ${config.ALERTER_WEBHOOK_MAX_ATTEMPTS}: a desk's webhook failing for longer than that many attempts has its alerts dead-lettered (webhook_failed), not posted once it answers again; unset it (0) to retry them until ALERTER_WEBHOOK_MAX_AGE_MS (${config.ALERTER_WEBHOOK_MAX_AGE_MS} ms)`,
    )
  const webhooks = createWebhookDispatcher({
    kafka: createKafka(kafkaClientConfig(config, `${clientId}-webhooks`), log),
    producer: createProducer(kafka, log),
    dlqTotal: metrics.dlq,
    groupId: `${groupId}.webhooks`,
    targets: desks.webhooks.map((w) => ({ ...w, topic: topics.deskAlerts(w.deskId).name })),
    dlqTopic: topics.dlq.name,
    options: {
      timeoutMs: config.ALERTER_WEBHOOK_TIMEOUT_MS,
      maxAttempts: config.ALERTER_WEBHOOK_MAX_ATTEMPTS,
      backoffBaseMs: config.ALERTER_WEBHOOK_BACKOFF_BASE_MS,
      backoffMaxMs: config.ALERTER_WEBHOOK_BACKOFF_MAX_MS,
      concurrency: config.ALERTER_WEBHOOK_CONCURRENCY,
      queueMax: config.ALERTER_WEBHOOK_QUEUE_MAX,
      maxAgeMs: config.ALERTER_WEBHOOK_MAX_AGE_MS,
      maxNewsAgeMs: config.ALERTER_WEBHOOK_MAX_NEWS_AGE_MS,
      retryAfterMaxMs: config.ALERTER_WEBHOOK_RETRY_AFTER_MAX_MS,
    },
    consumer: {
      fetchMaxWaitMs: Math.max(config.KAFKA_FETCH_MAX_WAIT_MS, 100),
      sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: config.KAFKA_HEARTBEAT_INTERVAL_MS,
    },
    log: log.child({ component: 'webhooks' }),
    metrics: alerterMetrics,
    // The webhook attempts in flight at a stop finish within it (each cut short was posted again after the
    // restart); what the worker's last steps (its producers, Redis, HTTP) need is kept of it.
    stopDeadlineMs: config.SHUTDOWN_DEADLINE_MS - Math.min(2_000, config.SHUTDOWN_DEADLINE_MS / 5),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  })

  // A record's event time: an indicator update's asOf, a scored headline's publishedAt.
  const eventMs = (r: InRecord) =>
    r.topic === topics.indicators.name ? indicatorAsOfMs(r.value) : publishedAtMs(r.value)
  const worker = createKafkaWorker({
    worker: 'alerter',
    config,
    log,
    metrics,
    inputTopics: [topics.scored.name, topics.indicators.name],
    dlqTopic: topics.dlq.name,
    defaultHttpPort: ALERTER_HTTP_PORT,
    // A backlog (a restart after a stop, a replay) is taken in event-time order across the partitions of
    // both topics, as live traffic comes: a cooldown then keeps the first alert in event time, where
    // reading one partition ahead of another kept whichever headline came first from Kafka (a rewrite
    // hours after the news) and silenced the news itself; and evidence is what preceded the update.
    align: {
      aheadMs: config.ALERTER_ALIGN_AHEAD_MS,
      eventMs,
      ...(redis ? { exchange: groupAlignmentExchange(redis, config, groupId) } : {}),
    },
    transport,
    ...topicsAtStart(
      config.TOPICS_AUTO_CREATE,
      [...listTopics(topics), ...deskTopics],
      [topics.alerts.name, topics.dlq.name, ...deskTopics.map((t) => t.name)],
      'tradepulse topics create --desks',
    ),
    // The partitions handled at once are decided in event-time order across them (gateInEventTime).
    handler: gateInEventTime(
      createAlerterHandler({
        topics,
        rules: rules.current,
        desks: desks.desks,
        store,
        memory: createHeadlineMemory({
          maxScopes: config.ALERTER_EVIDENCE_SCOPES,
          perScope: config.ALERTER_EVIDENCE_PER_SCOPE,
        }),
        publish,
        ...(alonePublisher ? { publishAlone } : {}),
        log,
        metrics: alerterMetrics,
        maxEventAgeMs: config.ALERTER_MAX_EVENT_AGE_MS,
        hysteresisTtlMs: config.ALERTER_HYSTERESIS_TTL_MS,
        hysteresisPruneGraceMs: config.ALERTER_HYSTERESIS_PRUNE_GRACE_MS,
        dedupWindowMs: config.ALERTER_DEDUP_WINDOW_MS,
      }),
      { aheadMs: config.ALERTER_ALIGN_AHEAD_MS, eventMs },
    ),
    healthChecks: {
      ...(redis && state ? { redis: redisHealth(redis), redisState: state.health } : {}),
      webhooks: webhooks.health,
    },
    // A desk's webhook dead letters refused for a fault of the deployment (this host's clock, the
    // credentials, TLS) for 30 s stop the worker (exit 69) as the batch runner's output does.
    fatal: [...(redis ? [redisDatabaseRefused(redis)] : []), webhooks.failed],
    onStop: async () => {
      state?.stop()
      rules.close()
      await webhooks.stop()
      await publisher.close()
      await alonePublisher?.close()
      if (redis) await closeRedis(redis)
    },
  })

  return {
    ...worker,
    rules,
    reloadRules: () => rules.reload('reload requested'),
    async start() {
      await worker.start()
      rules.watch()
      // After the worker: its start created the desk topics the dispatcher reads.
      await webhooks.start()
    },
    // The webhook lanes stop taking desk records and let their attempts in flight finish while the alert
    // consumer drains, not after it: their time counts from the stop asked (onStop waits for the same stop).
    stop() {
      void webhooks.stop()
      return worker.stop()
    },
  }
}

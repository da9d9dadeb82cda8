import { getHeapStatistics } from 'node:v8'
import { createTopicCatalogue, listTopics } from '@tradepulse/contracts'
import { type IndicatorStore, resolveIndicatorConfig } from '@tradepulse/indicators'
import {
  closeRedis,
  createKafkaTransport,
  createKafkaWorker,
  createKeys,
  createMetrics,
  createRedis,
  createRedisIndicatorStore,
  defaultGroupId,
  faultReason,
  healthTransitions,
  type KafkaWorker,
  kafkaClientConfig,
  type OutRecord,
  redisAlignmentExchange,
  redisDatabaseRefused,
  redisHealth,
  topicsAtStart,
  type WorkerDeps,
  watchRedisState,
} from '@tradepulse/platform'
import { createAggregator } from './aggregator-handler.ts'
import { createAggregatorMetrics } from './aggregator-metrics.ts'
import { appliedOffsetsKey, memoryAppliedOffsets, redisAppliedOffsets } from './applied-offsets.ts'
import {
  AGGREGATOR_HTTP_PORT,
  type AggregatorConfig,
  eventTimeOptions,
  heapWarning,
  indicatorOverrides,
  indicatorStoreOptions,
} from './config.ts'
import { dirtyKeysKey, memoryDirtyKeys, redisDirtyKeys } from './dirty-keys.ts'

const FINAL_FLUSH_MS = 2_000

export type AggregatorAppDeps = WorkerDeps & {
  /** The indicator store; Redis from config when absent. */
  store?: IndicatorStore
  /** The process's heap limit, checked against what a catch-up may hold (heapWarning); v8's when absent. */
  heapLimitBytes?: number
}

/** The aggregator worker: on Kafka and Redis by default, or on whatever bus and store it is given. */
export function buildAggregatorApp(config: AggregatorConfig, deps: AggregatorAppDeps): KafkaWorker {
  const log = deps.log.child({ component: 'aggregator' })
  // A backlog caught up at a fetch size the heap cannot hold killed the worker before its first commit,
  // and every restart after it the same way (heap OOM at 157,000 records with a 512 MB heap, defaults):
  // said at the start, with both ways out.
  const heap = heapWarning(config, deps.heapLimitBytes ?? getHeapStatistics().heap_size_limit)
  if (heap) log.warn(heap.fields, heap.msg)
  const topics = createTopicCatalogue(config.TRADEPULSE_TOPIC_PREFIX)
  const indicatorConfig = indicatorOverrides(config)
  const resolved = resolveIndicatorConfig(indicatorConfig)
  const redis = deps.store
    ? undefined
    : createRedis(config.REDIS_URL, log, 'tradepulse-aggregator', {
        timeoutMs: config.REDIS_TIMEOUT_MS,
      })
  const store = deps.store ?? createRedisIndicatorStore(redis!, indicatorStoreOptions(config))
  const transport =
    deps.transport ??
    createKafkaTransport(kafkaClientConfig(config, config.KAFKA_CLIENT_ID ?? 'tradepulse-aggregator'), log)
  const metrics = createMetrics('aggregator')
  const state =
    redis &&
    watchRedisState(redis, {
      prefix: config.REDIS_KEY_PREFIX,
      what: 'indicators',
      // The longest horizon an indicator reads back (the buzz baseline).
      refillMs: resolved.ttlMs,
      remedy: 'Run `tradepulse indicators rebuild` to restore them from Kafka',
      log,
      registry: metrics.registry,
    })
  const groupId = defaultGroupId(config, 'aggregator')
  // The group's applied offsets, so a restart's redeliveries count as duplicates, not late: in Redis
  // beside the indicators (with their TTL), or, over the embedded default's stores, in memory.
  const applied = redis
    ? redisAppliedOffsets(redis, appliedOffsetsKey(config.REDIS_KEY_PREFIX, groupId), resolved.ttlMs)
    : memoryAppliedOffsets()
  // The keys the throttle holds back, marked until published, so that a member killed before its
  // trailing edge loses no update: the group's, in Redis beside the indicators (see dirty-keys.ts).
  const dirty = redis
    ? redisDirtyKeys(redis, dirtyKeysKey(config.REDIS_KEY_PREFIX, groupId), resolved.ttlMs)
    : memoryDirtyKeys()
  // Every indicator update, a batch's and the trailing edge's, goes through this one producer (see
  // createAggregator: one key's updates are read and sent one at a time, so they land in the order of
  // their readings). The trailing edge is not tied to a batch; a key it has not published yet is marked
  // dirty in Redis, so a crash before it does leaves the update to any member's trailing edge,
  // AGGREGATOR_PUBLISH_RECOVER_MS on.
  const publisher = transport.createPublisher()
  const send = async (records: OutRecord[]) => {
    await publisher.send(records)
    metrics.messagesOut.inc({ topic: topics.indicators.name }, records.length)
  }
  const aggregator = createAggregator({
    send,
    applied,
    appliedTtlMs: resolved.ttlMs,
    dirty,
    recoverAfterMs: config.AGGREGATOR_PUBLISH_RECOVER_MS,
    publishFailingMs: config.AGGREGATOR_PUBLISH_FAILING_MS,
    // The grace and the watermark's bound, as the rebuild reads them (eventTimeOptions).
    ...eventTimeOptions(config),
    topics,
    store,
    log,
    metrics: createAggregatorMetrics(metrics.registry),
    partSize: config.AGGREGATOR_PART_SIZE,
    publish: {
      intervalMs: config.AGGREGATOR_PUBLISH_INTERVAL_MS,
      largeChange: config.AGGREGATOR_PUBLISH_LARGE_CHANGE,
      burstFactor: config.AGGREGATOR_PUBLISH_BURST_FACTOR,
      shortLabel: resolved.momentum.short,
    },
  })

  let flushing: Promise<void> | undefined
  const flush = async (all: boolean) => {
    await (all ? aggregator.flushAll() : aggregator.flushDue())
  }
  const tickMs = Math.max(50, Math.floor(config.AGGREGATOR_PUBLISH_INTERVAL_MS / 4))
  // A fault the trailing edge meets again at every tick (a quarter interval) while it lasts: warned when
  // it starts and when its reason changes, and once at info when a tick goes through again, not four
  // times a second (the indicatorPublish check and tradepulse_indicator_publish_failures_total say it lasts).
  const trailingFaults = healthTransitions(log, 'trailing indicator updates failed, retried every tick')
  const timer = setInterval(() => {
    flushing ??= flush(false)
      .then(
        () => trailingFaults.ok(),
        (err: unknown) => trailingFaults.failing(faultReason(err), err),
      )
      .finally(() => {
        flushing = undefined
      })
  }, tickMs)
  timer.unref()

  return createKafkaWorker({
    worker: 'aggregator',
    config,
    log,
    metrics,
    inputTopics: [topics.scored.name],
    dlqTopic: topics.dlq.name,
    defaultHttpPort: AGGREGATOR_HTTP_PORT,
    transport,
    ...topicsAtStart(config.TOPICS_AUTO_CREATE, listTopics(topics), [
      topics.indicators.name,
      topics.dlq.name,
    ]),
    handler: aggregator.handler,
    // Partitions catching up a backlog stay within half a grace of each other in event time, so one
    // running ahead does not make another's headlines late (the merger evens out one fetch only); with
    // several members in the group, across members too, through Redis.
    align: {
      aheadMs: config.AGGREGATOR_GRACE_MS / 2,
      eventMs: (r) => aggregator.eventMsOf(r),
      ...(redis
        ? {
            exchange: redisAlignmentExchange(
              redis,
              createKeys(config.REDIS_KEY_PREFIX).alignPoints(groupId),
              config.KAFKA_SESSION_TIMEOUT_MS,
            ),
          }
        : {}),
    },
    // indicatorPublish: a batch whose updates Kafka does not take completes (they are held back), so the
    // consumer's own health does not show indicators.v1 out of reach; this does (publish-health.ts).
    healthChecks: {
      indicatorPublish: aggregator.publishHealth,
      ...(redis && state ? { redis: redisHealth(redis), redisState: state.health } : {}),
    },
    ...(redis ? { fatal: [redisDatabaseRefused(redis)] } : {}),
    onStop: async () => {
      state?.stop()
      clearInterval(timer)
      await flushing
      // Bounded: with Redis or Kafka down the pending updates wait for the keys' next change instead.
      await Promise.race([
        flush(true).catch((err) => log.warn({ err }, 'final trailing indicator updates failed')),
        new Promise((r) => setTimeout(r, FINAL_FLUSH_MS).unref()),
      ])
      await publisher.close()
      if (redis) await closeRedis(redis)
    },
  })
}

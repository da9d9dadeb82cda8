import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { createTopicCatalogue, DEFAULT_TOPIC_PREFIX, listTopics } from '@tradepulse/contracts'
import type { IndicatorStore } from '@tradepulse/indicators'
import {
  closeRedis,
  createKafkaWorker,
  createMetrics,
  createRedis,
  createRedisIndicatorStore,
  type HealthCheck,
  type KafkaWorker,
  redisHealth,
  topicsAtStart,
  type WorkerDeps,
} from '@tradepulse/platform'
import { Counter, Gauge } from 'prom-client'
import { type AlertFeed, createAlertFeed } from './alert-feed.ts'
import { createAlertStreams } from './alert-stream.ts'
import { GATEWAY_HTTP_PORT, type GatewayConfig } from './config.ts'
import { createGatewayHandler } from './gateway-handler.ts'
import { createApiRoutes } from './http-api.ts'

export type GatewayDeps = WorkerDeps & {
  /** The indicators read; Redis from config when absent. */
  indicators?: IndicatorStore
}

export type GatewayApp = KafkaWorker & { feed: AlertFeed }

/**
 * Each gateway reads every alert (it serves them all), so each has a consumer group of its own, new at
 * every start: it reads the alerts the topic still holds from the oldest, keeping the newest
 * GATEWAY_RECENT_ALERTS, then follows. KAFKA_GROUP_ID set instead resumes after its last commit.
 */
export function gatewayGroupId(config: Pick<GatewayConfig, 'KAFKA_GROUP_ID' | 'TRADEPULSE_TOPIC_PREFIX'>) {
  return (
    config.KAFKA_GROUP_ID ??
    `${config.TRADEPULSE_TOPIC_PREFIX || DEFAULT_TOPIC_PREFIX}gateway.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`
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
  const feed = createAlertFeed(config.GATEWAY_RECENT_ALERTS)
  const alerts = new Counter({
    name: 'tradepulse_gateway_alerts_total',
    help: 'alerts read from the alerts topic: new, or a duplicate of one held (same id)',
    labelNames: ['result'],
    registers: [metrics.registry],
  })
  const open = new Gauge({
    name: 'tradepulse_gateway_streams',
    help: 'alert streams (server-sent events) open',
    registers: [metrics.registry],
  })
  const overflowed = new Counter({
    name: 'tradepulse_gateway_streams_overflowed_total',
    help: 'alert streams closed because their reader fell behind by more than GATEWAY_STREAM_MAX_BUFFER_BYTES',
    registers: [metrics.registry],
  })
  const streams = createAlertStreams(
    feed,
    {
      maxStreams: config.GATEWAY_MAX_STREAMS,
      heartbeatMs: config.GATEWAY_STREAM_HEARTBEAT_MS,
      maxBufferBytes: config.GATEWAY_STREAM_MAX_BUFFER_BYTES,
    },
    { opened: () => open.inc(), closed: () => open.dec(), overflowed: () => overflowed.inc() },
  )
  const redis = deps.indicators
    ? undefined
    : createRedis(config.REDIS_URL, log, 'tradepulse-gateway', { timeoutMs: config.REDIS_TIMEOUT_MS })
  const indicators =
    deps.indicators ??
    createRedisIndicatorStore(redis!, {
      prefix: config.REDIS_KEY_PREFIX,
      namespace: config.AGGREGATOR_REDIS_NAMESPACE,
    })
  // Redis serves the indicators only: without it the alerts are still served, so the gateway stays ready.
  const redisCheck: HealthCheck | undefined =
    redis && (async () => ({ ...(await redisHealth(redis)()), ready: true }))
  const app = createKafkaWorker({
    worker: 'gateway',
    config: { ...config, KAFKA_GROUP_ID: gatewayGroupId(config) },
    log,
    metrics,
    inputTopics: [topics.alerts.name],
    dlqTopic: topics.dlq.name,
    defaultHttpPort: GATEWAY_HTTP_PORT,
    ...(deps.transport ? { transport: deps.transport } : {}),
    ...topicsAtStart(config.TOPICS_AUTO_CREATE, listTopics(topics), [topics.dlq.name]),
    handler: createGatewayHandler({
      feed,
      onAlert: (fresh) => alerts.inc({ result: fresh ? 'new' : 'duplicate' }),
    }),
    routes: createApiRoutes({ feed, streams, indicators, log }),
    ...(redisCheck ? { healthChecks: { redis: redisCheck } } : {}),
    onStop: async () => {
      streams.closeAll()
      if (redis) await closeRedis(redis)
    },
  })
  return { ...app, feed }
}

import { AggregatorConfig, buildAggregatorApp, indicatorStoreOptions } from '@tradepulse/aggregator'
import { AlerterConfig, buildAlerterApp, createMemoryAlertStore } from '@tradepulse/alerter'
import type { Clock, TopicCatalogue } from '@tradepulse/contracts'
import { buildGatewayApp, GatewayConfig } from '@tradepulse/gateway'
import type { IndicatorStore } from '@tradepulse/indicators'
import { buildIngestApp, IngestConfig } from '@tradepulse/ingest'
import {
  createMemoryDedupStore,
  createMemoryIndicatorStore,
  type KafkaWorker,
  type Logger,
  setValue,
  TradepulseError,
  type Transport,
} from '@tradepulse/platform'
import { buildScorerApp, ScorerConfig } from '@tradepulse/scorer'
import type { z } from 'zod'

type Deps = { log: Logger; transport?: Transport } & Record<string, unknown>
type EmbeddedContext = {
  clock: Clock
  env: Record<string, string | undefined>
  /** The worker's loaded configuration: the memory stores take the same settings as the Redis ones. */
  config: never
  stores: { indicators?: IndicatorStore }
}

type WorkerEntry = {
  config: z.ZodObject
  build: (config: never, deps: Deps) => KafkaWorker
  /** The topics the worker consumes (to know when it has caught up). */
  inputs: (topics: TopicCatalogue) => string[]
  /** Stores for the embedded default, in place of Redis. */
  embedded?: (ctx: EmbeddedContext) => Record<string, unknown>
}

/** Every worker `tradepulse start` can run, in pipeline order. */
export const WORKERS: Record<string, WorkerEntry> = {
  ingest: {
    config: IngestConfig,
    build: buildIngestApp as WorkerEntry['build'],
    inputs: (t) => [t.raw.name],
    embedded: ({ clock, config }) => ({
      dedup: createMemoryDedupStore({ windowMs: (config as IngestConfig).INGEST_DEDUP_WINDOW_MS, clock }),
    }),
  },
  scorer: {
    config: ScorerConfig,
    build: buildScorerApp as WorkerEntry['build'],
    inputs: (t) => [t.headlines.name],
  },
  aggregator: {
    config: AggregatorConfig,
    build: buildAggregatorApp as WorkerEntry['build'],
    inputs: (t) => [t.scored.name],
    embedded: ({ clock, config, stores }) => {
      // The options the Redis store is opened with (the memory store ignores its Redis-only ones).
      stores.indicators = createMemoryIndicatorStore({
        clock,
        ...indicatorStoreOptions(config as AggregatorConfig),
      })
      return { store: stores.indicators }
    },
  },
  alerter: {
    config: AlerterConfig,
    build: buildAlerterApp as WorkerEntry['build'],
    inputs: (t) => [t.scored.name, t.indicators.name],
    embedded: ({ clock, config }) => ({
      store: createMemoryAlertStore({
        dedupWindowMs: (config as AlerterConfig).ALERTER_DEDUP_WINDOW_MS,
        clock,
      }),
    }),
  },
  gateway: {
    config: GatewayConfig,
    build: buildGatewayApp as WorkerEntry['build'],
    // A reader with a consumer group of its own at every start: nothing waits on it to catch up.
    inputs: () => [],
    // The indicators the aggregator keeps (it comes first).
    embedded: ({ stores }) => (stores.indicators ? { indicators: stores.indicators } : {}),
  },
}

/**
 * KAFKA_GROUP_ID names one consumer group, and every worker takes it: set for a process running several
 * (`start --workers ingest,scorer`, the embedded default), they would all join that group. Its leader
 * spreads the partitions of the topics it reads over every member, whatever each reads, and a member
 * drops those of a topic it does not read with a warning only: on Kafka, 33 of 60 raw headlines were
 * never ingested and none scored. On the in-memory bus, where a group reads from its committed offset, the
 * aggregator and the alerter (both on headlines.scored) would pass over what the other committed past.
 * Refused, naming the workers, before anything connects; one worker keeps it. A blank one is unset.
 */
export function refuseSharedGroupId(names: string[], env: Record<string, string | undefined>): void {
  const groupId = setValue(env.KAFKA_GROUP_ID)
  if (groupId === undefined || names.length < 2) return
  throw new TradepulseError(
    'CONFIG_INVALID',
    `KAFKA_GROUP_ID is set (${JSON.stringify(groupId)}) but this process runs ${names.join(', ')}: all would join that one consumer group, whose leader spreads the partitions of its own topics over every member: the others drop theirs unread, and their own topics go to no one; unset KAFKA_GROUP_ID (each worker then has a group of its own), or run each worker in a process of its own (tradepulse start --workers <worker>) with KAFKA_GROUP_ID set for it`,
  )
}

/** Settings of the embedded default: nothing listens on fixed ports, webhooks are off, topics are created. */
export const EMBEDDED_DEFAULTS: Record<string, string> = {
  TOPICS_AUTO_CREATE: 'true',
  HTTP_PORT: '0',
  ALERTER_WEBHOOKS_ENABLED: 'false',
  // In one process an indicator update costs nothing to deliver, so every batch publishes: indicator
  // rules then see each step of a played feed rather than a once-a-second sample.
  AGGREGATOR_PUBLISH_INTERVAL_MS: '0',
  LOG_LEVEL: 'warn',
}

/** Where the gateway's dashboard is (its port: any free one unless HTTP_PORT is set). */
export function dashboardLine(gateway: KafkaWorker): string {
  return `Dashboard: http://127.0.0.1:${gateway.httpPort()}/ (API under /api, see services/gateway/README.md)`
}

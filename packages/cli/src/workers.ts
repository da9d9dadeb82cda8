import { resolve } from 'node:path'
import { AggregatorConfig, buildAggregatorApp, indicatorStoreOptions } from '@tradepulse/aggregator'
import { AlerterConfig, buildAlerterApp, createMemoryAlertStore } from '@tradepulse/alerter'
import { RULE_FILES } from '@tradepulse/alerting'
import type { Clock, TopicCatalogue } from '@tradepulse/contracts'
import { buildGatewayApp, GatewayConfig } from '@tradepulse/gateway'
import type { IndicatorStore } from '@tradepulse/indicators'
import { buildIngestApp, IngestConfig } from '@tradepulse/ingest'
import {
  BaseConfig,
  createMemoryDedupStore,
  createMemoryIndicatorStore,
  type KafkaWorker,
  type Logger,
  loadConfig,
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
        hysteresisTtlMs: (config as AlerterConfig).ALERTER_HYSTERESIS_TTL_MS,
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

/**
 * HTTP_PORT is the port of one worker's health and metrics server, and every worker of a process serves
 * its own: set for a process running several (`start --workers ingest,scorer`, the embedded default), they
 * all took it, the first one winning and the next refused with "the port is in use… set HTTP_PORT to a
 * free port", of a port that was free, which no other value would mend. Refused, naming the workers,
 * before anything connects; 0 (any free port) and one worker keep it. Unset, `start` gives each worker a
 * free port of its own and prints them (healthLine), on Kafka and embedded alike.
 */
export function refuseSharedHttpPort(
  names: string[],
  env: Record<string, string | undefined>,
  where: 'kafka' | 'embedded',
): void {
  if (setValue(env.HTTP_PORT) === undefined || names.length < 2) return
  // A value that is no port is refused as every worker refuses it, naming the variable.
  const port = loadConfig(BaseConfig.pick({ HTTP_PORT: true }), env).HTTP_PORT
  if (!port) return
  throw new TradepulseError(
    'CONFIG_INVALID',
    `HTTP_PORT is set (${port}) but this process runs ${names.join(', ')}, each with a health and metrics server of its own, and one port takes one server: ${
      where === 'embedded'
        ? 'unset HTTP_PORT (each worker then listens on a free port of its own, printed at the start; --http-port sets the port of POST /headlines)'
        : 'unset HTTP_PORT (each worker then listens on a free port of its own, printed at the start), or run each worker in a process of its own (tradepulse start --workers <worker>) with HTTP_PORT set for it'
    }`,
  )
}

/** Where the workers' health and metrics servers listen, by worker, in one line. */
export function healthLine(workers: { name: string; app: KafkaWorker }[], host: string): string {
  // A wildcard address is reached on the loopback one; an IPv6 address goes in brackets in a URL.
  const at = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  const each = workers.map(({ name, app }) => `${name} http://${at}:${app.httpPort()}`)
  return `Health and metrics: ${each.join(', ')} (/healthz, /readyz, /metrics)`
}

/** Whether ALERTER_DESKS_FILE is the bundled sample desks file (or unset: the same). */
function isSampleDesks(env: Record<string, string | undefined>): boolean {
  const file = setValue(env.ALERTER_DESKS_FILE)
  return file === undefined || resolve(file) === resolve(RULE_FILES.desks)
}

/**
 * Why `start` turns the desk webhooks off when ALERTER_WEBHOOKS_ENABLED is unset, or undefined where it
 * keeps the alerter's default (on). Off for the embedded default (a look at the sample in one process,
 * which should page no one) and for the bundled sample desks file, whose webhooks are placeholders at
 * hooks.example.com signed with secrets no one has set (the alerter would refuse to start without them,
 * exit 78). `start` on Kafka turned them off whatever the desks file, so a desk's own webhook was never
 * posted to, and nothing said so. ALERTER_WEBHOOKS_ENABLED set is taken as it is, everywhere.
 */
export function webhooksOffReason(
  env: Record<string, string | undefined>,
  where: 'kafka' | 'embedded',
): string | undefined {
  if (setValue(env.ALERTER_WEBHOOKS_ENABLED) !== undefined) return undefined
  if (where === 'embedded') return 'the embedded default posts none'
  if (isSampleDesks(env))
    return 'the desks file is the bundled sample, whose webhooks are placeholders at hooks.example.com'
  return undefined
}

/** The line `start` prints when it runs the alerter: whether desk webhooks are posted to, and why. */
export function webhooksLine(env: Record<string, string | undefined>, where: 'kafka' | 'embedded'): string {
  const set = setValue(env.ALERTER_WEBHOOKS_ENABLED)
  const file = setValue(env.ALERTER_DESKS_FILE) ?? RULE_FILES.desks
  if (set === 'false') return 'Desk webhooks: off (ALERTER_WEBHOOKS_ENABLED=false).'
  const off = webhooksOffReason(env, where)
  if (off)
    return `Desk webhooks: off (ALERTER_WEBHOOKS_ENABLED unset, and ${off}): ${
      where === 'embedded'
        ? 'ALERTER_WEBHOOKS_ENABLED=true posts to them'
        : 'set ALERTER_DESKS_FILE to your own desks file, or ALERTER_WEBHOOKS_ENABLED=true'
    }.`
  return `Desk webhooks: on (${set === undefined ? "ALERTER_WEBHOOKS_ENABLED unset: the alerter's default" : `ALERTER_WEBHOOKS_ENABLED=${set}`}): alerts are POSTed to the webhooks of the desks in ${file}.`
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

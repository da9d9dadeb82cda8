import type { Server } from 'node:http'
import type { TopicSpec } from '@tradepulse/contracts'
import type { App } from './app.ts'
import type { Transport } from './bus/transport.ts'
import { type BaseConfig, defaultGroupId } from './config.ts'
import { TradepulseError } from './errors.ts'
import { combineHealth, HEALTH_CHECK_TIMEOUT_MS, type Health, type HealthCheck } from './health.ts'
import {
  type AllowedHosts,
  closeServer,
  createHealthServer,
  type HttpRoute,
  listen,
  listenFailure,
} from './http/health-server.ts'
import type { BatchRunner, BatchRunnerConfig } from './kafka/batch-runner.ts'
import { kafkaClientConfig, topicSettingDriftLine } from './kafka/kafka-client.ts'
import { createKafkaTransport } from './kafka/kafka-transport.ts'
import type { BatchHandler } from './kafka/records.ts'
import type { Logger } from './logger.ts'
import { createMetrics, type Metrics } from './metrics.ts'
import { takeUnknownVariables } from './unknown-variables.ts'

export type KafkaWorkerSpec = {
  worker: string
  config: BaseConfig
  log: Logger
  inputTopics: string[]
  dlqTopic: string
  handler: BatchHandler
  /** Event-time alignment of the partitions handled while catching up (BatchRunnerConfig.align). */
  align?: BatchRunnerConfig['align']
  /** Port of /healthz, /readyz and /metrics when HTTP_PORT is unset. */
  defaultHttpPort: number
  /** Topics to create when missing, before consuming (one-machine convenience; production runs `topics create`). */
  ensureTopics?: TopicSpec[]
  /**
   * Topics the worker writes that must exist before it consumes, when it does not create them: a missing
   * one stops the start with CONFIG_INVALID naming it (and `hint`, how to create it), where the first
   * record bound for it would otherwise be retried for ever. `inputTopics` are checked with them (named
   * after them): a missing one otherwise failed the consumer's start with kafkajs's "This server does not
   * host this topic-partition", which names no topic (exit 69, blaming KAFKA_BROKERS).
   */
  requireTopics?: { names: string[]; hint: string }
  /**
   * The topic catalogue and the topics the worker writes: each of these and of `inputTopics` that exists
   * with another message.timestamp.type than the catalogue's (created before the catalogue set it) is
   * warned of at start, naming `createCommand`, which sets it; and one whose cleanup.policy, partitions or
   * retention.ms lose records or work (topicSettingsDrift), naming how to set it. The worker runs on: as
   * it did before.
   */
  topicSettings?: { catalogue: TopicSpec[]; writes: string[]; createCommand: string }
  healthChecks?: Record<string, HealthCheck>
  routes?: HttpRoute[]
  /**
   * The host names the worker's HTTP server answers for (HealthServerOptions.allowedHosts) and the
   * variable that sets them, named in a refusal (the gateway's GATEWAY_ALLOWED_HOSTS); absent, the
   * server's default for where it binds.
   */
  allowedHosts?: { hosts: AllowedHosts | undefined; variable: string }
  metrics?: Metrics
  /** The bus; Kafka (from config) when absent. */
  transport?: Transport
  /** Releases the worker's own resources (Redis, stores) after the consumer has drained and committed. */
  onStop?: () => Promise<void>
  /**
   * Failures of the worker's own resources that it cannot recover from, each resolving with its error if
   * it comes (redisDatabaseRefused: a Redis database the server refuses, its client closed for good). One
   * that comes while the worker starts fails the start with it, at the step under way; once started,
   * failed() reports it, for whoever runs the worker to stop it (exit 78 for CONFIG_INVALID). Stopping
   * rather than running degraded: nothing the worker does would end it, its partitions would be retried
   * for ever with the reason in the health body only, and the cure is a change to the deployment that
   * a restart then picks up.
   */
  fatal?: Promise<Error>[]
}

/**
 * A worker's topics at its start: with TOPICS_AUTO_CREATE every one of `all` is created when missing;
 * without, the ones it writes and the ones it reads (the worker's inputTopics) must exist, and a missing
 * one stops the start (exit 78, naming it and how to create it), where the first record bound for it
 * would otherwise be retried for ever on UNKNOWN_TOPIC_OR_PARTITION. Either way, a topic it reads or writes
 * that exists with another message.timestamp.type than the catalogue's is warned of (topicSettings).
 */
export function topicsAtStart(
  autoCreate: boolean,
  all: TopicSpec[],
  writes: string[],
  createCommand = 'tradepulse topics create',
): Pick<KafkaWorkerSpec, 'ensureTopics' | 'requireTopics' | 'topicSettings'> {
  const topicSettings = { catalogue: all, writes, createCommand }
  return autoCreate
    ? { ensureTopics: all, topicSettings }
    : {
        requireTopics: {
          names: writes,
          hint: `create them with \`${createCommand}\`, or set TOPICS_AUTO_CREATE=true`,
        },
        topicSettings,
      }
}

/** What a step of the start gives when a stop was asked for before it finished. */
const STOP_ASKED: unique symbol = Symbol('stop asked')

export type KafkaWorker = App & { metrics: Metrics; httpPort(): number | undefined; runner: BatchRunner }

/** Wires one worker: consumer runner, producer, health and metrics server, ordered start and stop. */
export function createKafkaWorker(spec: KafkaWorkerSpec): KafkaWorker {
  const { config, log } = spec
  const metrics = spec.metrics ?? createMetrics(spec.worker)
  const transport =
    spec.transport ??
    createKafkaTransport(
      kafkaClientConfig(config, config.KAFKA_CLIENT_ID ?? `tradepulse-${spec.worker}`),
      log,
    )
  const runner = transport.createRunner(
    spec.handler,
    {
      worker: spec.worker,
      groupId: defaultGroupId(config, spec.worker),
      topics: spec.inputTopics,
      dlqTopic: spec.dlqTopic,
      maxBatch: config.KAFKA_MAX_BATCH,
      fetchMaxWaitMs: config.KAFKA_FETCH_MAX_WAIT_MS,
      fetchMinBytes: config.KAFKA_FETCH_MIN_BYTES,
      commitIntervalMs: config.KAFKA_COMMIT_INTERVAL_MS,
      sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: config.KAFKA_HEARTBEAT_INTERVAL_MS,
      maxBytesPerPartition: config.KAFKA_MAX_BYTES_PER_PARTITION,
      partitionsConcurrency: config.KAFKA_PARTITIONS_CONCURRENCY,
      ...(spec.align ? { align: spec.align } : {}),
      retryBaseMs: config.RETRY_BASE_MS,
      retryMaxMs: config.RETRY_MAX_MS,
      redisReplyFailuresMax: config.REDIS_REPLY_FAILURES_MAX,
      // Its Kafka steps within the shutdown deadline, with a third of it left for onStop and HTTP.
      stopMs: Math.floor((config.SHUTDOWN_DEADLINE_MS * 2) / 3),
    },
    log.child({ component: 'runner' }),
    metrics,
  )
  // A check that throws is logged once per change of state; its body has only a short reason.
  const health = (): Promise<Health> =>
    combineHealth({ consumer: runner.health, ...spec.healthChecks }, HEALTH_CHECK_TIMEOUT_MS, log)
  let server: Server | undefined
  let port: number | undefined
  let starting: Promise<void> | undefined
  let stopping: Promise<void> | undefined
  /** The step of the stop under way, for the line a shutdown deadline passing writes (App.stopStep). */
  let stopAt: string | undefined
  // A stop asked for while the start is under way ends the start at its current step. A step waiting on
  // Kafka (creating topics, connecting) does not end when its client disconnects: kafkajs goes on with its
  // connection retries, about 12 s against a Kafka that is down, and a SIGTERM then waited them out and
  // exited 69 for a Kafka it had been told to stop waiting for.
  let stopAsked = false
  let askStop: () => void = () => {}
  const stopRequest = new Promise<typeof STOP_ASKED>((resolve) => {
    askStop = () => resolve(STOP_ASKED)
  })
  // The first of spec.fatal to come, kept for the start to throw at its next step.
  let fatalError: Error | undefined
  const fatal = spec.fatal?.length
    ? Promise.race(spec.fatal).then((err) => {
        fatalError = err
        return err
      })
    : undefined
  const fatalAtStart = fatal?.then((err): never => {
    throw err
  })
  fatalAtStart?.catch(() => {})
  /** Throws the fatal failure once it has come, so that the start goes no step further. */
  const noFatal = () => {
    if (fatalError) throw fatalError
  }
  /**
   * A step of the start, or STOP_ASKED once a stop is asked for first; the fatal failure, thrown, when it
   * comes first or by the step's end (the step is left to settle on its own).
   */
  const step = async <T>(work: Promise<T>): Promise<T | typeof STOP_ASKED> => {
    work.catch(() => {})
    const done = await Promise.race([work, stopRequest, ...(fatalAtStart ? [fatalAtStart] : [])])
    if (done !== STOP_ASKED) noFatal()
    return done
  }

  /**
   * Warns of each topic the worker reads or writes whose message.timestamp.type is not the catalogue's. A
   * check that fails (no DescribeConfigs right) is warned of too: it decides nothing the worker does.
   */
  const timestampTypesChecked = async (settings: NonNullable<KafkaWorkerSpec['topicSettings']>) => {
    const mine = new Set([...spec.inputTopics, ...settings.writes])
    const specs = settings.catalogue.filter((s) => s.timestampType && mine.has(s.name))
    if (specs.length === 0) return
    const drift = await transport.timestampTypeDrift(specs).catch((err: unknown) => {
      log.warn(
        { err, topics: specs.map((s) => s.name) },
        'could not read the message.timestamp.type of the topics the catalogue sets it for',
      )
      return []
    })
    for (const d of drift)
      log.warn(
        { topic: d.name, timestampType: d.actual, wanted: d.wanted },
        `${d.name} has message.timestamp.type=${d.actual}, where the catalogue sets ${d.wanted}: its records carry the clock of the host that produced each, and one running behind misdates what it writes for every reader of the topic's timestamps (\`${settings.createCommand}\` sets it)`,
      )
  }

  /**
   * Warns of each topic the worker reads or writes whose cleanup.policy, partitions or retention.ms are
   * not the catalogue's in a way that loses records or work (an indicators topic made with delete loses
   * readings past its retention). A check that fails is warned of too: the worker runs on either way.
   */
  const topicSettingsChecked = async (settings: NonNullable<KafkaWorkerSpec['topicSettings']>) => {
    if (!transport.topicSettingsDrift) return
    const mine = new Set([...spec.inputTopics, ...settings.writes])
    const specs = settings.catalogue.filter((s) => mine.has(s.name))
    if (specs.length === 0) return
    const drift = await transport.topicSettingsDrift(specs).catch((err: unknown) => {
      log.warn(
        { err, topics: specs.map((s) => s.name) },
        'could not read the cleanup.policy, partitions and retention.ms of the topics it reads and writes',
      )
      return []
    })
    // Under a key of their own: `topic` and `wanted` at the top are the timestamp type's warnings'.
    for (const d of drift)
      log.warn(
        { topicSetting: { topic: d.name, setting: d.setting, actual: d.actual, wanted: d.wanted } },
        topicSettingDriftLine(d),
      )
  }

  return {
    metrics,
    runner,
    httpPort: () => port,
    health,
    failed: () => (fatal ? Promise.race([runner.failed(), fatal]) : runner.failed()),
    start() {
      starting ??= (async () => {
        // Variables that look like the workers' but that none reads (a misspelt name), as loadConfig
        // found them: one line each, by the first worker of the process to start.
        for (const u of takeUnknownVariables())
          log.warn({ variable: u.name, ...(u.suggestion ? { suggestion: u.suggestion } : {}) }, u.line)
        server = createHealthServer(health, metrics.registry, spec.routes, {
          log,
          ...(spec.allowedHosts?.hosts !== undefined ? { allowedHosts: spec.allowedHosts.hosts } : {}),
          ...(spec.allowedHosts ? { allowedHostsVariable: spec.allowedHosts.variable } : {}),
        })
        const at = config.HTTP_PORT ?? spec.defaultHttpPort
        // A port in use or a host that is none is the configuration's: exit 78 naming the variable.
        port = await listen(server, at, config.HTTP_HOST).catch((err: unknown) => {
          throw listenFailure(err, {
            host: config.HTTP_HOST,
            port: at,
            portSet: config.HTTP_PORT !== undefined,
          })
        })
        log.info({ port, host: config.HTTP_HOST }, 'health and metrics listening')
        const givenUp = () => log.info(`${spec.worker} stopped while starting`)
        if (stopAsked) return givenUp()
        noFatal()
        if (spec.ensureTopics?.length) {
          const created = await step(transport.ensureTopics(spec.ensureTopics))
          if (created === STOP_ASKED) return givenUp()
          if (created.length) log.info({ created }, 'created missing topics')
        }
        if (spec.requireTopics) {
          // The topics it reads too: the consumer's own start would fail on a missing one naming none.
          const required = new Set([...spec.requireTopics.names, ...spec.inputTopics])
          const missing = await step(transport.missingTopics([...required]))
          if (missing === STOP_ASKED) return givenUp()
          if (missing.length)
            throw new TradepulseError(
              'CONFIG_INVALID',
              `${spec.worker}: topics missing: ${missing.join(', ')} (${spec.requireTopics.hint})`,
            )
        }
        if (spec.topicSettings) {
          const checked = await step(timestampTypesChecked(spec.topicSettings))
          if (checked === STOP_ASKED) return givenUp()
          const settled = await step(topicSettingsChecked(spec.topicSettings))
          if (settled === STOP_ASKED) return givenUp()
        }
        if (stopAsked) return givenUp()
        // The runner's start given up goes on connecting; the runner's stop (below) makes it disconnect
        // whatever it connected meanwhile.
        if ((await step(runner.start())) === STOP_ASKED) return givenUp()
        log.info({ topics: spec.inputTopics }, `${spec.worker} started`)
      })()
      return starting
    },
    stopStep: () => (stopAt === 'runner' ? (runner.stopStep?.() ?? 'stopping the consumer') : stopAt),
    stop() {
      stopping ??= (async () => {
        // Reverse order of start: drain and commit, flush the producer, release stores, then HTTP.
        stopAsked = true
        askStop()
        stopAt = 'waiting for the start to give up'
        await starting?.catch(() => {})
        stopAt = 'runner'
        // A stop whose Kafka steps failed still releases the rest, then fails naming them.
        const failure = await runner.stop().then(
          () => undefined,
          (err: unknown) => err,
        )
        stopAt = "releasing the worker's own resources (Redis, stores)"
        await spec.onStop?.()
        stopAt = 'closing the HTTP server'
        if (server) await closeServer(server)
        stopAt = undefined
        if (failure !== undefined) throw failure
        log.info(`${spec.worker} stopped`)
      })()
      return stopping
    },
  }
}

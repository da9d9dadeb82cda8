import { accessSync, constants } from 'node:fs'
import { RULE_FILES } from '@tradepulse/alerting'
import {
  AlertReader,
  createTopicCatalogue,
  DeadLetter,
  HeadlineReader,
  ScoredHeadlineReader,
  type TopicCatalogue,
} from '@tradepulse/contracts'
import {
  BaseConfig,
  createKafka,
  createLogger,
  EXIT_CONFIG,
  EXIT_UNAVAILABLE,
  exitCodeForSignal,
  type KafkaConnectionSettings,
  type KafkaWorker,
  kafkaClientConfig,
  type Logger,
  loadConfig,
  produceAll,
  setValue,
  setVariables,
  stopFailedLine,
  TradepulseError,
  topicEnds,
} from '@tradepulse/platform'
import type { Infra } from '@tradepulse/testing/infra'
import { type Command, InvalidArgumentError } from 'commander'
import { logLevel, Partitioners } from 'kafkajs'
import { checkEmbeddedConfig, printIndicatorTables, runEmbedded } from '../embedded.ts'
import { checkReachable } from '../infra.ts'
import { createNextOffsets } from '../kafka/next-offsets.ts'
import { startKeptInfra } from '../local-infra.ts'
import { decimalNumberOrMax, wholeNumber } from '../option-values.ts'
import { reloadRulesOnHangup } from '../reload-on-hangup.ts'
import { checkSamplePlayable } from '../sample-check.ts'
import { loadSampleFeed } from '../sample-feed.ts'
import { invalidOptionValue } from '../usage-errors.ts'
import {
  dashboardLine,
  healthLine,
  refuseSharedGroupId,
  refuseSharedHttpPort,
  WORKERS,
  webhooksLine,
  webhooksOffReason,
} from '../workers.ts'
import { type StartSignals, startSignals } from './start-signals.ts'
import { formatAlert, ruleColumnWidth, ruleIdsOf } from './tail.ts'

type StartOptions = {
  workers?: WorkerList
  follow?: boolean
  sample?: boolean
  speed: number | 'max'
  localInfra?: boolean
  httpPort: number
}

/** --workers' value: its text (named when the embedded default refuses a subset) and the workers named. */
type WorkerList = { text: string; names: string[] }

/**
 * --workers, read as every option value is (option-values.ts): a name that is no worker (an Object
 * property, 'constructor', among them) or a list naming none is refused in one line, exit 78, before
 * anything is checked or started. The names come in pipeline order, whatever the order given: the
 * embedded default stops them in it.
 */
export function workerList(text: string): WorkerList {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const unknown = names.filter((n) => !Object.hasOwn(WORKERS, n))
  if (unknown.length || names.length === 0)
    throw new InvalidArgumentError(
      `Expected a comma-separated list of workers from ${Object.keys(WORKERS).join(', ')}; ${unknown.length ? `unknown: ${unknown.join(', ')}` : 'it names none'}.`,
    )
  return { text, names: Object.keys(WORKERS).filter((n) => names.includes(n)) }
}

/**
 * Where the workers run: on Kafka and Redis with both KAFKA_BROKERS and REDIS_URL set, embedded with
 * neither. With one alone the intent is unclear (a forgotten export would otherwise fall back silently
 * to an in-memory run that reaches neither), so it is refused, naming the missing one.
 */
export function startMode(env: Record<string, string | undefined>): 'kafka' | 'embedded' {
  const kafka = setValue(env.KAFKA_BROKERS) !== undefined
  const redis = setValue(env.REDIS_URL) !== undefined
  if (kafka !== redis) {
    const [given, missing] = kafka ? ['KAFKA_BROKERS', 'REDIS_URL'] : ['REDIS_URL', 'KAFKA_BROKERS']
    throw new TradepulseError(
      'CONFIG_INVALID',
      `${missing} is not set but ${given} is: set both to run on Kafka and Redis, or neither for the embedded default (in memory)`,
    )
  }
  return kafka ? 'kafka' : 'embedded'
}

/**
 * The slowest --speed: real time (the sample's 90 hours in 90 hours); a slower one shows nothing more.
 * The wait for a headline, its gap in the feed over the speed, must stay within a Node timer
 * (MAX_TIMER_MS, 24.8 days; a longer one fires at once): below about 0.002 the sample's longest gap,
 * 80 minutes, would not.
 */
export const MIN_SPEED = 1

/**
 * The CLI's logging: LOG_LEVEL and LOG_PRETTY checked as the workers check them (a bad one is a
 * configuration error naming it, where pino would throw with a stack). The level is warn unless set: a
 * person is reading the terminal. LOG_PRETTY is taken as every worker takes it, pretty by default when
 * stdout is a terminal (createLogger): it was always pretty, so LOG_PRETTY=false, asked for by a log
 * collector, still gave colour codes.
 */
function logSettingsOf(env: Record<string, string | undefined>): { level: string; pretty?: boolean } {
  const { LOG_LEVEL, LOG_PRETTY } = loadConfig(BaseConfig.pick({ LOG_LEVEL: true, LOG_PRETTY: true }), env)
  return {
    level: setValue(env.LOG_LEVEL) === undefined ? 'warn' : LOG_LEVEL,
    ...(LOG_PRETTY === undefined ? {} : { pretty: LOG_PRETTY }),
  }
}

/**
 * The environment a worker of `start` on Kafka loads its settings from: ALERTER_WEBHOOKS_ENABLED=false
 * under it where webhooksOffReason says so (the bundled sample desks file), a blank variable unset.
 */
function kafkaWorkerEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    ...(webhooksOffReason(env, 'kafka') ? { ALERTER_WEBHOOKS_ENABLED: 'false' } : {}),
    ...setVariables(env),
  }
}

/**
 * The rules and desks files the alerter will read, checked before anything starts or plays: an
 * unreadable one names its variable and the file (the alerter would refuse it only once built).
 */
function checkAlerterFiles(env: Record<string, string | undefined>): void {
  for (const [name, def] of [
    ['ALERTER_RULES_FILE', RULE_FILES.defaultRules],
    ['ALERTER_DESKS_FILE', RULE_FILES.desks],
  ] as const) {
    const file = setValue(env[name]) ?? def
    try {
      accessSync(file, constants.R_OK)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      throw new TradepulseError(
        'CONFIG_INVALID',
        `${name}: cannot read ${file} (${code === 'ENOENT' ? 'no such file' : ((err as Error).message ?? code)})`,
      )
    }
  }
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description(
      'run the workers: with KAFKA_BROKERS and REDIS_URL on Kafka and Redis; without them all in this process over an in-memory bus and store',
    )
    .option(
      '--workers <list>',
      `comma-separated subset of ${Object.keys(WORKERS).join(',')} (on Kafka and Redis only: embedded runs all)`,
      workerList,
    )
    .option('--follow', 'keep running until Ctrl-C (embedded: taking headlines on stdin and POST /headlines)')
    .option('--no-sample', 'do not play the bundled sample feed')
    .option(
      '--speed <n>',
      'embedded sample feed: simulated seconds per real second (30000: four days in about 12 s; at least 1, real time), or "max" (as fast as the workers take it, about a second); every speed gives the same alerts',
      decimalNumberOrMax({ min: MIN_SPEED, note: 'real time' }),
      30_000 as number | 'max',
    )
    .option(
      '--http-port <n>',
      'embedded --follow: port of POST /headlines (0: any free port)',
      wholeNumber({ min: 0, max: 65_535, note: '0: any free port' }),
      9400,
    )
    .option(
      '--local-infra',
      'start a local Kafka broker and Redis server for this run instead of the in-memory bus',
    )
    .action(async (opts: StartOptions, cmd: Command) => {
      // A signal from here on (main.ts listens from the process's start) stops the startup cleanly.
      const signals = startSignals()
      // Everything is checked before anything starts, prints or plays.
      const env: Record<string, string | undefined> = { ...process.env }
      const logSettings = logSettingsOf(env)
      const names = opts.workers?.names ?? Object.keys(WORKERS)
      // Outside a terminal, a SIGHUP asks the alerter to reload its rules: until it is built, there are
      // none to reload, and the startup must not die of it (released by the embedded default).
      const unholdHangups = names.includes('alerter') ? signals.holdHangups() : () => {}
      const { speed, httpPort } = opts
      const onKafka = startMode(env) === 'kafka'
      refuseSharedGroupId(names, env)
      refuseSharedHttpPort(names, env, onKafka || opts.localInfra ? 'kafka' : 'embedded')
      if (names.includes('alerter')) checkAlerterFiles(env)
      if (!onKafka && !opts.localInfra) {
        if (opts.workers && names.length < Object.keys(WORKERS).length)
          invalidOptionValue(
            cmd,
            '--workers',
            opts.workers.text,
            `The embedded default runs every worker (${Object.keys(WORKERS).join(', ')}): in one process over an in-memory bus, nothing else feeds or reads the others; run a subset on Kafka and Redis (set KAFKA_BROKERS and REDIS_URL, or add --local-infra).`,
          )
        checkEmbeddedConfig(names, env)
        const log = createLogger({ ...logSettings, name: 'tradepulse' })
        // The run takes the signals itself (runEmbedded), at once: nothing here waits before it does.
        signals.release()
        await startEmbedded(names, opts, speed, httpPort, env, log)
        return
      }
      // The workers' settings other than where Kafka and Redis are, before --local-infra starts them; the
      // longest SHUTDOWN_DEADLINE_MS bounds a stop from here on.
      let deadlineMs = 0
      for (const name of names) {
        const config = loadConfig(WORKERS[name]!.config, {
          ...kafkaWorkerEnv(env),
          ...(onKafka ? {} : { KAFKA_BROKERS: undefined, REDIS_URL: undefined }),
        }) as { SHUTDOWN_DEADLINE_MS: number }
        deadlineMs = Math.max(deadlineMs, config.SHUTDOWN_DEADLINE_MS)
      }
      const log = createLogger({ ...logSettings, name: 'tradepulse' })
      const run = kafkaRun(log, deadlineMs)
      signals.stopWith((signal) => void run.interrupt(signal))
      // The scorer alone needs no Redis.
      if (onKafka) {
        await run.step(
          checkReachable(loadConfig(BaseConfig, env), log, { redis: names.some((n) => n !== 'scorer') }),
        )
        if (opts.sample !== false && names.includes('ingest'))
          await run.step(checkSamplePlayable(env, names, loadSampleFeed(), log))
      } else {
        process.stderr.write('Starting a local Kafka broker and Redis server for this run…\n')
        const infra = await run.step(run.startInfra(startKeptInfra(env)))
        env.KAFKA_BROKERS = infra.kafkaBrokers.join(',')
        env.REDIS_URL = infra.redisUrl
        // Where a fatal error looks for the addresses to name (exitOnFatal reads the process's environment).
        process.env.KAFKA_BROKERS = env.KAFKA_BROKERS
        process.env.REDIS_URL = env.REDIS_URL
        process.stderr.write(
          `Kafka ${env.KAFKA_BROKERS} and Redis ${env.REDIS_URL} are up (${infra.source}).\n`,
        )
      }
      await startOnKafka(names, opts, env, log, run, signals, unholdHangups)
    })
}

async function startEmbedded(
  names: string[],
  opts: StartOptions,
  speed: number | 'max',
  httpPort: number,
  env: Record<string, string | undefined>,
  log: ReturnType<typeof createLogger>,
): Promise<void> {
  const feed = opts.sample === false ? [] : loadSampleFeed()
  // Printed once the workers are up and the port (--follow) is taken: a refusal comes before any of it.
  // Each worker serves /healthz, /readyz and /metrics here as on Kafka, each on a free port of its own
  // (HTTP_PORT set is refused: refuseSharedHttpPort), for as long as the run lasts: said as on Kafka,
  // where the embedded default said nothing.
  const banner = (running: { workers: { name: string; app: KafkaWorker }[]; httpHost: string }) => {
    process.stderr.write(
      `Embedded mode (no KAFKA_BROKERS / REDIS_URL): ${names.join(', ')} in one process over an in-memory bus and store.\n`,
    )
    process.stderr.write(`${healthLine(running.workers, running.httpHost)}\n`)
    if (names.includes('alerter')) process.stderr.write(`${webhooksLine(env, 'embedded')}\n`)
    if (feed.length)
      process.stderr.write(
        `Playing ${feed.length} sample headlines (speed ${speed}); alerts as they fire, at their headline's time:\n\n`,
      )
  }
  const run = await runEmbedded({
    workers: names,
    feed,
    speed,
    follow: Boolean(opts.follow),
    log,
    env,
    out: process.stdout,
    httpPort,
    onStarted: banner,
  })
  if (run.indicators) {
    // At the newest headline that went through: the sample's end, or one taken with --follow after it (a
    // headline sent without a time is stamped now), not the wall clock, which would read an old feed empty.
    const last =
      run.newestEventMs ?? (feed.length ? Date.parse(feed[feed.length - 1]!.publishedAt) : Date.now())
    await printIndicatorTables(run.indicators, last, process.stdout, process.stderr)
  }
  process.stderr.write(`\n${run.alerts.length} alert(s). Done.\n`)
}

/**
 * What `start` on Kafka has started, from its first check on, and its one stop: the workers as they are
 * built, and the local infrastructure (--local-infra) from the moment it starts. A stop at any point (a
 * signal, during the startup too; the end of the sample; a worker failing) stops them all and exits; the
 * startup goes no step further once one is under way (`step`).
 */
export function kafkaRun(log: Logger, deadlineMs: number, exit: (code: number) => never = process.exit) {
  const apps: KafkaWorker[] = []
  let infra: Promise<Infra | undefined> = Promise.resolve(undefined)
  let stopping = false
  let infraStopped: Promise<unknown> | undefined
  // Once it is up, if it is still starting (one that fails to start leaves nothing running).
  const stopInfra = () => (infraStopped ??= infra.then((i) => i?.stop()).catch(() => {}))
  const halt = () => new Promise<never>(() => {})
  // As a worker's own process does (runUntilSignal): a stop that outlasts SHUTDOWN_DEADLINE_MS, or fails,
  // exits 1; a second signal exits at once (interrupt). A stop already under way exits on its own.
  const stopAll = async (code: number) => {
    if (stopping) return halt()
    stopping = true
    // The deadline is the workers'; the local infrastructure (--local-infra) is stopped after it either
    // way, bounded by its own stop.
    let failed = false
    // The worker whose stop is under way: a deadline passing names it and its step (App.stopStep).
    let current: KafkaWorker | undefined
    const timer = setTimeout(() => {
      failed = true
      const step = current?.stopStep?.()
      log.error(
        { deadlineMs, ...(step ? { step } : {}) },
        `graceful stop exceeded its deadline; exiting${step ? ` (still ${step})` : ''}`,
      )
      void stopInfra().finally(() => exit(1))
    }, deadlineMs)
    // Not unref'd, as runUntilSignal's is not: a stop hanging on nothing that keeps the process alive
    // ended the process before the deadline, with no line, which its supervisor took for a clean stop.
    for (const app of [...apps].reverse()) {
      current = app
      // As runUntilSignal's: a Kafka or Redis that failed the stop is named with its variable.
      await app.stop().catch((err: unknown) => {
        failed = true
        log.error({ err }, stopFailedLine(err))
      })
    }
    current = undefined
    clearTimeout(timer)
    await stopInfra()
    exit(failed ? 1 : code)
  }
  /**
   * A signal: the first stops the run (exit 0 once stopped); one while a stop is under way exits at once
   * with its own code (exitCodeForSignal: 143 for SIGTERM, 130 for SIGINT, 129 for SIGHUP).
   */
  const interrupt = (signal: NodeJS.Signals) => (stopping ? exit(exitCodeForSignal(signal)) : stopAll(0))
  return {
    apps,
    stopAll,
    interrupt,
    stopInfra,
    get stopping() {
      return stopping
    },
    /** The local infrastructure starting: a stop from now on stops it (once up). */
    startInfra(starting: Promise<Infra>): Promise<Infra> {
      infra = starting
      return starting
    },
    /** A step of the startup: its outcome, or none once a stop is under way (the stop exits the process). */
    step<T>(p: Promise<T>): Promise<T> {
      return p.then(
        (value) => (stopping ? halt() : value),
        (err: unknown) => (stopping ? halt() : Promise.reject(err)),
      )
    },
  }
}

type KafkaRun = ReturnType<typeof kafkaRun>

async function startOnKafka(
  names: string[],
  opts: StartOptions,
  env: Record<string, string | undefined>,
  log: Logger,
  run: KafkaRun,
  signals: StartSignals,
  unholdHangups: () => void,
): Promise<void> {
  const { apps, stopAll } = run
  // What of the sample was not scored, if any (sampleShortfall).
  let shortfall: string | undefined
  for (const name of names) {
    const w = WORKERS[name]!
    const config = loadConfig(w.config, {
      ...kafkaWorkerEnv(env),
      // A blank value counts as unset (loadConfig): port 0 then too, not each worker's fixed port.
      HTTP_PORT: setValue(env.HTTP_PORT) ?? '0',
    })
    apps.push(w.build(config as never, { log }))
  }
  const httpHost = loadConfig(BaseConfig.pick({ HTTP_HOST: true }), env).HTTP_HOST
  // In a terminal, SIGHUP stops the run (start-signals, from the process's first moment). Outside one it
  // reloads the alerter's rules from here on, held until now; without the alerter it keeps its default.
  if (!signals.hangupStops) reloadRulesOnHangup(apps, { terminal: false })
  unholdHangups()
  try {
    for (const app of apps) await run.step(app.start())
    signals.running()
    // A worker that fails for good while running (a session timeout the broker refuses at a rejoin) stops
    // them all, as its own process would exit (runUntilSignal): 78 for configuration, naming the variable.
    for (const app of apps)
      void app.failed?.().then((err) => {
        if (run.stopping) return
        process.stderr.write(`tradepulse: ${err.message}\n`)
        void stopAll(err instanceof TradepulseError && err.code === 'CONFIG_INVALID' ? EXIT_CONFIG : 1)
      })
    process.stderr.write(`Running ${names.join(', ')} on Kafka ${env.KAFKA_BROKERS} and Redis.\n`)
    const running = names.map((name, i) => ({ name, app: apps[i]! }))
    process.stderr.write(`${healthLine(running, httpHost)}\n`)
    if (names.includes('alerter')) process.stderr.write(`${webhooksLine(env, 'kafka')}\n`)
    const gateway = names.indexOf('gateway')
    // Only for a run that stays up: without --follow it ends once the sample has played.
    if (gateway >= 0 && opts.follow) process.stderr.write(`${dashboardLine(apps[gateway]!)}\n`)
    if (opts.sample !== false && names.includes('ingest')) {
      const base = loadConfig(WORKERS.ingest!.config, env) as KafkaConnectionSettings & {
        TRADEPULSE_TOPIC_PREFIX: string
      }
      const ruleWidth = ruleColumnWidth(ruleIdsOf(setValue(env.ALERTER_RULES_FILE)))
      shortfall = await playSampleOnKafka(
        base,
        base.TRADEPULSE_TOPIC_PREFIX,
        names.includes('scorer'),
        ruleWidth,
      )
      // With --follow the run stays up all the same: the line is said, and the workers go on.
      if (shortfall && !run.stopping) process.stderr.write(`tradepulse: ${shortfall}\n`)
    }
  } catch (err) {
    // A failure on the way up (Kafka or Redis unreachable, a topic missing): what did start stops, and
    // the local infrastructure (--local-infra) with it, before the error is reported and the process
    // exits; it would otherwise outlive the command.
    await Promise.allSettled(apps.map((app) => app.stop()))
    await run.stopInfra()
    throw err
  }
  // A sample run that lost headlines is no success: 69 (EX_UNAVAILABLE), as for a Kafka or Redis it cannot
  // reach, the pipeline having failed to deliver what it was given; not 65 (the sample is ours, checked
  // as it loads) nor 70 (a stall or a stray consumer is no bug of the program's).
  if (!opts.follow && !run.stopping) await stopAll(shortfall ? EXIT_UNAVAILABLE : 0)
}

/** How long start on Kafka waits for the sample to be scored (or dead-lettered) once it has played. */
const SAMPLE_WAIT_MS = 60_000

/**
 * Produces the sample feed to headlines.raw; prints alerts as they come out, and says how many of its
 * headlines were scored. Returns what of it was not scored, and where it stopped (sampleShortfall), if
 * any: it ended "105 of 216 scored." and exit 0 with the rest lost. The watch reads headlines, scored,
 * alerts and the dlq from where each partition ended before the feed was produced (taken first, sought at
 * each join), so no record of the run is missed however long the consumer takes to join, and none is
 * handled twice after a rejoin.
 */
async function playSampleOnKafka(
  config: KafkaConnectionSettings,
  prefix: string,
  expectScored: boolean,
  ruleWidth: number,
): Promise<string | undefined> {
  const topics = createTopicCatalogue(prefix)
  const feed = loadSampleFeed()
  const kafka = createKafka(
    kafkaClientConfig(config, 'tradepulse-start'),
    createLogger({ level: 'silent' }),
    {
      logLevel: logLevel.NOTHING,
    },
  )
  const ids = new Set(feed.map((h) => h.id))
  const watch = sampleWatcher(topics, ids, ruleWidth, process.stdout)
  const watched = [topics.headlines.name, topics.scored.name, topics.alerts.name, topics.dlq.name]
  // The next offset to take, by topic and partition: the end of each before the feed goes in. A partition
  // not there then (alerts, without TOPICS_AUTO_CREATE or an alerter; one added since) is read from its
  // start, every record of it written since: read from its end once kafkajs's metadata had it, the
  // records written to it before were missed.
  const next = createNextOffsets(await topicEnds(kafka, watched))
  const consumer = kafka.consumer({ groupId: `tradepulse-start-${Date.now()}`, maxWaitTimeInMs: 50 })
  await consumer.connect()
  // Each partition is sought at each join (NextOffsets): fromBeginning is where kafkajs puts one it cannot
  // read there (deleted by retention), its start skipping nothing.
  await consumer.subscribe({ topics: watched, fromBeginning: true })
  next.seekAtEachJoin(consumer)
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()))
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const offset = Number(message.offset)
      if (!next.takes(topic, partition, offset)) return
      next.advance(topic, partition, offset + 1)
      watch.take(topic, message.value)
    },
  })
  await joined
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  // Through produceAll: a refusal of the times this host's clock stamped the headlines with is then a
  // KafkaClockError naming the clock (the exit line says so), not kafkajs's "out of acceptable range".
  await produceAll(
    producer,
    feed.map((h) => ({ topic: topics.raw.name, key: h.id, value: JSON.stringify(h) })),
  )
  await producer.disconnect()
  process.stderr.write(`Played ${feed.length} sample headlines into ${topics.raw.name}.\n`)
  // Elapsed time on the monotonic clock: a wall-clock step (NTP) neither cuts the wait short nor stretches it.
  const deadline = performance.now() + SAMPLE_WAIT_MS
  // Until each headline is scored or dead-lettered on the way: a lost one waits the full minute.
  while (expectScored && watch.settled() < ids.size && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 50))
  // Alerts trail the scores by a hop or two (and indicator updates by their throttle): wait for a quiet spell.
  while (performance.now() - watch.lastAlertAt() < 3_000 && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 100))
  await consumer.disconnect()
  if (watch.unreadable() > 0)
    process.stderr.write(
      `Skipped ${watch.unreadable()} record(s) on ${watched.join(', ')} that are not JSON.\n`,
    )
  if (!expectScored) return undefined
  process.stderr.write(`${watch.seen.size} of ${ids.size} scored.\n`)
  return sampleShortfall({
    total: ids.size,
    ingested: watch.ingested,
    scored: watch.seen,
    deadLettered: watch.deadLettered,
    topics,
    waitedS: Math.round(SAMPLE_WAIT_MS / 1000),
  })
}

/** The stage of the pipeline before headlines.scored a dead letter of a sample headline came from. */
type LetteredAt = { stage: 'ingest' | 'scorer'; reason: string }

/**
 * What the sample's run on Kafka reads of headlines, headlines.scored, alerts and the dlq (`take`, each
 * record): the sample's headlines ingest passed on (`ingested`) and the scorer scored (`seen`), those
 * dead-lettered on the way (`deadLettered`, by the stage and its reason: a letter whose origin is
 * headlines.raw is ingest's, headlines the scorer's; its headline named by the original key, which the
 * sample's records carry, else the id in its payload), the alerts printed to `out` as they come, and when
 * the last one came. `settled` counts the sample's headlines scored or dead-lettered before it: the run's
 * wait ends when it reaches them all. A record that is not JSON is skipped and counted (`unreadable`):
 * thrown on, kafkajs would retry it for ever, holding its partition, so one such record from another
 * producer held the run its full minute and it said "0 of 216 scored". A record that is JSON but none of
 * these (another version's) is passed over.
 */
export function sampleWatcher(
  topics: Pick<TopicCatalogue, 'raw' | 'headlines' | 'scored' | 'alerts' | 'dlq'>,
  ids: ReadonlySet<string>,
  ruleWidth: number,
  out: Pick<NodeJS.WritableStream, 'write'>,
) {
  const seen = new Set<string>()
  const ingested = new Set<string>()
  const deadLettered = new Map<string, LetteredAt>()
  let lastAlertAt = performance.now()
  let unreadable = 0
  const stageOf = (origin: string): LetteredAt['stage'] | undefined =>
    origin === topics.raw.name ? 'ingest' : origin === topics.headlines.name ? 'scorer' : undefined
  const letteredId = (letter: DeadLetter): string | undefined => {
    if (letter.key !== undefined && letter.keyEncoding !== 'base64' && ids.has(letter.key)) return letter.key
    if (letter.payloadEncoding !== 'utf8' || letter.payloadTruncated) return undefined
    try {
      const id = (JSON.parse(letter.payload) as { id?: unknown } | null)?.id
      return typeof id === 'string' && ids.has(id) ? id : undefined
    } catch {
      return undefined
    }
  }
  return {
    seen,
    ingested,
    deadLettered,
    lastAlertAt: () => lastAlertAt,
    unreadable: () => unreadable,
    settled: () => seen.size + [...deadLettered.keys()].filter((id) => !seen.has(id)).length,
    take(topic: string, value: Buffer | null): void {
      let json: unknown
      try {
        json = JSON.parse(value?.toString() ?? 'null')
      } catch {
        unreadable++
        return
      }
      if (topic === topics.alerts.name) {
        const a = AlertReader.safeParse(json)
        if (a.success) {
          lastAlertAt = performance.now()
          // The headline's time, as the embedded default prints it: the sample's timeline.
          out.write(`${formatAlert(a.data, { evidence: false, time: 'published', ruleWidth })}\n`)
        }
        return
      }
      if (topic === topics.dlq.name) {
        const d = DeadLetter.safeParse(json)
        const stage = d.success ? stageOf(d.data.origin.topic) : undefined
        const id = d.success && stage ? letteredId(d.data) : undefined
        if (stage && id) deadLettered.set(id, { stage, reason: d.data!.reason })
        return
      }
      if (topic === topics.headlines.name) {
        const h = HeadlineReader.safeParse(json)
        if (h.success && ids.has(h.data.id)) ingested.add(h.data.id)
        return
      }
      const s = ScoredHeadlineReader.safeParse(json)
      if (s.success && ids.has(s.data.id)) seen.add(s.data.id)
    },
  }
}

/**
 * What of the sample a run on Kafka did not score, or undefined when it scored it all: how many, and
 * where each stage stopped short, ingest (passed on to headlines) then the scorer (scored of those), each
 * with its dead letters by reason and those neither passed on nor dead-lettered within the wait (a stage
 * stalled, behind, or another consumer in its group). A headline scored counts as passed on by ingest.
 */
export function sampleShortfall(run: {
  total: number
  ingested: ReadonlySet<string>
  scored: ReadonlySet<string>
  deadLettered: ReadonlyMap<string, LetteredAt>
  topics: Pick<TopicCatalogue, 'headlines' | 'scored' | 'dlq'>
  waitedS: number
}): string | undefined {
  const { total, scored, deadLettered, topics } = run
  const missing = total - scored.size
  if (missing <= 0) return undefined
  // A headline the scorer scored or dead-lettered was passed on by ingest, read on headlines or not.
  const passed = new Set([...run.ingested, ...scored])
  for (const [id, at] of deadLettered) if (at.stage === 'scorer') passed.add(id)
  let letters = 0
  // The stage's own letters among those it did not pass on, by reason, and the rest.
  const detail = (stage: LetteredAt['stage'], short: number, verb: string): string => {
    const reasons = new Map<string, number>()
    for (const [id, at] of deadLettered)
      if (at.stage === stage && !scored.has(id) && (stage === 'scorer' || !passed.has(id)))
        reasons.set(at.reason, (reasons.get(at.reason) ?? 0) + 1)
    const lettered = [...reasons.values()].reduce((a, b) => a + b, 0)
    letters += lettered
    const parts = []
    if (lettered)
      parts.push(
        `${lettered} dead-lettered to ${topics.dlq.name}: ${[...reasons].map(([r, n]) => `${n} ${r}`).join(', ')}`,
      )
    if (short - lettered > 0)
      parts.push(`${short - lettered} neither ${verb} nor dead-lettered within ${run.waitedS} s`)
    return parts.join('; ')
  }
  const parts: string[] = []
  const notPassed = total - passed.size
  if (notPassed > 0)
    parts.push(
      `ingest stopped short: it passed on ${passed.size} of ${total} to ${topics.headlines.name} (${detail('ingest', notPassed, 'passed on')})`,
    )
  else parts.push(`ingest passed on all ${total} to ${topics.headlines.name}`)
  const notScored = passed.size - scored.size
  if (notScored > 0)
    parts.push(
      `the scorer stopped short: it scored ${scored.size} of the ${passed.size} ingest passed on to ${topics.scored.name} (${detail('scorer', notScored, 'scored')})`,
    )
  else parts.push(`the scorer scored all ${passed.size} ingest passed on`)
  return `${missing} of the ${total} sample headlines were not scored: ${parts.join('; ')}${letters ? '. `tradepulse dlq list` shows the dead letters' : ''}`
}

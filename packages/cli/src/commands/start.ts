import { Alert, createTopicCatalogue, ScoredHeadline } from '@tradepulse/contracts'
import { createLogger, type KafkaWorker, loadConfig, TradepulseError } from '@tradepulse/platform'
import { type Infra, startInfra } from '@tradepulse/testing/infra'
import type { Command } from 'commander'
import { Kafka, logLevel, Partitioners } from 'kafkajs'
import { printIndicatorTables, runEmbedded } from '../embedded.ts'
import { reloadRulesOnHangup } from '../reload-on-hangup.ts'
import { loadSampleFeed } from '../sample-feed.ts'
import { WORKERS } from '../workers.ts'
import { formatAlert } from './tail.ts'

type StartOptions = {
  workers?: string
  follow?: boolean
  sample?: boolean
  speed: string
  localInfra?: boolean
  httpPort: string
}

function parseWorkers(list: string | undefined): string[] {
  const names = (list ?? Object.keys(WORKERS).join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const unknown = names.filter((n) => !(n in WORKERS))
  if (unknown.length || names.length === 0) {
    throw new TradepulseError(
      'CONFIG_INVALID',
      `--workers: unknown worker(s) ${unknown.join(', ')}; choose from ${Object.keys(WORKERS).join(', ')}`,
    )
  }
  return names
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description(
      'run the workers: with KAFKA_BROKERS and REDIS_URL on Kafka and Redis; without them all in this process over an in-memory bus and store',
    )
    .option('--workers <list>', `comma-separated subset of ${Object.keys(WORKERS).join(',')}`)
    .option('--follow', 'keep running until Ctrl-C (embedded: taking headlines on stdin and POST /headlines)')
    .option('--no-sample', 'do not play the bundled sample feed')
    .option(
      '--speed <n>',
      'embedded sample feed: simulated seconds per real second (30000: four days in about 12 s), or "max"',
      '30000',
    )
    .option('--http-port <n>', 'embedded --follow: port of POST /headlines', '9400')
    .option(
      '--local-infra',
      'start a local Kafka broker and Redis server for this run instead of the in-memory bus',
    )
    .action(async (opts: StartOptions) => {
      const names = parseWorkers(opts.workers)
      const env: Record<string, string | undefined> = { ...process.env }
      const log = createLogger({ level: env.LOG_LEVEL ?? 'warn', pretty: true, name: 'tradepulse' })
      const speed = opts.speed === 'max' ? 'max' : Number(opts.speed)
      if (speed !== 'max' && !(speed > 0)) {
        throw new TradepulseError('CONFIG_INVALID', `--speed: a positive number or "max", got ${opts.speed}`)
      }
      const onKafka = Boolean(env.KAFKA_BROKERS && env.REDIS_URL)
      if (!onKafka && !opts.localInfra) {
        await startEmbedded(names, opts, speed, env, log)
        return
      }
      let infra: Infra | undefined
      if (!onKafka) {
        process.stderr.write('Starting a local Kafka broker and Redis server for this run…\n')
        infra = await startInfra({ ...env, KAFKA_BROKERS: '', REDIS_URL: '' })
        env.KAFKA_BROKERS = infra.kafkaBrokers.join(',')
        env.REDIS_URL = infra.redisUrl
        process.stderr.write(
          `Kafka ${env.KAFKA_BROKERS} and Redis ${env.REDIS_URL} are up (${infra.source}).\n`,
        )
      }
      await startOnKafka(names, opts, env, log, infra)
    })
}

async function startEmbedded(
  names: string[],
  opts: StartOptions,
  speed: number | 'max',
  env: Record<string, string | undefined>,
  log: ReturnType<typeof createLogger>,
): Promise<void> {
  process.stderr.write(
    `Embedded mode (no KAFKA_BROKERS / REDIS_URL): ${names.join(', ')} in one process over an in-memory bus and store.\n`,
  )
  const feed = opts.sample === false ? [] : loadSampleFeed()
  if (feed.length)
    process.stderr.write(`Playing ${feed.length} sample headlines (speed ${speed}); alerts as they fire:\n\n`)
  const run = await runEmbedded({
    workers: names,
    feed,
    speed,
    follow: Boolean(opts.follow),
    log,
    env,
    out: process.stdout,
    httpPort: Number(opts.httpPort),
  })
  if (run.indicators) {
    const last = feed.length ? Date.parse(feed[feed.length - 1]!.publishedAt) : Date.now()
    await printIndicatorTables(run.indicators, last, process.stdout)
  }
  process.stderr.write(`\n${run.alerts.length} alert(s). Done.\n`)
}

async function startOnKafka(
  names: string[],
  opts: StartOptions,
  env: Record<string, string | undefined>,
  log: ReturnType<typeof createLogger>,
  infra: Infra | undefined,
): Promise<void> {
  let deadlineMs = 0
  const apps: KafkaWorker[] = names.map((name) => {
    const w = WORKERS[name]!
    const config = loadConfig(w.config, {
      ALERTER_WEBHOOKS_ENABLED: 'false',
      ...env,
      HTTP_PORT: env.HTTP_PORT ?? '0',
    })
    deadlineMs = Math.max(deadlineMs, (config as { SHUTDOWN_DEADLINE_MS: number }).SHUTDOWN_DEADLINE_MS)
    return w.build(config as never, { log })
  })
  let stopping = false
  // As a worker's own process does (runUntilSignal): a stop that outlasts SHUTDOWN_DEADLINE_MS, or fails,
  // exits 1; a second signal exits at once.
  const stopAll = async (code: number) => {
    if (stopping) process.exit(130)
    stopping = true
    // The deadline is the workers'; the local infrastructure (--local-infra) is stopped after it either
    // way, bounded by its own stop.
    let failed = false
    let infraStopped: Promise<void> | undefined
    const stopInfra = () => (infraStopped ??= infra?.stop() ?? Promise.resolve())
    const timer = setTimeout(() => {
      failed = true
      log.error({ deadlineMs }, 'graceful stop exceeded its deadline; exiting')
      void stopInfra().finally(() => process.exit(1))
    }, deadlineMs)
    timer.unref()
    for (const app of [...apps].reverse())
      await app.stop().catch((err: unknown) => {
        failed = true
        log.error({ err }, 'stop failed')
      })
    clearTimeout(timer)
    await stopInfra()
    process.exit(failed ? 1 : code)
  }
  process.on('SIGINT', () => void stopAll(0))
  process.on('SIGTERM', () => void stopAll(0))
  reloadRulesOnHangup(apps, { stop: () => void stopAll(0) })
  for (const app of apps) await app.start()
  process.stderr.write(`Running ${names.join(', ')} on Kafka ${env.KAFKA_BROKERS} and Redis.\n`)
  if (opts.sample !== false && names.includes('ingest')) {
    const base = loadConfig(WORKERS.ingest!.config, env) as {
      KAFKA_BROKERS: string[]
      TRADEPULSE_TOPIC_PREFIX: string
    }
    await playSampleOnKafka(base.KAFKA_BROKERS, base.TRADEPULSE_TOPIC_PREFIX, names.includes('scorer'))
  }
  if (!opts.follow) await stopAll(0)
}

/** Produces the sample feed to headlines.raw; prints scored headlines and alerts as they come out. */
async function playSampleOnKafka(brokers: string[], prefix: string, expectScored: boolean): Promise<void> {
  const topics = createTopicCatalogue(prefix)
  const feed = loadSampleFeed()
  const kafka = new Kafka({ clientId: 'tradepulse-start', brokers, logLevel: logLevel.NOTHING })
  const ids = new Set(feed.map((h) => h.id))
  const seen = new Set<string>()
  let lastAlertAt = Date.now()
  const consumer = kafka.consumer({ groupId: `tradepulse-start-${Date.now()}`, maxWaitTimeInMs: 50 })
  await consumer.connect()
  await consumer.subscribe({ topics: [topics.scored.name, topics.alerts.name], fromBeginning: false })
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()))
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const json = JSON.parse(message.value?.toString() ?? 'null') as unknown
      if (topic === topics.alerts.name) {
        const a = Alert.safeParse(json)
        if (a.success) {
          lastAlertAt = Date.now()
          process.stdout.write(`${formatAlert(a.data, { evidence: false })}\n`)
        }
        return
      }
      const s = ScoredHeadline.safeParse(json)
      if (s.success && ids.has(s.data.id)) seen.add(s.data.id)
    },
  })
  await joined
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  await producer.send({
    topic: topics.raw.name,
    messages: feed.map((h) => ({ key: h.id, value: JSON.stringify(h) })),
  })
  await producer.disconnect()
  process.stderr.write(`Played ${feed.length} sample headlines into ${topics.raw.name}.\n`)
  const deadline = Date.now() + 60_000
  while (expectScored && seen.size < ids.size && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50))
  // Alerts trail the scores by a hop or two (and indicator updates by their throttle): wait for a quiet spell.
  while (Date.now() - lastAlertAt < 3_000 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100))
  await consumer.disconnect()
  if (expectScored) process.stderr.write(`${seen.size} of ${ids.size} scored.\n`)
}

import { createTopicCatalogue, type ScoredHeadline } from '@tradepulse/contracts'
import { createLogger, type KafkaWorker, loadConfig, TradepulseError } from '@tradepulse/platform'
import { type Infra, startInfra } from '@tradepulse/testing/infra'
import type { Command } from 'commander'
import { type Consumer, Kafka, logLevel, Partitioners } from 'kafkajs'
import { loadSampleFeed } from '../sample-feed.ts'
import { WORKERS } from '../workers.ts'

type StartOptions = { workers?: string; follow?: boolean; sample?: boolean }

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
      'run the workers; without KAFKA_BROKERS and REDIS_URL it starts a local Kafka and Redis first and plays the sample feed',
    )
    .option('--workers <list>', `comma-separated subset of ${Object.keys(WORKERS).join(',')}`)
    .option('--follow', 'keep running until Ctrl-C instead of exiting after the sample feed')
    .option('--no-sample', 'do not play the bundled sample feed')
    .action(async (opts: StartOptions) => {
      const names = parseWorkers(opts.workers)
      const env = { ...process.env }
      let infra: Infra | undefined
      const log = createLogger({ level: env.LOG_LEVEL ?? 'warn', pretty: true, name: 'tradepulse' })
      if (!env.KAFKA_BROKERS || !env.REDIS_URL) {
        process.stderr.write(
          'No KAFKA_BROKERS / REDIS_URL: starting a local Kafka broker and Redis server for this run…\n',
        )
        infra = await startInfra({ ...env, KAFKA_BROKERS: '', REDIS_URL: '' })
        env.KAFKA_BROKERS = infra.kafkaBrokers.join(',')
        env.REDIS_URL = infra.redisUrl
        process.stderr.write(
          `Kafka ${env.KAFKA_BROKERS} and Redis ${env.REDIS_URL} are up (${infra.source}).\n`,
        )
      }
      const apps: KafkaWorker[] = names.map((name) => {
        const w = WORKERS[name]!
        return w.build(loadConfig(w.config, { ...env, HTTP_PORT: env.HTTP_PORT ?? '0' }), { log })
      })
      let stopping = false
      const stopAll = async (code: number) => {
        if (stopping) process.exit(130)
        stopping = true
        for (const app of [...apps].reverse()) await app.stop()
        await infra?.stop()
        process.exit(code)
      }
      process.on('SIGINT', () => void stopAll(0))
      process.on('SIGTERM', () => void stopAll(0))
      for (const app of apps) await app.start()
      process.stderr.write(`Running ${names.join(', ')}.\n`)

      const base = loadConfig(WORKERS.ingest!.config, env) as {
        KAFKA_BROKERS: string[]
        TRADEPULSE_TOPIC_PREFIX: string
      }
      if (opts.sample !== false && names.includes('ingest')) {
        await playSample(base.KAFKA_BROKERS, base.TRADEPULSE_TOPIC_PREFIX, names.includes('scorer'))
      }
      if (!opts.follow) await stopAll(0)
    })
}

/** Produces the sample feed to headlines.raw and prints each scored headline as it comes out. */
async function playSample(brokers: string[], prefix: string, expectScored: boolean): Promise<void> {
  const topics = createTopicCatalogue(prefix)
  const feed = loadSampleFeed()
  const kafka = new Kafka({ clientId: 'tradepulse-start', brokers, logLevel: logLevel.NOTHING })
  let consumer: Consumer | undefined
  const seen = new Set<string>()
  const ids = new Set(feed.map((h) => h.id))
  if (expectScored) {
    consumer = kafka.consumer({ groupId: `tradepulse-start-${Date.now()}`, maxWaitTimeInMs: 50 })
    await consumer.connect()
    await consumer.subscribe({ topic: topics.scored.name, fromBeginning: false })
    let joined: () => void = () => {}
    const ready = new Promise<void>((r) => {
      joined = r
    })
    consumer.on(consumer.events.GROUP_JOIN, () => joined())
    await consumer.run({
      eachMessage: async ({ message }) => {
        const s = JSON.parse(message.value!.toString()) as ScoredHeadline
        if (!ids.has(s.id) || seen.has(s.id)) return
        seen.add(s.id)
        const tag = (l: string | null, n: number) =>
          l === null ? '   ·   ' : `${l.slice(0, 3)} ${n >= 0 ? '+' : ''}${n.toFixed(2)}`.padEnd(9)
        process.stdout.write(
          `${s.publishedAt.slice(0, 16)}  tariff ${tag(s.scores.tariff.label, s.scores.tariff.score)}  supply ${tag(s.scores.supplyChain.label, s.scores.supplyChain.score)}  ${s.headline}\n`,
        )
      },
    })
    await ready
  }
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  await producer.send({
    topic: topics.raw.name,
    messages: feed.map((h) => ({ key: h.id, value: JSON.stringify(h) })),
  })
  await producer.disconnect()
  process.stderr.write(`Played ${feed.length} sample headlines into ${topics.raw.name}.\n`)
  if (consumer) {
    const deadline = Date.now() + 60_000
    while (seen.size < ids.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    await consumer.disconnect()
    process.stderr.write(`${seen.size} of ${ids.size} scored.\n`)
  }
}

// `pnpm bench ingest`: ingest throughput and latency through real Kafka and Redis, next to a plain kafkajs
// pass-through (consume and produce the same bytes, no work) measured in the same run on the same input.
import { createTopicCatalogue, listTopics } from '@tradepulse/contracts'
import { buildIngestApp, IngestConfig } from '@tradepulse/ingest'
import { BaseConfig, createKafka, createLogger, createProducer, loadConfig } from '@tradepulse/platform'
import { cleanUpRun } from '@tradepulse/testing'
import { startInfra } from '@tradepulse/testing/infra'
import { createTopics, testKafka, testProducer } from '@tradepulse/testing/kafka'
import type { Producer } from 'kafkajs'
import { loadHeadlineTexts } from './headline-source.ts'
import { passthroughConsumer, runPassthrough } from './passthrough.ts'
import { startProfiler } from './profile.ts'
import { writeResult } from './results.ts'
import { quantile, round } from './stats.ts'

const N = Number(process.env.BENCH_INGEST_MESSAGES ?? 100_000)
const LAT_RATE = Number(process.env.BENCH_INGEST_LATENCY_RATE ?? 2_000)
const LAT_SECONDS = Number(process.env.BENCH_INGEST_LATENCY_SECONDS ?? 10)
const PARTITIONS = 3
const ROUNDS = Number(process.env.BENCH_INGEST_ROUNDS ?? 3)
const round1 = (n: number) => round(n)
const round3 = (n: number) => round(n, 3)

const infra = await startInfra()
const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', pretty: false })
const { texts, source } = loadHeadlineTexts(N)
process.stdout.write(
  `ingest bench: ${N} messages (${source}), Kafka ${infra.kafkaBrokers} (${infra.source}), Redis ${infra.redisUrl}\n`,
)

type Counter = { count: number; latencies: number[]; stop(): Promise<void> }

/** Counts records on a topic; for latency records (id "lat-<sentMs>-<i>") records now − sent. */
async function countTopic(topic: string): Promise<Counter> {
  const c: Counter = { count: 0, latencies: [], stop: async () => {} }
  const consumer = testKafka(infra.kafkaBrokers).consumer({
    groupId: `count-${topic}`,
    maxWaitTimeInMs: 10,
    maxBytesPerPartition: 4 << 20,
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now()
      for (const m of batch.messages) {
        c.count++
        const key = m.key?.toString() ?? ''
        if (key.startsWith('lat-')) c.latencies.push(now - Number(key.split('-')[1]))
      }
    },
  })
  c.stop = () => consumer.disconnect()
  return c
}

async function waitCount(c: Counter, n: number, timeoutMs = 300_000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  while (c.count < n) {
    if (Date.now() > deadline) throw new Error(`only ${c.count} of ${n} records arrived`)
    await new Promise((r) => setTimeout(r, 5))
  }
  return Date.now()
}

/**
 * A plain kafkajs consume → produce loop with the same producer settings and the same commit discipline;
 * `joinedAt` is when its consumer joined its group.
 */
async function startPassthrough(
  input: string,
  output: string,
): Promise<{ joinedAt: Promise<number>; stop(): Promise<void> }> {
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'passthrough' }, log)
  const producer = createProducer(kafka)
  // The same consumer settings and chunking as every worker (platform config defaults), so the ratio is the cost of ingest's work.
  const defaults = loadConfig(BaseConfig, {})
  const consumer = passthroughConsumer(kafka, defaults, `pass-${input}`)
  const joinedAt = new Promise<number>((resolve) => {
    consumer.on(consumer.events.GROUP_JOIN, () => resolve(Date.now()))
  })
  const stop = await runPassthrough(consumer, producer, defaults, input, output, log)
  return { joinedAt, stop }
}

function ingestApp(prefix: string) {
  const config = loadConfig(IngestConfig, {
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    REDIS_URL: infra.redisUrl,
    // Each app its own dedup keys, under the run's prefix (deleted at the end).
    REDIS_KEY_PREFIX: `${run}-${prefix.replaceAll('.', '-')}`,
    TRADEPULSE_TOPIC_PREFIX: prefix,
    KAFKA_GROUP_ID: `${prefix}ingest`,
    HTTP_PORT: '0',
    TOPICS_AUTO_CREATE: 'false',
  })
  return buildIngestApp(config, { log })
}

async function preload(producer: Producer, topic: string, n: number, keyOf: (i: number) => string) {
  for (let i = 0; i < n; i += 2_000) {
    const messages = []
    for (let j = i; j < Math.min(n, i + 2_000); j++) {
      const id = keyOf(j)
      messages.push({
        key: id,
        value: JSON.stringify({ id, source: 'bench', headline: texts[j % texts.length] }),
      })
    }
    await producer.send({ topic, messages })
  }
}

/** Paced production at `rate` per second for `seconds`; each key carries its send time. */
async function paced(producer: Producer, topic: string, rate: number, seconds: number): Promise<number> {
  const per = Math.max(1, Math.round(rate / 100))
  const total = rate * seconds
  const t0 = Date.now()
  let sent = 0
  while (sent < total) {
    const messages = []
    for (let j = 0; j < per && sent < total; j++, sent++) {
      const id = `lat-${Date.now()}-${sent}`
      messages.push({
        key: id,
        value: JSON.stringify({ id, source: 'bench', headline: texts[sent % texts.length] }),
      })
    }
    await producer.send({ topic, messages })
    const due = t0 + (sent / rate) * 1_000
    const wait = due - Date.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  }
  return total
}

const run = `b${Date.now().toString(36)}`
const producer = await testProducer(infra.kafkaBrokers)
try {
  // Throughput: ROUNDS pairs, each a pass-through then ingest on a fresh backlog of the same N raw
  // headlines, each timed from the moment its consumer joined its group to the Nth output record, so
  // connecting and the group join (a one-off at start) are not part of the rate. Adjacent pairs share
  // the machine's state, so the ratio is taken per pair and the median pair is reported.
  // BENCH_CPU_PROFILE=FILE profiles the first round: ingest in FILE, the pass-through beside it.
  const profilePath = process.env.BENCH_CPU_PROFILE
  const passRates: number[] = []
  const ingestRates: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const tp = createTopicCatalogue(`${run}.tp${round}.`)
    const passTopic = `${run}.pass${round}.out`
    await createTopics(infra.kafkaBrokers, [
      ...listTopics(tp).map((t) => ({ name: t.name, partitions: PARTITIONS })),
      { name: passTopic, partitions: PARTITIONS },
    ])
    await preload(producer, tp.raw.name, N, (i) => `id-${i}`)
    const profile = round === 0 ? profilePath : undefined

    const passOut = await countTopic(passTopic)
    const passProfile = await startProfiler(profile?.replace(/(\.cpuprofile)?$/, '-passthrough.cpuprofile'))
    const pass = await startPassthrough(tp.raw.name, passTopic)
    const passDone = await waitCount(passOut, N)
    await passProfile?.stop()
    passRates.push(N / ((passDone - (await pass.joinedAt)) / 1_000))
    await pass.stop()
    await passOut.stop()

    const ingestOut = await countTopic(tp.headlines.name)
    const app = ingestApp(`${run}.tp${round}.`)
    const ingestJoinedAt = app.runner.joined().then(() => Date.now())
    const ingestProfile = await startProfiler(profile)
    await app.start()
    const ingestDone = await waitCount(ingestOut, N)
    await ingestProfile?.stop()
    ingestRates.push(N / ((ingestDone - (await ingestJoinedAt)) / 1_000))
    await app.stop()
    await ingestOut.stop()
    process.stdout.write(
      `round ${round + 1}/${ROUNDS}: pass-through ${round1(passRates[round]!)}/s, ingest ${round1(ingestRates[round]!)}/s, ratio ${round3(ingestRates[round]! / passRates[round]!)}\n`,
    )
  }
  const ratios = ingestRates.map((r, i) => r / passRates[i]!)
  const medianRound = ratios.indexOf(quantile(ratios, 0.5))
  const ingestPerS = ingestRates[medianRound]!
  const passthroughPerS = passRates[medianRound]!

  // Latency: a steady rate through each, on fresh topics, produce → arrival at a consumer of the output.
  const lt = createTopicCatalogue(`${run}.lt.`)
  await createTopics(infra.kafkaBrokers, [
    ...listTopics(lt).map((t) => ({ name: t.name, partitions: PARTITIONS })),
    { name: `${run}.lpass.in`, partitions: PARTITIONS },
    { name: `${run}.lpass.out`, partitions: PARTITIONS },
  ])
  const lpassOut = await countTopic(`${run}.lpass.out`)
  const lpass = await startPassthrough(`${run}.lpass.in`, `${run}.lpass.out`)
  await new Promise((r) => setTimeout(r, 2_000)) // let the group settle before timing
  const lpassN = await paced(producer, `${run}.lpass.in`, LAT_RATE, LAT_SECONDS)
  await waitCount(lpassOut, lpassN)
  await lpass.stop()
  await lpassOut.stop()

  const lingestOut = await countTopic(lt.headlines.name)
  const lapp = ingestApp(`${run}.lt.`)
  await lapp.start()
  await lapp.runner.joined()
  await new Promise((r) => setTimeout(r, 2_000))
  const lingestN = await paced(producer, lt.raw.name, LAT_RATE, LAT_SECONDS)
  await waitCount(lingestOut, lingestN)
  await lapp.stop()
  await lingestOut.stop()

  const figures = {
    messages: N,
    headlines_source: source,
    throughput_per_s: round(ingestPerS),
    passthrough_per_s: round(passthroughPerS),
    ratio: round(ingestPerS / passthroughPerS, 3),
    rounds: ROUNDS,
    round_ratios: ratios.map(round3),
    round_throughput_per_s: ingestRates.map(round1),
    round_passthrough_per_s: passRates.map(round1),
    latency_rate_per_s: LAT_RATE,
    latency_samples: lingestOut.latencies.length,
    p50_ms: quantile(lingestOut.latencies, 0.5),
    p99_ms: quantile(lingestOut.latencies, 0.99),
    passthrough_p50_ms: quantile(lpassOut.latencies, 0.5),
    passthrough_p99_ms: quantile(lpassOut.latencies, 0.99),
    partitions: PARTITIONS,
    goal: 'ratio >= 0.8',
  }
  console.table(figures)
  process.stdout.write(`wrote ${writeResult('ingest', figures)}\n`)
} finally {
  await producer.disconnect()
  await cleanUpRun(infra, run)
  await infra.stop()
}
process.exit(0)

// `pnpm bench pipeline`: end-to-end latency of headlines.raw → alerts.v1 through ingest, scorer, aggregator
// and alerter as separate processes on real Kafka and Redis, at a steady rate, next to a chain of plain
// kafkajs pass-through processes fed the same records in the same run (the floor: hops with no work).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { aggregatorConfigShape } from '@tradepulse/aggregator'
import { alerterConfigShape } from '@tradepulse/alerter'
import { createTopicCatalogue, listTopics } from '@tradepulse/contracts'
import { baseConfigShape } from '@tradepulse/platform'
import { cleanUpRun, spawnWorker, type WorkerProcess } from '@tradepulse/testing'
import { startInfra } from '@tradepulse/testing/infra'
import { createTopics, testKafka, testProducer } from '@tradepulse/testing/kafka'
import { loadHeadlineTexts } from './headline-source.ts'
import { cpuShares, cpuTicks } from './machine.ts'
import { writeResult } from './results.ts'
import { quantile, round } from './stats.ts'

const RATE = Number(process.env.BENCH_PIPELINE_RATE ?? 1_000)
const SECONDS = Number(process.env.BENCH_PIPELINE_SECONDS ?? 60)
// Unmeasured load at the same rate first, so the workers' JIT and the broker reach steady state, as in a
// long-running deployment: right after `pnpm infra:up` the broker answers slowly for its first 10-15 s
// (alerts of 100-300 ms in seconds 0-13 of a run started then, against under 100 ms once warm).
const WARMUP_SECONDS = Number(process.env.BENCH_PIPELINE_WARMUP_SECONDS ?? 15)
const PARTITIONS = Number(process.env.BENCH_PIPELINE_PARTITIONS ?? 3)
const PASS_HOPS = 4
// BENCH_PIPELINE_FLOOR=0 skips the pass-through phase (for quick looks while tuning; no floor figures).
const FLOOR = process.env.BENCH_PIPELINE_FLOOR !== '0'
// Consumer settings. Each worker keeps its own defaults, as deployed (the aggregator's differ: it is off
// the headline alerts' path and lets a live stream gather into larger batches for Redis, see
// services/aggregator/src/config.ts; the alerter handles all its input partitions at once); one given in the environment goes to every process alike, pipeline
// and pass-through, and BENCH_AGGREGATOR_FETCH_* to the aggregator only. Both sets are reported.
const TUNABLE = [
  'KAFKA_FETCH_MAX_WAIT_MS',
  'KAFKA_FETCH_MIN_BYTES',
  'KAFKA_MAX_BATCH',
  'KAFKA_PARTITIONS_CONCURRENCY',
  'KAFKA_COMMIT_INTERVAL_MS',
  'REDIS_TIMEOUT_MS',
] as const
const settingsOf = (shape: Pick<typeof baseConfigShape, (typeof TUNABLE)[number]>) =>
  Object.fromEntries(TUNABLE.map((n) => [n, process.env[n] ?? String(shape[n].parse(undefined))]))
const TUNING = {
  ...settingsOf(baseConfigShape),
  // V8 flags for the worker processes (for example a larger young generation), when given.
  ...(process.env.BENCH_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS } : {}),
}
const AGGREGATOR_TUNING = {
  ...settingsOf(aggregatorConfigShape),
  ...(process.env.BENCH_AGGREGATOR_FETCH_MAX_WAIT_MS
    ? { KAFKA_FETCH_MAX_WAIT_MS: process.env.BENCH_AGGREGATOR_FETCH_MAX_WAIT_MS }
    : {}),
  ...(process.env.BENCH_AGGREGATOR_FETCH_MIN_BYTES
    ? { KAFKA_FETCH_MIN_BYTES: process.env.BENCH_AGGREGATOR_FETCH_MIN_BYTES }
    : {}),
}
// The alerter's own defaults differ too: it handles its input partitions at once (20347bd).
const ALERTER_TUNING = settingsOf(alerterConfigShape)
const MAINS = {
  ingest: 'services/ingest/src/main.ts',
  scorer: 'services/scorer/src/main.ts',
  aggregator: 'services/aggregator/src/main.ts',
  alerter: 'services/alerter/src/main.ts',
}
const PASS_MAIN = 'bench/src/passthrough-worker.ts'
// The shipped bench rule set (packages/alerting RULE_FILES.benchRules): fires on most headlines.
const BENCH_RULES = fileURLToPath(new URL('../../packages/alerting/rules/bench-rules.yaml', import.meta.url))

const infra = await startInfra()
const { texts, source } = loadHeadlineTexts(30_000)
const hasAggregator = existsSync(new URL(`../../${MAINS.aggregator}`, import.meta.url))
const run = `pl${Date.now().toString(36)}`
const prefix = `${run}.`
const topics = createTopicCatalogue(prefix)
const passTopics = Array.from({ length: PASS_HOPS + 1 }, (_, i) => `${run}.pass.${i}`)
const desks = ['tariff', 'supply_chain', 'risk'] // the shipped desks file
process.stdout.write(
  `pipeline bench: ${RATE}/s for ${SECONDS} s (+${WARMUP_SECONDS} s warm-up), headlines ${source}, ` +
    `Kafka ${infra.kafkaBrokers} (${infra.source}), Redis ${infra.redisUrl}, tuning ${JSON.stringify(TUNING)}, aggregator ${JSON.stringify(AGGREGATOR_TUNING)}, alerter ${JSON.stringify(ALERTER_TUNING)}` +
    `${hasAggregator ? '' : ', NO aggregator (services/aggregator/src/main.ts missing)'}\n`,
)

const workers: WorkerProcess[] = []

/** CPU seconds (user + system) a process has used so far, from /proc; undefined where there is none. */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined
  }
}

/** SIGTERM (a graceful stop), then SIGKILL after 10 s. */
async function stopAll(list: WorkerProcess[]): Promise<void> {
  for (const w of list) if (w.child.exitCode === null) w.child.kill('SIGTERM')
  await Promise.race([Promise.all(list.map((w) => w.exited)), new Promise((r) => setTimeout(r, 10_000))])
  for (const w of list) if (w.child.exitCode === null) w.child.kill('SIGKILL')
  // BENCH_WORKER_LOG_DIR keeps each worker's output (its log lines) for a look afterwards.
  const dir = process.env.BENCH_WORKER_LOG_DIR
  if (dir) {
    mkdirSync(dir, { recursive: true })
    for (const w of list) writeFileSync(`${dir}/${w.child.pid}.log`, w.output())
  }
}
const consumers: { disconnect(): Promise<void> }[] = []
const producer = await testProducer(infra.kafkaBrokers)
try {
  await createTopics(infra.kafkaBrokers, [
    ...listTopics(topics).map((t) => ({ name: t.name, partitions: PARTITIONS })),
    ...desks.map((d) => ({ name: topics.deskAlerts(d).name, partitions: PARTITIONS })),
    ...passTopics.map((name) => ({ name, partitions: PARTITIONS })),
  ])

  const common = {
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    REDIS_URL: infra.redisUrl,
    REDIS_KEY_PREFIX: run,
    TRADEPULSE_TOPIC_PREFIX: prefix,
    HTTP_PORT: '0',
    TOPICS_AUTO_CREATE: 'false',
    LOG_LEVEL: 'info',
    ...TUNING,
    // BENCH_WORKER_NODE_OPTIONS: node options for every worker process, pipeline and pass-through
    // (e.g. `--cpu-prof --cpu-prof-dir=DIR`: a CPU profile of each, written as it stops).
    ...(process.env.BENCH_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS } : {}),
  }
  const names = hasAggregator
    ? (['ingest', 'scorer', 'aggregator', 'alerter'] as const)
    : (['ingest', 'scorer', 'alerter'] as const)
  /** Starts processes and waits until each has joined its consumer group. */
  async function launch(started: WorkerProcess[]): Promise<WorkerProcess[]> {
    workers.push(...started)
    const deadline = Date.now() + 60_000
    while (!started.every((w) => w.output().includes('joined consumer group'))) {
      const dead = started.find((w) => w.child.exitCode !== null)
      if (dead) throw new Error(`a worker exited at start:\n${dead.output()}`)
      if (Date.now() > deadline) throw new Error('workers did not join their groups within 60 s')
      await new Promise((r) => setTimeout(r, 100))
    }
    return started
  }
  const pipelineWorkers = await launch(
    names.map((name) =>
      spawnWorker(MAINS[name], {
        ...common,
        KAFKA_GROUP_ID: `${prefix}${name}`,
        ...(name === 'aggregator' ? AGGREGATOR_TUNING : name === 'alerter' ? ALERTER_TUNING : {}),
        ...(name === 'alerter' ? { ALERTER_RULES_FILE: BENCH_RULES, ALERTER_WEBHOOKS_ENABLED: 'false' } : {}),
      }),
    ),
  )
  const passWorkers = () =>
    Array.from({ length: PASS_HOPS }, (_, i) =>
      spawnWorker(PASS_MAIN, {
        ...common,
        KAFKA_GROUP_ID: `${run}.pass${i}`,
        PASS_IN: passTopics[i]!,
        PASS_OUT: passTopics[i + 1]!,
      }),
    )

  // Send time of every headline by id; arrivals at the end of each chain are matched against it.
  const sentAt = new Map<string, number>()
  // Which chain is being measured: the pipeline and the pass-through floor run one after the other, each
  // on a machine the other leaves idle, so neither measures the queue for CPU the other one makes.
  let measuring: 'none' | 'pipeline' | 'pass' = 'none'
  const samples = {
    alert: [] as number[],
    pass3: [] as number[],
    pass4: [] as number[],
    indicator: [] as number[],
  }
  // Where the time goes, per headline-rule alert: the Kafka record time (CreateTime, stamped by the
  // producing worker) of the headline on each topic it passes, then the alert's detection time, the
  // alert record's time and its arrival here. Each stage is the difference of two of them.
  const stamps = { headlines: new Map<string, number>(), scored: new Map<string, number>() }
  const stages = {
    to_headlines: [] as number[],
    to_scored: [] as number[],
    to_detected: [] as number[],
    to_alert_record: [] as number[],
    to_arrival: [] as number[],
  }
  const alertSeen = new Set<string>()
  // The slowest alert per second of the measured phase (by send time), to see whether the tail is spread
  // out or comes in bursts.
  const worstBySecond = new Map<number, number>()
  let measureStart = 0
  let alertsTotal = 0
  const HEADLINE_ID = /"headlineId":"(h-\d+)"/

  /** Consumes `topic` in this process (fetches return at the first record, or after 10 ms). */
  async function follow(
    topic: string,
    onBatch: (
      values: { key: string; value: string; timestamp: number; source?: string }[],
      now: number,
    ) => void,
  ) {
    const consumer = testKafka(infra.kafkaBrokers).consumer({
      groupId: `${run}-measure-${topic}`,
      maxWaitTimeInMs: 10,
      maxBytesPerPartition: 4 << 20,
    })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      // A measuring consumer commits nothing: a commit per batch would add its wait to every arrival.
      autoCommit: false,
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatch: async ({ batch }) => {
        const now = Date.now()
        onBatch(
          batch.messages.map((m) => ({
            key: m.key?.toString() ?? '',
            value: m.value?.toString() ?? '',
            timestamp: Number(m.timestamp),
            ...(m.headers?.ce_source ? { source: String(m.headers.ce_source) } : {}),
          })),
          now,
        )
      },
    })
    consumers.push(consumer)
  }
  await follow(topics.alerts.name, (msgs, now) => {
    alertsTotal += msgs.length
    for (const m of msgs) {
      const isHeadlineRule = m.source?.includes('headline')
      // Headline rules: the triggering headline is the (only) evidence. Indicator rules: the alert's
      // ingestedAt is the headlines.raw time of the headline that moved the indicator.
      const first = HEADLINE_ID.exec(m.value)?.[1]
      if (measuring !== 'pipeline') continue
      if (isHeadlineRule && first && !alertSeen.has(first)) {
        alertSeen.add(first)
        const t = sentAt.get(first)
        if (t) {
          samples.alert.push(now - t)
          const sec = Math.floor((t - measureStart) / 1_000)
          worstBySecond.set(sec, Math.max(worstBySecond.get(sec) ?? 0, now - t))
          const h = stamps.headlines.get(first)
          const sc = stamps.scored.get(first)
          const detected = Date.parse(/"detectedAt":"([^"]+)"/.exec(m.value)?.[1] ?? '')
          if (h !== undefined && sc !== undefined && Number.isFinite(detected)) {
            stages.to_headlines.push(h - t)
            stages.to_scored.push(sc - h)
            stages.to_detected.push(detected - sc)
            stages.to_alert_record.push(m.timestamp - detected)
            stages.to_arrival.push(now - m.timestamp)
          }
        }
      } else if (!isHeadlineRule) {
        const entered = Date.parse(/"ingestedAt":"([^"]+)"/.exec(m.value)?.[1] ?? '')
        if (Number.isFinite(entered)) samples.indicator.push(now - entered)
      }
    }
  })
  for (const [name, map] of [
    [topics.headlines.name, stamps.headlines],
    [topics.scored.name, stamps.scored],
  ] as const) {
    // Record timestamps only. These must arrive before the alerts they explain (a stage is counted only
    // where both stamps are there), so they are not made to wait for larger batches.
    await follow(name, (msgs) => {
      if (measuring !== 'pipeline') return
      for (const m of msgs) map.set(m.key, m.timestamp)
    })
  }
  // The floor's arrivals, followed from phase 2 on (idle consumers polling through phase 1 would load it).
  async function followPassThrough() {
    for (const [topic, list] of [
      [passTopics[3]!, samples.pass3],
      [passTopics[4]!, samples.pass4],
    ] as const) {
      await follow(topic, (msgs, now) => {
        if (measuring !== 'pass') return
        for (const m of msgs) {
          const t = sentAt.get(m.key)
          if (t) list.push(now - t)
        }
      })
    }
  }

  /**
   * Paced production to headlines.raw and the first pass-through topic, the same records to both in one
   * request. Sends are not awaited one by one (a slow acknowledgement must not lower the rate), but at
   * most MAX_IN_FLIGHT are outstanding.
   */
  const MAX_IN_FLIGHT = 50
  async function paced(seconds: number, from: number, targets: string[]): Promise<number> {
    const perTick = Math.max(1, Math.round(RATE / 100))
    const total = RATE * seconds
    const t0 = Date.now()
    const inFlight = new Set<Promise<unknown>>()
    let sent = 0
    while (sent < total) {
      const due = Math.min(total, Math.floor(((Date.now() - t0) / 1_000) * RATE) + perTick)
      if (due > sent) {
        const messages: { key: string; value: string }[] = []
        const now = Date.now()
        for (; sent < due; sent++) {
          const id = `h-${from + sent}`
          sentAt.set(id, now)
          messages.push({
            key: id,
            value: JSON.stringify({ id, source: 'bench', headline: texts[(from + sent) % texts.length] }),
          })
        }
        const p = producer.sendBatch({ topicMessages: targets.map((topic) => ({ topic, messages })) })
        inFlight.add(p)
        void p.finally(() => inFlight.delete(p))
        while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight)
      }
      await new Promise((r) => setTimeout(r, 10))
    }
    await Promise.all(inFlight)
    return sent
  }

  // Phase 1, the pipeline: warm up, then measure produce → alert.
  await paced(WARMUP_SECONDS, 0, [topics.raw.name])
  await new Promise((r) => setTimeout(r, 2_000))
  const loadBefore = loadavg()[0]!
  const ticksBefore = cpuTicks()
  measuring = 'pipeline'
  measureStart = Date.now()
  const cpuBefore = pipelineWorkers.map((w) => cpuSeconds(w.child.pid))
  let t0 = Date.now()
  const n = await paced(SECONDS, RATE * WARMUP_SECONDS, [topics.raw.name])
  const elapsedS = (Date.now() - t0) / 1_000
  const machineShares = cpuShares(ticksBefore, cpuTicks())
  // CPU each worker spent over the measured phase, as a share of one core.
  const workerCpu = Object.fromEntries(
    names.map((name, i) => {
      const after = cpuSeconds(pipelineWorkers[i]!.child.pid)
      const before = cpuBefore[i]
      return [
        name,
        after === undefined || before === undefined ? null : round((after - before) / elapsedS, 3),
      ]
    }),
  )
  // Drain: alerts have stopped coming for 3 s (30 s at most).
  let last = -1
  let quietSince = Date.now()
  let drainUntil = Date.now() + 30_000
  while (Date.now() < drainUntil) {
    const count = alertsTotal
    if (count !== last) quietSince = Date.now()
    last = count
    if (Date.now() - quietSince >= 3_000) break
    await new Promise((r) => setTimeout(r, 250))
  }
  const loadAfterPipeline = loadavg()[0]!

  // Phase 2, the floor: the same headlines at the same rate through the no-work chain, with the
  // pipeline's processes stopped (each chain has the machine to itself).
  measuring = 'none'
  await stopAll(pipelineWorkers)
  if (FLOOR) {
    await followPassThrough()
    await launch(passWorkers())
  }
  const base = RATE * (WARMUP_SECONDS + SECONDS)
  if (FLOOR) {
    await paced(WARMUP_SECONDS, base, [passTopics[0]!])
    await new Promise((r) => setTimeout(r, 2_000))
    measuring = 'pass'
    t0 = Date.now()
    const passN = await paced(SECONDS, base + RATE * WARMUP_SECONDS, [passTopics[0]!])
    drainUntil = Date.now() + 30_000
    while (samples.pass4.length < passN && Date.now() < drainUntil) {
      await new Promise((r) => setTimeout(r, 250))
    }
    measuring = 'none'
  }

  const figures = {
    rate_per_s: round(n / elapsedS),
    seconds: SECONDS,
    headlines: n,
    chain: names.join(' → '),
    headlines_source: source,
    alerts_total: alertsTotal,
    alert_samples: samples.alert.length,
    p50_ms: quantile(samples.alert, 0.5),
    p99_ms: quantile(samples.alert, 0.99),
    max_ms: quantile(samples.alert, 1),
    passthrough_hops: PASS_HOPS,
    passthrough_samples: samples.pass4.length,
    passthrough_p50_ms: quantile(samples.pass4, 0.5),
    passthrough_p99_ms: quantile(samples.pass4, 0.99),
    passthrough3_p50_ms: quantile(samples.pass3, 0.5),
    passthrough3_p99_ms: quantile(samples.pass3, 0.99),
    // p50 / p99 of each stage of a headline-rule alert, in ms (see `stamps` above).
    stages_ms: Object.fromEntries(
      Object.entries(stages).map(([k, v]) => [k, { p50: quantile(v, 0.5), p99: quantile(v, 0.99) }]),
    ),
    indicator_alert_samples: samples.indicator.length,
    indicator_alert_p50_ms: quantile(samples.indicator, 0.5),
    indicator_alert_p99_ms: quantile(samples.indicator, 0.99),
    partitions: PARTITIONS,
    worker_cpu_cores: workerCpu,
    // The machine is shared: a load far above its CPU count means the figures measure the queue for CPU.
    load_avg_1m_at_start: round(loadBefore, 2),
    load_avg_1m_after_pipeline: round(loadAfterPipeline, 2),
    load_avg_1m_at_end: round(loadavg()[0]!, 2),
    // Over the measured pipeline phase, the whole machine: see cpuShares.
    ...machineShares,
    phases: 'pipeline, then (its processes stopped) pass-through, same rate and headlines',
    tuning: { ...TUNING, aggregator: AGGREGATOR_TUNING, alerter: ALERTER_TUNING },
    goal: 'p99_ms <= 100',
  }
  console.table(Object.fromEntries(Object.entries(figures).filter(([, v]) => typeof v !== 'object')))
  const slow = [...worstBySecond].filter(([, ms]) => ms > 2 * figures.p50_ms).sort((a, b) => a[0] - b[0])
  process.stdout.write(
    `seconds with an alert slower than 2 × p50 (second: worst ms): ${slow.map(([s, ms]) => `${s}:${ms}`).join(' ') || 'none'}\n`,
  )
  process.stdout.write(`stages of a headline alert (ms): ${JSON.stringify(figures.stages_ms)}\n`)
  process.stdout.write(`worker CPU over the measured phase, in cores: ${JSON.stringify(workerCpu)}\n`)
  process.stdout.write(`wrote ${writeResult('pipeline', figures)}\n`)
} finally {
  await stopAll(workers)
  for (const c of consumers) await c.disconnect().catch(() => {})
  await producer.disconnect()
  await cleanUpRun(infra, run)
  await infra.stop()
}
process.exit(0)

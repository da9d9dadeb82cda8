// `pnpm bench indicators`: scored headlines per second applied by the aggregator app through real Kafka
// and Redis (a preloaded backlog, timed until the group's committed offsets reach the end), Redis
// commands per headline (INFO commandstats delta), Redis CPU and script time, p99 of one store apply call
// (one merged round, all its event-time runs in one round trip: the app's histogram),
// and Redis memory of the namespace after N headlines, scaled to a million.

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { AggregatorConfig, buildAggregatorApp } from '@tradepulse/aggregator'
import { createTopicCatalogue, type ScoredHeadline } from '@tradepulse/contracts'
import { contributionsOf } from '@tradepulse/indicators'
import {
  createLogger,
  createRedisIndicatorStore,
  loadConfig,
  measureIndicatorMemory,
} from '@tradepulse/platform'
import { createScorer } from '@tradepulse/scoring'
import { cleanUpRun } from '@tradepulse/testing'
import { startInfra } from '@tradepulse/testing/infra'
import { createTopics, testKafka, testProducer } from '@tradepulse/testing/kafka'
import { Redis } from 'ioredis'
import { loadHeadlineTexts } from './headline-source.ts'
import { cpuShares, cpuTicks } from './machine.ts'
import { startProfiler } from './profile.ts'
import { writeResult } from './results.ts'
import { round } from './stats.ts'

// Many of the aggregator's fetches (8 MB, about 10,000 headlines a partition), so the figure includes the
// gaps between them; 20,000 headlines a day, as before.
const N = Number(process.env.BENCH_INDICATORS_HEADLINES ?? 200_000)
const SPAN_DAYS = Number(process.env.BENCH_INDICATORS_SPAN_DAYS ?? 10)
// Headlines applied before the clock starts, at the same density: JIT and broker warm-up, as a long-running
// worker would be. The measured figures cover only what is committed after them.
const WARMUP = Number(process.env.BENCH_INDICATORS_WARMUP ?? 20_000)
// One partition by default, the figure kept across sessions. With more, the runner keeps the partitions
// within half a grace of each other in event time (partition-aligner.ts), holding back the one ahead;
// the late count is reported either way.
const PARTITIONS = Number(process.env.BENCH_INDICATORS_PARTITIONS ?? 1)
// Aggregators in the consumer group, all in this process (one event loop: a figure of event-time
// alignment across members, not of scaling out). With several, they swap their partitions' points
// through Redis and leapfrog half a grace at a time (README, "Catching up with several aggregators").
const MEMBERS = Number(process.env.BENCH_INDICATORS_MEMBERS ?? 1)
// The memory figure is measured, not scaled: this many scored headlines (over MEMORY_SPAN_DAYS, the buzz
// baseline) applied straight to a fresh namespace through the store; 0 skips the phase.
const MEMORY_N = Number(process.env.BENCH_INDICATORS_MEMORY_HEADLINES ?? 1_000_000)
const MEMORY_SPAN_DAYS = 7
// The bench reads progress from the committed offsets, so they must follow the work closely: the
// worker's default (a commit a second) would round a measured phase of a few seconds to whole ticks.
const COMMIT_INTERVAL_MS = process.env.KAFKA_COMMIT_INTERVAL_MS ?? '20'

const infra = await startInfra()
const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', pretty: false })
const { texts, source } = loadHeadlineTexts(N + WARMUP)
process.stdout.write(
  `indicators bench: ${N} scored headlines (${source}) over ${SPAN_DAYS} days, ${PARTITIONS} partitions, ${MEMBERS} members, Kafka ${infra.kafkaBrokers} (${infra.source}), Redis ${infra.redisUrl}\n`,
)

/** The Reuters texts scored by the real scorer, published in order over `spanDays` (a minute of jitter). */
function scoredHeadlines(n = N, spanDays = SPAN_DAYS, from = 0, total = n): ScoredHeadline[] {
  const scorer = createScorer()
  const t0 = Date.UTC(2025, 0, 6)
  const stepMs = (spanDays * 86_400_000) / total
  const out: ScoredHeadline[] = []
  for (let i = from; i < from + n; i++) {
    const headline = texts[i % texts.length]!
    const at = new Date(t0 + Math.floor(i * stepMs + (((i * 7919) % 61) - 30) * 1_000)).toISOString()
    const r = scorer.score({ headline })
    out.push({
      id: `b-${i}`,
      source: 'bench',
      headline,
      publishedAt: at,
      ingestedAt: at,
      ...r,
      scoredAt: at,
    })
  }
  return out
}

/** Redis server CPU seconds (user + sys) from INFO cpu: how much of the wall time Redis itself spent. */
function redisCpuS(info: string): number {
  const user = Number(/^used_cpu_user:([\d.]+)/m.exec(info)?.[1] ?? 0)
  const sys = Number(/^used_cpu_sys:([\d.]+)/m.exec(info)?.[1] ?? 0)
  return user + sys
}

/** Total microseconds Redis spent in each command (scripts include the commands they call). */
function commandUsec(info: string): Map<string, number> {
  const usec = new Map<string, number>()
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=\d+,usec=(\d+)/gm)) usec.set(m[1]!, Number(m[2]))
  return usec
}

function commandCalls(info: string): Map<string, number> {
  const calls = new Map<string, number>()
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1]!, Number(m[2]))
  return calls
}

/** p-quantile from a prom-client histogram, interpolated linearly within its bucket. */
function histogramQuantile(buckets: { le: number; count: number }[], q: number): number {
  const total = buckets[buckets.length - 1]?.count ?? 0
  const rank = q * total
  let prevLe = 0
  let prevCount = 0
  for (const b of buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return prevLe
      return prevLe + ((rank - prevCount) / Math.max(1, b.count - prevCount)) * (b.le - prevLe)
    }
    prevLe = b.le
    prevCount = b.count
  }
  return prevLe
}

/**
 * Applies `n` scored headlines over a week straight to a fresh namespace (in event-time order, batches
 * of 2,000, as the aggregator would) and measures the namespace's Redis memory afterwards.
 */
async function memoryAfter(n: number): Promise<Record<string, number | string>> {
  const prefix = `${run}m`
  const store = createRedisIndicatorStore(redis, { prefix })
  const t0 = Date.now()
  const chunk = 20_000
  for (let from = 0; from < n; from += chunk) {
    const batch = scoredHeadlines(Math.min(chunk, n - from), MEMORY_SPAN_DAYS, from, n)
    for (let i = 0; i < batch.length; i += 2_000) {
      await store.applyBatch(batch.slice(i, i + 2_000).flatMap((h) => contributionsOf(h)))
    }
    if (from % 200_000 === 0) process.stdout.write(`memory phase: ${from} of ${n} applied\n`)
  }
  const m = await measureIndicatorMemory(redis, { prefix })
  return {
    memory_phase_headlines: n,
    memory_phase_span_days: MEMORY_SPAN_DAYS,
    memory_phase_s: round((Date.now() - t0) / 1_000, 1),
    redis_keys_after_million: m.keys,
    redis_bytes_per_million: Math.round((m.keyBytes / n) * 1e6),
  }
}

/** Scores N + WARMUP headlines and produces them to the scored topic; keeps nothing of them. */
async function preload(): Promise<void> {
  let t = Date.now()
  const headlines = scoredHeadlines(N + WARMUP, (SPAN_DAYS * (N + WARMUP)) / N)
  const scoreMs = Date.now() - t
  t = Date.now()
  for (let i = 0; i < headlines.length; i += 400) {
    await producer.send({
      topic: topics.scored.name,
      messages: headlines.slice(i, i + 400).map((h) => ({ key: h.id, value: JSON.stringify(h) })),
    })
  }
  const contributions = headlines.reduce(
    (n, h) =>
      n +
      1 +
      h.entities.regions.length +
      h.entities.commodities.length +
      h.entities.sectors.length +
      h.entities.companies.length,
    0,
  )
  process.stdout.write(
    `scored in ${scoreMs} ms, preloaded in ${Date.now() - t} ms (${round(contributions / headlines.length, 2)} scopes per headline)\n`,
  )
}

/** A full collection now (node's --expose-gc, switched on for this one call). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
}

const run = `bi${Date.now().toString(36)}`
const topics = createTopicCatalogue(`${run}.`)
const redis = new Redis(infra.redisUrl)
const producer = await testProducer(infra.kafkaBrokers)
const admin = testKafka(infra.kafkaBrokers).admin()
await admin.connect()
try {
  await createTopics(infra.kafkaBrokers, [
    { name: topics.scored.name, partitions: PARTITIONS },
    { name: topics.indicators.name, partitions: PARTITIONS },
    { name: topics.dlq.name, partitions: 1 },
  ])
  await preload()
  // The aggregator runs in this process: the preloaded headlines are garbage now, and are collected
  // before it starts, so its collections do not mark them on every major GC (a worker holds no such heap).
  collectGarbage()

  const groupId = `${run}.aggregator`
  const config = loadConfig(AggregatorConfig, {
    ...process.env,
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    REDIS_URL: infra.redisUrl,
    REDIS_KEY_PREFIX: run,
    TRADEPULSE_TOPIC_PREFIX: `${run}.`,
    KAFKA_GROUP_ID: groupId,
    HTTP_PORT: '0',
    TOPICS_AUTO_CREATE: 'false',
    KAFKA_COMMIT_INTERVAL_MS: COMMIT_INTERVAL_MS,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  })
  const apps = Array.from({ length: MEMBERS }, () => buildAggregatorApp(config, { log }))
  const app = apps[0]!
  const committed = async () => {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topics.scored.name] })
    return offsets?.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) ?? 0
  }
  let t = Date.now()
  await Promise.all(apps.map((a) => a.start()))
  let doneAtStart = await committed()
  while (doneAtStart < WARMUP) {
    if (Date.now() - t > 300_000)
      throw new Error(`warm-up: only ${doneAtStart} of ${WARMUP} committed after 300 s`)
    await new Promise((r) => setTimeout(r, 20))
    doneAtStart = await committed()
  }
  for (const a of apps) a.metrics.registry.resetMetrics()
  const statsBefore = await redis.info('commandstats')
  const before = commandCalls(statsBefore)
  const usecBefore = commandUsec(statsBefore)
  const cpuBefore = redisCpuS(await redis.info('cpu'))
  const usedBefore = Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1])
  // The longest single command of the measured phase (Redis runs one at a time: every other client
  // waits it out), from the slow log (commands over 10 ms by default).
  await redis.call('SLOWLOG', 'RESET')
  const profiler = await startProfiler()
  const ticksBefore = cpuTicks()
  const cpuStart = process.cpuUsage()
  t = Date.now()
  let done = doneAtStart
  while (done < WARMUP + N) {
    if (Date.now() - t > 300_000) throw new Error(`only ${done} of ${WARMUP + N} committed after 300 s`)
    await new Promise((r) => setTimeout(r, 20))
    done = await committed()
  }
  const elapsedS = (Date.now() - t) / 1_000
  // Commits follow handled batches within COMMIT_INTERVAL_MS, so the measured stretch starts and ends on batch edges.
  const measured = done - doneAtStart
  const cpu = process.cpuUsage(cpuStart)
  const machineShares = cpuShares(ticksBefore, cpuTicks())
  await profiler?.stop()
  const statsAfter = await redis.info('commandstats')
  const slowest = ((await redis.call('SLOWLOG', 'GET', '1000')) as [number, number, number][]).reduce(
    (max, entry) => Math.max(max, Number(entry[2])),
    0,
  )
  const after = commandCalls(statsAfter)
  const usecAfter = commandUsec(statsAfter)
  const redisCpuSpentS = redisCpuS(await redis.info('cpu')) - cpuBefore
  let scriptUsec = 0
  for (const cmd of ['evalsha', 'eval']) scriptUsec += (usecAfter.get(cmd) ?? 0) - (usecBefore.get(cmd) ?? 0)
  let calls = 0
  const byCommand: Record<string, number> = {}
  for (const [cmd, n] of after) {
    const d = n - (before.get(cmd) ?? 0)
    if (d > 0 && cmd !== 'info') {
      calls += d
      byCommand[cmd] = round(d / measured, 3)
    }
  }
  // The apply histogram is the first member's; the counters are the group's.
  const metrics = await app.metrics.registry.getMetricsAsJSON()
  const everyMember = (await Promise.all(apps.map((a) => a.metrics.registry.getMetricsAsJSON()))).flat()
  const hist = metrics.find((m) => m.name === 'tradepulse_indicator_apply_seconds')
  const buckets = (hist?.values ?? [])
    .filter((v) => (v as { metricName?: string }).metricName === 'tradepulse_indicator_apply_seconds_bucket')
    .map((v) => ({
      le: v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le),
      count: v.value,
    }))
  const applies = buckets[buckets.length - 1]?.count ?? 0
  const sumOf = (name: string) =>
    everyMember
      .filter((m) => m.name === name)
      .reduce((n, m) => n + m.values.reduce((k, v) => k + v.value, 0), 0)
  await Promise.all(apps.map((a) => a.stop()))
  const memory = await measureIndicatorMemory(redis, {
    prefix: run,
    namespace: config.AGGREGATOR_REDIS_NAMESPACE,
  })
  const usedAfter = Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1])

  const figures = {
    headlines: N,
    headlines_source: source,
    span_days: SPAN_DAYS,
    partitions: PARTITIONS,
    members: MEMBERS,
    max_batch: config.KAFKA_MAX_BATCH,
    part_size: config.AGGREGATOR_PART_SIZE,
    max_bytes_per_partition: config.KAFKA_MAX_BYTES_PER_PARTITION,
    commit_interval_ms: config.KAFKA_COMMIT_INTERVAL_MS,
    elapsed_s: round(elapsedS, 2),
    warmup_headlines: doneAtStart,
    headlines_measured: measured,
    headlines_per_s: round(measured / elapsedS),
    contributions_applied: sumOf('tradepulse_indicator_applied_total'),
    contributions_late: sumOf('tradepulse_indicator_late_total'),
    contributions_duplicate: sumOf('tradepulse_indicator_duplicates_total'),
    apply_calls: applies,
    p99_ms: round(histogramQuantile(buckets, 0.99) * 1_000, 2),
    p50_ms: round(histogramQuantile(buckets, 0.5) * 1_000, 2),
    redis_cmds_per_headline: round(calls / measured, 2),
    redis_cpu_s: round(redisCpuSpentS, 2),
    // The bench process hosts the aggregator app; its own share (a poll every 50 ms) is negligible.
    aggregator_cpu_s: round((cpu.user + cpu.system) / 1e6, 2),
    aggregator_cpu_us_per_headline: round((cpu.user + cpu.system) / measured, 1),
    redis_cpu_us_per_headline: round((redisCpuSpentS * 1e6) / measured, 1),
    redis_script_s: round(scriptUsec / 1e6, 2),
    redis_slowest_command_ms: round(slowest / 1_000, 1),
    redis_cmds_by_command_per_headline: byCommand,
    redis_keys: memory.keys,
    redis_key_bytes: memory.keyBytes,
    redis_bytes_by_type: memory.bytesByType,
    redis_used_memory_delta_bytes: usedAfter - usedBefore,
    redis_bytes_per_million: Math.round((memory.keyBytes / done) * 1e6),
    note_memory: `redis_bytes_per_million: key bytes after ${done} headlines scaled linearly, unless the measured phase below ran (then it is the measured figure)`,
    updates_published: sumOf('tradepulse_indicator_updates_total'),
    ...machineShares,
    goal: 'headlines_per_s >= 20000',
  }
  if (MEMORY_N > 0) Object.assign(figures, await memoryAfter(MEMORY_N))
  console.table(Object.fromEntries(Object.entries(figures).filter(([, v]) => typeof v !== 'object')))
  process.stdout.write(`redis commands per headline by command: ${JSON.stringify(byCommand)}\n`)
  process.stdout.write(`wrote ${writeResult('indicators', figures)}\n`)
} finally {
  await admin.disconnect()
  await producer.disconnect()
  await redis.quit()
  await cleanUpRun(infra, run)
  await infra.stop()
}
process.exit(0)

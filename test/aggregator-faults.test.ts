import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AggregatorConfig, buildAggregatorApp, indicatorOverrides } from '@tradepulse/aggregator'
import {
  applyInOrder,
  compareStores,
  groupProgress,
  HOUR_MS,
  MIN_MS,
  produceScored,
  scoredSeries,
  targetsOf,
} from '@tradepulse/aggregator/fixtures'
import { createTopicCatalogue, IndicatorUpdate, listTopics, type ScoredHeadline } from '@tradepulse/contracts'
import { createCapturingLogger, createRedisIndicatorStore, loadConfig } from '@tradepulse/platform'
import {
  collectTopic,
  createTopics,
  freePort,
  randomName,
  spawnWorker,
  testInfra,
  testProducer,
  type WorkerProcess,
  waitFor,
} from '@tradepulse/testing'
import { Redis } from 'ioredis'
import type { Producer } from 'kafkajs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

const AGGREGATOR_MAIN = 'services/aggregator/src/main.ts'
const T0 = Date.UTC(2025, 5, 2, 8)
const SPAN_MS = 3 * HOUR_MS
// The aggregator's own grace (10 min): three partitions consumed at their own pace, caught up after
// each fault with event-time alignment, must apply exactly the set of a clean in-order run. The
// series runs through 3 h of event time in seconds, so a step of the stream covers minutes: 100
// headlines a step keeps it to 4.5-6 min, within the grace when one partition lags a fetch behind.
const GRACE_MS = loadConfig(AggregatorConfig, {}).AGGREGATOR_GRACE_MS
const STEP = 100

/**
 * A redis-server that keeps its data across a kill and a restart on the same port, as a production
 * Redis with an append-only file does. (startLocalRedis runs without persistence and deletes its
 * directory on stop, so a restart there would be a wipe, which is the rebuild test's subject.)
 */
async function startPersistentRedis(
  port: number,
  dir: string,
): Promise<{ url: string; kill(): Promise<void> }> {
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  )
  const url = `redis://127.0.0.1:${port}`
  await waitFor(
    async () => {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      probe.on('error', () => {})
      try {
        await probe.connect()
        return (await probe.ping()) === 'PONG'
      } finally {
        probe.disconnect()
      }
    },
    { what: `redis-server on ${port}`, timeoutMs: 15_000 },
  )
  return {
    url,
    kill: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGKILL')
      await exited
    },
  }
}

describe('aggregator under faults: Redis down, SIGKILL', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  let prefix: string
  let keyPrefix: string
  let producer: Producer
  let cleanups: (() => Promise<unknown>)[]

  beforeEach(async () => {
    prefix = `${randomName('aggf')}.`
    keyPrefix = prefix.replace(/\W/g, '_')
    cleanups = []
    const topics = createTopicCatalogue(prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name, partitions: t.name === topics.dlq.name ? 1 : 3 })),
    )
    producer = await testProducer(kafkaBrokers)
    cleanups.push(() => producer.disconnect())
  })
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {})
  })

  const env = (redis: string) => ({
    KAFKA_BROKERS: kafkaBrokers.join(','),
    REDIS_URL: redis,
    REDIS_KEY_PREFIX: keyPrefix,
    TRADEPULSE_TOPIC_PREFIX: prefix,
    KAFKA_GROUP_ID: `${prefix}aggregator`,
    HTTP_PORT: '0',
    TOPICS_AUTO_CREATE: 'false',
    KAFKA_SESSION_TIMEOUT_MS: '3000',
    KAFKA_HEARTBEAT_INTERVAL_MS: '300',
    KAFKA_MAX_BATCH: '50',
    // Commits follow progress closely, so that the kills below land mid-run (the default is 1 s).
    KAFKA_COMMIT_INTERVAL_MS: '100',
    RETRY_BASE_MS: '50',
    RETRY_MAX_MS: '500',
    LOG_LEVEL: 'info',
  })
  const progress = () =>
    groupProgress(kafkaBrokers, `${prefix}aggregator`, createTopicCatalogue(prefix).scored.name)

  async function cleanRun(redis: Redis, headlines: readonly ScoredHeadline[]) {
    const ref = createRedisIndicatorStore(redis, {
      prefix: `${keyPrefix}ref`,
      config: indicatorOverrides({ AGGREGATOR_GRACE_MS: GRACE_MS }),
    })
    expect(await applyInOrder(ref, headlines)).toMatchObject({ late: 0, duplicates: 0 })
    return ref
  }

  /** The workers' indicators on the shared Redis equal a clean in-order run of `series`. */
  async function expectCleanRunValues(series: readonly ScoredHeadline[]) {
    const redis = new Redis(redisUrl)
    cleanups.push(async () => {
      const keys = await redis.keys(`${keyPrefix}*`)
      if (keys.length) await redis.unlink(...keys)
      await redis.quit()
    })
    const store = createRedisIndicatorStore(redis, {
      prefix: keyPrefix,
      config: indicatorOverrides({ AGGREGATOR_GRACE_MS: GRACE_MS }),
    })
    const ref = await cleanRun(redis, series)
    expect(await compareStores(ref, store, targetsOf(series), T0 + SPAN_MS)).toEqual([])
  }

  /** Produces the series in steps, so the worker is mid-run whenever the test strikes. */
  function stream(headlines: readonly ScoredHeadline[], stepMs: number): Promise<void> {
    const topic = createTopicCatalogue(prefix).scored.name
    return (async () => {
      for (let i = 0; i < headlines.length; i += STEP) {
        await produceScored(producer, topic, headlines.slice(i, i + STEP))
        await new Promise((r) => setTimeout(r, stepMs))
      }
    })()
  }

  it('pauses while redis-server is down, commits nothing, then resumes: final indicators equal a clean run', async () => {
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'tp-agg-redis-'))
    let server = await startPersistentRedis(port, dir)
    cleanups.push(async () => {
      await server.kill()
      rmSync(dir, { recursive: true, force: true })
    })
    const config = loadConfig(AggregatorConfig, env(server.url))
    const { log, lines } = createCapturingLogger<{ msg: string; partition?: number }>('warn')
    const app = buildAggregatorApp(config, { log })
    cleanups.push(() => app.stop())
    await app.start()

    const series = scoredSeries(3_000, { startMs: T0, spanMs: SPAN_MS, seed: 31 })
    const producing = stream(series, 50)
    await waitFor(async () => (await progress()).committed >= 600, {
      what: '600 committed',
      timeoutMs: 60_000,
    })
    await server.kill()

    // Down: the worker retries the same batches and commits nothing.
    await waitFor(async () => (await app.health()).status !== 'ok', { what: 'health degraded' })
    await waitFor(
      async () =>
        /code="INFRA_REDIS"[^\n]* [1-9]/.test(
          await app.metrics.registry.getSingleMetricAsString('tradepulse_infra_retries_total'),
        ),
      { what: 'batches retried on INFRA_REDIS' },
    )
    const whileDown = (await progress()).committed
    // Each partition held on a batch retries it twice more: attempts failing while commits tick (every
    // 100 ms), any of which a runner committing a batch it retries would have committed by then. (The
    // retries after a partition's first are counted, not logged one by one: the metric counts them.)
    const held = new Set(
      lines
        .filter((l) => l.msg === 'infrastructure fault; retrying the batch, consumption paused')
        .map((l) => l.partition),
    )
    const retried = async () =>
      (await app.metrics.registry.getMetricsAsJSON())
        .find((m) => m.name === 'tradepulse_infra_retries_total')
        ?.values.reduce((sum, v) => sum + Number(v.value), 0) ?? 0
    const mark = await retried()
    await waitFor(async () => held.size > 0 && (await retried()) >= mark + 2 * held.size, {
      what: 'every partition held on a batch retrying it twice more',
    })
    const p = await progress()
    expect(p.committed).toBe(whileDown)
    expect(p.committed).toBeLessThan(series.length)

    server = await startPersistentRedis(port, dir)
    await producing
    await waitFor(async () => (await progress()).atEnd, {
      what: 'all committed after Redis is back',
      timeoutMs: 60_000,
    })
    await waitFor(async () => (await app.health()).status === 'ok', { what: 'health ok again' })

    const redis = new Redis(server.url)
    cleanups.push(() => redis.quit())
    const store = createRedisIndicatorStore(redis, { prefix: keyPrefix, config: indicatorOverrides(config) })
    const ref = await cleanRun(redis, series)
    expect(await compareStores(ref, store, targetsOf(series), T0 + SPAN_MS)).toEqual([])
  })

  it('loses and doubles nothing when the process is killed with SIGKILL mid-run and restarted', async () => {
    const workers: WorkerProcess[] = []
    cleanups.push(async () => {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL')
    })
    const start = () => {
      const w = spawnWorker(AGGREGATOR_MAIN, env(redisUrl))
      workers.push(w)
      return w
    }
    const series = scoredSeries(4_000, { startMs: T0, spanMs: SPAN_MS, seed: 41 })
    let worker = start()
    await waitFor(() => worker.output().includes('aggregator started'), {
      what: 'worker started',
      timeoutMs: 60_000,
    })
    const producing = stream(series, 125)
    for (const cut of [800, 2_000]) {
      await waitFor(async () => (await progress()).committed >= cut, {
        what: `${cut} committed`,
        timeoutMs: 60_000,
      })
      worker.child.kill('SIGKILL')
      expect((await worker.exited).signal).toBe('SIGKILL')
      const p = await progress()
      expect(p.committed, 'killed before the end').toBeLessThan(series.length)
      worker = start()
    }
    await producing
    await waitFor(async () => (await progress()).atEnd, {
      what: 'all committed after restarts',
      timeoutMs: 90_000,
    })

    await expectCleanRunValues(series)
    worker.child.kill('SIGTERM')
    expect((await worker.exited).code).toBe(0)
  })
  it("counts a SIGKILLed aggregator's redelivered headlines as duplicates, not late, past the hour of remembered ids", async () => {
    const workers: WorkerProcess[] = []
    cleanups.push(async () => {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL')
    })
    const start = async () => {
      const port = await freePort()
      // Nothing committed before the kill: all three hours come again.
      const w = spawnWorker(AGGREGATOR_MAIN, {
        ...env(redisUrl),
        HTTP_PORT: String(port),
        KAFKA_COMMIT_INTERVAL_MS: '600000',
      })
      workers.push(w)
      const counts = async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
        const sum = (name: string) => {
          let n = 0
          for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm')))
            n += Number(m[1])
          return n
        }
        return {
          applied: sum('tradepulse_indicator_applied_total'),
          duplicates: sum('tradepulse_indicator_duplicates_total'),
          late: sum('tradepulse_indicator_late_total'),
        }
      }
      return { w, counts }
    }
    const series = scoredSeries(1_500, { startMs: T0, spanMs: SPAN_MS, seed: 47 })
    const redis = new Redis(redisUrl)
    cleanups.push(async () => {
      const keys = await redis.keys(`${keyPrefix}*`)
      if (keys.length) await redis.unlink(...keys)
      await redis.quit()
    })
    const config = indicatorOverrides({ AGGREGATOR_GRACE_MS: GRACE_MS })
    const ref = createRedisIndicatorStore(redis, {
      prefix: `${keyPrefix}ref`,
      config,
    })
    const { applied: contributions } = await applyInOrder(ref, series)
    await produceScored(producer, createTopicCatalogue(prefix).scored.name, series)

    /** Waits until a worker has counted every contribution, whichever way. */
    const allCounted = (worker: Awaited<ReturnType<typeof start>>, what: string) =>
      waitFor(
        async () => {
          const c = await worker.counts()
          return c.applied + c.duplicates + c.late === contributions
        },
        { what, timeoutMs: 60_000 },
      )

    const first = await start()
    await allCounted(first, 'every contribution applied')
    expect(await first.counts()).toEqual({ applied: contributions, duplicates: 0, late: 0 })
    // The ranges are recorded a round trip after the counters move: kill only once they cover every
    // record (ranges from offset 0, "<from> <to> <newest ts>" per partition), or the last batch would be
    // judged as before the fix.
    await waitFor(
      async () => {
        const [key] = await redis.keys(`${keyPrefix}:applied:*`)
        const ranges = key ? Object.values(await redis.hgetall(key)) : []
        return ranges.reduce((n, r) => n + Number(r.split(' ')[1]) + 1, 0) === series.length
      },
      { what: 'the applied ranges to cover every record' },
    )
    expect((await progress()).committed).toBe(0)
    first.w.child.kill('SIGKILL')
    expect((await first.w.exited).signal).toBe('SIGKILL')

    const second = await start()
    await allCounted(second, 'every contribution given again')
    expect(await second.counts()).toEqual({ applied: 0, duplicates: contributions, late: 0 })
    second.w.child.kill('SIGTERM')
    expect((await second.w.exited).code).toBe(0)
    expect((await progress()).atEnd).toBe(true)
    const store = createRedisIndicatorStore(redis, { prefix: keyPrefix, config })
    expect(await compareStores(ref, store, targetsOf(series), T0 + SPAN_MS)).toEqual([])
  })
  it('publishes, after a restart, an update the throttle held back when the aggregator was SIGKILLed past its commit', async () => {
    const workers: WorkerProcess[] = []
    cleanups.push(async () => {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL')
    })
    const topics = createTopicCatalogue(prefix)
    const updates = await collectTopic(kafkaBrokers, topics.indicators.name)
    cleanups.push(updates.stop)
    const redis = new Redis(redisUrl)
    cleanups.push(async () => {
      const keys = await redis.keys(`${keyPrefix}*`)
      if (keys.length) await redis.unlink(...keys)
      await redis.quit()
    })
    const store = createRedisIndicatorStore(redis, {
      prefix: keyPrefix,
      config: indicatorOverrides({ AGGREGATOR_GRACE_MS: GRACE_MS }),
    })
    /** The global market indicator's updates on the topic (every headline touches it). */
    const market = () =>
      updates.messages
        .filter((m) => m.key === 'market|global:all')
        .map((m) => IndicatorUpdate.parse(JSON.parse(m.value!.toString())))
    const series = scoredSeries(20, { startMs: T0, spanMs: 10 * MIN_MS, seed: 53 })
    // The first run: a batch's keys go out at once, the next batch's within the interval (ten minutes
    // here, so its trailing edge never comes first) are held back. Commits every 100 ms.
    const first = spawnWorker(AGGREGATOR_MAIN, {
      ...env(redisUrl),
      AGGREGATOR_PUBLISH_INTERVAL_MS: '600000',
      AGGREGATOR_PUBLISH_LARGE_CHANGE: '2',
      AGGREGATOR_PUBLISH_BURST_FACTOR: '0',
    })
    workers.push(first)
    await waitFor(() => first.output().includes('aggregator started'), {
      what: 'worker started',
      timeoutMs: 60_000,
    })
    const toOne = { partitionOf: () => 0 }
    await produceScored(producer, topics.scored.name, series.slice(0, 10), toOne)
    await waitFor(async () => market().length > 0 && (await progress()).atEnd, {
      what: 'the first update',
      timeoutMs: 30_000,
    })
    await produceScored(producer, topics.scored.name, series.slice(10), toOne)
    await waitFor(async () => (await progress()).atEnd, {
      what: 'the second batch committed',
      timeoutMs: 30_000,
    })
    // Held back: in Redis, not on the topic.
    expect(market().every((u) => u.count < 20)).toBe(true)
    first.child.kill('SIGKILL')
    expect((await first.exited).signal).toBe('SIGKILL')
    const held = await store.get('market', { kind: 'global', id: 'all' }, T0)
    expect(held?.count).toBe(20)

    // Restarted: nothing is redelivered (all committed), yet the held-back update goes out, read from
    // Redis, once its mark is a few intervals old.
    const second = spawnWorker(AGGREGATOR_MAIN, { ...env(redisUrl), AGGREGATOR_PUBLISH_RECOVER_MS: '1000' })
    workers.push(second)
    await waitFor(async () => market().some((u) => u.count === 20), {
      what: 'the held-back update published after the restart',
      timeoutMs: 30_000,
    })
    const recovered = market().find((u) => u.count === 20)!
    const now = await store.get('market', { kind: 'global', id: 'all' }, Date.parse(recovered.asOf))
    // With the entry time of the newest headline held back, as the killed member would have sent it.
    expect({ ...recovered, updatedAt: undefined }).toEqual({
      ...now,
      updatedAt: undefined,
      ingestedAt: series
        .slice(10)
        .map((h) => h.ingestedAt)
        .sort()
        .at(-1),
    })
    await waitFor(async () => (await redis.zcard(`${keyPrefix}:dirty:{${prefix}aggregator}`)) === 0, {
      what: 'no dirty mark left',
    })
    second.child.kill('SIGTERM')
    expect((await second.exited).code).toBe(0)
  })

  it('loses nothing when one of two members catching up a backlog is killed with SIGKILL', async () => {
    const workers: WorkerProcess[] = []
    cleanups.push(async () => {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL')
    })
    // A backlog on the three partitions, partition 0 ten times sparser than the others, so the
    // members' points hold each other back all along; whole fetches in one chunk (the default).
    const series = scoredSeries(6_000, { startMs: T0, spanMs: SPAN_MS, seed: 43 })
    await produceScored(producer, createTopicCatalogue(prefix).scored.name, series, {
      perRequest: 300,
      partitionOf: (n) => (n % 19 === 0 ? 0 : 1 + (n % 2)),
    })
    const memberEnv = {
      ...env(redisUrl),
      KAFKA_MAX_BATCH: '100000',
      KAFKA_MAX_BYTES_PER_PARTITION: String(64 * 1024),
    }
    const start = () => {
      const w = spawnWorker(AGGREGATOR_MAIN, memberEnv)
      workers.push(w)
      return w
    }
    const [first, second] = [start(), start()]
    await waitFor(async () => (await progress()).committed >= 1_500, {
      what: '1,500 committed by the two members',
      timeoutMs: 60_000,
    })
    second!.child.kill('SIGKILL')
    expect((await second!.exited).signal).toBe('SIGKILL')
    expect((await progress()).committed, 'killed before the end').toBeLessThan(series.length)
    // The survivor takes the dead member's partitions at the rebalance, a session timeout on.
    await waitFor(async () => (await progress()).atEnd, {
      what: 'all committed by the survivor',
      timeoutMs: 90_000,
    })
    expect(first!.output()).toContain('aggregator started')

    await expectCleanRunValues(series)
    first!.child.kill('SIGTERM')
    expect((await first!.exited).code).toBe(0)
  })
})

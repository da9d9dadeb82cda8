import { execFile, spawn } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { AggregatorConfig, buildAggregatorApp, indicatorStoreOptions } from '@tradepulse/aggregator'
import {
  aheadOfClockStream,
  applyInOrder,
  compareStores,
  groupProgress,
  HOUR_MS,
  MIN_MS,
  produceScored,
  scoredSeries,
  targetsOf,
} from '@tradepulse/aggregator/fixtures'
import { createTopicCatalogue, listTopics } from '@tradepulse/contracts'
import { createIndicatorKeys } from '@tradepulse/indicators'
import {
  activeIndicatorStore,
  createLogger,
  createRedisIndicatorStore,
  loadConfig,
} from '@tradepulse/platform'
import { createTopics, randomName, testInfra, testKafka, testProducer, waitFor } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const MAIN = join(import.meta.dirname, '..', 'main.ts')

describe('tradepulse indicators on Kafka and Redis', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  /** The CLI's environment on the test Kafka and Redis, under a topic prefix and a key prefix of its own. */
  const cliEnv = (prefix: string, keyPrefix: string, more: Record<string, string> = {}) => ({
    ...process.env,
    KAFKA_BROKERS: kafkaBrokers.join(','),
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: keyPrefix,
    TRADEPULSE_TOPIC_PREFIX: prefix,
    ...more,
  })
  const produce = async (topic: string, headlines: Parameters<typeof produceScored>[2]) => {
    const producer = await testProducer(kafkaBrokers)
    try {
      await produceScored(producer, topic, headlines)
    } finally {
      await producer.disconnect()
    }
  }

  it('rebuilds the indicators from headlines.scored, then prints the top regions from Redis', async () => {
    const prefix = `${randomName('cli-ind')}.`
    const topic = createTopicCatalogue(prefix).scored.name
    await createTopics(kafkaBrokers, [{ name: topic }])
    const start = Date.parse('2026-03-02T00:00:00Z')
    await produce(topic, scoredSeries(200, { startMs: start, spanMs: 6 * HOUR_MS }))
    const env = cliEnv(prefix, prefix.replaceAll('.', '_'))
    const rebuilt = await run(process.execPath, [MAIN, 'indicators', 'rebuild', '--since', '1h'], { env })
    expect(rebuilt.stdout).toMatch(/^rebuilt 200 headlines \(200 records, 0 invalid\)/)
    // Its own output only: the warning of a short --since and its progress, no log line ("rebuild:
    // replaying", "rebuild: done" and kafkajs's were written as JSON on stderr at the default LOG_LEVEL).
    for (const line of rebuilt.stderr.trimEnd().split('\n'))
      expect(line, rebuilt.stderr).toMatch(
        /^(tradepulse: warning: --since 1h is shorter|(replay|catch-up|final): \d+ records)/,
      )
    const asOf = new Date(start + 6 * HOUR_MS).toISOString()
    const shown = await run(
      process.execPath,
      [
        MAIN,
        'indicators',
        '--dimension',
        'tariff',
        '--scope-kind',
        'region',
        '--by',
        'buzz',
        '--as-of',
        asOf,
      ],
      { env },
    )
    const [title, header, ...rows] = shown.stdout.trim().split('\n')
    expect(title).toMatch(new RegExp(`^tariff by region, top 10 by buzz, as of ${asOf} \\(namespace `))
    expect(header).toMatch(/^scope\s+mean 15m\s+mean 1h\s+mean 24h\s+momentum\s+buzz/)
    // The fixture's regions, each with a count.
    expect(rows.map((r) => r.split(/\s+/)[0]).sort()).toEqual(['CN', 'DE', 'JP', 'MX', 'US'])
  })

  it("reads at the aggregator's event time by default, so a replay of 2020 news shows its values", async () => {
    const env = { ...process.env, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: randomName('cli-ind-asof') }
    // What the aggregator leaves after a replay of 2020 headlines: their indicators and its watermark.
    const headlines = scoredSeries(200, { startMs: Date.parse('2020-07-17T12:00:00Z'), spanMs: 6 * HOUR_MS })
    const newest = headlines.at(-1)!.publishedAt
    const redis = new Redis(redisUrl)
    try {
      const store = createRedisIndicatorStore(redis, indicatorStoreOptions(loadConfig(AggregatorConfig, env)))
      await applyInOrder(store, headlines)
      await store.advanceWatermark(Date.parse(newest))
    } finally {
      redis.disconnect()
    }
    const show = async (...args: string[]) => {
      const { stdout } = await run(process.execPath, [MAIN, 'indicators', '--by', 'buzz', ...args], { env })
      const [title, header, ...rows] = stdout.trim().split('\n')
      const cells = header!.trim().split(/\s{2,}/)
      const column = (name: string) => rows.map((r) => Number(r.trim().split(/\s+/)[cells.indexOf(name)]))
      return { title, regions: rows.map((r) => r.split(/\s+/)[0]).sort(), column }
    }

    const latest = await show()
    expect(latest.title).toMatch(
      new RegExp(
        `^tariff by region, top 10 by buzz, as of ${newest} \\(latest: the aggregator's event time; namespace `,
      ),
    )
    expect(latest.regions).toEqual(['CN', 'DE', 'JP', 'MX', 'US'])
    expect(latest.column('vol 24h').every((v) => v > 0)).toBe(true)
    expect(latest.column('mean 24h').some((v) => v !== 0)).toBe(true)

    // Before the aggregator's event time: refused, naming it (the title would say a time the values are not of).
    const early = await run(process.execPath, [MAIN, 'indicators', '--as-of', '2020-07-17T12:00:00Z'], {
      env,
    }).catch((e: { code: number; stderr: string }) => e)
    expect(early).toMatchObject({ code: 78 })
    // In the line every bad option value gets.
    expect((early as { stderr: string }).stderr).toBe(
      `tradepulse: indicators: option '--as-of <time>' argument '2020-07-17T12:00:00Z' is invalid. 2020-07-17T12:00:00.000Z is before ${newest}, the earliest time these indicators can be read at (each is kept as of its newest headline, not as a history). (see tradepulse indicators --help)\n`,
    )
    // From it on, at the time given, which the title says.
    const later = new Date(Date.parse(newest) + HOUR_MS).toISOString()
    const atLater = await show('--as-of', later)
    expect(atLater.title).toMatch(
      new RegExp(`^tariff by region, top 10 by buzz, as of ${later} \\(namespace `),
    )

    // At the wall clock, years on, the same indicators have decayed to nothing.
    const now = await show('--as-of', 'now')
    expect(now.title).toMatch(/, as of \d{4}-\S+ \(now; namespace /)
    expect(now.column('vol 24h').every((v) => v === 0)).toBe(true)
    expect(now.column('mean 24h').every((v) => v === 0)).toBe(true)
  })

  it('leaves out of its table an indicator whose stored newest event time is damaged, and says so on stderr', async () => {
    const keyPrefix = randomName('cli-ind-damaged')
    const env = { ...process.env, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: keyPrefix }
    const headlines = scoredSeries(200, { startMs: Date.parse('2020-07-17T12:00:00Z'), spanMs: 6 * HOUR_MS })
    const redis = new Redis(redisUrl)
    try {
      const store = createRedisIndicatorStore(redis, indicatorStoreOptions(loadConfig(AggregatorConfig, env)))
      await applyInOrder(store, headlines)
      await store.advanceWatermark(Date.parse(headlines.at(-1)!.publishedAt))
      // A ref no apply could have written (the year 9999): before, CN was ranked with asOf 9999-12-31.
      const year9999 = String(Date.UTC(9999, 11, 31, 23, 59))
      await redis.hset(
        createIndicatorKeys(keyPrefix, store.namespace).state('tariff', { kind: 'region', id: 'CN' }),
        'ref',
        year9999,
      )
      const { stdout, stderr } = await run(process.execPath, [MAIN, 'indicators', '--by', 'buzz'], { env })
      const rows = stdout.trim().split('\n').slice(2)
      expect(rows.map((r) => r.split(/\s+/)[0]).sort()).toEqual(['DE', 'JP', 'MX', 'US'])
      expect(stderr).toBe(
        `tradepulse: warning: left out 1 indicator whose stored newest event time is damaged: tariff|region:CN (stored "${year9999}"); the aggregator's next apply to it repairs it\n`,
      )
    } finally {
      redis.disconnect()
    }
  })

  it('leaves out of its table an indicator whose stored state breaks the IndicatorUpdate contract (a field not a number), ranking its top among the others, and says so on stderr with the reason and the field', async () => {
    const keyPrefix = randomName('cli-ind-invalid')
    const env = { ...process.env, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: keyPrefix }
    const headlines = scoredSeries(200, { startMs: Date.parse('2020-07-17T12:00:00Z'), spanMs: 6 * HOUR_MS })
    const redis = new Redis(redisUrl)
    try {
      const store = createRedisIndicatorStore(redis, indicatorStoreOptions(loadConfig(AggregatorConfig, env)))
      await applyInOrder(store, headlines)
      await store.advanceWatermark(Date.parse(headlines.at(-1)!.publishedAt))
      const top = async (n: number) =>
        (await store.top('tariff', 'region', 'buzz', n, Date.parse(headlines.at(-1)!.publishedAt))).map(
          (u) => u.scope.id,
        )
      const [first, ...rest] = await top(5)
      // The first of the ranking, its count no number: before, it was ranked first with count NaN.
      await redis.hset(
        createIndicatorKeys(keyPrefix, store.namespace).state('tariff', { kind: 'region', id: first! }),
        'cnt',
        'abc',
      )
      const { stdout, stderr } = await run(
        process.execPath,
        [MAIN, 'indicators', '--by', 'buzz', '--top', String(rest.length)],
        { env },
      )
      const rows = stdout.trim().split('\n').slice(2)
      expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(rest)
      expect(stderr).toBe(
        `tradepulse: warning: left out 1 indicator whose stored state breaks the IndicatorUpdate contract (a field that is not a number: Redis edited or damaged): tariff|region:${first} (count: Invalid input: expected number, received NaN); left out until the field is written again or the key expires (tradepulse indicators rebuild rewrites every key from Kafka)\n`,
      )
    } finally {
      redis.disconnect()
    }
  })

  it('rebuilds what the live worker holds under the same AGGREGATOR_MAX_AHEAD_MS, a headline stamped minutes ahead of the clock included', async () => {
    const prefix = `${randomName('cli-ahead')}.`
    const topics = createTopicCatalogue(prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name, partitions: 1 })),
    )
    const liveKeys = prefix.replace(/\W/g, '_')
    const rebuiltKeys = `${liveKeys}rebuilt`
    // One environment for both, but for their Redis keys: the bound at ten minutes, not the default 30 s.
    const env = (keyPrefix: string) =>
      cliEnv(prefix, keyPrefix, {
        KAFKA_GROUP_ID: `${prefix}aggregator`,
        HTTP_PORT: '0',
        TOPICS_AUTO_CREATE: 'false',
        AGGREGATOR_MAX_AHEAD_MS: String(10 * MIN_MS),
      })
    // The reviewer's stream (aheadOfClockStream): another feed's headline stamped six minutes ahead,
    // within the ten minutes, so the watermark follows it, live.
    const { headlines } = aheadOfClockStream(prefix)

    const redis = new Redis(redisUrl)
    const liveConfig = loadConfig(AggregatorConfig, env(liveKeys))
    const app = buildAggregatorApp(liveConfig, { log: createLogger({ level: 'silent' }) })
    try {
      await app.start()
      await app.runner.joined()
      await produce(topics.scored.name, headlines)
      const live = await activeIndicatorStore(
        createRedisIndicatorStore(redis, indicatorStoreOptions(liveConfig)),
      )
      await waitFor(
        async () =>
          (await groupProgress(kafkaBrokers, `${prefix}aggregator`, topics.scored.name)).atEnd &&
          (await live.watermark()) === Date.parse(headlines[11]!.publishedAt),
        { what: "the live worker's watermark at the skewed headline" },
      )
      await app.stop()

      await run(process.execPath, [MAIN, 'indicators', 'rebuild', '--since', '1h'], {
        env: env(rebuiltKeys),
      })
      const rebuilt = await activeIndicatorStore(
        createRedisIndicatorStore(
          redis,
          indicatorStoreOptions(loadConfig(AggregatorConfig, env(rebuiltKeys))),
        ),
      )
      // The same event time as the live worker's (it was the clock plus 30 s whatever the setting), so
      // the same readings at asOf=latest: as of the skewed headline, the CN 15 min window holds two
      // headlines and the hour eleven (three and twelve at the clock plus 30 s).
      const watermark = await rebuilt.watermark()
      expect(watermark).toBe(Date.parse(headlines[11]!.publishedAt))
      expect(await compareStores(live, rebuilt, targetsOf(headlines), watermark!)).toEqual([])
      const china = await rebuilt.get('tariff', { kind: 'region', id: 'CN' }, watermark!)
      expect(china?.volume).toMatchObject({ '15m': 2, '1h': 11 })
    } finally {
      await app.stop().catch(() => {})
      for (const p of [liveKeys, rebuiltKeys]) {
        const keys = await redis.keys(`${p}*`)
        if (keys.length) await redis.unlink(...keys)
      }
      await redis.quit()
    }
  })

  it("rebuilds by default what the live path holds, buzz included: the 7-day baseline's week and more", async () => {
    const prefix = `${randomName('cli-since')}.`
    const topic = createTopicCatalogue(prefix).scored.name
    await createTopics(kafkaBrokers, [{ name: topic, partitions: 1 }])
    const keyPrefix = prefix.replace(/\W/g, '_')
    const end = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - MIN_MS
    // Seven and a half days of headlines, each appended at its own time (as live), denser on the first day.
    const start = end - 7.5 * 24 * HOUR_MS
    const headlines = [
      ...scoredSeries(600, { startMs: start, spanMs: 24 * HOUR_MS, idPrefix: `${prefix}a`, seed: 3 }),
      ...scoredSeries(900, {
        startMs: start + 24 * HOUR_MS,
        spanMs: end - start - 24 * HOUR_MS,
        idPrefix: `${prefix}b`,
        seed: 4,
      }),
    ]
    const producer = await testProducer(kafkaBrokers)
    try {
      for (let i = 0; i < headlines.length; i += 500)
        await producer.send({
          topic,
          messages: headlines.slice(i, i + 500).map((h) => ({
            key: h.id,
            value: JSON.stringify(h),
            timestamp: String(Date.parse(h.publishedAt)),
          })),
        })
    } finally {
      await producer.disconnect()
    }
    const env = cliEnv(prefix, keyPrefix)
    const redis = new Redis(redisUrl)
    try {
      const config = loadConfig(AggregatorConfig, env)
      // The live path: every headline, in order, one at a time.
      const live = createRedisIndicatorStore(redis, {
        ...indicatorStoreOptions(config),
        prefix: `${keyPrefix}live`,
      })
      expect((await applyInOrder(live, headlines, 1)).late).toBe(0)
      const rebuilt = await run(process.execPath, [MAIN, 'indicators', 'rebuild'], { env })
      expect(rebuilt.stdout).toMatch(/^rebuilt 1500 headlines \(1500 records, 0 invalid\)/)
      expect(rebuilt.stderr).not.toMatch(/warning/)
      const store = await activeIndicatorStore(
        createRedisIndicatorStore(redis, indicatorStoreOptions(config)),
      )
      expect(await compareStores(live, store, targetsOf(headlines), end)).toEqual([])
      // A week only is warned of, and its buzz is not the live one.
      const week = await run(process.execPath, [MAIN, 'indicators', 'rebuild', '--since', '7d'], { env })
      expect(week.stderr).toContain(
        'tradepulse: warning: --since 7d is shorter than the indicators reach back (7d 3h 10m',
      )
      const short = await activeIndicatorStore(
        createRedisIndicatorStore(redis, indicatorStoreOptions(config)),
      )
      const global = { kind: 'global', id: 'all' } as const
      expect((await short.get('market', global, end))?.buzz).not.toBe(
        (await live.get('market', global, end))?.buzz,
      )
    } finally {
      const keys = await redis.keys(`${keyPrefix}*`)
      if (keys.length) await redis.unlink(...keys)
      await redis.quit()
    }
  })

  it('rebuild stopped by SIGINT mid-replay deletes its namespace and consumer group, leaves the live indicators as they were, says so in one line and exits 130', async () => {
    // Ctrl-C killed it: its namespace stayed in Redis for a week (the indicators' TTL), a second copy of
    // the indicators, and its throwaway group on Kafka.
    const prefix = `${randomName('cli-stop')}.`
    const topic = createTopicCatalogue(prefix).scored.name
    await createTopics(kafkaBrokers, [{ name: topic, partitions: 3 }])
    // Enough for a replay of seconds: the signal comes while it runs.
    await produce(topic, scoredSeries(20_000, { startMs: Date.now() - 6 * HOUR_MS, spanMs: 6 * HOUR_MS }))
    const keyPrefix = prefix.replace(/\W/g, '_')
    const env = cliEnv(prefix, keyPrefix)
    const redis = new Redis(redisUrl)
    /** Every key under the prefix with its value (DUMP, without the TTL), sorted by key. */
    const snapshot = async () =>
      Promise.all(
        (await redis.keys(`${keyPrefix}*`))
          .sort()
          .map(async (k) => [k, (await redis.dumpBuffer(k))?.toString('hex')]),
      )
    const admin = testKafka(kafkaBrokers).admin()
    try {
      // The live indicators (namespace v1) and their watermark.
      const live = createRedisIndicatorStore(redis, indicatorStoreOptions(loadConfig(AggregatorConfig, env)))
      const headlines = scoredSeries(100, { startMs: Date.now() - HOUR_MS, spanMs: 30 * MIN_MS, seed: 5 })
      await applyInOrder(live, headlines)
      await live.advanceWatermark(Date.parse(headlines.at(-1)!.publishedAt))
      const before = await snapshot()
      expect(before.length).toBeGreaterThan(0)

      const child = spawn(process.execPath, [MAIN, 'indicators', 'rebuild', '--since', '1d'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => {
        stdout += d
      })
      child.stderr.on('data', (d) => {
        stderr += d
      })
      const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
      await waitFor(() => /^replay: [1-9]\d* records/m.test(stderr), {
        timeoutMs: 60_000,
        what: `a progress line with records applied (stderr: ${stderr})`,
      })
      child.kill('SIGINT')
      expect(await exited).toEqual({ code: 130, signal: null })

      expect(stdout).toBe('')
      const lines = stderr.trimEnd().split('\n')
      const group = `${prefix}aggregator.rebuild.`.replaceAll('.', '\\.')
      expect(lines.at(-2)).toMatch(
        new RegExp(
          `^tradepulse: indicators rebuild: SIGINT: stopping the replay; deleting namespace r\\w+ and consumer group ${group}r\\w+ \\(Ctrl-C again exits at once, leaving them\\)$`,
        ),
      )
      const done = new RegExp(
        `^tradepulse: indicators rebuild interrupted by SIGINT before readers were switched: deleted namespace (r\\w+) \\((\\d+) keys\\) and consumer group ${group}(r\\w+); readers stay on namespace v1$`,
      ).exec(lines.at(-1) ?? '')
      expect(done, stderr).not.toBeNull()
      const [, namespace, cleared, groupNamespace] = done!
      expect(groupNamespace).toBe(namespace)
      expect(Number(cleared)).toBeGreaterThan(0)
      // Nothing of the rebuild left: every key under the prefix as before (the live ones), no other.
      expect(await snapshot()).toEqual(before)
      await admin.connect()
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId)
      expect(groups.filter((g) => g.startsWith(`${prefix}aggregator.rebuild.`))).toEqual([])
    } finally {
      await admin.disconnect()
      const keys = await redis.keys(`${keyPrefix}*`)
      if (keys.length) await redis.unlink(...keys)
      await redis.quit()
    }
  })

  it('rebuild --since reaching back before 1970 replays the whole topic, as 1970 does', async () => {
    // --since 100000d asked Kafka for the offsets of a time before 1970: "The version of API is not
    // supported" (exit 69).
    const prefix = `${randomName('cli-since')}.`
    await createTopics(kafkaBrokers, [{ name: createTopicCatalogue(prefix).scored.name }])
    await produce(
      createTopicCatalogue(prefix).scored.name,
      scoredSeries(20, { startMs: Date.now() - HOUR_MS, spanMs: 30 * MIN_MS }),
    )
    const keyPrefix = prefix.replaceAll('.', '_')
    const env = cliEnv(prefix, keyPrefix, { LOG_LEVEL: 'warn' })
    try {
      for (const since of ['100000d', '99999999999999999999w']) {
        const rebuilt = await run(process.execPath, [MAIN, 'indicators', 'rebuild', '--since', since], {
          env,
        })
        expect(rebuilt.stdout, since).toMatch(
          /^rebuilt 20 headlines \(20 records, 0 invalid\) since 1970-01-01T00:00:00\.000Z into namespace /,
        )
      }
    } finally {
      const redis = new Redis(redisUrl)
      const keys = await redis.keys(`${keyPrefix}*`)
      if (keys.length) await redis.unlink(...keys)
      await redis.quit()
    }
  })

  it('rebuild with Kafka unreachable and Redis up says so in one line within seconds (exit 69), no log lines', async () => {
    // The rebuild's own Kafka client retried for 17 s, writing a JSON error line for each retry.
    const started = Date.now()
    const err = await run(process.execPath, [MAIN, 'indicators', 'rebuild'], {
      env: { PATH: process.env.PATH ?? '', KAFKA_BROKERS: '127.0.0.1:1', REDIS_URL: redisUrl },
    }).catch((e: { code: number; stdout: string; stderr: string }) => e)
    expect(err).toMatchObject({
      code: 69,
      stdout: '',
      stderr:
        'tradepulse: cannot reach Kafka at 127.0.0.1:1 (KAFKA_BROKERS): Connection error: connect ECONNREFUSED 127.0.0.1:1; start it (pnpm infra:up) or set KAFKA_BROKERS\n',
    })
    expect(Date.now() - started).toBeLessThan(12_000)
  })

  it('rebuild under a prefix whose headlines.scored Kafka does not have is refused at once in one line naming it and the prefix (exit 78)', async () => {
    // A mistyped TRADEPULSE_TOPIC_PREFIX: the rebuild failed after 20 s as if Kafka were down (exit 69),
    // with a hint to run `tradepulse topics create`, which made a second catalogue under the typo.
    const prefix = `${randomName('cli-rebuild-typo')}.`
    const keyPrefix = randomName('cli-rebuild-typo')
    const err = await run(process.execPath, [MAIN, 'indicators', 'rebuild'], {
      env: cliEnv(prefix, keyPrefix),
    }).catch((e: { code: number; stdout: string; stderr: string }) => e)
    expect(err).toMatchObject({
      code: 78,
      stdout: '',
      stderr: `tradepulse: indicators rebuild: Kafka at ${kafkaBrokers.join(',')} (KAFKA_BROKERS) has no topic ${prefix}headlines.scored.v1 (TRADEPULSE_TOPIC_PREFIX ${JSON.stringify(prefix)}; the workers create it as they start, as does tradepulse topics create)\n`,
    })
    const redis = new Redis(redisUrl)
    try {
      expect(await redis.keys(`${keyPrefix}*`)).toEqual([])
    } finally {
      await redis.quit()
    }
  })

  it('refuses a bad --top and a bad --since with the option named and exit 78', async () => {
    for (const args of [
      ['indicators', '--top', '0'],
      ['indicators', 'rebuild', '--since', 'soon'],
    ]) {
      const err = await run(process.execPath, [MAIN, ...args], {
        env: { ...process.env, KAFKA_BROKERS: kafkaBrokers.join(','), REDIS_URL: redisUrl },
      }).catch((e: { code: number; stderr: string }) => e)
      expect(err, args.join(' ')).toMatchObject({ code: 78 })
      expect((err as { stderr: string }).stderr).toMatch(
        /^tradepulse: (indicators: option '--top <n>' argument '0' is invalid\. Expected a whole number of at least 1|indicators rebuild: option '--since <duration>' argument 'soon' is invalid\. Expected a duration)/,
      )
    }
  })
})

import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parseDesks, parseRules, RULE_FILES, routeAlert } from '@tradepulse/alerting'
import { runEmbedded } from '@tradepulse/cli/embedded'
import { loadSampleFeed, SAMPLE_FEED_FILE } from '@tradepulse/cli/sample-feed'
import {
  type Alert,
  createTopicCatalogue,
  type DeadLetter,
  type IndicatorUpdate,
  listTopics,
} from '@tradepulse/contracts'
import { createLogger, createRedisIndicatorStore } from '@tradepulse/platform'
import {
  collectTopic,
  createTopics,
  REPO_ROOT,
  randomName,
  spawnWorker,
  testInfra,
  testProducer,
  type WorkerProcess,
  waitFor,
} from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const WORKERS = ['ingest', 'scorer', 'aggregator', 'alerter'] as const

// Rows ingest must refuse: replay names and skips each (it checks a row with ingest's own parse), and
// produced to headlines.raw by another producer each has to end on the dlq, and nothing else may.
const BAD_ROWS = [
  JSON.stringify({ id: 'bad-empty', headline: '' }),
  JSON.stringify({ id: 'bad-time', headline: 'Tariffs rise', publishedAt: 'yesterday' }),
  '{"id":"bad-surrogate","headline":"China \\ud800 curbs"}',
]

describe('the whole pipeline as separate processes on Kafka and Redis', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  const workers: WorkerProcess[] = []
  const stops: (() => Promise<unknown>)[] = []
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGTERM')
    await Promise.all(workers.map((w) => w.exited))
    for (const s of stops) await s()
  })

  it('turns a replayed feed into the alerts, indicators and dlq records of the embedded run', async () => {
    const prefix = `${randomName('e2e')}.`
    const keyPrefix = prefix.replace(/\W/g, '_')
    const topics = createTopicCatalogue(prefix)
    const desks = parseDesks(readFileSync(RULE_FILES.desks, 'utf8'), 'yaml')
    const rules = parseRules(readFileSync(RULE_FILES.defaultRules, 'utf8'), 'yaml')
    if (!desks.ok || !rules.ok) throw new Error('shipped rules or desks do not parse')
    // One partition per topic keeps publication order end to end, so cooldown decisions match the
    // embedded run headline for headline.
    await createTopics(kafkaBrokers, [
      ...listTopics(topics).map((t) => ({ name: t.name, partitions: 1 })),
      ...desks.desks.map((d) => ({ name: topics.deskAlerts(d.id).name, partitions: 1 })),
    ])
    const env = {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: keyPrefix,
      TRADEPULSE_TOPIC_PREFIX: prefix,
      HTTP_PORT: '0',
      TOPICS_AUTO_CREATE: 'false',
      ALERTER_WEBHOOKS_ENABLED: 'false',
      AGGREGATOR_PUBLISH_INTERVAL_MS: '0',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
      LOG_LEVEL: 'warn',
    }
    for (const w of WORKERS) workers.push(spawnWorker(`services/${w}/src/main.ts`, env))
    const alerts = await collectTopic(kafkaBrokers, topics.alerts.name)
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    const deskTopics = await Promise.all(
      desks.desks.map(async (d) => ({
        id: d.id,
        c: await collectTopic(kafkaBrokers, topics.deskAlerts(d.id).name),
      })),
    )
    stops.push(alerts.stop, dlq.stop, ...deskTopics.map((d) => d.c.stop))

    const file = join(mkdtempSync(join(tmpdir(), 'e2e-')), 'feed.ndjson')
    const sample = readFileSync(SAMPLE_FEED_FILE, 'utf8').trim().split('\n')
    writeFileSync(
      file,
      [
        ...sample.slice(0, 100),
        BAD_ROWS[0],
        'this line is not JSON',
        ...sample.slice(100),
        BAD_ROWS[1],
        BAD_ROWS[2],
      ].join('\n'),
    )
    // The line that is not JSON makes replay exit 65 (EX_DATAERR), once every other row is sent.
    const replay = await run(
      process.execPath,
      [join(REPO_ROOT, 'packages/cli/src/main.ts'), 'replay', file],
      { env: { ...process.env, ...env } },
    ).catch((err: { code?: number; stdout: string; stderr: string }) => err)
    expect((replay as { code?: number }).code).toBe(65)
    expect(replay.stderr).toMatch(/feed\.ndjson:102: skipped: invalid JSON/)
    expect(replay.stderr).toMatch(/feed\.ndjson:101: skipped: .*\(schema_invalid\)/)
    expect(replay.stderr).toMatch(/feed\.ndjson:219: skipped: .*\(schema_invalid\)/)
    expect(replay.stderr).toMatch(/feed\.ndjson:220: skipped: .*\(invalid_text\)/)
    expect(replay.stderr).toMatch(new RegExp(`${sample.length} produced`))
    // The same rows from a producer that does not check them: ingest dead-letters each.
    const producer = await testProducer(kafkaBrokers)
    stops.push(() => producer.disconnect())
    await producer.send({ topic: topics.raw.name, messages: BAD_ROWS.map((value) => ({ value })) })

    // The oracle: the same feed through the embedded default, one headline at a time.
    const feed = loadSampleFeed()
    const embedded = await runEmbedded({
      workers: [...WORKERS],
      feed,
      speed: 'step',
      follow: false,
      log: createLogger({ level: 'silent' }),
      env: { AGGREGATOR_PUBLISH_INTERVAL_MS: '0' },
      out: { write: () => true } as unknown as NodeJS.WritableStream,
    })
    const headlineRules = new Set(
      rules.rules
        .filter(
          (r) => r.kind === 'headline_shock' || (r.kind === 'uncertainty_spike' && r.source === 'headline'),
        )
        .map((r) => r.id),
    )
    const expected = embedded.alerts.filter((a) => headlineRules.has(a.rule))
    expect(expected.length).toBeGreaterThan(10)

    const parse = (m: { value: Buffer | null }) => JSON.parse(m.value!.toString()) as Alert
    await waitFor(
      () => alerts.messages.map(parse).filter((a) => headlineRules.has(a.rule)).length >= expected.length,
      {
        timeoutMs: 90_000,
        what: `${expected.length} headline alerts on alerts.v1`,
      },
    )
    const got = alerts.messages.map(parse)
    expect(
      got
        .filter((a) => headlineRules.has(a.rule))
        .map((a) => a.id)
        .sort(),
    ).toEqual(expected.map((a) => a.id).sort())
    // Latency runs from each headline's entry into the pipeline (its headlines.raw record), not from its
    // publication: the feed was published in March 2026 and is replayed now.
    for (const a of got.filter((a) => headlineRules.has(a.rule))) {
      expect(Date.parse(a.detectedAt) - Date.parse(a.publishedAt)).toBeGreaterThan(30 * 86_400_000)
      expect(a.latencyMs).toBe(Date.parse(a.detectedAt) - Date.parse(a.ingestedAt))
      expect(a.latencyMs).toBeLessThan(120_000)
    }
    // Indicator rules are not compared: what they see depends on how the replay fell into batches (a
    // feed replayed at full speed reaches the aggregator in a few batches). services/alerter tests them.
    // Keyed by scope, in order per scope.
    for (const m of alerts.messages) expect(m.key).toBe(`${parse(m).scope.kind}:${parse(m).scope.id}`)
    // Every alert reached the desks that subscribe to it: a headline's once per desk (its alerts on several
    // rules and scopes a desk watches page it once), an indicator rule's each.
    const page = (a: Alert) => (headlineRules.has(a.rule) ? a.evidence[0]?.headlineId : a.id)
    await waitFor(
      () => {
        for (const a of got)
          for (const desk of routeAlert(a, desks.desks)) {
            const d = deskTopics.find((x) => x.id === desk)!
            if (!d.c.messages.some((m) => page(parse(m)) === page(a))) return false
          }
        return true
      },
      { what: 'desk topics' },
    )
    for (const d of deskTopics) {
      const pages = d.c.messages.map((m) => page(parse(m)))
      expect(pages.length, d.id).toBe(new Set(pages).size)
    }

    // The dlq holds exactly the rows ingest refused.
    await waitFor(() => dlq.messages.length >= BAD_ROWS.length, { what: 'dlq' })
    const letters = dlq.messages.map((m) => JSON.parse(m.value!.toString()) as DeadLetter)
    expect(letters.map((l) => l.payload).sort()).toEqual([...BAD_ROWS].sort())
    expect(letters.map((l) => l.reason).sort()).toEqual(['invalid_text', 'schema_invalid', 'schema_invalid'])

    // Indicators in Redis equal the embedded run's, once the aggregator has applied everything.
    const redis = new Redis(redisUrl)
    stops.push(() => redis.quit())
    const store = createRedisIndicatorStore(redis, { prefix: keyPrefix })
    const asOf = Date.parse(feed[feed.length - 1]!.publishedAt)
    const keys = new Map<string, Pick<IndicatorUpdate, 'dimension' | 'scope'>>()
    const embeddedIndicators = createTopicCatalogue().indicators.name
    for (let p = 0; p < embedded.bus.partitions(embeddedIndicators); p++) {
      for (const r of embedded.bus.read(embeddedIndicators, p, 0, 1e9)) {
        const u = JSON.parse(r.value!.toString()) as IndicatorUpdate
        keys.set(u.key, { dimension: u.dimension, scope: u.scope })
      }
    }
    expect(keys.size).toBeGreaterThan(20)
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))
    await waitFor(
      async () => {
        for (const { dimension, scope } of keys.values()) {
          const mine = await embedded.indicators!.get(dimension, scope, asOf)
          const theirs = await store.get(dimension, scope, asOf)
          if (!mine || !theirs || mine.count !== theirs.count) return false
          for (const [label, v] of Object.entries(mine.mean)) if (!close(v, theirs.mean[label]!)) return false
          if (!close(mine.momentum, theirs.momentum) || !close(mine.diffusion, theirs.diffusion)) return false
        }
        return true
      },
      { timeoutMs: 60_000, what: 'indicators equal to the embedded run' },
    )
  })
})

import { parseRules, type RuleSet } from '@tradepulse/alerting'
import { type Alert, createTopicCatalogue } from '@tradepulse/contracts'
import { closeRedis, createLogger, type InRecord } from '@tradepulse/platform'
import { randomName, startLocalRedis, testInfra, waitFor } from '@tradepulse/testing'
import { type Command, Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { createRedisAlertStore } from './alert-store.ts'
import { createAlerterRedis } from './build-app.ts'
import { cnLevelRule } from './scenario-fixtures.ts'
import {
  cnHeadline,
  cnTariffUpdate,
  indicatorRecord,
  scoredRecords,
  testAlerterHandler,
} from './test-handler.ts'

const H = 3_600_000
const T0 = Date.parse('2026-03-02T08:00:00Z')
const ctx = { signal: new AbortController().signal }

const HEADLINE_RULE = `  - id: tariff_down
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:CN]
    direction: down
    threshold: 0.7
    minRelevance: 0.5
    severity: warning
    cooldownMs: ${H}
`

function rules(): RuleSet {
  const parsed = parseRules(`version: rt-1\nrules:\n${HEADLINE_RULE}${cnLevelRule(H)}`, 'yaml')
  if (!parsed.ok) throw new Error('rules do not parse')
  return parsed
}

/**
 * Counts the sequential Redis round trips of what a client runs: each command is one round trip deeper than
 * the deepest command answered before it was sent (auto-pipelined commands sent together share a depth).
 * `answered()` is the deepest answered so far: the length of the chain of round trips waited for, one after
 * the other, whatever each took (a count, no clock).
 */
function roundTrips(redis: Redis) {
  let deepest = 0
  const client = redis as unknown as { sendCommand(command: Command, ...rest: unknown[]): unknown }
  const send = client.sendCommand
  client.sendCommand = function (command: Command, ...rest: unknown[]) {
    const depth = deepest + 1
    const answered = () => {
      deepest = Math.max(deepest, depth)
    }
    command.promise.then(answered, answered)
    return send.call(this, command, ...rest)
  }
  return {
    reset: () => {
      deepest = 0
    },
    answered: () => deepest,
  }
}

/**
 * The latency of an alert is the Redis round trips its batch waits for: before the produce (read; hold
 * and claim) and after it (the sent marks). A batch that raises one alert waits for three in a row: the
 * outbox entry is written in the claims' round trip (sent ahead of them), and its delete is issued once the
 * marks are written, the batch not waiting for it.
 */
describe('alerter: the Redis round trips of a batch that raises one alert', () => {
  const { redisUrl } = testInfra()
  const topics = createTopicCatalogue('t.')
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  const batches: [string, (t: number) => InRecord[]][] = [
    [
      'a scored headline',
      (t) => scoredRecords(topics.scored.name, [cnHeadline(randomName('h'), t, { tariff: -0.9 })], 7),
    ],
    [
      'an indicator update',
      (t) => [indicatorRecord(topics.indicators.name, cnTariffUpdate(t, 0, -0.8), 7, t)],
    ],
  ]
  it.each(batches)('%s: three in a row, the outbox entry deleted after', async (_, batch) => {
    const redis = createAlerterRedis(
      { REDIS_URL: redisUrl, REDIS_TIMEOUT_MS: 5_000 },
      createLogger({ level: 'silent' }),
      randomName('rt'),
    )
    cleanups.push(() => closeRedis(redis))
    const prefix = randomName('alerts')
    const store = createRedisAlertStore(redis, { prefix, dedupWindowMs: 24 * H, hysteresisTtlMs: 24 * H })
    const { handler, published } = testAlerterHandler({ topics, rules: rules(), store, nowMs: T0 })
    await redis.ping() // connected
    const counted = roundTrips(redis)
    counted.reset()

    const records = batch(T0)
    await handler(records, ctx)
    const waited = counted.answered()
    expect(published.filter((r) => r.topic === topics.alerts.name)).toHaveLength(1)
    expect(waited).toBeLessThanOrEqual(3)

    // The entry goes all the same, once the marks are written.
    const origin = `${records[0]!.topic}/0/7`
    await waitFor(async () => (await store.claimedFor([origin])).size === 0 || undefined, {
      what: 'the outbox entry deleted',
    })
  })

  it('an entry Redis refuses to write leaves no claim: the claims sent with it that fired are released', async () => {
    // A server of its own, where the alerter's user may read the outbox but not write it (NOPERM on the
    // hold) and may write the claims' keys: the one refusal that spares the claims sent behind it.
    const server = await startLocalRedis()
    cleanups.push(() => server.stop())
    const direct = new Redis(server.url)
    cleanups.push(() => direct.quit())
    const prefix = randomName('alerts')
    const user = randomName('alerter')
    await direct.call(
      'ACL',
      'SETUSER',
      user,
      'on',
      '>pw',
      '+@all',
      `~${prefix}:alert:cd:*`,
      `~${prefix}:alert:sent:*`,
      `~${prefix}:alert:hys:*`,
      `%R~${prefix}:alert:outbox:*`,
    )
    const url = new URL(server.url)
    url.username = user
    url.password = 'pw'
    const redis = createAlerterRedis(
      { REDIS_URL: url.toString(), REDIS_TIMEOUT_MS: 5_000 },
      createLogger({ level: 'silent' }),
      randomName('rt'),
    )
    cleanups.push(() => closeRedis(redis))
    const options = { prefix, dedupWindowMs: 24 * H, hysteresisTtlMs: 24 * H }
    const store = createRedisAlertStore(redis, options)
    const a = testAlerterHandler({ topics, rules: rules(), store, nowMs: T0 })
    const records = scoredRecords(topics.scored.name, [cnHeadline('a', T0, { tariff: -0.9 })], 7)
    await expect(a.handler(records, ctx)).rejects.toThrow('NOPERM')
    expect(a.published).toEqual([])

    // Nothing of 'a' holds its alert's id or stream: another headline of the hour, on another process
    // (full rights), fires it.
    const b = testAlerterHandler({
      topics,
      rules: rules(),
      store: createRedisAlertStore(direct, options),
      nowMs: T0,
    })
    await b.handler(
      scoredRecords(topics.scored.name, [cnHeadline('b', T0 + 60_000, { tariff: -0.9 })], 8),
      ctx,
    )
    const alerts = b.published
      .filter((r) => r.topic === topics.alerts.name)
      .map((r) => (JSON.parse(r.value as string) as Alert).evidence[0]?.headlineId)
    expect(alerts).toEqual(['b'])
  })
})

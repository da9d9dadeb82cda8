import { hysteresisKeysFor, lineEntry, parseRules, type RuleSet } from '@tradepulse/alerting'
import { type Alert, createTopicCatalogue, type IndicatorUpdate } from '@tradepulse/contracts'
import {
  closeRedis,
  createKeys,
  createLogger,
  createRedis,
  type InRecord,
  normalizeError,
  type OutRecord,
} from '@tradepulse/platform'
import { randomName, startReplyLosingProxy, testInfra } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { type AlertStore, createRedisAlertStore } from './alert-store.ts'
import { createAlerterRedis } from './build-app.ts'
import { cnLevelRule } from './scenario-fixtures.ts'
import { cnTariffUpdate, indicatorRecord, testAlerterHandler } from './test-handler.ts'

const H = 3_600_000
const silent = createLogger({ level: 'silent' })

/**
 * Each Redis write of the alerter's path answered to nobody: Redis ran it, and the connection closed
 * before its reply came (the reply-losing proxy of packages/testing); ioredis sends it again on its next
 * connection (autoResendUnfulfilledCommands), where it meets its own first run's effects. An indicator's
 * updates go through one handler over a store behind the proxy, which loses the reply to the first
 * request of the first record naming the stage's marker; the alerts and the line must be those of a run
 * without the fault: each alert published once, and the record's redelivery sending nothing again.
 */
describe('alerter: a Redis answer lost after Redis acted on it', () => {
  const { redisUrl } = testInfra()
  const redis = new Redis(redisUrl)
  afterAll(() => redis.quit())
  const topics = createTopicCatalogue('t.')
  const ctx = { signal: new AbortController().signal }
  const parsed = parseRules(`version: t-1\nrules:\n${cnLevelRule(H)}`, 'yaml')
  if (!parsed.ok) throw new Error('rules do not parse')
  const ruleSet: RuleSet = parsed
  const T0 = Date.parse('2026-03-02T08:00:00Z')
  // The line is at -0.5, re-armed above -0.35; the cooldown (and the alert id's bucket) is an hour.
  const steps = [
    cnTariffUpdate(T0, 50, -0.6), // crosses: fires
    cnTariffUpdate(T0, 115, -0.7), // still past the line: nothing, the line is disarmed
    cnTariffUpdate(T0, 130, -0.2), // back past the band: re-armed
    cnTariffUpdate(T0, 185, -0.7), // crosses again: fires
  ]
  const recordOf = (u: IndicatorUpdate, offset: number) =>
    indicatorRecord(topics.indicators.name, u, offset, T0)
  const records = steps.map(recordOf)
  const origin = `${topics.indicators.name}/0/0`
  const [field] = hysteresisKeysFor(ruleSet, steps[0]!)

  /**
   * The indicator's updates through one handler over `store`, then every record again (a redelivery).
   * With `retried`, a record whose handling fails is handled again, as the runner retries its batch (at
   * most 5 times): `failures` says what each failed attempt threw.
   */
  async function runOver(store: AlertStore, { retried = false } = {}) {
    const failures: string[] = []
    const published: OutRecord[] = []
    const { handler } = testAlerterHandler({
      topics,
      rules: ruleSet,
      store,
      nowMs: T0 + 1_000 * 60_000,
      publish: async (out) => {
        published.push(...out)
      },
    })
    const handled = async (r: InRecord) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await handler([r], ctx)
        } catch (err) {
          if (!retried || attempt >= 5) throw err
          const e = normalizeError(err)
          failures.push(`${e.code}: ${e.message}`)
        }
      }
    }
    for (const r of records) expect(await handled(r)).toEqual([{ kind: 'ok' }])
    // Every record again (a redelivery): nothing sent twice.
    const redelivered = published.length
    for (const r of records) expect(await handled(r)).toEqual([{ kind: 'ok' }])
    expect(published.slice(redelivered)).toEqual([])
    const line = (await store.readHysteresis(new Map([[steps[0]!.key, { fields: [field!] }]]))).get(
      steps[0]!.key,
    )
    const alerts = published
      .filter((r) => r.topic === topics.alerts.name)
      .map((r) => (JSON.parse(r.value as string) as Alert).publishedAt)
    return { alerts, armed: lineEntry(line?.[field!])?.armed, failures }
  }

  const storeOptions = (prefix: string) => ({ prefix, dedupWindowMs: 24 * H, hysteresisTtlMs: 24 * H })

  it('a run without the fault, for reference', async () => {
    expect(await runOver(createRedisAlertStore(redis, storeOptions(randomName('alerts'))))).toEqual({
      alerts: [steps[0]!.asOf, steps[3]!.asOf],
      armed: false,
      failures: [],
    })
  })

  const stages: {
    stage: string
    marker: string
    applied: (keys: ReturnType<typeof createKeys>) => Promise<boolean>
  }[] = [
    {
      stage: "the first record's outbox entry (held before its claim)",
      marker: '"desks":',
      applied: async (keys) => (await redis.exists(keys.alertOutbox(origin))) === 1,
    },
    {
      stage: 'its claim',
      marker: origin,
      applied: async (keys) => (await redis.keys(`${keys.alertSent('*', '*')}`)).length > 0,
    },
    {
      stage: 'its sent mark',
      marker: `s|${origin}`,
      applied: async (keys) => {
        const [key] = await redis.keys(keys.alertSent('*', '*'))
        return key !== undefined && (await redis.get(key)) === `s|${origin}`
      },
    },
    {
      stage: 'its hysteresis write',
      marker: '"armed":',
      applied: async (keys) => (await redis.hexists(keys.alertHysteresis(steps[0]!.key), field!)) === 1,
    },
  ]

  // Two clients: a plain one, which sends the command whose reply was lost again on its next connection;
  // and the alerter's own (createAlerterRedis, 6ca57c2), which sends nothing again: the command fails as a
  // Redis outage, and the runner retries its batch, which meets the first run's effects.
  const clients = [
    {
      client: 'a client sending the command again',
      connect: (url: string) => createRedis(url, silent, 'lost-answers-test'),
      retried: false,
      failures: [],
    },
    {
      client: "the alerter's client: the record retried",
      connect: (url: string) =>
        createAlerterRedis({ REDIS_URL: url, REDIS_TIMEOUT_MS: 10_000 }, silent, 'lost-answers-test'),
      retried: true,
      failures: ['INFRA_REDIS: Connection is closed.'],
    },
  ]

  for (const { client: kind, connect, retried, failures } of clients)
    for (const { stage, marker, applied } of stages)
      it(`on ${stage}: the alerts and the line as without the fault (${kind})`, async () => {
        const prefix = randomName('alerts')
        const keys = createKeys(prefix)
        const proxy = await startReplyLosingProxy({
          redisUrl,
          marker,
          applied: () => applied(keys),
          what: stage,
        })
        const client = connect(proxy.url)
        try {
          const got = await runOver(createRedisAlertStore(client, storeOptions(prefix)), { retried })
          expect(proxy.dropped()).toBe(1)
          expect(got).toEqual({ alerts: [steps[0]!.asOf, steps[3]!.asOf], armed: false, failures })
        } finally {
          await closeRedis(client)
          await proxy.close()
        }
      })
})

import {
  type Desk,
  hysteresisKeysFor,
  lineEntry,
  parseDesks,
  parseRules,
  type RuleSet,
} from '@tradepulse/alerting'
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
import { cnLevelRule, scenarioDesks } from './scenario-fixtures.ts'
import { cnTariffUpdate, indicatorRecord, testAlerterHandler } from './test-handler.ts'

const H = 3_600_000
const silent = createLogger({ level: 'silent' })

/**
 * Each Redis write of the alerter's path answered to nobody: Redis ran it, and the connection closed
 * before its reply came (the reply-losing proxy of packages/testing). An indicator's updates go through
 * one process (a handler) over a store behind the proxy, which loses the reply to the first request of
 * the first record naming the stage's marker, and the alerts come out on alerts.v1 and the tariff desk's
 * topic (the scenario's desks). A plain client sends the command again on its next connection, where it
 * meets its own first run's effects: the alerts and the line must be those of a run without the fault.
 * The alerter's own client fails the command instead, and the record is retried; here by another process
 * (the partition moved after the fault), whose desks page critical alerts only, so that what it raises
 * itself goes to no desk: an alert the failed attempt claimed must be resumed from the record's outbox
 * entry, as the failed attempt decided it and to its desks. In every variant the records' redelivery
 * sends nothing again.
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
  const parsedDesks = parseDesks(scenarioDesks(), 'yaml')
  if (!parsedDesks.ok) throw new Error('desks do not parse')
  // The scenario's desks: the level rule's alerts (tariff on region CN, warning) page the tariff desk only.
  const desks = parsedDesks.desks
  // The same desks in a process whose desks file pages critical alerts only: it pages no desk itself.
  const criticalOnly = desks.map((d) => ({ ...d, minSeverity: 'critical' as const }))
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
  const topicNames = new Map([
    [topics.alerts.name, 'alerts'],
    ...desks.map((d) => [topics.deskAlerts(d.id).name, `desk ${d.id}`] as const),
  ])

  /**
   * The indicator's updates through a process (a handler) over `store` serving the scenario's desks,
   * then every record again (a redelivery). With `retry`, a record whose handling fails is handled once
   * more: by the same process (`'same process'`, as the runner retries its batch), or by another process
   * over the store given, serving the desks for critical alerts only, which goes on with the records
   * after it and gets the redelivery (the partition moved). `failures` says what the failed attempt
   * threw; `sent`: every record published, in order, as its topic and its alert.
   */
  async function runOver(store: AlertStore, retry?: 'same process' | AlertStore) {
    const failures: string[] = []
    const published: OutRecord[] = []
    const processOver = (over: AlertStore, served: readonly Desk[]) =>
      testAlerterHandler({
        topics,
        rules: ruleSet,
        desks: served,
        store: over,
        nowMs: T0 + 1_000 * 60_000,
        publish: async (out) => {
          published.push(...out)
        },
      }).handler
    let handler = processOver(store, desks)
    const handled = async (r: InRecord) => {
      try {
        return await handler([r], ctx)
      } catch (err) {
        if (!retry || failures.length > 0) throw err
        const e = normalizeError(err)
        failures.push(`${e.code}: ${e.message}`)
        if (retry !== 'same process') handler = processOver(retry, criticalOnly)
        return await handler([r], ctx)
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
    const sent = published.map((r) => ({
      topic: topicNames.get(r.topic) ?? r.topic,
      alert: JSON.parse(r.value as string) as Alert,
    }))
    return { sent, armed: lineEntry(line?.[field!])?.armed, failures }
  }

  const storeOptions = (prefix: string) => ({ prefix, dedupWindowMs: 24 * H, hysteresisTtlMs: 24 * H })

  const cleanStore = () => createRedisAlertStore(redis, storeOptions(randomName('alerts')))
  /** The two alerts of a run without the fault: the crossings of the first and the last update. */
  const alertsWithoutFault = async () => {
    const { sent } = await runOver(cleanStore())
    const [first, last] = sent.filter((s) => s.topic === 'alerts').map((s) => s.alert)
    return { first: first!, last: last! }
  }

  // What a run without the fault sends: each alert on alerts.v1, then on the tariff desk's topic.
  const asWithoutFault = (first: Alert, last: Alert) => [
    { topic: 'alerts', alert: first },
    { topic: 'desk tariff', alert: first },
    { topic: 'alerts', alert: last },
    { topic: 'desk tariff', alert: last },
  ]

  it('a run without the fault, for reference: each alert on alerts.v1 and the tariff desk', async () => {
    const { first, last } = await alertsWithoutFault()
    expect([first.publishedAt, last.publishedAt]).toEqual([steps[0]!.asOf, steps[3]!.asOf])
    expect(await runOver(cleanStore())).toEqual({
      sent: asWithoutFault(first, last),
      armed: false,
      failures: [],
    })
  })

  const stages: {
    stage: string
    marker: string
    applied: (keys: ReturnType<typeof createKeys>) => Promise<boolean>
    /**
     * Whether, retried by the other process, the first alert still pages the tariff desk: claimed (or
     * sent) by the failed attempt, it goes as that attempt routed it; held but never claimed, nothing was
     * decided for it, and the other process decides the record itself (its own alert, to no desk: see
     * round-trips.int.test.ts, an entry Redis refuses to write).
     */
    firstPaged: boolean
  }[] = [
    {
      // The entry is written in the round trip of its claims, sent ahead of them: the reply lost is
      // theirs too, Redis having run both. Claimed, the alert goes as the failed attempt routed it.
      stage: "the first record's outbox entry (held before its claim)",
      marker: '"desks":',
      applied: async (keys) => (await redis.exists(keys.alertOutbox(origin))) === 1,
      firstPaged: true,
    },
    {
      // The one stage whose alert only the outbox can send as it was claimed: claimed, never published.
      stage: 'its claim',
      marker: origin,
      applied: async (keys) => (await redis.keys(`${keys.alertSent('*', '*')}`)).length > 0,
      firstPaged: true,
    },
    {
      stage: 'its sent mark',
      marker: `s|${origin}`,
      applied: async (keys) => {
        const [key] = await redis.keys(keys.alertSent('*', '*'))
        return key !== undefined && (await redis.get(key)) === `s|${origin}`
      },
      firstPaged: true,
    },
    {
      stage: 'its hysteresis write',
      marker: '"armed":',
      applied: async (keys) => (await redis.hexists(keys.alertHysteresis(steps[0]!.key), field!)) === 1,
      firstPaged: true,
    },
  ]

  const plainClient = (url: string, name: string) => createRedis(url, silent, name)
  const alerterClient = (url: string, name: string) =>
    createAlerterRedis({ REDIS_URL: url, REDIS_TIMEOUT_MS: 10_000 }, silent, name)

  // A plain client sends the command whose reply was lost again on its next connection: the process sees
  // no fault, and sends what a run without the fault sends.
  for (const { stage, marker, applied } of stages)
    it(`on ${stage}: the alerts and the line as without the fault (a client sending the command again)`, async () => {
      const { first, last } = await alertsWithoutFault()
      await withLostAnswer({ stage, marker, applied }, plainClient, async (store) => {
        expect(await runOver(store)).toEqual({
          sent: asWithoutFault(first, last),
          armed: false,
          failures: [],
        })
      })
    })

  // The alerter's own client (createAlerterRedis, 6ca57c2) sends nothing again: the command fails as a
  // Redis outage, and the record is retried, meeting the failed attempt's effects.
  for (const { stage, marker, applied } of stages)
    it(`on ${stage}: the alerts and the line as without the fault (the alerter's client, the record retried by the same process)`, async () => {
      const { first, last } = await alertsWithoutFault()
      await withLostAnswer({ stage, marker, applied }, alerterClient, async (store) => {
        expect(await runOver(store, 'same process')).toEqual({
          sent: asWithoutFault(first, last),
          armed: false,
          failures: ['INFRA_REDIS: Connection is closed.'],
        })
      })
    })

  // Retried by another process (over its own connection), which pages no desk itself: what the failed
  // attempt claimed must come from the record's outbox entry, to the desk that attempt routed it to.
  for (const { stage, marker, applied, firstPaged } of stages)
    it(`on ${stage}: a claimed alert resumed from the outbox (the alerter's client, the record retried by another process)`, async () => {
      const { first, last } = await alertsWithoutFault()
      const other = alerterClient(redisUrl, 'lost-answers-other')
      try {
        await withLostAnswer({ stage, marker, applied }, alerterClient, async (store, prefix) => {
          expect(await runOver(store, createRedisAlertStore(other, storeOptions(prefix)))).toEqual({
            sent: [
              { topic: 'alerts', alert: first },
              ...(firstPaged ? [{ topic: 'desk tariff', alert: first }] : []),
              { topic: 'alerts', alert: last },
            ],
            armed: false,
            failures: ['INFRA_REDIS: Connection is closed.'],
          })
        })
      } finally {
        await closeRedis(other)
      }
    })

  /**
   * Runs `body` over a store of a fresh prefix whose client (`connect`) goes through a proxy losing the
   * reply to the stage's request; checks that exactly that one reply was lost.
   */
  async function withLostAnswer(
    { stage, marker, applied }: Pick<(typeof stages)[number], 'stage' | 'marker' | 'applied'>,
    connect: (url: string, name: string) => Redis,
    body: (store: AlertStore, prefix: string) => Promise<void>,
  ) {
    const prefix = randomName('alerts')
    const keys = createKeys(prefix)
    const proxy = await startReplyLosingProxy({ redisUrl, marker, applied: () => applied(keys), what: stage })
    const client = connect(proxy.url, 'lost-answers-test')
    try {
      await body(createRedisAlertStore(client, storeOptions(prefix)), prefix)
      expect(proxy.dropped()).toBe(1)
    } finally {
      await closeRedis(client)
      await proxy.close()
    }
  }
})

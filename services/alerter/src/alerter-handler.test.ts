import { type Desk, parseDesks, parseRules, type RuleSet } from '@tradepulse/alerting'
import { type Alert, createTopicCatalogue, type IndicatorUpdate } from '@tradepulse/contracts'
import { indicatorKey } from '@tradepulse/indicators'
import { type InRecord, type OutRecord, produceAll, TradepulseError } from '@tradepulse/platform'
import type { Producer } from 'kafkajs'
import type { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import type { AlertStore } from './alert-store.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'
import {
  cnLevelRule,
  SCENARIO_RULES,
  SCENARIO_T0,
  scenarioDesks,
  scenarioHeadlines,
} from './scenario-fixtures.ts'
import {
  cnHeadline,
  cnTariffUpdate,
  indicatorRecord,
  scoredRecords,
  testAlerterHandler,
} from './test-handler.ts'

describe('alerter handler', () => {
  const topics = createTopicCatalogue('t.')
  const parsed = parseRules(SCENARIO_RULES, 'yaml')
  if (!parsed.ok) throw new Error('scenario rules do not parse')
  const rules: RuleSet = parsed
  const ctx = { signal: new AbortController().signal }

  /** The scenario's scored headlines as records of headlines.scored, each at its own offset. */
  const records = (): InRecord[] => scoredRecords(topics.scored.name, scenarioHeadlines(Date.now()))

  const setup = (store: AlertStore, ruleSet: RuleSet = rules, desks: Desk[] = []) =>
    testAlerterHandler({ topics, rules: ruleSet, store, desks })

  it("pages a desk once for a headline that raises one or more rules on several of the desk's scopes; alerts.v1 has each", async () => {
    const parsedDesks = parseDesks(scenarioDesks(), 'yaml')
    if (!parsedDesks.ok) throw new Error('scenario desks do not parse')
    const cnOnly = { ...parsedDesks.desks[0]!, id: 'cn', scopes: ['region:CN'] }
    const store = createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => Date.now() } })
    const { handler, published, registry } = setup(store, rules, [...parsedDesks.desks, cnOnly])
    await handler(records(), ctx)
    const on = (topic: string) =>
      published
        .filter((r) => r.topic === topic)
        .map((r) => JSON.parse(r.value as string) as Alert)
        .map((a) => `${a.rule} ${a.scope.id} ${a.evidence[0]?.headlineId}`)
    // "US raises tariffs on Chinese steel…" raises tariff_down on US and on CN.
    expect(on(topics.alerts.name)).toEqual(
      expect.arrayContaining(['tariff_down US esc1', 'tariff_down CN esc1']),
    )
    const tariffDesk = on(topics.deskAlerts('tariff').name)
    expect(tariffDesk.filter((a) => a.endsWith(' esc1'))).toEqual(['tariff_down US esc1'])
    // Each (rule, headline) at most once on the desk, and every one of alerts.v1's on it.
    const pairs = (list: string[]) => list.map((a) => a.replace(/ \S+ /, ' '))
    expect(new Set(pairs(tariffDesk)).size).toBe(tariffDesk.length)
    const watched = on(topics.alerts.name).filter((a) => /^tariff_\S+ (US|CN|EU) /.test(a))
    expect(new Set(pairs(tariffDesk))).toEqual(new Set(pairs(watched)))
    // A desk watching only CN still gets the CN alert.
    expect(on(topics.deskAlerts('cn').name)).toContain('tariff_down CN esc1')
    // Across rules too: China's rare-earth halt raises supply_down (warning) and export_curb (critical)
    // on the supply desk's scopes; the desk gets one copy, the critical one, the others named in it.
    const supplyDesk = on(topics.deskAlerts('supply').name)
    expect(supplyDesk.filter((a) => a.endsWith(' halt'))).toEqual(['export_curb rare_earths halt'])
    expect(new Set(supplyDesk.map((a) => a.split(' ')[2])).size).toBe(supplyDesk.length)
    const halt = published
      .filter((r) => r.topic === topics.deskAlerts('supply').name)
      .map((r) => JSON.parse(r.value as string) as Alert)
      .find((a) => a.evidence[0]?.headlineId === 'halt')!
    expect(halt.message).toContain('; also supply_down (warning, supplyChain) on rare earths, autos')
    expect(await registry.getSingleMetricAsString('tradepulse_alerts_desk_merged_total')).toMatch(
      / [1-9]\d*$/m,
    )
  })

  it('does not publish an acknowledged alert again when the batch is retried after its confirmation failed', async () => {
    const memory = createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => Date.now() } })
    let failures = 1
    const store: AlertStore = {
      ...memory,
      async commit(sent, moved) {
        if (failures-- > 0) throw new TradepulseError('INFRA_REDIS', 'Command timed out')
        return memory.commit(sent, moved)
      },
    }
    const { handler, published } = setup(store)
    const batch = records()
    await expect(handler(batch, ctx)).rejects.toThrow('Command timed out')
    const first = published.map((r) => r.key)
    expect(first.length).toBeGreaterThan(0)
    // The runner retries the same records: the alerts already acknowledged are only confirmed.
    await handler(batch, ctx)
    expect(published.map((r) => r.key)).toEqual(first)
    // Confirmed now: a third pass (a redelivery after a restart) finds them sent.
    await handler(batch, ctx)
    expect(published.map((r) => r.key)).toEqual(first)
  })

  it('does not publish again the alerts Kafka acknowledged before a later request of the publish failed', async () => {
    const parsedDesks = parseDesks(scenarioDesks(), 'yaml')
    if (!parsedDesks.ok) throw new Error('scenario desks do not parse')
    const batch = records()
    const pairsOf = (messages: { headers?: Record<string, string> }[], topic: string) =>
      messages.map((m) => `${m.headers?.ce_id} ${topic}`)
    // What a publish without a fault writes: each alert on alerts.v1 and on its desks' topics.
    const clean = setup(
      createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => Date.now() } }),
      rules,
      parsedDesks.desks,
    )
    await clean.handler(batch, ctx)
    const expected = clean.published.map((r) => `${r.headers?.ce_id} ${r.topic}`)
    expect(new Set(expected.map((p) => p.split(' ')[1])).size).toBeGreaterThan(2) // alerts.v1 and desks

    // One record per produce request; the 2nd (the desk copy of the first alert) and the 5th fail once.
    expect(expected[1]!.split(' ')[0]).toBe(expected[0]!.split(' ')[0])
    const written: string[] = []
    let request = 0
    const producer = {
      sendBatch: async ({
        topicMessages,
      }: {
        topicMessages: { topic: string; messages: { headers?: Record<string, string> }[] }[]
      }) => {
        request++
        if (request === 2 || request === 5)
          throw new TradepulseError('INFRA_KAFKA', 'NOT_LEADER_FOR_PARTITION')
        for (const t of topicMessages) written.push(...pairsOf(t.messages, t.topic))
      },
    } as unknown as Producer
    const store = createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => Date.now() } })
    const { handler } = testAlerterHandler({
      topics,
      rules,
      desks: parsedDesks.desks,
      store,
      publish: (out) => produceAll(producer, out, { maxRequestBytes: 1 }),
    })
    await expect(handler(batch, ctx)).rejects.toThrow('NOT_LEADER_FOR_PARTITION')
    expect(written).toEqual(expected.slice(0, 1))
    // The runner retries the same records: only what was not acknowledged goes out (its 4th record fails).
    await expect(handler(batch, ctx)).rejects.toThrow('NOT_LEADER_FOR_PARTITION')
    await handler(batch, ctx)
    expect(written).toHaveLength(expected.length) // no copy
    expect(new Set(written)).toEqual(new Set(expected))
    // All marked sent: a redelivery after a restart (a fresh handler, same store) publishes nothing.
    const after = setup(store, rules, parsedDesks.desks)
    await after.handler(batch, ctx)
    expect(after.published).toEqual([])
  })

  /** tradepulse_alerts_total summed over its labels, and the latency histogram's count. */
  const alertMetrics = async (registry: Registry) => {
    const metrics = await registry.getMetricsAsJSON()
    const values = (name: string) =>
      (metrics.find((m) => m.name === name)?.values ?? []) as { metricName?: string; value: number }[]
    return {
      alerts: values('tradepulse_alerts_total').reduce((n, v) => n + v.value, 0),
      // Summed over the rule kinds.
      latency: values('tradepulse_alert_latency_seconds')
        .filter((v) => v.metricName?.endsWith('_count'))
        .reduce((n, v) => n + v.value, 0),
    }
  }

  it('counts an alert once in tradepulse_alerts_total and the latency histogram when its failed publish is retried', async () => {
    const parsedDesks = parseDesks(scenarioDesks(), 'yaml')
    if (!parsedDesks.ok) throw new Error('scenario desks do not parse')
    const batch = records()
    const onAlerts: string[] = []
    const keep = (out: { topic: string; headers?: Record<string, string> }[]) => {
      for (const r of out) if (r.topic === topics.alerts.name) onAlerts.push(String(r.headers?.ce_id))
    }
    // A publish that fails with nothing acknowledged (a connection timeout), then one that fails part-way
    // (a request of one record each; the 3rd fails: the desk copies after it are sent by the next retry).
    let attempt = 0
    let request = 0
    const producer = {
      sendBatch: async ({ topicMessages }: { topicMessages: { topic: string; messages: never[] }[] }) => {
        if (++request === 3) throw new TradepulseError('INFRA_KAFKA', 'NOT_LEADER_FOR_PARTITION')
        for (const t of topicMessages) keep(t.messages.map((m: object) => ({ ...m, topic: t.topic })))
      },
    } as unknown as Producer
    const { handler, registry } = testAlerterHandler({
      topics,
      rules,
      desks: parsedDesks.desks,
      store: createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => Date.now() } }),
      publish: async (out) => {
        if (attempt++ === 0)
          throw new TradepulseError('INFRA_KAFKA', 'KafkaJSConnectionError: Connection timeout')
        await produceAll(producer, out, { maxRequestBytes: 1 })
      },
    })
    await expect(handler(batch, ctx)).rejects.toThrow('Connection timeout')
    expect(await alertMetrics(registry)).toEqual({ alerts: 0, latency: 0 })
    await expect(handler(batch, ctx)).rejects.toThrow('NOT_LEADER_FOR_PARTITION')
    await handler(batch, ctx)
    expect(onAlerts.length).toBeGreaterThan(5)
    expect(new Set(onAlerts).size).toBe(onAlerts.length)
    expect(await alertMetrics(registry)).toEqual({ alerts: onAlerts.length, latency: onAlerts.length })
    // A redelivery of the batch (all marked sent) counts nothing more.
    await handler(batch, ctx)
    expect(await alertMetrics(registry)).toEqual({ alerts: onAlerts.length, latency: onAlerts.length })
  })

  it('observes the latency histogram at acknowledgement: alerts an outage held an hour show the hour, their payload stays as decided', async () => {
    const HOUR = 3_600_000
    const ingested = Date.now()
    const batch = scoredRecords(
      topics.scored.name,
      scenarioHeadlines(ingested, `lat-${Math.random().toString(36).slice(2)}-`),
      0,
      () => ingested,
    )
    /**
     * The latency histogram's count, sum (seconds) and observations at most 30 s, 30 min and 1 h, summed
     * over the rule kinds; and the kinds observed.
     */
    const latency = async (registry: Registry) => {
      const values = ((await registry.getMetricsAsJSON()).find(
        (m) => m.name === 'tradepulse_alert_latency_seconds',
      )?.values ?? []) as { metricName?: string; value: number; labels: Record<string, unknown> }[]
      const of = (suffix: string, le?: number) =>
        values
          .filter((v) => v.metricName?.endsWith(suffix) && (le === undefined || v.labels.le === le))
          .reduce((n, v) => n + v.value, 0)
      return {
        count: of('_count'),
        sum: of('_sum'),
        within30s: of('_bucket', 30),
        within30min: of('_bucket', 1800),
        within1h: of('_bucket', 3600),
        kinds: new Set(values.map((v) => v.labels.kind)),
      }
    }
    const alertsOn = (out: OutRecord[]) =>
      out.filter((r) => r.topic === topics.alerts.name).map((r) => JSON.parse(r.value as string) as Alert)

    // Kafka down for an hour and more: the same process retries the batch (its detection time pinned).
    let now = ingested
    let down = true
    const sent: OutRecord[] = []
    const store = createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => Date.now() } })
    const same = testAlerterHandler({
      topics,
      rules,
      store,
      nowMs: () => now,
      publish: async (out) => {
        if (down) throw new TradepulseError('INFRA_KAFKA', 'KafkaJSConnectionError: Connection timeout')
        sent.push(...out)
      },
    })
    await expect(same.handler(batch, ctx)).rejects.toThrow('Connection timeout')
    now += HOUR / 2
    await expect(same.handler(batch, ctx)).rejects.toThrow('Connection timeout')
    now += HOUR / 2
    down = false
    await same.handler(batch, ctx)
    const alerts = alertsOn(sent)
    expect(alerts.length).toBeGreaterThan(5)
    // The payload is as first decided (ids and replays depend on it): detected then, its latency small.
    for (const a of alerts) {
      expect(a.detectedAt).toBe(new Date(ingested).toISOString())
      expect(a.latencyMs).toBe(0)
    }
    // The histogram tells the hour they waited.
    const seen = await latency(same.registry)
    expect(seen.count).toBe(alerts.length)
    expect(seen.within30s).toBe(0)
    expect(seen.sum).toBeGreaterThanOrEqual((alerts.length * HOUR) / 1_000)
    // In a bucket of their own, not +Inf past a 30 s top bucket (where histogram_quantile read 30 s).
    expect(seen.within30min).toBe(0)
    expect(seen.within1h).toBe(alerts.length)
    // By the kind of the rule that raised each.
    expect(seen.kinds).toEqual(new Set(alerts.map((a) => a.ruleKind)))

    // Another process takes the records an hour after one that claimed them and failed: the alerts held in
    // the outbox go out as held, observed at their acknowledgement.
    const shared = createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => Date.now() } })
    const first = testAlerterHandler({
      topics,
      rules,
      store: shared,
      nowMs: ingested,
      publish: async () => {
        throw new TradepulseError('INFRA_KAFKA', 'KafkaJSConnectionError: Connection timeout')
      },
    })
    await expect(first.handler(batch, ctx)).rejects.toThrow('Connection timeout')
    const next = testAlerterHandler({ topics, rules, store: shared, nowMs: ingested + HOUR })
    await next.handler(batch, ctx)
    const resent = alertsOn(next.published)
    expect(resent.length).toBe(alerts.length)
    const after = await latency(next.registry)
    expect(after.count).toBe(resent.length)
    expect(after.within30s).toBe(0)
    expect(after.sum).toBeGreaterThanOrEqual((resent.length * HOUR) / 1_000)
  })

  it('gives an indicator alert on a busy scope its evidence: newer headlines about other dimensions do not push it out', async () => {
    const level = parseRules(`version: t-1\nrules:\n${cnLevelRule(3_600_000)}`, 'yaml')
    if (!level.ok) throw new Error('rules do not parse')
    const store = createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => Date.now() } })
    const { handler, published } = setup(store, level)
    const T0 = Date.parse('2026-03-02T08:00:00Z')
    // One tariff headline on CN, then more market news on CN than memory keeps per scope.
    const headlines = [cnHeadline('tariff-1', T0 + 60_000, { tariff: -0.8 })]
    for (let i = 0; i < 20; i++)
      headlines.push(cnHeadline(`market-${i}`, T0 + (i + 2) * 60_000, { tariff: null, market: 0.4 }))
    const batch = scoredRecords(topics.scored.name, headlines)
    const u = cnTariffUpdate(T0, 30, -0.6, Date.now())
    batch.push({
      topic: topics.indicators.name,
      partition: 0,
      offset: '0',
      key: Buffer.from(u.key),
      value: Buffer.from(JSON.stringify(u)),
      headers: {},
      timestamp: Date.now(),
    })
    await handler(batch, ctx)
    const alerts = published
      .filter((r) => r.topic === topics.alerts.name)
      .map((r) => JSON.parse(r.value as string) as Alert)
    expect(alerts.map((a) => a.rule)).toEqual(['tariff_level_cn'])
    expect(alerts[0]!.evidence).toEqual([
      { headlineId: 'tariff-1', headline: 'China headline tariff-1', score: -0.8, cues: ['raises tariffs'] },
    ])
  })

  describe("an indicator alert's scorerVersion is that of its evidence in its scope", () => {
    const T0 = Date.parse('2026-03-02T08:00:00Z')
    const regime = parseRules(
      `version: t-1
rules:
  - id: tariff_tone_24h_regime
    kind: level
    dimensions: [tariff]
    scopes: [region:JP, region:KR]
    field: mean
    window: 24h
    direction: down
    threshold: -0.5
    hysteresis: 0.15
    severity: critical
    cooldownMs: 0
`,
      'yaml',
    )
    if (!regime.ok) throw new Error('rules do not parse')
    /** A tariff headline (score `tariff`) about `regions` (none: no scope but global), scored by `scorerVersion`. */
    const headline = (
      id: string,
      atMin: number,
      tariff: number,
      regions: string[],
      scorerVersion: string,
    ) => {
      const h = cnHeadline(id, T0 + atMin * 60_000, { tariff })
      return { ...h, entities: { ...h.entities, regions }, scorerVersion }
    }
    let offset = 0
    const update = (region: string, atMin: number): InRecord => {
      const scope = { kind: 'region' as const, id: region }
      const u = { ...cnTariffUpdate(T0, atMin, -0.7, Date.now()), scope, key: indicatorKey('tariff', scope) }
      return indicatorRecord(topics.indicators.name, u, offset++, Date.now())
    }
    const run = () => {
      const store = createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => Date.now() } })
      const { handler, published } = setup(store, regime)
      const alerts = () =>
        published
          .filter((r) => r.topic === topics.alerts.name)
          .map((r) => JSON.parse(r.value as string) as Alert)
          .map((a) => ({
            scope: a.scope.id,
            scorerVersion: a.scorerVersion,
            evidence: a.evidence.map((e) => e.headlineId),
          }))
      return { handler, alerts }
    }

    it('is "unknown" while memory holds no evidence of the scope (after a restart), whatever other scopes saw', async () => {
      const { handler, alerts } = run() // a fresh process: its headline memory is empty
      await handler([update('JP', 30)], ctx)
      const canary = headline('canary-1', 31, -0.8, [], 'scoring-9.9.9-canary') // no entities: global only
      await handler([...scoredRecords(topics.scored.name, [canary], 100), update('KR', 32)], ctx)
      expect(alerts()).toEqual([
        { scope: 'JP', scorerVersion: 'unknown', evidence: [] },
        { scope: 'KR', scorerVersion: 'unknown', evidence: [] },
      ])
    })

    it("is its scope's evidence's, not that of a newer headline about another scope", async () => {
      const { handler, alerts } = run()
      const kr = headline('kr-1', 10, -0.8, ['KR'], 'scoring-2.0.115')
      const canary = headline('canary-1', 20, -0.8, [], 'scoring-9.9.9-canary')
      await handler([...scoredRecords(topics.scored.name, [kr, canary], 100), update('KR', 30)], ctx)
      expect(alerts()).toEqual([{ scope: 'KR', scorerVersion: 'scoring-2.0.115', evidence: ['kr-1'] }])
    })

    it('is that of the first headline of its evidence when scorers of several versions scored the scope', async () => {
      const { handler, alerts } = run()
      // The stronger headline leads a sentiment alert's evidence, though the other is newer.
      const strong = headline('kr-strong', 10, -0.9, ['KR'], 'scoring-2.0.115')
      const newer = headline('kr-newer', 20, -0.6, ['KR'], 'scoring-2.0.116')
      await handler([...scoredRecords(topics.scored.name, [strong, newer], 100), update('KR', 30)], ctx)
      expect(alerts()).toEqual([
        { scope: 'KR', scorerVersion: 'scoring-2.0.115', evidence: ['kr-strong', 'kr-newer'] },
      ])
    })
  })

  it('suppresses the alerts of a headline older than maxEventAgeMs as stale, and decides a retried batch by its first detection time', async () => {
    const DAY = 86_400_000
    const store = () => createMemoryAlertStore({ dedupWindowMs: 7 * DAY, clock: { now: () => Date.now() } })
    const alertsOn = (published: OutRecord[]) => published.filter((r) => r.topic === topics.alerts.name)
    const stale = async (registry: Registry) =>
      (await registry.getSingleMetricAsString('tradepulse_alerts_suppressed_total')).match(
        /reason="stale"} (\d+)/,
      )?.[1]
    const batch = records() // published from SCENARIO_T0 on, over less than a day
    // Read two days after: nothing goes out, each alert it would have raised counted as stale.
    const late = testAlerterHandler({
      topics,
      rules,
      store: store(),
      nowMs: SCENARIO_T0 + 2 * DAY,
      maxEventAgeMs: DAY,
    })
    await late.handler(batch, ctx)
    expect(late.published).toEqual([])
    // The same batch read the day it was published, or with the guard off (0), raises its alerts.
    const live = testAlerterHandler({
      topics,
      rules,
      store: store(),
      nowMs: SCENARIO_T0 + DAY,
      maxEventAgeMs: DAY,
    })
    await live.handler(batch, ctx)
    const off = testAlerterHandler({
      topics,
      rules,
      store: store(),
      nowMs: SCENARIO_T0 + 2 * DAY,
      maxEventAgeMs: 0,
    })
    await off.handler(batch, ctx)
    expect(alertsOn(live.published).length).toBeGreaterThan(5)
    expect(alertsOn(off.published).map((r) => r.key)).toEqual(alertsOn(live.published).map((r) => r.key))
    const raised = (await live.registry.getMetricsAsJSON())
      .filter((m) => m.name === 'tradepulse_alerts_total' || m.name === 'tradepulse_alerts_suppressed_total')
      .flatMap((m) => m.values as { value: number }[])
      .reduce((n, v) => n + v.value, 0)
    expect(await stale(late.registry)).toBe(String(raised))
    expect(await stale(live.registry)).toBeUndefined()

    // Claimed within the age, the publish failed, retried once the clock has passed it: the claims made
    // are sent, as they were decided (the same alerts, the same detection time), not left behind as stale.
    let now = SCENARIO_T0 + DAY
    let faults = 1
    const sent: OutRecord[] = []
    const retried = testAlerterHandler({
      topics,
      rules,
      store: store(),
      nowMs: () => now,
      maxEventAgeMs: DAY,
      publish: async (out) => {
        if (faults-- > 0)
          throw new TradepulseError('INFRA_KAFKA', 'KafkaJSConnectionError: Connection timeout')
        sent.push(...out)
      },
    })
    await expect(retried.handler(batch, ctx)).rejects.toThrow('Connection timeout')
    now += DAY
    await retried.handler(batch, ctx)
    expect(alertsOn(sent).map((r) => r.value)).toEqual(alertsOn(live.published).map((r) => r.value))
    expect(await stale(retried.registry)).toBeUndefined()
  })

  it('publishes again what a fresh process claimed but never confirmed (a crash after the claim)', async () => {
    const memory = createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => Date.now() } })
    const crashed: AlertStore = {
      ...memory,
      async commit() {
        throw new TradepulseError('INFRA_REDIS', 'connection lost')
      },
    }
    const before = setup(crashed)
    const batch = records()
    await expect(before.handler(batch, ctx)).rejects.toThrow('connection lost')
    // A new process (nothing in memory) redelivers the same records: "resend", published again.
    const after = setup(memory)
    await after.handler(batch, ctx)
    expect(after.published.map((r) => r.key)).toEqual(before.published.map((r) => r.key))
  })

  it('keeps an indicator line armed when the cooldown holds its alert back, so it fires once the cooldown is over', async () => {
    const level = parseRules(`version: t-1\nrules:\n${cnLevelRule(3_600_000)}`, 'yaml')
    if (!level.ok) throw new Error('rules do not parse')
    const store = createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => Date.now() } })
    const { handler, published } = setup(store, level)
    const T0 = Date.parse('2026-03-02T08:00:00Z')
    let offset = 0
    const update = (atMin: number, mean: number): InRecord => {
      const u = cnTariffUpdate(T0, atMin, mean, Date.now())
      return {
        topic: topics.indicators.name,
        partition: 0,
        offset: String(offset++),
        key: Buffer.from(u.key),
        value: Buffer.from(JSON.stringify(u)),
        headers: {},
        timestamp: Date.now(),
      }
    }
    const alertsAt = () => published.filter((r) => r.topic === topics.alerts.name).length
    // Alert ids are bucketed by the cooldown (an hour here): a second crossing in the same hour is the
    // same alert; one in the next hour, within the cooldown, is held back.
    await handler([update(50, -0.6)], ctx) // crosses: fires
    expect(alertsAt()).toBe(1)
    await handler([update(55, -0.2)], ctx) // back past the band: re-armed
    await handler([update(65, -0.7)], ctx) // crosses again, 15 min after the alert: held back
    expect(alertsAt()).toBe(1)
    await handler([update(115, -0.7)], ctx) // still past the line, the cooldown over: fires
    expect(alertsAt()).toBe(2)

    // A second crossing in the time bucket of an alert already out is that alert (a duplicate id): the
    // line stays armed too, and the alert comes once the cooldown is over.
    await handler([update(130, -0.2)], ctx) // back: re-armed
    await handler([update(140, -0.7)], ctx) // crosses in the bucket of the alert at 115: not sent
    expect(alertsAt()).toBe(2)
    await handler([update(185, -0.7)], ctx) // next bucket, 70 min after the alert at 115: fires
    expect(alertsAt()).toBe(3)

    // Several updates in one batch: a crossing held back does not re-arm a line a later update moved.
    await handler([update(190, -0.2), update(200, -0.7), update(205, -0.2), update(250, -0.7)], ctx)
    expect(alertsAt()).toBe(4) // 200 held back (15 min after 185), 250 fires
    await handler([update(315, -0.7)], ctx) // still past since 250, so disarmed: nothing
    expect(alertsAt()).toBe(4)
  })

  describe('indicator updates batched together decide as one batch each', () => {
    const T0 = Date.parse('2026-03-02T08:00:00Z')
    const RULES = `version: t-2
rules:
${cnLevelRule(3_600_000).replace('scopes: [region:CN]', 'scopes: [region:CN, region:US]')}  - id: tariff_momentum
    kind: momentum_shift
    dimensions: [tariff]
    scopes: [region:CN, region:US]
    direction: both
    threshold: 0.3
    hysteresis: 0.1
    minVolume: 3
    volumeWindow: 1h
    severity: info
    cooldownMs: 1800000
`
    const parsedRules = parseRules(RULES, 'yaml')
    if (!parsedRules.ok) throw new Error('rules do not parse')
    const ruleSet: RuleSet = parsedRules

    type Step = { region: string; atMin: number; mean: number; momentum?: number }
    const recordOf = (s: Step, offset: number): InRecord => {
      const scope = { kind: 'region' as const, id: s.region }
      const u: IndicatorUpdate = {
        key: indicatorKey('tariff', scope),
        dimension: 'tariff',
        scope,
        asOf: new Date(T0 + s.atMin * 60_000).toISOString(),
        mean: { '15m': s.mean, '1h': s.mean, '24h': s.mean },
        volume: { '15m': 5, '1h': 10, '24h': 20 },
        buzz: 0,
        momentum: s.momentum ?? 0,
        diffusion: 0,
        count: 20,
        updatedAt: new Date(T0).toISOString(),
      }
      return {
        topic: topics.indicators.name,
        partition: s.region === 'CN' ? 0 : 1,
        offset: String(offset),
        key: Buffer.from(u.key),
        value: Buffer.from(JSON.stringify(u)),
        headers: {},
        timestamp: T0,
      }
    }

    /** The alerts on alerts.v1 (rule, scope, event time, id) after the steps, handled in the given batches. */
    async function alertsFor(steps: Step[], batchSizes: (n: number) => number, store?: AlertStore) {
      const s = store ?? createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => T0 } })
      const { handler, published } = testAlerterHandler({
        topics,
        rules: ruleSet,
        store: s,
        nowMs: T0 + 1_000 * 60_000,
      })
      const records = steps.map(recordOf)
      for (let i = 0; i < records.length; ) {
        const n = Math.max(1, batchSizes(records.length - i))
        await handler(records.slice(i, i + n), ctx)
        i += n
      }
      return published
        .filter((r) => r.topic === topics.alerts.name)
        .map((r) => JSON.parse(r.value as string) as Alert)
        .map((a) => `${a.rule} ${a.scope.id} ${a.publishedAt} ${a.id}`)
    }
    const oneEach = () => 1
    const allTogether = (left: number) => left

    it('fires a crossing held back by the cooldown once the cooldown is over, though a later update of its batch stays past the line', async () => {
      const steps: Step[] = [
        { region: 'CN', atMin: 50, mean: -0.6 }, // fires
        { region: 'CN', atMin: 55, mean: -0.2 }, // re-armed
        { region: 'CN', atMin: 65, mean: -0.7 }, // crosses 15 min after the alert: held back
        { region: 'CN', atMin: 66, mean: -0.7 }, // still past, in the same batch
        { region: 'CN', atMin: 115, mean: -0.7 }, // still past, the cooldown over: fires
        { region: 'CN', atMin: 180, mean: -0.7 }, // still past since 115: nothing
      ]
      const batches = [1, 1, 2, 1, 1]
      const together = await alertsFor(steps, () => batches.shift()!)
      expect(together.map((a) => a.split(' ').slice(0, 3).join(' '))).toEqual([
        'tariff_level_cn CN 2026-03-02T08:50:00.000Z',
        'tariff_level_cn CN 2026-03-02T09:55:00.000Z',
      ])
      expect(together).toEqual(await alertsFor(steps, oneEach))
    })

    it('fires the same alerts for random updates whether they come one per batch, all in one, or in chunks', async () => {
      let seed = 42
      const random = () => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
        return seed / 2 ** 31
      }
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!
      for (let run = 0; run < 40; run++) {
        const at: Record<string, number> = { CN: 0, US: 0 }
        const steps: Step[] = []
        for (let k = 0; k < 30; k++) {
          const region = pick(['CN', 'CN', 'US'])
          // Mostly forward in event time, now and then a late (stale) or a repeated update.
          at[region]! += pick([1, 5, 10, 20, 40, 70, 0, -10])
          steps.push({
            region,
            atMin: at[region]!,
            mean: pick([-0.8, -0.6, -0.5, -0.4, -0.3, -0.1]),
            momentum: pick([-0.5, -0.3, -0.1, 0, 0.15, 0.35]),
          })
        }
        const expected = await alertsFor(steps, oneEach)
        expect(await alertsFor(steps, allTogether), `run ${run}`).toEqual(expected)
        expect(await alertsFor(steps, () => 1 + Math.floor(random() * 6)), `run ${run}`).toEqual(expected)
      }
    })

    it('does not re-arm the line of an alert that was sent when the batch is retried after its sent mark was written but not its hysteresis', async () => {
      const memory = createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => T0 } })
      let failures = 1
      const store: AlertStore = {
        ...memory,
        async commit(sent, moved) {
          if (failures-- <= 0) return memory.commit(sent, moved)
          await memory.commit(sent, new Map()) // the sent marks made it, the hysteresis did not
          throw new TradepulseError('INFRA_REDIS', 'connection lost')
        },
      }
      const records = [
        { region: 'CN', atMin: 50, mean: -0.6 }, // fires
        { region: 'CN', atMin: 115, mean: -0.7 }, // still past the line: nothing
        { region: 'CN', atMin: 180, mean: -0.7 },
      ].map(recordOf)
      const { handler, published } = testAlerterHandler({ topics, rules: ruleSet, store })
      await expect(handler(records.slice(0, 1), ctx)).rejects.toThrow('connection lost')
      await handler(records.slice(0, 1), ctx) // the runner's retry: the alert is found sent
      await handler(records.slice(1, 2), ctx)
      await handler(records.slice(2, 3), ctx)
      const alerts = published.filter((r) => r.topic === topics.alerts.name)
      expect(alerts.map((r) => (JSON.parse(r.value as string) as Alert).publishedAt)).toEqual([
        '2026-03-02T08:50:00.000Z',
      ])
    })
  })

  it('keeps as sent an alert whose desk copy Kafka refuses for good while its alerts.v1 record went out, and dead-letters its record', async () => {
    const tariff = parseRules(
      `version: r-1
rules:
  - id: tariff_down
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:CN]
    direction: down
    threshold: 0.7
    minRelevance: 0.5
    severity: warning
    cooldownMs: 3600000
`,
      'yaml',
    )
    const desks = parseDesks('version: 1\ndesks:\n  - id: cn\n    scopes: [region:CN]\n', 'yaml')
    if (!tariff.ok || !desks.ok) throw new Error('rules or desks do not parse')
    const deskTopic = topics.deskAlerts('cn').name
    const written: OutRecord[] = []
    // The desk topic takes no record this large (its max.message.bytes lower than alerts.v1's).
    const tooLarge = () =>
      Object.assign(new Error('The request included a message larger than the max message size'), {
        type: 'MESSAGE_TOO_LARGE',
      })
    const publish = async (out: OutRecord[]) => {
      if (out.length > 1 && out.some((r) => r.topic === deskTopic)) throw tooLarge()
      if (out[0]?.topic === deskTopic) throw tooLarge()
      written.push(...out)
    }
    const T0 = Date.parse('2026-03-02T08:00:00Z')
    const record = (id: string, atMin: number, offset: number): InRecord => ({
      topic: topics.scored.name,
      partition: 0,
      offset: String(offset),
      key: Buffer.from(id),
      value: Buffer.from(JSON.stringify(cnHeadline(id, T0 + atMin * 60_000, { tariff: -0.8 }))),
      headers: {},
      timestamp: T0,
    })
    const { handler } = testAlerterHandler({
      topics,
      rules: tariff,
      desks: desks.desks,
      store: createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => T0 } }),
      nowMs: T0,
      publish,
    })
    const first = record('a', 1, 0)
    const outcomes = await handler([first], ctx)
    expect(outcomes).toEqual([
      expect.objectContaining({
        kind: 'dlq',
        reason: 'output_refused',
        message: expect.stringMatching(/other records were sent/),
      }),
    ])
    expect(written.map((r) => r.topic)).toEqual([topics.alerts.name])
    // Sent: a redelivery of the record, or another headline in its id's hour, sends nothing more.
    expect(await handler([first], ctx)).toEqual([{ kind: 'ok' }])
    await handler([record('b', 20, 1)], ctx)
    expect(written.map((r) => r.topic)).toEqual([topics.alerts.name])
  })

  describe('a record claimed by a failed attempt, retried by another process (the outbox)', () => {
    const DAY = 86_400_000
    const kafkaDown = async () => {
      throw new TradepulseError('INFRA_KAFKA', 'KafkaJSConnectionError: Connection timeout')
    }
    const scenarioDeskList = () => {
      const parsedDesks = parseDesks(scenarioDesks(), 'yaml')
      if (!parsedDesks.ok) throw new Error('scenario desks do not parse')
      return parsedDesks.desks
    }
    /** Every record published: its topic and value (the trace context is new for each attempt). */
    const recordsOf = (published: OutRecord[]) => published.map((r) => `${r.topic} ${r.value}`)

    it('sends the alerts the failed attempt claimed, as it decided them and to its desks, though the headlines turned stale on the clock of the process that retries them', async () => {
      const shared = createMemoryAlertStore({ dedupWindowMs: 7 * DAY, clock: { now: () => Date.now() } })
      const batch = records()
      // Without a fault: what the batch publishes, read the day it was published, with the desks.
      const clean = testAlerterHandler({
        topics,
        rules,
        desks: scenarioDeskList(),
        store: createMemoryAlertStore({ dedupWindowMs: 7 * DAY, clock: { now: () => Date.now() } }),
        nowMs: SCENARIO_T0 + DAY,
        maxEventAgeMs: DAY,
      })
      await clean.handler(batch, ctx)
      expect(clean.published.filter((r) => r.topic !== topics.alerts.name).length).toBeGreaterThan(0)
      // Process A claims them the same day and fails to publish; process B gets the records a day later,
      // when every headline is stale to it. B serves the same desks, each paged for critical alerts only
      // there: the desk copies go where A routed them.
      const a = testAlerterHandler({
        topics,
        rules,
        desks: scenarioDeskList(),
        store: shared,
        nowMs: SCENARIO_T0 + DAY,
        maxEventAgeMs: DAY,
        publish: kafkaDown,
      })
      await expect(a.handler(batch, ctx)).rejects.toThrow('Connection timeout')
      const b = testAlerterHandler({
        topics,
        rules,
        desks: scenarioDeskList().map((d) => ({ ...d, minSeverity: 'critical' as const })),
        store: shared,
        nowMs: SCENARIO_T0 + 2 * DAY,
        maxEventAgeMs: DAY,
      })
      await b.handler(batch, ctx)
      expect(recordsOf(b.published)).toEqual(recordsOf(clean.published))
      // Committed: the outbox entries are gone, and the records again (a redelivery) send nothing.
      expect(await shared.claimedFor(batch.map((r) => `${r.topic}/${r.partition}/${r.offset}`))).toEqual(
        new Map(),
      )
      await b.handler(batch, ctx)
      expect(recordsOf(b.published)).toEqual(recordsOf(clean.published))
    })

    it('sends the alerts claimed for a record though the retry dead-letters it, the record still dead-lettered', async () => {
      const shared = createMemoryAlertStore({ dedupWindowMs: 7 * DAY, clock: { now: () => Date.now() } })
      const batch = records()
      const over = (store: AlertStore, consumed = topics, publish?: () => Promise<void>) =>
        testAlerterHandler({
          topics: consumed,
          rules,
          desks: [],
          store,
          nowMs: SCENARIO_T0 + DAY,
          ...(publish ? { publish } : {}),
        })
      const clean = over(createMemoryAlertStore({ dedupWindowMs: 7 * DAY, clock: { now: () => Date.now() } }))
      await clean.handler(batch, ctx)
      const alertValues = (published: OutRecord[], alertsTopic: string) =>
        published.filter((r) => r.topic === alertsTopic).map((r) => String(r.value))
      expect(alertValues(clean.published, topics.alerts.name).length).toBeGreaterThan(0)
      await expect(over(shared, topics, kafkaDown).handler(batch, ctx)).rejects.toThrow('Connection timeout')
      // B no longer consumes the topics those records came from: each is dead-lettered as unknown_topic.
      const moved = createTopicCatalogue('moved.')
      const b = over(shared, moved)
      const outcomes = await b.handler(batch, ctx)
      expect(outcomes.every((o) => o.kind === 'dlq')).toBe(true)
      expect(alertValues(b.published, moved.alerts.name)).toEqual(
        alertValues(clean.published, topics.alerts.name),
      )
      expect(await shared.claimedFor(batch.map((r) => `${r.topic}/${r.partition}/${r.offset}`))).toEqual(
        new Map(),
      )
    })

    it('sends the held alert, not a second of the same event under another id, after a reload changed its cooldown', async () => {
      const shared = createMemoryAlertStore({ dedupWindowMs: 7 * DAY, clock: { now: () => Date.now() } })
      const batch = records()
      const over = (ruleSet: RuleSet, publish?: () => Promise<void>) =>
        testAlerterHandler({
          topics,
          rules: ruleSet,
          desks: [],
          store: shared,
          nowMs: SCENARIO_T0 + DAY,
          ...(publish ? { publish } : {}),
        })
      await expect(over(rules, kafkaDown).handler(batch, ctx)).rejects.toThrow('Connection timeout')
      const noCooldown: RuleSet = { ...rules, rules: rules.rules.map((r) => ({ ...r, cooldownMs: 0 })) }
      const b = over(noCooldown)
      await b.handler(batch, ctx)
      const sent = b.published
        .filter((r) => r.topic === topics.alerts.name)
        .map((r) => JSON.parse(String(r.value)) as Alert)
      // One alert an event of a stream: rule, dimension, scope, direction and the event's time.
      const events = sent.map(
        (a) => `${a.rule}|${a.dimension}|${JSON.stringify(a.scope)}|${a.direction}|${a.publishedAt}`,
      )
      expect(sent.length).toBeGreaterThan(0)
      expect(new Set(events).size).toBe(events.length)
    })

    it('sends the desk copies of the alerts held only to the desks the retrying process still serves', async () => {
      const shared = createMemoryAlertStore({ dedupWindowMs: 7 * DAY, clock: { now: () => Date.now() } })
      const batch = records()
      const processOver = (store: AlertStore, desks: Desk[], publish?: () => Promise<void>) =>
        testAlerterHandler({
          topics,
          rules,
          desks,
          store,
          nowMs: SCENARIO_T0 + DAY,
          ...(publish ? { publish } : {}),
        })
      const clean = processOver(
        createMemoryAlertStore({ dedupWindowMs: 7 * DAY, clock: { now: () => Date.now() } }),
        scenarioDeskList(),
      )
      await clean.handler(batch, ctx)
      const a = processOver(shared, scenarioDeskList(), kafkaDown)
      await expect(a.handler(batch, ctx)).rejects.toThrow('Connection timeout')
      // B's desks file no longer has the supply and risk desks.
      const b = processOver(
        shared,
        scenarioDeskList().filter((d) => d.id === 'tariff'),
      )
      await b.handler(batch, ctx)
      const kept = new Set([topics.alerts.name, topics.deskAlerts('tariff').name])
      expect(clean.published.some((r) => !kept.has(r.topic))).toBe(true)
      expect(recordsOf(b.published)).toEqual(recordsOf(clean.published.filter((r) => kept.has(r.topic))))
    })

    it('claims nothing for a record whose outbox entry could not be written, so a later alert of its id is not held back', async () => {
      const tariffAt = (threshold: number) => {
        const parsedRules = parseRules(
          `version: r-${threshold}
rules:
  - id: tariff_down
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:CN]
    direction: down
    threshold: ${threshold}
    minRelevance: 0.5
    severity: warning
    cooldownMs: 3600000
`,
          'yaml',
        )
        if (!parsedRules.ok) throw new Error('rules do not parse')
        return parsedRules
      }
      const T0 = Date.parse('2026-03-02T08:00:00Z')
      let offset = 0
      const record = (id: string, atMin: number, tariff: number): InRecord => ({
        topic: topics.scored.name,
        partition: 0,
        offset: String(offset++),
        key: Buffer.from(id),
        value: Buffer.from(JSON.stringify(cnHeadline(id, T0 + atMin * 60_000, { tariff }))),
        headers: {},
        timestamp: T0,
      })
      const shared = createMemoryAlertStore({ dedupWindowMs: 7 * DAY, clock: { now: () => T0 } })
      const failingHold: AlertStore = {
        ...shared,
        async holdClaims() {
          throw new TradepulseError('INFRA_REDIS', 'Command timed out')
        },
      }
      const first = [record('a', 1, -0.8)]
      const a = testAlerterHandler({ topics, rules: tariffAt(0.7), store: failingHold, nowMs: T0 })
      await expect(a.handler(first, ctx)).rejects.toThrow('Command timed out')
      // Another process, rules at 0.95: 'a' raises nothing there; 'b', in the same hour (a's alert id), fires.
      const b = testAlerterHandler({ topics, rules: tariffAt(0.95), store: shared, nowMs: T0 })
      await b.handler(first, ctx)
      await b.handler([record('b', 20, -0.97)], ctx)
      expect(
        b.published
          .filter((r) => r.topic === topics.alerts.name)
          .map((r) => (JSON.parse(r.value as string) as Alert).evidence[0]?.headlineId),
      ).toEqual(['b'])
    })

    it('sends the indicator alert claimed under the old rules, and decides the stream by the new ones from there', async () => {
      const levelAt = (threshold: number) => {
        const parsedRules = parseRules(
          `version: t${threshold}\nrules:\n${cnLevelRule(3_600_000).replace('threshold: -0.5', `threshold: ${threshold}`)}`,
          'yaml',
        )
        if (!parsedRules.ok) throw new Error('rules do not parse')
        return parsedRules
      }
      const T0 = Date.parse('2026-03-02T08:00:00Z')
      const store = createMemoryAlertStore({ dedupWindowMs: DAY, clock: { now: () => T0 } })
      let offset = 0
      const update = (atMin: number, mean: number): InRecord => {
        const u = cnTariffUpdate(T0, atMin, mean)
        return {
          topic: topics.indicators.name,
          partition: 0,
          offset: String(offset++),
          key: Buffer.from(u.key),
          value: Buffer.from(JSON.stringify(u)),
          headers: {},
          timestamp: T0,
        }
      }
      const first = [update(50, -0.6)]
      // A (line at -0.5): the update crosses, its alert is claimed; the publish fails and A is gone.
      const a = testAlerterHandler({ topics, rules: levelAt(-0.5), store, nowMs: T0, publish: kafkaDown })
      await expect(a.handler(first, ctx)).rejects.toThrow('Connection timeout')
      // B (line at -0.8): -0.6 crosses nothing there, but A's alert goes out.
      const b = testAlerterHandler({ topics, rules: levelAt(-0.8), store, nowMs: T0 })
      await b.handler(first, ctx)
      await b.handler([update(70, -0.85)], ctx) // crosses -0.8, 20 min after A's alert: held back, armed
      await b.handler([update(130, -0.85)], ctx) // still past, the cooldown over: fires
      const alerts = b.published
        .filter((r) => r.topic === topics.alerts.name)
        .map((r) => JSON.parse(r.value as string) as Alert)
        .map((x) => `${x.publishedAt} ${x.threshold}`)
      expect(alerts).toEqual(['2026-03-02T08:50:00.000Z -0.5', '2026-03-02T10:10:00.000Z -0.8'])
    })
  })
})

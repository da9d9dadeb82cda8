import { writeFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Writable } from 'node:stream'
import { Alert, createTopicCatalogue, type DeadLetter, type ScoredHeadline } from '@tradepulse/contracts'
import { createLogger, loadConfig } from '@tradepulse/platform'
import { type CollectedMessage, collectTopic, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { testKafka } from '@tradepulse/testing/kafka'
import type { Producer } from 'kafkajs'
import type { Gauge } from 'prom-client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ALERT_CE_TYPE } from './alert-records.ts'
import { type AlerterApp, buildAlerterApp } from './build-app.ts'
import { AlerterConfig, WEBHOOK_MAX_NEWS_AGE_MS } from './config.ts'
import { alerterEnv, alerterTopics, listenForWebhooks } from './kafka-set-up.ts'
import {
  deskPage,
  SCENARIO_EXPECTED,
  SCENARIO_RULES,
  SCENARIO_T0,
  scenarioDeskPages,
  scenarioDesks,
  scenarioHeadlines,
  scenarioUpdates,
} from './scenario-fixtures.ts'
import { ALERT_ID_HEADER, SIGNATURE_HEADER, verifyWebhookSignature } from './webhook-signature.ts'

const MIN = 60_000
const alertOf = (m: CollectedMessage) => JSON.parse(m.value!.toString()) as Alert
/** `<rule> <scope> <dimension> <direction> <trigger>`, trigger = headline id or @minutes of an indicator's asOf. */
function describeAlert(a: Alert): string {
  const trigger =
    a.ruleKind === 'headline_shock' || a.ruleKind === 'uncertainty_spike'
      ? (a.evidence[0]?.headlineId ?? '?').replace(/^.*:/, '')
      : `@${(Date.parse(a.publishedAt) - SCENARIO_T0) / MIN}`
  return `${a.rule} ${a.scope.kind}:${a.scope.id} ${a.dimension} ${a.direction} ${trigger}`
}
const isIndicatorAlert = (description: string) => description.includes(' @')

/** Descriptions of a topic's alerts per scope (the record key), in the order the topic holds them. */
function perScope(messages: CollectedMessage[]): Map<string, string[]> {
  const scopes = new Map<string, string[]>()
  const ordered = [...messages].sort(
    (x, y) => x.partition - y.partition || Number(x.offset) - Number(y.offset),
  )
  for (const m of ordered) {
    const key = m.key ?? '(no key)'
    scopes.set(key, [...(scopes.get(key) ?? []), describeAlert(alertOf(m))])
  }
  return scopes
}

/**
 * Per scope, a topic holds its alerts in the script's order wherever that order is determined: `stages`
 * (alert descriptions, in the order they were produced) follow one another, as the test waits for each
 * before producing the next; within a stage, headline alerts keep the order of their headlines (one
 * partition in, rule by rule) and indicator alerts the order of their updates (one partition in), but the
 * two input topics are handled side by side, so headline and indicator alerts of one stage may interleave.
 */
function expectScriptOrder(topic: string, messages: CollectedMessage[], stages: string[][]) {
  const stageOf = new Map(stages.flatMap((stage, i) => stage.map((d) => [d, i] as const)))
  const script = stages.flat()
  const scopes = perScope(messages)
  expect(scopes.size, topic).toBeGreaterThan(0)
  for (const [scope, got] of scopes) {
    expect(
      got.filter((d) => d.split(' ')[1] !== scope),
      `${topic}: keyed ${scope}`,
    ).toEqual([])
    const stagesGot = got.map((d) => stageOf.get(d) ?? -1)
    expect(stagesGot, `${topic} ${scope}: ${got.join(', ')}`).toEqual([...stagesGot].sort((x, y) => x - y))
    for (const indicator of [false, true]) {
      const inStream = (d: string) => isIndicatorAlert(d) === indicator
      expect(got.filter(inStream), `${topic} ${scope}`).toEqual(
        script.filter((d) => inStream(d) && got.includes(d)),
      )
    }
  }
}

describe('alerter on Kafka and Redis', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  let prefix: string
  let producer: Producer
  const cleanups: (() => Promise<unknown>)[] = []
  beforeEach(async () => {
    // One partition in: the script's order is the order the alerter sees.
    prefix = (await alerterTopics(kafkaBrokers, 'alerter', { alerts: 3, desks: 2 })).prefix
    producer = await testProducer(kafkaBrokers)
    cleanups.push(() => producer.disconnect())
  })
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  function start(
    opts: { desks?: string; env?: Record<string, string>; extra?: Record<string, string> } = {},
  ) {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(...String(chunk).trim().split('\n'))
        cb()
      },
    })
    const config = loadConfig(
      AlerterConfig,
      alerterEnv({
        kafkaBrokers,
        redisUrl,
        prefix,
        rules: { text: SCENARIO_RULES },
        desks: opts.desks ?? scenarioDesks(),
        extra: {
          ALERTER_RULES_RELOAD_DEBOUNCE_MS: '50',
          // The scenario's news is dated 2026-03-02: posted whatever its age (webhook-news-age.int.test.ts
          // covers the bound).
          ALERTER_WEBHOOK_MAX_NEWS_AGE_MS: '0',
          ...opts.extra,
        },
      }),
    )
    const app: AlerterApp = buildAlerterApp(config, {
      log: createLogger({ level: 'info' }, sink),
      env: opts.env ?? {},
    })
    cleanups.push(() => app.stop())
    return { app, lines, topics: createTopicCatalogue(prefix), rulesFile: config.ALERTER_RULES_FILE }
  }

  /** Headlines, then (after `between`, when given) the indicator updates. */
  async function produceScenario(
    topics: ReturnType<typeof createTopicCatalogue>,
    between?: () => Promise<unknown>,
    idPrefix = '',
  ) {
    const now = Date.now()
    const headlines = scenarioHeadlines(now, idPrefix)
    await producer.send({
      topic: topics.scored.name,
      messages: headlines.map((h, i) => ({
        key: h.id,
        value: JSON.stringify(h),
        // The first headline carries a trace context; the alerter passes it on.
        ...(i === 0 ? { headers: { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` } } : {}),
      })),
    })
    await between?.()
    await producer.send({
      topic: topics.indicators.name,
      messages: scenarioUpdates(now).map((u) => ({ key: u.key, value: JSON.stringify(u) })),
    })
    return headlines
  }

  /** The ingestedAt each sentinel's firing indicator update carried, by sentinel id. */
  const sentinelEntries = new Map<string, string>()

  /** A headline and an indicator update at `atMin` that each raise one known alert, produced after everything else. */
  async function produceSentinel(topics: ReturnType<typeof createTopicCatalogue>, atMin: number, id: string) {
    const now = Date.now()
    const [h] = scenarioHeadlines(now, `${id}-`)
    const sentinel: ScoredHeadline = {
      ...h!,
      id,
      publishedAt: new Date(SCENARIO_T0 + atMin * MIN).toISOString(),
    }
    const [, base] = scenarioUpdates(now)
    const at = (m: number, mean: number) => ({
      ...base!,
      asOf: new Date(SCENARIO_T0 + m * MIN).toISOString(),
      mean: { ...base!.mean, '1h': mean },
    })
    // The firing update says when its newest headline entered (as the aggregator's do); the alert keeps it.
    const firing = { ...at(atMin, -0.9), ingestedAt: new Date(now - 1_234).toISOString() }
    sentinelEntries.set(id, firing.ingestedAt)
    await producer.send({
      topic: topics.indicators.name,
      messages: [at(atMin - 5, -0.1), firing].map((u) => ({ key: u.key, value: JSON.stringify(u) })),
    })
    await producer.send({
      topic: topics.scored.name,
      messages: [{ key: id, value: JSON.stringify(sentinel) }],
    })
    return [
      `tariff_down region:US tariff down ${id}`,
      `tariff_down region:CN tariff down ${id}`,
      `tariff_level_cn region:CN tariff down @${atMin}`,
    ]
  }

  it('turns the scenario into exactly the expected alerts, on the right topics, in order per scope; a replay adds none', async () => {
    const { app, topics } = start()
    const alerts = await collectTopic(kafkaBrokers, topics.alerts.name)
    const desks = Object.fromEntries(
      await Promise.all(
        ['tariff', 'supply', 'risk'].map(
          async (d) => [d, await collectTopic(kafkaBrokers, topics.deskAlerts(d).name)] as const,
        ),
      ),
    )
    cleanups.push(alerts.stop, ...Object.values(desks).map((d) => d.stop))
    await app.start()
    await app.runner.joined()
    // Its Redis state is watched (a loss is reported there; see watchRedisState's tests).
    expect((await app.health()).checks.redisState).toEqual({ status: 'ok' })

    // Indicator updates after the headline alerts, so the headlines are in memory as evidence.
    const headlineAlerts = SCENARIO_EXPECTED.filter((e) => !isIndicatorAlert(e))
    await produceScenario(topics, () =>
      waitFor(() => alerts.messages.length >= headlineAlerts.length, { what: 'headline alerts' }),
    )
    const sentinel1 = await produceSentinel(topics, 200, 'sentinel1')
    const expected = [...SCENARIO_EXPECTED, ...sentinel1]
    await waitFor(() => alerts.messages.length >= expected.length, { what: 'scenario alerts' })
    // The sentinels come last on both inputs: once they are out, everything before them was decided.
    await waitFor(
      () => sentinel1.every((s) => alerts.messages.map((m) => describeAlert(alertOf(m))).includes(s)),
      {
        what: 'sentinel alerts',
      },
    )
    expect(alerts.messages.map((m) => describeAlert(alertOf(m))).sort()).toEqual([...expected].sort())

    // Ids: deterministic and distinct; CloudEvents headers and trace context on every record.
    const first = alerts.messages.map(alertOf)
    expect(new Set(first.map((a) => a.id)).size).toBe(first.length)
    for (const m of alerts.messages) {
      const a = alertOf(m)
      expect(m.key).toBe(`${a.scope.kind}:${a.scope.id}`)
      expect(m.headers).toMatchObject({
        ce_id: a.id,
        ce_type: ALERT_CE_TYPE,
        ce_source: `/tradepulse/alerter/${a.rule}`,
        ce_specversion: '1.0',
        ce_time: a.detectedAt,
        'content-type': 'application/json',
      })
      expect(m.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
      expect(a.rulesVersion).toMatch(/^scenario-1\+/)
      expect(a.latencyMs).toBeLessThan(60_000)
    }
    const esc1 = alerts.messages.filter((m) => describeAlert(alertOf(m)).endsWith(' esc1'))
    expect(esc1.map((m) => m.headers.traceparent)).toEqual([
      `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
      `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
    ])
    // Indicator alerts carry the scenario's headlines on CN as evidence, strongest first.
    const level = first.find((a) => describeAlert(a) === 'tariff_level_cn region:CN tariff down @75')
    expect(level?.evidence.map((e) => e.headlineId)).toEqual(['esc1', 'esc2', 'curb'])
    // Its entry time is the update's own ingestedAt where the update has one.
    const sentinelLevel = first.find(
      (a) => describeAlert(a) === 'tariff_level_cn region:CN tariff down @200',
    )!
    expect(sentinelLevel.ingestedAt).toBe(sentinelEntries.get('sentinel1'))
    expect(sentinelLevel.latencyMs).toBe(
      Date.parse(sentinelLevel.detectedAt) - Date.parse(sentinelLevel.ingestedAt),
    )

    // Replay: the same records again (new offsets) decide nothing new; only the next sentinels alert.
    await produceScenario(topics)
    const sentinel2 = await produceSentinel(topics, 300, 'sentinel2')
    await waitFor(() => alerts.messages.length >= expected.length + sentinel2.length, {
      what: 'second sentinels',
    })
    await waitFor(
      () => sentinel2.every((s) => alerts.messages.map((m) => describeAlert(alertOf(m))).includes(s)),
      {
        what: 'second sentinel alerts',
      },
    )
    expect(alerts.messages.map((m) => describeAlert(alertOf(m))).sort()).toEqual(
      [...expected, ...sentinel2].sort(),
    )

    // Desk topics: each alert on the desks its rule routes to, one per rule and headline (a headline
    // raising a rule on US and CN pages the tariff desk once), and only alerts of alerts.v1.
    const described = alerts.messages.map((m) => describeAlert(alertOf(m)))
    const ids = new Set(alerts.messages.map((m) => alertOf(m).id))
    await waitFor(
      () =>
        Object.entries(desks).every(
          ([desk, c]) => c.messages.length >= scenarioDeskPages(desk, described).length,
        ),
      { what: 'desk alerts' },
    )
    for (const [desk, c] of Object.entries(desks)) {
      const pages = c.messages.map((m) => deskPage(describeAlert(alertOf(m))))
      expect(pages.sort(), desk).toEqual(scenarioDeskPages(desk, described))
      expect(
        c.messages.filter((m) => !ids.has(alertOf(m).id)),
        desk,
      ).toEqual([])
    }

    // In order per scope, on alerts.v1 and on every desk topic: the headline alerts, then (produced once
    // they were out) the indicator alerts and the first sentinels, then (once those were out) the second.
    const stages = [headlineAlerts, [...SCENARIO_EXPECTED.filter(isIndicatorAlert), ...sentinel1], sentinel2]
    expectScriptOrder('alerts.v1', alerts.messages, stages)
    for (const [desk, c] of Object.entries(desks)) expectScriptOrder(`desk ${desk}`, c.messages, stages)
  })

  it('reads what a newer scorer and aggregator wrote, new fields at the top and nested, as without them; a known field of the wrong type still dead-letters', async () => {
    const { app, topics } = start()
    const alerts = await collectTopic(kafkaBrokers, topics.alerts.name)
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    cleanups.push(alerts.stop, dlq.stop)
    await app.start()
    await app.runner.joined()
    const now = Date.now()
    // One optional field more, as a rolling deploy of the producers brings it, where a reader might trip.
    const headlines = scenarioHeadlines(now).map((h) => ({
      ...h,
      sentiment: { v2: 0.1 },
      scores: { ...h.scores, sentimentV2: -0.3, tariff: { ...h.scores.tariff, calibrated: true } },
      events: h.events.map((e) => ({ ...e, certainty: 0.5 })),
      entities: { ...h.entities, people: ['Lutnick'] },
    }))
    const wrongHeadline = {
      ...headlines[0]!,
      id: 'wrong-type',
      scores: { ...headlines[0]!.scores, uncertainty: 'high' },
    }
    await producer.send({
      topic: topics.scored.name,
      messages: [wrongHeadline, ...headlines].map((h) => ({ key: h.id, value: JSON.stringify(h) })),
    })
    const headlineAlerts = SCENARIO_EXPECTED.filter((e) => !isIndicatorAlert(e))
    await waitFor(() => alerts.messages.length >= headlineAlerts.length, { what: 'headline alerts' })
    const updates = scenarioUpdates(now).map((u) => ({
      ...u,
      variance: { '1h': 0.01 },
      scope: { ...u.scope, label: 'a name' },
    }))
    const wrongUpdate = { ...updates[0]!, count: 'many' }
    await producer.send({
      topic: topics.indicators.name,
      messages: [wrongUpdate, ...updates].map((u) => ({ key: u.key, value: JSON.stringify(u) })),
    })
    // The sentinels come last on both inputs: once they are out, everything before them was decided.
    const sentinel = await produceSentinel(topics, 200, 'sentinel-newer')
    const expected = [...SCENARIO_EXPECTED, ...sentinel]
    await waitFor(
      () => sentinel.every((s) => alerts.messages.map((m) => describeAlert(alertOf(m))).includes(s)),
      { what: 'sentinel alerts' },
    )
    // The alerts of the scenario as written without the new fields (the test above), with its evidence.
    expect(alerts.messages.map((m) => describeAlert(alertOf(m))).sort()).toEqual([...expected].sort())
    const written = alerts.messages.map(alertOf)
    const level = written.find((a) => describeAlert(a) === 'tariff_level_cn region:CN tariff down @75')
    expect(level?.evidence.map((e) => e.headlineId)).toEqual(['esc1', 'esc2', 'curb'])
    // Nothing it does not know is passed on: what it writes meets the strict contract.
    for (const a of written) expect(Alert.safeParse(a).error?.issues ?? []).toEqual([])
    await waitFor(() => dlq.messages.length >= 2, { what: 'dead letters' })
    const letters = dlq.messages.map((m) => JSON.parse(m.value!.toString()) as DeadLetter)
    expect(letters.map((l) => [l.origin.topic, l.reason, l.message]).sort()).toEqual(
      [
        [topics.scored.name, 'schema_invalid', expect.stringMatching(/^scores\.uncertainty: /)],
        [topics.indicators.name, 'schema_invalid', expect.stringMatching(/^count: /)],
      ].sort(),
    )
  })

  it('refuses an invalid rules file with the field and reason, keeps the old rules, and takes a valid one', async () => {
    const { app, topics, lines, rulesFile } = start()
    const alerts = await collectTopic(kafkaBrokers, topics.alerts.name)
    cleanups.push(alerts.stop)
    await app.start()
    await app.runner.joined()
    const before = app.rules.current().rulesVersion

    writeFileSync(rulesFile, SCENARIO_RULES.replace('threshold: 0.7', 'threshold: high'))
    const refused = await waitFor(() => lines.find((l) => l.includes('rules file refused')), {
      what: 'refusal logged',
    })
    expect(JSON.parse(refused)).toMatchObject({
      level: 50,
      msg: expect.stringContaining('rules[0].threshold'),
      errors: [{ path: 'rules[0].threshold', message: expect.stringMatching(/number/) }],
    })
    expect(
      await app.metrics.registry.getSingleMetricAsString('tradepulse_alerter_rules_reloads_total'),
    ).toMatch(/result="invalid"[^\n]* 1/)
    expect(app.rules.current().rulesVersion).toBe(before)

    // The old rules still alert.
    const [h] = scenarioHeadlines(Date.now(), 'after-bad-')
    await producer.send({ topic: topics.scored.name, messages: [{ key: h!.id, value: JSON.stringify(h) }] })
    await waitFor(() => alerts.messages.some((m) => alertOf(m).evidence[0]?.headlineId === h!.id), {
      what: 'alert under the old rules',
    })
    expect(alertOf(alerts.messages[0]!).rulesVersion).toBe(before)

    // A valid edit lands between batches: the next headline is judged by the new rules.
    writeFileSync(rulesFile, SCENARIO_RULES.replace('version: scenario-1', 'version: scenario-2'))
    await waitFor(() => app.rules.current().rulesVersion.startsWith('scenario-2+'), { what: 'reload' })
    const [h2] = scenarioHeadlines(Date.now() - 0, 'after-good-')
    const later = { ...h2!, publishedAt: new Date(SCENARIO_T0 + 500 * MIN).toISOString() }
    await producer.send({
      topic: topics.scored.name,
      messages: [{ key: later.id, value: JSON.stringify(later) }],
    })
    await waitFor(() => alerts.messages.some((m) => alertOf(m).evidence[0]?.headlineId === later.id), {
      what: 'alert under the new rules',
    })
    const fresh = alerts.messages.map(alertOf).filter((a) => a.evidence[0]?.headlineId === later.id)
    expect(fresh.every((a) => a.rulesVersion.startsWith('scenario-2+'))).toBe(true)
  })

  type Received = { headers: IncomingMessage['headers']; body: string }
  async function receiver(respond: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
    const received: Received[] = []
    /** How each request ended, in order: answered by the receiver, or dropped by the client (its timeout). */
    const ended: ('answered' | 'dropped')[] = []
    const url = await listenForWebhooks(cleanups, (req, res) => {
      res.on('close', () => ended.push(res.writableFinished ? 'answered' : 'dropped'))
      let body = ''
      req.on('data', (d) => {
        body += d
      })
      req.on('end', () => {
        received.push({ headers: req.headers, body })
        respond(req, res, received.length)
      })
    })
    return { url, received, ended }
  }

  /**
   * The alerter `start(opts)` makes, started (its group joined) with the tariff desk's topic collected,
   * and the scenario produced: the app, the desk topic's collector, and the pages the desk is due.
   */
  async function scenarioToTariffDesk(opts: Parameters<typeof start>[0]) {
    const { app, topics } = start(opts)
    const tariffDesk = await collectTopic(kafkaBrokers, topics.deskAlerts('tariff').name)
    cleanups.push(tariffDesk.stop)
    await app.start()
    await app.runner.joined()
    await produceScenario(topics)
    return { app, tariffDesk, want: scenarioDeskPages('tariff') }
  }

  it('posts correctly signed webhooks to a desk', async () => {
    const secret = 'shh-scenario'
    const hook = await receiver((_req, res) => res.writeHead(204).end())
    const { tariffDesk, want } = await scenarioToTariffDesk({
      desks: scenarioDesks(hook.url),
      env: { SCENARIO_TARIFF_SECRET: secret },
    })
    await waitFor(() => hook.received.length >= want.length, { what: 'webhooks' })
    await waitFor(() => tariffDesk.messages.length >= want.length, { what: 'tariff desk alerts' })
    for (const r of hook.received) {
      expect(verifyWebhookSignature(r.headers[SIGNATURE_HEADER] as string, r.body, secret, Date.now())).toBe(
        true,
      )
      expect(verifyWebhookSignature(r.headers[SIGNATURE_HEADER] as string, r.body, 'wrong', Date.now())).toBe(
        false,
      )
      expect(r.headers[SIGNATURE_HEADER]).toMatch(/^t=\d{10},v1=[0-9a-f]{64}$/)
      expect(r.headers[ALERT_ID_HEADER]).toBe((JSON.parse(r.body) as Alert).id)
      expect(r.headers['content-type']).toBe('application/json')
    }
    expect(hook.received.map((r) => (JSON.parse(r.body) as Alert).id).sort()).toEqual(
      tariffDesk.messages.map((m) => alertOf(m).id).sort(),
    )
  })

  it('posts no alert about news older than ALERTER_WEBHOOK_MAX_NEWS_AGE_MS (its default), though the desk topic has it: counted stale', async () => {
    const hook = await receiver((_req, res) => res.writeHead(204).end())
    // The scenario's news is dated 2026-03-02: far older than the default bound.
    const { app, tariffDesk, want } = await scenarioToTariffDesk({
      desks: scenarioDesks(hook.url),
      env: { SCENARIO_TARIFF_SECRET: 's' },
      extra: { ALERTER_WEBHOOK_MAX_NEWS_AGE_MS: String(WEBHOOK_MAX_NEWS_AGE_MS) },
    })
    await waitFor(() => tariffDesk.messages.length >= want.length, { what: 'tariff desk alerts' })
    const stale = async () =>
      (
        (await app.metrics.registry.getSingleMetric('tradepulse_webhook_deliveries_total')?.get())?.values ??
        []
      )
        .filter((v) => v.labels.result === 'stale')
        .reduce((n, v) => n + v.value, 0)
    await waitFor(async () => (await stale()) >= want.length, { what: 'stale count' })
    expect(await stale()).toBe(want.length)
    expect(hook.received).toEqual([])
  })

  for (const mode of ['fails with 500', 'hangs'] as const) {
    it(`keeps alerts flowing on Kafka while a webhook ${mode}, holds a bounded queue, and dead-letters the delivery`, async () => {
      const hook = await receiver((_req, res) => {
        if (mode === 'fails with 500') res.writeHead(500).end('down')
        // 'hangs': holds every request open, unanswered, until the alerter's timeout drops it.
      })
      const queueMax = 2
      // The alerts produced once the queue is full must be out before the first request is dropped
      // (hangs: at the timeout) or the first delivery given up (fails: after two backoffs, each jittered
      // to half its length at least): 10 s at least either way, where 4 s (hangs; 2 s and 2 s, fails) was
      // a window a loaded machine running other suites beside this one could miss. Attempts so that the
      // five deliveries (two at a time) take about a minute. The timeout is as long when the receiver
      // fails at once: at 500 ms, a loaded machine ended an attempt on it, not on the receiver's 500.
      const attempts = mode === 'hangs' ? 2 : 3
      const timeoutMs = 10_000
      const { app, topics } = start({
        desks: scenarioDesks(hook.url),
        env: { SCENARIO_TARIFF_SECRET: 's' },
        extra: {
          ALERTER_WEBHOOK_TIMEOUT_MS: String(timeoutMs),
          ALERTER_WEBHOOK_MAX_ATTEMPTS: String(attempts),
          ALERTER_WEBHOOK_BACKOFF_BASE_MS: mode === 'hangs' ? '100' : '10000',
          ALERTER_WEBHOOK_BACKOFF_MAX_MS: mode === 'hangs' ? '200' : '10000',
          ALERTER_WEBHOOK_CONCURRENCY: '2',
          ALERTER_WEBHOOK_QUEUE_MAX: String(queueMax),
        },
      })
      // Every value the dispatcher gives the tariff desk's queue gauge (deliveries waiting or in flight).
      const queue: number[] = []
      const gauge = app.metrics.registry.getSingleMetric('tradepulse_webhook_queue') as Gauge
      const setGauge = gauge.set.bind(gauge) as (labels: { desk: string }, v: number) => void
      gauge.set = ((labels: { desk: string }, v: number) => {
        if (labels.desk === 'tariff') queue.push(v)
        setGauge(labels, v)
      }) as Gauge['set']
      const alerts = await collectTopic(kafkaBrokers, topics.alerts.name)
      const tariffDesk = await collectTopic(kafkaBrokers, topics.deskAlerts('tariff').name)
      const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
      cleanups.push(alerts.stop, tariffDesk.stop, dlq.stop)
      await app.start()
      await app.runner.joined()
      const tariffCount = scenarioDeskPages('tariff').length

      // The headline alerts fill the webhook queue with deliveries the receiver fails or holds; only then
      // come the indicator updates, whose alerts (for the tariff desk too) must go out all the same.
      await produceScenario(topics, () =>
        waitFor(() => hook.received.length >= queueMax, { what: 'webhook queue filled' }),
      )
      const atArrival = await waitFor(
        () =>
          alerts.messages.length >= SCENARIO_EXPECTED.length &&
          tariffDesk.messages.length >= tariffCount && {
            requests: hook.received.length,
            ended: [...hook.ended],
            deadLetters: dlq.messages.length,
            queued: queue.at(-1),
          },
        { what: 'alerts on Kafka' },
      )
      // Every alert was on alerts.v1 and the desk topic while the queue was full and, before any of its
      // deliveries had given up: no dead letter yet (fails); no request answered nor dropped by the timeout,
      // and none taken beyond the queue (hangs). A wait on a webhook would have come after one of these.
      if (mode === 'hangs') {
        expect(atArrival).toEqual({ requests: queueMax, ended: [], deadLetters: 0, queued: queueMax })
      } else {
        expect({ deadLetters: atArrival.deadLetters, queued: atArrival.queued }).toEqual({
          deadLetters: 0,
          queued: queueMax,
        })
      }
      expect(alerts.messages.map((m) => describeAlert(alertOf(m))).sort()).toEqual(
        [...SCENARIO_EXPECTED].sort(),
      )
      const ids = new Set(alerts.messages.map((m) => alertOf(m).id))
      expect(tariffDesk.messages.map((m) => deskPage(describeAlert(alertOf(m)))).sort()).toEqual(
        scenarioDeskPages('tariff'),
      )
      expect(tariffDesk.messages.filter((m) => !ids.has(alertOf(m).id))).toEqual([])

      await waitFor(() => dlq.messages.length >= tariffCount, { timeoutMs: 150_000, what: 'dead letters' })
      const letters = dlq.messages.map((m) => JSON.parse(m.value!.toString()) as DeadLetter)
      for (const l of letters) {
        expect(l).toMatchObject({
          reason: 'webhook_failed',
          worker: 'alerter',
          origin: { topic: topics.deskAlerts('tariff').name },
          message: expect.stringMatching(
            mode === 'hangs'
              ? new RegExp(`${attempts} attempt\\(s\\): no answer within ${timeoutMs} ms`)
              : new RegExp(`${attempts} attempt\\(s\\): HTTP 500`),
          ),
        })
      }
      expect(letters.map((l) => (JSON.parse(l.payload) as Alert).id).sort()).toEqual(
        tariffDesk.messages.map((m) => alertOf(m).id).sort(),
      )
      expect(hook.received.length).toBe(tariffCount * attempts)
      // Bounded: the queue filled up to its maximum and never went past it.
      expect(Math.max(...queue)).toBe(queueMax)
    })
  }

  it("delivers one desk's webhooks while another desk's endpoint hangs", async () => {
    const hanging = await receiver(() => {}) // holds every request open
    const fine = await receiver((_req, res) => res.writeHead(204).end())
    // Both desks of the scenario's routing, each with a webhook of its own.
    const desks = `version: two-hooks
desks:
  - id: tariff
    dimensions: [tariff]
    scopes: [region:US, region:CN, region:EU]
    minSeverity: info
    webhook:
      url: ${hanging.url}
      secretEnv: TARIFF_SECRET
  - id: supply
    dimensions: [supplyChain, tariff]
    scopes: ["commodity:*", "sector:*"]
    minSeverity: info
    webhook:
      url: ${fine.url}
      secretEnv: SUPPLY_SECRET
`
    const { app, topics } = start({
      desks,
      env: { TARIFF_SECRET: 't', SUPPLY_SECRET: 's' },
      // A timeout far longer than the test needs: a supply delivery that waited on a tariff one would
      // come only after a tariff request was dropped. The stop lets the requests held open run until
      // near its deadline: a short one.
      extra: {
        ALERTER_WEBHOOK_TIMEOUT_MS: '60000',
        ALERTER_WEBHOOK_CONCURRENCY: '2',
        SHUTDOWN_DEADLINE_MS: '3000',
      },
    })
    await app.start()
    await app.runner.joined()
    await produceScenario(topics)
    const forDesk = (desk: string) => scenarioDeskPages(desk).length
    expect(forDesk('supply')).toBeGreaterThan(0)
    expect(forDesk('tariff')).toBeGreaterThan(2)
    // Every supply delivery made, and the tariff desk's two slots holding their requests open: were the
    // desks' deliveries coupled, the supply ones would wait for a tariff request to time out (60 s).
    const when = await waitFor(
      () =>
        fine.received.length >= forDesk('supply') &&
        hanging.received.length >= 2 && {
          tariffRequests: hanging.received.length,
          tariffEnded: hanging.ended.length,
        },
      { what: "the supply desk's webhooks, with the tariff desk's requests open" },
    )
    expect(when).toEqual({ tariffRequests: 2, tariffEnded: 0 })
    expect(fine.received.map((r) => (JSON.parse(r.body) as Alert).rule).sort()).toEqual(
      scenarioDeskPages('supply')
        .map((e) => e.split(' ')[0])
        .sort(),
    )
  })

  it('carries the offsets of the webhook group all desks shared before over to the desk group', async () => {
    const topics = createTopicCatalogue(prefix)
    const deskTopic = topics.deskAlerts('tariff').name
    // Alerts the shared group had already posted: on the desk topic, committed by it.
    await producer.send({
      topic: deskTopic,
      messages: Array.from({ length: 4 }, (_, i) => ({ partition: 0, value: JSON.stringify({ old: i }) })),
    })
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    cleanups.push(() => admin.disconnect())
    const shared = `${prefix}alerter.webhooks`
    await admin.setOffsets({ groupId: shared, topic: deskTopic, partitions: [{ partition: 0, offset: '4' }] })
    const hook = await receiver((_req, res) => res.writeHead(200).end())
    const { app } = start({ desks: scenarioDesks(hook.url), env: { SCENARIO_TARIFF_SECRET: 's' } })
    await app.start()
    const [carried] = await admin.fetchOffsets({ groupId: `${shared}.tariff`, topics: [deskTopic] })
    expect(carried?.partitions.find((q) => q.partition === 0)?.offset).toBe('4')
    await app.runner.joined()
    await produceScenario(topics)
    const want = scenarioDeskPages('tariff')
    await waitFor(() => hook.received.length >= want.length, { what: 'webhooks' })
    // Only the new alerts: none of those the shared group had posted.
    expect(hook.received.filter((r) => r.body.startsWith('{"old"'))).toEqual([])
    expect(hook.received).toHaveLength(want.length)
  })

  /**
   * The scenario's first headline through an alerter whose tariff desk posts to `hookUrl`, until its
   * delivery is dead-lettered (its tariff alerts on US and CN page the desk once): the dead letters' messages.
   */
  async function deadLetteredDelivery(hookUrl: string, idPrefix: string): Promise<string[]> {
    const { app, topics } = start({ desks: scenarioDesks(hookUrl), env: { SCENARIO_TARIFF_SECRET: 's' } })
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    cleanups.push(dlq.stop)
    await app.start()
    await app.runner.joined()
    await producer.send({
      topic: topics.scored.name,
      messages: scenarioHeadlines(Date.now(), idPrefix)
        .slice(0, 1)
        .map((h) => ({ key: h.id, value: JSON.stringify(h) })),
    })
    await waitFor(() => dlq.messages.length >= 1, { what: 'dead letters' })
    return dlq.messages.map((m) => (JSON.parse(m.value!.toString()) as DeadLetter).message)
  }

  it('dead-letters a 4xx at once, without retrying', async () => {
    const hook = await receiver((_req, res) => res.writeHead(410).end())
    const messages = await deadLetteredDelivery(hook.url, 'gone-')
    expect(hook.received).toHaveLength(1)
    expect(messages).toEqual([expect.stringMatching(/1 attempt\(s\): HTTP 410/)])
  })

  it.each([302, 307])(
    'dead-letters a %i redirect at once, naming where it pointed, and follows it nowhere',
    async (status) => {
      const elsewhere = await receiver((_req, res) => res.writeHead(200).end())
      const hook = await receiver((_req, res) => res.writeHead(status, { location: elsewhere.url }).end())
      const messages = await deadLetteredDelivery(hook.url, `moved${status}-`)
      expect(hook.received).toHaveLength(1)
      expect(elsewhere.received).toHaveLength(0)
      // Where it pointed as the hook's own URL is shown: its origin, the path (a token, often) hidden.
      expect(messages).toEqual([
        expect.stringContaining(
          `1 attempt(s): HTTP ${status} (a redirect to ${new URL(elsewhere.url).origin}/…, not followed: fix the desk's webhook url)`,
        ),
      ])
      expect(messages[0]).not.toContain('/hook')
    },
  )

  it('refuses to start, naming the topic, when a desk topic is missing and it does not create topics', async () => {
    const desks = `${scenarioDesks()}  - id: fx
    scopes: ["*"]
    minSeverity: info
`
    const { app, topics } = start({ desks })
    const err = await app.start().catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' })
    expect(String(err)).toContain(`topics missing: ${topics.deskAlerts('fx').name} (`)
    expect(String(err)).toContain('tradepulse topics create --desks')
  })

  it('refuses to start, naming REDIS_URL and the database, when the Redis server refuses its database', async () => {
    // It started, and retried every batch for ever on a Redis client closed for good.
    const url = `redis://${new URL(redisUrl).host}/99`
    const { app } = start({ extra: { REDIS_URL: url } })
    const err = await app.start().catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' })
    expect(String(err)).toContain(`Redis at ${url} (REDIS_URL) refused its database 99 (`)
  })

  it('refuses a desk whose webhook secret variable is not set, naming it', () => {
    expect(() =>
      start({ desks: scenarioDesks('http://127.0.0.1:1/x', 'MISSING_SECRET_VAR'), env: {} }),
    ).toThrow(
      /desks\[0\]\.webhook\.secretEnv: desk "tariff" signs its webhook with MISSING_SECRET_VAR, which is not set/,
    )
  })
})

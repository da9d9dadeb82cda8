// What breaks the strict Alert contract never reaches alerts.v1 or a desk topic, and never stops the
// stream: the alert is left out before it is claimed, the record that raised it is dead-lettered as
// output_invalid naming the field and the alert, the alerts are counted and logged at error, and every
// other alert goes out as before.
import { PassThrough } from 'node:stream'
import { type Desk, parseDesks, parseRules, type RuleSet } from '@tradepulse/alerting'
import { Alert, createTopicCatalogue, ISO_TIME_OUT_OF_RANGE, LIMITS } from '@tradepulse/contracts'
import { createLogger, type InRecord, type Outcome, TradepulseError } from '@tradepulse/platform'
import { describe, expect, it } from 'vitest'
import { alertProblem } from './alert-contract.ts'
import type { AlertStore } from './alert-store.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'
import {
  SCENARIO_EXPECTED,
  SCENARIO_RULES,
  SCENARIO_T0,
  scenarioDesks,
  scenarioHeadlines,
  scenarioUpdates,
} from './scenario-fixtures.ts'
import { claimedAlertFixture, scoredRecords, testAlerterHandler } from './test-handler.ts'

const topics = createTopicCatalogue('t.')
const ctx = { signal: new AbortController().signal }
const MIN = 60_000
/** A local time whose UTC instant is in year 10000: no `…Z` datetime spells it, and no reader takes it. */
const YEAR_10000_IN_UTC = '9999-12-31T23:00:00-05:00'

const parsed = parseRules(SCENARIO_RULES, 'yaml')
if (!parsed.ok) throw new Error('scenario rules do not parse')
const RULES: RuleSet = parsed
const parsedDesks = parseDesks(scenarioDesks(), 'yaml')
if (!parsedDesks.ok) throw new Error('scenario desks do not parse')
const DESKS: readonly Desk[] = parsedDesks.desks

type LogLine = { level: number; msg: string; alerts?: number; sample?: { origin: string; problem: string }[] }

function build(opts: { rules?: RuleSet | (() => RuleSet); store?: AlertStore } = {}) {
  const out = new PassThrough()
  let logged = ''
  out.on('data', (chunk: Buffer) => {
    logged += chunk.toString()
  })
  const store =
    opts.store ?? createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => Date.now() } })
  const built = testAlerterHandler({
    topics,
    rules: opts.rules ?? RULES,
    store,
    desks: DESKS,
    log: createLogger({ level: 'info' }, out),
  })
  const counter = async (name: string) =>
    Number(/ (\d+)$/m.exec(await built.registry.getSingleMetricAsString(name))?.[1] ?? 0)
  const errors = () =>
    logged
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as LogLine)
      .filter((l) => l.level === 50)
  /** `<topic> <rule> <scope> <trigger>` of every record published, each checked against the strict contract. */
  const published = () =>
    built.published.map((r) => {
      const a = Alert.parse(JSON.parse(String(r.value)))
      const trigger =
        a.ruleKind === 'headline_shock'
          ? a.evidence[0]?.headlineId
          : `@${(Date.parse(a.publishedAt) - SCENARIO_T0) / MIN}`
      return `${r.topic} ${a.rule} ${a.scope.kind}:${a.scope.id} ${trigger}`
    })
  return { ...built, store, counter, errors, published }
}

const dlqOf = (outcomes: Outcome[]) =>
  outcomes.flatMap((o, i) => (o.kind === 'dlq' ? [{ i, reason: o.reason, message: o.message }] : []))

describe('alertProblem: the strict Alert contract, by the fast check', () => {
  const alert = claimedAlertFixture('3f2a', SCENARIO_T0).alert
  it('takes a valid alert and names the field of one that breaks the contract', () => {
    expect(alertProblem(alert)).toBeUndefined()
    expect(alertProblem({ ...alert, value: Number.NaN })).toBe(
      'value: Invalid input: expected number, received NaN',
    )
    expect(alertProblem({ ...alert, scorerVersion: 'v'.repeat(LIMITS.maxVersionChars + 1) })).toBe(
      'scorerVersion: Too big: expected string to have <=128 characters',
    )
    expect(alertProblem({ ...alert, id: 'a'.repeat(LIMITS.maxAlertIdChars + 1) })).toBe(
      'id: Too big: expected string to have <=64 characters',
    )
    expect(
      alertProblem({ ...alert, ingestedAt: new Date(Date.parse(YEAR_10000_IN_UTC)).toISOString() }),
    ).toBe('ingestedAt: Invalid ISO datetime')
    // Strict: a field the contract does not know is refused, at any depth.
    expect(alertProblem({ ...alert, extra: 1 } as Alert)).toMatch(/^\(root\): Unrecognized key: "extra"/)
    expect(
      alertProblem({ ...alert, evidence: [{ ...alert.evidence[0]!, why: 'x' }] } as unknown as Alert),
    ).toMatch(/^evidence\.0: Unrecognized key: "why"/)
  })
})

describe('alerter: alerts that break the Alert contract', () => {
  it('never raises an alert from a headline whose entry time is year 10000 in UTC: its reader dead-letters it as schema_invalid naming the field, so no alert breaks the contract; the rest goes out, and the cooldown its alerts would have started holds nothing back', async () => {
    const { handler, published, counter, errors } = build()
    const headlines = scenarioHeadlines(Date.now())
    // esc1 would raise tariff_down on US and CN (each to alerts.v1 and, the tariff desk once, to its topic).
    headlines[0] = { ...headlines[0]!, ingestedAt: YEAR_10000_IN_UTC }
    const outcomes = await handler(scoredRecords(topics.scored.name, headlines), ctx)
    expect(dlqOf(outcomes)).toEqual([
      { i: 0, reason: 'schema_invalid', message: `ingestedAt: ${ISO_TIME_OUT_OF_RANGE}` },
    ])
    const got = published()
    expect(got.filter((p) => p.endsWith(' esc1'))).toEqual([])
    const expected = SCENARIO_EXPECTED.filter((e) => !e.includes('@') && !e.endsWith(' esc1'))
    for (const e of expected) {
      const [rule, scope, , , trigger] = e.split(' ')
      expect(got, e).toContain(`${topics.alerts.name} ${rule} ${scope} ${trigger}`)
    }
    // esc2, ten minutes after esc1 and within tariff_down's 15 min cooldown, fires: esc1 raised nothing.
    expect(got).toContain(`${topics.alerts.name} tariff_down region:CN esc2`)
    expect(got).toContain(`${topics.deskAlerts('tariff').name} tariff_down region:CN esc2`)
    expect(await counter('tradepulse_alerts_invalid_total')).toBe(0)
    expect(errors()).toEqual([])
  })

  it('never sees an indicator update whose entry time is year 10000 in UTC: its reader dead-letters it as schema_invalid, and the next update past the line fires as the first crossing', async () => {
    const { handler, published, counter } = build()
    const updates = scenarioUpdates(Date.now())
    // The CN update at 25 min crosses -0.5; 35 stays past the line; 65 re-arms; 75 fires.
    const crossing = updates.findIndex((u) => u.asOf === new Date(SCENARIO_T0 + 25 * MIN).toISOString())
    updates[crossing] = { ...updates[crossing]!, ingestedAt: YEAR_10000_IN_UTC }
    const records: InRecord[] = updates.map((u, i) => ({
      topic: topics.indicators.name,
      partition: 0,
      offset: String(i),
      key: Buffer.from(u.key),
      value: Buffer.from(JSON.stringify(u)),
      headers: {},
      timestamp: Date.now(),
    }))
    // One update a batch, as a live stream brings them.
    const outcomes: Outcome[] = []
    for (const r of records) outcomes.push(...(await handler([r], ctx)))
    expect(dlqOf(outcomes)).toEqual([
      { i: crossing, reason: 'schema_invalid', message: `ingestedAt: ${ISO_TIME_OUT_OF_RANGE}` },
    ])
    expect(published()).toEqual([
      `${topics.alerts.name} tariff_level_cn region:CN @35`,
      `${topics.deskAlerts('tariff').name} tariff_level_cn region:CN @35`,
      `${topics.alerts.name} tariff_level_cn region:CN @75`,
      `${topics.deskAlerts('tariff').name} tariff_level_cn region:CN @75`,
    ])
    expect(await counter('tradepulse_alerts_invalid_total')).toBe(0)
  })

  it('leaves out the alerts the rules in force make past the bounds (a rule id, a rules version), dead-lettering their records, while the other rules of the same records alert', async () => {
    const long = 'tariff_down_'.padEnd(LIMITS.maxRuleIdChars + 1, 'x')
    // As a rules file the parser no longer refused would give (its bounds are packages/alerting's).
    const rules: RuleSet = {
      ...RULES,
      rules: RULES.rules.map((r) => (r.id === 'tariff_down' ? { ...r, id: long } : r)),
    }
    const { handler, published, counter } = build({ rules })
    const headlines = scenarioHeadlines(Date.now())
    const outcomes = await handler(scoredRecords(topics.scored.name, headlines), ctx)
    const ids = headlines.map((h) => h.id)
    // tariff_down fires on esc1, esc2 (no cooldown started), curb and halt; curb and halt raise others too.
    expect(dlqOf(outcomes).map((d) => ids[d.i])).toEqual(['esc1', 'esc2', 'curb', 'halt'])
    for (const d of dlqOf(outcomes)) {
      expect(d.reason).toBe('output_invalid')
      expect(d.message).toMatch(
        new RegExp(
          `^rule: Too big: expected string to have <=64 characters \\(alert [0-9a-f]{32} of rule ${long.slice(0, 64)}… \\(65 characters\\) on region:(US|CN), `,
        ),
      )
    }
    const got = published()
    expect(got.filter((p) => p.includes('tariff_down'))).toEqual([])
    for (const e of SCENARIO_EXPECTED.filter((x) => !x.includes('@') && !x.startsWith('tariff_down '))) {
      const [rule, scope, , , trigger] = e.split(' ')
      expect(got, e).toContain(`${topics.alerts.name} ${rule} ${scope} ${trigger}`)
    }
    expect(await counter('tradepulse_alerts_invalid_total')).toBe(8)
  })

  it('leaves out every alert of rules whose version is past its bound, and the stream goes on: the next batch, under rules reloaded valid, alerts', async () => {
    let rules: RuleSet = {
      ...RULES,
      rulesVersion: `${RULES.rulesVersion}+${'v'.repeat(LIMITS.maxVersionChars)}`,
    }
    const { handler, published, counter, errors } = build({ rules: () => rules })
    const first = await handler(scoredRecords(topics.scored.name, scenarioHeadlines(Date.now())), ctx)
    expect(published()).toEqual([])
    const letters = dlqOf(first)
    expect(letters.length).toBeGreaterThan(5)
    for (const d of letters) {
      expect(d.reason).toBe('output_invalid')
      expect(d.message).toMatch(/^rulesVersion: Too big: expected string to have <=128 characters \(alert /)
      // The version is shown cut, with its length.
      expect(d.message).toContain(`… (${rules.rulesVersion.length} characters), breaks the Alert contract`)
    }
    const invalid = await counter('tradepulse_alerts_invalid_total')
    expect(invalid).toBeGreaterThanOrEqual(letters.length)
    expect(errors()).toHaveLength(1)
    rules = RULES
    const next = await handler(
      scoredRecords(topics.scored.name, scenarioHeadlines(Date.now(), 'again-'), 100),
      ctx,
    )
    expect(dlqOf(next)).toEqual([])
    expect(published()).toContain(`${topics.alerts.name} tariff_down region:CN again-esc1`)
    expect(await counter('tradepulse_alerts_invalid_total')).toBe(invalid)
  })

  it('counts a batch retried after a fault once, and dead-letters its records again', async () => {
    const memory = createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => Date.now() } })
    let failures = 1
    const store: AlertStore = {
      ...memory,
      async commit(sent, moved, settled) {
        if (failures-- > 0) throw new TradepulseError('INFRA_REDIS', 'Command timed out')
        return memory.commit(sent, moved, settled)
      },
    }
    // tariff_down's id past its bound: its alerts break the contract (esc1, esc2, curb, halt; 8 alerts).
    const long = 'tariff_down_'.padEnd(LIMITS.maxRuleIdChars + 1, 'x')
    const rules: RuleSet = {
      ...RULES,
      rules: RULES.rules.map((r) => (r.id === 'tariff_down' ? { ...r, id: long } : r)),
    }
    const { handler, published, counter, errors } = build({ store, rules })
    const headlines = scenarioHeadlines(Date.now())
    const records = scoredRecords(topics.scored.name, headlines)
    await expect(handler(records, ctx)).rejects.toThrow(/Command timed out/)
    const outcomes = await handler(records, ctx)
    expect(dlqOf(outcomes).map((d) => headlines[d.i]!.id)).toEqual(['esc1', 'esc2', 'curb', 'halt'])
    expect(await counter('tradepulse_alerts_invalid_total')).toBe(8)
    expect(errors()).toHaveLength(1)
    expect(published().filter((p) => p.includes('tariff_down'))).toEqual([])
  })
})

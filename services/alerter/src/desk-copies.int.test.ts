// What a desk receives for one headline, through the alerter's handler on the real Redis store (and the
// memory store beside it), with the sample desks (desks.yaml) and the tariff rules as shipped: rules that
// overlap on one story (tariff_escalation_headline and trade_measure_enacted on US/CN/EU, their relief
// twins) page the tariff desk once per headline, with the most severe alert that went out; a threatened
// relief does not hold back the measure taken hours later. Headlines are scored by hand (the events and
// scores the review saw), so the scorer's calibration does not move these cases.
import { readFileSync } from 'node:fs'
import { parseDesks, parseRules, RULE_FILES, type RuleSet } from '@tradepulse/alerting'
import { type Alert, createTopicCatalogue, type ScoredHeadline, type TradeEvent } from '@tradepulse/contracts'
import type { InRecord, OutRecord } from '@tradepulse/platform'
import { randomName, testInfra } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { type AlertStore, createRedisAlertStore } from './alert-store.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'
import { scoredRecords, testAlerterHandler } from './test-handler.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
/** 09:00 UTC: the four hours to 13:00 lie in one 6 h cooldown and across two of its time buckets. */
const T0 = Date.parse('2026-03-02T09:00:00Z')

// The tariff rules of packages/alerting/rules/default-rules.yaml (as of this test), word for word.
const TARIFF_RULES = `version: desk-copies-1
rules:
  - id: tariff_escalation_headline
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:US, region:CN, region:EU, region:MX, region:CA, region:JP, region:KR, region:IN]
    direction: down
    threshold: 0.8
    minRelevance: 0.6
    minConfidence: 0.4
    includeThreats: false
    severity: warning
    cooldownMs: 21600000
  - id: trade_measure_enacted
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:US, region:CN, region:EU]
    direction: down
    threshold: 0.75
    minRelevance: 0.7
    minConfidence: 0.5
    eventTypes: [retaliation, entity_listing, export_control, sanction, import_restriction, tariff_imposed, tariff_raised]
    includeThreats: false
    cooldownBy: event
    severity: critical
    cooldownMs: 21600000
  - id: tariff_relief_headline
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:US, region:CN, region:EU, region:MX, region:CA, region:JP, region:KR, region:IN]
    direction: up
    threshold: 0.8
    minRelevance: 0.6
    eventTypes: [tariff_cut, tariff_suspended, truce, deal, talks_progress, licence_granted]
    severity: info
    cooldownMs: 21600000
  - id: trade_measure_reversed
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:US, region:CN, region:EU]
    direction: up
    threshold: 0.75
    minRelevance: 0.7
    minConfidence: 0.5
    eventTypes: [truce, deal, tariff_suspended, tariff_cut]
    includeThreats: false
    cooldownBy: event
    severity: critical
    cooldownMs: 21600000
`
const parsedRules = parseRules(TARIFF_RULES, 'yaml')
if (!parsedRules.ok) throw new Error('the tariff rules do not parse')
const rules: RuleSet = parsedRules
const parsedDesks = parseDesks(readFileSync(RULE_FILES.desks, 'utf8'), 'yaml')
if (!parsedDesks.ok) throw new Error('the sample desks do not parse')
const desks = parsedDesks.desks

/** A headline on the tariff dimension, scored as given: regions in mention order, its events. */
function scored(
  id: string,
  atMs: number,
  spec: {
    text: string
    score: number
    confidence?: number
    regions: string[]
    events: (Pick<TradeEvent, 'type'> & Partial<TradeEvent>)[]
  },
): ScoredHeadline {
  const at = new Date(atMs).toISOString()
  const span = { field: 'headline' as const, start: 0, end: 4 }
  return {
    id,
    source: 'review',
    headline: spec.text,
    publishedAt: at,
    ingestedAt: at,
    truncated: false,
    scores: {
      tariff: {
        score: spec.score,
        relevance: 0.9,
        confidence: spec.confidence ?? 0.8,
        label: spec.score < 0 ? 'negative' : 'positive',
      },
      supplyChain: { score: 0, relevance: 0, confidence: 0, label: null },
      market: { score: 0, label: 'neutral' },
      uncertainty: 0,
    },
    events: spec.events.map((e) => ({
      dimension: 'tariff' as const,
      direction: spec.score < 0 ? (-1 as const) : (1 as const),
      threat: false,
      negated: false,
      span,
      ...e,
    })),
    entities: { regions: spec.regions, commodities: [], sectors: [], companies: [] },
    explanation: [{ dimension: 'tariff', cue: 'cue', weight: spec.score < 0 ? -1 : 1, span }],
    scorerVersion: 'review',
    scoredAt: at,
  }
}

const topics = createTopicCatalogue(`${randomName('desk-copies')}.`)
const ctx = { signal: new AbortController().signal }
const tariffDesk = topics.deskAlerts('tariff').name
const riskDesk = topics.deskAlerts('risk').name

/** Headlines as the alerter reads them, each stamped when it was scored. */
const recordsOf = (headlines: ScoredHeadline[], fromOffset = 0): InRecord[] =>
  scoredRecords(topics.scored.name, headlines, fromOffset, (h) => Date.parse(h.scoredAt))

type Seen = Alert & { topic: string; ceId: unknown }
const seen = (out: OutRecord[]): Seen[] =>
  out.map((r) => ({
    ...(JSON.parse(r.value as string) as Alert),
    topic: r.topic,
    ceId: r.headers?.ce_id,
  }))
const on = (out: Seen[], topic: string, headline?: string) =>
  out.filter((a) => a.topic === topic && (!headline || a.evidence[0]?.headlineId === headline))
const brief = (a: Alert) => `${a.rule} ${a.severity} ${a.scope.id}`

describe('desk copies and threat streams, on the real Redis store', () => {
  const { redisUrl } = testInfra()
  const redis = new Redis(redisUrl)
  afterAll(() => redis.quit())

  const stores: [string, () => AlertStore][] = [
    [
      'Redis',
      () =>
        createRedisAlertStore(redis, {
          prefix: randomName('desk-copies'),
          dedupWindowMs: 7 * DAY,
          hysteresisTtlMs: 7 * DAY,
        }),
    ],
    ['memory', () => createMemoryAlertStore({ dedupWindowMs: 7 * DAY, clock: { now: () => T0 + DAY } })],
  ]

  const enacted = scored('enacted', T0, {
    text: 'US raises tariffs on $200 billion of Chinese goods to 25%',
    score: -0.85,
    regions: ['US', 'CN'],
    events: [{ type: 'tariff_raised' }],
  })
  const relief = scored('relief', T0 + 2 * HOUR, {
    text: 'US and China agree to suspend tariff increases for 90 days',
    score: 0.85,
    regions: ['US', 'CN'],
    events: [{ type: 'tariff_suspended' }],
  })

  it.each(stores)(
    '%s: an enacted or relief headline pages the tariff desk once, with the critical alert, naming every scope and rule',
    async (_, open) => {
      const { handler, published } = testAlerterHandler({
        topics,
        rules,
        store: open(),
        desks,
        nowMs: T0 + 3 * HOUR,
      })
      await handler(recordsOf([enacted, relief]), ctx)
      const out = seen(published)
      // alerts.v1 has every alert: both rules on both regions.
      expect(on(out, topics.alerts.name, 'enacted').map(brief)).toEqual([
        'tariff_escalation_headline warning US',
        'tariff_escalation_headline warning CN',
        'trade_measure_enacted critical US',
        'trade_measure_enacted critical CN',
      ])
      expect(on(out, topics.alerts.name, 'relief').map(brief)).toEqual([
        'tariff_relief_headline info US',
        'tariff_relief_headline info CN',
        'trade_measure_reversed critical US',
        'trade_measure_reversed critical CN',
      ])
      // The tariff desk: one copy a headline, the critical one, under that alert's id on alerts.v1.
      for (const [headline, rule, other, what] of [
        ['enacted', 'trade_measure_enacted', 'tariff_escalation_headline (warning)', 'Tariff escalation'],
        ['relief', 'trade_measure_reversed', 'tariff_relief_headline (info)', 'Tariff relief'],
      ] as const) {
        const desk = on(out, tariffDesk, headline)
        expect(desk.map(brief)).toEqual([`${rule} critical US`])
        const [copy] = desk
        const original = on(out, topics.alerts.name, headline).find((a) => a.id === copy!.id)!
        expect(brief(original)).toBe(`${rule} critical US`)
        expect(copy!.ceId).toBe(copy!.id)
        expect(copy!.message.startsWith(`${what} on US, CN: "`)).toBe(true)
        expect(copy!.message.endsWith(`; also ${other} on US, CN`)).toBe(true)
        // The risk desk (critical only) gets one copy too: the critical rule on both regions.
        const risk = on(out, riskDesk, headline)
        expect(risk.map((a) => a.id)).toEqual([copy!.id])
        expect(risk[0]!.message.startsWith(`${what} on US, CN: "`)).toBe(true)
        expect(risk[0]!.message).not.toContain('also')
      }

      // A replay (the same headlines at new offsets) and a redelivery (the same offsets) send nothing.
      const before = published.length
      await handler(recordsOf([enacted, relief], 100), ctx)
      await handler(recordsOf([enacted, relief]), ctx)
      expect(published).toHaveLength(before)
    },
  )

  it.each(stores)(
    '%s: a redelivery whose reloaded rules raise a new rule beside a sent alert pages the desk with it, in a copy of its own',
    async (_, open) => {
      // The first process runs trade_measure_enacted alone: its critical alerts go out (the tariff desk
      // one copy), are marked sent, and the process dies before the offset commit. The record comes again
      // to a process whose rules add tariff_escalation_headline: the enacted alerts are "sent" (nothing to
      // publish), the escalation ones are new. The old copy did not mention them, so the desk gets them in a
      // copy of their own, under the escalation alert's id; they were merged into the sent copy (lost).
      // (Then the second process dies before its sent marks: a third sends that copy again, as it was.)
      const store = open()
      const enactedOnly: RuleSet = {
        ...rules,
        rules: rules.rules.filter((r) => r.id === 'trade_measure_enacted'),
      }
      const first = testAlerterHandler({ topics, rules: enactedOnly, store, desks, nowMs: T0 + HOUR })
      await first.handler(recordsOf([enacted]), ctx)
      const sentCopy = on(seen(first.published), tariffDesk, 'enacted')
      expect(sentCopy.map(brief)).toEqual(['trade_measure_enacted critical US'])
      expect(sentCopy[0]!.message).not.toContain('also')

      // The second process dies too, after its publish and before its sent marks.
      const crashed: AlertStore = {
        ...store,
        async commit() {
          throw new Error('killed')
        },
      }
      const next = testAlerterHandler({ topics, rules, store: crashed, desks, nowMs: T0 + HOUR })
      await expect(next.handler(recordsOf([enacted]), ctx)).rejects.toThrow('killed')
      const out = seen(next.published)
      expect(on(out, topics.alerts.name, 'enacted').map(brief)).toEqual([
        'tariff_escalation_headline warning US',
        'tariff_escalation_headline warning CN',
      ])
      const desk = on(out, tariffDesk, 'enacted')
      expect(desk.map(brief)).toEqual(['tariff_escalation_headline warning US'])
      expect(desk[0]!.id).toBe(on(out, topics.alerts.name, 'enacted')[0]!.id)
      expect(desk[0]!.id).not.toBe(sentCopy[0]!.id)
      expect(desk[0]!.message.startsWith('Tariff escalation on US, CN: "')).toBe(true)
      expect(desk[0]!.message).not.toContain('also')
      // The risk desk (critical only) had its copy; the warnings are not for it.
      expect(on(out, riskDesk)).toEqual([])

      // A third process: the escalation alerts are "resend" beside the sent ones, and go out again as the
      // second sent them (the same records, ids and copy), not merged into the sent copy.
      const third = testAlerterHandler({ topics, rules, store, desks, nowMs: T0 + HOUR })
      await third.handler(recordsOf([enacted]), ctx)
      expect(seen(third.published)).toEqual(out)

      // Once more (another redelivery, a replay at new offsets): nothing.
      const again = testAlerterHandler({ topics, rules, store, desks, nowMs: T0 + HOUR })
      await again.handler(recordsOf([enacted]), ctx)
      await again.handler(recordsOf([enacted], 100), ctx)
      expect(again.published).toEqual([])
    },
  )

  it.each(stores)(
    '%s: a headline whose warning goes out on CN and critical on US pages the desk once, each rule with its scopes',
    async (_, open) => {
      // 09:00, CN only: strong enough for trade_measure_enacted, not for tariff_escalation_headline.
      const cnMeasure = scored('cn-measure', T0, {
        text: 'US raises tariffs on Chinese steel',
        score: -0.78,
        regions: ['CN'],
        events: [{ type: 'tariff_raised' }],
      })
      // 09:10, US only: confident enough for tariff_escalation_headline, not for trade_measure_enacted.
      const usTalk = scored('us-talk', T0 + 10 * MIN, {
        text: 'US tariff escalation feared',
        score: -0.85,
        confidence: 0.45,
        regions: ['US'],
        events: [{ type: 'tariff_raised' }],
      })
      // 09:30, both: enacted on CN and escalation on US are cooling down; enacted on US and escalation on
      // CN go out.
      const both = scored('both', T0 + 30 * MIN, {
        text: 'US raises tariffs on Chinese goods',
        score: -0.85,
        regions: ['US', 'CN'],
        events: [{ type: 'tariff_raised' }],
      })
      const { handler, published } = testAlerterHandler({
        topics,
        rules,
        store: open(),
        desks,
        nowMs: T0 + HOUR,
      })
      await handler(recordsOf([cnMeasure, usTalk]), ctx)
      await handler(recordsOf([both], 2), ctx)
      const out = seen(published)
      expect(on(out, topics.alerts.name, 'both').map(brief)).toEqual([
        'tariff_escalation_headline warning CN',
        'trade_measure_enacted critical US',
      ])
      const desk = on(out, tariffDesk, 'both')
      expect(desk.map(brief)).toEqual(['trade_measure_enacted critical US'])
      expect(desk[0]!.message).toBe(
        'Tariff escalation on US: "US raises tariffs on Chinese goods" scored -0.85 (threshold -0.75); ' +
          'also tariff_escalation_headline (warning) on CN',
      )
      // The earlier headlines paged once each, as their alerts.v1 records (one alert each).
      for (const id of ['cn-measure', 'us-talk'])
        expect(on(out, tariffDesk, id).map((a) => a.message)).toEqual(
          on(out, topics.alerts.name, id).map((a) => a.message),
        )
    },
  )

  it.each(stores)(
    '%s: a threatened relief does not hold back the relief enacted hours later; each still cools its own stream',
    async (_, open) => {
      const reliefOnly: RuleSet = {
        ...rules,
        rules: rules.rules.filter((r) => r.id === 'tariff_relief_headline'),
      }
      const promise = (id: string, atMs: number) =>
        scored(id, atMs, {
          text: 'US and China expect to agree a trade deal',
          score: 0.85,
          regions: ['US', 'CN'],
          events: [{ type: 'deal', threat: true }],
        })
      const deal = (id: string, atMs: number) =>
        scored(id, atMs, {
          text: 'US and China sign a trade deal cutting tariffs',
          score: 0.9,
          regions: ['US', 'CN'],
          events: [{ type: 'deal' }],
        })
      const feed = [
        promise('promise', T0), // 09:00: fires (a threat)
        promise('promise-again', T0 + HOUR), // 10:00: held back by 09:00's
        deal('deal', T0 + 4 * HOUR), // 13:00: fires (the measure), though 09:00's cooldown runs to 15:00
        deal('deal-rewrite', T0 + 5 * HOUR), // 14:00: held back by 13:00's
      ]
      const run = async (store: AlertStore) => {
        const { handler, published } = testAlerterHandler({
          topics,
          rules: reliefOnly,
          store,
          desks,
          nowMs: T0 + 6 * HOUR,
        })
        for (const [i, h] of feed.entries()) await handler(recordsOf([h], i), ctx)
        const fired = on(seen(published), topics.alerts.name)
        // A replay of the whole feed sends nothing.
        const before = published.length
        await handler(recordsOf(feed, 100), ctx)
        expect(published).toHaveLength(before)
        return fired
      }
      const fired = await run(open())
      expect(fired.map((a) => `${a.evidence[0]?.headlineId} ${a.scope.id}`)).toEqual([
        'promise US',
        'promise CN',
        'deal US',
        'deal CN',
      ])
      // Ids are the same on another run (another store): deterministic, as replays across stores need.
      expect((await run(open())).map((a) => a.id)).toEqual(fired.map((a) => a.id))
    },
  )
})

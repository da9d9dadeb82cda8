// Old headlines read again: headlines.scored keeps 30 days, the alerter remembers an alert id it sent for
// ALERTER_DEDUP_WINDOW_MS (7 days), and a consumer group without offsets (a new prefix or group id,
// offsets expired after a long stop, a second deployment) reads the topic from its start. What the alerter
// raises for those headlines, on the Redis store and the in-memory one, with ALERTER_MAX_EVENT_AGE_MS off.
import { parseDesks, parseRules, type RuleSet } from '@tradepulse/alerting'
import { type Alert, createTopicCatalogue, type ScoredHeadline } from '@tradepulse/contracts'
import type { InRecord } from '@tradepulse/platform'
import { randomName, testInfra } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { type AlertStore, createRedisAlertStore } from './alert-store.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'
import { scenarioDesks } from './scenario-fixtures.ts'
import { cnHeadline, testAlerterHandler } from './test-handler.ts'

const MIN = 60_000
const DAY = 24 * 60 * MIN
const NOW = Date.parse('2026-12-06T12:00:00Z')
const DEDUP_WINDOW = 7 * DAY

const parsed = parseRules(
  `version: t-1
rules:
  - id: tariff_down
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:CN]
    direction: down
    threshold: 0.7
    minRelevance: 0.6
    severity: warning
    cooldownMs: 900000
`,
  'yaml',
)
if (!parsed.ok) throw new Error('rules do not parse')
const rules: RuleSet = parsed
const desks = parseDesks(scenarioDesks(), 'yaml')
if (!desks.ok) throw new Error('desks do not parse')

/**
 * A tariff headline on CN published at `publishedMs`, entered at `ingestedMs` and scored at `scoredMs`
 * (scoredAt, the scorer's clock).
 */
const headline = (id: string, publishedMs: number, ingestedMs: number, scoredMs: number): ScoredHeadline => ({
  ...cnHeadline(id, publishedMs, { tariff: -0.8 }),
  ingestedAt: new Date(ingestedMs).toISOString(),
  scoredAt: new Date(scoredMs).toISOString(),
})

describe('headlines read long after they were scored', () => {
  const { redisUrl } = testInfra()
  const redis = new Redis(redisUrl)
  afterAll(() => redis.quit())
  const topics = createTopicCatalogue('t.')
  const ctx = { signal: new AbortController().signal }

  const stores: [string, () => AlertStore][] = [
    [
      'Redis',
      () =>
        createRedisAlertStore(redis, {
          prefix: randomName('old-headlines'),
          dedupWindowMs: DEDUP_WINDOW,
          hysteresisTtlMs: DEDUP_WINDOW,
        }),
    ],
    ['memory', () => createMemoryAlertStore({ dedupWindowMs: DEDUP_WINDOW, clock: { now: () => NOW } })],
  ]

  /** The alerter's handler at NOW over a fresh store (a group without offsets), the bound off. */
  function alerter(open: () => AlertStore) {
    const t = testAlerterHandler({
      topics,
      rules,
      store: open(),
      desks: desks.ok ? desks.desks : [],
      nowMs: NOW,
      maxEventAgeMs: 0,
      dedupWindowMs: DEDUP_WINDOW,
    })
    let offset = 0
    /** One headlines.scored record, `appendedMs` its timestamp (the broker's, LogAppendTime). */
    const feed = async (h: ScoredHeadline, appendedMs: number): Promise<string[]> => {
      const record: InRecord = {
        topic: topics.scored.name,
        partition: 0,
        offset: String(offset++),
        key: Buffer.from(h.id),
        value: Buffer.from(JSON.stringify(h)),
        headers: {},
        timestamp: appendedMs,
      }
      const from = t.published.length
      await t.handler([record], ctx)
      return t.published.slice(from).map((r) => {
        const a = JSON.parse(r.value as string) as Alert
        return `${r.topic} ${a.rule} ${a.scope.kind}:${a.scope.id} ${a.publishedAt}`
      })
    }
    const stale = async () =>
      (await t.registry.getSingleMetricAsString('tradepulse_alerts_suppressed_total')).match(
        /reason="stale"} (\d+)/,
      )?.[1]
    return { feed, stale }
  }
  const at = (ms: number) => new Date(ms).toISOString()
  const pages = (publishedMs: number) => [
    `t.alerts.v1 tariff_down region:CN ${at(publishedMs)}`,
    `t.alerts.desk.tariff.v1 tariff_down region:CN ${at(publishedMs)}`,
  ]

  it.each(stores)(
    '%s: a headline scored 10 days ago (past the dedup window) raises nothing, counted as stale; the same news replayed (scored now) and one scored 6 days ago alert',
    async (_, open) => {
      // The topic's record of a headline scored 10 days ago: its alert went out then, and its dedup mark
      // has expired since. Read again by a group without offsets, it pages no desk.
      const old = alerter(open)
      const tenDaysAgo = NOW - 10 * DAY
      expect(
        await old.feed(headline('h-old', tenDaysAgo - 5 * MIN, tenDaysAgo - MIN, tenDaysAgo), tenDaysAgo),
      ).toEqual([])
      expect(await old.stale()).toBe('1')

      // `tradepulse replay` of 2018 news: entered with its original time (ingestedAt 2018), scored now.
      const replay = alerter(open)
      const in2018 = Date.parse('2018-07-06T14:00:00Z')
      expect(await replay.feed(headline('h-2018', in2018, in2018, NOW - MIN), NOW - MIN)).toEqual(
        pages(in2018),
      )
      expect(await replay.stale()).toBeUndefined()

      // Scored within the window: as before (a live alerter's mark of it would still be held).
      const recent = alerter(open)
      const sixDaysAgo = NOW - 6 * DAY
      expect(await recent.feed(headline('h-recent', sixDaysAgo, sixDaysAgo, sixDaysAgo), sixDaysAgo)).toEqual(
        pages(sixDaysAgo),
      )
      expect(await recent.stale()).toBeUndefined()
    },
  )
})

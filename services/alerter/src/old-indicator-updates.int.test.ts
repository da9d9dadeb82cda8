// Old indicator updates: the compacted indicators topic keeps every indicator's last update forever, and
// a consumer group without offsets (a new prefix or group id, offsets expired, a second deployment) reads
// them all again. What the alerter raises for them, on the Redis store and the in-memory one.
import { hysteresisKeysFor, parseRules, type RuleSet } from '@tradepulse/alerting'
import { type Alert, createTopicCatalogue, type IndicatorUpdate } from '@tradepulse/contracts'
import { createKeys, type InRecord } from '@tradepulse/platform'
import { randomName, testInfra } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { type AlertStore, createRedisAlertStore } from './alert-store.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'
import { cnLevelRule } from './scenario-fixtures.ts'
import { cnTariffUpdate, testAlerterHandler } from './test-handler.ts'

const MIN = 60_000
const H = 60 * MIN
const DAY = 24 * H
const NOW = Date.parse('2026-12-06T12:00:00Z')
const TTL = 7 * DAY

const parsed = parseRules(`version: t-1\nrules:\n${cnLevelRule(H)}`, 'yaml')
if (!parsed.ok) throw new Error('rules do not parse')
// tariff_level_cn: the 1h tariff mean on CN below -0.5, re-armed above -0.35.
const rules: RuleSet = parsed

/** CN's tariff indicator at `asOfMs`, made at `updatedMs`, its means at `mean`, `count` headlines behind it. */
const update = (asOfMs: number, updatedMs: number, mean: number, count: number): IndicatorUpdate => ({
  ...cnTariffUpdate(asOfMs, 0, mean, updatedMs),
  count,
  volume: { '15m': Math.min(count, 5), '1h': Math.min(count, 10), '24h': count },
})

describe('indicator updates read long after they were made', () => {
  const { redisUrl } = testInfra()
  const redis = new Redis(redisUrl)
  afterAll(() => redis.quit())
  const topics = createTopicCatalogue('t.')
  const ctx = { signal: new AbortController().signal }

  const stores: [string, () => { store: AlertStore; fields: (key: string) => Promise<string[]> }][] = [
    [
      'Redis',
      () => {
        const prefix = randomName('old-updates')
        const store = createRedisAlertStore(redis, { prefix, dedupWindowMs: TTL, hysteresisTtlMs: TTL })
        return { store, fields: (key) => redis.hkeys(createKeys(prefix).alertHysteresis(key)) }
      },
    ],
    [
      'memory',
      () => {
        const store = createMemoryAlertStore({ dedupWindowMs: TTL, clock: { now: () => NOW } })
        // Every field the rules read (the store keeps only those): what it holds of them.
        const fields = async (key: string) => {
          const read = await store.readHysteresis(
            new Map([[key, { fields: hysteresisKeysFor(rules, update(NOW, NOW, 0, 1)) }]]),
          )
          return Object.keys(read.get(key) ?? {})
        }
        return { store, fields }
      },
    ],
  ]

  /** The alerter's handler at NOW over a fresh store; `feed` hands it one update a batch. */
  function alerter(open: (typeof stores)[number][1], opts: { maxEventAgeMs: number }) {
    const { store, fields } = open()
    const t = testAlerterHandler({ topics, rules, store, nowMs: NOW, hysteresisTtlMs: TTL, ...opts })
    let offset = 0
    const feed = async (u: IndicatorUpdate): Promise<string[]> => {
      const record: InRecord = {
        topic: topics.indicators.name,
        partition: 0,
        offset: String(offset++),
        key: Buffer.from(u.key),
        value: Buffer.from(JSON.stringify(u)),
        headers: {},
        timestamp: Date.parse(u.updatedAt),
      }
      const from = t.published.length
      await t.handler([record], ctx)
      return t.published
        .slice(from)
        .filter((r) => r.topic === topics.alerts.name)
        .map((r) => JSON.parse(r.value as string) as Alert)
        .map((a) => `${a.rule} ${a.publishedAt}`)
    }
    const stale = async () =>
      (await t.registry.getSingleMetricAsString('tradepulse_alerts_suppressed_total')).match(
        /reason="stale"} (\d+)/,
      )?.[1]
    return { feed, stale, fields }
  }
  const at = (ms: number) => new Date(ms).toISOString()
  const key = update(NOW, NOW, 0, 1).key

  it.each(stores)(
    '%s: an update a month old raises nothing and moves no line (ALERTER_MAX_EVENT_AGE_MS 24 h); the next burst pages',
    async (_, open) => {
      const { feed, stale, fields } = alerter(open, { maxEventAgeMs: DAY })
      // The last record the topic keeps of CN's tariff: a month old, past the line, no state left of it.
      expect(await feed(update(NOW - 30 * DAY, NOW - 30 * DAY, -0.7, 20))).toEqual([])
      expect(await stale()).toBe('1')
      expect(await fields(key)).toEqual([])
      // A live burst: the aggregator's state of the quiet indicator expired meanwhile (its count starts
      // again, so no silence can be told from it). As a live alerter, whose state of the old update would
      // have expired, it pages: a line left disarmed by the old update would have missed it.
      expect(await feed(update(NOW - MIN, NOW, -0.7, 3))).toEqual([`tariff_level_cn ${at(NOW - MIN)}`])
      expect(await stale()).toBe('1')
    },
  )

  it.each(stores)(
    '%s: an update older than ALERTER_MAX_EVENT_AGE_MS but within the TTL leaves its line disarmed: the episode going on does not page, the next one does',
    async (_, open) => {
      const { feed, stale, fields } = alerter(open, { maxEventAgeMs: DAY })
      const first = NOW - DAY - 5 * MIN
      expect(await feed(update(first, first, -0.7, 20))).toEqual([])
      expect(await stale()).toBe('1')
      expect(await fields(key)).toHaveLength(2) // the line's entry (disarmed) and the indicator's reading
      // Ten minutes on, within the age, no silence since (a headline more): the episode goes on, unpaged.
      expect(await feed(update(first + 10 * MIN, first + 10 * MIN, -0.72, 21))).toEqual([])
      // A day's silence, then a new burst past the line: the silence re-armed it, so it pages.
      expect(await feed(update(NOW - MIN, NOW, -0.7, 25))).toEqual([`tariff_level_cn ${at(NOW - MIN)}`])
      expect(await stale()).toBe('1')
    },
  )

  it.each(stores)(
    '%s: with ALERTER_MAX_EVENT_AGE_MS off, an update made longer ago than the hysteresis TTL raises nothing; a replay of old news and an update made within the TTL alert as before',
    async (_, open) => {
      const old = alerter(open, { maxEventAgeMs: 0 })
      expect(await old.feed(update(NOW - 30 * DAY, NOW - 30 * DAY, -0.7, 20))).toEqual([])
      expect(await old.stale()).toBe('1')
      expect(await old.fields(key)).toEqual([])
      // A replay of 2018 news: made now by the aggregator, about 2018.
      const replay = alerter(open, { maxEventAgeMs: 0 })
      const in2018 = Date.parse('2018-07-06T14:00:00Z')
      expect(await replay.feed(update(in2018, NOW, -0.7, 20))).toEqual([`tariff_level_cn ${at(in2018)}`])
      const recent = alerter(open, { maxEventAgeMs: 0 })
      expect(await recent.feed(update(NOW - 6 * DAY, NOW - 6 * DAY, -0.7, 20))).toEqual([
        `tariff_level_cn ${at(NOW - 6 * DAY)}`,
      ])
      expect(await replay.stale()).toBeUndefined()
      expect(await recent.stale()).toBeUndefined()
    },
  )
})

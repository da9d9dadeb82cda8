// A claim Redis refuses with a reply that is the same on every try (a WRONGTYPE on a stream's key, damaged
// by hand): the record that raised it is the record's handler_error (dead-lettered once handled alone). Its
// other alerts, claimed in the same round trip on healthy streams, must not stay claimed and unsent.
import { cooldownKey, parseRules, type RuleSet } from '@tradepulse/alerting'
import { type Alert, createTopicCatalogue, type ScoredHeadline } from '@tradepulse/contracts'
import { createKeys, type InRecord, normalizeError } from '@tradepulse/platform'
import { randomName, testInfra } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createRedisAlertStore } from './alert-store.ts'
import { cnHeadline, testAlerterHandler } from './test-handler.ts'

const MIN = 60_000
const H = 60 * MIN
const T0 = Date.parse('2026-12-06T12:00:00Z')

const parsed = parseRules(
  `version: t-1
rules:
  - id: tariff_down
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:CN, region:US]
    direction: down
    threshold: 0.7
    minRelevance: 0.6
    severity: warning
    cooldownMs: 3600000
`,
  'yaml',
)
if (!parsed.ok) throw new Error('rules do not parse')
const rules: RuleSet = parsed

/** A tariff headline published at `publishedMs` about `regions`. */
const headline = (id: string, publishedMs: number, regions: string[]): ScoredHeadline => {
  const h = cnHeadline(id, publishedMs, { tariff: -0.8 })
  return { ...h, entities: { ...h.entities, regions } }
}

describe('alerter: a claim refused by a reply that is the same on every try', () => {
  const redis = new Redis(testInfra().redisUrl)
  afterAll(() => redis.quit())
  const topics = createTopicCatalogue('t.')
  const ctx = { signal: new AbortController().signal }
  const recordOf = (h: ScoredHeadline, offset: number): InRecord => ({
    topic: topics.scored.name,
    partition: 0,
    offset: String(offset),
    key: Buffer.from(h.id),
    value: Buffer.from(JSON.stringify(h)),
    headers: {},
    timestamp: T0 + 2 * H,
  })

  it("leaves none of the record's other alerts claimed: a later alert of their stream goes out", async () => {
    const prefix = randomName('alerts')
    const store = createRedisAlertStore(redis, { prefix, dedupWindowMs: 24 * H, hysteresisTtlMs: 24 * H })
    const { handler, published } = testAlerterHandler({ topics, rules, store, nowMs: T0 + 2 * H })
    // The US stream's fired set, damaged: a string where the claim script reads a sorted set.
    const us = cooldownKey({ id: 'tariff_down' }, 'tariff', { kind: 'region', id: 'US' }, 'down')
    await redis.set(`${createKeys(prefix).alertCooldown(us)}:fired`, 'damaged')
    // A headline about CN and US: its US claim fails with WRONGTYPE, not a fault to retry. The runner
    // hands it on again alone, it fails again, and is dead-lettered (handler_error).
    const both = recordOf(headline('both', T0, ['CN', 'US']), 0)
    for (let attempt = 0; attempt < 2; attempt++) {
      const failed = await handler([both], ctx).then(
        () => undefined,
        (err: unknown) => err,
      )
      expect(String(failed)).toContain('WRONGTYPE')
      expect(normalizeError(failed).retriable).toBe(false)
    }
    expect(published).toEqual([])
    // Ten minutes later, a headline about CN alone: its alert is the first of its stream that went out.
    await handler([recordOf(headline('cn', T0 + 10 * MIN, ['CN']), 1)], ctx)
    const sent = published
      .filter((r) => r.topic === topics.alerts.name)
      .map((r) => JSON.parse(r.value as string) as Alert)
      .map((a) => `${a.scope.id} ${a.evidence[0]?.headlineId}`)
    expect(sent).toEqual(['CN cn'])
  })
})

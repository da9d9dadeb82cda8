// A level rule that fired on one burst of news, when the aggregator's keys of its indicator are gone
// before the next: expired (171 h after their last write) or lost (an eviction, a flush). The aggregator
// starts the indicator again from nothing (its count from 0) while the alerter's hysteresis hash, kept
// longer or written later, still holds the line disarmed. Headlines scored by the real scorer, applied to
// the real Redis indicator store as the aggregator applies them, and the alerter's handler on its Redis
// store, or the whole alerter on Kafka and Redis.
import { createManualClock, createTopicCatalogue, type ScoredHeadline } from '@tradepulse/contracts'
import { createKeys, createRedisIndicatorStore } from '@tradepulse/platform'
import { randomName, testInfra, waitFor } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createRedisAlertStore } from './alert-store.ts'
import {
  aggregate,
  BURST,
  burst,
  DAY,
  defaultRules,
  describeAlerts,
  HOUR,
  indicatorRecords,
  MAGNETS,
  MIN,
  startBurstAlerter,
  T0,
} from './burst-scenario.ts'
import { testAlerterHandler } from './test-handler.ts'

const TONE = `supply_tone_1h_negative ${MAGNETS}`

/** Every key under `prefix` deleted: the aggregator's keys expired, or evicted, as they are for it. */
async function dropKeys(redis: Redis, prefix: string): Promise<number> {
  const keys = await redis.keys(`${prefix}:*`)
  if (keys.length > 0) await redis.del(...keys)
  return keys.length
}

/** `<rule> <indicator>` of an alert, without its time. */
const stream = (d: string) => d.split(' ').slice(1).join(' ')

describe("an indicator rule whose indicator's keys are gone while its line is disarmed, on Redis", () => {
  const { redisUrl } = testInfra()
  const redis = new Redis(redisUrl)
  afterAll(() => redis.quit())
  const topics = createTopicCatalogue(`${randomName('rearm-expiry')}.`)
  const ctx = { signal: new AbortController().signal }
  const described = (out: Parameters<typeof describeAlerts>[1]) => describeAlerts(topics, out)

  /** The aggregator's store and the alerter's handler on the Redis alert store, fed one batch at a time. */
  function pipeline() {
    const clock = createManualClock(T0)
    const indicatorPrefix = randomName('rearm-expiry-ind')
    const indicators = createRedisIndicatorStore(redis, { prefix: indicatorPrefix, clock })
    const alertPrefix = randomName('rearm-expiry')
    // Kept 30 days: longer than the aggregator's keys, as ALERTER_HYSTERESIS_TTL_MS could be set before
    // 85d4e6d, and as any hash is in effect when the alerter writes it hours after the aggregator's last
    // write (a backlog, a new consumer group reading the compacted topic).
    const store = createRedisAlertStore(redis, {
      prefix: alertPrefix,
      dedupWindowMs: 7 * DAY,
      hysteresisTtlMs: 30 * DAY,
    })
    const { handler, published } = testAlerterHandler({ topics, rules: defaultRules, store })
    let offset = 0
    return {
      published,
      /** The line the alerter keeps for the 1h supply-chain tone of magnets, as stored. */
      toneLine: async () => {
        const hash = await redis.hgetall(createKeys(alertPrefix).alertHysteresis(MAGNETS))
        const field = Object.keys(hash).find((f) => f.includes('supply_tone_1h_negative'))
        return field === undefined ? undefined : JSON.parse(hash[field]!)
      },
      dropIndicators: () => dropKeys(redis, indicatorPrefix),
      feed: async (headlines: ScoredHeadline[]) => {
        clock.set(Date.parse(headlines.at(-1)!.publishedAt))
        const updates = await aggregate(indicators, headlines)
        await handler(indicatorRecords(topics, updates, offset, clock.now()), ctx)
        offset += updates.length
      },
    }
  }

  it('pages again on the burst after nine quiet days that outlived the aggregator keys', async () => {
    const p = pipeline()
    for (const h of burst('a', T0)) await p.feed([h])
    const first = described(p.published.splice(0))
    expect(first.map(stream)).toContain(TONE)
    // Nine quiet days: the aggregator's keys (171 h) have expired; the alerter's line is still disarmed.
    expect(await p.dropIndicators()).toBeGreaterThan(0)
    expect(await p.toneLine()).toMatchObject({ armed: false, count: 4 })
    for (const h of burst('b', T0 + 9 * DAY)) await p.feed([h])
    const second = described(p.published)
    // Every alert of the first burst again, the magnets tone among them (before: none of them).
    expect(second.map(stream).sort()).toEqual(first.map(stream).sort())
    expect(second).toContain(`${new Date(T0 + 9 * DAY + 10 * MIN).toISOString()} ${TONE}`)
  })

  it('pages again when the keys were lost during a quiet spell of three hours, the next burst in one batch', async () => {
    const p = pipeline()
    for (const h of burst('a', T0)) await p.feed([h])
    expect(described(p.published.splice(0)).map(stream)).toContain(TONE)
    expect(await p.dropIndicators()).toBeGreaterThan(0)
    // Three headlines in one aggregator batch: count 3 after the line's 4, the 15 min window holding all.
    await p.feed(burst('b', T0 + 3 * HOUR, BURST.slice(0, 3)))
    expect(described(p.published)).toContain(`${new Date(T0 + 3 * HOUR + 10 * MIN).toISOString()} ${TONE}`)
  })

  it('pages once for an episode whose keys were lost in the middle of it', async () => {
    const p = pipeline()
    for (const h of burst('a', T0, BURST.slice(0, 3))) await p.feed([h])
    expect(described(p.published.splice(0)).map(stream)).toContain(TONE)
    expect(await p.dropIndicators()).toBeGreaterThan(0)
    // The episode goes on from nothing, twenty minutes on and then every five minutes for an hour: its
    // first update's 15 min window starts after the last one, yet the tone read there, five minutes on,
    // was still past -0.35, so the line stays disarmed as the new run's mean goes past -0.5 again.
    for (const h of burst('c', T0 + 30 * MIN, [...BURST, ...BURST, ...BURST])) await p.feed([h])
    expect(described(p.published).filter((d) => stream(d) === TONE)).toEqual([])
    const line = await p.toneLine()
    expect(line).toMatchObject({ armed: false })
    expect(line.lastValue).toBeLessThan(-0.5)
  })
})

describe('the alerter on Kafka and Redis, the aggregator keys lost in a quiet spell', () => {
  const { kafkaBrokers, redisUrl } = testInfra()

  it('pages again on the next burst, with the default hysteresis TTL', async () => {
    const { redis, indicators, indicatorPrefix, produce, onMagnets, stop } = await startBurstAlerter(
      kafkaBrokers,
      redisUrl,
      'rearm-lost',
    )
    try {
      for (const h of burst('app-a', T0)) await produce(await aggregate(indicators, [h]))
      await waitFor(() => onMagnets().length === 1 || undefined, { what: 'the first burst alert' })
      // Two quiet days in, Redis evicts the aggregator's keys (the alerter's hash is kept): the next
      // burst starts the indicator again from count 0.
      expect(await dropKeys(redis, indicatorPrefix)).toBeGreaterThan(0)
      for (const h of burst('app-b', T0 + 3 * DAY)) await produce(await aggregate(indicators, [h]))
      const again = await waitFor(() => onMagnets()[1], { what: 'the second burst alert' })
      expect(again.publishedAt).toBe(new Date(T0 + 3 * DAY + 10 * MIN).toISOString())
      expect(again.value).toBe(onMagnets()[0]!.value)
    } finally {
      await stop()
    }
  })
})

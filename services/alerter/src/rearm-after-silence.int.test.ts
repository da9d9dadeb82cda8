// The review's case end to end: a level rule that fired on one burst of news fires again on the same
// burst after days of silence on its scope. Headlines scored by the real scorer, applied to the real
// Redis indicator store as the aggregator applies them, its updates read back as the aggregator
// publishes them, and the alerter's handler (Redis and memory stores) or the whole alerter on Kafka.
import { createManualClock, createTopicCatalogue, type ScoredHeadline } from '@tradepulse/contracts'
import { createRedisIndicatorStore } from '@tradepulse/platform'
import { randomName, testInfra, waitFor } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { type AlertStore, createRedisAlertStore } from './alert-store.ts'
import {
  aggregate,
  burst,
  DAY,
  defaultRules,
  describeAlerts,
  indicatorRecords,
  MAGNETS,
  MIN,
  startBurstAlerter,
  T0,
} from './burst-scenario.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'
import { testAlerterHandler } from './test-handler.ts'

const topics = createTopicCatalogue(`${randomName('rearm')}.`)
const ctx = { signal: new AbortController().signal }
const described = (out: Parameters<typeof describeAlerts>[1]) => describeAlerts(topics, out)

describe('an indicator rule across days of silence, on the real indicator store', () => {
  const { redisUrl } = testInfra()
  const redis = new Redis(redisUrl)
  afterAll(() => redis.quit())

  /**
   * Burst 1, three silent days, burst 2, through the alerter's handler over `store`: burst 2 comes
   * headline by headline, or (batched) in one aggregator batch. The alerts of each burst.
   */
  async function run(store: AlertStore, batched: boolean) {
    const clock = createManualClock(T0)
    const indicators = createRedisIndicatorStore(redis, { prefix: randomName('rearm-ind'), clock })
    const { handler, published } = testAlerterHandler({ topics, rules: defaultRules, store })
    let offset = 0
    const feed = async (headlines: ScoredHeadline[]) => {
      clock.set(Date.parse(headlines.at(-1)!.publishedAt))
      const updates = await aggregate(indicators, headlines)
      await handler(indicatorRecords(topics, updates, offset, clock.now()), ctx)
      offset += updates.length
    }
    for (const h of burst('a', T0)) await feed([h])
    const first = described(published.splice(0))
    const second = burst('b', T0 + 3 * DAY)
    if (batched) await feed(second)
    else for (const h of second) await feed([h])
    return { first, second: described(published) }
  }

  const redisStore = () =>
    createRedisAlertStore(redis, {
      prefix: randomName('rearm'),
      dedupWindowMs: 7 * DAY,
      hysteresisTtlMs: 7 * DAY,
    })
  const memoryStore = () => createMemoryAlertStore({ dedupWindowMs: 7 * DAY, clock: createManualClock(T0) })
  /** An alert's description three days later. */
  const threeDaysOn = (d: string) => {
    const [at, ...rest] = d.split(' ')
    return [new Date(Date.parse(at!) + 3 * DAY).toISOString(), ...rest].join(' ')
  }

  it.each([
    ['Redis', redisStore],
    ['memory', memoryStore],
  ])('%s: the second burst raises the alerts the first did, three days on', async (_, open) => {
    const { first, second } = await run(open(), false)
    expect(first.filter((d) => d.endsWith(` supply_tone_1h_negative ${MAGNETS}`))).toHaveLength(1)
    expect(second).toEqual(first.map(threeDaysOn))
  })

  it.each([
    ['Redis', redisStore],
    ['memory', memoryStore],
  ])(
    '%s: a second burst in one aggregator batch (past the line on its first update) alerts too',
    async (_, open) => {
      const { first, second } = await run(open(), true)
      // The batch's one update per indicator, at its newest headline: the same rules and indicators.
      const last = new Date(T0 + 3 * DAY + 15 * MIN).toISOString()
      expect([...second].sort()).toEqual(
        [...new Set(first.map((d) => `${last} ${d.split(' ').slice(1).join(' ')}`))].sort(),
      )
      expect(second).toContain(`${last} supply_tone_1h_negative ${MAGNETS}`)
    },
  )
})

describe('the alerter on Kafka and Redis across days of silence', () => {
  const { kafkaBrokers, redisUrl } = testInfra()

  it('pages again on the next burst after three silent days', async () => {
    const { indicators, produce, onMagnets, stop } = await startBurstAlerter(
      kafkaBrokers,
      redisUrl,
      'rearm-app',
    )
    try {
      for (const h of burst('app-a', T0)) await produce(await aggregate(indicators, [h]))
      await waitFor(() => onMagnets().length === 1 || undefined, { what: 'the first burst alert' })
      for (const h of burst('app-b', T0 + 3 * DAY)) await produce(await aggregate(indicators, [h]))
      const again = await waitFor(() => onMagnets()[1], { what: 'the second burst alert' })
      expect(again.publishedAt).toBe(new Date(T0 + 3 * DAY + 10 * MIN).toISOString())
      expect(again.value).toBe(onMagnets()[0]!.value)
      expect(again.id).not.toBe(onMagnets()[0]!.id)
    } finally {
      await stop()
    }
  })
})

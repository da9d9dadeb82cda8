import { type HysteresisValue, READING_FIELD } from '@tradepulse/alerting'
import { createManualClock } from '@tradepulse/contracts'
import { closeRedis, createKeys, createLogger, createRedis } from '@tradepulse/platform'
import { randomName, startReplyLosingProxy, testInfra } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { type AlertStore, createRedisAlertStore, type HysteresisFields } from './alert-store.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'

const H = 3_600_000
const silent = createLogger({ level: 'silent' })
const LINE = 'tariff_down|tariff|region:CN|down|mean:1h|-0.5|0.1'

const entry = (armed: boolean, asOfMs: number, count?: number): HysteresisValue => ({
  armed,
  lastValue: armed ? -0.2 : -0.7,
  asOfMs,
  ...(count !== undefined ? { count } : {}),
})
const reading = (asOfMs: number, count: number): HysteresisValue => ({
  asOfMs,
  count,
  mean: { '1h': -0.6 },
  weight: { '1h': 3 },
  exact: true,
})
const moved = (indicator: string, fields: HysteresisFields) => new Map([[indicator, fields]])
const read = async (store: AlertStore, indicator: string, fields: string[]) =>
  (await store.readHysteresis(new Map([[indicator, { fields }]]))).get(indicator)

/** Writes about older updates after newer ones; what each store is left holding. */
async function lateWrites(store: AlertStore, indicator: string) {
  // The newer writes (the indicator's new owner, say): the line re-armed at 12:00 behind 40 headlines.
  await store.commit(
    [],
    moved(indicator, { [LINE]: entry(true, 12 * H, 40), [READING_FIELD]: reading(12 * H, 40) }),
  )
  // Late: the line as it fired at 11:00, and the same asOf behind fewer headlines (an older reading).
  await store.commit([], moved(indicator, { [LINE]: entry(false, 11 * H, 30) }))
  await store.commit(
    [],
    moved(indicator, { [LINE]: entry(false, 12 * H, 39), [READING_FIELD]: reading(12 * H, 39) }),
  )
  const kept = await read(store, indicator, [LINE, READING_FIELD])
  // Newer ones still move it: a later update, and the same asOf behind more headlines.
  await store.commit([], moved(indicator, { [LINE]: entry(false, 12 * H, 41) }))
  const later = await read(store, indicator, [LINE])
  // An entry written before counts were kept (no count) is taken at the same asOf, as the evaluation does.
  await store.commit([], moved(indicator, { [LINE]: entry(true, 12 * H) }))
  const uncounted = await read(store, indicator, [LINE])
  return { kept, later, uncounted }
}

describe('alert store: a hysteresis write about an older update than the hash holds', () => {
  const redis = new Redis(testInfra().redisUrl)
  afterAll(() => redis.quit())

  it('leaves the newer entry, on Redis and in memory alike', async () => {
    const expected = {
      kept: { [LINE]: entry(true, 12 * H, 40), [READING_FIELD]: reading(12 * H, 40) },
      later: { [LINE]: entry(false, 12 * H, 41) },
      uncounted: { [LINE]: entry(true, 12 * H) },
    }
    const viaRedis = await lateWrites(
      createRedisAlertStore(redis, {
        prefix: randomName('alerts'),
        dedupWindowMs: 24 * H,
        hysteresisTtlMs: 24 * H,
      }),
      randomName('ind'),
    )
    expect(viaRedis).toEqual(expected)
    const viaMemory = await lateWrites(
      createMemoryAlertStore({ dedupWindowMs: 24 * H, clock: createManualClock(0) }),
      randomName('ind'),
    )
    expect(viaMemory).toEqual(expected)
  })

  it('sent again by ioredis after its reply was lost, once another alerter wrote newer entries, changes nothing', async () => {
    const prefix = randomName('alerts')
    const indicator = randomName('ind')
    const key = createKeys(prefix).alertHysteresis(indicator)
    const opts = { prefix, dedupWindowMs: 24 * H, hysteresisTtlMs: 24 * H }
    // The new owner of the indicator's partition, on a connection of its own.
    const other = createRedisAlertStore(redis, opts)
    const proxy = await startReplyLosingProxy({
      redisUrl: testInfra().redisUrl,
      marker: indicator,
      // Once this alerter's write ran (its reply held back), the other writes the line's next moves before
      // the connection drops; ioredis then sends the unanswered write again on its new connection.
      applied: async () => {
        const raw = await redis.hget(key, LINE)
        if (raw === null || JSON.parse(raw).asOfMs !== 11 * H) return false
        await other.commit([], moved(indicator, { [LINE]: entry(true, 12 * H, 40) }))
        return true
      },
      what: "the first alerter's hysteresis write run in Redis",
    })
    const client = createRedis(proxy.url, silent, 'late-write-test', { timeoutMs: 0 })
    try {
      const store = createRedisAlertStore(client, opts)
      // The line as it fired at 11:00.
      await store.commit([], moved(indicator, { [LINE]: entry(false, 11 * H, 30) }))
      expect(proxy.dropped()).toBe(1)
      expect(await read(other, indicator, [LINE])).toEqual({ [LINE]: entry(true, 12 * H, 40) })
    } finally {
      await closeRedis(client)
      await proxy.close()
    }
  })
})

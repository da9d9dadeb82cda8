// The Redis indicator store's idempotence is per indicator: a headline's contribution to one dimension
// is never taken for a duplicate because its contribution to another was applied. Market and uncertainty
// shared one applied-ids set (the aggregator never splits a headline's contributions), so a lone
// uncertainty contribution whose market one an earlier apply had applied was dropped as a duplicate.
import type { Dimension } from '@tradepulse/contracts'
import type { Contribution } from '@tradepulse/indicators'
import { createRedisIndicatorStore } from '@tradepulse/platform'
import { randomName, testInfra } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

const GLOBAL = { kind: 'global' as const, id: 'all' }

describe('Redis indicator store: dedup per dimension', () => {
  const { redisUrl } = testInfra()
  let redis: Redis
  let prefix: string

  beforeEach(() => {
    redis = new Redis(redisUrl)
    prefix = randomName('dedupkind').replace(/\W/g, '_')
  })
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length) await redis.unlink(...keys)
    await redis.quit()
  })

  const now = Date.now()
  const contribution = (dimension: Dimension, headlineId: string, eventMs: number): Contribution => ({
    dimension,
    scope: GLOBAL,
    headlineId,
    eventMs,
    value: 0.5,
    weight: 1,
    sign: 1,
  })

  for (const [name, first, second] of [
    ['market, then uncertainty', 'market', 'uncertainty'],
    ['uncertainty, then market', 'uncertainty', 'market'],
  ] as const) {
    it(`applies a headline's ${name} given in two applies, each once (fast path and one contribution a call)`, async () => {
      for (const options of [{}, { sendEvery: 1, maxPerCall: 1 }]) {
        const store = createRedisIndicatorStore(redis, { prefix: `${prefix}_${options.maxPerCall ?? 0}` })
        const t = now - 60_000
        expect(await store.applyBatch([contribution(first, 'h1', t)])).toMatchObject({
          applied: 1,
          duplicates: 0,
        })
        expect(await store.applyBatch([contribution(second, 'h1', t)])).toMatchObject({
          applied: 1,
          duplicates: 0,
        })
        expect((await store.get(first, GLOBAL, now))?.count).toBe(1)
        expect((await store.get(second, GLOBAL, now))?.count).toBe(1)
        // Each is still applied once: given again, together or alone, both are duplicates.
        expect(
          await store.applyBatch([contribution('market', 'h1', t), contribution('uncertainty', 'h1', t)]),
        ).toMatchObject({ applied: 0, duplicates: 2 })
        expect(await store.applyBatch([contribution(second, 'h1', t)])).toMatchObject({
          applied: 0,
          duplicates: 1,
        })
        expect((await store.get('uncertainty', GLOBAL, now))?.count).toBe(1)
        expect((await store.get('market', GLOBAL, now))?.count).toBe(1)
      }
    })
  }
})

import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomKeyPrefix, randomName } from './random-name.ts'
import { deleteKeysWhere, scanKeys } from './run-cleanup.ts'
import { testInfra } from './test-env.ts'

describe('deleteKeysWhere and scanKeys (real Redis)', () => {
  const { redisUrl } = testInfra()
  const redis = new Redis(redisUrl)
  beforeAll(async () => {
    await redis.ping()
  })
  afterAll(() => {
    redis.disconnect()
  })

  it('deletes the keys the predicate picks, however many SCAN pages they span, and no other', async () => {
    // Only this test's own prefixes are touched: other int tests share the server.
    const doomed = `${randomName('cleanup')}.`.replace(/\W/g, '_')
    const spared = `${randomName('cleanup')}.`.replace(/\W/g, '_')
    const pipeline = redis.pipeline()
    for (let i = 0; i < 12_000; i++) pipeline.set(`${doomed}:k:{${i % 64}}:${i}`, '1')
    for (let i = 0; i < 10; i++) pipeline.set(`${spared}:k:${i}`, '1')
    await pipeline.exec()

    const seen = new Set<string>()
    await scanKeys(redisUrl, (keys) => {
      for (const k of keys) if (k.startsWith(doomed) || k.startsWith(spared)) seen.add(randomKeyPrefix(k)!)
    })
    expect(seen).toEqual(new Set([doomed.slice(0, -1), spared.slice(0, -1)]))

    const n = await deleteKeysWhere(redisUrl, (k) => randomKeyPrefix(k) === doomed.slice(0, -1))
    expect(n).toBe(12_000)
    const left: string[] = []
    await scanKeys(redisUrl, (keys) => void left.push(...keys), `${doomed}*`)
    expect(left).toEqual([])
    const kept: string[] = []
    await scanKeys(redisUrl, (keys) => void kept.push(...keys), `${spared}*`)
    expect(kept.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `${spared}:k:${i}`).sort())
    await redis.unlink(...kept)
  })
})

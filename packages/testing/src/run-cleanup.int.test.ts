import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTopics, deleteTopicsWhere, listTopicNames } from './kafka-helpers.ts'
import { newRunToken, randomKeyPrefix, randomName } from './random-name.ts'
import { deleteKeysWhere, registerLiveRun, runNames, scanKeys, tokenlessNames } from './run-cleanup.ts'
import { testInfra } from './test-env.ts'

const keyPrefixOf = (name: string) => `${name}.`.replace(/\W/g, '_')

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
    const doomed = keyPrefixOf(randomName('cleanup'))
    const spared = keyPrefixOf(randomName('cleanup'))
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

describe("a test run's clean-up on shared servers (real Kafka and Redis)", () => {
  const infra = testInfra()
  const redis = new Redis(infra.redisUrl)
  afterAll(() => {
    redis.disconnect()
  })

  async function keysUnder(prefix: string): Promise<string[]> {
    const found: string[] = []
    await scanKeys(infra.redisUrl, (keys) => void found.push(...keys), `${prefix}*`)
    return found
  }

  it("deletes the topics and keys carrying this run's token, and leaves another run's and untokened ones alone", async () => {
    // Two made-up runs: the real run's own names (its token) are not touched here.
    const [mine, theirs] = [newRunToken(), newRunToken()]
    const names = {
      mine: randomName('cleanup', mine),
      theirs: randomName('cleanup', theirs),
      none: randomName('cleanup', null),
    }
    await createTopics(
      infra.kafkaBrokers,
      Object.values(names).flatMap((n) => [{ name: `${n}.in` }, { name: `${n}-out` }]),
    )
    const pipeline = redis.pipeline()
    for (const n of Object.values(names))
      for (let i = 0; i < 50; i++) pipeline.set(`${keyPrefixOf(n)}:k:{${i % 8}}:${i}`, '1')
    for (const n of Object.values(names)) pipeline.set(`${keyPrefixOf(n)}ref:ind:{x}`, '1')
    await pipeline.exec()

    const ours = runNames(mine)
    expect(await deleteKeysWhere(infra.redisUrl, ours.key)).toBe(51)
    expect(await deleteTopicsWhere(infra.kafkaBrokers, ours.topic)).toBe(2)

    expect(await keysUnder(keyPrefixOf(names.mine))).toEqual([])
    expect(await keysUnder(keyPrefixOf(names.theirs))).toHaveLength(51)
    expect(await keysUnder(keyPrefixOf(names.none))).toHaveLength(51)
    const topics = await listTopicNames(infra.kafkaBrokers)
    expect(topics).not.toContain(`${names.mine}.in`)
    expect(topics).not.toContain(`${names.mine}-out`)
    for (const n of [names.theirs, names.none])
      expect(topics).toEqual(expect.arrayContaining([`${n}.in`, `${n}-out`]))

    for (const n of [names.theirs, names.none]) {
      await deleteTopicsWhere(infra.kafkaBrokers, (t) => t.startsWith(n))
      expect(await deleteKeysWhere(infra.redisUrl, () => true, `${keyPrefixOf(n)}*`)).toBe(51)
    }
  })

  it('picks the names without a token that appeared since the snapshot only when given it', async () => {
    const mine = newRunToken()
    const old = randomName('cleanup', null)
    await createTopics(infra.kafkaBrokers, [{ name: `${old}.in` }])
    await redis.set(`${keyPrefixOf(old)}:k`, '1')
    const before = await tokenlessNames(infra)
    expect(before.topics).toContain(`${old}.in`)
    expect(before.keyPrefixes).toContain(keyPrefixOf(old).slice(0, -1))
    const fresh = randomName('cleanup', null)
    const theirs = randomName('cleanup', newRunToken())
    await createTopics(infra.kafkaBrokers, [{ name: `${fresh}.in` }, { name: `${theirs}.in` }])

    // Only which names it would pick: deleting every new untokened name could hit another run's.
    const alone = runNames(mine, before)
    const notAlone = runNames(mine)
    expect(alone.topic(`${fresh}.in`)).toBe(true)
    expect(alone.key(`${keyPrefixOf(fresh)}:k`)).toBe(true)
    expect(alone.topic(`${old}.in`)).toBe(false)
    expect(alone.key(`${keyPrefixOf(old)}:k`)).toBe(false)
    expect(alone.topic(`${theirs}.in`)).toBe(false)
    expect(notAlone.topic(`${fresh}.in`)).toBe(false)
    expect(notAlone.key(`${keyPrefixOf(fresh)}:k`)).toBe(false)

    const made = (t: string) => [old, fresh, theirs].some((n) => t.startsWith(n))
    expect(await deleteTopicsWhere(infra.kafkaBrokers, made)).toBe(3)
    await redis.unlink(`${keyPrefixOf(old)}:k`)
  })

  it('sees the other test runs live on the same Redis until they end', async () => {
    const [a, b] = [newRunToken(), newRunToken()]
    const runA = await registerLiveRun(infra.redisUrl, a)
    const runB = await registerLiveRun(infra.redisUrl, b)
    try {
      expect(await runA.others()).toContain(b)
      expect(await runA.others()).not.toContain(a)
      expect(await runB.others()).toContain(a)
      const ttl = await redis.pttl(`tradepulse:test-run:${a}`)
      expect(ttl).toBeGreaterThan(60_000) // gone on its own if the run dies without ending
    } finally {
      await runB.end()
    }
    expect(await runA.others()).not.toContain(b)
    await runA.end()
    expect(await redis.exists(`tradepulse:test-run:${a}`)).toBe(0)
  })
})

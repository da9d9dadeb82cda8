import { randomBytes } from 'node:crypto'
import { ScopeKind } from '@tradepulse/contracts'
import {
  applyContributions,
  type Contribution,
  contributionsOf,
  createIndicatorKeys,
  createIndicatorState,
  type IndicatorState,
  type IndicatorStore,
  indicatorKey,
  parseIndicatorKey,
  readIndicator,
  resolveIndicatorConfig,
  scopeTag,
  type WithheldIndicator,
} from '@tradepulse/indicators'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { waitFor } from '../kafka/int-test-support.ts'
import { compactId } from './compact-id.ts'
import {
  closeEnough,
  HOUR_MS,
  inBatches,
  MIN_MS,
  randomSeries,
  scoredHeadline,
  seededRandom,
  shuffledWithinGrace,
  T0,
} from './indicator-fixtures.ts'
import { stateFromHash } from './indicator-hash.ts'
import { indicatorScripts, scriptError } from './indicator-scripts.ts'
import {
  describeIndicatorStoreConformance,
  type IndicatorStoreHarness,
} from './indicator-store.conformance.ts'
import { INDICATOR_STORE_DEFAULTS } from './indicator-store-options.ts'
import { measureIndicatorMemory } from './redis-indicator-memory.ts'
import { createRedisIndicatorStore, type RedisIndicatorStoreOptions } from './redis-indicator-store.ts'

// platform cannot depend on @tradepulse/testing (which depends on platform), so this reads what the
// int project's global setup provides directly, as testInfra() does, and makes its own random prefixes.
function redisUrl(): string {
  const provided = (inject as (key: string) => unknown)('redisUrl')
  return typeof provided === 'string' ? provided : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
}

const randomName = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`

async function deleteKeys(redis: Redis, prefix: string) {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', '1000')
    cursor = next
    if (keys.length > 0) await redis.unlink(...keys)
  } while (cursor !== '0')
}

/** A client and a random key prefix per test; keys deleted and client closed afterwards. */
function useRedis() {
  const opened: { redis: Redis; prefix: string }[] = []
  afterEach(async () => {
    for (const { redis, prefix } of opened.splice(0)) {
      await deleteKeys(redis, prefix)
      await redis.quit()
    }
  })
  return () => {
    const entry = { redis: new Redis(redisUrl(), { maxRetriesPerRequest: 2 }), prefix: randomName('ind') }
    opened.push(entry)
    return entry
  }
}

// Twice: as configured, and with every call sent in a pipeline of its own and at most three
// contributions per call (a large round's pipelines go out while the next are built, a large scope is
// applied in several calls: the result must not depend on how either is cut).
describeIndicatorStoreConformance('redis', (options) => redisAdapter(options))
describeIndicatorStoreConformance('redis, a pipeline per call, three contributions per call', (options) =>
  redisAdapter({ ...options, sendEvery: 1, maxPerCall: 3 }),
)

async function redisAdapter(
  options: Omit<RedisIndicatorStoreOptions, 'prefix'>,
): Promise<IndicatorStoreHarness> {
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 2 })
  const prefix = randomName('ind')
  const store = createRedisIndicatorStore(redis, { prefix, ...options })
  const keys = createIndicatorKeys(prefix, store.namespace)
  return {
    store,
    async ttlMs(dimension, scope) {
      const ttl = await redis.pttl(keys.state(dimension, scope))
      return ttl < 0 ? undefined : ttl
    },
    async cleanup() {
      await deleteKeys(redis, prefix)
      await redis.quit()
    },
  }
}

describe('redis indicator store', () => {
  const connect = useRedis()

  it('gives every key it writes a time to live', async () => {
    const { redis, prefix } = connect()
    const store = createRedisIndicatorStore(redis, { prefix })
    await store.applyBatch(randomSeries(50, HOUR_MS).flatMap(contributionsOf))
    const keys = await redis.keys(`${prefix}:*`)
    expect(keys.length).toBeGreaterThan(10)
    const { ttlMs } = resolveIndicatorConfig()
    for (const key of keys) {
      const ttl = await redis.pttl(key)
      expect(ttl, key).toBeGreaterThan(0)
      expect(ttl, key).toBeLessThanOrEqual(ttlMs)
    }
  })

  it("reads no buzz spike for a steady scope after every key is lost mid-stream (a Redis restarted empty): the namespace's born time is set again by the next apply", async () => {
    const { redis, prefix } = connect()
    const store = createRedisIndicatorStore(redis, { prefix, maxRefAheadMs: 630_000 })
    const keys = createIndicatorKeys(prefix, store.namespace)
    const us = { kind: 'region', id: 'US' } as const
    let n = 0
    // 6 an hour, one apply each, every buzz read back as it goes.
    const steady = async (fromMs: number, hours: number) => {
      const read: number[] = []
      for (let t = fromMs; t < fromMs + hours * HOUR_MS; t += 10 * MIN_MS) {
        await store.applyBatch(contributionsOf(scoredHeadline(`h${n++}`, t, { regions: ['US'] })))
        read.push((await store.get('market', us, t))!.buzz)
      }
      return read
    }
    await steady(T0, 8)
    expect(await redis.get(keys.born)).toBe(String(T0))
    const lostAt = T0 + 8 * HOUR_MS
    await deleteKeys(redis, prefix)
    const after = await steady(lostAt, 12)
    // Before: 6 at once, above the rules' 3 for the whole 12 hours (against a week of zeros).
    expect(Math.max(...after)).toBeLessThan(1)
    expect(after.slice(0, 42)).toEqual(Array(42).fill(0))
    expect(await redis.get(keys.born)).toBe(String(lostAt))

    // The born time alone gone (a loss between a batch's born time and its applies, or the key evicted):
    // no reading until the next apply sets it again, at that apply's headline, later than the state.
    await redis.del(keys.born)
    const t = lostAt + 12 * HOUR_MS
    expect((await store.get('market', us, t))!.buzz).toBe(0)
    expect((await store.top('market', 'region', 'buzz', 1, t))[0]!.buzz).toBe(0)
    await store.applyBatch(contributionsOf(scoredHeadline('late-born', t, { regions: ['US'] })))
    expect(await redis.get(keys.born)).toBe(String(t))
    expect((await store.get('market', us, t))!.buzz).toBe(0)

    // Damaged (edited by hand): read as none, replaced by the next apply; one it takes is kept.
    for (const damaged of ['abc', '', 'nan', '-inf', String(Date.now() + 24 * HOUR_MS)]) {
      await redis.set(keys.born, damaged)
      expect((await store.get('market', us, t))!.buzz, damaged).toBe(0)
      await store.applyBatch(contributionsOf(scoredHeadline(`d${n++}`, t, { regions: ['US'] })))
      expect(await redis.get(keys.born), damaged).toBe(String(t))
    }
    await redis.set(keys.born, String(T0))
    await store.applyBatch(contributionsOf(scoredHeadline(`k${n++}`, t, { regions: ['US'] })))
    expect(await redis.get(keys.born)).toBe(String(T0))
  })

  describe('a namespace holding indicator state but no born time (written before born times existed)', () => {
    const us = { kind: 'region', id: 'US' } as const
    /** 6 an hour for `hours` hours from T0, one apply each (a live deployment's scope, steady). */
    const steady = async (store: IndicatorStore, hours: number) => {
      for (let i = 0; i < hours * 6; i++)
        await store.applyBatch(
          contributionsOf(scoredHeadline(`s${i}`, T0 + i * 10 * MIN_MS, { regions: ['US'] })),
        )
    }
    const burstAt = T0 + 8 * HOUR_MS + 20 * MIN_MS
    /** 20 headlines on US, one each 30 s up to burstAt (within the grace): a spike against 6 an hour. */
    const burst = () =>
      Array.from({ length: 20 }, (_, i) =>
        contributionsOf(scoredHeadline(`b${i}`, burstAt - (19 - i) * 30_000, { regions: ['US'] })),
      ).flat()
    /** The born time an apply of burst() gives a namespace without one: its first headline. */
    const burstBorn = String(burstAt - 19 * 30_000)

    it("is given born time 0 by a store's first apply there: buzz reads against the whole baseline, a spike as it did", async () => {
      const { redis, prefix } = connect()
      const keys = createIndicatorKeys(prefix, INDICATOR_STORE_DEFAULTS.namespace)
      await steady(createRedisIndicatorStore(redis, { prefix }), 8)
      // Written by a version without born times: none.
      await redis.del(keys.born)
      // The first process of the upgraded version.
      const store = createRedisIndicatorStore(redis, { prefix })
      await store.applyBatch(burst())
      expect(await redis.get(keys.born)).toBe('0')
      expect(await redis.pttl(keys.born)).toBeGreaterThan(0)
      // As read before born times: against the whole week (8 hours of 6, the rest zeros).
      const hash = await redis.hgetall(keys.state('market', us))
      const config = resolveIndicatorConfig()
      const before = readIndicator(
        stateFromHash(hash, config),
        { dimension: 'market', scope: us },
        burstAt,
        config,
      )
      // Before, born was the burst's first headline: no reading (0), for 7 hours.
      const read = await store.get('market', us, burstAt)
      expect(read!.buzz).toBeGreaterThan(10)
      expect(read!.buzz).toBe(before.buzz)
      expect((await store.top('market', 'region', 'buzz', 1, burstAt))[0]!.buzz).toBe(read!.buzz)
      // Its check leaves no key behind; later applies keep born 0.
      expect(await redis.keys(`${prefix}:*:born-check:*`)).toEqual([])
      await store.applyBatch(contributionsOf(scoredHeadline('next', burstAt + MIN_MS, { regions: ['US'] })))
      expect(await redis.get(keys.born)).toBe('0')
    })

    it('leaves a namespace holding none without one, whatever else is there: its first apply dates it', async () => {
      const { redis, prefix } = connect()
      const keys = createIndicatorKeys(prefix, INDICATOR_STORE_DEFAULTS.namespace)
      // The state marker, other workers' keys, another namespace's indicators, this one's watermark:
      // none is this namespace's indicator state.
      await redis.set(`${prefix}:state-marker`, 'epoch')
      await redis.set(`${prefix}:dedup:abc`, '1')
      await redis.zadd(`${prefix}:applied:{g}`, 1, 'x')
      await redis.set(keys.watermark, String(T0))
      await steady(createRedisIndicatorStore(redis, { prefix, namespace: 'v10' }), 1)
      const store = createRedisIndicatorStore(redis, { prefix })
      await store.applyBatch(burst())
      expect(await redis.get(keys.born)).toBe(burstBorn)
      expect(await redis.keys(`${prefix}:*:born-check:*`)).toEqual([])
    })

    it('sends no SCAN to tell a namespace holds none: the keyspace it would walk may hold millions of keys', async () => {
      const { redis, prefix } = connect()
      const keys = createIndicatorKeys(prefix, INDICATOR_STORE_DEFAULTS.namespace)
      await redis.set(`${prefix}:dedup:abc`, '1')
      const wrapped = Object.create(redis) as Redis
      const scans: unknown[][] = []
      wrapped.scan = ((...args: unknown[]) => {
        scans.push(args)
        return Promise.reject(new Error('SCAN walks the whole keyspace'))
      }) as unknown as Redis['scan']
      let exists = 0
      wrapped.exists = ((...args: unknown[]) => {
        exists++
        return (redis.exists as (...a: unknown[]) => Promise<number>)(...args)
      }) as unknown as Redis['exists']
      const store = createRedisIndicatorStore(wrapped, { prefix })
      await store.applyBatch(burst())
      expect(scans).toEqual([])
      // Born's, then one per scope kind; none again in this namespace.
      expect(exists).toBe(1 + ScopeKind.options.length)
      await store.applyBatch(contributionsOf(scoredHeadline('next', burstAt + MIN_MS, { regions: ['US'] })))
      expect(exists).toBe(1 + ScopeKind.options.length)
      expect(await redis.get(keys.born)).toBe(burstBorn)
      expect(await redis.keys(`${prefix}:*:born-check:*`)).toEqual([])
    })

    it('takes a namespace holding a scope registry, its states expired, for an idle one: born 0, its zeros are real', async () => {
      const { redis, prefix } = connect()
      const keys = createIndicatorKeys(prefix, INDICATOR_STORE_DEFAULTS.namespace)
      // Written by a version without born times; every state since expired (no headline for a TTL), the
      // registry written with the last batch left.
      await redis.zadd(keys.scopes('region'), T0, 'US')
      await createRedisIndicatorStore(redis, { prefix }).applyBatch(burst())
      expect(await redis.get(keys.born)).toBe('0')
      expect(await redis.keys(`${prefix}:*:born-check:*`)).toEqual([])
    })

    it("takes the global scope's state, which has no registry, for a namespace's", async () => {
      const { redis, prefix } = connect()
      const keys = createIndicatorKeys(prefix, INDICATOR_STORE_DEFAULTS.namespace)
      // Headlines naming no entity: global's state alone, no registry.
      for (let i = 0; i < 6; i++)
        await createRedisIndicatorStore(redis, { prefix }).applyBatch(
          contributionsOf(scoredHeadline(`g${i}`, T0 + i * 10 * MIN_MS)),
        )
      await redis.del(keys.born)
      expect(await redis.keys(`${prefix}:*:scopes:*`)).toEqual([])
      await createRedisIndicatorStore(redis, { prefix }).applyBatch(burst())
      expect(await redis.get(keys.born)).toBe('0')
    })

    it('adopts nothing when Redis loses its data during the check, and keeps a born time set meanwhile', async () => {
      const { redis, prefix } = connect()
      const keys = createIndicatorKeys(prefix, INDICATOR_STORE_DEFAULTS.namespace)
      /** `redis`, but `during` runs once, after the first EXISTS that finds a key (the check's probe). */
      const probing = (during: () => Promise<unknown>) => {
        const wrapped = Object.create(redis) as Redis
        let done = false
        wrapped.exists = (async (...args: Parameters<Redis['exists']>) => {
          const found = await (redis.exists as (...a: unknown[]) => Promise<number>)(...args)
          if (!done && found > 0) {
            done = true
            await during()
          }
          return found
        }) as unknown as Redis['exists']
        return wrapped
      }
      await steady(createRedisIndicatorStore(redis, { prefix }), 8)
      await redis.del(keys.born)
      // Lost between the EXISTS that found state and the born time it would write: born 0 over the
      // empty server would read the state begun after the loss against a week of unknown zeros.
      await createRedisIndicatorStore(
        probing(() => deleteKeys(redis, prefix)),
        { prefix },
      ).applyBatch(burst())
      expect(await redis.get(keys.born)).toBe(burstBorn)
      expect((await createRedisIndicatorStore(redis, { prefix }).get('market', us, burstAt))!.buzz).toBe(0)

      // Another member's first batch sets one meanwhile (after a loss its state lies behind): it stays.
      await deleteKeys(redis, prefix)
      await steady(createRedisIndicatorStore(redis, { prefix }), 8)
      await redis.del(keys.born)
      await createRedisIndicatorStore(
        probing(() => redis.set(keys.born, String(T0 + 5 * HOUR_MS))),
        { prefix },
      ).applyBatch(burst())
      expect(await redis.get(keys.born)).toBe(String(T0 + 5 * HOUR_MS))
      expect(await redis.keys(`${prefix}:*:born-check:*`)).toEqual([])
    })
  })

  it('sends one script call per scope per batch', async () => {
    const { redis, prefix } = connect()
    const store = createRedisIndicatorStore(redis, { prefix })
    const contributions = randomSeries(200, 5 * 60_000).flatMap(contributionsOf)
    const distinctKeys = new Set(contributions.map((c) => indicatorKey(c.dimension, c.scope))).size
    const distinctScopes = new Set(contributions.map((c) => scopeTag(c.scope))).size
    const kinds = new Set(contributions.filter((c) => c.scope.kind !== 'global').map((c) => c.scope.kind))
      .size
    const monitor = await redis.duplicate().monitor()
    const seen: string[] = []
    const monitorSaw = new Set<string>()
    // MONITOR sees every client of the server: only calls on this test's keys count (other suites share it).
    monitor.on('monitor', (_time: string, args: string[]) => {
      const command = args[0]?.toLowerCase()
      if (command === 'get' && args[1]) monitorSaw.add(args[1])
      if (command?.startsWith('eval') && args.some((a) => a.startsWith(`${prefix}:`))) seen.push(command)
    })
    await store.applyBatch(contributions)
    // One call per scope (all its dimensions), plus one admitScopes per scope kind and one setting the
    // namespace's born time, each an EVAL or an EVALSHA, counted alike: which one a call goes as is the client's choice (this plain ioredis client
    // sends a script's text with its first call on its connection, createRedis's with its first call in
    // each pipeline). A GET of a marker key sent after the batch: once MONITOR has streamed it, it has
    // streamed every call before it.
    const marker = `${prefix}:end`
    await redis.get(marker)
    await waitFor(() => monitorSaw.has(marker) || undefined, 'MONITOR to stream the batch', 5_000)
    monitor.disconnect()
    expect(seen.length).toBe(distinctScopes + kinds + 1)
    expect(distinctScopes).toBeLessThan(distinctKeys)
    expect(distinctKeys).toBeLessThan(contributions.length / 10)
  })

  it('applies a large scope in several calls with the result of one, even for a batch spanning more than the grace', async () => {
    // Ascending over 3 hours in one applyBatch: one arrival, so what is older than its newest event
    // minus the grace is late. Cut into calls of 3 contributions, the same must be late.
    const contributions = randomSeries(120, 3 * HOUR_MS)
      .sort((a, b) => Date.parse(a.publishedAt) - Date.parse(b.publishedAt))
      .flatMap(contributionsOf)
    const results = []
    const values = []
    for (const maxPerCall of [undefined, 3]) {
      const { redis, prefix } = connect()
      const store = createRedisIndicatorStore(redis, { prefix, ...(maxPerCall ? { maxPerCall } : {}) })
      results.push(await store.applyBatch(contributions))
      const v = await store.get('market', { kind: 'global', id: 'all' }, T0 + 3 * HOUR_MS)
      values.push({ ...v, updatedAt: 'wall clock' })
    }
    expect(results[0]!.late).toBeGreaterThan(0)
    expect(results[1]).toEqual(results[0])
    expect(values[1]).toEqual(values[0])
  })

  it('reports the memory used by a namespace', async () => {
    const { redis, prefix } = connect()
    const store = createRedisIndicatorStore(redis, { prefix })
    await store.applyBatch(randomSeries(100, HOUR_MS).flatMap(contributionsOf))
    const report = await measureIndicatorMemory(redis, { prefix })
    expect(report.usedMemoryBytes).toBeGreaterThan(0)
    expect(report.keys).toBe((await redis.keys(`${prefix}:${INDICATOR_STORE_DEFAULTS.namespace}:*`)).length)
    expect(report.keyBytes).toBe(
      report.bytesByType.state + report.bytesByType.ids + report.bytesByType.scopes,
    )
    expect(report.bytesByType.ids).toBeGreaterThan(0)
  })

  it('rejects invalid contributions, and maps a malformed script call to a non-retriable error', async () => {
    const { redis, prefix } = connect()
    const store = createRedisIndicatorStore(redis, { prefix })
    const bad = { ...contributionsOf(scoredHeadline('a', T0))[0]!, eventMs: Number.NaN }
    await expect(store.applyBatch([bad])).rejects.toMatchObject({ code: 'INTERNAL', retriable: false })
    expect(await redis.keys(`${prefix}:*`)).toEqual([])

    const eightKeys = Array.from({ length: 8 }, (_, i) => `${prefix}:{x}:${i}`)
    const err = await indicatorScripts(redis)
      .applyScope(...eightKeys, 1, 2, 3)
      .catch((e: unknown) => e)
    expect(String(err)).toMatch(/TPIND_BAD_ARGS/)
    expect(scriptError(err)).toMatchObject({ code: 'INTERNAL', retriable: false })
  })
})

describe('redis indicator store: a damaged reference time', () => {
  const connect = useRedis()
  const maxRefAheadMs = 10 * MIN_MS + 30_000 // the aggregator's default AGGREGATOR_MAX_AHEAD_MS + AGGREGATOR_GRACE_MS
  const global = { kind: 'global' as const, id: 'all' }
  const CN = { kind: 'region' as const, id: 'CN' }

  // As configured, and a pipeline per call with at most three contributions per call.
  for (const [name, extra] of [
    ['', {}],
    [', a pipeline per call, three contributions per call', { sendEvery: 1, maxPerCall: 3 }],
  ] as const) {
    it(`resets a reference time far past the clock (1e15 ms, the year 9999, inf) to the next headline, which is applied, not late, and reports it; honest late headlines stay late${name}`, async () => {
      const { redis, prefix } = connect()
      const store = createRedisIndicatorStore(redis, { prefix, maxRefAheadMs, ...extra })
      const believing = createRedisIndicatorStore(redis, { prefix, ...extra })
      const keys = createIndicatorKeys(prefix, store.namespace)
      const now = Date.now()
      const headline = (id: string, atMs: number) =>
        contributionsOf(scoredHeadline(id, atMs, { tariff: -0.5, market: 0.5, regions: ['CN'] }))
      const first = [...headline('a', now - 5 * MIN_MS), ...headline('b', now - 4 * MIN_MS)]
      expect(await store.applyBatch(first)).toMatchObject({ applied: first.length, late: 0 })
      const before = await store.get('market', global, now)
      expect(before?.count).toBe(2)

      const year9999 = String(Date.UTC(9999, 11, 31, 23, 59))
      await redis.hset(keys.state('market', global), 'ref', '1e15')
      await redis.hset(keys.state('tariff', CN), 'ref', year9999)
      // Believed, as before the bound: a headline of now is late in both, remembered in each one's own
      // ids at the damaged time it was judged late at (uncertainty, whose ref is whole, applies it).
      const stalled = await believing.applyBatch(headline('x', now - 3 * MIN_MS))
      expect(stalled).toMatchObject({ late: 2 })
      expect(stalled.damagedRefs).toBeUndefined()
      expect(await redis.zscore(keys.ids('tariff', CN), compactId('x'))).toBe(year9999)
      expect(Number(await redis.zscore(keys.ids('market', global), compactId('x')))).toBe(1e15)
      expect(await redis.zscore(keys.ids('uncertainty', global), compactId('x'))).toBe(
        String(now - 3 * MIN_MS),
      )
      // No finite number: damaged with or without a bound.
      await redis.hset(keys.state('uncertainty', global), 'ref', 'inf')

      const next = headline('c', now - MIN_MS)
      const r = await store.applyBatch(next)
      expect(r).toMatchObject({ applied: next.length, duplicates: 0, late: 0 })
      const reset = (r.damagedRefs ?? []).map((d) => ({ key: indicatorKey(d.dimension, d.scope), ...d }))
      expect(reset.sort((p, q) => (p.key < q.key ? -1 : 1))).toEqual([
        { key: 'market|global:all', dimension: 'market', scope: global, stored: '1e15', refMs: now - MIN_MS },
        { key: 'tariff|region:CN', dimension: 'tariff', scope: CN, stored: year9999, refMs: now - MIN_MS },
        {
          key: 'uncertainty|global:all',
          dimension: 'uncertainty',
          scope: global,
          stored: 'inf',
          refMs: now - MIN_MS,
        },
      ])
      for (const [dimension, scope] of [
        ['market', global],
        ['tariff', CN],
        ['uncertainty', global],
      ] as const) {
        expect(await redis.hget(keys.state(dimension, scope), 'ref'), dimension).toBe(String(now - MIN_MS))
      }
      // The headline remembered at the damaged time is forgotten; the applied ones are not.
      expect(await redis.zscore(keys.ids('tariff', CN), compactId('x'))).toBeNull()
      expect(await redis.zscore(keys.ids('market', global), compactId('x'))).toBeNull()
      expect(await redis.zscore(keys.ids('tariff', CN), compactId('c'))).toBe(String(now - MIN_MS))
      const after = await store.get('market', global, now)
      expect(after?.count).toBe(3) // a, b and c: x was late
      expect(after?.asOf).toBe(new Date(now).toISOString())

      // Whole again: an honest late headline (11 minutes behind the newest) is late, nothing reset.
      const late = headline('late', now - 12 * MIN_MS)
      const honest = await store.applyBatch(late)
      expect(honest).toMatchObject({ applied: 0, late: late.length })
      expect(honest.damagedRefs).toBeUndefined()
      // As is a reference time within the bound: a minute ahead of the clock (a member whose clock runs ahead).
      await redis.hset(keys.state('market', global), 'ref', String(now + MIN_MS))
      const d = headline('d', now - 20 * MIN_MS)
      const ahead = await store.applyBatch(d)
      expect(ahead).toMatchObject({ applied: 0, late: d.length })
      expect(ahead.damagedRefs).toBeUndefined()
      expect(await redis.hget(keys.state('market', global), 'ref')).toBe(String(now + MIN_MS))
    })
  }

  it('resets it when every headline of the batch is a duplicate', async () => {
    const { redis, prefix } = connect()
    const store = createRedisIndicatorStore(redis, { prefix, maxRefAheadMs })
    const keys = createIndicatorKeys(prefix, store.namespace)
    const now = Date.now()
    const batch = contributionsOf(scoredHeadline('a', now - MIN_MS))
    await store.applyBatch(batch)
    await redis.hset(keys.state('market', global), 'ref', '1e15')
    const r = await store.applyBatch(batch)
    expect(r).toMatchObject({ applied: 0, duplicates: batch.length, late: 0 })
    expect(r.damagedRefs).toEqual([
      { dimension: 'market', scope: global, stored: '1e15', refMs: now - MIN_MS },
    ])
    expect(await redis.hget(keys.state('market', global), 'ref')).toBe(String(now - MIN_MS))
  })

  it('leaves an indicator whose reference time is damaged out of every read (get, top), naming it; one within the bound is read; the next apply repairs it and it is read again', async () => {
    const { redis, prefix } = connect()
    const store = createRedisIndicatorStore(redis, { prefix, maxRefAheadMs })
    const unbounded = createRedisIndicatorStore(redis, { prefix })
    const keys = createIndicatorKeys(prefix, store.namespace)
    const now = Date.now()
    const headline = (id: string, atMs: number, region: string) =>
      contributionsOf(scoredHeadline(id, atMs, { tariff: -0.5, market: 0.5, regions: [region] }))
    await store.applyBatch([
      ...headline('a', now - 5 * MIN_MS, 'CN'),
      ...headline('b', now - 4 * MIN_MS, 'MX'),
    ])
    const MX = { kind: 'region' as const, id: 'MX' }
    const year9999 = String(Date.UTC(9999, 11, 31, 23, 59))
    await redis.hset(keys.state('tariff', CN), 'ref', year9999)
    await redis.hset(keys.state('market', global), 'ref', 'inf')

    // Before, both were read: CN at the year 9999 (which the contract takes), market at a time that is none.
    const withheld: WithheldIndicator[] = []
    expect(await store.get('tariff', CN, now, withheld)).toBeUndefined()
    expect(await store.get('market', global, now, withheld)).toBeUndefined()
    expect(await store.get('tariff', CN, now)).toBeUndefined() // nothing to tell, nothing told
    const top = await store.top('tariff', 'region', 'momentum', 10, now, withheld)
    expect(top.map((u) => u.scope.id)).toEqual(['MX'])
    expect(top[0]?.asOf).toBe(new Date(now).toISOString())
    expect(withheld).toEqual([
      { dimension: 'tariff', scope: CN, reason: 'damaged_ref', stored: year9999 },
      { dimension: 'market', scope: global, reason: 'damaged_ref', stored: 'inf' },
      { dimension: 'tariff', scope: CN, reason: 'damaged_ref', stored: year9999 },
    ])
    // Without a bound only a time that is no number is damaged (tests on clocks of their own).
    const unboundedWithheld: WithheldIndicator[] = []
    expect((await unbounded.get('tariff', CN, now, unboundedWithheld))?.asOf).toBe('9999-12-31T23:59:00.000Z')
    expect(await unbounded.get('market', global, now, unboundedWithheld)).toBeUndefined()
    expect(unboundedWithheld).toEqual([
      { dimension: 'market', scope: global, reason: 'damaged_ref', stored: 'inf' },
    ])

    // Within the bound (a minute ahead of the clock: a member whose clock runs ahead) it is read, at its time.
    await redis.hset(keys.state('tariff', MX), 'ref', String(now + MIN_MS))
    const ahead: WithheldIndicator[] = []
    expect((await store.get('tariff', MX, now, ahead))?.asOf).toBe(new Date(now + MIN_MS).toISOString())
    expect(ahead).toEqual([])

    // The next apply resets it to its headline, and it is read again.
    await store.applyBatch(headline('c', now - MIN_MS, 'CN'))
    const repaired: WithheldIndicator[] = []
    const cn = await store.get('tariff', CN, now, repaired)
    expect(cn).toMatchObject({ count: 2, asOf: new Date(now).toISOString() })
    expect((await store.get('market', global, now, repaired))?.count).toBe(3)
    expect(repaired).toEqual([])
  })

  it('takes a damaged event-time watermark (the year 9999, inf, not a number) as none, and replaces it when raised; one within the bound stays', async () => {
    const { redis, prefix } = connect()
    const store = createRedisIndicatorStore(redis, { prefix, maxRefAheadMs })
    const unbounded = createRedisIndicatorStore(redis, { prefix })
    const keys = createIndicatorKeys(prefix, store.namespace)
    const now = Date.now()
    for (const damaged of [String(Date.UTC(9999, 11, 31, 23, 59)), 'inf', '-nan', 'garbage']) {
      await redis.set(keys.watermark, damaged)
      // Before, readers read at it (asOf=latest in the year 9999), and a raise kept it (it was larger).
      expect(await store.watermark(), damaged).toBeUndefined()
      expect(await store.advanceWatermark(now - MIN_MS), damaged).toBe(now - MIN_MS)
      expect(await redis.get(keys.watermark), damaged).toBe(String(now - MIN_MS))
      expect(await redis.pttl(keys.watermark), damaged).toBeGreaterThan(0)
    }
    // Without a bound only one that is no finite number is damaged.
    await redis.set(keys.watermark, String(Date.UTC(9999, 11, 31, 23, 59)))
    expect(await unbounded.watermark()).toBe(Date.UTC(9999, 11, 31, 23, 59))
    await redis.set(keys.watermark, 'inf')
    expect(await unbounded.watermark()).toBeUndefined()
    expect(await unbounded.advanceWatermark(now)).toBe(now)
    // Within the bound (a minute ahead: a member whose clock runs ahead) it is the larger, as ever.
    await redis.set(keys.watermark, String(now + MIN_MS))
    expect(await store.watermark()).toBe(now + MIN_MS)
    expect(await store.advanceWatermark(now)).toBe(now + MIN_MS)
  })

  it('drops a scope registry entry scored past the bound (1e15 ms, the year 9999): the other scopes stay admitted and ranked, and the damaged one is admitted again when mentioned', async () => {
    // The entry was the registry's newest: each admission removed every other scope as older than the
    // retention, so top ranked only the scopes of the last batch, and the entry (its TTL renewed at each
    // admission) never went.
    const { redis, prefix } = connect()
    const store = createRedisIndicatorStore(redis, { prefix, maxRefAheadMs })
    const keys = createIndicatorKeys(prefix, store.namespace)
    const now = Date.now()
    const headline = (id: string, atMs: number, regions: string[]) =>
      contributionsOf(scoredHeadline(id, atMs, { tariff: -0.5, regions }))
    await store.applyBatch(headline('a', now - 3 * MIN_MS, ['CN']))
    for (const damaged of ['1e15', String(Date.UTC(9999, 11, 31))]) {
      await redis.zadd(keys.scopes('region'), damaged, 'XX')
      await store.applyBatch(headline(`b${damaged}`, now - 2 * MIN_MS, ['US']))
      expect(await redis.zscore(keys.scopes('region'), 'XX')).toBeNull()
      expect(await redis.zscore(keys.scopes('region'), 'CN')).toBe(String(now - 3 * MIN_MS))
      const ranked = (await store.top('tariff', 'region', 'buzz', 10, now)).map((u) => u.scope.id).sort()
      expect(ranked).toEqual(['CN', 'US'])
    }
    // Mentioned again, the damaged entry's scope is admitted at its own time.
    await store.applyBatch(headline('c', now - MIN_MS, ['XX']))
    expect(await redis.zscore(keys.scopes('region'), 'XX')).toBe(String(now - MIN_MS))
    // A candidate's time past the bound counts as the bound: it removes nothing the bound keeps.
    await store.applyBatch(headline('far', now + 100 * 86_400_000, ['JP']))
    expect(await redis.zscore(keys.scopes('region'), 'CN')).toBe(String(now - 3 * MIN_MS))
  })

  it('refuses a bound that is no whole number of ms', () => {
    const { redis, prefix } = connect()
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createRedisIndicatorStore(redis, { prefix, maxRefAheadMs: bad }), String(bad)).toThrow(
        /maxRefAheadMs must be a whole number of ms/,
      )
    }
  })
})

describe('redis indicator store: state that reads as no number', () => {
  const connect = useRedis()

  it('leaves out of every read (get, top) an indicator whose update breaks the IndicatorUpdate contract, naming it with the fields; top ranks its n among the others', async () => {
    const { redis, prefix } = connect()
    const store = createRedisIndicatorStore(redis, { prefix, maxRefAheadMs: 10 * MIN_MS + 30_000 })
    const keys = createIndicatorKeys(prefix, store.namespace)
    const now = Date.now()
    const region = (id: string) => ({ kind: 'region' as const, id })
    // CN moves most, then MX, then US: by |momentum|, CN and MX come first.
    await store.applyBatch(
      [
        scoredHeadline('cn', now - 3 * MIN_MS, { tariff: -0.9, regions: ['CN'] }),
        scoredHeadline('mx', now - 2 * MIN_MS, { tariff: -0.6, regions: ['MX'] }),
        scoredHeadline('us', now - MIN_MS, { tariff: 0.2, regions: ['US'] }),
      ].flatMap(contributionsOf),
    )
    await redis.hset(keys.state('tariff', region('CN')), 'cnt', 'abc')
    await redis.hset(keys.state('tariff', region('MX')), 'upd', 'Infinity')
    const ref = (id: string) => redis.hget(keys.state('tariff', region(id)), 'ref')

    // Before, CN was read with count NaN (JSON's null) and MX with updatedAt "invalid time (Infinity)",
    // and top's one was CN.
    const withheld: WithheldIndicator[] = []
    expect(await store.get('tariff', region('CN'), now, withheld)).toBeUndefined()
    expect(await store.get('tariff', region('MX'), now)).toBeUndefined() // nothing to tell, nothing told
    const top = await store.top('tariff', 'region', 'momentum', 1, now, withheld)
    expect(top.map((u) => [u.scope.id, u.count])).toEqual([['US', 1]])
    const cn = {
      dimension: 'tariff',
      scope: region('CN'),
      reason: 'invalid_state',
      stored: await ref('CN'),
      problem: 'count: Invalid input: expected number, received NaN',
    }
    expect(withheld).toEqual([
      cn,
      cn,
      {
        dimension: 'tariff',
        scope: region('MX'),
        reason: 'invalid_state',
        stored: await ref('MX'),
        problem: 'updatedAt: Invalid ISO datetime',
      },
    ])
    expect((await store.get('tariff', region('US'), now))?.count).toBe(1)
  })

  it('reads a blank field (empty, or spaces) as no number, as the apply scripts do, not as 0: a blank ref is damaged, any other blank field withheld as invalid_state', async () => {
    const { redis, prefix } = connect()
    const store = createRedisIndicatorStore(redis, { prefix, maxRefAheadMs: 10 * MIN_MS + 30_000 })
    const keys = createIndicatorKeys(prefix, store.namespace)
    const now = Date.now()
    const region = (id: string) => ({ kind: 'region' as const, id })
    const blanks: [string, string, string][] = [
      ['CN', 'cnt', ''], // before: count 0
      ['DE', 'upd', ' '], // before: updatedAt 1970-01-01
      ['FR', 'ref', ''], // before: asOf and every mean read against 0 (mean 0), not damaged
      ['JP', 'w2', ''], // before: weight 1h 0, and the mean 1h its weighted sum over the prior alone
    ]
    await store.applyBatch(
      [...blanks.map(([id]) => id), 'US'].flatMap((id, i) =>
        contributionsOf(scoredHeadline(id, now - (5 - i) * MIN_MS, { tariff: -0.8, regions: [id] })),
      ),
    )
    for (const [id, field, blank] of blanks) await redis.hset(keys.state('tariff', region(id)), field, blank)
    const withheld: WithheldIndicator[] = []
    for (const [id] of blanks)
      expect(await store.get('tariff', region(id), now, withheld), id).toBeUndefined()
    const top = await store.top('tariff', 'region', 'momentum', 10, now, withheld)
    expect(top.map((u) => u.scope.id)).toEqual(['US'])
    const named = withheld.map((w) => [w.scope.id, w.reason === 'invalid_state' ? w.problem : w.stored])
    const read = [
      ['CN', 'count: Invalid input: expected number, received NaN'],
      ['DE', 'updatedAt: Invalid ISO datetime'],
      ['FR', ''],
      ['JP', 'weight.1h: Invalid input: expected number, received NaN'],
    ]
    expect(named).toEqual([...read, ...read])
    expect(withheld.map((w) => w.reason)).toEqual(
      [...blanks, ...blanks].map(([, field]) => (field === 'ref' ? 'damaged_ref' : 'invalid_state')),
    )
  })

  // As configured (the fast path first), and a pipeline per call with at most three contributions per call.
  for (const [name, extra] of [
    ['', {}],
    [', a pipeline per call, three contributions per call', { sendEvery: 1, maxPerCall: 3 }],
  ] as const) {
    it(`repairs at the next apply a counter or sum that holds no value an apply could have written (NaN, Infinity, a count of 2.5, a weight sum below 0), reporting each, and the indicator reads again${name}`, async () => {
      const { redis, prefix } = connect()
      const store = createRedisIndicatorStore(redis, { prefix, ...extra })
      const keys = createIndicatorKeys(prefix, store.namespace)
      const config = resolveIndicatorConfig()
      const CN = { kind: 'region' as const, id: 'CN' }
      const state = keys.state('tariff', CN)
      const now = Date.now()
      const headline = (id: string, atMs: number) =>
        contributionsOf(scoredHeadline(id, atMs, { tariff: -0.5, regions: ['CN'] }))
      await store.applyBatch(headline('a', now - 2 * MIN_MS))
      const fine = Math.floor((now - MIN_MS) / config.fineBucketMs)
      const coarse = Math.floor((now - MIN_MS) / config.coarseBucketMs)
      const damaged: Record<string, string> = {
        w2: 'NaN',
        x1: 'Infinity',
        cnt: '2.5',
        w3: '-1',
        late: 'abc',
        [`n${fine}`]: 'inf',
        [`m${fine}`]: '-nan',
        [`c${coarse}`]: '0.5',
      }
      await redis.hset(state, damaged)
      expect(await store.get('tariff', CN, now)).toBeUndefined()

      const r = await store.applyBatch(headline('b', now - MIN_MS))
      expect(r).toMatchObject({ applied: 6, duplicates: 0, late: 0 })
      // Before, the apply kept adding to them: w2 nan, x1 inf, cnt 3.5, n inf, m -nan; read withheld for good.
      const hash = await redis.hgetall(state)
      expect({
        cnt: hash.cnt,
        late: hash.late,
        n: hash[`n${fine}`],
        m: hash[`m${fine}`],
        c: hash[`c${coarse}`],
      }).toEqual({ cnt: '1', late: '0', n: '1', m: '1', c: '1' })
      for (const field of ['w1', 'x1', 'w2', 'x2', 'w3', 'x3']) {
        expect(Number.isFinite(Number(hash[field])), `${field} ${hash[field]}`).toBe(true)
      }
      // b's own weight at its own time: the damaged sums held nothing more.
      expect(Number(hash.w2)).toBe(1)
      expect(Number(hash.x1)).toBe(-0.5)
      expect(Number(hash.w3)).toBe(1)
      expect(
        (r.damagedFields ?? []).map(({ dimension, scope, field, stored }) => [
          dimension,
          scope.id,
          field,
          stored,
        ]),
      ).toEqual(
        ['cnt', 'late', 'x1', 'w2', 'w3', `n${fine}`, `m${fine}`, `c${coarse}`].map((field) => [
          'tariff',
          'CN',
          field,
          damaged[field],
        ]),
      )
      // Its 15-minute volume: a's bucket, whole, and b's, repaired.
      expect(await store.get('tariff', CN, now)).toMatchObject({ count: 1, volume: { '15m': 2 } })
      // Whole again: the next apply finds nothing to repair.
      expect((await store.applyBatch(headline('c', now))).damagedFields).toBeUndefined()
    })
  }

  it('counts late headlines against a late count that is no integer, where HINCRBY failed the call', async () => {
    const { redis, prefix } = connect()
    const store = createRedisIndicatorStore(redis, { prefix })
    const keys = createIndicatorKeys(prefix, store.namespace)
    const now = Date.now()
    const headline = (id: string, atMs: number) =>
      contributionsOf(scoredHeadline(id, atMs, { tariff: -0.5, regions: ['CN'] }))
    await store.applyBatch(headline('a', now))
    const state = keys.state('tariff', { kind: 'region', id: 'CN' })
    for (const [stored, repaired] of [
      ['abc', true],
      ['1.5', true],
      ['1e1', false], // a whole number, if not as an apply writes it
    ] as const) {
      await redis.hset(state, 'late', stored)
      // Every contribution late (20 minutes behind the newest): nothing applied, the late count written.
      const r = await store.applyBatch(headline(`late-${stored}`, now - 20 * 60_000))
      expect(r, stored).toMatchObject({ applied: 0, late: 6 })
      expect(await redis.hget(state, 'late'), stored).toBe(repaired ? '1' : '11')
      expect(
        r.damagedFields?.filter((d) => d.dimension === 'tariff' && d.scope.id === 'CN'),
        stored,
      ).toEqual(
        repaired
          ? [{ dimension: 'tariff', scope: { kind: 'region', id: 'CN' }, field: 'late', stored }]
          : undefined,
      )
    }
  })
})

describe('applyScopeSums-8.lua (the fast path)', () => {
  const connect = useRedis()
  const config = resolveIndicatorConfig()
  const header = [
    1_000,
    config.graceMs,
    config.dedupRetentionMs,
    config.ttlMs,
    config.fineBucketMs,
    config.fineRetentionMs,
    config.coarseBucketMs,
    config.coarseRetentionMs,
    Number.MAX_VALUE, // no bound on the reference time past the clock
    config.halfLives.length,
    ...config.halfLives.map((h) => h.ms),
  ]
  const market = (ids: string[], t: number) =>
    JSON.stringify([
      ids.flatMap((id) => [t, id]),
      0,
      0,
      {
        n: ids.length,
        lo: t,
        hi: t,
        w: [1, 1, 1],
        x: [0.5, 0.5, 0.5],
        f: [1, ids.length, 0, 0],
        c: [1, ids.length],
      },
      0,
    ])

  it('writes nothing and answers -1 when an id is known or a contribution is late; the store then goes the slow way', async () => {
    const { redis, prefix } = connect()
    const keys = createIndicatorKeys(prefix, 'v1')
    const global = { kind: 'global' as const, id: 'all' }
    const keyArgs = (['tariff', 'supplyChain', 'market', 'uncertainty'] as const).flatMap((d) => [
      keys.state(d, global),
      keys.ids(d, global),
    ])
    const { applyScopeSums } = indicatorScripts(redis)
    const call = (payload: string) => applyScopeSums(...keyArgs, ...header, payload) as Promise<number[]>
    expect(await call(market(['x', 'y'], T0))).toEqual([2, 0, 0])
    const before = await redis.hgetall(keys.state('market', global))
    expect(await call(market(['z', 'y'], T0 + 1))).toEqual([-1]) // y is known
    expect(await call(market(['late'], T0 - config.graceMs - 1))).toEqual([-1])
    expect(await redis.hgetall(keys.state('market', global))).toEqual(before)
    expect(await redis.zcard(keys.ids('market', global))).toBe(2)
    // A damaged reference time (no finite number: the slow way resets and reports it), before, was
    // taken as none here, silently.
    await redis.hset(keys.state('market', global), 'ref', 'not a time')
    expect(await call(market(['z'], T0 + 1))).toEqual([-1])
    expect(await redis.hgetall(keys.state('market', global))).toEqual({ ...before, ref: 'not a time' })
    await redis.hset(keys.state('market', global), 'ref', before.ref!)
    await expect(call('[[1,"a"],{"n":1}]')).rejects.toThrow(/TPIND_BAD_ARGS/)

    // Through the store: a redelivered batch falls back and is reported as duplicates, nothing applied.
    const store = createRedisIndicatorStore(redis, { prefix, namespace: 'v2' })
    const batch = [scoredHeadline('a', T0), scoredHeadline('b', T0 + MIN_MS)].flatMap(contributionsOf)
    expect(await store.applyBatch(batch)).toMatchObject({ applied: batch.length, duplicates: 0 })
    expect(await store.applyBatch(batch)).toMatchObject({
      applied: 0,
      duplicates: batch.length,
      lateAgain: 0,
    })
    expect((await store.get('market', global, T0 + MIN_MS))?.count).toBe(2)
  })
})

/**
 * The same fixtures through the TypeScript math (applyContributions) and the Lua script: the states
 * must agree field by field. This is the one test that keeps lua/applyScope-8.lua and
 * indicator-state.ts in step.
 */
describe('applyScope-8.lua matches applyContributions', () => {
  const connect = useRedis()

  for (const [name, series, order] of [
    ['in order', randomSeries(150, 3 * HOUR_MS, 21), 'ordered'],
    ['shuffled, with late and duplicate headlines', randomSeries(150, 3 * HOUR_MS, 22), 'shuffled'],
    ['sparse over nine days (trimming)', randomSeries(120, 9 * 24 * HOUR_MS, 23), 'ordered'],
  ] as const) {
    it(name, async () => {
      const { redis, prefix } = connect()
      const config = resolveIndicatorConfig()
      const store = createRedisIndicatorStore(redis, { prefix, clock: { now: () => 1_000 } })
      const keys = createIndicatorKeys(prefix, store.namespace)
      const random = seededRandom(5)
      let headlines = order === 'ordered' ? [...series] : shuffledWithinGrace(series, random)
      // Fully shuffled and replayed: some arrive beyond the grace (late), some twice (duplicates).
      if (order === 'shuffled') headlines = [...headlines, ...seededShuffle(series, random).slice(0, 60)]
      const batches = inBatches(headlines, random, 8).map((b) => b.flatMap(contributionsOf))

      const states = new Map<string, IndicatorState>()
      const expected = { applied: 0, duplicates: 0, late: 0, lateAgain: 0 }
      const actual = { applied: 0, duplicates: 0, late: 0, lateAgain: 0 }
      // Each contribution by what came of it: the late, late again and duplicate ones, by key and headline.
      const named = (list: readonly Pick<Contribution, 'dimension' | 'scope' | 'headlineId'>[] = []) =>
        list.map((c) => `${indicatorKey(c.dimension, c.scope)} ${c.headlineId}`).sort()
      for (const batch of batches) {
        const byKey = new Map<string, Contribution[]>()
        for (const c of batch) {
          const k = indicatorKey(c.dimension, c.scope)
          byKey.set(k, [...(byKey.get(k) ?? []), c])
        }
        const lists = {
          late: [] as Contribution[],
          lateAgain: [] as Contribution[],
          duplicates: [] as Contribution[],
        }
        for (const [k, group] of byKey) {
          const state = states.get(k) ?? createIndicatorState(config)
          states.set(k, state)
          const out = applyContributions(state, group, 1_000, config)
          expected.applied += out.applied
          expected.duplicates += out.duplicates
          expected.late += out.late
          expected.lateAgain += out.lateAgain
          lists.late.push(...out.lateContributions)
          lists.lateAgain.push(...(out.lateAgainContributions ?? []))
          lists.duplicates.push(...(out.duplicateContributions ?? []))
        }
        const r = await store.applyBatch(batch)
        actual.applied += r.applied
        actual.duplicates += r.duplicates
        actual.late += r.late
        actual.lateAgain += r.lateAgain
        expect(named(r.lateContributions)).toEqual(named(lists.late))
        expect(named(r.lateAgainContributions)).toEqual(named(lists.lateAgain))
        expect(named(r.duplicateContributions)).toEqual(named(lists.duplicates))
      }
      expect(actual).toEqual(expected)
      if (order === 'shuffled') {
        expect(expected.late).toBeGreaterThan(0)
        expect(expected.lateAgain).toBeGreaterThan(0)
        expect(expected.duplicates).toBeGreaterThan(0)
      }
      await expectSameStates(redis, keys, states)
    })
  }

  it('resets a damaged reference time alike, forgetting alike the ids remembered at it', async () => {
    const { redis, prefix } = connect()
    const config = resolveIndicatorConfig()
    const nowMs = T0 + 2 * HOUR_MS
    const maxRefAheadMs = 10 * MIN_MS + 30_000
    // One store believing every finite reference time, one bounding it: the same keys.
    const unbounded = createRedisIndicatorStore(redis, { prefix, clock: { now: () => nowMs } })
    const bounded = createRedisIndicatorStore(redis, { prefix, clock: { now: () => nowMs }, maxRefAheadMs })
    const keys = createIndicatorKeys(prefix, bounded.namespace)
    const random = seededRandom(31)
    const batches = inBatches(randomSeries(90, HOUR_MS, 31), random, 6).map((b) => b.flatMap(contributionsOf))
    const states = new Map<string, IndicatorState>()
    const apply = async (batch: Contribution[], store: typeof bounded, refLimitMs?: number) => {
      const byKey = new Map<string, Contribution[]>()
      for (const c of batch) {
        const k = indicatorKey(c.dimension, c.scope)
        byKey.set(k, [...(byKey.get(k) ?? []), c])
      }
      const expected = { applied: 0, duplicates: 0, late: 0, lateAgain: 0, damaged: [] as string[] }
      for (const [k, group] of byKey) {
        const state = states.get(k) ?? createIndicatorState(config)
        states.set(k, state)
        const out = applyContributions(state, group, nowMs, config, refLimitMs)
        expected.applied += out.applied
        expected.duplicates += out.duplicates
        expected.late += out.late
        expected.lateAgain += out.lateAgain
        if (out.damagedRefMs !== undefined) expected.damaged.push(k)
      }
      const r = await store.applyBatch(batch)
      const damaged = (r.damagedRefs ?? []).map((d) => indicatorKey(d.dimension, d.scope))
      const counts = { applied: r.applied, duplicates: r.duplicates, late: r.late, lateAgain: r.lateAgain }
      expect({ ...counts, damaged: damaged.sort() }).toEqual({
        ...expected,
        damaged: expected.damaged.sort(),
      })
      return r
    }
    const third = Math.floor(batches.length / 3)
    for (const batch of batches.slice(0, third)) await apply(batch, bounded, nowMs + maxRefAheadMs)
    // Every reference time a time no apply could have written, in Redis and in the TypeScript states alike.
    for (const [k, state] of states) {
      const { dimension, scope } = parseIndicatorKey(k)
      state.refMs = 1e15
      await redis.hset(keys.state(dimension, scope), 'ref', '1e15')
    }
    // Believed, it makes the next third late, remembered at it.
    let late = 0
    for (const batch of batches.slice(third, 2 * third)) late += (await apply(batch, unbounded)).late
    expect(late).toBeGreaterThan(0)
    // Bounded, the rest is applied, each damaged reference time reset once.
    let damaged = 0
    for (const batch of batches.slice(2 * third)) {
      damaged += (await apply(batch, bounded, nowMs + maxRefAheadMs)).damagedRefs?.length ?? 0
    }
    expect(damaged).toBeGreaterThan(0)
    await expectSameStates(redis, keys, states)
  })

  it('repairs damaged counters, sums and buckets alike, reporting the same fields', async () => {
    const { redis, prefix } = connect()
    const config = resolveIndicatorConfig()
    const store = createRedisIndicatorStore(redis, { prefix, clock: { now: () => 1_000 } })
    const keys = createIndicatorKeys(prefix, store.namespace)
    const random = seededRandom(41)
    const series = randomSeries(90, HOUR_MS, 41)
    const batches = inBatches(series, random, 6).map((b) => b.flatMap(contributionsOf))
    const third = Math.floor(batches.length / 3)
    // The rest, then a replay of the first headlines (duplicates: their buckets are not read).
    const later = [...batches.slice(third), series.slice(0, 10).flatMap(contributionsOf)]
    const states = new Map<string, IndicatorState>()
    const apply = async (batch: Contribution[]) => {
      const byKey = new Map<string, Contribution[]>()
      for (const c of batch) {
        const k = indicatorKey(c.dimension, c.scope)
        byKey.set(k, [...(byKey.get(k) ?? []), c])
      }
      const expected = { applied: 0, duplicates: 0, late: 0, lateAgain: 0, damaged: [] as string[] }
      for (const [k, group] of byKey) {
        const state = states.get(k) ?? createIndicatorState(config)
        states.set(k, state)
        const out = applyContributions(state, group, 1_000, config)
        expected.applied += out.applied
        expected.duplicates += out.duplicates
        expected.late += out.late
        expected.lateAgain += out.lateAgain
        for (const d of out.damagedFields ?? []) expected.damaged.push(`${k} ${d.field}`)
      }
      const r = await store.applyBatch(batch)
      const damaged = (r.damagedFields ?? []).map((d) => `${indicatorKey(d.dimension, d.scope)} ${d.field}`)
      const counts = { applied: r.applied, duplicates: r.duplicates, late: r.late, lateAgain: r.lateAgain }
      expect({ ...counts, damaged: damaged.sort() }).toEqual({
        ...expected,
        damaged: expected.damaged.sort(),
      })
      return damaged.length
    }
    for (const batch of batches.slice(0, third)) await apply(batch)
    // Every indicator the later batches come to, damaged alike in Redis and in the TypeScript states: its
    // counters and sums, and the buckets of the first contribution they bring it.
    const first = new Map<string, Contribution>()
    for (const c of later.flat()) {
      const k = indicatorKey(c.dimension, c.scope)
      if (states.has(k) && !first.has(k)) first.set(k, c)
    }
    expect(first.size).toBeGreaterThan(10)
    for (const [k, c] of first) {
      const state = states.get(k)!
      const fi = Math.floor(c.eventMs / config.fineBucketMs)
      const ci = Math.floor(c.eventMs / config.coarseBucketMs)
      state.count = 2.5
      state.late = Number.NaN
      state.sumW[1] = Number.NaN
      state.sumWX[0] = Number.POSITIVE_INFINITY
      state.sumW[2] = -1
      state.fine.set(fi, { ...(state.fine.get(fi) ?? { n: 0, pos: 0, neg: 0 }), n: Number.POSITIVE_INFINITY })
      state.coarse.set(ci, 0.5)
      const { dimension, scope } = parseIndicatorKey(k)
      await redis.hset(keys.state(dimension, scope), {
        cnt: '2.5',
        late: 'abc',
        w2: 'nan',
        x1: 'inf',
        w3: '-1',
        [`n${fi}`]: 'inf',
        [`c${ci}`]: '0.5',
      })
    }
    let repaired = 0
    for (const batch of later) repaired += await apply(batch)
    expect(repaired).toBeGreaterThanOrEqual(7 * first.size)
    await expectSameStates(redis, keys, states)
  })

  async function expectSameStates(
    redis: Redis,
    keys: ReturnType<typeof createIndicatorKeys>,
    states: ReadonlyMap<string, IndicatorState>,
  ) {
    const config = resolveIndicatorConfig()
    for (const [k, ts] of states) {
      const { dimension, scope } = parseIndicatorKey(k)
      const lua = stateFromHash(await redis.hgetall(keys.state(dimension, scope)), config)
      expect(lua.refMs, k).toBe(ts.refMs)
      expect(lua.count, k).toBe(ts.count)
      expect(lua.late, k).toBe(ts.late)
      expect(lua.fine, k).toEqual(ts.fine)
      expect(lua.coarse, k).toEqual(ts.coarse)
      ts.sumW.forEach((w, j) => {
        expect(closeEnough(lua.sumW[j]!, w, 1e-12), `${k} w${j}`).toBe(true)
        expect(closeEnough(lua.sumWX[j]!, ts.sumWX[j]!, 1e-12), `${k} x${j}`).toBe(true)
      })
      const ids = await redis.zrange(keys.ids(dimension, scope), 0, '-1', 'WITHSCORES')
      const luaIds = new Map<string, number>()
      for (let i = 0; i < ids.length; i += 2) luaIds.set(ids[i]!, Number(ids[i + 1]))
      expect(luaIds, k).toEqual(new Map([...ts.ids].map(([id, t]) => [compactId(id), t])))
    }
  }
})

function seededShuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

import { createManualClock, createTopicCatalogue, IndicatorUpdate } from '@tradepulse/contracts'
import { createLogger, createRedisIndicatorStore, type InRecord, type OutRecord } from '@tradepulse/platform'
import { randomName, testInfra, waitFor } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { Registry } from 'prom-client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createAggregator } from './aggregator-handler.ts'
import { createAggregatorMetrics } from './aggregator-metrics.ts'
import { indicatorOverrides } from './config.ts'
import { type DirtyKeys, dirtyKeysKey, memoryDirtyKeys, redisDirtyKeys } from './dirty-keys.ts'
import { HOUR_MS, MIN_MS, scoredSeries } from './scored-fixtures.ts'

const T0 = Date.parse('2026-03-02T08:00:00Z')
const dirty_ = (redis: Redis, key: string) => redisDirtyKeys(redis, key, 60_000)

describe('dirty keys in Redis', () => {
  const { redisUrl } = testInfra()
  let redis: Redis
  let prefix: string
  let key: string

  beforeEach(() => {
    redis = new Redis(redisUrl)
    prefix = randomName('dirty').replace(/\W/g, '_')
    key = dirtyKeysKey(prefix, 'tradepulse.aggregator')
  })
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length) await redis.unlink(...keys)
    await redis.quit()
  })

  /** The same steps against Redis and memory: what each call answers, stamps aside. */
  it('marks, clears only the mark it was given and takes only old marks, as the memory adapter does', async () => {
    const run = async (dirty: DirtyKeys) => {
      const log: unknown[] = []
      const first = await dirty.mark(['a', 'b'])
      const again = await dirty.mark(['a'])
      // Marked again: a larger stamp, so the first one no longer clears it.
      log.push(again.get('a')! > first.get('a')!)
      await dirty.clear([
        { key: 'a', stamp: first.get('a')! },
        { key: 'b', stamp: first.get('b')! },
      ])
      log.push((await dirty.claimStale(60_000, 10)).map((m) => m.key)) // nothing that old
      const taken = await dirty.claimStale(0, 10) // 'a' is left, at its second stamp
      log.push(
        taken.map((m) => m.key),
        taken[0]!.stamp > again.get('a')!,
      )
      log.push((await dirty.claimStale(60_000, 10)).map((m) => m.key)) // taken: restamped, young again
      await dirty.clear([{ key: 'a', stamp: again.get('a')! }]) // the stamp before it was taken: kept
      log.push((await dirty.claimStale(0, 10)).map((m) => m.key))
      await dirty.clear(taken) // stale: retaken since
      const retaken = await dirty.claimStale(0, 10)
      await dirty.clear(retaken)
      log.push((await dirty.claimStale(0, 10)).map((m) => m.key))
      await dirty.mark(['c', 'd', 'e'])
      log.push((await dirty.claimStale(0, 2)).length) // at most the limit
      return log
    }
    const inRedis = await run(redisDirtyKeys(redis, key, 60_000))
    expect(inRedis).toEqual([true, [], ['a'], true, [], ['a'], [], 2])
    expect(await run(memoryDirtyKeys())).toEqual(inRedis)
    const ttl = await redis.pttl(key)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })

  /**
   * The store's clock set back (an NTP step on Redis's host, a failover to a replica whose host's clock is
   * behind): a mark stamped before is ahead of it, its age unknown. It is taken as stale rather than
   * left for as long as the step (a dead member's update unpublished for an hour); publishing twice is
   * harmless.
   */
  it('takes marks stamped over a second ahead of its clock (its clock set back since), as the memory adapter does', async () => {
    const run = async (dirty: DirtyKeys, setBack: (ms: number) => Promise<void>) => {
      const log: unknown[] = []
      const first = await dirty.mark(['a', 'b'])
      await setBack(HOUR_MS)
      const again = await dirty.mark(['a', 'c']) // a still ahead (a key's stamps only grow); c at the clock
      log.push(again.get('a')! > first.get('a')!)
      log.push((await dirty.claimStale(60_000, 10)).map((m) => m.key).sort())
      log.push((await dirty.claimStale(60_000, 10)).map((m) => m.key)) // taken: restamped at the clock
      return log
    }
    const inRedis = await run(redisDirtyKeys(redis, key, 60_000), async (ms) => {
      // What Redis's clock set back `ms` would see: every stamp that far ahead.
      const scored = await redis.zrange(key, '0', '-1', 'WITHSCORES')
      for (let i = 0; i < scored.length; i += 2)
        await redis.zadd(key, String(Number(scored[i + 1]) + ms * 1_000), scored[i]!)
    })
    expect(inRedis).toEqual([true, ['a', 'b'], []])
    const clock = createManualClock(T0)
    expect(await run(memoryDirtyKeys(clock), async (ms) => clock.advance(-ms))).toEqual(inRedis)
  })

  /**
   * A mark keeps the newest entry time of the headlines it holds back, whoever marked it, until it is
   * cleared; a taken mark answers with it.
   */
  it('keeps with each mark the newest entry time it holds back, until cleared, as the memory adapter does', async () => {
    const run = async (dirty: DirtyKeys) => {
      const entered = (pairs: [string, number][]) => new Map(pairs)
      const taken = async () =>
        Object.fromEntries((await dirty.claimStale(0, 10)).map((m) => [m.key, m.enteredMs ?? null]))
      const log: unknown[] = []
      // a: marked at 2,000 then again at 1,000 (another member's older headlines): keeps 2,000.
      // b: marked at 1,000 then again at 3,000: 3,000. c: no entry time. d: a NaN is none.
      await dirty.mark(
        ['a', 'b', 'c', 'd'],
        entered([
          ['a', 2_000],
          ['b', 1_000],
          ['d', Number.NaN],
        ]),
      )
      await dirty.mark(
        ['a', 'b', 'c'],
        entered([
          ['a', 1_000],
          ['b', 3_000],
        ]),
      )
      const first = await dirty.claimStale(0, 10)
      log.push(Object.fromEntries(first.map((m) => [m.key, m.enteredMs ?? null])))
      // Taken again (restamped): the entry time goes with it.
      log.push(await taken())
      // Cleared, then marked again: only the new headlines' entry time (none, for a).
      await dirty.clear((await dirty.claimStale(0, 10)).filter((m) => m.key === 'a' || m.key === 'b'))
      await dirty.mark(['a', 'b'], entered([['b', 500]]))
      log.push(await taken())
      // Every entry time goes with its mark.
      await dirty.clear(await dirty.claimStale(0, 10))
      log.push(await taken())
      return log
    }
    const inRedis = await run(redisDirtyKeys(redis, key, 60_000))
    expect(inRedis).toEqual([
      { a: 2_000, b: 3_000, c: null, d: null },
      { a: 2_000, b: 3_000, c: null, d: null },
      { a: null, b: 500, c: null, d: null },
      {},
    ])
    expect(await run(memoryDirtyKeys())).toEqual(inRedis)
  })

  /**
   * A mark keeps the trace context of the newest headline (by entry time) it holds back that carried
   * one, whoever marked it, until it is cleared; a taken mark answers with it.
   */
  it('keeps with each mark the trace of its newest traced headline, until cleared, as the memory adapter does', async () => {
    const tp = (n: number) => `00-${String(n).padStart(32, '0')}-${'1'.repeat(16)}-01`
    const run = async (dirty: DirtyKeys) => {
      const traces = (list: [string, number, number][]) =>
        new Map(list.map(([k, n, enteredMs]) => [k, { traceparent: tp(n), enteredMs }]))
      const taken = async () =>
        Object.fromEntries(
          (await dirty.claimStale(0, 10)).map((m) => [
            m.key,
            m.trace ? [m.trace.traceparent, m.trace.enteredMs] : null,
          ]),
        )
      const log: unknown[] = []
      // a: 1 at 2,000, then 2 at 1,000 (another member's older headline): keeps 1. b: 3 at 1,000, then
      // 4 at 1,000 (a tie: the later mark's). c: 5 with no entry time, then 6 at 0: 6. d: none, then none
      // given: none. e: 7 with no entry time, then nothing given: keeps 7.
      await dirty.mark(
        ['a', 'b', 'c', 'd', 'e'],
        undefined,
        traces([
          ['a', 1, 2_000],
          ['b', 3, 1_000],
          ['c', 5, Number.NEGATIVE_INFINITY],
          ['e', 7, Number.NEGATIVE_INFINITY],
        ]),
      )
      await dirty.mark(
        ['a', 'b', 'c', 'd', 'e'],
        undefined,
        traces([
          ['a', 2, 1_000],
          ['b', 4, 1_000],
          ['c', 6, 0],
        ]),
      )
      log.push(await taken())
      // Cleared, then marked again: only the new headlines' trace (none, for a).
      await dirty.clear((await dirty.claimStale(0, 10)).filter((m) => m.key === 'a' || m.key === 'b'))
      await dirty.mark(['a', 'b'], undefined, traces([['b', 8, 500]]))
      log.push(await taken())
      await dirty.clear(await dirty.claimStale(0, 10))
      log.push(await taken())
      return log
    }
    const inRedis = await run(redisDirtyKeys(redis, key, 60_000))
    const none = Number.NEGATIVE_INFINITY
    expect(inRedis).toEqual([
      { a: [tp(1), 2_000], b: [tp(4), 1_000], c: [tp(6), 0], d: null, e: [tp(7), none] },
      { a: null, b: [tp(8), 500], c: [tp(6), 0], d: null, e: [tp(7), none] },
      {},
    ])
    expect(await run(memoryDirtyKeys())).toEqual(inRedis)
    // A trace Redis holds that is not one (written by hand, or by something else): none.
    await dirty_(redis, key).mark(['f'])
    await redis.hset(`${key}:trace`, 'f', '12 not-a-traceparent')
    expect((await dirty_(redis, key).claimStale(0, 10)).find((m) => m.key === 'f')?.trace).toBeUndefined()
  })

  it('publishes, from a member that never saw it, a key a member left held back when it died; each key once', async () => {
    const topics = createTopicCatalogue(`${prefix}.`)
    const store = createRedisIndicatorStore(redis, {
      prefix,
      config: indicatorOverrides({ AGGREGATOR_GRACE_MS: 600_000 }),
    })
    const dirty = redisDirtyKeys(redis, key, 60_000)
    const member = (intervalMs = 60_000) =>
      createAggregator({
        topics,
        store,
        dirty,
        log: createLogger({ level: 'silent' }),
        metrics: createAggregatorMetrics(new Registry()),
        graceMs: 600_000,
        recoverAfterMs: 1_000,
        publish: { intervalMs, largeChange: 10, burstFactor: 0, shortLabel: '1h' },
      })
    const ctx = { signal: new AbortController().signal }
    const series = scoredSeries(40, { startMs: T0, spanMs: 20 * MIN_MS, idPrefix: prefix })
    // Each headline's trace context: its index in the trace id.
    const traceOf = (i: number) => `00-${String(i + 1).padStart(32, '0')}-${'a'.repeat(16)}-01`
    const records = (from: number, n: number): InRecord[] =>
      series.slice(from, from + n).map((h, i) => ({
        topic: topics.scored.name,
        partition: 0,
        offset: String(from + i),
        key: Buffer.from(h.id),
        value: Buffer.from(JSON.stringify(h)),
        headers: { traceparent: traceOf(from + i) },
        timestamp: Date.now(),
      }))
    const outOf = (outcomes: Awaited<ReturnType<ReturnType<typeof member>['handler']>>) =>
      outcomes.flatMap((o) => (o.kind === 'ok' ? (o.out ?? []) : []))

    // A publishes every key of its first batch, then holds back the second batch's (a minute's interval).
    const a = member()
    const first = outOf(await a.handler(records(0, 20), ctx)).map((r) => String(r.key))
    const second = outOf(await a.handler(records(20, 20), ctx)).map((r) => String(r.key))
    expect(first).toContain('market|global:all')
    expect(second).not.toContain('market|global:all')
    // A dies. B, which never applied a headline, publishes them once their marks are three of its
    // intervals old, read from Redis.
    const b = member(1_000)
    const sent: IndicatorUpdate[] = []
    const traces = new Map<string, unknown>()
    const collect = async (records: OutRecord[]) => {
      for (const r of records) {
        const u = IndicatorUpdate.parse(JSON.parse(String(r.value)))
        sent.push(u)
        traces.set(u.key, r.headers?.traceparent)
      }
    }
    await waitFor(async () => (await b.flushDue(collect)) > 0, {
      what: 'the held-back updates published',
      timeoutMs: 20_000,
    })
    const market = sent.find((u) => u.key === 'market|global:all')!
    const now = await store.get('market', { kind: 'global', id: 'all' }, Date.parse(market.asOf))
    // With the entry time of the newest headline A held back, as A's own trailing edge would have sent it.
    const ingestedAt = series
      .slice(20)
      .map((h) => h.ingestedAt)
      .sort()
      .at(-1)
    // And the trace context of that headline (the fixtures' entry times are distinct), as A's would.
    const newest = series.findIndex((h, i) => i >= 20 && h.ingestedAt === ingestedAt)
    expect(traces.get('market|global:all')).toBe(traceOf(newest))
    expect({ ...market, updatedAt: undefined }).toEqual({ ...now, updatedAt: undefined, ingestedAt })
    expect(sent.every((u) => u.ingestedAt !== undefined)).toBe(true)
    expect(market.count).toBe(40)
    expect(new Set(sent.map((u) => u.key)).size).toBe(sent.length) // each once
    // Settled: nothing left for anyone.
    expect(await redis.zcard(key)).toBe(0)
  })
})

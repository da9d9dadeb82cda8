// A rebuild stopped by its signal (the CLI's SIGINT and SIGTERM): before readers are switched it deletes
// what it made, never the live namespace; once the switch is under way it finishes. Without, Ctrl-C left
// the half-built namespace in Redis for a week (the indicators' TTL) and the throwaway group on Kafka.
import { createRedisIndicatorStore } from '@tradepulse/platform'
import { testKafka } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { useAggregatorTestContext } from './int-test-context.ts'
import { RebuildInterruptedError, type RebuildStep, rebuildIndicators } from './rebuild.ts'
import { replayOptions, scoredTopic, T0 } from './rebuild-test-support.ts'
import { applyInOrder, compareStores, HOUR_MS, scoredSeries, targetsOf } from './scored-fixtures.ts'

describe('rebuildIndicators stopped by its signal', () => {
  const ctx = useAggregatorTestContext('rebuild-stop')

  /**
   * A topic of 4,000 headlines on three partitions, and the live indicators: 100 other headlines in
   * namespace `live`, active, with its watermark.
   */
  async function setup() {
    const { topic, series } = await scoredTopic(ctx, 61)
    const store = createRedisIndicatorStore(ctx.redis, { prefix: ctx.keyPrefix })
    const live = store.withNamespace('live')
    const liveHeadlines = scoredSeries(100, { startMs: T0, spanMs: HOUR_MS, seed: 62, idPrefix: 'live' })
    await applyInOrder(live, liveHeadlines)
    await live.advanceWatermark(Date.parse(liveHeadlines.at(-1)!.publishedAt))
    await store.activateNamespace('live')
    return { topic, series, store }
  }

  /** Every key under the test's prefix with its value (DUMP, without the TTL), sorted by key. */
  async function snapshot(): Promise<[string, string][]> {
    const keys = (await ctx.redis.keys(`${ctx.keyPrefix}*`)).sort()
    return Promise.all(
      keys.map(async (k) => [k, (await ctx.redis.dumpBuffer(k))?.toString('hex') ?? ''] as [string, string]),
    )
  }

  async function groups(): Promise<string[]> {
    const admin = testKafka(ctx.kafkaBrokers).admin()
    await admin.connect()
    try {
      return (await admin.listGroups()).groups.map((g) => g.groupId)
    } finally {
      await admin.disconnect()
    }
  }

  it('mid-replay: stops, deletes its namespace and its consumer group, and leaves the live namespace as it was', async () => {
    const { topic, store } = await setup()
    const before = await snapshot()
    const stop = new AbortController()
    const steps: RebuildStep[] = []
    const failure = await rebuildIndicators({
      ...replayOptions(ctx, topic, store),
      signal: stop.signal,
      onStep: (s) => steps.push(s),
      // Called while the replay has not reached the end offsets: the first records are applied, not all.
      onProgress: (p) => {
        if (p.records > 0) stop.abort()
      },
    }).catch((err: unknown) => err)

    expect(failure).toBeInstanceOf(RebuildInterruptedError)
    const { interruption, message } = failure as RebuildInterruptedError
    expect(interruption.started).toBe(true)
    expect(steps).toEqual([
      { step: 'started', namespace: interruption.namespace, previous: 'live', groupId: interruption.groupId },
    ])
    expect(interruption.groupId).toBe(`${ctx.prefix}aggregator.rebuild.${interruption.namespace}`)
    expect(interruption.records).toBeGreaterThan(0)
    expect(interruption.records).toBeLessThan(4_000)
    // Keys it had written, deleted.
    expect(interruption.clearedKeys).toBeGreaterThan(0)
    expect(interruption).not.toHaveProperty('namespaceLeft')
    expect(interruption).not.toHaveProperty('groupLeft')
    expect(message).toBe(
      `rebuild interrupted before readers were switched: deleted namespace ${interruption.namespace} (${interruption.clearedKeys} keys) and consumer group ${interruption.groupId}; readers stay on namespace live`,
    )
    expect(await ctx.redis.keys(`${ctx.keyPrefix}:${interruption.namespace}:*`)).toEqual([])
    expect(await groups()).not.toContain(interruption.groupId)
    // The live namespace, its watermark and the active-namespace key: every key as it was, no other.
    expect(await snapshot()).toEqual(before)
    expect(await store.activeNamespace()).toBe('live')
  })

  it('failing mid-replay (not interrupted): deletes its namespace and its group, the live one as it was', async () => {
    const { topic, store } = await setup()
    const before = await snapshot()
    const steps: RebuildStep[] = []
    const failure = await rebuildIndicators({
      ...replayOptions(ctx, topic, store),
      onStep: (s) => steps.push(s),
      onProgress: (p) => {
        if (p.records > 0) throw new Error('the replay broke')
      },
    }).catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(Error)
    expect(failure).not.toBeInstanceOf(RebuildInterruptedError)
    expect((failure as Error).message).toBe('the replay broke')
    const started = steps.find((s) => s.step === 'started')!
    // Keys it had written, deleted (before, they stayed for the indicators' TTL, a week).
    expect(await ctx.redis.keys(`${ctx.keyPrefix}:${started.namespace}:*`)).toEqual([])
    expect(await groups()).not.toContain(started.groupId)
    expect(await snapshot()).toEqual(before)
    expect(await store.activeNamespace()).toBe('live')
  })

  it('before it starts: makes nothing', async () => {
    const { topic, store } = await setup()
    const before = await snapshot()
    const stop = new AbortController()
    stop.abort()
    const failure = await rebuildIndicators({
      ...replayOptions(ctx, topic, store),
      namespace: 'never',
      signal: stop.signal,
    }).catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(RebuildInterruptedError)
    expect((failure as RebuildInterruptedError).interruption).toEqual({
      started: false,
      namespace: 'never',
      previous: 'live',
      groupId: `${ctx.prefix}aggregator.rebuild.never`,
      records: 0,
      clearedKeys: 0,
    })
    expect(await snapshot()).toEqual(before)
    expect(await groups()).not.toContain(`${ctx.prefix}aggregator.rebuild.never`)
  })

  it('once readers are being switched: finishes, the new namespace whole and live, its group deleted', async () => {
    const { topic, series, store } = await setup()
    const stop = new AbortController()
    const r = await rebuildIndicators({
      ...replayOptions(ctx, topic, store),
      signal: stop.signal,
      onStep: (s) => {
        if (s.step === 'switching') stop.abort()
      },
    })
    expect(stop.signal.aborted).toBe(true)
    expect(r).toMatchObject({ previous: 'live', records: 4_000, headlines: 4_000 })
    expect(await store.activeNamespace()).toBe(r.namespace)
    const ref = createRedisIndicatorStore(ctx.redis, { prefix: `${ctx.keyPrefix}ref` })
    expect(await applyInOrder(ref, series)).toMatchObject({ late: 0 })
    expect(
      await compareStores(ref, store.withNamespace(r.namespace), targetsOf(series), T0 + 3 * HOUR_MS),
    ).toEqual([])
    expect(await groups()).not.toContain(r.groupId)
    // The previous namespace cleared, as without the signal.
    expect(await ctx.redis.keys(`${ctx.keyPrefix}:live:*`)).toEqual([])
  })
})

// A rebuild whose throwaway consumer rejoins its group mid-replay (here: its session timed out while Redis
// held a chunk; also a crash kafkajs restarts from, a coordinator move) completes. The group commits no offset, and kafkajs fetches from the committed offsets after every join,
// so the replay is given again everything it applied since it started. Before, a fetch all below what was
// applied returned unresolved: kafkajs fetched the same offset again and again, and the rebuild waited for
// ever.
import type { IndicatorStore } from '@tradepulse/indicators'
import { createRedisIndicatorStore } from '@tradepulse/platform'
import { testKafka, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { useAggregatorTestContext } from './int-test-context.ts'
import { rebuildIndicators } from './rebuild.ts'
import { replayOptions, scoredTopic, T0 } from './rebuild-test-support.ts'
import { applyInOrder, compareStores, HOUR_MS, targetsOf } from './scored-fixtures.ts'

/** `store`, its namespace `namespace` holding every apply while `gate.closed` (until `gate.open()`). */
function gated(store: IndicatorStore, namespace: string) {
  let release = () => {}
  const gate = {
    closed: false,
    waiting: 0,
    opened: Promise.resolve(),
    close() {
      gate.closed = true
      gate.opened = new Promise<void>((r) => (release = r))
    },
    open() {
      gate.closed = false
      release()
    },
  }
  const holding = (s: IndicatorStore): IndicatorStore =>
    new Proxy(s, {
      get: (target, prop, receiver) =>
        prop === 'applyRuns'
          ? async (...args: Parameters<IndicatorStore['applyRuns']>) => {
              if (gate.closed) {
                gate.waiting++
                await gate.opened
              }
              return target.applyRuns(...args)
            }
          : Reflect.get(target, prop, receiver),
    })
  const outer = new Proxy(store, {
    get: (target, prop, receiver) =>
      prop === 'withNamespace'
        ? (ns: string) => (ns === namespace ? holding(target.withNamespace(ns)) : target.withNamespace(ns))
        : Reflect.get(target, prop, receiver),
  })
  return { store: outer, gate }
}

describe('rebuildIndicators, its consumer rejoining mid-replay', () => {
  const ctx = useAggregatorTestContext('rebuild-rejoin')

  it('completes, every headline in the new namespace', async () => {
    const { topic, series } = await scoredTopic(ctx, 71)
    const namespace = 'rejoined'
    const { store, gate } = gated(createRedisIndicatorStore(ctx.redis, { prefix: ctx.keyPrefix }), namespace)
    // Small fetches: the records applied before the rejoin span several, so the fetches after it from the
    // start are all below what was applied.
    const options = replayOptions(ctx, topic, store)
    const groupId = `${options.groupPrefix}.rebuild.${namespace}`
    let held = false
    const stop = new AbortController()
    const rebuilt = rebuildIndicators({
      ...options,
      namespace,
      signal: stop.signal,
      onProgress: (p) => {
        if (!held && p.records >= 1_500) {
          held = true
          gate.close()
        }
      },
    }).catch((err: unknown) => err)

    // Mid-replay, its applies held (Redis down, as it were): its consumer sends no heartbeat, and the
    // group drops it once its session times out (kafkajs's default, 30 s).
    await waitFor(() => gate.waiting > 0, { what: 'the replay held mid-way', timeoutMs: 60_000 })
    const admin = testKafka(ctx.kafkaBrokers).admin()
    await admin.connect()
    ctx.cleanups.push(() => admin.disconnect())
    await waitFor(async () => (await admin.describeGroups([groupId])).groups[0]?.state === 'Empty', {
      what: 'the rebuild dropped from its group',
      timeoutMs: 60_000,
      intervalMs: 500,
    })
    // Redis back: the consumer is told it is no member, and joins again.
    gate.open()
    // Before, it never completed: stopped after 45 s, the rebuild is interrupted, not done.
    const deadline = setTimeout(() => stop.abort(), 45_000)
    const r = await rebuilt
    clearTimeout(deadline)
    expect(r instanceof Error ? r.message : 'done').toBe('done')
    const result = r as Awaited<ReturnType<typeof rebuildIndicators>>
    // Each at least once (a batch under way as the consumer rejoined may be counted twice).
    expect(result.headlines).toBeGreaterThanOrEqual(4_000)

    const ref = createRedisIndicatorStore(ctx.redis, { prefix: `${ctx.keyPrefix}ref` })
    await applyInOrder(ref, series)
    expect(
      await compareStores(ref, store.withNamespace(namespace), targetsOf(series), T0 + 3 * HOUR_MS),
    ).toEqual([])
  })
})

import { createTopicCatalogue } from '@tradepulse/contracts'
import { createIndicatorKeys, indicatorKey } from '@tradepulse/indicators'
import {
  createBatchStages,
  createLogger,
  createMetrics,
  createRedisIndicatorStore,
  type InRecord,
  type OutRecord,
} from '@tradepulse/platform'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createAggregator } from './aggregator-handler.ts'
import { createAggregatorMetrics } from './aggregator-metrics.ts'
import { indicatorOverrides } from './config.ts'
import { useAggregatorTestContext } from './int-test-context.ts'
import {
  applyInOrder,
  compareStores,
  HOUR_MS,
  MIN_MS,
  scoredRecords,
  scoredSeries,
  targetsOf,
} from './scored-fixtures.ts'

const T0 = Date.parse('2026-03-02T00:00:00Z')
const GRACE_MS = 10 * MIN_MS
const silent = createLogger({ level: 'silent' })

/**
 * Two partitions handled together, as the runner hands out one fetch, over a real Redis where the scope
 * key of a region only one headline (POISON, of partition 0) names holds the wrong type: Redis refuses
 * every call applying to that scope (WRONGTYPE) for good. The merged round of both partitions fails on it.
 * Before, every partition in flight was then handled one record at a time, and partition 1's record that
 * shared a round with POISON was dead-lettered with POISON's error; now the round is bisected, POISON
 * alone is refused, everything else is applied in event-time order.
 */
describe('aggregator on Redis: a headline Redis refuses for good in a round merged with other partitions', () => {
  const ctx = useAggregatorTestContext('aggrefused')

  it.each([
    ['handled at once', false],
    ['deferred (catching up)', true],
  ])(
    "dead-letters that record alone, none of the other partition's, and makes no headline late (%s)",
    async (_how, deferring) => {
      const topics = createTopicCatalogue(ctx.prefix)
      const store = createRedisIndicatorStore(ctx.redis, {
        prefix: ctx.keyPrefix,
        config: indicatorOverrides({ AGGREGATOR_GRACE_MS: GRACE_MS }),
      })
      const region = { kind: 'region', id: 'ZZ' } as const
      await ctx.redis.set(createIndicatorKeys(ctx.keyPrefix, 'v1').state('market', region), 'not a hash')
      const registry = new Registry()
      const aggregator = createAggregator({
        topics,
        store,
        log: silent,
        metrics: createAggregatorMetrics(registry),
        graceMs: GRACE_MS,
        publish: { intervalMs: 1_000, largeChange: 0.1, burstFactor: 0, shortLabel: '15m' },
      })
      const handled: number[] = []
      const stages = createBatchStages({
        handler: (records, c) => {
          handled.push(records[0]!.partition)
          return aggregator.handler(records, c)
        },
        worker: 'aggregator',
        dlqTopic: topics.dlq.name,
        log: silent,
        metrics: createMetrics('aggregator', new Registry()),
        signal: new AbortController().signal,
        produce: async () => {},
      })
      const a = scoredSeries(30, { startMs: T0, spanMs: 40 * MIN_MS, seed: 1, idPrefix: 'a' })
      a[12] = { ...a[12]!, id: 'POISON', entities: { ...a[12]!.entities, regions: ['ZZ'] } }
      const b = scoredSeries(30, { startMs: T0, spanMs: 40 * MIN_MS, seed: 2, idPrefix: 'b' })
      const recordsOf = (partition: number, headlines: typeof a): InRecord[] =>
        scoredRecords(topics.scored.name, partition, headlines, T0 + HOUR_MS)
      const deferred = new Map<number, Promise<OutRecord[]>>()
      const deferTo = (partition: number) =>
        deferring
          ? (work: Promise<OutRecord[]>) => {
              work.catch(() => {})
              deferred.set(partition, work)
            }
          : undefined

      let [fromA, fromB] = await Promise.all([
        stages.prepare(recordsOf(0, a), deferTo(0)),
        stages.prepare(recordsOf(1, b), deferTo(1)),
      ])
      if (deferring) {
        await expect(deferred.get(1)).resolves.toBeDefined()
        // The runner reads partition 0 again from its first record, without deferral.
        await expect(deferred.get(0)).rejects.toMatchObject({ code: 'INFRA_REDIS', retriable: false })
        fromA = await stages.prepare(recordsOf(0, a))
      }

      expect(fromB.outcomes.map((o) => o.kind)).toEqual(b.map(() => 'ok'))
      expect(handled.filter((p) => p === 1)).toHaveLength(1) // handled once, whole
      expect(fromA.outcomes.map((o) => o.kind)).toEqual(a.map((h) => (h.id === 'POISON' ? 'dlq' : 'ok')))
      expect(fromA.outcomes[12]).toMatchObject({
        reason: 'handler_error',
        message: expect.stringMatching(/^INFRA_REDIS \(ReplyError\): WRONGTYPE/),
      })
      const metric = async (name: string) =>
        [...(await registry.getSingleMetricAsString(name)).matchAll(/ (\d+)$/gm)].reduce(
          (n, m) => n + Number(m[1]),
          0,
        )
      expect(await metric('tradepulse_indicator_late_total')).toBe(0)
      // Every other headline applied once: the indicators POISON does not touch equal a clean in-order run.
      const healthy = [...a, ...b]
        .filter((h) => h.id !== 'POISON')
        .sort((x, y) => Date.parse(x.publishedAt) - Date.parse(y.publishedAt))
      const ref = createRedisIndicatorStore(ctx.redis, {
        prefix: `${ctx.keyPrefix}ref`,
        config: indicatorOverrides({ AGGREGATOR_GRACE_MS: GRACE_MS }),
      })
      expect(await applyInOrder(ref, healthy, 1)).toMatchObject({ late: 0, duplicates: 0 })
      const poisoned = new Set(targetsOf([a[12]!]).map((t) => indicatorKey(t.dimension, t.scope)))
      const targets = targetsOf(healthy).filter((t) => !poisoned.has(indicatorKey(t.dimension, t.scope)))
      expect(targets.length).toBeGreaterThan(10)
      expect(await compareStores(ref, store, targets, T0 + HOUR_MS)).toEqual([])
    },
  )
})

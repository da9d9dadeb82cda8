// Shared by the rebuild's int tests (rebuild-interrupt, rebuild-rejoin): the topic they replay and the
// options they give rebuildIndicators.
import type { IndicatorStore } from '@tradepulse/indicators'
import { createLogger } from '@tradepulse/platform'
import { createTopics } from '@tradepulse/testing'
import type { AggregatorTestContext } from './int-test-context.ts'
import { HOUR_MS, produceScored, scoredSeries } from './scored-fixtures.ts'

const silent = createLogger({ level: 'silent' })

/** When the replayed headlines start. */
export const T0 = Date.parse('2026-03-02T00:00:00Z')

/**
 * The test's headlines.scored topic, made with three partitions and holding 4,000 headlines published
 * over three hours from T0 (`seed` draws them).
 */
export async function scoredTopic(ctx: AggregatorTestContext, seed: number) {
  const topic = `${ctx.prefix}headlines.scored.v1`
  await createTopics(ctx.kafkaBrokers, [{ name: topic, partitions: 3 }])
  const series = scoredSeries(4_000, { startMs: T0, spanMs: 3 * HOUR_MS, seed })
  await produceScored(ctx.producer, topic, series)
  return { topic, series }
}

/**
 * rebuildIndicators's options for a replay of all of `topic` into `store`, its throwaway group under the
 * test's prefix (`<prefix>aggregator.rebuild.<namespace>`). Small fetches (64 kB a partition) and chunks
 * (200 records): the 4,000 headlines span several fetches, and the replay reports progress between them.
 */
export const replayOptions = (ctx: AggregatorTestContext, topic: string, store: IndicatorStore) => ({
  brokers: ctx.kafkaBrokers,
  topic,
  sinceMs: 0,
  store,
  log: silent,
  graceMs: 600_000,
  groupPrefix: `${ctx.prefix}aggregator`,
  fetchBytesPerPartition: 64 * 1024,
  chunkRecords: 200,
})

import { AggregatorConfig, indicatorStoreOptions } from '@tradepulse/aggregator'
import { IngestConfig } from '@tradepulse/ingest'
import {
  activeIndicatorStore,
  createKeys,
  createRedisIndicatorStore,
  type Logger,
  loadConfig,
  TradepulseError,
} from '@tradepulse/platform'
import type { Redis } from 'ioredis'
import { withRedis } from './infra.ts'

/**
 * Why the sample feed, played on Kafka and Redis under these prefixes, would give no alerts, or undefined
 * when it can be played. It can be played once per prefix: ingest drops the headline ids it took within
 * INGEST_DEDUP_WINDOW_MS, and the aggregator counts a headline late once its indicators' event time (the
 * watermark) is past the headline's by more than the grace, so a second play would wait its minute and
 * say "0 of 216 scored". Read-only: nothing is claimed or written.
 */
export async function sampleReplayProblem(
  redis: Redis,
  feed: { id: string; publishedAt: string }[],
  opts: { dedupPrefix: string; indicators?: ReturnType<typeof indicatorStoreOptions>; graceMs?: number },
): Promise<string | undefined> {
  if (feed.length === 0) return undefined
  const keys = createKeys(opts.dedupPrefix)
  const pipeline = redis.pipeline()
  for (const h of feed) pipeline.exists(keys.dedup(h.id))
  const replies = (await pipeline.exec()) ?? []
  const taken = replies.filter(([err, n]) => !err && n === 1).length
  const reasons: string[] = []
  if (taken > 0)
    reasons.push(
      `ingest took ${taken} of its ${feed.length} headline ids within INGEST_DEDUP_WINDOW_MS and drops them as repeats`,
    )
  if (opts.indicators) {
    const store = await activeIndicatorStore(createRedisIndicatorStore(redis, opts.indicators))
    const watermark = await store.watermark()
    const first = Date.parse(feed[0]!.publishedAt)
    if (watermark !== undefined && watermark - first > (opts.graceMs ?? 0))
      reasons.push(
        `the indicators' event time (${new Date(watermark).toISOString()}) is past the sample's (from ${feed[0]!.publishedAt}), so the aggregator counts its headlines late`,
      )
  }
  return reasons.length ? reasons.join('; and ') : undefined
}

/**
 * Refuses (CONFIG_INVALID, exit 78) to play the sample feed where it was played before (sampleReplayProblem),
 * naming the variables that give a fresh place to play it, before any worker starts.
 */
export async function checkSamplePlayable(
  env: Record<string, string | undefined>,
  names: string[],
  feed: { id: string; publishedAt: string }[],
  log: Logger,
): Promise<void> {
  const ingest = loadConfig(IngestConfig, env)
  const aggregator = names.includes('aggregator') ? loadConfig(AggregatorConfig, env) : undefined
  const problem = await withRedis(ingest, 'tradepulse-start-check', log, (redis) =>
    sampleReplayProblem(redis, feed, {
      dedupPrefix: ingest.REDIS_KEY_PREFIX,
      ...(aggregator
        ? { indicators: indicatorStoreOptions(aggregator), graceMs: aggregator.AGGREGATOR_GRACE_MS }
        : {}),
    }),
  )
  if (problem)
    throw new TradepulseError(
      'CONFIG_INVALID',
      `the sample feed was played before under TRADEPULSE_TOPIC_PREFIX=${ingest.TRADEPULSE_TOPIC_PREFIX} and REDIS_KEY_PREFIX=${ingest.REDIS_KEY_PREFIX}: ${problem}. It would give no alerts: set another TRADEPULSE_TOPIC_PREFIX and REDIS_KEY_PREFIX to play it again, or pass --no-sample`,
    )
}

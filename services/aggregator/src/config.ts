import {
  aggregatorGraceMs,
  aggregatorMaxAheadMs,
  baseConfigShape,
  count,
  decimal,
  durationMs,
  indicatorNamespace,
  maxRefAheadMsOf,
  ownDefault,
  timerMs,
  topicsAutoCreate,
} from '@tradepulse/platform'
import { z } from 'zod'

/** The default of AGGREGATOR_MAX_AHEAD_MS, and of the handler's and the rebuild's maxAheadMs. */
export { DEFAULT_MAX_AHEAD_MS } from '@tradepulse/platform'
/** The default of AGGREGATOR_PUBLISH_FAILING_MS, and of the handler's publishFailingMs. */
export const DEFAULT_PUBLISH_FAILING_MS = 30_000

export const aggregatorConfigShape = {
  ...baseConfigShape,
  // Larger units than the other workers: the store combines a batch per scope (all its indicator
  // keys), so Redis work grows with the number of keys a batch touches, not with its headlines; the
  // handler applies a large batch in parts (AGGREGATOR_PART_SIZE), parsing one while Redis applies the
  // one before.
  KAFKA_MAX_BATCH: ownDefault('KAFKA_MAX_BATCH', 100_000, 'most records handled and produced as one unit'),
  // 8 MB: a backlog fetch brings about 10,000 headlines per partition, and the six partitions of the
  // default topic fit in one fetch response together (the broker caps a response at its
  // fetch.max.bytes, 55 MB by default). That matters while catching up: the runner keeps partitions
  // within half a grace of each other in event time (BatchRunnerConfig.align), and partitions fetched
  // together may each take up to the others' reach, merged in event-time order; partitions fetched
  // apart can only take turns, half a grace at a time. `pnpm bench indicators` (150,000 headlines over
  // ten days, session 18): 3 partitions at 48 MB without alignment 16,150 headlines/s with 413,261
  // contributions late (most of the backlog), at 8 MB with it 20,370/s and none late; 6 partitions at 8 MB
  // 17,500/s and none late (41,700/s and 7,488 late without). One partition gave 34,700–50,100/s at
  // 48 MB and 26,200/s at 8 MB (the machine's speed moved by a third within minutes).
  KAFKA_MAX_BYTES_PER_PARTITION: ownDefault(
    'KAFKA_MAX_BYTES_PER_PARTITION',
    8_388_608,
    'fetch size per partition (a scored headline is about 1 KB; all partitions should fit in one broker fetch response, 55 MB by default, or catching up in event time is slow: the runner warns)',
  ),
  // Off the headline alerts' path (they come from headlines.scored directly), so the aggregator lets a
  // live stream gather for up to 250 ms (the other workers fetch at the first record): a batch then combines a quarter
  // second of headlines per scope before Redis. At 1,000 headlines/s that halved the aggregator's and
  // Redis's CPU in `pnpm bench pipeline`, CPU the headline path then has to spare. The price is on the
  // indicator rules' alerts (levels, momentum, buzz, uncertainty from indicators): up to 250 ms later
  // (the bench's stand-in for their latency, p50, went from about 230 to 360 ms), against windows of
  // 15 minutes and more. A backlog is not slowed: a fetch returns as soon as KAFKA_FETCH_MIN_BYTES wait.
  KAFKA_FETCH_MAX_WAIT_MS: ownDefault(
    'KAFKA_FETCH_MAX_WAIT_MS',
    250,
    'longest a fetch waits for KAFKA_FETCH_MIN_BYTES of data (batches a live stream for Redis)',
  ),
  KAFKA_FETCH_MIN_BYTES: ownDefault(
    'KAFKA_FETCH_MIN_BYTES',
    1_048_576,
    'a fetch returns once this much data is there, else after KAFKA_FETCH_MAX_WAIT_MS',
  ),
  // All of a worker's partitions at once: the event-time merger holds a partition that runs ahead until
  // the others catch up, and a partition without a slot could only release it by going idle.
  KAFKA_PARTITIONS_CONCURRENCY: ownDefault(
    'KAFKA_PARTITIONS_CONCURRENCY',
    6,
    'partitions handled at once (set it to the partitions one worker is assigned)',
  ),
  // The gateway reads it too (aggregatorGraceMs): the bound on a stored newest event is made of it.
  AGGREGATOR_GRACE_MS: aggregatorGraceMs(),
  AGGREGATOR_PART_SIZE: count(2_000).describe(
    'records of a batch parsed and applied as one part; the next part is parsed while Redis applies it',
  ),
  AGGREGATOR_PUBLISH_INTERVAL_MS: timerMs()
    .default(1_000)
    .describe('at most one update per indicator key on the indicators topic in this time (0: every batch)'),
  AGGREGATOR_PUBLISH_LARGE_CHANGE: decimal(
    z
      .number()
      // 0 made every change large (any shift is at least 0): each batch published, the interval no throttle
      // at all, where 0 turns AGGREGATOR_PUBLISH_BURST_FACTOR off. Publishing every batch is
      // AGGREGATOR_PUBLISH_INTERVAL_MS=0; 0 here is refused.
      .gt(0, {
        message:
          'above 0 and at most 2 (0 counted every change as large: AGGREGATOR_PUBLISH_INTERVAL_MS=0 publishes every batch; 2 turns this off)',
      })
      // Means are in [-1, 1] and the estimate stays short of 2 (publish-throttle.ts), so 2 turns it off; a
      // larger value did the same silently, and is refused.
      .max(2, { message: 'at most 2 (2: off): means are in [-1, 1], so no shift is larger' }),
  )
    .default(0.2)
    .describe(
      'estimated shift of the short decayed mean (sentiment units) that publishes at once, whatever the interval; above 0 and at most 2, which turns it off (means are in [-1, 1]; to publish every batch set AGGREGATOR_PUBLISH_INTERVAL_MS=0)',
    ),
  AGGREGATOR_PUBLISH_BURST_FACTOR: decimal(z.number().min(0))
    .default(1)
    .describe(
      "headlines since the last update, as a multiple of the short window's volume (at least 10), that publish at once (0: off)",
    ),
  AGGREGATOR_PUBLISH_RECOVER_MS: timerMs(1_000)
    .default(10_000)
    .describe(
      'an update the interval held back, applied and committed but still unpublished this long after (its member was killed, or cannot reach Kafka), is published by any member; at least three intervals are used',
    ),
  // A send fails only after the producer's own retries (seconds), and a leader moving takes seconds:
  // half a minute of nothing acknowledged is a fault to show, not a blip.
  AGGREGATOR_PUBLISH_FAILING_MS: durationMs(0)
    .default(DEFAULT_PUBLISH_FAILING_MS)
    .describe(
      "indicator updates unpublished this long for a Kafka fault (every send failing since, after the producer's retries, or one under way that long) make the health check indicatorPublish degraded and the worker not ready, until a send is acknowledged; the updates are held back and sent again meanwhile (0: at the first failure)",
    ),
  // The gateway reads it too (aggregatorMaxAheadMs), as AGGREGATOR_GRACE_MS.
  AGGREGATOR_MAX_AHEAD_MS: aggregatorMaxAheadMs(),
  AGGREGATOR_MAX_SCOPES_PER_KIND: count(1_000).describe(
    'most scope ids per kind (region, commodity…); rarer ones fold into "other"',
  ),
  AGGREGATOR_MAX_CONTRIBUTIONS_PER_CALL: count(10_000).describe(
    'most contributions one Redis script call applies (a larger scope in several): bounds how long a catch-up holds Redis for its other clients',
  ),
  AGGREGATOR_REDIS_NAMESPACE: indicatorNamespace(),
  TOPICS_AUTO_CREATE: topicsAutoCreate(),
}
export const AggregatorConfig = z.object(aggregatorConfigShape)
export type AggregatorConfig = z.infer<typeof AggregatorConfig>
export const AGGREGATOR_HTTP_PORT = 9403

const HOUR_MS = 3_600_000

/** The indicator config the worker, the rebuild and the CLI share, so all three read and write alike. */
export function indicatorOverrides(config: Pick<AggregatorConfig, 'AGGREGATOR_GRACE_MS'>) {
  // Ids must be remembered at least as long as the grace, or a redelivery could apply twice.
  return {
    graceMs: config.AGGREGATOR_GRACE_MS,
    dedupRetentionMs: Math.max(HOUR_MS, config.AGGREGATOR_GRACE_MS),
  }
}

/**
 * The event-time settings the worker and the rebuild share (the grace and the watermark's bound past
 * the wall clock), so a rebuild applies and dates the same headlines as the live worker does: without
 * the bound, a rebuild's namespace got the default 30 s whatever AGGREGATOR_MAX_AHEAD_MS said.
 */
export function eventTimeOptions(
  config: Pick<AggregatorConfig, 'AGGREGATOR_GRACE_MS' | 'AGGREGATOR_MAX_AHEAD_MS'>,
) {
  return { graceMs: config.AGGREGATOR_GRACE_MS, maxAheadMs: config.AGGREGATOR_MAX_AHEAD_MS }
}

/**
 * How the worker, the rebuild and the CLI open the indicator store, so all three read and write alike.
 * No headline is applied further past its member's clock than AGGREGATOR_MAX_AHEAD_MS (placeEventTime),
 * so an indicator's newest event further past the clock than that plus AGGREGATOR_GRACE_MS (the bound
 * past which a headline is dead-lettered as event_time_ahead, which also leaves the members' clocks a
 * grace to disagree by) was written by no apply: the store resets it (maxRefAheadMs) rather than take
 * every later headline as late against it until the key expires, and its reads leave the indicator out
 * until then. The gateway opens its store with the same bound (maxRefAheadMsOf).
 */
export function indicatorStoreOptions(config: AggregatorConfig) {
  return {
    prefix: config.REDIS_KEY_PREFIX,
    namespace: config.AGGREGATOR_REDIS_NAMESPACE,
    maxScopesPerKind: config.AGGREGATOR_MAX_SCOPES_PER_KIND,
    maxPerCall: config.AGGREGATOR_MAX_CONTRIBUTIONS_PER_CALL,
    maxRefAheadMs: maxRefAheadMsOf(config),
    config: indicatorOverrides(config),
  }
}

/** Bytes in a mebibyte, as NODE_OPTIONS=--max-old-space-size counts them. */
const MIB = 1_048_576
/**
 * Heap a catch-up takes at its peak per byte a fetch brings (KAFKA_MAX_BYTES_PER_PARTITION ×
 * KAFKA_PARTITIONS_CONCURRENCY): the records as kafkajs hands them, their parsed headlines and
 * contributions, and what the collector has not yet freed. Measured (bench/src/_bp-agg.ts: 300,000
 * scored headlines of about 580 bytes on 6 partitions, the defaults): about 160,000 records held, the
 * batch being applied and the next fetch, at a peak heap of 785 MB, 2 × 48 MiB × 8 and the worker's own
 * (a larger headline costs less heap per byte).
 */
export const HEAP_BYTES_PER_FETCHED_BYTE = 8
/** What the worker holds besides a catch-up's records: code, clients, the throttle's keys (about 60 MB measured idle). */
export const HEAP_BASE_BYTES = 64 * MIB
/**
 * The share of the heap limit a catch-up may take: the collector needs the rest to keep up. At 0.94 of
 * it (KAFKA_MAX_BYTES_PER_PARTITION=6989824 in a 704 MB heap_size_limit, --max-old-space-size=512) the
 * same backlog was caught up, but in 68 s against 36 s, the heap pinned at its limit and /healthz
 * answering in up to 9.6 s; at 0.68 (the defaults, --max-old-space-size=1024) in 34 s.
 */
export const HEAP_SAFE_SHARE = 0.7

/**
 * The heap a catch-up of a backlog may need at these settings: two fetches held (the runner fetches and
 * parses the next while the last part of one is applied) at HEAP_BYTES_PER_FETCHED_BYTE, and the base.
 * A fetch is KAFKA_MAX_BYTES_PER_PARTITION for each partition handled at once (the runner asks for that
 * much, KAFKA_PARTITIONS_CONCURRENCY of them; more partitions assigned than that take turns).
 */
export function catchUpHeapBytes(
  config: Pick<AggregatorConfig, 'KAFKA_MAX_BYTES_PER_PARTITION' | 'KAFKA_PARTITIONS_CONCURRENCY'>,
): number {
  const fetchBytes = config.KAFKA_MAX_BYTES_PER_PARTITION * config.KAFKA_PARTITIONS_CONCURRENCY
  return HEAP_BASE_BYTES + 2 * fetchBytes * HEAP_BYTES_PER_FETCHED_BYTE
}

/**
 * A warning for the start when catching up a backlog at these fetch settings could take more than its
 * safe share (HEAP_SAFE_SHARE) of the heap the process may have (`heapLimitBytes`: v8.getHeapStatistics().heap_size_limit): the worker would die
 * of heap exhaustion part way through its first fetches, before it commits anything, and its restart
 * meets the same backlog, so indicators stop for good. Undefined when it fits. Naming both ways out: a
 * larger heap (NODE_OPTIONS=--max-old-space-size) or a smaller fetch (KAFKA_MAX_BYTES_PER_PARTITION).
 */
export function heapWarning(
  config: Pick<AggregatorConfig, 'KAFKA_MAX_BYTES_PER_PARTITION' | 'KAFKA_PARTITIONS_CONCURRENCY'>,
  heapLimitBytes: number,
): { msg: string; fields: Record<string, number> } | undefined {
  const needed = catchUpHeapBytes(config)
  const safe = heapLimitBytes * HEAP_SAFE_SHARE
  if (needed <= safe) return undefined
  const partitions = config.KAFKA_PARTITIONS_CONCURRENCY
  const perByte = 2 * partitions * HEAP_BYTES_PER_FETCHED_BYTE
  // The largest fetch share per partition that fits, in whole KiB (none when the base alone does not).
  const fits = Math.floor(Math.max(0, safe - HEAP_BASE_BYTES) / perByte / 1024) * 1024
  // A heap of which the catch-up takes its safe share, in steps of 64 MB.
  const heapMib = Math.ceil(needed / HEAP_SAFE_SHARE / MIB / 64) * 64
  return {
    fields: {
      maxBytesPerPartition: config.KAFKA_MAX_BYTES_PER_PARTITION,
      partitions,
      heapLimitMib: Math.floor(heapLimitBytes / MIB),
      neededMib: Math.ceil(needed / MIB),
    },
    msg: `catching up a backlog at KAFKA_MAX_BYTES_PER_PARTITION=${config.KAFKA_MAX_BYTES_PER_PARTITION} on up to ${partitions} partitions (KAFKA_PARTITIONS_CONCURRENCY) may take about ${Math.ceil(needed / MIB)} MB of heap, over ${HEAP_SAFE_SHARE * 100}% of this process's heap limit of ${Math.floor(heapLimitBytes / MIB)} MB (v8 heap_size_limit): it may die of heap exhaustion before committing, and again at every restart, or crawl collecting garbage; raise the heap (NODE_OPTIONS=--max-old-space-size=${heapMib}) or lower the fetch size (${fits > 0 ? `KAFKA_MAX_BYTES_PER_PARTITION=${fits} or less` : 'KAFKA_MAX_BYTES_PER_PARTITION: even 1 KiB does not fit, raise the heap'})`,
  }
}

import { LIMITS, normalizeText, showsNothing } from '@tradepulse/contracts'
import { baseConfigShape, decimal, durationMs, ownDefault, topicsAutoCreate } from '@tradepulse/platform'
import { z } from 'zod'

export const ingestConfigShape = {
  ...baseConfigShape,
  INGEST_DEDUP_WINDOW_MS: durationMs(1_000)
    .default(24 * 3_600_000)
    .describe('a repeat of a headline id within this window is dropped'),
  INGEST_MAX_RECORD_BYTES: decimal(z.number().int().min(1_024).max(1_048_576))
    .default(LIMITS.maxRecordBytes)
    .describe('larger raw records go to the dlq'),
  INGEST_MAX_FUTURE_MS: durationMs()
    .default(300_000)
    .describe(
      "a publishedAt later than the entry time by more than this is replaced by the entry time (a feed clock or time zone gone wrong would make every other headline late); the raw record's Kafka timestamp is the entry time only when no further than this ahead of the wall clock (and from 2000 on), else the wall clock is",
    ),
  // Normalised as a headline's own source is (NFKC, invisible characters removed, white space runs one
  // space), so it is what every headline naming none carries; one that shows nothing ("\u200b", a Hangul
  // filler) would give each of them a source no reader can see.
  INGEST_DEFAULT_SOURCE: z
    .string()
    .transform((v) => normalizeText(v))
    .pipe(
      z
        .string()
        .max(LIMITS.maxSourceChars, `at most ${LIMITS.maxSourceChars} characters after normalisation`)
        .refine((v) => !showsNothing(v), {
          message: 'shows nothing after normalisation (white space or invisible characters only)',
        }),
    )
    .default('unknown')
    .describe('source of raw headlines that name none (normalised as their text is)'),
  // All of its raw partitions at once, as the scorer and aggregator: its event-time alignment holds a
  // partition that runs ahead until the others catch up, and with fewer slots than partitions they take turns.
  KAFKA_PARTITIONS_CONCURRENCY: ownDefault(
    'KAFKA_PARTITIONS_CONCURRENCY',
    6,
    'partitions handled at once (set it to the partitions one worker is assigned)',
  ),
  INGEST_ALIGN_AHEAD_MS: durationMs(1_000)
    .default(60_000)
    .describe(
      "while catching up a backlog (after an outage or a crash), the raw partitions stay within this much event time of each other (a record's publishedAt when ingest keeps it, else its entry time): ingest writes every raw partition to every headlines partition, so one raw partition caught up ahead of another would put headlines hours ahead before older ones, which no later worker can reorder and the aggregator would count late (keep it well under AGGREGATOR_GRACE_MS); live traffic is never held",
    ),
  TOPICS_AUTO_CREATE: topicsAutoCreate(),
}
export const IngestConfig = z.object(ingestConfigShape)
export type IngestConfig = z.infer<typeof IngestConfig>
export const INGEST_HTTP_PORT = 9401

import { LIMITS } from '@tradepulse/contracts'
import { baseConfigShape, topicsAutoCreate } from '@tradepulse/platform'
import { z } from 'zod'

export const ingestConfigShape = {
  ...baseConfigShape,
  INGEST_DEDUP_WINDOW_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(24 * 3_600_000)
    .describe('a repeat of a headline id within this window is dropped'),
  INGEST_MAX_RECORD_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .max(1_048_576)
    .default(LIMITS.maxRecordBytes)
    .describe('larger raw records go to the dlq'),
  INGEST_MAX_FUTURE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(300_000)
    .describe(
      "a publishedAt later than the entry time by more than this is replaced by the entry time (a feed clock or time zone gone wrong would make every other headline late); the raw record's Kafka timestamp is the entry time only when no further than this ahead of the wall clock (and from 2000 on), else the wall clock is",
    ),
  INGEST_DEFAULT_SOURCE: z
    .string()
    .min(1)
    .max(LIMITS.maxSourceChars)
    .default('unknown')
    .describe('source of raw headlines that name none'),
  TOPICS_AUTO_CREATE: topicsAutoCreate(),
}
export const IngestConfig = z.object(ingestConfigShape)
export type IngestConfig = z.infer<typeof IngestConfig>
export const INGEST_HTTP_PORT = 9401

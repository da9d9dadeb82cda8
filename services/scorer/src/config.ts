import { baseConfigShape, durationMs, ownDefault, topicsAutoCreate } from '@tradepulse/platform'
import { z } from 'zod'

export const scorerConfigShape = {
  ...baseConfigShape,
  SCORER_WATCHLIST_FILE: z
    .string()
    .min(1)
    .optional()
    .describe('JSON watchlist of companies and instruments to recognise'),
  // All of its partitions at once, as the aggregator: its event-time alignment holds a partition that runs
  // ahead until the others catch up, and with fewer slots than partitions they take turns.
  KAFKA_PARTITIONS_CONCURRENCY: ownDefault(
    'KAFKA_PARTITIONS_CONCURRENCY',
    6,
    'partitions handled at once (set it to the partitions one worker is assigned)',
  ),
  SCORER_ALIGN_AHEAD_MS: durationMs(1_000)
    .default(60_000)
    .describe(
      "while catching up a backlog (after an outage or a crash), the input partitions stay within this much event time of each other, so the scored output does not run ahead on some partitions and make the aggregator count the others' headlines late (keep it well under AGGREGATOR_GRACE_MS); live traffic is never held",
    ),
  TOPICS_AUTO_CREATE: topicsAutoCreate(),
}
export const ScorerConfig = z.object(scorerConfigShape)
export type ScorerConfig = z.infer<typeof ScorerConfig>
export const SCORER_HTTP_PORT = 9402

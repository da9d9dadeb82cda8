import { baseConfigShape } from '@tradepulse/platform'
import { z } from 'zod'

export const scorerConfigShape = {
  ...baseConfigShape,
  SCORER_WATCHLIST_FILE: z
    .string()
    .min(1)
    .optional()
    .describe('JSON watchlist of companies and instruments to recognise'),
  TOPICS_AUTO_CREATE: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true')
    .describe('create missing topics at start (one-machine convenience)'),
}
export const ScorerConfig = z.object(scorerConfigShape)
export type ScorerConfig = z.infer<typeof ScorerConfig>
export const SCORER_HTTP_PORT = 9402

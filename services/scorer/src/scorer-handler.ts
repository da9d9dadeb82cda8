import { HeadlineReader, type TopicCatalogue } from '@tradepulse/contracts'
import { type BatchHandler, type Outcome, parseJsonRecord, traceHeaders } from '@tradepulse/platform'
import type { Scorer } from '@tradepulse/scoring'
import { scoreHeadline } from './score-headline.ts'

/** headlines → headlines.scored, keyed by headline id. No state: the scorer is pure and CPU-bound. */
export function createScorerHandler(deps: {
  topics: TopicCatalogue
  scorer: Scorer
  now?: () => Date
}): BatchHandler {
  const out = deps.topics.scored.name
  const now = deps.now ?? (() => new Date())
  return async (records) =>
    records.map((r): Outcome => {
      const parsed = parseJsonRecord(HeadlineReader, r.value)
      if (!parsed.ok) return { kind: 'dlq', reason: parsed.reason, message: parsed.message }
      const scored = scoreHeadline(deps.scorer, parsed.value, now())
      // Only a valid trace context is carried on: an unchecked header of any size would be copied.
      const headers = traceHeaders(r.headers)
      return {
        kind: 'ok',
        out: [
          {
            topic: out,
            key: scored.id,
            value: JSON.stringify(scored),
            ...(headers ? { headers } : {}),
          },
        ],
      }
    })
}

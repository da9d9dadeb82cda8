import { HeadlineReader, scoredHeadlineProblem, type TopicCatalogue } from '@tradepulse/contracts'
import { type BatchHandler, type Outcome, parseJsonRecord, traceHeaders } from '@tradepulse/platform'
import type { Scorer } from '@tradepulse/scoring'
import { scoreHeadline } from './score-headline.ts'

/**
 * headlines → headlines.scored, keyed by headline id. No state: the scorer is pure and CPU-bound. What it
 * writes is held to the strict ScoredHeadline contract first: a result that breaks it (a scorer bug: a NaN
 * or out-of-range score, a label not in its enum, a span outside the text) sends the headline to the dlq
 * as `output_invalid`, naming the field, rather than have every consumer dead-letter the record or, worse,
 * take a wrong number for a reading. The rest of the batch goes on.
 *
 * Its records carry no timestamp of their own: headlines.scored is a LogAppendTime topic (the catalogue),
 * so each is stamped by the broker as it is appended, and the aggregators' bound on a headline's time does
 * not rest on this host's clock (scoredAt, informative only, does).
 */
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
      const problem = scoredHeadlineProblem(scored)
      if (problem) {
        const version =
          typeof scored.scorerVersion === 'string' ? ` ${scored.scorerVersion.slice(0, 100)}` : ''
        return {
          kind: 'dlq',
          reason: 'output_invalid',
          message: `${problem} (the scorer${version} gave a result that breaks the ScoredHeadline contract; nothing was written for this headline)`,
          id: parsed.value.id,
        }
      }
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

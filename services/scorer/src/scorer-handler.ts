import { Headline, type TopicCatalogue } from '@tradepulse/contracts'
import type { BatchHandler, Outcome } from '@tradepulse/platform'
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
      let json: unknown
      try {
        json = JSON.parse(r.value?.toString('utf8') ?? '')
      } catch (err) {
        return { kind: 'dlq', reason: 'invalid_json', message: (err as Error).message }
      }
      const parsed = Headline.safeParse(json)
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        return { kind: 'dlq', reason: 'schema_invalid', message: issues.join('; ') }
      }
      const scored = scoreHeadline(deps.scorer, parsed.data, now())
      return {
        kind: 'ok',
        out: [
          {
            topic: out,
            key: scored.id,
            value: JSON.stringify(scored),
            ...(r.headers.traceparent ? { headers: { traceparent: r.headers.traceparent } } : {}),
          },
        ],
      }
    })
}

import { acceptsAs } from './accepts-as.ts'
import { formatIssues } from './format-issues.ts'
import { ScoredHeadline, type Span } from './schemas.ts'

const scoredHeadlineAccepts = acceptsAs(ScoredHeadline)

/** What is wrong with a span of `s` at `path`, which the contract takes as ints from 0, or undefined. */
function spanProblem(s: ScoredHeadline, span: Span, path: string): string | undefined {
  const text = span.field === 'headline' ? s.headline : s.body
  if (text === undefined) return `${path}.field: body, and the headline has none`
  if (span.start > span.end) return `${path}: start ${span.start} is after end ${span.end}`
  if (span.end > text.length)
    return `${path}.end: ${span.end} is past the end of the ${span.field} (${text.length} characters)`
  return undefined
}

/**
 * What is wrong with a scored headline about to be written or shown, naming the field
 * (`scores.tariff.score: Too big: expected number to be <=1`), or undefined when nothing is. Every field is
 * checked against the strict ScoredHeadline contract (a NaN or a score out of range, a label not in its
 * enum, a field missing or unknown), and every span of `events` and `explanation` against the text it
 * points into, which the contract cannot express: `[start, end)` within the headline or the body. Checked
 * by acceptsAs, a seventh of zod's safeParse's time (services/scorer/src/validation-cost.ts); zod then
 * names the fields of a headline it refuses. Typed as a ScoredHeadline, but any value may be given: what
 * a faulty scorer returned is exactly what it is for.
 */
export function scoredHeadlineProblem(s: ScoredHeadline): string | undefined {
  if (!scoredHeadlineAccepts(s)) {
    const parsed = ScoredHeadline.safeParse(s)
    if (!parsed.success) return formatIssues(parsed.error)
  }
  for (let i = 0; i < s.events.length; i++) {
    const problem = spanProblem(s, s.events[i]!.span, `events.${i}.span`)
    if (problem) return problem
  }
  for (let i = 0; i < s.explanation.length; i++) {
    const problem = spanProblem(s, s.explanation[i]!.span, `explanation.${i}.span`)
    if (problem) return problem
  }
  return undefined
}

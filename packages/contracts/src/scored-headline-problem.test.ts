import { describe, expect, it } from 'vitest'
import type { ScoredHeadline } from './schemas.ts'
import { scoredHeadlineProblem } from './scored-headline-problem.ts'
import { SCORED } from './test-fixtures.ts'

describe('scoredHeadlineProblem', () => {
  it('finds nothing wrong with what the scorer writes, spans into a body and text cut to its limit included', () => {
    expect(SCORED.some((s) => s.explanation.some((c) => c.span.field === 'body'))).toBe(true)
    expect(SCORED.some((s) => s.truncated)).toBe(true)
    for (const s of SCORED) expect(scoredHeadlineProblem(s), s.headline).toBeUndefined()
  })

  const [scored] = SCORED
  const withSpan = (span: { field: 'headline' | 'body'; start: number; end: number }) => ({
    ...scored!,
    explanation: [scored!.explanation[0]!, { ...scored!.explanation[0]!, span }],
  })
  const length = scored!.headline.length

  it.each([
    [
      'past the end of the text',
      { field: 'headline', start: 3, end: length + 1 },
      `explanation.1.span.end: ${length + 1} is past the end of the headline (${length} characters)`,
    ],
    ['reversed', { field: 'headline', start: 9, end: 4 }, 'explanation.1.span: start 9 is after end 4'],
    [
      'in a body the headline has not',
      { field: 'body', start: 0, end: 1 },
      'explanation.1.span.field: body, and the headline has none',
    ],
  ] as const)('names a span %s', (_, span, problem) => {
    expect(scoredHeadlineProblem(withSpan(span))).toBe(problem)
  })

  it('takes a span that ends at the end of the text, or is empty', () => {
    expect(scoredHeadlineProblem(withSpan({ field: 'headline', start: 0, end: length }))).toBeUndefined()
    expect(scoredHeadlineProblem(withSpan({ field: 'headline', start: length, end: length }))).toBeUndefined()
  })

  it("names a field the contract refuses with zod's words", () => {
    const s = { ...scored!, scores: { ...scored!.scores, uncertainty: Number.NaN } }
    expect(scoredHeadlineProblem(s)).toBe('scores.uncertainty: Invalid input: expected number, received NaN')
  })

  it('names what is missing or of the wrong kind before it reads the spans, rather than throw on it', () => {
    const noEvents = { ...scored!, events: undefined } as unknown as ScoredHeadline
    expect(scoredHeadlineProblem(noEvents)).toBe('events: Invalid input: expected array, received undefined')
    const badSpan = { ...scored!, explanation: [{ ...scored!.explanation[0]!, span: null }] }
    expect(scoredHeadlineProblem(badSpan as unknown as ScoredHeadline)).toBe(
      'explanation.0.span: Invalid input: expected object, received null',
    )
  })
})

import { type Headline, scoredHeadlineProblem } from '@tradepulse/contracts'
import { createScorer } from '@tradepulse/scoring'
import { describe, expect, it } from 'vitest'
import { scoreHeadline } from './score-headline.ts'

const AT = '2026-03-02T08:00:00.000Z'
const headline = (id: string, text: string, body?: string): Headline => ({
  id,
  source: 't',
  headline: text,
  ...(body === undefined ? {} : { body }),
  publishedAt: AT,
  ingestedAt: AT,
  truncated: false,
})
const TEXTS: [string, string?][] = [
  ['US raises tariffs on Chinese steel to 25% from 10%'],
  ['US and China agree to suspend tariffs for 90 days'],
  [
    'China halts exports of rare earths to US automakers',
    'Beijing said the curbs would stay until talks resume. Shipments of gallium were also suspended.',
  ],
  [
    'Chipmaker warns of shortage',
    'Factories in Taiwan cut capacity after the drought; the EU threatens duties.',
  ],
  ['Local bakery wins regional bread award', ''],
]

describe('scoreHeadline', () => {
  // The check itself, and how it names what it refuses, is tested in packages/contracts.
  it('writes what the contract and its span rule accept, spans into a body and text cut to the limit included', () => {
    const all = [createScorer(), createScorer({ maxChars: 40 })].flatMap((scorer) =>
      TEXTS.map(([text, body], i) => scoreHeadline(scorer, headline(`h${i}`, text, body), new Date(AT))),
    )
    expect(all.some((s) => s.explanation.some((c) => c.span.field === 'body'))).toBe(true)
    expect(all.some((s) => s.truncated)).toBe(true)
    for (const s of all) expect(scoredHeadlineProblem(s), s.headline).toBeUndefined()
  })
})

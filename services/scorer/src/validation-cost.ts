// What checking a scored headline against its contract costs the scorer, per headline:
// `node services/scorer/src/validation-cost.ts [headlines.csv]`. The headlines are the Reuters stream beside
// the project (../shared/data/streams/reuters_2018_2020.csv, a date and a headline a line) when present,
// else a few synthetic ones; each is also measured with a body (the next three headlines). Printed, never
// asserted (timings on a shared machine vary by ±10 % and more).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  type Headline,
  normalizeText,
  type ScoredHeadline,
  ScoredHeadline as ScoredHeadlineSchema,
  scoredHeadlineProblem,
  TEXT_RULES,
} from '@tradepulse/contracts'
import { createScorer } from '@tradepulse/scoring'
import { scoreHeadline } from './score-headline.ts'

const PASSES = 9
const CHUNK = 32
const file =
  process.argv[2] ?? join(import.meta.dirname, '../../../../shared/data/streams/reuters_2018_2020.csv')

function headlineTexts(): { texts: string[]; source: string } {
  if (!existsSync(file)) {
    const texts = Array.from({ length: 5_000 }, (_, i) => {
      const verb = ['raises tariffs on', 'halts exports of', 'resumes shipments of', 'weighs curbs on'][i % 4]
      return `${['US', 'China', 'EU', 'Japan'][(i >> 2) % 4]} ${verb} ${['steel', 'rare earths', 'chips'][i % 3]} (${i})`
    })
    return { texts, source: 'synthetic (no stream at the path given)' }
  }
  // The streams end their lines with CRLF. Each headline is normalised as ingest writes it to headlines
  // (the Headline contract refuses a carriage return, or a headline with no letter or digit).
  const texts = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .slice(1)
    .map((line) => {
      const text = line.slice(line.indexOf(',') + 1)
      return normalizeText(text.startsWith('"') ? text.slice(1, -1).replaceAll('""', '"') : text)
    })
    .filter((t) => t.length <= 1_000 && TEXT_RULES.readable.pattern.test(t))
  return { texts, source: file }
}

const { texts, source } = headlineTexts()
const scorer = createScorer()
const AT = '2026-03-02T08:00:00.000Z'
const headlines = (withBody: boolean): Headline[] =>
  texts.map((text, i) => ({
    id: `h${i}`,
    source: 'bench',
    headline: text,
    ...(withBody ? { body: texts.slice(i + 1, i + 4).join(' ') } : {}),
    publishedAt: AT,
    ingestedAt: AT,
    truncated: false,
  }))

/**
 * The median over PASSES of each step's ns per headline. Each chunk of CHUNK headlines is scored, and its
 * scored headlines (in the cache, as in the worker, which checks one it has just made) are then checked,
 * by the scorer and by zod, and written as JSON, in an order that turns from pass to pass. Over all the
 * headlines at once, each step would mostly wait for memory.
 */
function measure(input: Headline[]): Record<string, number> {
  const all = input.map((h) => scoreHeadline(scorer, h, new Date(AT)))
  const problems = all.map(scoredHeadlineProblem).filter((p) => p !== undefined)
  if (problems.length > 0) throw new Error(`the scorer's own output refused: ${problems[0]}`)
  let sink = 0
  const SCORE = 'score (scoreHeadline)'
  const steps: [string, (s: ScoredHeadline) => void][] = [
    [
      'check (scoredHeadlineProblem)',
      (s) => {
        if (scoredHeadlineProblem(s)) sink++
      },
    ],
    [
      'zod ScoredHeadline.safeParse',
      (s) => {
        if (ScoredHeadlineSchema.safeParse(s).success) sink++
      },
    ],
    [
      'JSON.stringify',
      (s) => {
        sink += JSON.stringify(s).length
      },
    ],
  ]
  const times: Record<string, number[]> = {}
  for (let pass = -1; pass < PASSES; pass++) {
    const ns: Record<string, number> = Object.fromEntries(
      [SCORE, ...steps.map(([n]) => n)].map((n) => [n, 0]),
    )
    for (let from = 0; from < input.length; from += CHUNK) {
      const chunk = input.slice(from, from + CHUNK)
      let t0 = process.hrtime.bigint()
      const scored = chunk.map((h) => scoreHeadline(scorer, h, new Date(AT)))
      ns[SCORE]! += Number(process.hrtime.bigint() - t0)
      for (let k = 0; k < steps.length; k++) {
        const [name, step] = steps[(k + pass + 1) % steps.length]!
        t0 = process.hrtime.bigint()
        for (const s of scored) step(s)
        ns[name]! += Number(process.hrtime.bigint() - t0)
      }
    }
    // Pass -1 warms up.
    if (pass < 0) continue
    for (const [name, total] of Object.entries(ns)) {
      times[name] ??= []
      times[name].push(total / input.length)
    }
  }
  if (sink < 0) process.stdout.write('')
  return Object.fromEntries(
    Object.entries(times).map(([name, t]) => [name, t.sort((a, b) => a - b)[t.length >> 1]!]),
  )
}

process.stdout.write(
  `${texts.length} headlines from ${source}; median of ${PASSES} passes, ns per headline\n`,
)
for (const withBody of [false, true]) {
  const m = measure(headlines(withBody))
  const score = m['score (scoreHeadline)']!
  process.stdout.write(withBody ? 'headline and a body (the next three headlines):\n' : 'headline alone:\n')
  for (const [name, ns] of Object.entries(m))
    process.stdout.write(
      `  ${name.padEnd(32)} ${ns.toFixed(0).padStart(7)} ns  (${((100 * ns) / score).toFixed(1)} % of scoring)\n`,
    )
}

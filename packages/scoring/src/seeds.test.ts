// Directions a reader gives the seed documents (../shared/seeds): first as short paraphrases written
// for this test (the seed texts themselves are not copied into the repository), then the two
// articles read from the shared folder at test time, skipped with a message when it is absent.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createScorer } from './index.ts'

const scorer = createScorer()

type Dir = 'negative' | 'neutral' | 'positive' | null
// [paraphrased headline, tariff, supply chain]; undefined = no expectation on that dimension.
const PARAPHRASES: [string, Dir | undefined, Dir | undefined][] = [
  ['Xi agrees to restart rare-earth exports as U.S.-China talks are scheduled', 'positive', 'positive'],
  ['Trump says China will let rare earth magnets flow to the United States again', undefined, 'positive'],
  [
    'China grants temporary export licences to rare-earth suppliers of U.S. automakers',
    'positive',
    'positive',
  ],
  ['China halted exports of critical minerals in April, straining supply chains', 'negative', 'negative'],
  ['U.S. restricts exports of chip design software to China', 'negative', undefined],
  ['Beijing threatens countermeasures over U.S. chip curbs', 'negative', undefined],
  ['Both sides agreed a 90-day rollback of most retaliatory tariffs', 'positive', undefined],
  ['Trade talks stalled after each side accused the other of backtracking', 'negative', undefined],
  ['Korea Zinc plans a multibillion-dollar U.S. smelter investment', undefined, 'positive'],
  ['U.S. suspends technology deal with Britain amid trade disputes', 'negative', undefined],
  ['White House approves sales of AI chips to China', 'positive', undefined],
  ['Ireland narrows its planned trade ban to goods only', 'positive', undefined],
  ['EU court cuts Intel antitrust fine', null, null],
  ['Ukraine peace talks show progress', null, null],
]

describe('seed headlines, paraphrased', () => {
  it.each(PARAPHRASES)('%s → tariff %s, supply %s', (headline, t, s) => {
    const r = scorer.score({ headline })
    if (t !== undefined) expect(r.scores.tariff.label).toBe(t)
    if (s !== undefined) expect(r.scores.supplyChain.label).toBe(s)
  })
})

const SEEDS = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'seeds')
const hasSeeds = existsSync(SEEDS)
if (!hasSeeds) process.stdout.write(`seeds.test: ${SEEDS} absent, skipping the seed articles\n`)

describe.skipIf(!hasSeeds)('seed articles (read from ../shared/seeds)', () => {
  const files = hasSeeds ? readdirSync(SEEDS).filter((f) => f.endsWith('.txt')) : []

  // Both articles report China agreeing to resume rare-earth exports and talks going ahead: a
  // de-escalation and an easing of supply, with uncertainty still in the air.
  it.each(files)('%s reads as de-escalation and supply easing', (file) => {
    const text = readFileSync(join(SEEDS, file), 'utf8')
    const lines = text.split('\n').filter((l) => l.trim().length > 0)
    // The headline is the line that announces the rare-earth news; the rest is the body.
    const at = lines.findIndex((l) => /rare earth/i.test(l))
    const headline = at >= 0 && (lines[at]?.length ?? 0) < 200 ? (lines[at] as string) : ''
    const body = at >= 0 && headline ? lines.slice(at + 1).join('\n') : text
    const r = scorer.score({ headline, body })
    expect(r.scores.tariff.label).toBe('positive')
    expect(r.scores.supplyChain.label).toBe('positive')
    expect(r.entities.regions).toEqual(expect.arrayContaining(['US', 'CN']))
    expect(r.entities.commodities).toContain('rare_earths')
    expect(r.scores.uncertainty).toBeGreaterThan(0.2)
  })
})

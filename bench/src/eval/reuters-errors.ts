// Error analysis on the DEV split of bench/eval/reuters-labels.csv only (held-out rows are never
// printed): `node bench/src/eval/reuters-errors.ts [tariff|supply] [--all]`. Prints gold, predicted,
// score and the cue list of every dev row the scorer gets wrong (or of every dev row with --all).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createScorer } from '@tradepulse/scoring'
import { REUTERS_STREAM } from '../shared-data.ts'
import { readCsv } from './csv.ts'
import { headlineSha8 } from './sample-reuters.ts'

const REPO_ROOT = join(import.meta.dirname, '..', '..', '..')
const stream = REUTERS_STREAM
const dim = process.argv.includes('supply') ? 'supply' : 'tariff'
const all = process.argv.includes('--all')
const lines = readFileSync(stream, 'utf8').split('\n')
const scorer = createScorer()
let n = 0
let wrong = 0
const confusion = new Map<string, number>()
for (const r of readCsv(join(REPO_ROOT, 'bench', 'eval', 'reuters-labels.csv'))) {
  if (r.split !== 'dev') continue
  const raw = lines[Number(r.line) - 1] ?? ''
  let h = raw.slice(raw.indexOf(',') + 1).replace(/\r$/, '')
  if (h.startsWith('"') && h.endsWith('"')) h = h.slice(1, -1).replaceAll('""', '"')
  if (headlineSha8(h) !== r.headline_sha1_8) continue
  const res = scorer.score({ headline: h })
  const s = dim === 'tariff' ? res.scores.tariff : res.scores.supplyChain
  const gold = (dim === 'tariff' ? r.tariff : r.supply_chain) ?? ''
  const pred = s.label ?? 'none'
  n++
  if (pred !== gold) wrong++
  confusion.set(`${gold}>${pred}`, (confusion.get(`${gold}>${pred}`) ?? 0) + 1)
  if (pred === gold && !all) continue
  const want = dim === 'tariff' ? 'tariff' : 'supplyChain'
  const cues = res.explanation
    .filter((c) => c.dimension === want)
    .map((c) => `${c.cue}=${c.weight}`)
    .join('; ')
  process.stdout.write(
    `${r.line}\t${gold}\t${pred}\t${s.score.toFixed(2)}/${s.relevance.toFixed(2)}\t${h}\n\t\t[${cues}]\n`,
  )
}
const classes = ['none', 'negative', 'neutral', 'positive']
process.stdout.write(`gold\\pred ${classes.map((c) => c.padStart(9)).join('')}\n`)
for (const g of classes) {
  const cells = classes.map((p) => String(confusion.get(`${g}>${p}`) ?? 0).padStart(9)).join('')
  process.stdout.write(`${g.padEnd(10)}${cells}\n`)
}
process.stdout.write(`${wrong} of ${n} dev rows wrong on ${dim}\n`)

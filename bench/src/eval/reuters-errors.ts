// Error analysis on the DEV split of our labels only (held-out rows are never printed):
// `node bench/src/eval/reuters-errors.ts [tariff|supply] [--all] [--news]`. Prints gold, predicted,
// score and the cue list of every dev row the scorer gets wrong (or of every dev row with --all), from
// bench/eval/reuters-labels.csv or, with --news, from bench/eval/news-labels.csv (CNBC and Guardian).
import { createScorer } from '@tradepulse/scoring'
import { type LabelledRow, loadNewsLabels, loadReutersLabels } from './labels.ts'

const dim = process.argv.includes('supply') ? 'supply' : 'tariff'
const all = process.argv.includes('--all')
const news = process.argv.includes('--news')

/** Dev rows of the chosen labels (held-out rows are never printed); rows whose text changed are skipped. */
function devRows(): LabelledRow[] {
  const labels = news ? loadNewsLabels() : loadReutersLabels()
  if (!labels) throw new Error('the stream or the labels file is absent (see bench/eval/README.md)')
  return labels.rows.filter((r) => r.split === 'dev')
}

const scorer = createScorer()
let n = 0
let wrong = 0
const confusion = new Map<string, number>()
for (const r of devRows()) {
  const h = r.headline
  const res = scorer.score({ headline: h })
  const s = dim === 'tariff' ? res.scores.tariff : res.scores.supplyChain
  const gold = dim === 'tariff' ? r.tariff : r.supply
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
    `${r.ref}\t${gold}\t${pred}\t${s.score.toFixed(2)}/${s.relevance.toFixed(2)}\t${h}\n\t\t[${cues}]\n`,
  )
}
const classes = ['none', 'negative', 'neutral', 'positive']
process.stdout.write(`gold\\pred ${classes.map((c) => c.padStart(9)).join('')}\n`)
for (const g of classes) {
  const cells = classes.map((p) => String(confusion.get(`${g}>${p}`) ?? 0).padStart(9)).join('')
  process.stdout.write(`${g.padEnd(10)}${cells}\n`)
}
process.stdout.write(`${wrong} of ${n} dev rows wrong on ${dim}\n`)

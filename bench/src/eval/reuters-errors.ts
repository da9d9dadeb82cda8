// Error analysis on the DEV split of our labels only (held-out rows are never printed):
// `node bench/src/eval/reuters-errors.ts [tariff|supply] [--all] [--news]`. Prints gold, predicted,
// score and the cue list of every dev row the scorer gets wrong (or of every dev row with --all), from
// bench/eval/reuters-labels.csv or, with --news, from bench/eval/news-labels.csv (CNBC and Guardian).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createScorer } from '@tradepulse/scoring'
import { type NewsSource, REUTERS_STREAM, readNewsRecords } from '../shared-data.ts'
import { readCsv } from './csv.ts'
import { NEWS_LABELS_FILE } from './sample-news.ts'
import { headlineSha8 } from './sample-reuters.ts'

const REPO_ROOT = join(import.meta.dirname, '..', '..', '..')
const dim = process.argv.includes('supply') ? 'supply' : 'tariff'
const all = process.argv.includes('--all')
const news = process.argv.includes('--news')

/** Dev rows as (reference, headline, gold tariff, gold supply); rows whose text changed are skipped. */
function devRows(): { ref: string; headline: string; tariff: string; supply: string }[] {
  const out: { ref: string; headline: string; tariff: string; supply: string }[] = []
  if (news) {
    const streams = new Map<string, Map<number, string>>()
    for (const r of readCsv(NEWS_LABELS_FILE)) {
      if (r.split !== 'dev') continue
      const source = (r.source ?? '') as NewsSource
      if (!streams.has(source))
        streams.set(source, new Map((readNewsRecords(source) ?? []).map((x) => [x.record, x.headline])))
      const h = streams.get(source)?.get(Number(r.record))
      if (h === undefined || headlineSha8(h) !== r.headline_sha1_8) continue
      out.push({
        ref: `${source}:${r.record}`,
        headline: h,
        tariff: r.tariff ?? '',
        supply: r.supply_chain ?? '',
      })
    }
    return out
  }
  const lines = readFileSync(REUTERS_STREAM, 'utf8').split('\n')
  for (const r of readCsv(join(REPO_ROOT, 'bench', 'eval', 'reuters-labels.csv'))) {
    if (r.split !== 'dev') continue
    const raw = lines[Number(r.line) - 1] ?? ''
    let h = raw.slice(raw.indexOf(',') + 1).replace(/\r$/, '')
    if (h.startsWith('"') && h.endsWith('"')) h = h.slice(1, -1).replaceAll('""', '"')
    if (headlineSha8(h) !== r.headline_sha1_8) continue
    out.push({ ref: r.line ?? '', headline: h, tariff: r.tariff ?? '', supply: r.supply_chain ?? '' })
  }
  return out
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

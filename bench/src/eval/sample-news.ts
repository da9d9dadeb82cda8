// How bench/eval/news-labels.csv was drawn (run once per draw, by hand):
// `node bench/src/eval/sample-news.ts --draw 1`. Labels for the CNBC and Guardian streams, so the
// scorer is measured on sources other than the Reuters stream its rules were written from.
// Per source: rows from the trade-policy pool, from the wider trade pool outside it, and from the
// supply pool outside both, each in a hash order of (draw, source, record). Every row gets a split
// from its own hash (`newsSplitOf`), fixed before anything is scored: `test` rows are never looked at
// while tuning. Prints `source<TAB>record<TAB>sha1_8<TAB>split<TAB>headline` for labelling; headline
// text never enters the repository.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createScorer } from '@tradepulse/scoring'
import { NEWS_STREAMS, type NewsSource, readNewsRecords } from '../shared-data.ts'
import { readCsv } from './csv.ts'
import { headlineSha8, NEWS_LABELS_FILE } from './labels.ts'
import { SUPPLY_POOL, TARIFF_POOL, WIDE_TRADE_POOL } from './sample-reuters.ts'

export function newsSplitOf(source: NewsSource, record: number): 'dev' | 'test' {
  const b = createHash('sha1').update(`split:${source}:${record}`).digest()[0] ?? 0
  return b % 2 === 0 ? 'dev' : 'test'
}

const NONE = { tariff: 0, wide: 0, supply: 0 }

/** Rows per pool and source in each draw (`relevant`: rows the shipped scorer marks tariff-relevant). */
const DRAWS: Record<
  string,
  Record<NewsSource, { tariff: number; wide: number; supply: number; relevant?: number }>
> = {
  '1': {
    cnbc: { tariff: 90, wide: 20, supply: 20 },
    guardian: { tariff: 120, wide: 25, supply: 25 },
    twitter: NONE,
  },
  // The second: the rest of CNBC's trade-policy pool, more of the Guardian's, no supply rows.
  '2': {
    cnbc: { tariff: 60, wide: 20, supply: 0 },
    guardian: { tariff: 150, wide: 20, supply: 0 },
    twitter: NONE,
  },
  // The third: more of the Guardian's trade-policy pool and of CNBC's wider trade pool.
  '3': {
    cnbc: { tariff: 0, wide: 40, supply: 0 },
    guardian: { tariff: 170, wide: 0, supply: 0 },
    twitter: NONE,
  },
  // The fourth: the rest of the Guardian's trade-policy pool and some of its wider trade pool (CNBC's
  // pools are drawn dry).
  '4': { cnbc: NONE, guardian: { tariff: 150, wide: 60, supply: 0 }, twitter: NONE },
  // The fifth (session 13): the rest of the Guardian's wider trade pool, as a fresh check of the
  // learned tariff layer before it learns from the dev half.
  '5': { cnbc: NONE, guardian: { tariff: 0, wide: 200, supply: 0 }, twitter: NONE },
  // The sixth (session 16): a source the rules were never written from, as a fresh check: the
  // Twitter set's finance-news tweets, all of its trade-policy pool and some of its wider trade pool.
  '6': { cnbc: NONE, guardian: NONE, twitter: { tariff: 229, wide: 40, supply: 0 } },
  // The seventh (session 16): every unlabelled CNBC and Guardian headline the scorer (commit 43b4090)
  // marks tariff-relevant, of any words, as a check of its false alarms on these sources (the Reuters
  // stream's were draws 29 and 30).
  '7': {
    cnbc: { ...NONE, relevant: 1000 },
    guardian: { ...NONE, relevant: 1000 },
    twitter: NONE,
  },
}

function labelled(): Set<string> {
  if (!existsSync(NEWS_LABELS_FILE)) return new Set()
  return new Set(readCsv(NEWS_LABELS_FILE).map((r) => `${r.source}:${r.record}`))
}

if (import.meta.main) {
  const i = process.argv.indexOf('--draw')
  const draw = i > 0 ? process.argv[i + 1] : undefined
  const plan = draw === undefined ? undefined : DRAWS[draw]
  if (!draw || !plan) throw new Error(`usage: sample-news.ts --draw <${Object.keys(DRAWS).join('|')}>`)
  const had = labelled()
  for (const source of Object.keys(NEWS_STREAMS) as NewsSource[]) {
    const records = readNewsRecords(source)
    if (!records) throw new Error(`no ${source} stream at ${NEWS_STREAMS[source]}`)
    const order = (n: number) => createHash('sha1').update(`draw${draw}:${source}:${n}`).digest('hex')
    // A headline repeated in the stream is drawn once, and not at all when a copy is labelled.
    const seen = new Set(records.filter((r) => had.has(`${source}:${r.record}`)).map((r) => r.headline))
    const left = records
      .filter((r) => r.headline !== '' && !had.has(`${source}:${r.record}`))
      .filter((r) => !seen.has(r.headline) && seen.add(r.headline) !== undefined)
      .sort((a, b) => order(a.record).localeCompare(order(b.record)))
    const { tariff, wide, supply } = plan[source]
    const a = left.filter((r) => TARIFF_POOL.test(r.headline)).slice(0, tariff)
    const b = left
      .filter((r) => !TARIFF_POOL.test(r.headline) && WIDE_TRADE_POOL.test(r.headline))
      .slice(0, wide)
    const c = left
      .filter(
        (r) =>
          !TARIFF_POOL.test(r.headline) && !WIDE_TRADE_POOL.test(r.headline) && SUPPLY_POOL.test(r.headline),
      )
      .slice(0, supply)
    const relevant = plan[source].relevant ?? 0
    const scorer = relevant > 0 ? createScorer() : null
    const d = scorer
      ? left
          .filter((r) => scorer.score({ headline: r.headline }).scores.tariff.label !== null)
          .slice(0, relevant)
      : []
    for (const r of [...a, ...b, ...c, ...d].sort((x, y) => x.record - y.record)) {
      process.stdout.write(
        `${source}\t${r.record}\t${headlineSha8(r.headline)}\t${newsSplitOf(source, r.record)}\t${r.headline}\n`,
      )
    }
  }
}

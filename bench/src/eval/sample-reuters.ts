// How bench/eval/reuters-labels.csv was drawn (run once, by hand: `node bench/src/eval/sample-reuters.ts`).
// 200 rows from a keyword pool (trade policy and supply words) so that relevant headlines are well
// represented, plus 120 rows from the rest so the "not about trade" class looks like the real stream,
// plus 80 rows from a supply pool (production, plants, shortages) because the first draw held too few
// supply-chain headlines to measure that dimension.
// Order is by a hash of the line number, so the draw is reproducible and not biased by date.
// Prints `line<TAB>sha1_8<TAB>split<TAB>headline` for labelling; headline text never enters the repository.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createScorer } from '@tradepulse/scoring'
import { REUTERS_STREAM, readReutersRows } from '../shared-data.ts'
import { headlineSha8, REUTERS_LABELS_FILE } from './labels.ts'

const POOL =
  /tariff|trade war|trade talk|trade deal|trade truce|export|import|sanction|huawei|rare earth|shortage|supply|supplies|truce|duties|wto|blacklist|entity list|factory|plant|shipping|port/i

/** Third draw: trade-policy headlines only, where the tariff direction is measured. */
export const TARIFF_POOL =
  /tariff|trade war|trade talk|trade deal|trade truce|trade dispute|trade tension|trade row|trade fight|truce|sanction|duties|levies|export control|export curb|export ban|import ban|blacklist|entity list|huawei|zte|retaliat|wto|nafta|usmca|lighthizer|dumping/i

/**
 * Thirteenth draw: trade-policy headlines the tariff pool's words miss (trade spats, frictions and
 * pacts, protectionism, quotas, soybeans, Mnuchin and Liu He, decoupling), once that pool's dev rows
 * were all labelled.
 */
const TRADE_EXTRA_POOL =
  /\btrade (agreement|pact|negotiat|spat|conflict|friction|standoff|barrier|polic|row|rift|battle|relations|truce|hawk|envoy|chief|minister|representative|team|dispute|issue|concession|imbalance|deficit|surplus|accord|stand-off|clash|feud|escalat)|protectionis|soybean|mnuchin|liu he|\bquota|embargo|countermeasure|\blevy|trade-war|decoupl|\bcfius|investment curb|reciprocal|section 301|section 232|u\.s\.-china trade|china trade|trade with china/i

/**
 * Fourteenth draw: headlines naming both China and the U.S. outside the pools above (trade actions,
 * ties, tiffs, rivalry), most of them about the contest in words no pool lists.
 */
const CHINA_US_POOL =
  /\b(china|chinese|beijing|xi)\b.*\b(u\.? ?s\.?|washington|trump|american)\b|\b(u\.? ?s\.?|washington|trump|american)\b.*\b(china|chinese|beijing|xi)\b/i

/**
 * Fifteenth draw: headlines naming the U.S. (or Trump) and another partner (EU, Mexico, Canada,
 * Japan, Korea, India, Germany, France, Britain, Vietnam, Turkey) but not China, outside the pools above.
 */
const PARTNERS_POOL = {
  partner:
    /\b(eu|european|europe|brussels|mexico|mexican|canada|canadian|japan|japanese|korea|korean|india|indian|germany|german|france|french|britain|uk|vietnam|turkey)\b/i,
  us: /\b(u\.? ?s\.?|washington|trump|american|lighthizer|ross|kudlow|navarro)\b/i,
}

/**
 * Sixteenth draw: whatever is left that names trade, exports or imports, metals, farm goods,
 * customs, embargoes or sanctions (the rest of every pool above included).
 */
export const WIDE_TRADE_POOL =
  /\btrade\b|\bexport|\bimport|\bsteel\b|\baluminum\b|\bsoy|\bpork\b|\bfarmers?\b|\bcustoms\b|\bembargo|\bblockade|\bsanction/i

/** The pools of the thirteenth to fifteenth draws, in order (see the draws' `extra`, `chinaUs`, `partners`). */
const LATER_POOLS: { key: 'extra' | 'chinaUs' | 'partners'; test: (h: string) => boolean }[] = [
  { key: 'extra', test: (h) => TRADE_EXTRA_POOL.test(h) },
  { key: 'chinaUs', test: (h) => CHINA_US_POOL.test(h) },
  { key: 'partners', test: (h) => PARTNERS_POOL.partner.test(h) && PARTNERS_POOL.us.test(h) },
]

export const SUPPLY_POOL =
  /production|output|plant|factory|factories|shortage|supply chain|supplies|shutdown|reopen|resume|halt|smelter|mine |chip|semiconductor|shipping|freight|port |logistic|inventor/i

/** dev = rows we may look at while building the scorer; test = held out, reported separately. */
export function splitOf(line: number): 'dev' | 'test' {
  const b = createHash('sha1').update(`split:${line}`).digest()[0] ?? 0
  return b % 2 === 0 ? 'dev' : 'test'
}

function order(line: number): string {
  return createHash('sha1').update(`draw:${line}`).digest('hex')
}

/** Line numbers already in bench/eval/reuters-labels.csv. */
function labelledLines(): Set<number> {
  const had = new Set<number>()
  const labelled = readFileSync(REUTERS_LABELS_FILE, 'utf8')
  for (const l of labelled.split('\n').slice(1)) {
    const n = Number(l.split(',')[0])
    if (n > 0) had.add(n)
  }
  return had
}

if (import.meta.main) {
  const rows = readReutersRows()
  if (!rows) throw new Error(`no Reuters stream at ${REUTERS_STREAM}`)
  const pool = rows
    .filter((r) => POOL.test(r.headline))
    .sort((a, b) => order(a.line).localeCompare(order(b.line)))
  const rest = rows
    .filter((r) => !POOL.test(r.headline))
    .sort((a, b) => order(a.line).localeCompare(order(b.line)))
  const first = [...pool.slice(0, 200), ...rest.slice(0, 120)]
  const taken = new Set(first.map((r) => r.line))
  const supply = rows
    .filter((r) => !taken.has(r.line) && SUPPLY_POOL.test(r.headline))
    .sort((a, b) => order(a.line).localeCompare(order(b.line)))
  let picked = [...first, ...supply.slice(0, 80)].sort((a, b) => a.line - b.line)
  if (process.argv.includes('--second')) {
    // Second draw: rows outside the first, in a new hash order, 70 from the pool and 40 from the
    // supply pool (outside the pool).
    const had = new Set(picked.map((r) => r.line))
    const order2 = (line: number) => createHash('sha1').update(`draw2:${line}`).digest('hex')
    const left = rows.filter((r) => !had.has(r.line))
    const a = left
      .filter((r) => POOL.test(r.headline))
      .sort((x, y) => order2(x.line).localeCompare(order2(y.line)))
      .slice(0, 70)
    const b = left
      .filter((r) => !POOL.test(r.headline) && SUPPLY_POOL.test(r.headline))
      .sort((x, y) => order2(x.line).localeCompare(order2(y.line)))
      .slice(0, 40)
    picked = [...a, ...b].sort((x, y) => x.line - y.line)
  }
  if (process.argv.includes('--third')) {
    // Third draw: 150 rows from the tariff pool, outside the first two draws (and anything already
    // in bench/eval/reuters-labels.csv), in a third hash order. Split by the same line hash.
    const had = labelledLines()
    for (const r of first) had.add(r.line)
    for (const r of supply.slice(0, 80)) had.add(r.line)
    const order3 = (line: number) => createHash('sha1').update(`draw3:${line}`).digest('hex')
    picked = rows
      .filter((r) => !had.has(r.line) && TARIFF_POOL.test(r.headline))
      .sort((x, y) => order3(x.line).localeCompare(order3(y.line)))
      .slice(0, 150)
      .sort((x, y) => x.line - y.line)
  }
  // Fourth to twelfth draws enlarge the dev split only (the held-out rows stay as they were, so held-out
  // figures remain comparable): rows outside everything labelled so far whose splitOf is dev, `tariff`
  // from the tariff pool and `rest` from the rest of the keyword pool (so supply-chain rows keep
  // coming), each in its own hash order (`draw<n>:`). Each was labelled from the headline alone; from
  // the fifth on, each was first scored as a whole (a fresh check of the rules written from the draws
  // before it) and only then looked at row by row.
  const devDraws: Record<
    string,
    {
      n: number
      tariff: number
      rest: number
      extra?: number
      chinaUs?: number
      partners?: number
      wide?: number
      /**
       * Draw from the other hash half too. The dev half's trade-policy pool ran dry at the twelfth
       * draw; the held-out set is the 348 labelled `test` rows, not the whole half, so unlabelled rows
       * of that half can be drawn as dev rows without touching it (they come from the held-out rows'
       * own pools, which makes their fresh check the closest to the held-out one).
       */
      otherHalf?: boolean
      /**
       * Rows the shipped scorer marks tariff-relevant, of any words (session 16): where its false
       * alarms would be, which no keyword pool finds. The pool depends on the scorer that drew it
       * (draw 29: commit 56a43c1; draw 30: de353a8; draw 34: d5c3e59); a headline repeated in the stream is drawn once.
       */
      relevant?: number
      /** The same for the supply-chain dimension (draw 31: scorer of 4341627; 32: 5618a90; 33: 3351ff3). */
      supplyRelevant?: number
    }
  > = {
    '--fourth': { n: 4, tariff: 160, rest: 50 },
    '--fifth': { n: 5, tariff: 150, rest: 0 },
    '--sixth': { n: 6, tariff: 100, rest: 0 },
    '--seventh': { n: 7, tariff: 150, rest: 30 },
    '--eighth': { n: 8, tariff: 200, rest: 0 },
    '--ninth': { n: 9, tariff: 200, rest: 0 },
    '--tenth': { n: 10, tariff: 150, rest: 0 },
    '--eleventh': { n: 11, tariff: 150, rest: 0 },
    '--twelfth': { n: 12, tariff: 0, rest: 120 },
    '--thirteenth': { n: 13, tariff: 0, rest: 0, extra: 200 },
    '--fourteenth': { n: 14, tariff: 0, rest: 0, chinaUs: 150 },
    '--fifteenth': { n: 15, tariff: 0, rest: 0, partners: 120 },
    '--sixteenth': { n: 16, tariff: 0, rest: 0, wide: 150 },
    '--seventeenth': { n: 17, tariff: 0, rest: 0, wide: 150 },
    '--eighteenth': { n: 18, tariff: 0, rest: 0, chinaUs: 150, partners: 150 },
    '--nineteenth': { n: 19, tariff: 200, rest: 0, otherHalf: true },
    '--twentieth': { n: 20, tariff: 200, rest: 0, otherHalf: true },
    '--twenty-first': { n: 21, tariff: 200, rest: 0, otherHalf: true },
    '--twenty-second': { n: 22, tariff: 200, rest: 0, otherHalf: true },
    '--twenty-third': { n: 23, tariff: 200, rest: 0, otherHalf: true },
    '--twenty-fourth': { n: 24, tariff: 200, rest: 0, otherHalf: true },
    '--twenty-fifth': { n: 25, tariff: 200, rest: 0, otherHalf: true },
    // The trade-policy pool is dry: the wider trade pool of both halves (session 13).
    '--twenty-sixth': { n: 26, tariff: 0, rest: 0, wide: 200, otherHalf: true },
    '--twenty-seventh': { n: 27, tariff: 0, rest: 0, wide: 200, otherHalf: true },
    '--twenty-eighth': { n: 28, tariff: 0, rest: 0, wide: 200, otherHalf: true },
    '--twenty-ninth': { n: 29, tariff: 0, rest: 0, relevant: 200, otherHalf: true },
    // The same pool after the fixes from the twenty-ninth (scorer of commit de353a8): a fresh check.
    '--thirtieth': { n: 30, tariff: 0, rest: 0, relevant: 200, otherHalf: true },
    '--thirty-first': { n: 31, tariff: 0, rest: 0, supplyRelevant: 200, otherHalf: true },
    // The same pool after draw 31's fixes (scorer of commit 5618a90): a fresh check of them.
    '--thirty-second': { n: 32, tariff: 0, rest: 0, supplyRelevant: 200, otherHalf: true },
    // And after draw 32's fixes (the oil market marker; scorer of commit 3351ff3).
    '--thirty-third': { n: 33, tariff: 0, rest: 0, supplyRelevant: 150, otherHalf: true },
    // Session 38: what the scorer of commit d5c3e59 (2.0.106) marks tariff-relevant, a fresh check of
    // the rules written since the thirtieth.
    '--thirty-fourth': { n: 34, tariff: 0, rest: 0, relevant: 200, otherHalf: true },
  }
  for (const [flag, draw] of Object.entries(devDraws)) {
    if (!process.argv.includes(flag)) continue
    const had = labelledLines()
    const drawOrder = (line: number) => createHash('sha1').update(`draw${draw.n}:${line}`).digest('hex')
    const left = rows
      .filter((r) => !had.has(r.line) && (draw.otherHalf || splitOf(r.line) === 'dev'))
      .sort((x, y) => drawOrder(x.line).localeCompare(drawOrder(y.line)))
    const a = left.filter((r) => TARIFF_POOL.test(r.headline)).slice(0, draw.tariff)
    const b = left.filter((r) => !TARIFF_POOL.test(r.headline) && POOL.test(r.headline)).slice(0, draw.rest)
    // Each later pool takes only rows that no earlier pool's words catch.
    const later: { line: number; headline: string }[] = []
    const earlier: ((h: string) => boolean)[] = [(h) => TARIFF_POOL.test(h)]
    for (const pool of LATER_POOLS) {
      const n = draw[pool.key] ?? 0
      const outside = (h: string) => !earlier.some((t) => t(h))
      later.push(...left.filter((r) => outside(r.headline) && pool.test(r.headline)).slice(0, n))
      earlier.push(pool.test)
    }
    const f = draw.wide ? left.filter((r) => WIDE_TRADE_POOL.test(r.headline)).slice(0, draw.wide) : []
    const g: { line: number; headline: string }[] = []
    const want = draw.relevant ?? draw.supplyRelevant ?? 0
    if (want > 0) {
      const scorer = createScorer()
      const seen = new Set(rows.filter((r) => had.has(r.line)).map((r) => r.headline))
      for (const r of left) {
        if (g.length >= want) break
        if (seen.has(r.headline)) continue
        seen.add(r.headline)
        const { tariff, supplyChain } = scorer.score({ headline: r.headline }).scores
        if ((draw.relevant ? tariff : supplyChain).label !== null) g.push(r)
      }
    }
    picked = [...a, ...b, ...later, ...f, ...g].sort((x, y) => x.line - y.line)
  }
  for (const r of picked) {
    process.stdout.write(`${r.line}\t${headlineSha8(r.headline)}\t${splitOf(r.line)}\t${r.headline}\n`)
  }
}

// `pnpm bench scoring`: headlines per second on one core over the Reuters stream, beside AFINN
// (npm `sentiment`) on the same headlines in the same run; and heap bytes per scorer instance.
// Speed is printed and recorded here, never asserted in tests (house style 16).
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createScorer } from '@tradepulse/scoring'
import Sentiment from 'sentiment'
import { writeResult } from './results.ts'
import { REUTERS_STREAM, readReutersRows } from './shared-data.ts'

const PASSES = 7

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? Number.NaN
}

/** Runs `fn` over every headline PASSES times after a warm-up pass; returns the median rate. */
function rate(headlines: string[], fn: (h: string) => unknown): number {
  let sink = 0
  for (const h of headlines) if (fn(h)) sink++
  const rates: number[] = []
  for (let p = 0; p < PASSES; p++) {
    const t0 = process.hrtime.bigint()
    for (const h of headlines) if (fn(h)) sink++
    const ns = Number(process.hrtime.bigint() - t0)
    rates.push(headlines.length / (ns / 1e9))
  }
  if (sink < 0) process.stdout.write('')
  return median(rates)
}

function heapPerInstance(): number | null {
  // `pnpm bench` runs plain node; expose gc at run time for a clean before/after heap reading.
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as (() => void) | undefined
  if (typeof gc !== 'function') return null
  const n = 200
  const keep: unknown[] = []
  gc()
  const before = process.memoryUsage().heapUsed
  for (let i = 0; i < n; i++) {
    const s = createScorer()
    s.score({ headline: 'warm the buffers of this instance' })
    keep.push(s)
  }
  gc()
  const after = process.memoryUsage().heapUsed
  return keep.length > 0 ? Math.round((after - before) / n) : null
}

const rows = readReutersRows()
if (!rows) {
  process.stdout.write(`bench scoring: skipped, no stream at ${REUTERS_STREAM}\n`)
} else {
  const headlines = rows.map((r) => r.headline)
  const scorer = createScorer()
  const afinn = new Sentiment()
  // Interleave the two so that neither gets a warmer machine.
  const oursRates: number[] = []
  const afinnRates: number[] = []
  for (let round = 0; round < 3; round++) {
    oursRates.push(rate(headlines, (h) => scorer.score({ headline: h })))
    afinnRates.push(rate(headlines, (h) => afinn.analyze(h)))
  }
  const ours = median(oursRates)
  const theirs = median(afinnRates)
  const heap = heapPerInstance()
  const figures = {
    headlines: headlines.length,
    passes: PASSES * 3,
    headlines_per_s: Math.round(ours),
    afinn_per_s: Math.round(theirs),
    ratio: Math.round((ours / theirs) * 100) / 100,
    heap_bytes_per_scorer: heap,
  }
  process.stdout.write(
    `scoring over ${headlines.length} Reuters headlines, one core, median of ${PASSES * 3} passes\n` +
      `  tradepulse scorer  ${figures.headlines_per_s.toLocaleString('en')} headlines/s\n` +
      `  AFINN (sentiment)  ${figures.afinn_per_s.toLocaleString('en')} headlines/s\n` +
      `  ratio              ${figures.ratio}\n` +
      `  heap per scorer    ${heap === null ? 'n/a (run node with --expose-gc)' : `${heap.toLocaleString('en')} bytes`}\n`,
  )
  process.stdout.write(`wrote ${writeResult('scoring', figures)}\n`)
}

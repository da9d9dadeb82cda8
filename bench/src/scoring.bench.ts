// `pnpm bench scoring`: headlines per second on one core over the Reuters stream, beside AFINN
// (npm `sentiment`) on the same headlines in the same run; and heap bytes per scorer instance.
// Speed is printed and recorded here, never asserted in tests (house style 16).
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createScorer } from '@tradepulse/scoring'
import Sentiment from 'sentiment'
import { writeResult } from './results.ts'
import { REUTERS_STREAM, readReutersRows } from './shared-data.ts'

const PASSES = 15
const CHUNK = 500

/**
 * Both scorers over the same headlines, interleaved chunk by chunk (500 headlines, the order of the
 * two swapped every pass) so that both see the same machine from one moment to the next; a scorer's
 * rate is all the headlines it scored over all the time it took, garbage collection included. On this
 * shared two-core machine whole-pass rates drift by ±10 % from pass to pass, and ratios of the two
 * scorers' medians of whole passes, measured a pass apart, ranged 0.91-1.19 for the same code.
 */
function interleavedRates(
  headlines: string[],
  a: (h: string) => unknown,
  b: (h: string) => unknown,
): { a: number; b: number } {
  let sink = 0
  const run = (fn: (h: string) => unknown, from: number, to: number): number => {
    const t0 = process.hrtime.bigint()
    for (let i = from; i < to; i++) if (fn(headlines[i]!)) sink++
    return Number(process.hrtime.bigint() - t0)
  }
  // A warm-up pass of each, untimed.
  run(a, 0, headlines.length)
  run(b, 0, headlines.length)
  let nsA = 0
  let nsB = 0
  for (let p = 0; p < PASSES; p++) {
    for (let from = 0; from < headlines.length; from += CHUNK) {
      const to = Math.min(headlines.length, from + CHUNK)
      if (p % 2 === 0) {
        nsA += run(a, from, to)
        nsB += run(b, from, to)
      } else {
        nsB += run(b, from, to)
        nsA += run(a, from, to)
      }
    }
  }
  if (sink < 0) process.stdout.write('')
  const n = headlines.length * PASSES
  return { a: n / (nsA / 1e9), b: n / (nsB / 1e9) }
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
    const s = createScorer({ learned })
    s.score({ headline: 'warm the buffers of this instance' })
    keep.push(s)
  }
  gc()
  const after = process.memoryUsage().heapUsed
  return keep.length > 0 ? Math.round((after - before) / n) : null
}

// `pnpm bench scoring --rules-only`: the scorer without its learned tariff layer, for an A/B in the
// same hour (written to scoring-rules-only.json; the goal is measured on the shipped scorer).
const learned = !process.argv.includes('--rules-only')
const rows = readReutersRows()
if (!rows) {
  process.stdout.write(`bench scoring: skipped, no stream at ${REUTERS_STREAM}\n`)
} else {
  // The headlines as the scorer service receives them: strings parsed from JSON message values
  // (flat, one block of characters each). The CSV reader builds each field a character at a time,
  // which leaves V8 a chain of joined pieces behind every string; every read of a character then
  // goes through that chain (a plain character scan is about 1.5x slower on them, and the whole
  // scorer 2-3 %). Both scorers read the same strings.
  const headlines = JSON.parse(JSON.stringify(rows.map((r) => r.headline))) as string[]
  const scorer = createScorer({ learned })
  const afinn = new Sentiment()
  const rates = interleavedRates(
    headlines,
    (h) => scorer.score({ headline: h }),
    (h) => afinn.analyze(h),
  )
  const ours = rates.a
  const theirs = rates.b
  const heap = heapPerInstance()
  const figures = {
    headlines: headlines.length,
    passes: PASSES,
    chunk_headlines: CHUNK,
    method: `interleaved ${CHUNK}-headline chunks, total time of all passes`,
    headlines_per_s: Math.round(ours),
    afinn_per_s: Math.round(theirs),
    ratio: Math.round((ours / theirs) * 100) / 100,
    heap_bytes_per_scorer: heap,
    learned_layer: learned,
  }
  process.stdout.write(
    `scoring over ${headlines.length} Reuters headlines, one core, ${PASSES} passes interleaved by ${CHUNK}-headline chunks${learned ? '' : ' (rules only)'}\n` +
      `  tradepulse scorer  ${figures.headlines_per_s.toLocaleString('en')} headlines/s\n` +
      `  AFINN (sentiment)  ${figures.afinn_per_s.toLocaleString('en')} headlines/s\n` +
      `  ratio              ${figures.ratio}\n` +
      `  heap per scorer    ${heap === null ? 'n/a (run node with --expose-gc)' : `${heap.toLocaleString('en')} bytes`}\n`,
  )
  process.stdout.write(`wrote ${writeResult(learned ? 'scoring' : 'scoring-rules-only', figures)}\n`)
}

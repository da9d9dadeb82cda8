// `pnpm eval buzz`: how often the buzz spike rules page a steady scope, and how soon they page a real
// spike. A deterministic simulation (seeded PRNG) through the real code path: each headline applied with
// the indicators package's applyContributions, read with readIndicator (buzz from readBuzz) at its event
// time, as the aggregator publishes on every update of the scope, and evaluated with the alerting
// package's evaluateIndicator (its hysteresis) against the buzz rules parsed from default-rules.yaml and
// candidate variants of them. The service's cooldown is modelled as the claim script decides it: an alert
// within cooldownMs of event time after the stream's last page is held back, and its line re-armed.
// Every headline is read and evaluated (no publish throttle coalescing a busy scope's updates, which
// would read fewer overlapping hours: an upper bound of the false pages there).
// Prints one table and writes bench/results/eval-buzz.json.
import { readFileSync } from 'node:fs'
import {
  type BuzzSpikeRule,
  evaluateIndicator,
  type HysteresisValue,
  parseRules,
  RULE_FILES,
  type Rule,
} from '@tradepulse/alerting'
import type { IndicatorUpdate, Scope } from '@tradepulse/contracts'
import {
  applyContributions,
  buzzBaseline,
  type Contribution,
  createIndicatorState,
  type IndicatorState,
  type ResolvedIndicatorConfig,
  readIndicator,
  resolveIndicatorConfig,
} from '@tradepulse/indicators'
import { writeResult } from '../results.ts'

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS
const DAY_MS = 24 * HOUR_MS
/** Start of the simulated time: a whole hour, so the coarse buckets line up as they do live. */
const T0_MS = Date.UTC(2026, 0, 5)
const BASELINE_MS = 7 * DAY_MS
const STEADY_MS = 72 * HOUR_MS
/** Spikes start this long after the baseline (plus up to an hour), their hour watched for a page. */
const SPIKE_AFTER_MS = 6 * HOUR_MS
const RATES_PER_HOUR = [0.5, 1, 2, 6, 20, 60]
const MULTIPLIERS = [2, 3, 5]
const NEW_STORY = { baseRate: 0.5, headlines: 10 }
/** Scopes per rate: fewer at the busy rates, whose many headlines also make each scope's figure steadier. */
const STEADY_SCOPES: Record<number, number> = { 0.5: 2000, 1: 2000, 2: 1000, 6: 1000, 20: 400, 60: 150 }
const SPIKE_SCOPES = 200

/** mulberry32: small, fast and the same on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Event times of a Poisson process of `perHour` over [fromMs, toMs). */
function poisson(rand: () => number, perHour: number, fromMs: number, toMs: number, out: number[]): void {
  if (perHour <= 0) return
  const meanGapMs = HOUR_MS / perHour
  let t = fromMs - Math.log(1 - rand()) * meanGapMs
  while (t < toMs) {
    out.push(Math.floor(t))
    t -= Math.log(1 - rand()) * meanGapMs
  }
}

/**
 * A design: the rules the buzz is evaluated against and, optionally, the buzz it reads (a sketch of a
 * readBuzz that is not the package's, for comparison only).
 */
type Design = {
  name: string
  rules: Rule[]
  /** Buzz of the update as this design would read it; the package's readBuzz when absent. */
  buzz?: (state: IndicatorState, asOfMs: number, update: IndicatorUpdate) => number
}

/** Sketch: readBuzz with the standard deviation floored at √mean as well (a Poisson count's). */
function poissonFloorBuzz(c: ResolvedIndicatorConfig) {
  return (state: IndicatorState, asOfMs: number, update: IndicatorUpdate): number => {
    const { mean, sd } = buzzBaseline(state, asOfMs, c)
    const current = update.volume['1h']!
    return (current - mean) / Math.max(sd, Math.sqrt(mean), c.minBuzzSd)
  }
}

type ScopeResult = { pages: number[] }

/**
 * Runs one scope's headlines through apply, read and every design's evaluation; returns each design's
 * page times (event ms) from `watchFromMs` on.
 */
function runScope(
  times: number[],
  designs: Design[],
  c: ResolvedIndicatorConfig,
  scope: Scope,
  watchFromMs: number,
  watchToMs: number,
): ScopeResult[] {
  times.sort((a, b) => a - b)
  const state = createIndicatorState(c)
  const target = { dimension: 'tariff' as const, scope }
  const hysteresis = designs.map(() => ({}) as Record<string, HysteresisValue>)
  const lastPage = designs.map(() => new Map<string, number>())
  const results: ScopeResult[] = designs.map(() => ({ pages: [] }))
  let i = 0
  for (const t of times) {
    if (t >= watchToMs) break
    const contribution: Contribution = {
      dimension: 'tariff',
      scope,
      headlineId: `h${i++}`,
      eventMs: t,
      value: -0.3,
      weight: 0.8,
      sign: -1,
    }
    applyContributions(state, [contribution], t, c)
    // The baseline only builds state: its hours are not watched (nor cheap to evaluate at 60/h).
    if (t < watchFromMs - HOUR_MS) continue
    const update = readIndicator(state, target, t, c)
    for (let d = 0; d < designs.length; d++) {
      const design = designs[d]!
      const u = design.buzz ? { ...update, buzz: design.buzz(state, t, update) } : update
      const h = hysteresis[d]!
      const evaluation = evaluateIndicator({ rules: design.rules, rulesVersion: 'eval' }, u, h, t)
      for (const [k, v] of Object.entries(evaluation.state)) {
        if (v === null) delete h[k]
        else h[k] = v
      }
      for (const cand of evaluation.candidates) {
        const last = lastPage[d]!.get(cand.cooldownKey)
        if (last !== undefined && t - last < cand.cooldownMs) {
          // Held back by the cooldown: the service arms the line again (alerter-handler).
          const key = cand.hysteresisKey
          const entry = key !== undefined ? h[key] : undefined
          if (key !== undefined && entry && 'armed' in entry) h[key] = { ...entry, armed: true }
          continue
        }
        lastPage[d]!.set(cand.cooldownKey, t)
        if (t >= watchFromMs) results[d]!.pages.push(t)
      }
    }
  }
  return results
}

type SteadyFigure = { rate: number; scopes: number; firedPct: number; pagesPerScopeWeek: number }
type SpikeFigure = {
  case: string
  scopes: number
  detectedPct: number
  medianDelayMin: number | null
  p90DelayMin: number | null
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

function steady(designs: Design[], c: ResolvedIndicatorConfig, rate: number, seed: number): SteadyFigure[] {
  const n = STEADY_SCOPES[rate] ?? 500
  const fired = designs.map(() => 0)
  const pages = designs.map(() => 0)
  const rand = prng(seed)
  const watchFrom = T0_MS + BASELINE_MS
  for (let s = 0; s < n; s++) {
    const times: number[] = []
    poisson(rand, rate, T0_MS, watchFrom + STEADY_MS, times)
    const r = runScope(times, designs, c, { kind: 'region', id: `S${s}` }, watchFrom, watchFrom + STEADY_MS)
    r.forEach((x, d) => {
      if (x.pages.length > 0) fired[d]!++
      pages[d]! += x.pages.length
    })
  }
  const scopeWeeks = (n * STEADY_MS) / (7 * DAY_MS)
  return designs.map((_, d) => ({
    rate,
    scopes: n,
    firedPct: (100 * fired[d]!) / n,
    pagesPerScopeWeek: pages[d]! / scopeWeeks,
  }))
}

/**
 * Scopes at `rate` whose rate is multiplied (or, with `extra`, that get `extra` more headlines spread
 * evenly at random) for one hour starting a random moment 6 to 7 hours after the baseline. Detected: a
 * page in that hour; the delay is from its start.
 */
function spike(
  designs: Design[],
  c: ResolvedIndicatorConfig,
  label: string,
  rate: number,
  seed: number,
  spikeOf: (rand: () => number, startMs: number, out: number[]) => void,
): SpikeFigure[] {
  const rand = prng(seed)
  const delays = designs.map(() => [] as number[])
  const watchFrom = T0_MS + BASELINE_MS
  for (let s = 0; s < SPIKE_SCOPES; s++) {
    const start = watchFrom + SPIKE_AFTER_MS + Math.floor(rand() * HOUR_MS)
    const times: number[] = []
    poisson(rand, rate, T0_MS, start + 2 * HOUR_MS, times)
    spikeOf(rand, start, times)
    const r = runScope(times, designs, c, { kind: 'region', id: `X${s}` }, start, start + HOUR_MS + 1)
    r.forEach((x, d) => {
      const first = x.pages.find((p) => p >= start && p <= start + HOUR_MS)
      if (first !== undefined) delays[d]!.push((first - start) / MINUTE_MS)
    })
  }
  return designs.map((_, d) => {
    const sorted = delays[d]!.sort((a, b) => a - b)
    return {
      case: label,
      scopes: SPIKE_SCOPES,
      detectedPct: (100 * sorted.length) / SPIKE_SCOPES,
      medianDelayMin: quantile(sorted, 0.5),
      p90DelayMin: quantile(sorted, 0.9),
    }
  })
}

/**
 * The default rules file's buzz spike rule for tariff as parsed (supply_buzz_spike is the same on other
 * scopes), and variants of it that differ only as named: the first default (threshold 3, minVolume 5),
 * other thresholds and volume floors, and a sketch of a Poisson-aware standard deviation.
 */
function designsOf(c: ResolvedIndicatorConfig): Design[] {
  const parsed = parseRules(readFileSync(RULE_FILES.defaultRules, 'utf8'), 'yaml')
  if (!parsed.ok) throw new Error(`default-rules.yaml: ${JSON.stringify(parsed.errors)}`)
  const shipped = parsed.rules.find((r): r is BuzzSpikeRule => r.id === 'tariff_buzz_spike')
  if (!shipped) throw new Error('default-rules.yaml has no tariff_buzz_spike rule')
  const variant = (threshold: number, minVolume: number): Rule[] => [{ ...shipped, threshold, minVolume }]
  return [
    { name: `shipped (${shipped.threshold}, ≥${shipped.minVolume})`, rules: [shipped] },
    { name: 'first (3, ≥5)', rules: variant(3, 5) },
    { name: '4, ≥5', rules: variant(4, 5) },
    { name: '5, ≥5', rules: variant(5, 5) },
    { name: '6, ≥5', rules: variant(6, 5) },
    { name: '5.5, ≥8', rules: variant(5.5, 8) },
    { name: 'sd≥√mean 5, ≥5', rules: variant(5, 5), buzz: poissonFloorBuzz(c) },
  ]
}

const pct = (x: number) => `${x.toFixed(1)}%`
const min = (x: number | null) => (x === null ? '—' : `${Math.round(x)}`)

export function runBuzzEval(): void {
  const c = resolveIndicatorConfig()
  const designs = designsOf(c)
  const steadyRows = RATES_PER_HOUR.map((rate, i) => steady(designs, c, rate, 1000 + i))
  const spikeRows: SpikeFigure[][] = []
  RATES_PER_HOUR.forEach((rate, i) => {
    for (const m of MULTIPLIERS) {
      spikeRows.push(
        spike(designs, c, `${rate}/h ×${m}`, rate, 2000 + 10 * i + m, (rand, start, out) =>
          poisson(rand, (m - 1) * rate, start, start + HOUR_MS, out),
        ),
      )
    }
  })
  spikeRows.push(
    spike(
      designs,
      c,
      `new story ${NEW_STORY.baseRate}/h +${NEW_STORY.headlines}`,
      NEW_STORY.baseRate,
      3000,
      (rand, start, out) => {
        for (let k = 0; k < NEW_STORY.headlines; k++) out.push(start + Math.floor(rand() * HOUR_MS))
      },
    ),
  )

  const lines: string[] = []
  const cols = designs.map((d) => d.name)
  const w0 = 26
  const w = Math.max(14, ...cols.map((x) => x.length + 2))
  const row = (head: string, cells: string[]) =>
    lines.push(head.padEnd(w0) + cells.map((x) => x.padStart(w)).join(''))
  lines.push(
    'Buzz spike rule designs (threshold, minVolume in 1h; hysteresis 1, cooldown 1 h): tariff_buzz_spike as parsed from',
    'default-rules.yaml and variants of it; a mature 7-day baseline, buzz read and the rule evaluated on every headline.',
    'sd≥√mean: a sketch of readBuzz with the standard deviation floored at √(baseline mean) too (not in the package).',
  )
  row('', cols)
  lines.push('Steady Poisson scopes: paged at least once in 72 h / pages per scope-week')
  for (const r of steadyRows) {
    row(
      `  ${r[0]!.rate}/h (${r[0]!.scopes} scopes)`,
      r.map((x) => `${pct(x.firedPct)} / ${x.pagesPerScopeWeek.toFixed(3)}`),
    )
  }
  lines.push(`Spikes for one hour (${SPIKE_SCOPES} scopes each): paged within the hour / median delay min`)
  for (const r of spikeRows) {
    row(
      `  ${r[0]!.case}`,
      r.map((x) => `${pct(x.detectedPct)} / ${min(x.medianDelayMin)}`),
    )
  }
  process.stdout.write(`${lines.join('\n')}\n`)

  const figures = {
    baselineDays: BASELINE_MS / DAY_MS,
    steadyHours: STEADY_MS / HOUR_MS,
    designs: designs.map((d, i) => ({
      name: d.name,
      rules: d.rules.map((r) =>
        r.kind === 'buzz_spike' ? { id: r.id, threshold: r.threshold, minVolume: r.minVolume } : { id: r.id },
      ),
      steady: steadyRows.map((r) => r[i]!),
      spikes: spikeRows.map((r) => r[i]!),
    })),
  }
  const file = writeResult('eval-buzz', figures)
  process.stdout.write(`wrote ${file}\n`)
}

import type { IndicatorUpdate } from '@tradepulse/contracts'
import type { ResolvedIndicatorConfig } from './indicator-config.ts'
import { type IndicatorTarget, indicatorKey } from './indicator-keys.ts'
import type { IndicatorState } from './indicator-state.ts'

/** Headlines in fine buckets (from, to], by bucket index. */
function sumFine(state: IndicatorState, from: number, to: number) {
  const total = { n: 0, pos: 0, neg: 0 }
  for (const [idx, b] of state.fine) {
    if (idx > from && idx <= to) {
      total.n += b.n
      total.pos += b.pos
      total.neg += b.neg
    }
  }
  return total
}

/**
 * Volume of the window ending at asOf, at bucket resolution: the buckets whose index lies in
 * (floor((asOf − W)/b), floor(asOf/b)], which is W/b buckets including the one holding asOf.
 */
function windowVolume(
  state: IndicatorState,
  asOfMs: number,
  ms: number,
  tier: 'fine' | 'coarse',
  c: ResolvedIndicatorConfig,
) {
  if (tier === 'fine') {
    const b = c.fineBucketMs
    return sumFine(state, Math.floor((asOfMs - ms) / b), Math.floor(asOfMs / b)).n
  }
  const b = c.coarseBucketMs
  const from = Math.floor((asOfMs - ms) / b)
  const to = Math.floor(asOfMs / b)
  let n = 0
  for (const [idx, count] of state.coarse) if (idx > from && idx <= to) n += count
  return n
}

/**
 * An epoch-ms time as the contract writes it (ISO 8601), or, for a time no Date can hold (state damaged
 * in the store: a field that is not a number, or one past Date's ±8.64e15 ms), `invalid time (<ms>)`,
 * which no reader of the contract takes, as it takes no NaN. toISOString threw a RangeError on it, and
 * one damaged key failed every read and publish it was part of (the aggregator's batch or trailing
 * edge, retried for ever; the gateway's `top`) rather than the one update.
 */
function isoTime(ms: number): string {
  const date = new Date(ms)
  return Number.isNaN(date.getTime()) ? `invalid time (${ms})` : date.toISOString()
}

/**
 * The indicator's values at event time asOfMs, or at its newest event (refMs) when that is later: the
 * decayed sums cannot be taken back before the newest event folded into them, so an asOf before it
 * would label values that hold newer headlines (another aggregator member's, applied before it raised
 * the shared watermark) with a time that volume, diffusion and the alerter's evidence read without
 * them. The update's asOf is the time actually read, never before a headline it counts. `weight` is
 * each half-life's decayed weight Σw·2^(−(asOf−t)/h) behind its mean (the prior not included): with
 * it a reader can decay the mean to a later time without new headlines exactly, as this function would
 * read it there, mean·(w + prior)·d / (w·d + prior), d = 2^(−Δ/h). Meant for
 * asOf ≥ newest event − grace (older buckets may already be trimmed). Pure: the same state, asOf and
 * born time always give the same update.
 *
 * Never throws, whatever the state: a state damaged in the store reads as an update the strict
 * IndicatorUpdate contract refuses (NaN for a value that is not a number, `invalid time (…)` for a time
 * that is none: isoTime), so a publisher checking it (the aggregator's updateProblem) leaves out that
 * key alone. A time read that is not finite (a damaged newest event read at no watermark) has no buzz
 * (NaN): its baseline's buckets cannot be counted (the loop over them never ended).
 *
 * `bornMs` is the namespace's born time (namespace-born.ts; −Infinity, the default: every bucket is
 * known; +Infinity: not yet born). Buzz reads against the baseline's buckets from it on, and reads 0
 * while fewer than minBuzzBaselineMs of them are known (readBuzz).
 */
export function readIndicator(
  state: IndicatorState,
  target: IndicatorTarget,
  requestedMs: number,
  config: ResolvedIndicatorConfig,
  bornMs = Number.NEGATIVE_INFINITY,
): IndicatorUpdate {
  const asOfMs = state.refMs !== null && state.refMs > requestedMs ? state.refMs : requestedMs
  const mean: Record<string, number> = {}
  const weight: Record<string, number> = {}
  // Past the reference time the sums decay by 2^(−Δ/h); the prior does not, so old evidence fades to 0.
  const sinceRef = state.refMs === null ? 0 : asOfMs - state.refMs
  const decayed = config.halfLives.map((h, j) => {
    const d = 2 ** (-sinceRef / h.ms)
    const w = state.sumW[j]! * d
    const wx = state.sumWX[j]! * d
    const denominator = w + config.priorWeight
    mean[h.label] = denominator > 0 ? wx / denominator : 0
    weight[h.label] = w
    return { w, wx }
  })

  const volume: Record<string, number> = {}
  for (const w of config.windows) volume[w.label] = windowVolume(state, asOfMs, w.ms, w.tier, config)

  // No reading while too little of the baseline is known (readBuzz): 0, volume at its baseline, as the
  // contract's buzz is a number (a NaN or null would withhold the whole update from every reader).
  const buzz = readBuzz(state, asOfMs, config, bornMs) ?? 0

  const fb = config.fineBucketMs
  const d = sumFine(state, Math.floor((asOfMs - config.diffusionWindowMs) / fb), Math.floor(asOfMs / fb))
  const diffusion = d.n > 0 ? (d.pos - d.neg) / d.n : 0

  return {
    key: indicatorKey(target.dimension, target.scope),
    dimension: target.dimension,
    scope: target.scope,
    asOf: isoTime(asOfMs),
    mean,
    weight,
    volume,
    buzz,
    momentum: momentum(decayed, mean, config),
    diffusion,
    count: state.count,
    updatedAt: isoTime(state.updatedMs),
  }
}

/**
 * Buzz at asOfMs: the volume of the last buzzWindow, scaled to one coarse bucket, as a z-score against
 * the coarse buckets of the baseline that end before that window starts (so the two never overlap), its
 * standard deviation floored at minBuzzSd. Only the buckets that start at or after `bornMs` (the
 * namespace's born time: namespace-born.ts) are the baseline's: one from before the state existed is
 * unknown, not a zero. Undefined (no reading) while they span less than minBuzzBaselineMs: after Redis
 * lost its data every steady scope read its whole volume as a spike against a week of zeros, for a day
 * and more. NaN when asOfMs is not finite (damaged state: no bucket can be counted).
 */
export function readBuzz(
  state: IndicatorState,
  asOfMs: number,
  config: ResolvedIndicatorConfig,
  bornMs = Number.NEGATIVE_INFINITY,
): number | undefined {
  const cb = config.coarseBucketMs
  const last = Math.floor((asOfMs - config.buzzWindowMs) / cb) - 1
  if (!Number.isFinite(last)) return Number.NaN
  const baseline = buzzBaseline(state, asOfMs, config, bornMs)
  if (!(baseline.buckets * cb >= config.minBuzzBaselineMs)) return undefined
  const current =
    windowVolume(state, asOfMs, config.buzzWindowMs, 'fine', config) * (cb / config.buzzWindowMs)
  return (current - baseline.mean) / Math.max(baseline.sd, config.minBuzzSd)
}

/**
 * The baseline buzz reads against at asOfMs (see readBuzz): how many coarse buckets it spans, their mean
 * and their (population) standard deviation, unfloored. Buckets before `bornMs` are not the baseline's.
 */
export function buzzBaseline(
  state: IndicatorState,
  asOfMs: number,
  config: ResolvedIndicatorConfig,
  bornMs = Number.NEGATIVE_INFINITY,
): { buckets: number; mean: number; sd: number } {
  const cb = config.coarseBucketMs
  const last = Math.floor((asOfMs - config.buzzWindowMs) / cb) - 1
  // The first whole bucket since born (a NaN born is none: no reading).
  const first = Math.max(last - config.baselineMs / cb + 1, Math.ceil(bornMs / cb))
  const buckets = last - first + 1
  let sum = 0
  let sumSq = 0
  for (let idx = first; idx <= last; idx++) {
    const n = state.coarse.get(idx) ?? 0
    sum += n
    sumSq += n * n
  }
  const mean = sum / buckets
  return { buckets, mean, sd: Math.sqrt(Math.max(0, sumSq / buckets - mean * mean)) }
}

/**
 * Short minus long, with the short half-life's evidence shrunk toward the long mean rather than toward
 * 0 as its own mean is: (Σw·x + prior·long) / (Σw + prior) − long. A quiet hour in an unchanged tone is
 * then no turn (momentum near 0, where the plain difference of the two means read the short mean's pull
 * toward 0 after a busy day as a turn), and a turn shows as soon as the recent headlines differ from the
 * long run, in proportion to how much recent evidence there is.
 */
function momentum(
  decayed: readonly { w: number; wx: number }[],
  mean: Record<string, number>,
  config: ResolvedIndicatorConfig,
): number {
  const short = decayed[config.halfLives.findIndex((h) => h.label === config.momentum.short)]!
  const long = mean[config.momentum.long]!
  const denominator = short.w + config.priorWeight
  return denominator > 0 ? (short.wx - short.w * long) / denominator : 0
}

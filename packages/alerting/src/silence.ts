import type { IndicatorUpdate } from '@tradepulse/contracts'
import { type ResolvedIndicatorConfig, resolveIndicatorConfig } from '@tradepulse/indicators'
import type { HysteresisEntry, IndicatorReading, ValueRange } from './hysteresis.ts'

/**
 * A line that fired re-arms once its measure is back past the line by the hysteresis. The aggregator
 * publishes an indicator only when it gets headlines, so the decay through a silence of its scope is
 * never published: the first update after days of silence already holds the next burst's first
 * headlines and may read past the line again (a single strong headline, or several in one batch),
 * and a line that waited for an update back past its re-arm point would never fire on that burst.
 *
 * So before this update moves a disarmed line, the evaluation asks what the indicator read just before
 * the first of the headlines this update adds (those since the update the line last saw): the last
 * update decayed, with no headline added, up to a moment τ when none of the new ones had happened yet.
 * That is a value the indicator really held, so a line whose value there is back past its re-arm point
 * re-arms, exactly as if an update had been published then. Nothing is assumed when the new headlines
 * may stretch back to the last update (a busy scope whose updates the aggregator throttles, a replay
 * running through hours of event time per update): then no moment of silence is known, and the line
 * re-arms only on values it sees, as before.
 *
 * τ: the newest moment before every new headline. `count` (the key's lifetime total) tells how many
 * headlines the update adds; if a volume window of length W holds that many and starts after the last
 * update (asOf − W ≥ its asOf), it holds all of them and only them, so none is older than asOf − W = τ.
 * The shortest such window gives the latest τ.
 *
 * A count below the last update's is a new run of the indicator: its keys expired after a quiet spell
 * (171 h after their last write) or were lost (an eviction, a flush), and the aggregator started it
 * again from nothing, so every headline it counts is new. The same window test then tells whether all
 * of them came after the last update: if so, the scope was silent until τ, and the line re-arms only if
 * the last update decayed to τ is back past it, as in one run; never on the new run's start from
 * nothing, so keys lost during an episode (the next headlines minutes later) show no silence, or one
 * too short to take the old reading back, and the line that fired stays disarmed: one page per episode.
 * (Read as no silence at all, a new run kept a line the old run left disarmed so through the scope's
 * next burst, which paged nobody.) Not told: a new run whose first update counts as many headlines as
 * the last update did or more is read as the same run (the update does not say when its run started);
 * and headlines of the old run after the last update the alerter saw (a consumer reading the compacted
 * topic from its start misses updates) are in no count.
 *
 * The value at τ, per measure, from the last update (kept in the line's entry and the indicator's
 * IndicatorReading) decayed by d = 2^(−(τ − its asOf)/h):
 * - mean (half-life h, prior weight p): m·(w + p)·d / (w·d + p), w the decayed weight Σw behind it.
 *   Exact when the update carried w (IndicatorUpdate.weight); otherwise a range over 0 ≤ w ≤ a bound of
 *   it (the value grows with w): each headline weighs at most 1, and one not counted in a volume window
 *   W (buckets of b) is older than W − b, which bounds w from the update's volumes and count.
 * - momentum (short mean − g·long mean, g = w_s/(w_s + p)): from the ranges of the short mean, of the
 *   long mean and of g; and in any case |momentum| ≤ 2·w_s·d/(w_s·d + p).
 * - volume of a window W, diffusion (its window), buzz (its current window): 0, 0 and ≤ 0 once τ is a
 *   window past the last update (no old headline left in it); unknown before.
 * - count: unchanged.
 */

/** What the alerter takes the aggregator's indicator math to be: the shared indicator config. */
export type IndicatorModel = {
  priorWeight: number
  halfLifeMs: ReadonlyMap<string, number>
  /** Volume windows by length, shortest first, with the bucket size that counts them. */
  windows: readonly { label: string; ms: number; bucketMs: number }[]
  buzzWindowMs: number
  diffusionWindowMs: number
  momentum: { short: string; long: string }
}

export function indicatorModel(config: ResolvedIndicatorConfig = resolveIndicatorConfig()): IndicatorModel {
  return {
    priorWeight: config.priorWeight,
    halfLifeMs: new Map(config.halfLives.map((h) => [h.label, h.ms])),
    windows: config.windows
      .map((w) => ({
        label: w.label,
        ms: w.ms,
        bucketMs: w.tier === 'fine' ? config.fineBucketMs : config.coarseBucketMs,
      }))
      .sort((a, b) => a.ms - b.ms),
    buzzWindowMs: config.buzzWindowMs,
    diffusionWindowMs: config.diffusionWindowMs,
    momentum: config.momentum,
  }
}

/**
 * The default indicator config's model: the aggregator's (its only setting, the grace, plays no part
 * here), as the alerter's rule labels are.
 */
export const DEFAULT_INDICATOR_MODEL: IndicatorModel = indicatorModel()

/** What a line watches on an indicator update. */
export type Measure =
  | { kind: 'mean'; label: string }
  | { kind: 'volume'; label: string }
  | { kind: 'momentum' | 'buzz' | 'diffusion' | 'count' }

/**
 * An upper bound of the decayed weight behind the mean of half-life `halfLifeMs` at the update's asOf,
 * from its volumes and count: a headline weighs at most 1 (its relevance, or 1), and one not counted in
 * a window W of buckets b is older than W − b, so weighs at most 2^(−(W − b)/h) there.
 */
export function weightBound(update: IndicatorUpdate, halfLifeMs: number, model: IndicatorModel): number {
  // Headlines at most `age` old number at most `n` (then at most any later cap's n, and the count).
  const caps = model.windows
    .filter((w) => Number.isFinite(update.volume[w.label]))
    .map((w) => ({ age: Math.max(0, w.ms - w.bucketMs), n: update.volume[w.label]! }))
    .sort((a, b) => a.age - b.age)
  let limit = update.count
  for (let i = caps.length - 1; i >= 0; i--) {
    limit = Math.min(limit, caps[i]!.n)
    caps[i]!.n = limit
  }
  // The most weight those caps allow: as many as can be as young as can be.
  let bound = 0
  let placed = 0
  let factor = 1
  for (const cap of caps) {
    bound += Math.max(0, cap.n - placed) * factor
    placed = Math.max(placed, cap.n)
    factor = 2 ** (-cap.age / halfLifeMs)
  }
  return bound + Math.max(0, update.count - placed) * factor
}

/** What an update tells of its indicator's decay, kept for the lines on it that are disarmed. */
export function readingOf(update: IndicatorUpdate, model: IndicatorModel): IndicatorReading {
  const labels = Object.keys(update.mean)
  const given = update.weight
  const exact =
    given !== undefined && labels.every((l) => Number.isFinite(given[l]) && (given[l] as number) >= 0)
  const weight: Record<string, number> = {}
  for (const label of labels) {
    if (exact) weight[label] = given[label]!
    else {
      const h = model.halfLifeMs.get(label)
      if (h !== undefined) weight[label] = weightBound(update, h, model)
    }
  }
  return { asOfMs: Date.parse(update.asOf), count: update.count, mean: { ...update.mean }, weight, exact }
}

/**
 * The latest moment τ at or before the update's asOf before which the indicator had no headline the
 * entry's update did not have, or undefined when none is known (see the top of this file).
 */
export function silentUntil(
  prev: Pick<HysteresisEntry, 'asOfMs' | 'count'>,
  update: IndicatorUpdate,
  model: IndicatorModel,
): number | undefined {
  const asOfMs = Date.parse(update.asOf)
  if (prev.count === undefined || !(asOfMs >= prev.asOfMs)) return undefined
  // Fewer than before: a new run of the indicator (its keys expired or lost), every headline of it new.
  const added = update.count < prev.count ? update.count : update.count - prev.count
  if (!(added >= 0)) return undefined
  if (added === 0) return asOfMs
  for (const w of model.windows) {
    const n = update.volume[w.label]
    if (n !== undefined && asOfMs - w.ms >= prev.asOfMs && n >= added) return asOfMs - w.ms
  }
  return undefined
}

/** The mean m read with weight w behind it, decayed by d with no headline added, as the reader computes it. */
function decayedMean(m: number, w: number, d: number, p: number): number {
  if (!(w + p > 0)) return 0
  const den = w * d + p
  return den > 0 ? (m * (w + p) * d) / den : 0
}

/** The range of the decayed mean over every weight w in [lo, hi] (it is monotone in w). */
function meanRange(m: number, lo: number, hi: number, d: number, p: number): ValueRange {
  const a = decayedMean(m, lo, d, p)
  const b = decayedMean(m, hi, d, p)
  return { lo: Math.min(a, b), hi: Math.max(a, b) }
}

/** w·d / (w·d + p): how far the momentum's short evidence pulls away from the long mean. */
function gain(w: number, d: number, p: number): number {
  const den = w * d + p
  return den > 0 ? (w * d) / den : 0
}

/**
 * What `measure` read at the last moment of silence before this update's new headlines (silentUntil),
 * from `prev` (the line's entry) and, when it is of the same update as prev, the indicator's reading:
 * a range, or undefined when unknown.
 */
export function silentRange(
  measure: Measure,
  prev: HysteresisEntry,
  reading: IndicatorReading | undefined,
  update: IndicatorUpdate,
  model: IndicatorModel,
): ValueRange | undefined {
  const until = silentUntil(prev, update, model)
  if (until === undefined || prev.count === undefined) return undefined
  const gap = until - prev.asOfMs
  const snap = reading && reading.asOfMs === prev.asOfMs && reading.count === prev.count ? reading : undefined
  const p = model.priorWeight
  /** [lo, hi] of the weight behind a mean of prev's update: the reading's, else at most one per headline. */
  const weights = (label: string): [number, number] => {
    const w = snap?.weight[label]
    if (w === undefined) return [0, prev.count!]
    return snap!.exact ? [w, w] : [0, w]
  }
  switch (measure.kind) {
    case 'count':
      return { lo: prev.lastValue, hi: prev.lastValue }
    case 'volume': {
      const w = model.windows.find((x) => x.label === measure.label)
      if (!w) return undefined
      return gap >= w.ms ? { lo: 0, hi: 0 } : { lo: 0, hi: prev.lastValue }
    }
    case 'diffusion':
      return gap >= model.diffusionWindowMs ? { lo: 0, hi: 0 } : undefined
    case 'buzz':
      return gap >= model.buzzWindowMs ? { lo: Number.NEGATIVE_INFINITY, hi: 0 } : undefined
    case 'mean': {
      const h = model.halfLifeMs.get(measure.label)
      if (h === undefined) return undefined
      const m = snap?.mean[measure.label]
      // Without the reading, the entry's last value is this very mean at prev's asOf.
      const [lo, hi] = m === undefined ? [0, prev.count] : weights(measure.label)
      return meanRange(m ?? prev.lastValue, lo, hi, 2 ** (-gap / h), p)
    }
    case 'momentum': {
      const { short, long } = model.momentum
      const hs = model.halfLifeMs.get(short)
      const hl = model.halfLifeMs.get(long)
      if (hs === undefined || hl === undefined) return undefined
      const ds = 2 ** (-gap / hs)
      const dl = 2 ** (-gap / hl)
      const [slo, shi] = weights(short)
      // |short evidence − long mean| ≤ 2, pulled by at most the gain of the most weight there can be.
      const most = 2 * gain(shi, ds, p)
      const bound = { lo: -most, hi: most }
      const ms = snap?.mean[short]
      const ml = snap?.mean[long]
      if (ms === undefined || ml === undefined || snap?.weight[short] === undefined) return bound
      const s = meanRange(ms, slo, shi, ds, p)
      const [llo, lhi] = weights(long)
      const l = meanRange(ml, llo, lhi, dl, p)
      const g = { lo: gain(slo, ds, p), hi: gain(shi, ds, p) }
      // momentum = short mean − gain·long mean, each factor within its range.
      const products = [g.lo * l.lo, g.lo * l.hi, g.hi * l.lo, g.hi * l.hi]
      return {
        lo: Math.max(bound.lo, s.lo - Math.max(...products)),
        hi: Math.min(bound.hi, s.hi - Math.min(...products)),
      }
    }
  }
}

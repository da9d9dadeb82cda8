import type { IndicatorUpdate } from '@tradepulse/contracts'
import {
  applyContributions,
  type Contribution,
  createIndicatorState,
  type IndicatorState,
  readIndicator,
  resolveIndicatorConfig,
} from '@tradepulse/indicators'
import { describe, expect, it } from 'vitest'
import type { HysteresisEntry } from './hysteresis.ts'
import {
  DEFAULT_INDICATOR_MODEL as model,
  readingOf,
  silentRange,
  silentUntil,
  weightBound,
} from './silence.ts'
import { HOUR_MS, MIN_MS, T0 } from './test-fixtures.ts'

const config = resolveIndicatorConfig()
const target = { dimension: 'tariff' as const, scope: { kind: 'region' as const, id: 'CN' } }

/** A deterministic pseudo-random sequence in [0, 1). */
function random(seed: number) {
  let s = seed
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31
    return s / 2 ** 31
  }
}

/** `n` headlines from `fromMs` at random gaps of up to `maxGapMs`, random tone and relevance. */
function history(seed: number, n: number, fromMs: number, maxGapMs: number): Contribution[] {
  const r = random(seed)
  let t = fromMs
  return Array.from({ length: n }, (_, i) => {
    t += Math.floor(r() * maxGapMs)
    return {
      ...target,
      headlineId: `h${seed}-${i}`,
      eventMs: t,
      value: r() * 2 - 1,
      weight: r(),
      sign: -1 as const,
    }
  })
}

function stateOf(contributions: Contribution[], state = createIndicatorState(config)): IndicatorState {
  for (const c of contributions) applyContributions(state, [c], c.eventMs, config)
  return state
}

/** The exact decayed weight behind each mean at asOf (what IndicatorUpdate.weight carries). */
function weightsOf(state: IndicatorState, asOfMs: number): Record<string, number> {
  return Object.fromEntries(
    config.halfLives.map((h, j) => [h.label, state.sumW[j]! * 2 ** (-(asOfMs - state.refMs!) / h.ms)]),
  )
}

/** An update as the aggregator publishes it: the reader's own, with its weights (checked in readingOf's test). */
const withWeight = (state: IndicatorState, asOfMs: number): IndicatorUpdate =>
  readIndicator(state, target, asOfMs, config)

/** An update as published before IndicatorUpdate.weight existed. */
const unweighted = ({ weight: _, ...u }: IndicatorUpdate): IndicatorUpdate => u

const entryOf = (u: IndicatorUpdate, lastValue: number): HysteresisEntry => ({
  armed: false,
  lastValue,
  asOfMs: Date.parse(u.asOf),
  count: u.count,
})

describe('weightBound', () => {
  it('is never below the weight behind a mean, whatever the history and the time read', () => {
    for (const [seed, n, gap] of [
      [1, 40, 5 * MIN_MS],
      [2, 200, 20 * MIN_MS],
      [3, 300, 2 * HOUR_MS],
      [4, 30, 30_000],
    ] as const) {
      const state = stateOf(history(seed, n, T0, gap))
      for (const later of [0, 7 * MIN_MS, 50 * MIN_MS, 5 * HOUR_MS, 30 * HOUR_MS]) {
        const asOfMs = state.refMs! + later
        const update = readIndicator(state, target, asOfMs, config)
        const exact = weightsOf(state, asOfMs)
        for (const h of config.halfLives) {
          const bound = weightBound(update, h.ms, model)
          expect(bound, `seed ${seed} +${later} ${h.label}`).toBeGreaterThanOrEqual(exact[h.label]! - 1e-9)
          expect(bound).toBeLessThanOrEqual(update.count)
        }
      }
    }
  })

  it('is small for a short half-life once the headlines are old, however many there were', () => {
    const state = stateOf(history(5, 500, T0, 10 * MIN_MS))
    const update = readIndicator(state, target, state.refMs! + 2 * 24 * HOUR_MS, config)
    expect(update.count).toBe(500)
    expect(weightBound(update, HOUR_MS, model)).toBeLessThan(1e-3) // 500 headlines, each older than 23 h
  })
})

describe('readingOf', () => {
  it("keeps the update's own weights as exact, else bounds of them", () => {
    const state = stateOf(history(6, 20, T0, 5 * MIN_MS))
    const asOfMs = state.refMs!
    // The reader's weight is the decayed weight behind each mean (the aggregator publishes it).
    for (const later of [0, 7 * MIN_MS, 5 * HOUR_MS])
      expect(withWeight(state, asOfMs + later).weight).toEqual(weightsOf(state, asOfMs + later))
    const exact = readingOf(withWeight(state, asOfMs), model)
    expect(exact).toMatchObject({ exact: true, weight: weightsOf(state, asOfMs), count: 20 })
    const bounded = readingOf(unweighted(readIndicator(state, target, asOfMs, config)), model)
    expect(bounded.exact).toBe(false)
    for (const label of Object.keys(bounded.weight))
      expect(bounded.weight[label]).toBeGreaterThanOrEqual(exact.weight[label]!)
  })
})

describe('silentUntil and silentRange', () => {
  // A scope's history, its last update; then, after a silence, new headlines and their update.
  const before = history(7, 60, T0, 10 * MIN_MS)
  const old = stateOf(before)
  const lastMs = old.refMs!
  const previous = withWeight(old, lastMs)
  const fresh = (startMs: number, n: number, spacingMs: number): Contribution[] =>
    Array.from({ length: n }, (_, i) => ({
      ...target,
      headlineId: `new-${startMs}-${i}`,
      eventMs: startMs + i * spacingMs,
      value: -0.9,
      weight: 0.9,
      sign: -1 as const,
    }))
  const after = (news: Contribution[]) => {
    const state = stateOf(news, structuredClone(old))
    return withWeight(state, state.refMs!)
  }

  it('finds the last moment before the new headlines: the start of the shortest window holding all of them', () => {
    const start = lastMs + 5 * HOUR_MS
    // Three in the last ten minutes: the 15m window holds them all, and starts after the last update.
    const u = after(fresh(start, 3, 5 * MIN_MS))
    expect(silentUntil(entryOf(previous, 0), u, model)).toBe(Date.parse(u.asOf) - 15 * MIN_MS)
    // Spread over forty minutes: the 1h window.
    const spread = after(fresh(start, 5, 10 * MIN_MS))
    expect(silentUntil(entryOf(previous, 0), spread, model)).toBe(Date.parse(spread.asOf) - HOUR_MS)
  })

  it('knows no silence when the new headlines may reach back to the last update', () => {
    // Headlines every ten minutes since the last update: no window holds them all and starts after it.
    const busy = after(fresh(lastMs + 10 * MIN_MS, 18, 10 * MIN_MS))
    expect(silentUntil(entryOf(previous, 0), busy, model)).toBeUndefined()
    // One of them within the grace before the last update (late, but applied).
    const late = after([...fresh(lastMs - 5 * MIN_MS, 1, 0), ...fresh(lastMs + 3 * HOUR_MS, 2, MIN_MS)])
    expect(silentUntil(entryOf(previous, 0), late, model)).toBeUndefined()
    // An entry without the count it was read at (written before it was kept).
    const { count: _, ...countless } = entryOf(previous, 0)
    expect(silentUntil(countless, busy, model)).toBeUndefined()
  })

  /** A new run of the indicator: its keys expired or were lost, and these headlines started it again. */
  const restarted = (news: Contribution[]) => {
    const state = stateOf(news)
    return withWeight(state, state.refMs!)
  }

  it('reads a new run of the indicator (its keys expired or lost, its count from 0) as all of it new', () => {
    // Nine quiet days: the keys expired, and three headlines in ten minutes started the indicator again.
    const expired = restarted(fresh(lastMs + 9 * 24 * HOUR_MS, 3, 5 * MIN_MS))
    expect(expired.count).toBe(3) // below the last update's 60
    const asOfMs = Date.parse(expired.asOf)
    expect(silentUntil(entryOf(previous, 0), expired, model)).toBe(asOfMs - 15 * MIN_MS)
    // There the old run, decayed with no headline added, read exactly what the last update decays to.
    const truth = readIndicator(old, target, asOfMs - 15 * MIN_MS, config)
    const mean = silentRange(
      { kind: 'mean', label: '1h' },
      entryOf(previous, previous.mean['1h']!),
      readingOf(previous, model),
      expired,
      model,
    )!
    expect(mean.lo).toBeCloseTo(truth.mean['1h']!, 12)
    expect(mean.hi).toBeCloseTo(truth.mean['1h']!, 12)
    // Lost three hours after the last update, the next burst over forty minutes: the 1h window.
    const lost = restarted(fresh(lastMs + 3 * HOUR_MS, 5, 10 * MIN_MS))
    expect(silentUntil(entryOf(previous, 0), lost, model)).toBe(Date.parse(lost.asOf) - HOUR_MS)
    // The first update of a new run with no headline yet (count 0): silent until it.
    const empty = { ...lost, count: 0 }
    expect(silentUntil(entryOf(previous, 0), empty, model)).toBe(Date.parse(lost.asOf))
  })

  it('knows no silence, or a short one, for a new run started during an episode', () => {
    // The keys lost, the next headline five minutes after the last update: no window holding it starts
    // after the last update.
    const soon = restarted(fresh(lastMs + 5 * MIN_MS, 1, 0))
    expect(silentUntil(entryOf(previous, 0), soon, model)).toBeUndefined()
    // Headlines every ten minutes since then: none either.
    const busy = restarted(fresh(lastMs + 10 * MIN_MS, 18, 10 * MIN_MS))
    expect(silentUntil(entryOf(previous, 0), busy, model)).toBeUndefined()
    // Rebuilt by a replay from before the last update (Kafka read again from a timestamp): its count
    // holds the old run's last headlines, so no window holding them all starts after the last update.
    const rebuilt = restarted([...before.slice(-10), ...fresh(lastMs + 3 * HOUR_MS, 2, MIN_MS)])
    expect(rebuilt.count).toBe(12)
    expect(silentUntil(entryOf(previous, 0), rebuilt, model)).toBeUndefined()
    // Twenty minutes on: silent for five minutes after the last update, and the 1h mean read there is
    // the last update's decayed five minutes, not the new run's start from nothing.
    const later = restarted(fresh(lastMs + 20 * MIN_MS, 1, 0))
    expect(silentUntil(entryOf(previous, 0), later, model)).toBe(lastMs + 5 * MIN_MS)
    const truth = readIndicator(old, target, lastMs + 5 * MIN_MS, config)
    const mean = silentRange(
      { kind: 'mean', label: '1h' },
      entryOf(previous, previous.mean['1h']!),
      readingOf(previous, model),
      later,
      model,
    )!
    expect(mean.lo).toBeCloseTo(truth.mean['1h']!, 12)
    expect(Math.abs(mean.lo)).toBeGreaterThan(0.9 * Math.abs(previous.mean['1h']!))
  })

  it('reads exactly what the indicator read there when the updates carry their weights', () => {
    for (const silenceMs of [20 * MIN_MS, 2 * HOUR_MS, 30 * HOUR_MS, 4 * 24 * HOUR_MS]) {
      const u = after(fresh(lastMs + silenceMs, 3, 5 * MIN_MS))
      const until = silentUntil(entryOf(previous, 0), u, model)!
      // What a reader of the old state (no new headline) would have read at that moment.
      const truth = readIndicator(old, target, until, config)
      const reading = readingOf(previous, model)
      for (const label of ['15m', '1h', '24h']) {
        const r = silentRange(
          { kind: 'mean', label },
          entryOf(previous, previous.mean[label]!),
          reading,
          u,
          model,
        )!
        expect(r.lo, `${label} after ${silenceMs}`).toBeCloseTo(truth.mean[label]!, 12)
        expect(r.hi).toBeCloseTo(truth.mean[label]!, 12)
      }
      const m = silentRange({ kind: 'momentum' }, entryOf(previous, previous.momentum), reading, u, model)!
      expect(m.lo).toBeCloseTo(truth.momentum, 12)
      expect(m.hi).toBeCloseTo(truth.momentum, 12)
    }
  })

  it('bounds it without the weights, with or without the reading', () => {
    for (const silenceMs of [20 * MIN_MS, 2 * HOUR_MS, 30 * HOUR_MS]) {
      const u = unweighted(after(fresh(lastMs + silenceMs, 3, 5 * MIN_MS)))
      const until = silentUntil(entryOf(previous, 0), u, model)!
      const truth = readIndicator(old, target, until, config)
      const reading = readingOf(unweighted(previous), model)
      for (const withReading of [reading, undefined]) {
        for (const label of ['15m', '1h', '24h']) {
          const entry = entryOf(previous, previous.mean[label]!)
          const r = silentRange({ kind: 'mean', label }, entry, withReading, u, model)!
          expect(r.lo).toBeLessThanOrEqual(truth.mean[label]! + 1e-12)
          expect(r.hi).toBeGreaterThanOrEqual(truth.mean[label]! - 1e-12)
        }
        const entry = entryOf(previous, previous.momentum)
        const m = silentRange({ kind: 'momentum' }, entry, withReading, u, model)!
        expect(m.lo).toBeLessThanOrEqual(truth.momentum + 1e-12)
        expect(m.hi).toBeGreaterThanOrEqual(truth.momentum - 1e-12)
      }
    }
  })

  it('reads volume, diffusion and buzz as the reader would once their windows have emptied, and nothing before', () => {
    const u = after(fresh(lastMs + 3 * HOUR_MS, 3, 5 * MIN_MS))
    const until = silentUntil(entryOf(previous, 0), u, model)!
    const truth = readIndicator(old, target, until, config)
    const entry = (v: number) => entryOf(previous, v)
    expect(
      silentRange({ kind: 'volume', label: '1h' }, entry(previous.volume['1h']!), undefined, u, model),
    ).toEqual({ lo: truth.volume['1h'], hi: truth.volume['1h'] })
    expect(silentRange({ kind: 'diffusion' }, entry(previous.diffusion), undefined, u, model)).toEqual({
      lo: truth.diffusion,
      hi: truth.diffusion,
    })
    const buzz = silentRange({ kind: 'buzz' }, entry(previous.buzz), undefined, u, model)!
    expect(buzz.hi).toBe(0)
    expect(truth.buzz).toBeLessThanOrEqual(0)
    // The 24h window still holds old headlines: only an upper bound (what the last update read).
    const day = silentRange(
      { kind: 'volume', label: '24h' },
      entry(previous.volume['24h']!),
      undefined,
      u,
      model,
    )
    expect(day).toEqual({ lo: 0, hi: previous.volume['24h'] })
    expect(truth.volume['24h']).toBeLessThanOrEqual(previous.volume['24h']!)
    // Twenty minutes of silence: the hour's diffusion and buzz are not known.
    const soon = after(fresh(lastMs + 20 * MIN_MS, 2, MIN_MS))
    expect(silentRange({ kind: 'diffusion' }, entry(0), undefined, soon, model)).toBeUndefined()
    expect(silentRange({ kind: 'buzz' }, entry(0), undefined, soon, model)).toBeUndefined()
  })
})

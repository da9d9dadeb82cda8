import { describe, expect, it } from 'vitest'
import type { Contribution } from './contributions.ts'
import { resolveIndicatorConfig } from './indicator-config.ts'
import { applyContributions, createIndicatorState, type IndicatorState } from './indicator-state.ts'
import { readIndicator } from './read-indicator.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const T0 = Date.UTC(2025, 3, 2, 10) // on an hour boundary
const target = { dimension: 'tariff' as const, scope: { kind: 'global' as const, id: 'all' } }
const plain = resolveIndicatorConfig({ priorWeight: 0 })

function c(headlineId: string, eventMs: number, value = 0, weight = 1, sign: -1 | 0 | 1 = 0): Contribution {
  return { ...target, headlineId, eventMs, value, weight, sign }
}

function applyAll(batches: Contribution[][], config = plain): IndicatorState {
  const state = createIndicatorState(config)
  for (const b of batches) applyContributions(state, b, 1, config)
  return state
}

/** Deterministic PRNG (mulberry32), so a failing shuffle can be replayed. */
function rng(seed: number) {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

function closeTo(a: number, b: number) {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))
}

describe('decayed means', () => {
  it('weighs two headlines one half-life apart exactly 1/2 and 1', () => {
    const state = applyAll([[c('a', T0, 1)], [c('b', T0 + HOUR, -1)]])
    expect(state.refMs).toBe(T0 + HOUR)
    // Half-lives in order 15m, 1h, 24h.
    expect(state.sumW).toEqual([2 ** -4 + 1, 1.5, 2 ** (-1 / 24) + 1])
    expect(state.sumWX[1]).toBe(-0.5)
    const r = readIndicator(state, target, T0 + HOUR, plain)
    expect(r.mean['1h']).toBe(-1 / 3)
    expect(r.mean['15m']).toBeCloseTo((2 ** -4 - 1) / (2 ** -4 + 1), 15)
    expect(r.momentum).toBeCloseTo(r.mean['1h']! - r.mean['24h']!, 15)
  })

  it('gives the same sums when the older headline arrives second', () => {
    const forward = applyAll([[c('a', T0, 1)], [c('b', T0 + 5 * MIN, -1)]])
    const backward = applyAll([[c('b', T0 + 5 * MIN, -1)], [c('a', T0, 1)]])
    for (let j = 0; j < 3; j++) {
      expect(closeTo(forward.sumW[j]!, backward.sumW[j]!)).toBe(true)
      expect(closeTo(forward.sumWX[j]!, backward.sumWX[j]!)).toBe(true)
    }
  })

  it('reads at the newest event when asked for an earlier time, so asOf never precedes a headline it counts', () => {
    const state = applyAll([[c('a', T0 - 20 * MIN, 0.2)], [c('b', T0 + 5 * MIN, -0.9)], [c('c', T0, -0.1)]])
    expect(state.refMs).toBe(T0 + 5 * MIN)
    const early = readIndicator(state, target, T0, plain)
    expect(early).toEqual(readIndicator(state, target, T0 + 5 * MIN, plain))
    expect(early.asOf).toBe(new Date(T0 + 5 * MIN).toISOString())
    // The 15 min window holds b and c, as the means and count do.
    expect(early.volume['15m']).toBe(2)
    // At or after the newest event, asOf is the time asked for.
    expect(readIndicator(state, target, T0 + 6 * MIN, plain).asOf).toBe(new Date(T0 + 6 * MIN).toISOString())
  })

  it('weighs by relevance', () => {
    const state = applyAll([[c('a', T0, 1, 0.25), c('b', T0, -1, 0.75)]])
    expect(readIndicator(state, target, T0, plain).mean['1h']).toBe(-0.5)
  })

  describe('momentum with the neutral prior', () => {
    const config = resolveIndicatorConfig({ priorWeight: 1 })
    // A busy day of escalation, read in time order: 10 headlines an hour at -0.7, full relevance.
    const day = Array.from({ length: 240 }, (_, i) => c(`d${i}`, T0 + i * 6 * MIN, -0.7))
    const end = T0 + 24 * HOUR
    // Five quiet hours later, the next hour's headlines.
    const later = end + 5 * HOUR

    it('reads a quiet hour in an unchanged tone as no turn', () => {
      // Three thin headlines (relevance 0.5) in the same tone.
      const quiet = [20, 40, 60].map((m, i) => c(`q${i}`, later + m * MIN, -0.7, 0.5))
      const r = readIndicator(applyAll([...day.map((x) => [x]), quiet], config), target, later + HOUR, config)
      expect(r.mean['24h']).toBeLessThan(-0.6)
      // The 1 h mean alone is pulled toward 0 by the prior (about -0.41): its plain difference with the
      // 24 h mean would read as easing by more than 0.25.
      expect(r.mean['1h']! - r.mean['24h']!).toBeGreaterThan(0.25)
      expect(Math.abs(r.momentum)).toBeLessThan(0.01)
    })

    it('reads recent headlines against the long run as a turn, more so the more of them there are', () => {
      const easing = (n: number) =>
        Array.from({ length: n }, (_, i) => c(`e${i}`, later + (i + 1) * (60 / n) * MIN, 0.7))
      const few = readIndicator(
        applyAll([...day.map((x) => [x]), easing(2)], config),
        target,
        later + HOUR,
        config,
      )
      const many = readIndicator(
        applyAll([...day.map((x) => [x]), easing(10)], config),
        target,
        later + HOUR,
        config,
      )
      expect(few.momentum).toBeGreaterThan(0.5)
      expect(many.momentum).toBeGreaterThan(few.momentum)
      expect(many.momentum).toBeLessThan(0.7 - many.mean['24h']!)
    })

    it('is 0 when the short half-life holds no evidence', () => {
      const r = readIndicator(
        applyAll(
          day.map((x) => [x]),
          config,
        ),
        target,
        end + 48 * HOUR,
        config,
      )
      expect(r.mean['24h']).toBeLessThan(-0.1)
      expect(Math.abs(r.momentum)).toBeLessThan(1e-9)
    })
  })

  it('fades towards the neutral prior as the evidence ages', () => {
    const config = resolveIndicatorConfig({ priorWeight: 1 })
    const state = applyAll([[c('a', T0, 1)], [c('b', T0 + HOUR, -1)]], config)
    // One hour later: Σw = 0.75, Σw·x = −0.25, plus one neutral pseudo-headline.
    expect(readIndicator(state, target, T0 + 2 * HOUR, config).mean['1h']).toBe(-0.25 / 1.75)
  })
})

describe('volume, buzz, diffusion', () => {
  it('counts volume per window at bucket resolution, diffusion over the last hour', () => {
    const state = applyAll([
      [c('a', T0, 1, 1, 1)],
      [c('b', T0 + 30 * MIN, 1, 1, 1)],
      [c('c', T0 + 50 * MIN, -1, 1, -1)],
      [c('d', T0 + HOUR, -1, 1, -1), c('e', T0 + HOUR, 0, 1, 0)],
    ])
    const r = readIndicator(state, target, T0 + HOUR, plain)
    // Windows are (asOf − W, asOf]: the headline exactly 1 h old is out of the 1 h window.
    expect(r.volume).toEqual({ '15m': 3, '1h': 4, '24h': 5 })
    expect(r.diffusion).toBe((1 - 2) / 4)
    expect(r.count).toBe(5)
  })

  it('scores buzz as the z-score of the last hour against a 7-day hourly baseline', () => {
    const K = T0 + 200 * HOUR
    const batches: Contribution[][] = []
    // Baseline hours K−169 … K−2 alternate 2 and 0 headlines: mean 1, sd 1.
    for (let i = 169; i >= 2; i--) {
      if (i % 2 === 0) batches.push([c(`b${i}a`, K - i * HOUR), c(`b${i}b`, K - i * HOUR + MIN)])
    }
    // Hour K−1 is between baseline and window; it counts in neither.
    batches.push([c('gap', K - HOUR + 5 * MIN)])
    const asOf = K + 30 * MIN
    batches.push([1, 2, 3, 4].map((m) => c(`now${m}`, asOf - m * 2 * MIN)))
    const r = readIndicator(applyAll(batches), target, asOf, plain)
    expect(r.buzz).toBe(3)
    expect(r.volume['1h']).toBe(4)
  })

  it('floors the baseline sd at minBuzzSd, so a new scope has finite buzz', () => {
    const r = readIndicator(applyAll([[c('a', T0), c('b', T0 + MIN)]]), target, T0 + 2 * MIN, plain)
    expect(r.buzz).toBe(2)
  })
})

describe('order, duplicates, late', () => {
  const random = rng(42)
  const series: Contribution[] = Array.from({ length: 400 }, (_, i) => {
    const value = random() * 2 - 1
    return c(
      `h${i}`,
      T0 + Math.floor(random() * 3 * HOUR),
      value,
      random(),
      value > 0.2 ? 1 : value < -0.2 ? -1 : 0,
    )
  })
  const inOrder = [...series].sort((a, b) => a.eventMs - b.eventMs)

  function batchesOf(items: Contribution[], random: () => number): Contribution[][] {
    const out: Contribution[][] = []
    for (let i = 0; i < items.length; ) {
      const size = 1 + Math.floor(random() * 6)
      out.push(items.slice(i, i + size))
      i += size
    }
    return out
  }

  /** Shuffles within 4-minute chunks; with batches of ≤ 6 nothing arrives more than the grace behind. */
  function shuffledWithinGrace(random: () => number): Contribution[] {
    const chunks = new Map<number, Contribution[]>()
    for (const x of inOrder) {
      const k = Math.floor(x.eventMs / (4 * MIN))
      chunks.set(k, [...(chunks.get(k) ?? []), x])
    }
    return [...chunks.values()].flatMap((chunk) => shuffle(chunk, random))
  }

  function expectSameReads(a: IndicatorState, b: IndicatorState) {
    for (const asOf of [T0 + 3 * HOUR, T0 + 3 * HOUR + 7 * MIN, T0 + 5 * HOUR]) {
      const ra = readIndicator(a, target, asOf, plain)
      const rb = readIndicator(b, target, asOf, plain)
      for (const k of Object.keys(ra.mean)) expect(closeTo(ra.mean[k]!, rb.mean[k]!), k).toBe(true)
      expect(rb.volume).toEqual(ra.volume)
      expect(closeTo(ra.momentum, rb.momentum)).toBe(true)
      expect(rb.buzz).toBe(ra.buzz)
      expect(rb.diffusion).toBe(ra.diffusion)
      expect(rb.count).toBe(ra.count)
    }
  }

  it('gives the same values for any arrival order within the grace period', () => {
    const reference = applyAll(batchesOf(inOrder, rng(1)))
    expect(reference.count).toBe(400)
    for (let seed = 2; seed < 7; seed++) {
      const r = rng(seed)
      const state = applyAll(batchesOf(shuffledWithinGrace(r), r))
      expect(state.count).toBe(400)
      expect(state.late).toBe(0)
      expectSameReads(reference, state)
      expect(state.fine).toEqual(reference.fine)
      expect(state.coarse).toEqual(reference.coarse)
      expect(state.ids).toEqual(reference.ids)
    }
  })

  it('changes nothing when every headline is applied again, in any order', () => {
    const state = applyAll(batchesOf(inOrder, rng(1)))
    const before = structuredClone(state)
    let duplicates = 0
    for (const b of batchesOf(shuffledWithinGrace(rng(9)), rng(10))) {
      const out = applyContributions(state, b, 2, plain)
      expect(out.applied).toBe(0)
      duplicates += out.duplicates
    }
    // Ids stay remembered for dedupRetentionMs behind the newest event; older copies are late (not applied either).
    const newest = Math.max(...series.map((x) => x.eventMs))
    expect(duplicates).toBe(series.filter((x) => x.eventMs >= newest - plain.dedupRetentionMs).length)
    // The late copies are remembered too, as late: a third delivery is duplicates and late again
    // (neither counted late a second time), each as the second delivery had it.
    expect(state).toEqual({ ...before, late: state.late, ids: state.ids })
    expect(state.late).toBe(400 - duplicates)
    const late = state.late
    const third = { duplicates: 0, lateAgain: 0, late: 0, applied: 0 }
    for (const b of batchesOf(shuffledWithinGrace(rng(11)), rng(12))) {
      const out = applyContributions(state, b, 3, plain)
      third.duplicates += out.duplicates
      third.lateAgain += out.lateAgain
      third.late += out.late
      third.applied += out.applied
    }
    expect(third).toEqual({ duplicates, lateAgain: late, late: 0, applied: 0 })
    expect(state.late).toBe(late)
  })

  it('counts a second copy within one batch as the first: a duplicate of one applied, late again of one late', () => {
    const state = createIndicatorState(plain)
    const a = c('a', T0 + HOUR, 1)
    const out = applyContributions(state, [a, a], 1, plain)
    expect(out).toMatchObject({
      applied: 1,
      duplicates: 1,
      late: 0,
      lateAgain: 0,
      duplicateContributions: [a],
    })
    const late = c('late', T0, 1)
    const twice = applyContributions(state, [late, late], 2, plain)
    expect(twice).toMatchObject({ applied: 0, duplicates: 0, late: 1, lateAgain: 1 })
    expect(twice.lateAgainContributions).toEqual([late])
    expect(state.late).toBe(1)
  })

  it('reports late contributions and does not apply them', () => {
    const state = applyAll([[c('a', T0 + HOUR, 1)]])
    const before = structuredClone(state)
    const late = c('late', T0 + HOUR - 10 * MIN - 1, -1)
    const out = applyContributions(state, [late], 2, plain)
    expect(out).toEqual({ applied: 0, duplicates: 0, late: 1, lateAgain: 0, lateContributions: [late] })
    // Remembered at the reference time, so its redelivery is known as late: late again, not counted late
    // once more, and not a duplicate (a headline that moved the indicator), nor applied.
    expect(state).toEqual({ ...before, late: 1, ids: new Map([...before.ids, ['late', T0 + HOUR]]) })
    const after = structuredClone(state)
    expect(applyContributions(state, [late], 2, plain)).toEqual({
      applied: 0,
      duplicates: 0,
      late: 0,
      lateAgain: 1,
      lateContributions: [],
      lateAgainContributions: [late],
    })
    expect(state).toEqual(after)
    // An applied one given again is a duplicate, whatever the batch's other contributions.
    expect(applyContributions(state, [c('a', T0 + HOUR, 1), late], 2, plain)).toMatchObject({
      duplicates: 1,
      lateAgain: 1,
      late: 0,
    })
    // Exactly the grace behind is still on time.
    expect(applyContributions(state, [c('edge', T0 + HOUR - 10 * MIN)], 3, plain).applied).toBe(1)
  })

  it('treats a batch as arriving at once, so its order does not matter', () => {
    const a = c('a', T0)
    const b = c('b', T0 + 20 * MIN)
    for (const batch of [
      [a, b],
      [b, a],
    ]) {
      const out = applyContributions(createIndicatorState(plain), batch, 1, plain)
      expect(out).toMatchObject({ applied: 1, late: 1, lateContributions: [a] })
    }
  })
})

describe('a damaged reference time', () => {
  // Two headlines, the newest five minutes past T0; the clock ten minutes past it, and the bound of a
  // plausible reference time 10.5 minutes past the clock (the aggregator's AGGREGATOR_MAX_AHEAD_MS +
  // AGGREGATOR_GRACE_MS by default).
  const nowMs = T0 + 10 * MIN
  const limit = nowMs + 10 * MIN + 30_000
  const whole = () => applyAll([[c('a', T0, 1, 1, 1)], [c('b', T0 + 5 * MIN, -1, 1, -1)]])

  it('takes a reference time past the bound as absent: the batch is applied, its newest event the reference time, the sums and buckets kept', () => {
    const before = whole()
    const state: IndicatorState = { ...structuredClone(before), refMs: 1e15 }
    // Without a bound a finite reference time is believed: the headline is late, remembered at it.
    const stalled = applyContributions(state, [c('x', T0 + 10 * MIN)], nowMs, plain)
    expect(stalled).toMatchObject({ applied: 0, late: 1 })
    expect(stalled.damagedRefMs).toBeUndefined()
    expect(state.ids.get('x')).toBe(1e15)

    const y = c('y', T0 + 11 * MIN, 1, 1, 1)
    const out = applyContributions(state, [y], nowMs, plain, limit)
    expect(out).toMatchObject({ applied: 1, duplicates: 0, late: 0, damagedRefMs: 1e15 })
    expect(state.refMs).toBe(y.eventMs)
    expect(state.count).toBe(3)
    // The sums as they stood (read against the new reference time) plus y's at full weight.
    expect(state.sumW).toEqual(before.sumW.map((w) => w + 1))
    expect(state.sumWX).toEqual(before.sumWX.map((x) => x + 1))
    expect(state.fine.get(Math.floor(y.eventMs / MIN))).toEqual({ n: 1, pos: 1, neg: 0 })
    expect(state.fine.size).toBe(3)
    // x, remembered at the damaged time, is forgotten; the applied ids stay.
    expect([...state.ids.keys()].sort()).toEqual(['a', 'b', 'y'])
    // Whole now: the next headline is judged against it.
    const next = applyContributions(state, [c('z', T0 + 12 * MIN)], nowMs, plain, limit)
    expect(next).toMatchObject({ applied: 1, late: 0 })
    expect(next.damagedRefMs).toBeUndefined()
  })

  it('keeps judging against a reference time within the bound: an honest late headline stays late', () => {
    const state = whole()
    const late = c('late', T0 - 6 * MIN)
    const out = applyContributions(state, [late], nowMs, plain, limit)
    expect(out).toEqual({ applied: 0, duplicates: 0, late: 1, lateAgain: 0, lateContributions: [late] })
    expect(state.refMs).toBe(T0 + 5 * MIN)
    // A batch's own events are plausible, whatever the clock: a clock behind them damages nothing.
    const ahead = applyContributions(state, [c('ahead', T0 + 6 * MIN)], nowMs, plain, 0)
    expect(ahead).toMatchObject({ applied: 1, late: 0 })
    expect(ahead.damagedRefMs).toBeUndefined()
  })

  it('takes a reference time that is no finite number as absent, with or without a bound', () => {
    for (const refMs of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const state: IndicatorState = { ...whole(), refMs }
      const out = applyContributions(state, [c('y', T0 + 6 * MIN)], nowMs, plain)
      expect(out, String(refMs)).toMatchObject({ applied: 1, late: 0, damagedRefMs: refMs })
      expect(state.refMs).toBe(T0 + 6 * MIN)
    }
  })

  it('resets it even when the batch applies nothing (every headline a duplicate)', () => {
    const state: IndicatorState = { ...whole(), refMs: Date.UTC(9999, 11, 31) }
    const out = applyContributions(state, [c('b', T0 + 5 * MIN)], nowMs, plain, limit)
    expect(out).toMatchObject({ applied: 0, duplicates: 1, late: 0, damagedRefMs: Date.UTC(9999, 11, 31) })
    expect(state.refMs).toBe(T0 + 5 * MIN)
  })
})

describe('damaged counters and sums', () => {
  it('takes a value no apply could have written (NaN, Infinity, a count of 2.5, a weight sum below 0) as absent: repaired to 0 and added to, reported by field', () => {
    const state = applyAll([[c('a', T0, 0.5, 1, 1)]])
    const fi = Math.floor((T0 + MIN) / plain.fineBucketMs)
    state.sumW[1] = Number.NaN
    state.sumWX[0] = Number.POSITIVE_INFINITY
    state.sumW[2] = -1
    state.count = 2.5
    state.late = Number.NaN
    state.fine.set(fi, { n: Number.NEGATIVE_INFINITY, pos: 0.5, neg: 0 })
    const coarse = Math.floor(T0 / plain.coarseBucketMs)
    state.coarse.set(coarse, 1.5)
    const out = applyContributions(state, [c('b', T0 + MIN, -0.5, 1, -1)], 2, plain)
    expect(out.applied).toBe(1)
    // Before: NaN, Infinity and 3.5 stayed so (NaN + 1 is NaN), and every read gave NaN.
    expect(out.damagedFields).toEqual([
      { field: 'cnt', stored: '2.5' },
      { field: 'late', stored: 'NaN' },
      { field: 'x1', stored: 'Infinity' },
      { field: 'w2', stored: 'NaN' },
      { field: 'w3', stored: '-1' },
      { field: `n${fi}`, stored: '-Infinity' },
      { field: `p${fi}`, stored: '0.5' },
      { field: `c${coarse}`, stored: '1.5' },
    ])
    expect(state.count).toBe(1)
    expect(state.late).toBe(0)
    expect(state.sumW[1]).toBe(1)
    expect(state.sumWX[0]).toBe(-0.5)
    expect(state.sumW[2]).toBe(1)
    expect(state.fine.get(fi)).toEqual({ n: 1, pos: 0, neg: 1 })
    expect(state.coarse.get(coarse)).toBe(1)
    // Whole values are kept: the 15-minute weight sum decayed by a minute, plus b's 1.
    expect(state.sumW[0]).toBeCloseTo(2 ** (-1 / 15) + 1, 12)
    expect(applyContributions(state, [c('c', T0 + 2 * MIN)], 3, plain).damagedFields).toBeUndefined()
  })

  it('repairs them when the batch applies nothing too, but not a bucket only a duplicate names', () => {
    const state = applyAll([[c('a', T0, 0.5, 1, 1)]])
    const fi = Math.floor(T0 / plain.fineBucketMs)
    state.count = Number.NaN
    state.fine.set(fi, { n: Number.NaN, pos: 1, neg: 0 })
    const out = applyContributions(state, [c('a', T0, 0.5, 1, 1)], 2, plain)
    expect(out).toMatchObject({ applied: 0, duplicates: 1, damagedFields: [{ field: 'cnt', stored: 'NaN' }] })
    expect(state.count).toBe(0)
    expect(state.fine.get(fi)?.n).toBeNaN()
  })
})

describe('bounds', () => {
  it('keeps buckets and ids within their retention however long the stream runs', () => {
    const state = createIndicatorState(plain)
    for (let i = 0; i < 9 * 24 * 60; i += 3) applyContributions(state, [c(`h${i}`, T0 + i * MIN)], 1, plain)
    // Trimmed once per coarse bucket of event time: up to one coarse bucket more than the retention.
    const slack = plain.coarseBucketMs
    expect(state.fine.size).toBeLessThanOrEqual((plain.fineRetentionMs + slack) / plain.fineBucketMs + 1)
    expect(state.coarse.size).toBeLessThanOrEqual(
      (plain.coarseRetentionMs + slack) / plain.coarseBucketMs + 1,
    )
    expect(state.ids.size).toBeLessThanOrEqual(plain.dedupRetentionMs / (3 * MIN) + 1)
  })

  it('rejects a config that could apply a redelivery twice', () => {
    expect(() => resolveIndicatorConfig({ graceMs: HOUR, dedupRetentionMs: MIN })).toThrow(/dedupRetentionMs/)
  })
})

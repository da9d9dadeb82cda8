// IndicatorUpdate.weight: what the alerter needs to tell what a mean read later without new headlines
// (packages/alerting/src/silence.ts). Checked here against the headlines themselves, not the state's
// sums, and against the reader at later times.
import { IndicatorUpdate } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import type { Contribution } from './contributions.ts'
import { resolveIndicatorConfig } from './indicator-config.ts'
import { applyContributions, createIndicatorState, type IndicatorState } from './indicator-state.ts'
import { readBuzz, readIndicator } from './read-indicator.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const T0 = Date.UTC(2026, 2, 2, 8)
const target = { dimension: 'supplyChain' as const, scope: { kind: 'commodity' as const, id: 'magnets' } }
const config = resolveIndicatorConfig()

/** Deterministic PRNG (mulberry32). */
function rng(seed: number) {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `n` headlines at random gaps of up to `maxGapMs`, random tone and weight (relevance). */
function history(seed: number, n: number, maxGapMs: number): Contribution[] {
  const r = rng(seed)
  let t = T0
  return Array.from({ length: n }, (_, i) => {
    t += Math.floor(r() * maxGapMs)
    const value = r() * 2 - 1
    return {
      ...target,
      headlineId: `h${seed}-${i}`,
      eventMs: t,
      value,
      weight: r(),
      sign: value < 0 ? -1 : 1,
    }
  })
}

const closeTo = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))

describe('readIndicator: the weight behind each mean', () => {
  it('is Σw·2^(−age/h) of the headlines applied, per half-life label, at the asOf read', () => {
    for (const [seed, n, gap, batch] of [
      [1, 40, 5 * MIN, 1],
      [2, 300, 90_000, 5], // batches spanning at most 6 min: within the grace, none late
      [3, 120, 2 * HOUR, 1],
    ] as const) {
      const headlines = history(seed, n, gap)
      const state = createIndicatorState(config)
      for (let i = 0; i < headlines.length; i += batch)
        expect(applyContributions(state, headlines.slice(i, i + batch), 1, config).late).toBe(0)
      for (const later of [0, 7 * MIN, 3 * HOUR, 30 * HOUR]) {
        const asOfMs = state.refMs! + later
        const u = readIndicator(state, target, asOfMs, config)
        expect(Object.keys(u.weight ?? {}), `seed ${seed}`).toEqual(Object.keys(u.mean))
        for (const h of config.halfLives) {
          let w = 0
          let wx = 0
          for (const c of headlines) {
            const f = 2 ** (-(asOfMs - c.eventMs) / h.ms)
            w += c.weight * f
            wx += c.weight * c.value * f
          }
          expect(closeTo(u.weight![h.label]!, w), `seed ${seed} +${later} ${h.label}`).toBe(true)
          // And the mean it is behind: Σw·x over the same weight plus the prior.
          expect(closeTo(u.mean[h.label]!, wx / (w + config.priorWeight))).toBe(true)
        }
      }
    }
  })

  it("tells exactly what the mean reads later without new headlines: mean·(w + prior)·d / (w·d + prior), the alerter's decay", () => {
    const state = createIndicatorState(config)
    for (const c of history(4, 80, 10 * MIN)) applyContributions(state, [c], 1, config)
    const u = readIndicator(state, target, state.refMs!, config)
    const p = config.priorWeight
    for (const gap of [MIN, 20 * MIN, 2 * HOUR, 30 * HOUR, 4 * 24 * HOUR]) {
      const later = readIndicator(state, target, state.refMs! + gap, config)
      for (const h of config.halfLives) {
        const d = 2 ** (-gap / h.ms)
        const m = u.mean[h.label]!
        const w = u.weight![h.label]!
        expect(closeTo((m * (w + p) * d) / (w * d + p), later.mean[h.label]!), `${h.label} +${gap}`).toBe(
          true,
        )
        expect(closeTo(w * d, later.weight![h.label]!)).toBe(true)
      }
    }
  })

  it('is 0 for an indicator with nothing applied', () => {
    const u = readIndicator(createIndicatorState(config), target, T0, config)
    expect(u.weight).toEqual({ '15m': 0, '1h': 0, '24h': 0 })
  })
})

describe('readIndicator: state damaged in the store', () => {
  const read = (change: Partial<IndicatorState>, asOfMs = T0 + HOUR) => {
    const state = createIndicatorState(config)
    applyContributions(state, history(5, 10, 5 * MIN), T0 + HOUR, config)
    return readIndicator({ ...state, ...change }, target, asOfMs, config)
  }
  /** The fields of an update the strict contract refuses, by path. */
  const refused = (u: IndicatorUpdate) => {
    const parsed = IndicatorUpdate.safeParse(u)
    return parsed.success ? [] : [...new Set(parsed.error.issues.map((i) => i.path.join('.')))]
  }

  it('reads a time no Date holds (a field that is not a number, or far out of range) as an update the contract refuses, naming the field, rather than throwing', () => {
    // `upd` holding something that is not a time: a RangeError (Invalid time value) before.
    const garbage = read({ updatedMs: Number.NaN })
    expect(garbage.updatedAt).toBe('invalid time (NaN)')
    expect(refused(garbage)).toEqual(['updatedAt'])
    expect(refused(read({ updatedMs: 1e20 }))).toEqual(['updatedAt'])
    // `ref` past Date's range: the update is read at it.
    const ahead = read({ refMs: 1e20 })
    expect(ahead.asOf).toBe('invalid time (100000000000000000000)')
    expect(refused(ahead)).toContain('asOf')
    // The rest of a whole state reads as before.
    expect(refused(read({}))).toEqual([])
  })

  it('reads a state without a newest event at no time (no watermark yet) without hanging: no buzz, refused', () => {
    // The baseline's loop counted from -Infinity to -Infinity, for ever.
    for (const refMs of [null, Number.NaN]) {
      const u = read({ refMs }, Number.NEGATIVE_INFINITY)
      expect(u.buzz).toBeNaN()
      expect(u.asOf).toBe('invalid time (-Infinity)')
      expect(refused(u)).toEqual(expect.arrayContaining(['asOf', 'buzz']))
    }
  })
})

describe("readIndicator: buzz against the namespace's born time", () => {
  const region = { dimension: 'tariff' as const, scope: { kind: 'region' as const, id: 'US' } }
  /**
   * `perHour` headlines an hour, evenly spaced, over [fromMs, toMs), applied one by one, `each` called
   * after each with its event time (readIndicator reads at the newest event at the earliest).
   */
  const feed = (
    state: IndicatorState,
    fromMs: number,
    toMs: number,
    perHour: number,
    id: string,
    each: (t: number) => void = () => {},
  ) => {
    for (let i = 0, t = fromMs; t < toMs; i++, t = fromMs + (i * HOUR) / perHour) {
      const c = {
        ...region,
        headlineId: `${id}${i}`,
        eventMs: t,
        value: -0.2,
        weight: 0.8,
        sign: -1 as const,
      }
      applyContributions(state, [c], t, config)
      each(t)
    }
  }

  it('has no reading (0 in the update) until 6 whole hours of a steady scope are known, then reads near 0, not its whole volume', () => {
    // The namespace (and the scope) born at T0, on the hour, 6 headlines an hour since: a Redis that lost
    // its data, or a first deployment. Before, buzz read 6 (against a week of zeros) for hours.
    expect(config.minBuzzBaselineMs).toBe(6 * HOUR)
    const state = createIndicatorState(config)
    let read = 0
    feed(state, T0, T0 + 10 * HOUR, 6, 'h', (t) => {
      const u = readIndicator(state, region, t, config, T0)
      // The baseline ends before the last hour's window: its sixth whole bucket (T0+5h to T0+6h) lies
      // wholly behind that window from T0+7h on.
      if (t < T0 + 7 * HOUR) {
        expect(readBuzz(state, t, config, T0), `+${(t - T0) / MIN} min`).toBeUndefined()
        expect(u.buzz, `+${(t - T0) / MIN} min`).toBe(0)
      } else {
        expect(readBuzz(state, t, config, T0), `+${(t - T0) / MIN} min`).toBeCloseTo(0, 9)
        expect(u.buzz, `+${(t - T0) / MIN} min`).toBeCloseTo(0, 9)
        read++
      }
      // The rest of the update reads as without a born time.
      expect({ ...u, buzz: 0 }).toEqual({ ...readIndicator(state, region, t, config), buzz: 0 })
    })
    expect(read).toBe(18)
    // Not known before born: without it the same state reads a spike, still one 10 hours on.
    expect(readIndicator(state, region, T0 + 10 * HOUR, config).buzz).toBeGreaterThan(3)
  })

  it('counts only the whole buckets since born: one born mid-hour starts with the next hour', () => {
    const state = createIndicatorState(config)
    feed(state, T0 + 20 * MIN, T0 + 9 * HOUR, 6, 'h')
    const last = state.refMs!
    // At T0+8h50 the baseline's last whole bucket is T0+6h to T0+7h: from T0+1h, 6 buckets.
    expect(readBuzz(state, last, config, T0 + 20 * MIN)).toBeCloseTo(0, 9)
    expect(readBuzz(state, last, config, T0 + HOUR)).toBeCloseTo(0, 9)
    expect(readBuzz(state, last, config, T0 + HOUR + MIN)).toBeUndefined()
    // None (not yet born, or lost with the state): no reading, however much state there is.
    expect(readBuzz(state, last, config, Number.POSITIVE_INFINITY)).toBeUndefined()
    expect(readBuzz(state, last, config, Number.NaN)).toBeUndefined()
  })

  it('never reads a spike for a steady scope after its state was lost, whatever the hour; the baseline grows from born', () => {
    // The reviewer's case: 8 days of 6 an hour, the state lost, the same flow on into a fresh one born
    // at its first headline.
    const lostAt = T0 + 8 * 24 * HOUR
    const after = createIndicatorState(config)
    const buzz: number[] = []
    const before: number[] = []
    feed(after, lostAt, lostAt + 48 * HOUR, 6, 'b', (t) => {
      buzz.push(readIndicator(after, region, t, config, lostAt).buzz)
      before.push(readIndicator(after, region, t, config).buzz)
    })
    expect(Math.max(...buzz)).toBeLessThan(1)
    // Before, without a born time: 6 at once, still above the rules' 3 twelve hours on.
    expect(before[6]).toBe(6)
    expect(before[6 * 12]).toBeGreaterThan(3)
    // Once a whole baseline since born is known, born no longer matters.
    const week = createIndicatorState(config)
    feed(week, T0, T0 + 8 * 24 * HOUR, 6, 'c')
    expect(readIndicator(week, region, week.refMs!, config, T0)).toEqual(
      readIndicator(week, region, week.refMs!, config),
    )
  })

  it('still spikes for a scope new in a namespace born a week ago: its zeros are real, its first burst is news', () => {
    const state = createIndicatorState(config)
    feed(state, T0, T0 + HOUR, 10, 'h')
    const asOf = state.refMs!
    expect(readIndicator(state, region, asOf, config, T0 - 7 * 24 * HOUR).buzz).toBeCloseTo(10, 9)
    // Born 6 hours before: no reading yet (a loss or a cold start), whatever the burst; 7 hours before, 6
    // whole hours lie behind the burst's hour.
    expect(readIndicator(state, region, asOf, config, T0 - 6 * HOUR).buzz).toBe(0)
    expect(readIndicator(state, region, asOf, config, T0 - 7 * HOUR).buzz).toBeCloseTo(10, 9)
  })
})

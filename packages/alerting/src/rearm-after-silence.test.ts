// Indicator rules across a silence of their scope: the aggregator publishes an indicator only when it
// gets headlines, so the decay between two bursts is never on the topic. Driven by the real indicator
// math (the aggregator's apply and read) and evaluateIndicator, with the hysteresis state carried as
// the service carries it.
import type { Alert, ScoredHeadline } from '@tradepulse/contracts'
import {
  applyContributions,
  type Contribution,
  contributionsOf,
  createIndicatorState,
  type IndicatorState,
  indicatorKey,
  readIndicator,
  resolveIndicatorConfig,
} from '@tradepulse/indicators'
import { describe, expect, it } from 'vitest'
import type { EvaluationRules } from './alert-candidate.ts'
import { evaluateIndicator } from './evaluate-indicator.ts'
import type { HysteresisState } from './hysteresis.ts'
import { HOUR_MS, MIN_MS, rulesOf, scoredHeadline, T0 } from './test-fixtures.ts'

const DAY_MS = 24 * HOUR_MS
const config = resolveIndicatorConfig()

/** The default rules' supply_tone_1h_negative, on magnets: the 1h supply-chain mean below -0.5. */
const supplyTone = {
  id: 'supply_tone_1h_negative',
  kind: 'level',
  dimensions: ['supplyChain'],
  scopes: ['commodity:magnets'],
  field: 'mean',
  window: '1h',
  direction: 'down',
  threshold: -0.5,
  hysteresis: 0.15,
  minVolume: 3,
  volumeWindow: '1h',
  severity: 'warning',
  cooldownMs: HOUR_MS,
}

/** A strong supply-chain headline on magnets (score -0.8, relevance 0.9), published at `atMs`. */
const magnets = (id: string, atMs: number): ScoredHeadline =>
  scoredHeadline(id, { supplyChain: -0.8, relevance: 0.9, commodities: ['magnets'], publishedMs: atMs })

/** Four headlines five minutes apart from `startMs`: one burst of news on magnets. */
const burst = (tag: string, startMs: number) =>
  [0, 1, 2, 3].map((i) => magnets(`${tag}-${i}`, startMs + i * 5 * MIN_MS))

/**
 * The aggregator and the alerter in miniature: each `publish` is one aggregator batch (applied in
 * event-time order, then one update per indicator it touched, at the batch's newest event time)
 * evaluated by the alerter,
 * whose hysteresis hashes (one per indicator) carry over from update to update.
 */
function createPipeline(rules: EvaluationRules, opts: { weights?: boolean } = {}) {
  const indicators = new Map<string, { state: IndicatorState; target: Contribution }>()
  const hysteresis = new Map<string, HysteresisState>()
  return {
    hysteresis,
    /** One batch of headlines → the alerts its updates raise on magnets' supply-chain indicator. */
    publish(headlines: ScoredHeadline[], transform: (h: HysteresisState) => HysteresisState = (h) => h) {
      const byKey = new Map<string, Contribution[]>()
      for (const c of headlines.flatMap((h) => contributionsOf(h))) {
        const key = indicatorKey(c.dimension, c.scope)
        byKey.set(key, [...(byKey.get(key) ?? []), c])
      }
      const asOfMs = Math.max(...headlines.map((h) => Date.parse(h.publishedAt)))
      const alerts: Alert[] = []
      for (const [key, contributions] of byKey) {
        const indicator = indicators.get(key) ?? {
          state: createIndicatorState(config),
          target: contributions[0]!,
        }
        indicators.set(key, indicator)
        // In event-time order, as the aggregator's merger applies a batch (none of them late).
        for (const c of [...contributions].sort((a, b) => a.eventMs - b.eventMs))
          applyContributions(indicator.state, [c], asOfMs, config)
        // With the decayed weight behind each mean (IndicatorUpdate.weight, the reader's own), or
        // without it, as updates published before it existed.
        const { weight, ...read } = readIndicator(indicator.state, indicator.target, asOfMs, config)
        const update = opts.weights ? { ...read, weight } : read
        const r = evaluateIndicator(rules, update, transform(hysteresis.get(key) ?? {}), asOfMs)
        hysteresis.set(key, { ...transform(hysteresis.get(key) ?? {}), ...r.state })
        alerts.push(...r.candidates.map((c) => c.alert))
      }
      return alerts
    },
    read: (key: string, asOfMs: number) => {
      const i = indicators.get(key)!
      return readIndicator(i.state, i.target, asOfMs, config)
    },
    /**
     * Every indicator's aggregator state gone (its keys expired after a quiet spell, or were lost: an
     * eviction, a flush), the alerter's hysteresis kept: the next headlines start each again from nothing.
     */
    dropIndicators: () => indicators.clear(),
  }
}

const MAGNETS = indicatorKey('supplyChain', { kind: 'commodity', id: 'magnets' })
const describeAlerts = (alerts: Alert[]) => alerts.map((a) => `${a.publishedAt} ${a.value.toFixed(3)}`)

/** Each headline of a burst in its own batch: the alerts per headline. */
const oneByOne = (p: ReturnType<typeof createPipeline>, headlines: ScoredHeadline[]) =>
  headlines.map((h) => describeAlerts(p.publish([h])))

describe('an indicator rule across a silence of its scope', () => {
  it('fires on a burst, stays quiet for three silent days, and fires again on the same burst', () => {
    const p = createPipeline(rulesOf(supplyTone))
    const first = oneByOne(p, burst('a', T0))
    // Below the volume floor for the first two headlines; past -0.5 at the third.
    expect(first.map((a) => a.length)).toEqual([0, 0, 1, 0])
    // Three days later the scope reads ~0 (no update shows it), then the same news again. The first
    // update already holds the next burst's first headline (about -0.38, inside the band: neither past
    // the line nor back above -0.35), yet the line re-arms on what the silence took it back to.
    expect(p.read(MAGNETS, T0 + 3 * DAY_MS - MIN_MS).mean['1h']).toBeCloseTo(0, 6)
    const second = oneByOne(p, burst('b', T0 + 3 * DAY_MS))
    expect(second.map((a) => a.length)).toEqual([0, 0, 1, 0])
    // The same reading as the first burst's alert, three days on.
    expect(second[2]![0]!.split(' ')[1]).toBe(first[2]![0]!.split(' ')[1])
  })

  it('fires again when the next burst comes in one aggregator batch, past the line on its first update', () => {
    const p = createPipeline(rulesOf(supplyTone))
    expect(p.publish(burst('a', T0))).toHaveLength(1) // the whole burst in one update: past the line
    const again = p.publish(burst('b', T0 + 3 * DAY_MS))
    expect(again.map((a) => a.publishedAt)).toEqual([new Date(T0 + 3 * DAY_MS + 15 * MIN_MS).toISOString()])
    expect(again[0]!.value).toBeLessThan(-0.5)
  })

  it('without a volume floor: fires on the first headline past the line of each burst', () => {
    const p = createPipeline(rulesOf({ ...supplyTone, minVolume: 0 }))
    expect(oneByOne(p, burst('a', T0)).map((a) => a.length)).toEqual([0, 1, 0, 0])
    expect(oneByOne(p, burst('b', T0 + 2 * DAY_MS)).map((a) => a.length)).toEqual([0, 1, 0, 0])
    // A quiet of a few hours is enough for the 1h mean: three hours on, the same again.
    expect(oneByOne(p, burst('c', T0 + 2 * DAY_MS + 3 * HOUR_MS)).map((a) => a.length)).toEqual([0, 1, 0, 0])
  })

  it('stays disarmed through a scope that never went quiet, however coarse its updates', () => {
    // A strong headline every five minutes for twelve hours, published every two hours (a replay runs
    // through hours of event time per update): the mean never came back, so one alert only.
    const p = createPipeline(rulesOf({ ...supplyTone, minVolume: 0 }))
    const stream = Array.from({ length: 144 }, (_, i) => magnets(`s-${i}`, T0 + i * 5 * MIN_MS))
    const alerts = []
    for (let i = 0; i < stream.length; i += 24) alerts.push(p.publish(stream.slice(i, i + 24)).length)
    expect(alerts).toEqual([1, 0, 0, 0, 0, 0])
  })

  it('re-arms only once the silence has taken the mean back past the band: a short pause is not enough', () => {
    const p = createPipeline(rulesOf({ ...supplyTone, minVolume: 0 }))
    expect(p.publish(burst('a', T0))).toHaveLength(1)
    // Twenty minutes after the last headline the 1h mean is still near -0.5: no re-arm, no alert.
    expect(p.publish(burst('b', T0 + 35 * MIN_MS))).toEqual([])
  })

  it('does not fire twice on a redelivered update', () => {
    const p = createPipeline(rulesOf(supplyTone))
    p.publish(burst('a', T0))
    const rules = rulesOf(supplyTone)
    const before = p.hysteresis.get(MAGNETS)!
    const raised = p.publish(burst('b', T0 + 3 * DAY_MS))
    expect(raised).toHaveLength(1)
    const after = p.hysteresis.get(MAGNETS)!
    const update = p.read(MAGNETS, T0 + 3 * DAY_MS + 15 * MIN_MS)
    // The same update again after its state was written: nothing. Before it was written (a crash
    // before the commit): the same alert, same id, which the claim recognises.
    expect(evaluateIndicator(rules, update, after, T0).candidates).toEqual([])
    expect(evaluateIndicator(rules, update, before, T0).candidates.map((c) => c.alert.id)).toEqual([
      raised[0]!.id,
    ])
  })

  it('re-arms on entries written before the indicator reading was kept (they carry the count)', () => {
    const p = createPipeline(rulesOf(supplyTone))
    // Only the lines' entries, as an earlier version left the hash.
    const linesOnly = (h: HysteresisState) =>
      Object.fromEntries(Object.entries(h).filter(([field]) => !field.startsWith('@')))
    expect(p.publish(burst('a', T0), linesOnly)).toHaveLength(1)
    expect(p.publish(burst('b', T0 + 3 * DAY_MS), linesOnly)).toHaveLength(1)
  })

  it('re-arms an activity line once a silence has emptied its window: volume', () => {
    const volume = rulesOf({
      ...supplyTone,
      id: 'magnets_volume',
      field: 'volume',
      window: '1h',
      direction: 'up',
      threshold: 3,
      hysteresis: 1,
      minVolume: 0,
    })
    const p = createPipeline(volume)
    expect(oneByOne(p, burst('a', T0)).map((a) => a.length)).toEqual([0, 0, 1, 0])
    expect(p.publish(burst('b', T0 + DAY_MS))).toHaveLength(1) // four in one update: 4 ≥ 3
  })

  it('re-arms a buzz spike once a silence has emptied its window', () => {
    const buzz = rulesOf({
      id: 'magnets_buzz',
      kind: 'buzz_spike',
      dimensions: ['supplyChain'],
      scopes: ['commodity:magnets'],
      threshold: 3,
      hysteresis: 1,
      severity: 'info',
    })
    const p = createPipeline(buzz)
    expect(p.publish(burst('a', T0))).toHaveLength(1)
    expect(p.publish(burst('b', T0 + 3 * DAY_MS))).toHaveLength(1)
  })

  it('re-arms a slow line after a silence of days when the updates carry their weights, exactly', () => {
    // The default rules' 24h regime line, on a scope with a day of bad news behind each alert.
    const regime = rulesOf({
      ...supplyTone,
      id: 'supply_tone_24h_regime',
      window: '24h',
      threshold: -0.6,
      hysteresis: 0.2,
      minVolume: 10,
      volumeWindow: '24h',
    })
    const day = (tag: string, startMs: number) =>
      Array.from({ length: 40 }, (_, i) => magnets(`${tag}-${i}`, startMs + i * 30 * MIN_MS))
    const firesPerDay = (weights: boolean, silenceDays: number) => {
      const p = createPipeline(regime, { weights })
      const first = day('a', T0).map((h) => p.publish([h]).length)
      const second = day('b', T0 + (20 / 24 + silenceDays) * DAY_MS).map((h) => p.publish([h]).length)
      return [first.reduce((a, b) => a + b), second.reduce((a, b) => a + b)]
    }
    // Five silent days take the 24h mean from about -0.8 back above -0.4: with the weights that is
    // known exactly, and the second day fires as the first did.
    expect(firesPerDay(true, 5)).toEqual([1, 1])
    // Without them the weight behind the mean is bounded from the update's volumes and count (at most
    // one per headline): sound, never a re-arm the weights would refuse, but slower on long half-lives.
    expect(firesPerDay(false, 5)).toEqual([1, 0])
    expect(firesPerDay(false, 6)).toEqual([1, 1])
    // Two silent days are not enough, whichever way it is told.
    expect(firesPerDay(true, 2)).toEqual([1, 0])
  })
})

describe("an indicator rule across its indicator's keys expiring or being lost (a new run, its count from 0)", () => {
  it('fires again on the burst after nine quiet days, its keys expired in them', () => {
    const p = createPipeline(rulesOf(supplyTone))
    const first = oneByOne(p, burst('a', T0))
    expect(first.map((a) => a.length)).toEqual([0, 0, 1, 0])
    expect(p.hysteresis.get(MAGNETS)).toBeDefined() // the line, disarmed, outlives the aggregator's keys
    p.dropIndicators()
    // The next burst counts 1, 2, 3, 4 after the line's 4: a new run whose every headline is new, the
    // first alone in its 15 min window after nine days. The same alert as the first burst's.
    const second = oneByOne(p, burst('b', T0 + 9 * DAY_MS))
    expect(second.map((a) => a.length)).toEqual([0, 0, 1, 0])
    expect(second[2]![0]!.split(' ')[1]).toBe(first[2]![0]!.split(' ')[1])
  })

  it('fires again on a burst in one aggregator batch after the keys were lost in a quiet spell', () => {
    const p = createPipeline(rulesOf(supplyTone))
    expect(p.publish(burst('a', T0))).toHaveLength(1)
    p.dropIndicators()
    // Three of the next burst's headlines in one update, three hours on: count 3 after 4.
    const again = p.publish(burst('b', T0 + 3 * HOUR_MS).slice(0, 3))
    expect(again.map((a) => a.publishedAt)).toEqual([new Date(T0 + 3 * HOUR_MS + 10 * MIN_MS).toISOString()])
  })

  it('re-arms an activity line too: volume', () => {
    const volume = rulesOf({
      ...supplyTone,
      id: 'magnets_volume',
      field: 'volume',
      window: '1h',
      direction: 'up',
      threshold: 3,
      hysteresis: 1,
      minVolume: 0,
    })
    const p = createPipeline(volume)
    expect(p.publish(burst('a', T0))).toHaveLength(1)
    p.dropIndicators()
    // Three in one update: 3 is not back below 2 on its own; the silence before them takes it to 0.
    expect(p.publish(burst('b', T0 + 9 * DAY_MS).slice(0, 3))).toHaveLength(1)
  })

  it('stays disarmed when the keys are lost in the middle of an episode, which pages once', () => {
    // The news goes on every five minutes for two hours; the keys are lost just after the alert.
    const p = createPipeline(rulesOf(supplyTone))
    const episode = Array.from({ length: 24 }, (_, i) => magnets(`e-${i}`, T0 + i * 5 * MIN_MS))
    const alerts = episode.map((h, i) => {
      if (i === 3) p.dropIndicators()
      return p.publish([h]).length
    })
    expect(alerts.indexOf(1)).toBe(2)
    expect(alerts.reduce((a, b) => a + b)).toBe(1)
    // Well past the line again in the new run: the line was not re-armed.
    expect(p.read(MAGNETS, T0 + 115 * MIN_MS).mean['1h']).toBeLessThan(-0.6)
  })

  it('stays disarmed through a short pause that a window shows, the old reading not back past the band', () => {
    // The keys lost just after the alert; the next headline twenty minutes later, alone in its 15 min
    // window (so silent for five minutes after the last update), then every five minutes. Five minutes
    // of decay leave the 1h mean near -0.6, not back above -0.35: read on the new run's start from
    // nothing (0) instead, the line would re-arm and page again for the same episode.
    const p = createPipeline(rulesOf(supplyTone))
    expect(oneByOne(p, burst('a', T0).slice(0, 3)).map((a) => a.length)).toEqual([0, 0, 1])
    p.dropIndicators()
    const resumed = Array.from({ length: 12 }, (_, i) => magnets(`r-${i}`, T0 + 30 * MIN_MS + i * 5 * MIN_MS))
    expect(oneByOne(p, resumed).flat()).toEqual([])
    expect(p.read(MAGNETS, T0 + 85 * MIN_MS).mean['1h']).toBeLessThan(-0.6)
  })

  it('stays disarmed when the keys are rebuilt from a replay reaching back into the episode', () => {
    const p = createPipeline(rulesOf(supplyTone))
    expect(p.publish(burst('a', T0))).toHaveLength(1)
    p.dropIndicators()
    // Kafka read again from ten minutes into the episode, with the next headline: a new run of three
    // (after the line's four), past the line, and no window holding it starts after the last update.
    const rebuilt = [...burst('a', T0).slice(2), magnets('b-0', T0 + 20 * MIN_MS)]
    expect(p.publish(rebuilt)).toEqual([])
    expect(p.read(MAGNETS, T0 + 20 * MIN_MS)).toMatchObject({ count: 3, volume: { '1h': 3 } })
    expect(p.read(MAGNETS, T0 + 20 * MIN_MS).mean['1h']).toBeLessThan(-0.5)
  })
})

import { readFileSync } from 'node:fs'
import type { Dimension, Scope } from '@tradepulse/contracts'
import {
  applyContributions,
  createIndicatorState,
  readIndicator,
  resolveIndicatorConfig,
} from '@tradepulse/indicators'
import { describe, expect, it } from 'vitest'
import { evaluateIndicator } from './evaluate-indicator.ts'
import { parseRules } from './parse-rules.ts'
import { RULE_FILES } from './rule-files.ts'

const HOUR_MS = 3_600_000
const config = resolveIndicatorConfig()
const T0 = Date.UTC(2026, 0, 5)
/** A week of hourly counts repeating `cycle`: a steady scope's baseline. */
const weekOf = (cycle: number[]) => Array.from({ length: 168 }, (_, i) => cycle[i % cycle.length]!)
/** Mean 6, standard deviation 2.08 (a Poisson 6/h count's is 2.45). */
const SIX_AN_HOUR = weekOf([4, 6, 8, 6, 3, 9])
/** Mean 1, standard deviation 0.82 (read as 1, the floor minBuzzSd). */
const ONE_AN_HOUR = weekOf([0, 1, 2, 1, 0, 2])
/** Mean 0.5, standard deviation 0.5 (read as 1). */
const HALF_AN_HOUR = weekOf([0, 1])

function defaultRules() {
  const r = parseRules(readFileSync(RULE_FILES.defaultRules, 'utf8'), 'yaml')
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return r
}

/**
 * The default rules' buzz alerts on a scope with the week of hourly counts `week`, then one hour of
 * `lastHour` headlines, all evenly spread over their hours, each applied and read as the aggregator does
 * and evaluated as the alerter does (hysteresis carried from update to update) during that last hour.
 */
function buzzAlerts(dimension: Dimension, scope: Scope, week: number[], lastHour: number): string[] {
  const rules = defaultRules()
  const state = createIndicatorState(config)
  const hysteresis: Record<string, unknown> = {}
  const alerts: string[] = []
  const hours = [...week, lastHour]
  let id = 0
  hours.forEach((n, hour) => {
    for (let k = 0; k < n; k++) {
      const eventMs = T0 + hour * HOUR_MS + Math.floor(((k + 0.5) * HOUR_MS) / n)
      applyContributions(
        state,
        [{ dimension, scope, headlineId: `h${id++}`, eventMs, value: -0.2, weight: 0.8, sign: -1 }],
        eventMs,
        config,
      )
      if (hour < week.length) continue
      const update = readIndicator(state, { dimension, scope }, eventMs, config)
      const e = evaluateIndicator(rules, update, hysteresis as never, eventMs)
      Object.assign(hysteresis, e.state)
      for (const c of e.candidates)
        if (c.alert.ruleKind === 'buzz_spike') alerts.push(`${c.alert.rule} ${c.alert.value.toFixed(2)}`)
    }
  })
  return alerts
}

describe('the default buzz spike rules on steady scopes and real spikes', () => {
  const cases = [
    ['tariff', { kind: 'region', id: 'BR' }, 'tariff_buzz_spike'],
    ['supplyChain', { kind: 'commodity', id: 'copper' }, 'supply_buzz_spike'],
  ] as const

  // The first default (threshold 3, minVolume 5) paged these two: about 3 steady 6/h scopes in 4, and
  // more than half of the 1/h ones, within 72 hours (`pnpm eval buzz`).
  it.each(cases)(
    '%s: a 6/h scope with an hour of 14 headlines (about 1 hour in 280 of Poisson 6/h) pages nobody',
    (d, scope) => {
      // Buzz up to (14 − 6) / 2.08 = 3.85.
      expect(buzzAlerts(d, scope, SIX_AN_HOUR, 14)).toEqual([])
    },
  )

  it.each(cases)('%s: a 1/h scope with an hour of 7 headlines (buzz 6) pages nobody', (d, scope) => {
    // Past the threshold of 6, but under the volume floor of 8.
    expect(buzzAlerts(d, scope, ONE_AN_HOUR, 7)).toEqual([])
  })

  it.each(cases)(
    '%s: a 6/h scope with an hour of 30 headlines (the rate ×5) pages once',
    (d, scope, rule) => {
      const alerts = buzzAlerts(d, scope, SIX_AN_HOUR, 30)
      expect(alerts).toHaveLength(1)
      expect(alerts[0]!.startsWith(`${rule} `)).toBe(true)
    },
  )

  it.each(cases)(
    '%s: a new story, 10 headlines in an hour on a 0.5/h scope, pages once',
    (d, scope, rule) => {
      const alerts = buzzAlerts(d, scope, HALF_AN_HOUR, 10)
      expect(alerts).toHaveLength(1)
      expect(alerts[0]!.startsWith(`${rule} `)).toBe(true)
    },
  )
})

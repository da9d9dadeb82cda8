import { readFileSync } from 'node:fs'
import { DEFAULT_INDICATOR_CONFIG } from '@tradepulse/indicators'
import { describe, expect, it } from 'vitest'
import { evaluateHeadline } from './evaluate-headline.ts'
import { evaluateIndicator } from './evaluate-indicator.ts'
import { parseDesks } from './parse-desks.ts'
import { parseRules } from './parse-rules.ts'
import { formatFromPath } from './parse-text.ts'
import { routeAlert } from './route-alert.ts'
import { RULE_FILES } from './rule-files.ts'
import { indicatorUpdate, scoredHeadline, T0 } from './test-fixtures.ts'

// The shipped files must name only labels the default indicator config produces.
const labels = {
  halfLifeLabels: Object.keys(DEFAULT_INDICATOR_CONFIG.halfLivesMs),
  windowLabels: Object.keys(DEFAULT_INDICATOR_CONFIG.windowsMs),
}

function load(path: string) {
  const r = parseRules(readFileSync(path, 'utf8'), formatFromPath(path), labels)
  if (!r.ok) throw new Error(`${path}: ${JSON.stringify(r.errors)}`)
  return r
}

function desks() {
  const r = parseDesks(readFileSync(RULE_FILES.desks, 'utf8'), 'yaml')
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return r.desks
}

describe('shipped rule files', () => {
  it('default rules parse and cover every rule kind', () => {
    const r = load(RULE_FILES.defaultRules)
    expect(new Set(r.rules.map((x) => x.kind))).toEqual(
      new Set(['headline_shock', 'level', 'momentum_shift', 'buzz_spike', 'uncertainty_spike']),
    )
  })

  it('desks parse: tariff, supply chain and risk', () => {
    expect(desks().map((d) => d.id)).toEqual(['tariff', 'supply_chain', 'risk'])
  })

  it('bench rules parse', () => {
    expect(load(RULE_FILES.benchRules).rules.length).toBeGreaterThan(0)
  })

  it('default rules route a tariff escalation on CN to the tariff desk', () => {
    const h = scoredHeadline('h', { tariff: -0.8, relevance: 0.85, confidence: 0.7, regions: ['US', 'CN'] })
    const { candidates } = evaluateHeadline(load(RULE_FILES.defaultRules), h, T0)
    expect(candidates.map((c) => `${c.alert.rule}@${c.alert.scope.id}`)).toEqual([
      'tariff_escalation_headline@US',
      'tariff_escalation_headline@CN',
    ])
    expect(routeAlert(candidates[1]!.alert, desks())).toEqual(['tariff'])
  })

  it('default rules send an enacted export curb on magnets to the supply-chain and risk desks', () => {
    const h = scoredHeadline('h', {
      tariff: -0.8,
      supplyChain: -0.5,
      relevance: 0.9,
      regions: ['CN'],
      commodities: ['rare_earths', 'magnets'],
      events: [{ type: 'export_control' }],
    })
    const { candidates } = evaluateHeadline(load(RULE_FILES.defaultRules), h, T0)
    const curb = candidates.find(
      (c) => c.alert.rule === 'critical_input_curb' && c.alert.scope.id === 'magnets',
    )
    expect(curb?.alert.severity).toBe('critical')
    expect(routeAlert(curb!.alert, desks())).toEqual(['supply_chain', 'risk'])
  })

  it('default rules key a retaliation apart from the tariff rise it answers, and a rewrite of the rise with it', () => {
    const rules = load(RULE_FILES.defaultRules)
    const enacted = (id: string, events: object[]) =>
      evaluateHeadline(
        rules,
        scoredHeadline(id, { tariff: -0.85, relevance: 0.9, confidence: 0.8, regions: ['CN'], events }),
        T0,
      ).candidates.find((c) => c.alert.rule === 'trade_measure_enacted')!
    const rise = enacted('rise', [{ type: 'tariff_raised' }])
    const answer = enacted('answer', [{ type: 'tariff_raised' }, { type: 'retaliation' }])
    const rewrite = enacted('rewrite', [{ type: 'tariff_raised' }])
    expect(answer.cooldownKey).not.toBe(rise.cooldownKey)
    expect(answer.alert.id).not.toBe(rise.alert.id)
    expect(rewrite.cooldownKey).toBe(rise.cooldownKey)
  })

  it('sends a supply disruption on every sector the default rules watch to the supply-chain desk', () => {
    const rules = load(RULE_FILES.defaultRules)
    const watched = rules.rules.find((r) => r.id === 'supply_disruption_headline')!.scopes
    for (const filter of watched) {
      const sector = filter.replace(/^sector:/, '')
      const h = scoredHeadline(`h-${sector}`, { supplyChain: -0.8, relevance: 0.9, sectors: [sector] })
      const alert = evaluateHeadline(rules, h, T0).candidates.find((c) => c.alert.scope.id === sector)?.alert
      expect(alert, filter).toBeDefined()
      expect(routeAlert(alert!, desks()), filter).toContain('supply_chain')
    }
  })

  it('bench rules fire on ordinary headlines and indicator updates', () => {
    const bench = load(RULE_FILES.benchRules)
    const headlines = [
      scoredHeadline('a', { tariff: -0.3, regions: ['US'] }),
      scoredHeadline('b', { supplyChain: 0.2 }),
      scoredHeadline('c', { market: 0.15 }),
    ]
    for (const h of headlines)
      expect(evaluateHeadline(bench, h, T0).candidates.length, h.id).toBeGreaterThan(0)
    const update = indicatorUpdate({ mean: { '15m': -0.1, '1h': 0, '24h': 0 }, momentum: 0.05, buzz: 1 })
    expect(evaluateIndicator(bench, update, {}, T0).candidates.length).toBeGreaterThan(0)
  })
})

// The shipped default rules on headlines the real scorer reads (not fixture scores): a measure taken
// pages the desks that act on it within seconds, and talk of one does not page them as taken.
import { readFileSync } from 'node:fs'
import type { ScoredHeadline } from '@tradepulse/contracts'
import { DEFAULT_INDICATOR_CONFIG } from '@tradepulse/indicators'
// Relative: the alerting package does not depend on the scorer, only this test reads through it.
import { createScorer } from '@tradepulse/scoring'
import { describe, expect, it } from 'vitest'
import { evaluateHeadline } from './evaluate-headline.ts'
import { parseRules } from './parse-rules.ts'
import { RULE_FILES } from './rule-files.ts'
import { T0 } from './test-fixtures.ts'

const parsed = parseRules(readFileSync(RULE_FILES.defaultRules, 'utf8'), 'yaml', {
  halfLifeLabels: Object.keys(DEFAULT_INDICATOR_CONFIG.halfLivesMs),
  windowLabels: Object.keys(DEFAULT_INDICATOR_CONFIG.windowsMs),
})
if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors))
const rules = parsed
const scorer = createScorer()

/** The headline as the scorer service publishes it (services/scorer/src/score-headline.ts). */
function scored(headline: string): ScoredHeadline {
  const at = new Date(T0).toISOString()
  const r = scorer.score({ headline })
  return {
    id: 'h',
    source: 'test',
    headline,
    publishedAt: at,
    ingestedAt: at,
    ...r,
    truncated: r.truncated,
    scoredAt: at,
  }
}

/** The rules the default file fires on a headline, each once. */
function firing(headline: string): string[] {
  return [...new Set(evaluateHeadline(rules, scored(headline), T0).candidates.map((c) => c.alert.rule))]
}

const CRITICAL_TARIFF = ['trade_measure_enacted', 'trade_measure_reversed', 'tariff_escalation_headline']

describe('default rules on the real scorer: measures taken', () => {
  // One cue of a done measure weighing 0.8 scores -0.71: it clears the warning threshold (0.68) but not
  // the critical rules' (0.75), which need a full-weight cue (-0.80): commentary on a measure already in
  // place scores as much.
  it.each([
    'Beijing retaliates against new U.S. duties',
    'Beijing unveils additional duties on U.S. pork',
    'Canada retaliates against U.S. steel tariffs',
    "EU's retaliatory tariffs on U.S. whiskey took effect on Friday",
  ])('%s fires the warning rule, not the critical one', (headline) => {
    const got = firing(headline)
    expect(got, headline).toContain('tariff_escalation_headline')
    expect(got, headline).not.toContain('trade_measure_enacted')
  })

  it.each([
    // A talk word's participle before its noun describes the noun: what the clause does to it is done.
    [
      'Long-expected U.S. duties on Chinese steel take effect',
      ['tariff_escalation_headline', 'trade_measure_enacted'],
    ],
    [
      'Much-expected U.S. duty hike on Chinese goods takes effect',
      ['tariff_escalation_headline', 'trade_measure_enacted'],
    ],
    [
      'Expected U.S. duties on Chinese solar panels take effect',
      ['tariff_escalation_headline', 'trade_measure_enacted'],
    ],
    [
      'Washington and Beijing sign widely expected trade pact',
      ['tariff_relief_headline', 'trade_measure_reversed'],
    ],
    [
      'Beijing and Washington sign the long-expected trade pact',
      ['tariff_relief_headline', 'trade_measure_reversed'],
    ],
  ])('%s fires %j', (headline, want) => {
    const got = firing(headline)
    for (const rule of want) expect(got, headline).toContain(rule)
    expect(
      scored(headline).events.filter((e) => e.dimension === 'tariff' && e.threat),
      headline,
    ).toEqual([])
  })

  // (Guards: a measure announced with its date, or in headline "to", is decided, not talk.)
  it.each([
    'Washington will raise duties on Chinese goods on Friday',
    'New U.S. duties on Chinese goods will take effect Monday',
    'Beijing to impose duties on $60 billion of American goods',
    'Washington slaps 25% duties on French cheese',
  ])('%s pages the critical desk', (headline) => {
    expect(firing(headline), headline).toContain('trade_measure_enacted')
  })
})

describe('default rules on the real scorer: talk', () => {
  it.each([
    'Commerce secretary expects to raise duties on Chinese solar panels',
    "President 'inclined' to impose fresh tariffs on European cars, lawmaker says",
    'Beijing says it will retaliate if Washington imposes more tariffs',
    'If Washington raises duties, Beijing will retaliate',
    'Treasury chief predicts Washington will clinch trade deal with Beijing',
    'Negotiators say U.S., China close to trade deal',
    // The future and preparing are talk too, unless a date schedules the act.
    'Beijing says it will hit back against new U.S. duties',
    'U.S. Commerce Department will impose duties on Chinese drones',
    'Brussels readies retaliatory duties on American motorcycles',
    'Beijing reserves the right to retaliate against U.S. duties',
    "Beijing says it has no choice but to retaliate against Washington's duties",
    'EU moves to head off U.S. car tariffs',
    'Mexico changes trade practices to avert U.S. tariffs',
  ])('%s pages no desk as if a measure were taken or reversed', (headline) => {
    const h = scored(headline)
    expect(
      firing(headline).filter((r) => CRITICAL_TARIFF.includes(r)),
      headline,
    ).toEqual([])
    // Its measures are talk: threatened, and a tariff averted is no tariff cut.
    expect(
      h.events.filter((e) => e.dimension === 'tariff' && !e.threat),
      headline,
    ).toEqual([])
    expect(
      h.events.map((e) => e.type),
      headline,
    ).not.toContain('tariff_cut')
  })

  it('marks an act that a threat word governs as threatened, however it is named', () => {
    const h = scored('White House threatens new duties on Beijing in retaliation for hacking')
    expect(h.events.map((e) => [e.type, e.threat])).toEqual([
      ['tariff_raised', true],
      ['retaliation', true],
    ])
  })

  it('reads a tariff averted as weak relief with no event, and a trade war averted as ended', () => {
    const avert = scored('Mexico changes trade practices to avert U.S. tariffs')
    expect(avert.events.map((e) => e.type)).not.toContain('tariff_cut')
    expect(Math.abs(avert.scores.tariff.score)).toBeLessThan(0.5)
    expect(scored('U.S. lifts tariffs on Chinese steel').events.map((e) => e.type)).toEqual(['tariff_cut'])
  })
})

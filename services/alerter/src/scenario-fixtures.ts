// A scripted scenario for the alerter's tests: headlines scored by the real scorer, indicator updates
// written by hand, a rules file and a desks file, and the alerts they must produce. Not exported from
// index; tests import it as @tradepulse/alerter/scenario.
import type { Headline, IndicatorUpdate, ScoredHeadline } from '@tradepulse/contracts'
import { indicatorKey } from '@tradepulse/indicators'
import { scoreHeadline } from '@tradepulse/scorer'
import { createScorer } from '@tradepulse/scoring'

/** Event time of the scenario, on an hour boundary so cooldown buckets (15 and 30 min) are easy to follow. */
export const SCENARIO_T0 = Date.UTC(2026, 2, 2, 8)
const MIN = 60_000

/** The scenario's one level rule (a rules-file list item): the 1h tariff mean on CN below -0.5. */
export function cnLevelRule(cooldownMs: number): string {
  return `  - id: tariff_level_cn
    kind: level
    dimensions: [tariff]
    scopes: [region:CN]
    field: mean
    window: 1h
    direction: down
    threshold: -0.5
    hysteresis: 0.15
    severity: warning
    cooldownMs: ${cooldownMs}
`
}

export const SCENARIO_RULES = `# Scenario rules: headline shocks both ways on trade and supply, an export-curb rule, one level rule.
version: scenario-1
rules:
  - id: tariff_down
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:US, region:CN, region:EU]
    direction: down
    threshold: 0.7
    minRelevance: 0.6
    minConfidence: 0.4 # keeps out "weighs tariffs" threats
    severity: warning
    cooldownMs: 900000
  - id: tariff_up
    kind: headline_shock
    dimensions: [tariff]
    scopes: [region:US, region:CN, region:EU]
    direction: up
    threshold: 0.7
    minRelevance: 0.6
    eventTypes: [truce, tariff_suspended, tariff_cut, deal]
    severity: info
    cooldownMs: 900000
  - id: supply_down
    kind: headline_shock
    dimensions: [supplyChain]
    scopes: [commodity:rare_earths, commodity:magnets, commodity:semiconductors, sector:autos]
    direction: down
    threshold: 0.6
    minRelevance: 0.6
    severity: warning
    cooldownMs: 900000
  - id: supply_up
    kind: headline_shock
    dimensions: [supplyChain]
    scopes: [commodity:rare_earths]
    direction: up
    threshold: 0.6
    minRelevance: 0.6
    severity: info
    cooldownMs: 900000
  - id: export_curb
    kind: headline_shock
    dimensions: [tariff, supplyChain]
    scopes: [commodity:rare_earths, commodity:semiconductors]
    direction: down
    threshold: 0.4
    minRelevance: 0.6
    eventTypes: [export_control, supply_halt]
    includeThreats: false
    severity: critical
    cooldownMs: 1800000
${cnLevelRule(0)}`

/** Desks; the tariff desk gets a webhook when a URL is given. */
export function scenarioDesks(webhookUrl?: string, secretEnv = 'SCENARIO_TARIFF_SECRET'): string {
  const hook = webhookUrl ? `\n    webhook:\n      url: ${webhookUrl}\n      secretEnv: ${secretEnv}` : ''
  return `version: scenario-1
desks:
  - id: tariff
    dimensions: [tariff]
    scopes: [region:US, region:CN, region:EU]
    minSeverity: info${hook}
  - id: supply
    dimensions: [supplyChain, tariff]
    scopes: ["commodity:*", "sector:*"]
    minSeverity: info
  - id: risk
    scopes: ["*"]
    minSeverity: critical
`
}

/** The script, in order: minutes after T0 and text. */
export const SCENARIO_SCRIPT: { id: string; atMin: number; text: string }[] = [
  { id: 'esc1', atMin: 10, text: 'US raises tariffs on Chinese steel to 25% from 10%' },
  // Ten minutes later, in the next 15-minute bucket: the cooldown holds it back.
  { id: 'esc2', atMin: 20, text: 'China retaliates with tariffs on US soybeans and autos' },
  { id: 'curb', atMin: 40, text: 'US imposes export controls on chips to China' },
  { id: 'truce', atMin: 60, text: 'US and China agree to a 90-day tariff truce' },
  { id: 'halt', atMin: 70, text: 'China halts exports of rare earths to US automakers' },
  { id: 'resume', atMin: 100, text: 'China resumes rare earth exports, grants export licences' },
  { id: 'shortage', atMin: 110, text: 'Shortage of chips forces automakers to halt production' },
  { id: 'noise1', atMin: 120, text: 'Local bakery wins regional bread award' },
  { id: 'noise2', atMin: 125, text: 'Stocks rise as investors cheer earnings' },
  { id: 'threat', atMin: 130, text: 'EU weighs tariffs on US whiskey' },
]

/** The script scored by the real scorer; ingestedAt is the caller's now so latencies stay small. */
export function scenarioHeadlines(ingestedAtMs: number, idPrefix = ''): ScoredHeadline[] {
  const scorer = createScorer()
  return SCENARIO_SCRIPT.map((s) => {
    const h: Headline = {
      id: `${idPrefix}${s.id}`,
      source: 'scenario',
      headline: s.text,
      publishedAt: new Date(SCENARIO_T0 + s.atMin * MIN).toISOString(),
      ingestedAt: new Date(ingestedAtMs).toISOString(),
      truncated: false,
    }
    return scoreHeadline(scorer, h, new Date(ingestedAtMs))
  })
}

/** Tariff mean on CN going -0.3, -0.6 (fires), -0.7, -0.4 (still disarmed), -0.2 (re-arms), -0.55 (fires); US ignored. */
export function scenarioUpdates(updatedAtMs: number): IndicatorUpdate[] {
  const update = (region: string, atMin: number, mean: number): IndicatorUpdate => ({
    key: indicatorKey('tariff', { kind: 'region', id: region }),
    dimension: 'tariff',
    scope: { kind: 'region', id: region },
    asOf: new Date(SCENARIO_T0 + atMin * MIN).toISOString(),
    mean: { '15m': mean, '1h': mean, '24h': mean / 2 },
    volume: { '15m': 2, '1h': 5, '24h': 20 },
    buzz: 0.5,
    momentum: mean / 2,
    diffusion: -0.5,
    count: 20,
    updatedAt: new Date(updatedAtMs).toISOString(),
  })
  return [
    update('CN', 15, -0.3),
    update('CN', 25, -0.6),
    update('CN', 35, -0.7),
    update('US', 35, -0.9),
    update('CN', 50, -0.4),
    update('CN', 65, -0.2),
    update('CN', 75, -0.55),
  ]
}

/** `<rule> <scope> <dimension> <direction> <trigger>`: the alerts the scenario must produce, in order per scope. */
export const SCENARIO_EXPECTED = [
  'tariff_down region:US tariff down esc1',
  'tariff_down region:CN tariff down esc1',
  'tariff_down region:US tariff down curb',
  'tariff_down region:CN tariff down curb',
  'export_curb commodity:semiconductors tariff down curb',
  'export_curb commodity:semiconductors supplyChain down curb',
  'tariff_up region:US tariff up truce',
  'tariff_up region:CN tariff up truce',
  // China's halt of its rare earth exports is an export control on trade as well (scorer 2.0.85).
  'tariff_down region:US tariff down halt',
  'tariff_down region:CN tariff down halt',
  'supply_down commodity:rare_earths supplyChain down halt',
  'supply_down sector:autos supplyChain down halt',
  'export_curb commodity:rare_earths tariff down halt',
  'export_curb commodity:rare_earths supplyChain down halt',
  'supply_up commodity:rare_earths supplyChain up resume',
  'supply_down commodity:semiconductors supplyChain down shortage',
  'supply_down sector:autos supplyChain down shortage',
  'export_curb commodity:semiconductors supplyChain down shortage',
  'tariff_level_cn region:CN tariff down @25',
  'tariff_level_cn region:CN tariff down @75',
]

/** Desk topics each rule's alerts go to with scenarioDesks(). */
export const SCENARIO_DESKS_BY_RULE: Record<string, string[]> = {
  tariff_down: ['tariff'],
  tariff_up: ['tariff'],
  tariff_level_cn: ['tariff'],
  supply_down: ['supply'],
  supply_up: ['supply'],
  export_curb: ['supply', 'risk'],
}

/** The severity of each scenario rule (SCENARIO_RULES). */
export const SCENARIO_SEVERITY_BY_RULE: Record<string, 'info' | 'warning' | 'critical'> = {
  tariff_down: 'warning',
  tariff_up: 'info',
  supply_down: 'warning',
  supply_up: 'info',
  export_curb: 'critical',
  tariff_level_cn: 'warning',
}

/**
 * What pages a desk once: the alerter sends a desk one copy per headline, however many of the desk's
 * scopes, dimensions and rules it fired on there, carried by the most severe of those alerts (the first
 * of them in the headline's order on a tie). `<rule> <headline>` for a headline alert, the whole
 * description for an indicator alert (`@<minutes>`). `description`: `<rule> <scope> <dimension>
 * <direction> <trigger>`.
 */
export function deskPage(description: string): string {
  const parts = description.split(' ')
  const trigger = parts.at(-1) ?? ''
  return trigger.startsWith('@') ? description : `${parts[0]} ${trigger}`
}

const RANK = { info: 0, warning: 1, critical: 2 } as const

/** The pages a desk gets for these alert descriptions (SCENARIO_EXPECTED by default), each once, sorted. */
export function scenarioDeskPages(
  desk: string,
  descriptions: readonly string[] = SCENARIO_EXPECTED,
): string[] {
  const routed = descriptions.filter((d) => SCENARIO_DESKS_BY_RULE[d.split(' ')[0] ?? '']?.includes(desk))
  // Per headline, the first of its most severe rules.
  const carriers = new Map<string, string>()
  for (const d of routed) {
    const trigger = d.split(' ').at(-1) ?? ''
    if (trigger.startsWith('@')) continue
    const rule = d.split(' ')[0] ?? ''
    const held = carriers.get(trigger)
    if (!held || RANK[SCENARIO_SEVERITY_BY_RULE[rule]!] > RANK[SCENARIO_SEVERITY_BY_RULE[held]!])
      carriers.set(trigger, rule)
  }
  return [
    ...new Set(
      routed
        .filter((d) => {
          const trigger = d.split(' ').at(-1) ?? ''
          return trigger.startsWith('@') || carriers.get(trigger) === d.split(' ')[0]
        })
        .map(deskPage),
    ),
  ].sort()
}

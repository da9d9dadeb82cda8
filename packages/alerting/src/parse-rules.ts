import { createHash } from 'node:crypto'
import type { Dimension } from '@tradepulse/contracts'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'
import {
  type ConfigError,
  type ConfigFormat,
  issuesToErrors,
  parseText,
  versionAsWritten,
  withLines,
} from './parse-text.ts'
import { type IndicatorRule, type Rule, RulesFile } from './rule-schema.ts'

/** Parsed, validated rules with the versions every alert they make will carry. */
export type RuleSet = {
  /** The file's own `version`. */
  version: string
  /** `<version>+<hash of the normalised rules>`: comments and layout do not change it, any rule edit does. */
  rulesVersion: string
  rules: Rule[]
}

export type ParseRulesResult = ({ ok: true } & RuleSet) | { ok: false; errors: ConfigError[] }

export type ParseRulesOptions = {
  /** Labels of IndicatorUpdate.mean (half-lives). When given, rules naming another label are refused. */
  halfLifeLabels?: readonly string[]
  /** Labels of IndicatorUpdate.volume (windows). When given, rules naming another label are refused. */
  windowLabels?: readonly string[]
}

/** Fills the defaults that depend on other fields, so a parsed rule states everything it does. */
function normalise(rule: Rule): Rule {
  if (rule.kind === 'level' && rule.window === undefined) {
    if (rule.field === 'mean') return { ...rule, window: ALERTING_DEFAULTS.meanWindow }
    if (rule.field === 'volume') return { ...rule, window: ALERTING_DEFAULTS.volumeWindow }
  }
  if (rule.kind === 'uncertainty_spike' && rule.source === 'indicator' && rule.window === undefined) {
    return { ...rule, window: ALERTING_DEFAULTS.meanWindow }
  }
  return rule
}

/**
 * The values an indicator rule's watched measure can take on one dimension: from min to max, each end
 * reached or (open) only approached.
 */
type Range = { min: number; max: number; minOpen: boolean; maxOpen: boolean; text: string }
const range = (min: number, max: number, minOpen: boolean, maxOpen: boolean, text?: string): Range => ({
  min,
  max,
  minOpen,
  maxOpen,
  text: text ?? `${minOpen ? '(' : '['}${min}, ${max}${maxOpen ? ')' : ']'}`,
})
const MEAN = range(-1, 1, true, true)
const UNC_MEAN = range(0, 1, false, true)
const DIFFUSION = range(-1, 1, false, false)
const UNC_DIFFUSION = range(0, 1, false, false)
const MOMENTUM = range(-2, 2, true, true)
const UNC_MOMENTUM = range(-1, 1, true, true)
const VOLUME = range(0, Number.POSITIVE_INFINITY, false, true, 'at least 0')
const ANY = range(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, true, true, 'any number')

/**
 * The range of what `rule` watches on `dimension` (IndicatorUpdate). A mean lies in (-1, 1) ([0, 1) on
 * uncertainty, whose scores are in [0, 1]): the indicator's prior (a neutral pseudo-headline of weight
 * 1 in every mean) keeps it off ±1 however many headlines agree. Momentum (the short evidence shrunk
 * toward the long mean, minus it) lies in (-2, 2) ((-1, 1) on uncertainty), diffusion in [-1, 1] ([0, 1]
 * on uncertainty, whose headlines count as carrying uncertainty or not, never against it), volume
 * is at least 0, buzz (a z-score) is unbounded. (count, the key's lifetime total, is refused apart.)
 */
function rangeOf(rule: IndicatorRule, dimension: Dimension): Range {
  const unc = dimension === 'uncertainty'
  if (rule.kind === 'uncertainty_spike') return UNC_MEAN
  if (rule.kind === 'buzz_spike') return ANY
  if (rule.kind === 'momentum_shift') return unc ? UNC_MOMENTUM : MOMENTUM
  switch (rule.field) {
    case 'mean':
      return unc ? UNC_MEAN : MEAN
    case 'diffusion':
      return unc ? UNC_DIFFUSION : DIFFUSION
    case 'momentum':
      return unc ? UNC_MOMENTUM : MOMENTUM
    case 'volume':
    case 'count':
      return VOLUME
    case 'buzz':
      return ANY
  }
}

/** True when some value of `r` reaches the line (≥ line going up, ≤ line going down). */
const reaches = (r: Range, side: 'up' | 'down', line: number) =>
  side === 'up' ? (r.maxOpen ? line < r.max : line <= r.max) : r.minOpen ? line > r.min : line >= r.min

/** The lines an indicator rule draws (as evaluateIndicator does): side, line. */
function linesOf(rule: IndicatorRule): { side: 'up' | 'down'; line: number }[] {
  const t = rule.threshold
  if (rule.kind === 'level' && rule.direction !== 'both') return [{ side: rule.direction, line: t }]
  const lines: { side: 'up' | 'down'; line: number }[] = []
  if (rule.direction !== 'down') lines.push({ side: 'up', line: t })
  if (rule.direction !== 'up') lines.push({ side: 'down', line: -t })
  return lines
}

/**
 * A rule that can never fire, or that fires once and never re-arms, is refused: on one of its
 * dimensions no line can be reached (a diffusion level at 3, a downward line on volume below 0, a mean
 * at -1), or a line's re-arm point lies outside the measure's range (an up line re-arms below
 * line − hysteresis, a down line above line + hysteresis), so the first alert would be its last;
 * any line on count, which only grows; and direction both with one side out of reach on every
 * dimension (a volume below -t), which watches the other side only.
 */
function reachCheck(rule: Rule, at: (field: string) => string): ConfigError[] {
  if (rule.kind === 'headline_shock' || (rule.kind === 'uncertainty_spike' && rule.source === 'headline'))
    return []
  if (rule.kind === 'level' && rule.field === 'count') {
    // Its lifetime total only grows: up, a line fires once and is never below it again; down, it is
    // past the line only on the key's first updates.
    return [
      {
        path: at('field'),
        message: `rule "${rule.id}": count is the indicator's lifetime total of headlines and only grows, so a line on it fires at most once per scope and never again: use volume (the headlines of a window) instead`,
      },
    ]
  }
  const measure =
    rule.kind === 'level' ? rule.field : rule.kind === 'uncertainty_spike' ? 'uncertainty mean' : rule.kind
  // Dimensions with one range share one message.
  const byRange = new Map<Range, Dimension[]>()
  for (const d of rule.dimensions as readonly Dimension[]) {
    const range = rangeOf(rule, d)
    byRange.set(range, [...(byRange.get(range) ?? []), d])
  }
  const errors: ConfigError[] = []
  // The sides some dimension's measure can reach, and what each dimension's range is.
  const reachedSides = new Set<'up' | 'down'>()
  const ons: string[] = []
  for (const [range, dimensions] of byRange) {
    const on = `${measure} on ${dimensions.join(', ')} is ${range.text}`
    ons.push(on)
    const lines = linesOf(rule).filter((l) => reaches(range, l.side, l.line))
    for (const l of lines) reachedSides.add(l.side)
    if (lines.length === 0) {
      errors.push({ path: at('threshold'), message: `rule "${rule.id}" can never be reached: ${on}` })
      continue
    }
    for (const l of lines) {
      // Values below (above) the re-arm point exist when it lies above the range's low (below its high) end.
      const rearm = l.side === 'up' ? l.line - rule.hysteresis : l.line + rule.hysteresis
      if (l.side === 'up' ? rearm > range.min : rearm < range.max) continue
      errors.push({
        path: at('hysteresis'),
        message: `rule "${rule.id}": the ${l.side} line at ${l.line} would never re-arm (it needs a value ${l.side === 'up' ? 'below' : 'above'} ${Number(rearm.toPrecision(12))}, and ${on}): use a smaller hysteresis or another threshold`,
      })
      break
    }
  }
  if (rule.direction === 'both' && reachedSides.size === 1) {
    // One side out of reach on every dimension (a volume, or the uncertainty mean, below -t): "both"
    // watched one side only, silently.
    const [side] = reachedSides
    const other = linesOf(rule).find((l) => l.side !== side)!
    errors.push({
      path: at('direction'),
      message: `rule "${rule.id}": with direction both, the ${other.side} line at ${other.line} can never be reached (${ons.join('; ')}), so only the ${side} line would fire: use direction ${side}`,
    })
  }
  return errors
}

/**
 * Checks that span fields, or need the whole file (duplicate ids, known labels). `written(i, field)`: the
 * file gives that field of rule i itself (the schema fills defaults, so a rule alone cannot tell).
 */
function crossCheck(
  rules: readonly Rule[],
  options: ParseRulesOptions,
  written: (i: number, field: string) => boolean,
): ConfigError[] {
  const errors: ConfigError[] = []
  const firstIndex = new Map<string, number>()
  const halfLives = options.halfLifeLabels && new Set(options.halfLifeLabels)
  const windows = options.windowLabels && new Set(options.windowLabels)
  const checkLabel = (
    i: number,
    field: string,
    label: string | undefined,
    known: Set<string> | undefined,
  ) => {
    if (label !== undefined && known && !known.has(label)) {
      errors.push({
        path: `rules[${i}].${field}`,
        message: `unknown label "${label}"; known: ${[...known].join(', ')}`,
      })
    }
  }
  rules.forEach((rule, i) => {
    const at = (field: string) => `rules[${i}].${field}`
    const first = firstIndex.get(rule.id)
    if (first === undefined) firstIndex.set(rule.id, i)
    else errors.push({ path: at('id'), message: `duplicate rule id "${rule.id}" (first at rules[${first}])` })

    if (
      rule.kind !== 'headline_shock' &&
      !(rule.kind === 'uncertainty_spike' && rule.source === 'headline')
    ) {
      checkLabel(i, 'volumeWindow', rule.volumeWindow, windows)
    }
    if (rule.kind === 'level') {
      if (rule.direction === 'both' && rule.threshold <= 0) {
        errors.push({
          path: at('threshold'),
          message: 'with direction both the threshold is a magnitude: use a number > 0',
        })
      }
      if (rule.window !== undefined && rule.field !== 'mean' && rule.field !== 'volume') {
        errors.push({ path: at('window'), message: `window applies to mean and volume, not ${rule.field}` })
      }
      checkLabel(i, 'window', rule.window, rule.field === 'mean' ? halfLives : windows)
    }
    errors.push(...reachCheck(rule, at))
    if (rule.kind === 'headline_shock' && rule.cooldownBy === 'event' && !rule.eventTypes) {
      errors.push({ path: at('cooldownBy'), message: 'cooldownBy event needs eventTypes to key by' })
    }
    if (rule.kind === 'headline_shock' && rule.dimensions.every((d) => d === 'market')) {
      // A market score has no relevance or confidence (both read as 1), and no event is on the market
      // dimension: given on a market-only rule, these seemed to hold alerts back while nothing did.
      const ignored: [string, string][] = [
        [
          'minRelevance',
          'minRelevance applies to tariff and supplyChain, and this rule watches market only: a market score has no relevance (it reads as 1)',
        ],
        [
          'minConfidence',
          'minConfidence applies to tariff and supplyChain, and this rule watches market only: a market score has no confidence (it reads as 1)',
        ],
      ]
      if (!rule.eventTypes)
        ignored.push([
          'includeThreats',
          'includeThreats applies to eventTypes, or without them to tariff and supplyChain, and this rule watches market only: threatened events are on tariff or supplyChain, never on market (give eventTypes to drop threatened ones)',
        ])
      for (const [field, message] of ignored.filter(([f]) => written(i, f))) {
        errors.push({ path: at(field), message })
      }
    }
    if (rule.kind === 'uncertainty_spike') {
      if (rule.source === 'headline' && rule.window !== undefined) {
        errors.push({ path: at('window'), message: 'window applies to source indicator only' })
      }
      if (rule.source === 'indicator' && rule.relevantTo !== undefined) {
        errors.push({ path: at('relevantTo'), message: 'relevantTo applies to source headline only' })
      }
      // Fields the other source's evaluation reads and this one never does: given, they would seem to
      // hold alerts back (a volume floor, a band, a relevance) while nothing does.
      const ignored =
        rule.source === 'headline' ? ['hysteresis', 'minVolume', 'volumeWindow'] : ['minRelevance']
      if (rule.source === 'headline' && rule.relevantTo === undefined) ignored.push('minRelevance')
      for (const field of ignored.filter((f) => written(i, f))) {
        errors.push({
          path: at(field),
          message:
            field === 'minRelevance'
              ? 'minRelevance applies to source headline with relevantTo only (the relevance of those dimensions)'
              : `${field} applies to source indicator only`,
        })
      }
      checkLabel(i, 'window', rule.window, halfLives)
    }
  })
  return errors
}

/**
 * Parses a rules file (YAML or JSON text). An invalid file is refused as a whole with every field and
 * reason, so the caller can keep running on its previous rules.
 */
export function parseRules(
  text: string,
  format: ConfigFormat,
  options: ParseRulesOptions = {},
): ParseRulesResult {
  const parsed = parseText(text, format)
  if (!parsed.ok) return parsed
  const result = RulesFile.safeParse(versionAsWritten(parsed))
  if (!result.success)
    return { ok: false, errors: withLines(issuesToErrors(result.error.issues, parsed.value), parsed.lineOf) }
  const rules = result.data.rules.map(normalise)
  // The schema passed: `rules` is a list of objects, in the order of the parsed ones.
  const given = (parsed.value as { rules: Record<string, unknown>[] }).rules
  const errors = crossCheck(rules, options, (i, field) => given[i]?.[field] !== undefined)
  if (errors.length > 0) return { ok: false, errors: withLines(errors, parsed.lineOf) }
  const version = result.data.version
  const hash = createHash('sha256').update(JSON.stringify(rules)).digest('hex').slice(0, 12)
  return { ok: true, version, rulesVersion: `${version}+${hash}`, rules }
}

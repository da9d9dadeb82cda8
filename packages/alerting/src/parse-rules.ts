import { createHash } from 'node:crypto'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'
import { type ConfigError, type ConfigFormat, issuesToErrors, parseText } from './parse-text.ts'
import { type Rule, RulesFile } from './rule-schema.ts'

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

/** Checks that span fields, or need the whole file (duplicate ids, known labels). */
function crossCheck(rules: readonly Rule[], options: ParseRulesOptions): ConfigError[] {
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
      if (rule.field === 'mean' && Math.abs(rule.threshold) > 1) {
        errors.push({ path: at('threshold'), message: 'a mean lies in [-1, 1]; the threshold must too' })
      }
      if (rule.window !== undefined && rule.field !== 'mean' && rule.field !== 'volume') {
        errors.push({ path: at('window'), message: `window applies to mean and volume, not ${rule.field}` })
      }
      checkLabel(i, 'window', rule.window, rule.field === 'mean' ? halfLives : windows)
    }
    if (rule.kind === 'uncertainty_spike') {
      if (rule.source === 'headline' && rule.window !== undefined) {
        errors.push({ path: at('window'), message: 'window applies to source indicator only' })
      }
      if (rule.source === 'indicator' && rule.relevantTo !== undefined) {
        errors.push({ path: at('relevantTo'), message: 'relevantTo applies to source headline only' })
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
  const result = RulesFile.safeParse(parsed.value)
  if (!result.success) return { ok: false, errors: issuesToErrors(result.error.issues, parsed.value) }
  const rules = result.data.rules.map(normalise)
  const errors = crossCheck(rules, options)
  if (errors.length > 0) return { ok: false, errors }
  const version = result.data.version
  const hash = createHash('sha256').update(JSON.stringify(rules)).digest('hex').slice(0, 12)
  return { ok: true, version, rulesVersion: `${version}+${hash}`, rules }
}

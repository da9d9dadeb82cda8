import type { Desk } from './desk-schema.ts'
import { DesksFile } from './desk-schema.ts'
import {
  type ConfigError,
  type ConfigFormat,
  issuesToErrors,
  parseText,
  versionAsWritten,
  withLines,
} from './parse-text.ts'
import { isAtLeast } from './route-alert.ts'
import type { Rule } from './rule-schema.ts'
import { scopeFiltersMeet } from './scope-filter.ts'

export type DeskSet = { version: string; desks: Desk[] }

export type ParseDesksResult =
  | ({
      ok: true
      /**
       * The line of the text a field path (`desks[0].webhook.secretEnv`) names, when the format keeps
       * lines (YAML): for what the reader checks beyond the file (the alerter: the webhook secrets).
       */
      lineOf?: (path: string) => number | undefined
    } & DeskSet)
  | { ok: false; errors: ConfigError[] }

/** What of a rule decides whether its alerts can reach a desk. */
export type DeskRuleFacts = Pick<Rule, 'id' | 'dimensions' | 'severity'> & {
  /** The rule's scope filter; absent: not checked against the desk's. */
  scopes?: readonly string[]
}

/** Most scope filter entries a refusal lists of a rule or a desk (a filter may hold hundreds). */
const SCOPES_LISTED = 10
const listScopes = (scopes: readonly string[]) =>
  `${scopes.slice(0, SCOPES_LISTED).join(', ')}${scopes.length > SCOPES_LISTED ? `, … (${scopes.length})` : ''}`

export type ParseDesksOptions = {
  /**
   * The rules of the rules file the desks go with. Given, a desk whose `rules:` names a rule not among
   * them, or one whose alerts it can never take, is refused: it would silently get nothing of it.
   */
  rules?: readonly DeskRuleFacts[]
}

/** Most rule ids an unknown-rule refusal lists (a rules file may hold hundreds). */
const RULE_IDS_LISTED = 20

/**
 * Each rule a desk names in `rules:` that the desk would get nothing of, at its field (`desks[0].rules[1]`),
 * naming the desk and the rule: one the rules file does not have (listing those it has), one alerting on
 * none of the desk's dimensions, one whose severity is below the desk's minSeverity (an alert has its
 * rule's severity), or one watching no scope the desk follows (an alert is on a scope its rule watches). A rule there but disabled (`enabled: false`) is known: the desk gets its alerts again
 * when it is enabled.
 */
export function deskRuleRefusals(
  desks: readonly (Pick<Desk, 'id' | 'rules' | 'dimensions' | 'minSeverity'> & {
    scopes?: readonly string[]
  })[],
  rules: readonly DeskRuleFacts[],
): ConfigError[] {
  const byId = new Map(rules.map((r) => [r.id, r]))
  const ids = rules.map((r) => r.id)
  const listed =
    ids.length === 0
      ? 'it has none'
      : `its rules: ${ids.slice(0, RULE_IDS_LISTED).join(', ')}${ids.length > RULE_IDS_LISTED ? `, … (${ids.length})` : ''}`
  const errors: ConfigError[] = []
  desks.forEach((desk, i) => {
    desk.rules?.forEach((id, j, all) => {
      // A repeat is refused as such (deskRepeatRefusals); what is wrong with the rule, at its first place.
      if (all.indexOf(id) !== j) return
      const rule = byId.get(id)
      const names = `desk "${desk.id}" names rule "${id}"`
      const why = !rule
        ? `which the rules file does not have, so the desk would get nothing of it (${listed})`
        : !rule.dimensions.some((d) => desk.dimensions.includes(d))
          ? `which alerts on ${rule.dimensions.join(', ')} and the desk follows ${desk.dimensions.join(', ')} only, so the desk would get nothing of it`
          : !isAtLeast(rule.severity, desk.minSeverity)
            ? `whose alerts are ${rule.severity}, below the desk's minSeverity ${desk.minSeverity}, so the desk would get nothing of it`
            : rule.scopes && desk.scopes && !scopeFiltersMeet(rule.scopes, desk.scopes)
              ? `which watches ${listScopes(rule.scopes)} and the desk follows ${listScopes(desk.scopes)} only, so the desk would get nothing of it`
              : undefined
      if (why) errors.push({ path: `desks[${i}].rules[${j}]`, message: `${names}, ${why}` })
    })
  })
  return errors
}

/**
 * Each entry of a desk's `dimensions` or `rules` listed again, at its own field (`desks[0].rules[2]`),
 * naming the desk, the value and where it was first listed. A repeat changes nothing of the routing, but
 * it is most likely a slip for another value (`[tariff, tariff]` for `[tariff, supplyChain]`), which the
 * desk would then silently not get; the rules file refuses a repeated dimension of a rule alike.
 */
export function deskRepeatRefusals(
  desks: readonly Pick<Desk, 'id' | 'dimensions' | 'rules'>[],
): ConfigError[] {
  const errors: ConfigError[] = []
  desks.forEach((desk, i) => {
    for (const [field, what] of [
      ['dimensions', 'dimension'],
      ['rules', 'rule'],
    ] as const) {
      const first = new Map<string, number>()
      desk[field]?.forEach((value, j) => {
        const k = first.get(value)
        if (k === undefined) first.set(value, j)
        else
          errors.push({
            path: `desks[${i}].${field}[${j}]`,
            message: `desk "${desk.id}" lists ${what} "${value}" twice (first at desks[${i}].${field}[${k}]): list each ${what} once`,
          })
      })
    }
  })
  return errors
}

/** Parses a desks file (YAML or JSON text); refused as a whole, with every field and reason. */
export function parseDesks(
  text: string,
  format: ConfigFormat,
  options: ParseDesksOptions = {},
): ParseDesksResult {
  const parsed = parseText(text, format)
  if (!parsed.ok) return parsed
  const result = DesksFile.safeParse(versionAsWritten(parsed))
  if (!result.success)
    return { ok: false, errors: withLines(issuesToErrors(result.error.issues, parsed.value), parsed.lineOf) }
  const errors: ConfigError[] = []
  const firstIndex = new Map<string, number>()
  result.data.desks.forEach((desk, i) => {
    const first = firstIndex.get(desk.id)
    if (first === undefined) firstIndex.set(desk.id, i)
    else
      errors.push({
        path: `desks[${i}].id`,
        message: `duplicate desk id "${desk.id}" (first at desks[${first}])`,
      })
  })
  errors.push(...deskRepeatRefusals(result.data.desks))
  if (options.rules) errors.push(...deskRuleRefusals(result.data.desks, options.rules))
  if (errors.length > 0) return { ok: false, errors: withLines(errors, parsed.lineOf) }
  const { version, desks } = result.data
  return parsed.lineOf ? { ok: true, version, desks, lineOf: parsed.lineOf } : { ok: true, version, desks }
}

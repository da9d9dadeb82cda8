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

export type DeskSet = { version: string; desks: Desk[] }

export type ParseDesksResult = ({ ok: true } & DeskSet) | { ok: false; errors: ConfigError[] }

export type ParseDesksOptions = {
  /**
   * The ids of the rules file the desks go with. Given, a desk whose `rules:` names a rule not among them
   * is refused: it would silently get nothing of it (an alert reaches a desk only by a rule it names).
   */
  ruleIds?: readonly string[]
}

/** Most rule ids an unknown-rule refusal lists (a rules file may hold hundreds). */
const RULE_IDS_LISTED = 20

/**
 * Each rule a desk names in `rules:` that `ruleIds` (the rules file's) does not have, at its field
 * (`desks[0].rules[1]`), naming the desk, the rule and the rules there are. A rule there but disabled
 * (`enabled: false`) is known: the desk gets its alerts again when it is enabled.
 */
export function unknownDeskRules(
  desks: readonly Pick<Desk, 'id' | 'rules'>[],
  ruleIds: readonly string[],
): ConfigError[] {
  const known = new Set(ruleIds)
  const listed =
    ruleIds.length === 0
      ? 'it has none'
      : `its rules: ${ruleIds.slice(0, RULE_IDS_LISTED).join(', ')}${ruleIds.length > RULE_IDS_LISTED ? `, … (${ruleIds.length})` : ''}`
  const errors: ConfigError[] = []
  desks.forEach((desk, i) => {
    desk.rules?.forEach((rule, j) => {
      if (!known.has(rule))
        errors.push({
          path: `desks[${i}].rules[${j}]`,
          message: `desk "${desk.id}" names rule "${rule}", which the rules file does not have, so the desk would get nothing of it (${listed})`,
        })
    })
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
  if (options.ruleIds) errors.push(...unknownDeskRules(result.data.desks, options.ruleIds))
  if (errors.length > 0) return { ok: false, errors: withLines(errors, parsed.lineOf) }
  return { ok: true, version: result.data.version, desks: result.data.desks }
}

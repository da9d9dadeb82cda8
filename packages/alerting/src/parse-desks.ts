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

/** Parses a desks file (YAML or JSON text); refused as a whole, with every field and reason. */
export function parseDesks(text: string, format: ConfigFormat): ParseDesksResult {
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
  if (errors.length > 0) return { ok: false, errors: withLines(errors, parsed.lineOf) }
  return { ok: true, version: result.data.version, desks: result.data.desks }
}

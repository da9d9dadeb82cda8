import { duplicateKey } from '@tradepulse/contracts'
import { isAlias, isCollection, LineCounter, type Node, parseDocument } from 'yaml'
import type { z } from 'zod'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'

export type ConfigFormat = 'yaml' | 'json'

/** One reason a rules or desks file was refused: the field (`rules[3].threshold`) and why. */
export type ConfigError = { path: string; message: string }

export type TextParseResult =
  | {
      ok: true
      value: unknown
      /** The line of the text a field path (`rules[3].threshold`) names, when the format keeps lines (YAML). */
      lineOf?: (path: string) => number | undefined
    }
  | { ok: false; errors: ConfigError[] }

const ROOT = '(root)'

/** The format a file name implies: `.json` is JSON, anything else (`.yaml`, `.yml`) is YAML. */
export function formatFromPath(path: string): ConfigFormat {
  return path.toLowerCase().endsWith('.json') ? 'json' : 'yaml'
}

/** `['rules', 3, 'threshold']` → `rules[3].threshold`. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return ROOT
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '')
}

/** Text to a plain value. Syntax errors carry the line, since there is no field yet to name. */
export function parseText(text: string, format: ConfigFormat): TextParseResult {
  if (text.length > ALERTING_DEFAULTS.maxFileChars) {
    return {
      ok: false,
      errors: [{ path: ROOT, message: `file is longer than ${ALERTING_DEFAULTS.maxFileChars} characters` }],
    }
  }
  if (format === 'json') {
    let value: unknown
    try {
      value = JSON.parse(text) as unknown
    } catch (err) {
      return { ok: false, errors: [{ path: ROOT, message: `invalid JSON: ${(err as Error).message}` }] }
    }
    const repeated = repeatedJsonKey(text)
    return repeated ? { ok: false, errors: [repeated] } : { ok: true, value }
  }
  // uniqueKeys catches a key written twice in one mapping, which YAML would otherwise resolve silently.
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { uniqueKeys: true, lineCounter })
  if (doc.errors.length > 0) {
    return {
      ok: false,
      // The first line only: it already names line and column; the rest is a multi-line code excerpt.
      errors: doc.errors.map((e) => ({
        path: ROOT,
        message: `invalid YAML: ${e.message.split('\n')[0]?.replace(/:$/, '')}`,
      })),
    }
  }
  try {
    // maxAliasCount bounds alias expansion ("billion laughs").
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown
    const lineOf = (path: string) => {
      // The node the path names, else its nearest ancestor there is (a missing field: its mapping).
      let node: Node | null = doc.contents
      for (const [, index, key] of path.matchAll(/\[(\d+)\]|\.?([^.[]+)/g)) {
        const child: unknown = isCollection(node) ? node.get(index ?? key, true) : undefined
        if (!child) break
        node = isAlias(child) ? (child.resolve(doc) ?? null) : (child as Node)
      }
      return node?.range ? lineCounter.linePos(node.range[0]).line : undefined
    }
    return { ok: true, value, lineOf }
  } catch (err) {
    return { ok: false, errors: [{ path: ROOT, message: `invalid YAML: ${(err as Error).message}` }] }
  }
}

/** 1-based line of a character offset. */
const lineAt = (text: string, offset: number) => {
  let line = 1
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++
  return line
}

/**
 * The first key written twice in one object of `text` (valid JSON), or undefined. JSON.parse keeps the
 * last silently, so a second `threshold` further down a rule replaced the first unseen; YAML refuses it
 * (uniqueKeys), and JSON files are refused alike, by the scan the pipeline's records get (contracts).
 */
function repeatedJsonKey(text: string): ConfigError | undefined {
  const dup = duplicateKey(text)
  if (!dup) return undefined
  return {
    path: formatPath(dup.path),
    message: `invalid JSON: key written twice in one object (lines ${lineAt(text, dup.first)} and ${lineAt(text, dup.second)}), and JSON would keep the last`,
  }
}

/**
 * Each error with the line of the field it names, when the text keeps lines (YAML): `rules[17]` is no
 * help in a file of 300 lines. Errors about the whole file are left as they are.
 */
export function withLines(errors: ConfigError[], lineOf: ((path: string) => number | undefined) | undefined) {
  if (!lineOf) return errors
  return errors.map((e) => {
    const line = e.path === ROOT ? undefined : lineOf(e.path)
    return line === undefined ? e : { ...e, message: `${e.message} (line ${line})` }
  })
}

/** The value at a path of the parsed input, or undefined when any step is missing. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<PropertyKey, unknown>)[key]
  }
  return v
}

/**
 * Zod issues to ConfigErrors: an unknown field is reported at its own path rather than its parent's,
 * and a missing field says "required" rather than zod's "expected one of …, received undefined".
 */
export function issuesToErrors(issues: readonly z.core.$ZodIssue[], input: unknown): ConfigError[] {
  const out: ConfigError[] = []
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        out.push({ path: formatPath([...issue.path, key]), message: 'unknown field' })
      continue
    }
    const isMissing =
      issue.path.length > 0 &&
      (issue.code === 'invalid_type' || issue.code === 'invalid_value') &&
      valueAt(input, issue.path) === undefined
    out.push({ path: formatPath(issue.path), message: isMissing ? 'required' : issue.message })
  }
  return out
}

import { duplicateKey } from '@tradepulse/contracts'
import { isAlias, isCollection, isScalar, LineCounter, type Node, parseDocument } from 'yaml'
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
      /**
       * The text a number at a field path was written as (`1.10`, which both formats read as 1.1), or
       * undefined when the path names no number.
       */
      numberText: (path: string) => string | undefined
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

/**
 * Text to a plain value. Syntax errors carry the line, since there is no field yet to name. One
 * byte-order mark at the very start (Windows editors write one) is skipped, as platform's skipBom does
 * for line input: JSON.parse took none, and a JSON rules or desks file saved so was refused as
 * `invalid JSON: Unexpected token '﻿'`, the mark invisible in the message.
 */
export function parseText(input: string, format: ConfigFormat): TextParseResult {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input
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
    return repeated
      ? { ok: false, errors: [repeated] }
      : { ok: true, value, numberText: jsonNumberText(text) }
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
    // The node the path names, else its nearest ancestor there is (a missing field: its mapping).
    const nodeAt = (path: string) => {
      let node: Node | null = doc.contents
      let found = true
      for (const [, index, key] of steps(path)) {
        const child: unknown = isCollection(node) ? node.get(index ?? key, true) : undefined
        if (!child) {
          found = false
          break
        }
        node = isAlias(child) ? (child.resolve(doc) ?? null) : (child as Node)
      }
      return { node, found }
    }
    const lineOf = (path: string) => {
      const { node } = nodeAt(path)
      return node?.range ? lineCounter.linePos(node.range[0]).line : undefined
    }
    const numberText = (path: string) => {
      const { node, found } = nodeAt(path)
      return found && isScalar(node) && typeof node.value === 'number' ? node.source : undefined
    }
    return { ok: true, value, lineOf, numberText }
  } catch (err) {
    return { ok: false, errors: [{ path: ROOT, message: `invalid YAML: ${(err as Error).message}` }] }
  }
}

/** The steps of a field path (`rules[3].threshold`): each match an index (group 1) or a key (group 2). */
const steps = (path: string) => path.matchAll(/\[(\d+)\]|\.?([^.[]+)/g)

/**
 * What numberText is for a JSON text: reads it again, keeping each number's source text (JSON.parse's
 * reviver is given it), only when asked.
 */
function jsonNumberText(text: string): (path: string) => string | undefined {
  let sources: WeakMap<object, Map<string, string>> | undefined
  let root: unknown
  return (path) => {
    if (!sources) {
      const found = new WeakMap<object, Map<string, string>>()
      root = JSON.parse(text, function (
        this: object,
        key: string,
        value: unknown,
        context?: { source?: string },
      ) {
        if (typeof value === 'number' && context?.source !== undefined) {
          const own = found.get(this) ?? new Map<string, string>()
          own.set(key, context.source)
          found.set(this, own)
        }
        return value
      } as (key: string, value: unknown) => unknown)
      sources = found
    }
    let holder: unknown = { '': root }
    let last = ''
    for (const [, index, key] of steps(path)) {
      holder = (holder as Record<string, unknown>)[last]
      if (holder === null || typeof holder !== 'object') return undefined
      last = index ?? key ?? ''
    }
    return sources.get(holder as object)?.get(last)
  }
}

/**
 * The parsed file with its `version` as the author wrote it. A version is a label, and both formats read
 * an unquoted 1.10 as the number 1.1 (and 2.0 as 2), so alerts, metrics and logs named a version nobody
 * wrote: a number is taken as the text it was written as.
 */
export function versionAsWritten(parsed: {
  value: unknown
  numberText: (path: string) => string | undefined
}) {
  const v = parsed.value
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v
  const version = (v as Record<string, unknown>).version
  if (typeof version !== 'number') return v
  return { ...v, version: parsed.numberText('version') ?? version }
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

import { spawnSync } from 'node:child_process'
import { RE2JS } from 're2js'
import { describe, expect, it } from 'vitest'
import { exportJsonSchemas, TEXT_RULES_KEYWORD } from './json-schema.ts'
import { ALERTS, SCORED, UPDATES } from './test-fixtures.ts'
import { TEXT_RULES, type TextRule } from './text.ts'

// Other teams validate our records with the JSON Schema files in Python (jsonschema, on `re`), .NET, Go
// (RE2) and JavaScript validators that compile a pattern without the u flag. A pattern one of them cannot
// compile fails every record: jsonschema 4.26 raised `re.error: bad escape \P` on the Headline files.

/** Every `pattern` keyword of a schema, with where it is (annotations, `x-…`, are not compiled by anyone). */
function patternsOf(node: unknown, path = ''): [string, string][] {
  if (node === null || typeof node !== 'object') return []
  return Object.entries(node).flatMap(([key, value]): [string, string][] => {
    if (key.startsWith('x-')) return []
    if (key === 'pattern' && typeof value === 'string') return [[`${path}/pattern`, value]]
    const here =
      key === 'patternProperties'
        ? Object.keys(value as object).map((p): [string, string] => [`${path}/patternProperties`, p])
        : []
    return [...here, ...patternsOf(value, `${path}/${key}`)]
  })
}

const PATTERNS = Object.entries(exportJsonSchemas()).flatMap(([file, schema]) =>
  patternsOf(schema).map(([path, pattern]) => ({ where: `${file}${path}`, pattern })),
)
const DISTINCT = [...new Set(PATTERNS.map((p) => p.pattern))]

/** The patterns of DISTINCT that `compiles` refuses, each with where it is and the error. */
function refused(compiles: (pattern: string) => string | undefined): string[] {
  return PATTERNS.flatMap(({ where, pattern }) => {
    const error = compiles(pattern)
    return error === undefined ? [] : [`${where}: ${error}`]
  })
}

const hasPython = spawnSync('python3', ['-c', 'import re'], { stdio: 'ignore' }).status === 0

describe('the published JSON Schema patterns compile in every mainstream engine', () => {
  it('has patterns to check (the times, the text rules)', () => {
    expect(PATTERNS.length).toBeGreaterThan(20)
  })

  it('compiles each as ECMA-262 without the u flag (new RegExp(p))', () => {
    expect(
      refused((p) => {
        try {
          new RegExp(p)
          return undefined
        } catch (err) {
          return (err as Error).message
        }
      }),
    ).toEqual([])
  })

  it('compiles each with an RE2 (re2js), as Go and Rust validators do', () => {
    expect(
      refused((p) => {
        try {
          RE2JS.compile(p)
          return undefined
        } catch (err) {
          return (err as Error).message
        }
      }),
    ).toEqual([])
  })

  it.skipIf(!hasPython)("compiles each with Python's re, as jsonschema does", () => {
    const script = [
      'import json, re, sys',
      'errors = {}',
      'for p in json.load(sys.stdin):',
      '    try: re.compile(p)',
      '    except re.error as e: errors[p] = str(e)',
      'json.dump(errors, sys.stdout)',
    ].join('\n')
    const run = spawnSync('python3', ['-c', script], { input: JSON.stringify(DISTINCT), encoding: 'utf8' })
    expect(run.stderr).toBe('')
    const errors = JSON.parse(run.stdout) as Record<string, string>
    expect(refused((p) => errors[p])).toEqual([])
  })
  if (!hasPython) it.skip('python3 is not on this machine: patterns not compiled with Python re', () => {})

  it('uses nothing engines read apart: u-flag escapes, astral characters, \\d \\w \\s \\b (Unicode-wide in Python and .NET)', () => {
    // Without the u flag `\P{Cc}` compiles, as the letters P{Cc}: an error nobody sees.
    const apart = /\\[pPdDwWsSbB]|\\u\{|[\u{10000}-\u{10ffff}]/u
    expect(PATTERNS.filter(({ pattern }) => apart.test(pattern)).map(({ where }) => where)).toEqual([])
  })
})

describe('the text rules in the published JSON Schema', () => {
  const files = exportJsonSchemas() as Record<string, { properties: Record<string, Record<string, unknown>> }>
  const ASTRAL = ['😀', '\u{e0041}', '\u{1bca0}', '\u{1d173}', '𝐀', '\u{10ffff}']

  it.each(Object.entries(TEXT_RULES as Record<string, TextRule>).filter(([, r]) => r.portable))(
    "%s: the portable pattern's verdict is the rule's on every code point of the BMP, without the u flag and with RE2",
    (_, rule) => {
      const plain = new RegExp(rule.portable!.pattern)
      const re2 = RE2JS.compile(rule.portable!.pattern)
      const apart: string[] = []
      for (let c = 0; c <= 0xffff; c++) {
        const text = `a${String.fromCharCode(c)}`
        const alone = String.fromCharCode(c)
        for (const t of c >= 0xd800 && c <= 0xdfff ? [] : [text, alone])
          if (plain.test(t) !== rule.test(t) || re2.matcher(t).find() !== rule.test(t))
            apart.push(JSON.stringify(t))
      }
      expect(apart.slice(0, 5)).toEqual([])
      for (const t of ASTRAL) {
        // Exact: the same verdict; else it refuses nothing the rule takes (a consumer refuses none of ours).
        if (rule.portable!.exact) expect(plain.test(t), t).toBe(rule.test(t))
        else if (rule.test(t)) expect(plain.test(t), t).toBe(true)
      }
    },
  )

  it('states every rule of a text field in words and as zod checks it, beside the portable patterns', () => {
    const FIELDS: [string, (keyof typeof TEXT_RULES)[]][] = [
      ['id', ['wellFormed', 'noControl', 'showsSomething']],
      ['headline', ['wellFormed', 'noControl', 'readable']],
      ['body', ['wellFormed', 'noControlButLineFeed']],
      ['url', ['wellFormed']],
    ]
    for (const name of ['Headline', 'Headline.strict', 'ScoredHeadline', 'ScoredHeadline.strict'])
      for (const [field, rules] of FIELDS) {
        const node = files[name]!.properties[field]!
        const stated = node[TEXT_RULES_KEYWORD] as Record<
          string,
          { description: string; ecmaScriptUnicodePattern: string }
        >
        expect(Object.keys(stated), `${name} ${field}`).toEqual(rules)
        for (const r of rules) expect(stated[r]!.ecmaScriptUnicodePattern).toBe(TEXT_RULES[r].pattern.source)
        const patterns =
          (node.allOf as { pattern: string }[] | undefined)?.map((n) => n.pattern) ??
          (node.pattern ? [node.pattern] : [])
        expect(patterns, `${name} ${field}`).toEqual(
          rules.flatMap((r) => (TEXT_RULES[r] as TextRule).portable?.pattern ?? []),
        )
      }
  })
})

/** Whether python3 has jsonschema (what the consuming team's report was made with). */
const hasJsonschema =
  hasPython && spawnSync('python3', ['-c', 'import jsonschema'], { stdio: 'ignore' }).status === 0

describe("Python's jsonschema", () => {
  it.skipIf(!hasJsonschema)('takes every file and validates our records with it, reader and strict', () => {
    const script = [
      'import json, sys',
      'from jsonschema import Draft202012Validator',
      'given = json.load(sys.stdin)',
      'out = []',
      'for name, schema in given["schemas"].items():',
      '    Draft202012Validator.check_schema(schema)',
      '    v = Draft202012Validator(schema)',
      '    for r in given["records"].get(name.split(".")[0], []):',
      '        out += [f"{name}: {e.message}" for e in v.iter_errors(r)]',
      '    bad = given["bad"].get(name.split(".")[0])',
      '    if bad is not None and v.is_valid(bad): out.append(f"{name}: took a record breaking a rule")',
      'json.dump(out, sys.stdout)',
    ].join('\n')
    const records = {
      ScoredHeadline: SCORED,
      Headline: SCORED.map(({ id, source, headline, url, publishedAt, ingestedAt, truncated }) => ({
        id,
        source,
        headline,
        ...(url ? { url } : {}),
        publishedAt,
        ingestedAt,
        truncated,
      })),
      IndicatorUpdate: UPDATES,
      Alert: ALERTS,
    }
    const bad = { Headline: { ...records.Headline[0], source: 'wire\u0000' } }
    const run = spawnSync('python3', ['-c', script], {
      input: JSON.stringify({ schemas: exportJsonSchemas(), records, bad }),
      encoding: 'utf8',
    })
    expect(run.stderr).toBe('')
    expect(JSON.parse(run.stdout)).toEqual([])
  })
  if (!hasJsonschema) it.skip('python3 with jsonschema is not on this machine', () => {})
})

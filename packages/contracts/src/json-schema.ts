import { z } from 'zod'
import { CONTRACT_VERSION } from './contract-version.ts'
import { readerOf } from './reader.ts'
import { Alert, DeadLetter, Headline, IndicatorUpdate, RawHeadline, ScoredHeadline } from './schemas.ts'
import { TEXT_RULES, type TextRule } from './text.ts'

export const PAYLOAD_SCHEMAS = {
  RawHeadline,
  Headline,
  ScoredHeadline,
  IndicatorUpdate,
  Alert,
  DeadLetter,
} as const

/** The annotation that states the text rules of a field exactly (TEXT_RULES), in words and as zod checks them. */
export const TEXT_RULES_KEYWORD = 'x-tradepulse-text-rules'
/** The annotation of every file's contract version (CONTRACT_VERSION). */
export const CONTRACT_VERSION_KEYWORD = 'x-tradepulse-contract-version'

type Json = Record<string, unknown>

/** The text rule whose zod pattern a `pattern` of zod's export is, by its source. */
const RULE_OF_PATTERN = new Map<string, [string, TextRule]>(
  Object.entries(TEXT_RULES).map(([name, rule]) => [rule.pattern.source, [name, rule]]),
)

/** The text rules a node's patterns are (zod gives one as `pattern`, several each in `allOf`), if all are. */
function textRulesOf(node: Json): [string, TextRule][] | undefined {
  const patterns =
    typeof node.pattern === 'string'
      ? [node.pattern]
      : Array.isArray(node.allOf) &&
          node.allOf.every((n) => typeof n?.pattern === 'string' && Object.keys(n).length === 1)
        ? node.allOf.map((n: Json) => n.pattern as string)
        : []
  const rules = patterns.map((p) => RULE_OF_PATTERN.get(p))
  return rules.length > 0 && rules.every((r) => r !== undefined) ? (rules as [string, TextRule][]) : undefined
}

/**
 * `node` with every text rule's pattern (Unicode properties, astral characters: ECMA-262 with the u flag
 * and RE2 only) replaced by its portable pattern where it has one, and every rule stated in
 * TEXT_RULES_KEYWORD, at every depth; the keys stay in their order.
 */
function portable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(portable)
  if (node === null || typeof node !== 'object') return node
  const rules = textRulesOf(node as Json)
  const out: Json = {}
  for (const [key, value] of Object.entries(node)) {
    if (rules && (key === 'pattern' || key === 'allOf')) {
      const patterns = rules.flatMap(([, r]) => (r.portable ? [r.portable.pattern] : []))
      if (patterns.length === 1) out.pattern = patterns[0]
      else if (patterns.length > 1) out.allOf = patterns.map((pattern) => ({ pattern }))
      out[TEXT_RULES_KEYWORD] = Object.fromEntries(
        rules.map(([name, r]) => [
          name,
          {
            description: r.description,
            ecmaScriptUnicodePattern: r.pattern.source,
            portablePattern: r.portable ? (r.portable.exact ? 'exact' : 'bmp') : 'none',
          },
        ]),
      )
    } else out[key] = portable(value)
  }
  return out
}

/** `RawHeadline` → `raw-headline`, as the file's $id names the payload. */
const slug = (name: string) => name.replace(/[a-z](?=[A-Z])/g, (c) => `${c}-`).toLowerCase()

const MAJOR = CONTRACT_VERSION.split('.')[0]

/** The file's own keywords first: what it is, then the schema zod made (with its `$schema` first). */
function published(name: string, strict: boolean, schema: Json): Json {
  const { $schema, ...rest } = schema
  return {
    $schema,
    $id: `urn:tradepulse:contract:${slug(name)}${strict ? ':strict' : ''}:v${MAJOR}`,
    title: strict ? `${name} (strict)` : name,
    [CONTRACT_VERSION_KEYWORD]: CONTRACT_VERSION,
    ...(rest.description === undefined
      ? {
          description: strict
            ? `${name} exactly as our producers write it: no other field, at any depth. For a producer's own tests.`
            : `${name} as a consumer should validate it: a field we add later, at any depth, is no error.`,
        }
      : {}),
    ...(portable(rest) as Json),
  }
}

/**
 * JSON Schema (draft 2020-12) of every payload, for teams that use our topics: `<Payload>` is the
 * reader's, for consumers (no `additionalProperties: false` at any depth, so a field we add later is no
 * error for them), and `<Payload>.strict` what we write, for a producer's own tests (headlines.raw's).
 * Each names itself (`$id`, `title`) and its CONTRACT_VERSION. Its patterns are ones Python's re, .NET,
 * RE2 and ECMA-262 without the u flag compile and read alike; the text rules no such pattern says exactly
 * are stated in TEXT_RULES_KEYWORD (our readers hold records to them all).
 */
export function exportJsonSchemas(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(PAYLOAD_SCHEMAS).flatMap(([name, schema]) => [
      // The input side of a stripping object is the one that admits other keys (its output has none).
      [
        name,
        published(
          name,
          false,
          z.toJSONSchema(readerOf(schema), { target: 'draft-2020-12', io: 'input' }) as Json,
        ),
      ],
      [`${name}.strict`, published(name, true, z.toJSONSchema(schema, { target: 'draft-2020-12' }) as Json)],
    ]),
  )
}

/** The text of every file `pnpm contracts:schema` writes, by file name (`<Payload>[.strict].schema.json`). */
export function jsonSchemaFiles(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(exportJsonSchemas()).map(([name, schema]) => [
      `${name}.schema.json`,
      `${JSON.stringify(schema, null, 2)}\n`,
    ]),
  )
}

/** The contract version a written file states, if it is JSON that states one. */
function versionOf(text: string): unknown {
  try {
    return (JSON.parse(text) as Json)[CONTRACT_VERSION_KEYWORD]
  } catch {
    return undefined
  }
}

/**
 * The files that `next` would change, add or remove among `written` (their text by name, as a directory
 * holds them) under the contract version written there: a change with no new version, which a consumer
 * holding that version's files could not tell from them. None when no written file is of CONTRACT_VERSION
 * (older versions, or copies made before versions).
 */
export function unversionedChanges(
  written: Record<string, string>,
  next: Record<string, string> = jsonSchemaFiles(),
): string[] {
  if (!Object.values(written).some((text) => versionOf(text) === CONTRACT_VERSION)) return []
  const files = [...new Set([...Object.keys(written), ...Object.keys(next)])].sort()
  return files.filter((file) => written[file] !== next[file])
}

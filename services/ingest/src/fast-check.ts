import { TEXT_RULES } from '@tradepulse/contracts'
import type { z } from 'zod'

type Def = { type: string; checks?: { _zod: { def: CheckDef } }[] } & Record<string, unknown>
type CheckDef = { check: string } & Record<string, unknown>

/** String formats whose whole check in zod is their pattern. */
const PATTERN_FORMATS = new Set(['datetime', 'date', 'time', 'regex'])

/**
 * The contracts' text rules (TEXT_RULES) by their pattern, which the schemas hold a field to as the very
 * object (`.regex(rule.pattern)`): such a check is made with the rule's test, the pattern's verdict as
 * JavaScript checks it fastest (held to the pattern on every code point in contracts' text.test.ts, and
 * here on the headlines ingest writes and their edge cases in fast-check.test.ts).
 */
const RULE_TESTS = new Map<RegExp, (text: string) => boolean>(
  Object.values(TEXT_RULES).map((rule) => [rule.pattern, rule.test]),
)

const unsupported = (what: string): never => {
  throw new Error(`fast-check: no fast path for ${what}; add it (and a case to fast-check.test.ts)`)
}

/** A bound as a JavaScript literal: a whole number (string lengths are). */
function literal(n: unknown): string {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) return unsupported(`a bound ${String(n)}`)
  return String(n)
}

/** What the checks are made with: a value passed in (its name in the source), a new variable of the closure, what a miss returns. */
type Gen = { pass: (value: unknown) => string; memo: () => string; miss: string }

/**
 * Statements that make the generated function return `miss` unless the string `x` passes check `c`.
 * zod measures a string's length in code points (a surrogate pair is one), these checks in UTF-16 units:
 * a string they pass, zod passes. A maximum of n code points holds when there are at most n units; a
 * minimum of n when there are at least 2n − 1 units (each code point is one or two) or, for n ≤ 1, at
 * least n. A string in between (a long run of astral characters) is zod's to decide.
 */
function refinement(c: CheckDef, x: string, { pass, memo, miss }: Gen): string {
  switch (c.check) {
    case 'min_length': {
      const min = Number(literal(c.minimum))
      return `if (${x}.length < ${min <= 1 ? min : 2 * min - 1}) return ${miss}\n`
    }
    case 'max_length':
      return `if (${x}.length > ${literal(c.maximum)}) return ${miss}\n`
    case 'string_format': {
      if (!PATTERN_FORMATS.has(c.format as string) || !(c.pattern instanceof RegExp))
        return unsupported(`a ${String(c.format)} string`)
      const test = RULE_TESTS.get(c.pattern)
      if (test) return `if (!${pass(test)}(${x})) return ${miss}\n`
      // The last string it passed is remembered: the times of a batch's records are mostly one.
      const p = pass(c.pattern)
      const last = memo()
      return `if (${x} !== ${last}) {\n${p}.lastIndex = 0\nif (!${p}.test(${x})) return ${miss}\n${last} = ${x}\n}\n`
    }
    default:
      return unsupported(`a ${c.check} check`)
  }
}

/** Statements that make the generated function return `miss` unless zod accepts the leaf value `x` by `s`. */
function leaf(s: z.core.$ZodType, x: string, gen: Gen): string {
  const { miss } = gen
  const def = s._zod.def as unknown as Def
  let code: string
  const checks: CheckDef[] = []
  switch (def.type) {
    case 'string':
      code = `if (typeof ${x} !== 'string') return ${miss}\n`
      // A format (z.iso.datetime()) is a check on the schema itself, not in its list of checks.
      if (def.check !== undefined) checks.push(def as unknown as CheckDef)
      break
    case 'boolean':
      code = `if (typeof ${x} !== 'boolean') return ${miss}\n`
      break
    default:
      return unsupported(`a ${def.type} field`)
  }
  for (const c of def.checks ?? []) checks.push(c._zod.def)
  for (const c of checks) code += refinement(c, x, gen)
  return code
}

/**
 * The source of a function of a flat object: `miss` unless every field passes, else what `hit` makes
 * of the fields read (their variables, in shape order, and whether each was present).
 */
function compile<T>(
  schema: z.core.$ZodType,
  miss: string,
  hit: (fields: { key: string; name: string }[]) => string,
): (value: unknown) => T {
  const def = schema._zod.def as unknown as Def
  if (def.type !== 'object') return unsupported(`a ${def.type} schema`)
  if ((def.checks ?? []).length > 0) return unsupported('an object with checks of its own')
  const shape = def.shape as Record<string, z.core.$ZodType>
  const catchall = def.catchall as z.core.$ZodType | undefined
  // A strict object's catchall is never: a key not in the shape is refused. None: it is dropped.
  const strict = catchall?._zod.def.type === 'never'
  if (catchall && !strict) return unsupported('an object with a catchall')
  const given: unknown[] = []
  const pass = (value: unknown) => `C[${given.push(value) - 1}]`
  const memos: string[] = []
  const memo = () => {
    const name = `m${memos.length}`
    memos.push(name)
    return name
  }
  const gen: Gen = { pass, memo, miss }
  let code = `if (typeof v !== 'object' || v === null || Array.isArray(v)) return ${miss}\n`
  const fields: { key: string; name: string }[] = []
  for (const [key, field] of Object.entries(shape)) {
    // A key Object.prototype has is present, to zod's `key in value`, in every object.
    if (key in Object.prototype || key === '__proto__') return unsupported(`a field named ${key}`)
    const name = `f${fields.length}`
    const k = JSON.stringify(key)
    fields.push({ key, name })
    code += `const ${name} = v[${k}]\n`
    // optional(), nullable() and nullish(), in either order, around a leaf.
    let inner = field
    let optional = false
    let nullable = false
    for (let d = inner._zod.def as unknown as Def; d.type === 'optional' || d.type === 'nullable'; ) {
      if (d.type === 'optional') optional = true
      else nullable = true
      inner = d.innerType as z.core.$ZodType
      d = inner._zod.def as unknown as Def
    }
    // Null, where the field may be: taken and given on as null, as zod does.
    const check = nullable ? `if (${name} !== null) {\n${leaf(inner, name, gen)}}\n` : leaf(inner, name, gen)
    // Absent: accepted. Present as undefined (no JSON value is): zod's own rule, left to zod.
    if (optional) code += `if (${name} === undefined) { if (${k} in v) return ${miss} } else {\n${check}}\n`
    else code += check
  }
  // zod looks for unknown keys with for...in (inherited enumerable ones too): so does this.
  if (strict) code += `for (const k in v) if (!${pass(new Set(Object.keys(shape)))}.has(k)) return ${miss}\n`
  code += hit(fields)
  const vars = memos.map((m) => `let ${m}\n`).join('')
  return new Function('C', `${vars}return (v) => {\n${code}}`)(given) as (value: unknown) => T
}

/**
 * What `schema.safeParse(value)` gives as its data, for a flat object of string and boolean fields (each
 * optional, nullable, both or neither; strings with length bounds and patterns), without zod's cost;
 * undefined when zod must decide. Like zod's, the result is a new object holding the fields of the shape
 * that are present (a null one as null), in the shape's order, a non-strict object's other keys dropped. Undefined is only a hint: zod, run then,
 * accepts or names what is wrong; every value this accepts, zod accepts as the same object.
 *
 * Made once from the schema's definition into the source of one function of straight-line checks, each
 * field read by its name, as the contracts' acceptsAs is (composed closures measured twice as slow); a kind
 * of schema or check it does not know stops it where it is made (at import, which every test does).
 */
export function fastRead<S extends z.core.$ZodType>(schema: S): (value: unknown) => z.infer<S> | undefined {
  return compile(
    schema,
    'undefined',
    (fields) =>
      `const o = {}\n${fields.map((f) => `if (${f.name} !== undefined) o[${JSON.stringify(f.key)}] = ${f.name}\n`).join('')}return o\n`,
  )
}

/** True when `schema.safeParse(value)` would succeed (fastRead's test alone, no copy); false: ask zod. */
export function fastAccepts(schema: z.core.$ZodType): (value: unknown) => boolean {
  return compile(schema, 'false', () => 'return true\n')
}

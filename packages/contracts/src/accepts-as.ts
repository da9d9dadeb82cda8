import type { z } from 'zod'

type Def = { type: string; checks?: { _zod: { def: CheckDef } }[] } & Record<string, unknown>
type CheckDef = { check: string } & Record<string, unknown>

/** String formats whose whole check in zod is their pattern (a format with a check of its own, url, is not). */
const PATTERN_FORMATS = new Set(['datetime', 'date', 'time', 'regex'])

const unsupported = (what: string): never => {
  throw new Error(`acceptsAs: no fast check for ${what}; add it (and a case to accepts-as.test.ts)`)
}

/** The code points of a string, as zod counts a string's length. */
function codePoints(text: string): number {
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) i++
    }
    n++
  }
  return n
}

/** A number as a JavaScript literal (only finite numbers are bounds zod takes for a number). */
function literal(n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return unsupported(`a bound ${String(n)}`)
  return String(n)
}

/**
 * A predicate true of a value exactly when `schema.safeParse` would succeed on it, without zod's cost: no
 * issue objects, no copy of the value. Made once from the schema's definition (as readerOf reads it) into
 * the source of one function of straight-line checks, each field read by its name, as zod's own JIT does
 * for an object's fields (composed closures measured over twice as slow, every field read through one
 * megamorphic `o[k]`). Only the schema's names and numbers go into the source, the names as JSON
 * strings; patterns and sets of values are passed in. A kind of schema or check it does not know stops it
 * where it is made (at import, which every test does), never on a record. Its false is only a hint: zod,
 * run then, gives the verdict with the fields named.
 */
export function acceptsAs(schema: z.core.$ZodType): (value: unknown) => boolean {
  const given: unknown[] = []
  const pass = (value: unknown) => `C[${given.push(value) - 1}]`
  let names = 0
  const name = (prefix: string) => `${prefix}${names++}`

  /** Statements that return false unless the value `x` names is accepted by the refinement `c`. */
  function refinement(c: CheckDef, x: string): string {
    const op = c.inclusive ? '' : '='
    switch (c.check) {
      case 'greater_than':
        return `if (${x} <${op} ${literal(c.value)}) return false\n`
      case 'less_than':
        return `if (${x} >${op} ${literal(c.value)}) return false\n`
      // zod counts a string's length in code points (an emoji is one), an array's in elements; UTF-16
      // units, what .length counts, are at least the code points, so they are counted only near the bound.
      case 'min_length': {
        const min = literal(c.minimum)
        return `if (${x}.length < ${min} || (typeof ${x} === 'string' && ${x}.length < 2 * ${min} && ${pass(codePoints)}(${x}) < ${min})) return false\n`
      }
      case 'max_length': {
        const max = literal(c.maximum)
        return `if (${x}.length > ${max} && (typeof ${x} !== 'string' || ${pass(codePoints)}(${x}) > ${max})) return false\n`
      }
      case 'string_format': {
        if (!PATTERN_FORMATS.has(c.format as string) || !(c.pattern instanceof RegExp))
          return unsupported(`a ${String(c.format)} string`)
        const p = pass(c.pattern)
        return `${p}.lastIndex = 0\nif (!${p}.test(${x})) return false\n`
      }
      default:
        return unsupported(`a ${c.check} check`)
    }
  }

  /** Statements that return false unless the value `x` names is accepted by `s`. */
  function emit(s: z.core.$ZodType, x: string): string {
    const def = s._zod.def as unknown as Def
    let code: string
    const own: CheckDef[] = []
    switch (def.type) {
      case 'string':
        code = `if (typeof ${x} !== 'string') return false\n`
        // A format (z.iso.datetime()) is a check on the schema itself, not in its list of checks.
        if (def.check !== undefined) own.push(def as unknown as CheckDef)
        break
      case 'number':
        // zod refuses NaN and ±Infinity as no number; z.int() is the format safeint on the schema itself.
        if (def.check === undefined)
          code = `if (typeof ${x} !== 'number' || !Number.isFinite(${x})) return false\n`
        else if (def.check === 'number_format' && def.format === 'safeint')
          code = `if (!Number.isSafeInteger(${x})) return false\n`
        else return unsupported(`a ${String(def.format)} number`)
        break
      case 'boolean':
        code = `if (typeof ${x} !== 'boolean') return false\n`
        break
      case 'enum':
      case 'literal':
        code = `if (!${pass(s._zod.values)}.has(${x})) return false\n`
        break
      case 'optional':
        code = `if (${x} !== undefined) {\n${emit(def.innerType as z.core.$ZodType, x)}}\n`
        break
      case 'nullable':
        code = `if (${x} !== null) {\n${emit(def.innerType as z.core.$ZodType, x)}}\n`
        break
      case 'array': {
        const i = name('i')
        const e = name('e')
        code = `if (!Array.isArray(${x})) return false\nfor (let ${i} = 0; ${i} < ${x}.length; ${i}++) {\nconst ${e} = ${x}[${i}]\n${emit(def.element as z.core.$ZodType, e)}}\n`
        break
      }
      case 'union': {
        const options = (def.options as z.core.$ZodType[]).map((o) => `${pass(acceptsAs(o))}(${x})`)
        code = `if (!(${options.join(' || ')})) return false\n`
        break
      }
      case 'object': {
        const shape = def.shape as Record<string, z.core.$ZodType>
        const catchall = def.catchall as z.core.$ZodType | undefined
        // A strict object's catchall is never: any key not in the shape is refused. None: it is dropped.
        const strict = catchall?._zod.def.type === 'never'
        if (catchall && !strict) return unsupported('an object with a catchall')
        code = `if (typeof ${x} !== 'object' || ${x} === null || Array.isArray(${x})) return false\n`
        // A required field that is absent reads as undefined, which no schema but optional accepts.
        for (const [key, field] of Object.entries(shape)) {
          if (key === '__proto__') return unsupported('a field named __proto__')
          const f = name('f')
          code += `const ${f} = ${x}[${JSON.stringify(key)}]\n${emit(field, f)}`
        }
        // zod looks for unknown keys with for...in (inherited enumerable ones too): so does this.
        const k = name('k')
        if (strict)
          code += `for (const ${k} in ${x}) if (!${pass(new Set(Object.keys(shape)))}.has(${k})) return false\n`
        break
      }
      case 'record': {
        // A record keyed by strings (with their checks), as IndicatorUpdate's maps of labels. zod takes
        // a plain object and judges each own enumerable key but __proto__, and its value. Anything
        // rarer (another prototype, a symbol key) is left to zod: false is only a hint.
        const keyType = def.keyType as z.core.$ZodType
        if (keyType._zod.def.type !== 'string')
          return unsupported(`a record keyed by a ${keyType._zod.def.type}`)
        const p = name('p')
        const k = name('k')
        const e = name('e')
        code = `if (typeof ${x} !== 'object' || ${x} === null || Array.isArray(${x})) return false\nconst ${p} = Object.getPrototypeOf(${x})\nif ((${p} !== Object.prototype && ${p} !== null) || Object.getOwnPropertySymbols(${x}).length > 0) return false\nfor (const ${k} of Object.keys(${x})) {\nif (${k} === '__proto__') continue\n${emit(keyType, k)}const ${e} = ${x}[${k}]\n${emit(def.valueType as z.core.$ZodType, e)}}\n`
        break
      }
      default:
        return unsupported(`a ${def.type} schema`)
    }
    for (const c of def.checks ?? []) own.push(c._zod.def)
    for (const c of own) code += refinement(c, x)
    return code
  }

  const body = emit(schema, 'v')
  return new Function('C', `return (v) => {\n${body}return true\n}`)(given) as (value: unknown) => boolean
}

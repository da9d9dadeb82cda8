import type { z } from 'zod'

/**
 * The reader variant of a payload schema `S`: every object in it, at any depth, drops the keys it does
 * not declare instead of refusing them; every declared field is checked exactly as in `S`. Its parsed
 * type is `S`'s.
 */
export type Reader<S> =
  S extends z.ZodObject<infer Shape>
    ? z.ZodObject<{ [K in keyof Shape]: ReaderOf<Shape[K]> }, z.core.$strip>
    : S extends z.ZodArray<infer E>
      ? z.ZodArray<ReaderOf<E>>
      : S extends z.ZodOptional<infer T>
        ? z.ZodOptional<ReaderOf<T>>
        : S extends z.ZodNullable<infer T>
          ? z.ZodNullable<ReaderOf<T>>
          : S extends z.ZodRecord<infer K, infer V>
            ? z.ZodRecord<K, ReaderOf<V>>
            : S

type ReaderOf<S> = Reader<S> extends z.core.SomeType ? Reader<S> : never

// Kinds that hold no schema of their own: their reader is themselves.
const LEAVES = new Set([
  'string',
  'number',
  'boolean',
  'bigint',
  'null',
  'undefined',
  'any',
  'unknown',
  'never',
  'date',
  'enum',
  'literal',
  'template_literal',
])

const readers = new WeakMap<z.core.$ZodType, z.core.$ZodType>()

function readerOfAny(schema: z.core.$ZodType): z.core.$ZodType {
  const known = readers.get(schema)
  if (known) return known
  const def = schema._zod.def as z.core.$ZodTypeDef & Record<string, unknown>
  const clone = (changes: Record<string, unknown>) =>
    (schema as z.ZodType).clone({ ...def, ...changes } as never)
  let reader: z.core.$ZodType
  switch (def.type) {
    case 'object': {
      const shape = def.shape as Record<string, z.core.$ZodType>
      const catchall = def.catchall as z.core.$ZodType | undefined
      reader = clone({
        shape: Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, readerOfAny(v)])),
        // A strict object's catchall is `never`; none strips. Another catchall validates the rest, kept.
        catchall: !catchall || catchall._zod.def.type === 'never' ? undefined : readerOfAny(catchall),
      })
      break
    }
    case 'array':
      reader = clone({ element: readerOfAny(def.element as z.core.$ZodType) })
      break
    case 'optional':
    case 'nullable':
      reader = clone({ innerType: readerOfAny(def.innerType as z.core.$ZodType) })
      break
    case 'record':
      reader = clone({ valueType: readerOfAny(def.valueType as z.core.$ZodType) })
      break
    case 'union':
      reader = clone({ options: (def.options as z.core.$ZodType[]).map(readerOfAny) })
      break
    default:
      // A kind not handled here could hide a strict object the reader would still refuse a new key in:
      // fail where the payload is defined (every test imports it), not on a record in production.
      if (!LEAVES.has(def.type)) throw new Error(`readerOf: no reader for a ${def.type} schema`)
      reader = schema
  }
  readers.set(schema, reader)
  return reader
}

/**
 * The tolerant variant of a strict payload schema, for a service that reads a topic: a field a newer
 * producer added (at the top or inside a nested object) is dropped, so an older consumer goes on during a
 * rolling deploy, while a known field missing or of the wrong type is still refused (the dlq reason names
 * it). Producers validate with `schema` itself, which refuses the unknown field: a bug of ours shows at
 * its source.
 */
export function readerOf<S extends z.ZodType>(schema: S): Reader<S> {
  return readerOfAny(schema) as Reader<S>
}

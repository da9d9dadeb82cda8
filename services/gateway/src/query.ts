import type { z } from 'zod'

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string }

/**
 * A query's parameters as an object; a parameter given twice is an error naming it (which of the values
 * counts would otherwise be a guess: lists are comma-separated in one value).
 */
export function queryObject(
  query: URLSearchParams,
  skip: readonly string[] = [],
): Parsed<Record<string, string>> {
  // No prototype: `constructor` or `__proto__` is a parameter like any other (unknown), not one "given" already.
  const out: Record<string, string> = Object.create(null)
  for (const [k, v] of query) {
    if (skip.includes(k)) continue
    if (Object.hasOwn(out, k))
      return { ok: false, error: `${k}: given more than once (give a list as one value: a,b)` }
    out[k] = v
  }
  return { ok: true, value: out }
}

/** A zod error on query parameters, each issue naming its parameter: `severity: …; colour: unknown parameter`. */
export function queryIssues(error: z.ZodError): string {
  return error.issues
    .flatMap((i) =>
      i.code === 'unrecognized_keys'
        ? i.keys.map((k) => `${k}: unknown parameter`)
        : [`${i.path.filter((p) => typeof p === 'string').join('.') || '(query)'}: ${i.message}`],
    )
    .join('; ')
}

/** The query parsed by `schema` (after `skip`ped parameters are left out), or the error naming each parameter. */
export function parseQuery<S extends z.ZodType>(
  schema: S,
  query: URLSearchParams,
  skip: readonly string[] = [],
): Parsed<z.infer<S>> {
  const raw = queryObject(query, skip)
  if (!raw.ok) return raw
  const parsed = schema.safeParse(raw.value)
  return parsed.success
    ? { ok: true, value: parsed.data as z.infer<S> }
    : { ok: false, error: queryIssues(parsed.error) }
}

import type { z } from 'zod'
import { acceptsAs } from './accepts-as.ts'
import { formatIssues } from './format-issues.ts'

/**
 * What is wrong with a value a worker is about to publish under a strict schema, naming the fields
 * (`scope.id: Too big: expected string to have <=64 characters`), or undefined when nothing is: the
 * schema's acceptsAs first (straight-line checks made once from it, well under a microsecond a record),
 * zod only on a value it refuses, to name the fields. Used by the aggregator on its indicator updates and
 * by the alerter on its alerts.
 */
export function contractProblem<T>(schema: z.ZodType<T>): (value: T) => string | undefined {
  const accepted = acceptsAs(schema)
  return (value) => {
    if (accepted(value)) return undefined
    const parsed = schema.safeParse(value)
    return parsed.success ? undefined : formatIssues(parsed.error)
  }
}

/** Text as a log line or a dead letter shows it: cut past `max` characters, with its length (it may be a megabyte). */
export function cutForLog(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`
}

import { z } from 'zod'
import { Alert, DeadLetter, Headline, IndicatorUpdate, RawHeadline, ScoredHeadline } from './schemas.ts'

export const PAYLOAD_SCHEMAS = {
  RawHeadline,
  Headline,
  ScoredHeadline,
  IndicatorUpdate,
  Alert,
  DeadLetter,
} as const

/** JSON Schema (draft 2020-12) of every payload, for teams that consume our topics. */
export function exportJsonSchemas(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(PAYLOAD_SCHEMAS).map(([name, schema]) => [
      name,
      z.toJSONSchema(schema, { target: 'draft-2020-12' }),
    ]),
  )
}

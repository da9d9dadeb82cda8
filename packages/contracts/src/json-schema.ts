import { z } from 'zod'
import { readerOf } from './reader.ts'
import { Alert, DeadLetter, Headline, IndicatorUpdate, RawHeadline, ScoredHeadline } from './schemas.ts'

export const PAYLOAD_SCHEMAS = {
  RawHeadline,
  Headline,
  ScoredHeadline,
  IndicatorUpdate,
  Alert,
  DeadLetter,
} as const

/**
 * JSON Schema (draft 2020-12) of every payload, for teams that use our topics: `<Payload>` is the
 * reader's, for consumers (no `additionalProperties: false` at any depth, so a field we add later is no
 * error for them), and `<Payload>.strict` what we write, for a producer's own tests (headlines.raw's).
 */
export function exportJsonSchemas(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(PAYLOAD_SCHEMAS).flatMap(([name, schema]) => [
      // The input side of a stripping object is the one that admits other keys (its output has none).
      [name, z.toJSONSchema(readerOf(schema), { target: 'draft-2020-12', io: 'input' })],
      [`${name}.strict`, z.toJSONSchema(schema, { target: 'draft-2020-12' })],
    ]),
  )
}

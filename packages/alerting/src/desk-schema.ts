import { Dimension, Severity } from '@tradepulse/contracts'
import { z } from 'zod'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'
import { FileVersion, RuleId } from './rule-schema.ts'
import { ScopeFilter } from './scope-filter.ts'

/** Desk ids name Kafka topics (alerts.desk.<id>), so they keep to topic-safe characters. */
export const DeskId = z
  .string()
  .regex(/^[a-z0-9_-]+$/, { message: 'use only lower-case letters, digits, "_" and "-"' })
  .min(1)
  .max(64)

export const DeskWebhook = z.strictObject({
  url: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }),
  /** Name of the environment variable holding the HMAC secret; the secret itself never sits in a file. */
  secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, {
    message: 'expected an environment variable name such as DESK_TARIFF_SECRET',
  }),
})
export type DeskWebhook = z.infer<typeof DeskWebhook>

export const Desk = z.strictObject({
  id: DeskId,
  description: z.string().max(500).optional(),
  /** Dimensions the desk follows; all when left out. */
  dimensions: z
    .array(Dimension)
    .min(1)
    .default([...Dimension.options]),
  scopes: ScopeFilter,
  minSeverity: Severity.default('info'),
  /** When given, only alerts of these rules reach the desk. */
  rules: z.array(RuleId).min(1).optional(),
  webhook: DeskWebhook.optional(),
})
export type Desk = z.infer<typeof Desk>

export const DesksFile = z.strictObject({
  version: FileVersion,
  desks: z.array(Desk).max(ALERTING_DEFAULTS.maxDesks),
})
export type DesksFile = z.infer<typeof DesksFile>

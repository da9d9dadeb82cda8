import { DeskId, Dimension, Severity } from '@tradepulse/contracts'
import { z } from 'zod'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'
import { FileVersion, RuleId } from './rule-schema.ts'
import { ScopeFilter } from './scope-filter.ts'

export const DeskWebhook = z.strictObject({
  url: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }),
  /** Name of the environment variable holding the HMAC secret; the secret itself never sits in a file. */
  secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, {
    message: 'expected an environment variable name such as DESK_TARIFF_SECRET',
  }),
})
export type DeskWebhook = z.infer<typeof DeskWebhook>

export const Desk = z.strictObject({
  /** Names the desk's topic, alerts.desk.<id>.v1: the topic catalogue's rule (contracts' DeskId). */
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

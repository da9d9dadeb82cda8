import { DeskId, Dimension, Severity } from '@tradepulse/contracts'
import { z } from 'zod'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'
import { FileVersion, RuleId } from './rule-schema.ts'
import { ScopeFilter } from './scope-filter.ts'

/** Whether an http(s) URL carries credentials (`https://user:password@host/…`); false for any other text. */
export function hasUrlCredentials(url: string): boolean {
  if (!URL.canParse(url)) return false
  const u = new URL(url)
  // Another scheme is refused as such (expected an http(s) URL), not twice.
  return (u.protocol === 'http:' || u.protocol === 'https:') && (u.username !== '' || u.password !== '')
}

/**
 * Why a desk's webhook URL with credentials in it is refused: names the desk, never the URL (it holds the
 * password). fetch refuses to send such a request, so every alert's POST failed and was dead-lettered.
 */
export const webhookCredentialsRefusal = (deskId: unknown): string =>
  `desk ${JSON.stringify(deskId)} has credentials in its URL (user:password@), which fetch never sends, so every POST would fail (take them out: the webhook is signed with its secretEnv; a token the endpoint needs goes in its path)`

export const DeskWebhook = z.strictObject({
  /**
   * http(s), without credentials (user:password@): refused by the Desk schema below, which can name the
   * desk in its message (webhookCredentialsRefusal).
   */
  url: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }),
  /** Name of the environment variable holding the HMAC secret; the secret itself never sits in a file. */
  secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, {
    message: 'expected an environment variable name such as DESK_TARIFF_SECRET',
  }),
})
export type DeskWebhook = z.infer<typeof DeskWebhook>

export const Desk = z
  .strictObject({
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
  .superRefine(
    (desk, ctx) => {
      // Also when another field of the desk is refused (`when`), so a file is refused with every reason at
      // once; the desk is then the input as written, so nothing about its shape is assumed.
      const url = (desk as { webhook?: { url?: unknown } } | null)?.webhook?.url
      if (typeof url === 'string' && hasUrlCredentials(url))
        ctx.addIssue({
          code: 'custom',
          path: ['webhook', 'url'],
          message: webhookCredentialsRefusal((desk as { id?: unknown }).id),
        })
    },
    { when: () => true },
  )
export type Desk = z.infer<typeof Desk>

export const DesksFile = z.strictObject({
  version: FileVersion,
  desks: z.array(Desk).max(ALERTING_DEFAULTS.maxDesks),
})
export type DesksFile = z.infer<typeof DesksFile>

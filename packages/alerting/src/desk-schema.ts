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

/** An environment variable name, as a desk's `webhook.secretEnv` gives it (upper case, digits and `_`). */
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/

/**
 * The longest name a desk's `webhook.secretEnv` may give. A variable name has no bound of its own (POSIX
 * sets none; Linux bounds name=value at 128 KiB), but this one is read by every worker that shares the
 * alerter's environment (platform's unknown-variable check measures each unknown-looking variable against
 * it, edit distance) and quoted in the alerter's start-up lines. The sample's scheme, TRADEPULSE_WEBHOOK_SECRET_
 * and the longest desk id (the contracts' DESK_ID_MAX_CHARS, 63), is 89 characters.
 */
export const MAX_SECRET_ENV_CHARS = 128

/**
 * Why a desk's `webhook.secretEnv` longer than MAX_SECRET_ENV_CHARS is refused, naming the desk (the
 * DeskWebhook schema cannot: it is refused by the Desk schema, as a URL with credentials is).
 */
export const secretEnvLengthRefusal = (deskId: unknown, chars: number): string =>
  `desk ${JSON.stringify(deskId)} names a variable of ${chars} characters, and a secretEnv is at most ${MAX_SECRET_ENV_CHARS}`

export const DeskWebhook = z.strictObject({
  /**
   * http(s), without credentials (user:password@): refused by the Desk schema below, which can name the
   * desk in its message (webhookCredentialsRefusal).
   */
  url: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }),
  /**
   * Name of the environment variable holding the HMAC secret; the secret itself never sits in a file. At
   * most MAX_SECRET_ENV_CHARS: refused by the Desk schema below, which can name the desk.
   */
  secretEnv: z.string().regex(ENV_NAME, {
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
      const webhook = (desk as { webhook?: { url?: unknown; secretEnv?: unknown } } | null)?.webhook
      const deskId = (desk as { id?: unknown } | null)?.id
      const url = webhook?.url
      if (typeof url === 'string' && hasUrlCredentials(url))
        ctx.addIssue({ code: 'custom', path: ['webhook', 'url'], message: webhookCredentialsRefusal(deskId) })
      // Only for a variable name (DeskWebhook refused any other), so a secretEnv is refused for one reason.
      const secretEnv = webhook?.secretEnv
      if (
        typeof secretEnv === 'string' &&
        secretEnv.length > MAX_SECRET_ENV_CHARS &&
        ENV_NAME.test(secretEnv)
      )
        ctx.addIssue({
          code: 'custom',
          path: ['webhook', 'secretEnv'],
          message: secretEnvLengthRefusal(deskId, secretEnv.length),
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

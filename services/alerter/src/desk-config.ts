import { readFileSync } from 'node:fs'
import { type Desk, formatFromPath, parseDesks } from '@tradepulse/alerting'
import { TradepulseError } from '@tradepulse/platform'
import { formatErrors } from './rules-source.ts'

export type DeskWebhookTarget = { deskId: string; url: string; secret: string }

export type DeskConfig = { version: string; desks: Desk[]; webhooks: DeskWebhookTarget[] }

/**
 * The desks file, read once at start. With webhooks enabled every desk's secret variable must be set:
 * a desk that could never sign its webhook is a configuration error naming the variable, not a dlq of
 * every alert it gets.
 */
export function loadDeskConfig(
  file: string,
  env: Record<string, string | undefined>,
  webhooksEnabled: boolean,
): DeskConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new TradepulseError('CONFIG_INVALID', `ALERTER_DESKS_FILE (${file}): ${(err as Error).message}`)
  }
  const r = parseDesks(text, formatFromPath(file))
  if (!r.ok)
    throw new TradepulseError('CONFIG_INVALID', `ALERTER_DESKS_FILE (${file}): ${formatErrors(r.errors)}`)
  const webhooks: DeskWebhookTarget[] = []
  const missing: string[] = []
  if (webhooksEnabled) {
    r.desks.forEach((desk, i) => {
      if (!desk.webhook) return
      const secret = env[desk.webhook.secretEnv]
      if (!secret) {
        missing.push(
          `desks[${i}].webhook.secretEnv: desk "${desk.id}" signs its webhook with ${desk.webhook.secretEnv}, which is not set`,
        )
        return
      }
      webhooks.push({ deskId: desk.id, url: desk.webhook.url, secret })
    })
  }
  if (missing.length) {
    throw new TradepulseError(
      'CONFIG_INVALID',
      `ALERTER_DESKS_FILE (${file}): ${missing.join('; ')} (set it, or ALERTER_WEBHOOKS_ENABLED=false)`,
    )
  }
  return { version: r.version, desks: r.desks, webhooks }
}

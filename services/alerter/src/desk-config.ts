import { readFileSync } from 'node:fs'
import { type Desk, formatFromPath, parseDesks } from '@tradepulse/alerting'
import { TradepulseError } from '@tradepulse/platform'
import { formatErrors } from './rules-source.ts'

export type DeskWebhookTarget = { deskId: string; url: string; secret: string }

export type DeskConfig = { version: string; desks: Desk[]; webhooks: DeskWebhookTarget[] }

/**
 * The desks file, read once at start. With webhooks enabled every desk's secret variable must be set:
 * a desk that could never sign its webhook is a configuration error naming the variable, not a dlq of
 * every alert it gets. So is a webhook URL with credentials in it (https://user:password@host/…): fetch
 * refuses to send such a request, and every alert's failure was logged and dead-lettered with the URL
 * whole, the password in it. The error names the desk, never the URL.
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
  const problems: string[] = []
  if (webhooksEnabled) {
    r.desks.forEach((desk, i) => {
      if (!desk.webhook) return
      const url = new URL(desk.webhook.url)
      const withCredentials = url.username !== '' || url.password !== ''
      if (withCredentials)
        problems.push(
          `desks[${i}].webhook.url: desk "${desk.id}" has credentials in its URL (user:password@), which fetch never sends, so every POST would fail (take them out: the webhook is signed with its secretEnv; a token the endpoint needs goes in its path)`,
        )
      const secret = env[desk.webhook.secretEnv]
      if (!secret)
        problems.push(
          `desks[${i}].webhook.secretEnv: desk "${desk.id}" signs its webhook with ${desk.webhook.secretEnv}, which is not set (set it, or ALERTER_WEBHOOKS_ENABLED=false)`,
        )
      if (secret && !withCredentials) webhooks.push({ deskId: desk.id, url: desk.webhook.url, secret })
    })
  }
  if (problems.length)
    throw new TradepulseError('CONFIG_INVALID', `ALERTER_DESKS_FILE (${file}): ${problems.join('; ')}`)
  return { version: r.version, desks: r.desks, webhooks }
}

import { readFileSync } from 'node:fs'
import {
  type ConfigError,
  type Desk,
  type DeskRuleFacts,
  deskRuleRefusals,
  formatFromPath,
  parseDesks,
  type RuleSet,
} from '@tradepulse/alerting'
import { TradepulseError } from '@tradepulse/platform'
import { formatErrors } from './rules-source.ts'

export type DeskWebhookTarget = { deskId: string; url: string; secret: string }

export type DeskConfig = { version: string; desks: Desk[]; webhooks: DeskWebhookTarget[] }

/**
 * The desks file, read once at start. With webhooks enabled every desk's secret variable must be set:
 * a desk that could never sign its webhook is a configuration error naming the variable, not a dlq of
 * every alert it gets. A webhook URL with credentials in it (https://user:password@host/…) is refused by
 * the desks schema itself (alerting's desk-schema.ts), naming the desk, never the URL. Given `rules` (the
 * rules file's), a desk naming a rule it would get nothing of is refused too (deskRuleRefusals).
 */
export function loadDeskConfig(
  file: string,
  env: Record<string, string | undefined>,
  webhooksEnabled: boolean,
  rules?: readonly DeskRuleFacts[],
): DeskConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new TradepulseError('CONFIG_INVALID', `ALERTER_DESKS_FILE (${file}): ${(err as Error).message}`)
  }
  const r = parseDesks(text, formatFromPath(file), rules ? { rules } : {})
  if (!r.ok)
    throw new TradepulseError('CONFIG_INVALID', `ALERTER_DESKS_FILE (${file}): ${formatErrors(r.errors)}`)
  const webhooks: DeskWebhookTarget[] = []
  const problems: string[] = []
  if (webhooksEnabled) {
    r.desks.forEach((desk, i) => {
      if (!desk.webhook) return
      const secret = env[desk.webhook.secretEnv]
      if (secret) webhooks.push({ deskId: desk.id, url: desk.webhook.url, secret })
      else
        problems.push(
          `desks[${i}].webhook.secretEnv: desk "${desk.id}" signs its webhook with ${desk.webhook.secretEnv}, which is not set (set it, or ALERTER_WEBHOOKS_ENABLED=false)`,
        )
    })
  }
  if (problems.length)
    throw new TradepulseError('CONFIG_INVALID', `ALERTER_DESKS_FILE (${file}): ${problems.join('; ')}`)
  return { version: r.version, desks: r.desks, webhooks }
}

/**
 * Why a reloaded rule set is refused for the desks read at start: each rule a desk names that the set no
 * longer has (a rule removed or renamed), or that can no longer reach the desk (its dimensions or its
 * severity changed). Taken, that desk would silently get nothing of it until a restart refused the pair
 * of files; the desks file is read at start only, so the fix is to keep the rule as it was, or change
 * both files and restart.
 */
export function desksRefusingRules(file: string, desks: readonly Desk[], ruleSet: RuleSet): ConfigError[] {
  return deskRuleRefusals(desks, ruleSet.rules).map((e) => ({
    path: '',
    message: `ALERTER_DESKS_FILE (${file}) ${e.path}: ${e.message}; the desks file is read at start only: keep the rule, or change both files and restart`,
  }))
}

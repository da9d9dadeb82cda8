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
import { formatErrors, readConfigFile } from './rules-source.ts'

export type DeskWebhookTarget = { deskId: string; url: string; secret: string }

export type DeskConfig = {
  version: string
  desks: Desk[]
  webhooks: DeskWebhookTarget[]
  /**
   * What the file is taken with but should not be, one line each, for the caller to log at start: a
   * webhook secret shorter than WEBHOOK_SECRET_MIN_BYTES, a webhook URL of plain http to a host that is
   * not this machine (cleartextOrigin). Never the secret itself, nor the URL's path.
   */
  warnings: string[]
}

/**
 * Fewest bytes (UTF-8, as the HMAC key is) of a webhook secret taken without a warning: 128 bits, if
 * random. Shorter is taken, since refusing it would stop a running deployment's webhooks at an upgrade,
 * but warned of at start: a short secret can be guessed, and with it every alert's signature forged.
 */
export const WEBHOOK_SECRET_MIN_BYTES = 16

/**
 * The origin (scheme, host and port: never the path, which often holds the receiver's token) of an
 * http: URL whose host is not this machine (127.0.0.0/8, ::1 or its IPv4-mapped 127/8, localhost), or
 * undefined: an https: URL, a loopback one, or one that is no URL (the desks schema refuses those). The
 * URL parser has already written the host in its one form (127.1 and 2130706433 as 127.0.0.1,
 * [0:0:0:0:0:0:0:1] as [::1], LOCALHOST as localhost).
 */
function cleartextOrigin(url: string): string | undefined {
  if (!URL.canParse(url)) return undefined
  const u = new URL(url)
  if (u.protocol !== 'http:') return undefined
  const host = u.hostname
  const loopback =
    host === 'localhost' ||
    host === '[::1]' ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host)
  return loopback ? undefined : u.origin
}

/**
 * The desks file, read once at start. With webhooks enabled every desk's secret variable must be set to a
 * secret: a desk that could never sign its webhook is a configuration error naming the variable, not a
 * dlq of every alert it gets, and one set to nothing but white space (or to nothing) is refused too, for
 * an HMAC keyed with it is one anyone can compute; a secret under WEBHOOK_SECRET_MIN_BYTES is warned of
 * (`warnings`). Those errors and warnings name the desk, the variable and the YAML line of its
 * `secretEnv`, never the secret's value. A webhook URL of plain http to another machine is warned of too,
 * naming the desk, the URL's origin and its line, never its path (it often holds the receiver's token).
 * A webhook URL with credentials in it (https://user:password@host/…) is refused by the desks schema
 * itself (alerting's desk-schema.ts), naming the desk, never the URL. Given `rules` (the rules file's), a
 * desk naming a rule it would get nothing of is refused too (deskRuleRefusals). An unreadable file is refused as the rules file is (`cannot read it: no such file`).
 */
export function loadDeskConfig(
  file: string,
  env: Record<string, string | undefined>,
  webhooksEnabled: boolean,
  rules?: readonly DeskRuleFacts[],
): DeskConfig {
  const refuse = (message: string) =>
    new TradepulseError('CONFIG_INVALID', `ALERTER_DESKS_FILE (${file}): ${message}`)
  const read = readConfigFile(file)
  if (!read.ok) throw refuse(read.message)
  const r = parseDesks(read.text, formatFromPath(file), rules ? { rules } : {})
  if (!r.ok) throw refuse(formatErrors(r.errors))
  const webhooks: DeskWebhookTarget[] = []
  const problems: string[] = []
  const warnings: string[] = []
  if (webhooksEnabled) {
    r.desks.forEach((desk, i) => {
      if (!desk.webhook) return
      const { secretEnv, url } = desk.webhook
      const path = `desks[${i}].webhook.secretEnv`
      const line = r.lineOf?.(path)
      const at = (message: string) => `${path}: ${message}${line === undefined ? '' : ` (line ${line})`}`
      const signs = `desk "${desk.id}" signs its webhook with ${secretEnv}`
      const secret = env[secretEnv]
      if (secret === undefined) {
        problems.push(at(`${signs}, which is not set (set it, or ALERTER_WEBHOOKS_ENABLED=false)`))
        return
      }
      if (secret.trim() === '') {
        const what = secret === '' ? 'which is set but empty' : 'which holds only white space'
        problems.push(
          at(
            `${signs}, ${what}: anyone can sign with that, so its signatures would prove nothing (set it to a random secret of at least ${WEBHOOK_SECRET_MIN_BYTES} bytes, or ALERTER_WEBHOOKS_ENABLED=false)`,
          ),
        )
        return
      }
      const bytes = Buffer.byteLength(secret, 'utf8')
      if (bytes < WEBHOOK_SECRET_MIN_BYTES)
        warnings.push(
          `ALERTER_DESKS_FILE (${file}): ${at(`${signs}, which holds ${bytes} byte${bytes === 1 ? '' : 's'}, under the ${WEBHOOK_SECRET_MIN_BYTES} a secret should have: a secret that short can be guessed, and its alerts' signatures forged (use a random one, e.g. openssl rand -hex 32)`)}`,
        )
      const clear = cleartextOrigin(url)
      if (clear) {
        const urlPath = `desks[${i}].webhook.url`
        const urlLine = r.lineOf?.(urlPath)
        warnings.push(
          `ALERTER_DESKS_FILE (${file}): ${urlPath}: desk "${desk.id}" sends its webhook to ${clear} over plain http: its URL (a token in its path with it) and every alert cross the network unencrypted, readable and changeable on the way (use https)${urlLine === undefined ? '' : ` (line ${urlLine})`}`,
        )
      }
      webhooks.push({ deskId: desk.id, url, secret })
    })
  }
  if (problems.length) throw refuse(problems.join('; '))
  return { version: r.version, desks: r.desks, webhooks, warnings }
}

/**
 * The variables desks' webhooks are signed with (`webhook.secretEnv`), in file order, each once. The
 * desks file may name them as it likes (ALERTER_TARIFF_KEY): the process reading it declares them
 * (platform's declareVariables), so a name that looks like a worker's variable is not warned of as unknown.
 */
export function deskSecretVariables(desks: readonly Desk[]): string[] {
  return [...new Set(desks.flatMap((d) => (d.webhook ? [d.webhook.secretEnv] : [])))]
}

/**
 * The secret variables the desks file `file` names, or none when it cannot be read or is not a valid
 * desks file: for a process that does not use the desks (a one-shot command) but shares the alerter's
 * environment, to know them when it warns of unknown variables. Never a refusal: the alerter refuses a
 * bad file itself.
 */
export function deskSecretVariablesOfFile(file: string): string[] {
  try {
    const read = readConfigFile(file)
    if (!read.ok) return []
    const r = parseDesks(read.text, formatFromPath(file))
    return r.ok ? deskSecretVariables(r.desks) : []
  } catch {
    return []
  }
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

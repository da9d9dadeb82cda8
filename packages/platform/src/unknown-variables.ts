import { readFileSync, statSync } from 'node:fs'
import { DECLARED_VARIABLES } from './declared-variables.ts'

export { DECLARED_VARIABLES }

/**
 * Environment variables that look like the workers' but that no worker reads: a misspelt name
 * (GATEWAY_MAX_STREAM for GATEWAY_MAX_STREAMS, AGGREGATOR_GRACE for AGGREGATOR_GRACE_MS) was silently
 * ignored, its setting left at the default. Each is warned of once, at the worker's start, naming the
 * declared variable it probably meant when one is close. A warning, never a refusal.
 *
 * Known: every variable any worker declares (DECLARED_VARIABLES, generated from the workers' registry),
 * so one worker's variables set for all in a shared environment do not warn in the others.
 *
 * Looked at: the variables whose name starts with a prefix of the declared ones (AGGREGATOR_, ALERTER_,
 * GATEWAY_, INGEST_, SCORER_, TRADEPULSE_, RETRY_, SHUTDOWN_, TOPICS_, …), except
 * - GENERIC_PREFIXES (KAFKA_, REDIS_, HTTP_, LOG_): other software sets many of those in the same
 *   environments (the Kafka images read every KAFKA_* as a broker setting, Kafka's scripts KAFKA_OPTS and
 *   KAFKA_HEAP_OPTS, the Redis image and hosted Redis REDIS_VERSION or REDIS_TLS_URL, proxies HTTP_PROXY,
 *   other tools LOG_FORMAT): there, only a near miss of a declared name (2 edits at most: KAFKA_BROKER,
 *   REDIS_ULR, LOG_LEVL) warns;
 * - NOT_WORKER_VARIABLES: set by this project's own tooling where the workers run, and read by no worker;
 * - Kubernetes service links (GATEWAY_SERVICE_HOST, GATEWAY_PORT=tcp://…, GATEWAY_PORT_9400_TCP…), which
 *   a Service named like a worker puts in every pod of its namespace;
 * - a name with SECRET in it: the desks file names the variables of its webhooks' HMAC keys
 *   (`webhook.secretEnv`, TRADEPULSE_WEBHOOK_SECRET_TARIFF), any name it likes. Those it names are
 *   declared for the process that reads it (declareVariables), whatever their names, and, in every
 *   worker, those the file ALERTER_DESKS_FILE names when that variable is set (deskFileSecretVariables):
 *   one env file for all workers gives each the alerter's secret variables, ALERTER_TARIFF_KEY too.
 */
export type UnknownVariable = { name: string; suggestion?: string; line: string }

/** Prefixes of declared variables that other software commonly uses too: only a near miss warns there. */
export const GENERIC_PREFIXES: readonly string[] = ['KAFKA_', 'REDIS_', 'HTTP_', 'LOG_']

/**
 * Variables of this project that no worker reads, set where workers run: by the test harness
 * (packages/testing) in the environment the workers it spawns inherit, or for docker compose's
 * interpolation in the shell that also runs `./run start`.
 */
export const NOT_WORKER_VARIABLES: readonly string[] = [
  'TRADEPULSE_TEST_RUN', // packages/testing: the run's token, inherited by the test workers
  'TRADEPULSE_NO_DOCKER', // packages/testing: do not try Docker for the test infrastructure
  'GATEWAY_HOST_PORTS', // docker-compose.yml: the host ports of the gateway replicas
  'KAFKA_HOST_PORT', // docker-compose.yml: the host port of the Kafka broker
]

const SERVICE_LINK =
  /_SERVICE_(?:HOST|PORT)(?:_[A-Z0-9_]+)?$|_PORT_\d+_(?:TCP|UDP|SCTP)(?:_(?:PROTO|PORT|ADDR))?$/
const SERVICE_LINK_ADDRESS = /^(?:tcp|udp|sctp):\/\//
const SECRET = /SECRET/

/** The prefix of a variable's name: up to and including its first underscore ('' when it has none). */
export function prefixOf(name: string): string {
  const i = name.indexOf('_')
  return i > 0 ? name.slice(0, i + 1) : ''
}

/** Edits (insertion, deletion, substitution, swap of two neighbours) between two names. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  return d[a.length]![b.length]!
}

/**
 * The declared variable `name` probably meant, or undefined when none is close: at most 2 edits away
 * (3 for a name of 12 characters or more), or, unless `nearOnly`, the same name with a part more or
 * less at its end (AGGREGATOR_GRACE for AGGREGATOR_GRACE_MS). The closest wins; on a tie, the first
 * in alphabetical order.
 */
export function closestDeclared(
  name: string,
  declared: Iterable<string>,
  nearOnly = false,
): string | undefined {
  const most = nearOnly ? 2 : name.length >= 12 ? 3 : 2
  let best: { name: string; distance: number } | undefined
  for (const candidate of [...declared].sort()) {
    const distance = editDistance(name, candidate)
    const extends_ = !nearOnly && (candidate.startsWith(`${name}_`) || name.startsWith(`${candidate}_`))
    if ((distance <= most || extends_) && (!best || distance < best.distance))
      best = { name: candidate, distance }
  }
  return best?.name
}

/**
 * The variables of `env` (set ones only) that warn, sorted by name, each with the line to log: `unknown
 * variable GATEWAY_MAX_STREAM (did you mean GATEWAY_MAX_STREAMS?)`, or `unknown variable GATEWAY_FOO (no
 * worker reads it)`. `declared`: the variables the workers read (DECLARED_VARIABLES by default; a
 * worker adds its own schema's). A value is never looked at but a service link's, nor shown.
 */
export function unknownVariableWarnings(
  env: Record<string, string | undefined>,
  declared: Iterable<string> = DECLARED_VARIABLES,
): UnknownVariable[] {
  const known = new Set(declared)
  const prefixes = new Set([...known].map(prefixOf).filter((p) => p !== ''))
  const out: UnknownVariable[] = []
  for (const name of Object.keys(env).sort()) {
    const value = env[name]
    if (value === undefined || value.trim() === '' || known.has(name)) continue
    const prefix = prefixOf(name)
    if (!prefixes.has(prefix) || NOT_WORKER_VARIABLES.includes(name) || SECRET.test(name)) continue
    if (SERVICE_LINK.test(name) || (name.endsWith('_PORT') && SERVICE_LINK_ADDRESS.test(value.trim())))
      continue
    const generic = GENERIC_PREFIXES.includes(prefix)
    const suggestion = closestDeclared(name, known, generic)
    if (generic && suggestion === undefined) continue
    out.push({
      name,
      ...(suggestion ? { suggestion } : {}),
      line: `unknown variable ${name} (${suggestion ? `did you mean ${suggestion}?` : 'no worker reads it'})`,
    })
  }
  return out
}

/** The variable naming the alerter's desks file (its configuration's), read by every worker for this. */
const DESKS_FILE_VARIABLE = 'ALERTER_DESKS_FILE'

/** A larger desks file is not looked at: the alerter refuses one of over 1,000,000 characters (of 1 to 4 bytes). */
const MAX_DESKS_FILE_BYTES = 4_000_000

// `secretEnv: NAME` in YAML (block or flow, key or value quoted or not) and `"secretEnv": "NAME"` in JSON;
// a name of at most 128 characters, as the desks schema takes (MAX_SECRET_ENV_CHARS in packages/alerting,
// which platform does not import): a longer one is no variable any worker may read.
const SECRET_ENV = /\bsecretEnv["']?[ \t]*:[ \t]*["']?([A-Z_][A-Z0-9_]{0,127})(?![A-Za-z0-9_])/g

/**
 * The variable names a desks file's text gives as `secretEnv`, in order, each once. A scan, not a parse:
 * platform has no YAML reader and knows no desks schema (packages/alerting's, which the alerter reads the
 * file with). Its only use is to know more variables, so a name in a comment counts too.
 */
export function secretEnvNames(text: string): string[] {
  return [...new Set([...text.matchAll(SECRET_ENV)].map((m) => m[1]!))]
}

/**
 * The webhook secret variables the desks file `env.ALERTER_DESKS_FILE` names, for a worker that does not
 * read that file (scorer, ingest, aggregator, gateway) but shares the alerter's environment; none when the
 * variable is not set (its default, the shipped sample, names only variables with SECRET in them) or the
 * file cannot be read. Never a refusal: the alerter refuses a bad file itself.
 */
export function deskFileSecretVariables(env: Record<string, string | undefined>): string[] {
  const file = env[DESKS_FILE_VARIABLE]?.trim()
  if (!file) return []
  try {
    const stat = statSync(file)
    if (!stat.isFile() || stat.size > MAX_DESKS_FILE_BYTES) return []
    return secretEnvNames(readFileSync(file, 'utf8'))
  } catch {
    return []
  }
}

// What loadConfig found, for the worker's start to log with the worker's logger (loadConfig has none:
// the logger is made from the configuration). Kept by name, so that the configurations a process loads
// (`tradepulse start` loads every worker's, some twice) say each variable once.
const pending = new Map<string, UnknownVariable>()
const told = new Set<string>()
// Variables the process reads that no configuration schema declares: those a file it loaded names.
const declaredByFiles = new Set<string>()

/**
 * Notes the unknown variables of an environment a configuration was loaded from (loadConfig). Known besides
 * the declared ones: those a file the process loaded names (declareVariables) and the secret variables of
 * the desks file the environment's ALERTER_DESKS_FILE names (deskFileSecretVariables).
 */
export function noteUnknownVariables(
  env: Record<string, string | undefined>,
  ownDeclared: Iterable<string> = [],
): void {
  const known = [...DECLARED_VARIABLES, ...declaredByFiles, ...deskFileSecretVariables(env), ...ownDeclared]
  for (const u of unknownVariableWarnings(env, known)) if (!told.has(u.name)) pending.set(u.name, u)
}

/**
 * Declares variables the process reads besides its configuration's, named by a file it loaded (the
 * desks file's webhook secret variables, `webhook.secretEnv`, which may be named anything: ALERTER_TARIFF_KEY
 * is as good a name as any). They are known to every later check of the process, and those already noted
 * are not warned of: call it before the worker starts (its build), as the noting is done at loadConfig.
 */
export function declareVariables(names: Iterable<string>): void {
  for (const name of names) {
    declaredByFiles.add(name)
    pending.delete(name)
  }
}

/** The unknown variables noted and not yet taken, each once per process (a worker's start logs them). */
export function takeUnknownVariables(): UnknownVariable[] {
  const taken = [...pending.values()]
  pending.clear()
  for (const u of taken) told.add(u.name)
  return taken
}

import { DEFAULT_TOPIC_PREFIX } from '@tradepulse/contracts'
import { RESERVED_NAMESPACES } from '@tradepulse/indicators'
import { z } from 'zod'
import { TradepulseError } from './errors.ts'

/** Where Kafka and Redis are looked for when KAFKA_BROKERS / REDIS_URL are not set: one machine. */
export const DEFAULT_KAFKA_BROKERS = '127.0.0.1:9092'
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')
const ms = (def: number) => z.coerce.number().int().min(0).default(def)
const count = (def: number, min = 1) => z.coerce.number().int().min(min).default(def)

/**
 * Settings every worker shares, read from the environment. Names carry their units. Each key is also
 * the environment variable's name, so an error can name the variable.
 */
export const baseConfigShape = {
  TRADEPULSE_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/, 'letters, digits, dot, underscore and hyphen only')
    .default(DEFAULT_TOPIC_PREFIX)
    .describe('prefix of every topic name'),
  KAFKA_BROKERS: z
    .string()
    .transform((s, ctx) => {
      // One issue naming each bad entry once: a per-entry schema gave one line per failed check, each
      // quoting the whole value ("nohost" two lines, "a:99999,b" three).
      const brokers = s.split(',').map((b) => b.trim())
      const bad = brokers.flatMap((b) => {
        const m = /^([^:\s]+):(\d{1,5})$/.exec(b)
        if (!m) return [b === '' ? 'an empty entry' : `${JSON.stringify(b)} is not host:port`]
        const port = Number(m[2])
        return port >= 1 && port <= 65_535 ? [] : [`${JSON.stringify(b)} has a port outside 1 to 65535`]
      })
      if (bad.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: [...new Set(bad)].join(', '),
          params: { namesValue: brokers.length === 1 },
        })
        return z.NEVER
      }
      return brokers
    })
    .default(DEFAULT_KAFKA_BROKERS.split(','))
    .describe('comma-separated Kafka bootstrap brokers (host:port)'),
  KAFKA_CLIENT_ID: z.string().min(1).optional().describe('Kafka client id (default: tradepulse-WORKER)'),
  KAFKA_GROUP_ID: z
    .string()
    .min(1)
    .optional()
    .describe('consumer group (default: the topic prefix and the worker, tradepulse.WORKER)'),
  // With a minimum of one byte the broker answers a fetch as soon as a record arrives, so the wait only
  // bounds how often an idle consumer asks (and how long a stop or a seek waits for the fetch in flight).
  KAFKA_FETCH_MAX_WAIT_MS: ms(100).describe(
    'longest a fetch waits for KAFKA_FETCH_MIN_BYTES of data (kafkajs defaults to 5000, far too long for a stop or a seek)',
  ),
  KAFKA_FETCH_MIN_BYTES: count(1).describe(
    'a fetch returns once this much data is there, else after KAFKA_FETCH_MAX_WAIT_MS (1: at the first record; larger: fewer, larger fetches and batches, each record waiting for company)',
  ),
  KAFKA_COMMIT_INTERVAL_MS: ms(1_000).describe(
    "how often finished offsets are committed, off the records' path (0: after every batch, which adds a commit's wait to every hop)",
  ),
  // A worker that dies without leaving its group (SIGKILL, a lost host) holds its partitions this long:
  // a replacement gets them only then, so it is the stream's stall after such a crash (measured: the
  // first scored headline 29.6 s after the kill at 30 s, 9.9 s at 10 s). A live member heartbeats all
  // through a batch, its retries and each attempt (batch-runner), so a slow broker or Redis does not
  // cost it its session. Kafka refuses a session under its group.min.session.timeout.ms (6 s by default).
  KAFKA_SESSION_TIMEOUT_MS: count(10_000, 1_000).describe(
    'consumer session timeout: how long the partitions of a worker that died without leaving wait before another member takes them; the broker refuses one outside its group.min.session.timeout.ms..group.max.session.timeout.ms (6000..1800000 by default), and the worker then exits 78 naming this variable',
  ),
  KAFKA_HEARTBEAT_INTERVAL_MS: count(3_000, 100).describe('consumer heartbeat interval'),
  KAFKA_MAX_BATCH: count(2_000).describe('most records handled and produced as one unit'),
  KAFKA_PARTITIONS_CONCURRENCY: count(3).describe(
    "partitions handled at once per worker: overlaps one partition's Redis round trip with another's produce",
  ),
  KAFKA_MAX_BYTES_PER_PARTITION: count(1_048_576).describe('fetch size per partition'),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/ })
    .default(DEFAULT_REDIS_URL)
    .describe('Redis server URL'),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/, 'letters, digits, underscore and hyphen only')
    .default('tp')
    .describe('prefix of every Redis key'),
  REDIS_TIMEOUT_MS: ms(5_000).describe(
    'how long a Redis command waits for its reply before it fails as an outage (retried with backoff); a connection silent that long is dropped and reopened (0: wait for ever)',
  ),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level'),
  LOG_PRETTY: bool.optional().describe('human-readable logs (default: when stdout is a terminal)'),
  HTTP_HOST: z.string().default('127.0.0.1').describe('address of the health and metrics server'),
  HTTP_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65_535)
    .optional()
    .describe('port of the health and metrics server (0: any free port; unset: per-worker default)'),
  SHUTDOWN_DEADLINE_MS: count(15_000).describe('longest a graceful stop may take before the process exits'),
  RETRY_BASE_MS: count(100).describe('first backoff delay for infrastructure faults'),
  RETRY_MAX_MS: count(5_000).describe('longest backoff delay for infrastructure faults'),
}

/** The numeric settings every worker has that a worker may give a default of its own (ownDefault). */
type NumericBaseKey =
  | 'KAFKA_MAX_BATCH'
  | 'KAFKA_MAX_BYTES_PER_PARTITION'
  | 'KAFKA_FETCH_MAX_WAIT_MS'
  | 'KAFKA_FETCH_MIN_BYTES'
  | 'KAFKA_PARTITIONS_CONCURRENCY'

/** A setting every worker has, with one worker's own default: validated as the shared one is. */
export function ownDefault(key: NumericBaseKey, value: number, description: string) {
  return baseConfigShape[key].unwrap().default(value).describe(description)
}

export const BaseConfig = z.object(baseConfigShape)
export type BaseConfig = z.infer<typeof BaseConfig>

/** Variables whose value is never echoed in an error. */
/**
 * A variable's value, trimmed, or undefined when it is unset: empty or blank (white space only) counts
 * as unset, as shells and compose files often export FOO= for "no value", and a blank one would
 * otherwise pass some checks as something else (HTTP_PORT=" " coerces to port 0, any free port).
 */
export function setValue(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

/** The variables of `env` that are set (setValue), as given. */
export function setVariables(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => setValue(e[1]) !== undefined),
  )
}

const SECRET_NAME = /SECRET|PASSWORD|TOKEN/i

/**
 * A URL with its credentials (all up to its last "@") hidden, as a password with "#" or "/" in it is
 * what typically makes the URL invalid, so an invalid URL is cut the same way.
 */
export function redactUrl(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/).*@/is, '$1[redacted]@')
}

/** A bad value as an error may show it: a secret variable's not at all, a URL's without credentials. */
function shownValue(name: string, raw: string): string {
  if (SECRET_NAME.test(name)) return '[redacted]'
  const hidden = redactUrl(raw)
  return JSON.stringify(hidden.length > 60 ? `${hidden.slice(0, 60)}…` : hidden)
}

function describeIssue(issue: z.core.$ZodIssue, env: Record<string, string | undefined>): string {
  const name = String(issue.path[0] ?? '(environment)')
  const raw = env[name]
  // A message that already quotes the whole value (KAFKA_BROKERS of one entry) does not repeat it.
  if (issue.code === 'custom' && issue.params?.namesValue) return `${name}: ${issue.message}`
  const got = raw === undefined ? 'not set' : `got ${shownValue(name, raw)}`
  return `${name}: ${issue.message} (${got})`
}

/**
 * Parses the environment once, in `main`. Every bad variable is named in one error; unknown
 * variables are ignored (the environment holds far more than ours).
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined>,
): z.infer<S> {
  const cleaned = setVariables(env)
  const result = schema.safeParse(cleaned)
  if (result.success) {
    // Kafka refuses a heartbeat interval at or above the session timeout only when the consumer joins.
    const c = result.data as Partial<
      Pick<BaseConfig, 'KAFKA_HEARTBEAT_INTERVAL_MS' | 'KAFKA_SESSION_TIMEOUT_MS'>
    >
    if (
      c.KAFKA_HEARTBEAT_INTERVAL_MS !== undefined &&
      c.KAFKA_SESSION_TIMEOUT_MS !== undefined &&
      c.KAFKA_HEARTBEAT_INTERVAL_MS >= c.KAFKA_SESSION_TIMEOUT_MS
    )
      throw new TradepulseError(
        'CONFIG_INVALID',
        `invalid configuration:\n  KAFKA_HEARTBEAT_INTERVAL_MS: must be below KAFKA_SESSION_TIMEOUT_MS (got ${c.KAFKA_HEARTBEAT_INTERVAL_MS} and ${c.KAFKA_SESSION_TIMEOUT_MS})`,
      )
    return result.data
  }
  const lines = result.error.issues.map((i) => describeIssue(i, env))
  throw new TradepulseError('CONFIG_INVALID', `invalid configuration:\n  ${lines.join('\n  ')}`)
}

/** The environment variables a schema reads, with their descriptions and defaults (README table). */
export function describeConfig(
  schema: z.ZodObject,
): { name: string; description: string; default: string }[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const f = field as z.ZodType
    const parsed = f.safeParse(undefined)
    const def = parsed.success && parsed.data !== undefined ? JSON.stringify(parsed.data) : ''
    return { name, description: f.description ?? '', default: def }
  })
}

/** TOPICS_AUTO_CREATE of the workers that create their topics (each may say what it creates). */
export const topicsAutoCreate = (what = 'missing topics') =>
  z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true')
    .describe(`create ${what} at start (one-machine convenience)`)

/** AGGREGATOR_REDIS_NAMESPACE: the aggregator writes the indicators there, the gateway reads them. */
export const indicatorNamespace = () =>
  z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/, 'letters, digits, underscore and hyphen only')
    .refine((v) => !RESERVED_NAMESPACES.includes(v), {
      message: `reserved for other keys under REDIS_KEY_PREFIX: ${RESERVED_NAMESPACES.join(', ')}`,
    })
    .default('v1')
    .describe('indicator namespace used until a rebuild activates another one')

/**
 * A worker's consumer group when KAFKA_GROUP_ID is not set: the topic prefix and the worker's name
 * ("tradepulse.alerter"), so deployments (or test runs) with their own topic prefix on one cluster do
 * not share a group.
 */
export function defaultGroupId(
  config: Pick<BaseConfig, 'KAFKA_GROUP_ID' | 'TRADEPULSE_TOPIC_PREFIX'>,
  worker: string,
): string {
  return config.KAFKA_GROUP_ID ?? `${config.TRADEPULSE_TOPIC_PREFIX || DEFAULT_TOPIC_PREFIX}${worker}`
}

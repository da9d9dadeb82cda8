import { readFileSync } from 'node:fs'
import { isIPv6 } from 'node:net'
import { createSecureContext } from 'node:tls'
import {
  createTopicCatalogue,
  DEFAULT_TOPIC_PREFIX,
  DESK_ID_MAX_CHARS,
  listTopics,
} from '@tradepulse/contracts'
import { RESERVED_NAMESPACES } from '@tradepulse/indicators'
import { z } from 'zod'
import { TradepulseError } from './errors.ts'
import { noteUnknownVariables } from './unknown-variables.ts'

/** Where Kafka and Redis are looked for when KAFKA_BROKERS / REDIS_URL are not set: one machine. */
export const DEFAULT_KAFKA_BROKERS = '127.0.0.1:9092'
/** KAFKA_METADATA_MAX_AGE_MS's default, and that of a client made without it (createKafka). */
export const DEFAULT_METADATA_MAX_AGE_MS = 30_000
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')

/**
 * The longest delay a Node timer keeps: 2^31 - 1 ms (24.8 days). A longer one fires after 1 ms, with only a
 * TimeoutOverflowWarning to say so (REDIS_TIMEOUT_MS=3000000000 timed every Redis command out at once), so
 * every variable that sets a timer is refused above it. It is also the largest value Kafka's protocol
 * carries in the 32-bit fields our counts and sizes go to (fetch sizes, session timeout).
 */
export const MAX_TIMER_MS = 2_147_483_647

const WHOLE_DECIMAL = /^-?[0-9]+$/
const DECIMAL = /^-?[0-9]+(?:\.[0-9]+)?$/

/**
 * A numeric variable, `number` read from its text in decimal notation only: decimal digits for a whole
 * number (`number` made with .int()), else digits with at most one point; blanks around them are
 * trimmed and a leading minus is left to the bounds. Every numeric variable is read with it. z.coerce
 * reads with Number(), which takes 0x10, 0b11, 0o17, 1e3, +5 and Infinity: KAFKA_MAX_BATCH=0x10 ran
 * batches of 16 and HTTP_PORT=0b11 listened on port 3, where a typo or a value meant for another reader
 * must stop the start naming the variable. The check is the schema's own, so no reader of it can skip it.
 */
export function decimal<T extends z.ZodNumber>(number: T) {
  const whole = number.format?.includes('int') === true
  return z
    .string()
    .trim()
    .regex(
      whole ? WHOLE_DECIMAL : DECIMAL,
      whole
        ? 'a whole number in decimal digits (0-9) only'
        : 'a number in decimal notation (digits, one point) only',
    )
    .transform(Number)
    .pipe(number)
}

/** A duration in ms that sets a timer: `min` up to MAX_TIMER_MS (error naming the bound). */
export const timerMs = (min = 0) =>
  decimal(
    z
      .number()
      .int()
      .min(min)
      .max(MAX_TIMER_MS, `at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest timer Node keeps`),
  )

/** The latest time a JavaScript Date holds, in ms: +275760-09-13T00:00:00Z. */
export const MAX_DATE_MS = 8_640_000_000_000_000

/**
 * The longest duration that sets no timer: 8,386,597,699,200,000 ms, about 265,000 years. Such a duration
 * is added to the wall clock or to event times: a Redis PX or PEXPIRE (the dedup window, the hysteresis
 * TTL), a refill's end shown as a date after a Redis loss, the latest entry time ingest takes (written
 * as a date), the alignment bounds of event times. Redis takes a PX or PEXPIRE up to 2^63 - 1 less its
 * clock (a larger one is "invalid expire time"), and the Lua scripts keep whole numbers exact to 2^53
 * (they write them with %.0f): the Date range is the tighter bound. So a time that far past any wall
 * clock before the year 10000 is still a Date; 2^53 - 1 was taken, and the date a Redis loss then showed
 * (new Date(…).toISOString()) threw RangeError.
 */
export const MAX_DURATION_MS = MAX_DATE_MS - Date.UTC(10_000, 0, 1)

/**
 * A duration in ms that sets no timer: `min` (refused with `minMessage` when given) up to MAX_DURATION_MS
 * (error naming the bound).
 */
export const durationMs = (min = 0, minMessage?: string) =>
  decimal(
    z
      .number()
      .int()
      .min(min, minMessage)
      .max(
        MAX_DURATION_MS,
        `at most ${MAX_DURATION_MS} ms (about 265,000 years): a time that far past the wall clock must stay a date JavaScript holds (to +275760-09-13)`,
      ),
  )

/** A delay or timeout in ms that sets a timer. */
const ms = (def: number, min = 0) => timerMs(min).default(def)
/**
 * A count or size with its default, `min` (1 unless given) up to MAX_TIMER_MS: bounded as Kafka's
 * 32-bit fields and Node's timers are, as the README says of every count (error naming the bound).
 */
export const count = (def: number, min = 1) =>
  decimal(z.number().int().min(min).max(MAX_TIMER_MS, `at most ${MAX_TIMER_MS} (a 32-bit integer)`)).default(
    def,
  )

/**
 * How REDIS_URL starts: the schemes ioredis reads as a URL, in any letter case (rediss: TLS). Without the
 * slashes ioredis takes the text for a host: "redis:" connected to a host named redis.
 */
const REDIS_SCHEME = /^rediss?:\/\//i
const REDIS_URL_FORM =
  'a redis:// URL, or rediss:// for TLS (redis://host:6379, rediss://user:password@host:6380/2)'
/** A URL of REDIS_SCHEME: only such a one is checked further (its path, its query). */
const isRedisUrl = (url: string) => URL.canParse(url) && REDIS_SCHEME.test(url.trim())

/** Kafka's longest topic name. */
export const KAFKA_MAX_TOPIC_CHARS = 249

/**
 * The longest topic name less its prefix: every topic of the catalogue, and the desk alert topics with
 * the longest desk id (alerts.desk.<id>.v1). The dlq is one of the catalogue's topics; the workers use no
 * other (no internal topics: consumer groups are Kafka's own).
 */
export const LONGEST_TOPIC_SUFFIX_CHARS = (() => {
  const catalogue = createTopicCatalogue('')
  return Math.max(
    ...listTopics(catalogue).map((t) => t.name.length),
    catalogue.deskAlerts('a'.repeat(DESK_ID_MAX_CHARS)).name.length,
  )
})()

/** The longest TRADEPULSE_TOPIC_PREFIX: with the longest suffix, a name Kafka still takes. */
export const MAX_TOPIC_PREFIX_CHARS = KAFKA_MAX_TOPIC_CHARS - LONGEST_TOPIC_SUFFIX_CHARS

/** The SASL mechanisms KAFKA_SASL_MECHANISM takes (kafkajs's own; aws and oauthbearer need code of ours). */
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const

/** host:port, or [IPv6 address]:port: the brackets keep the address's colons from the port's. */
const BROKER_ENTRY = /^(?:\[([^\]\s]*)\]|([^:\s[\]]+)):(\d{1,5})$/

/** What is wrong with one KAFKA_BROKERS entry, or undefined when it is a broker address. */
function brokerProblem(b: string): string | undefined {
  if (b === '') return 'an empty entry'
  const q = JSON.stringify(b)
  const m = BROKER_ENTRY.exec(b)
  if (!m) {
    if (/^\[[^\]]*\]$/.test(b)) return `${q} has no port ([address]:port)`
    // A bare IPv6 address: its last group would read as a port ("::1:9092" is ::1 port 9092, or ::1:9092).
    if (!b.startsWith('[') && b.split(':').length > 2)
      return `${q} is not host:port (an IPv6 address goes in brackets: [2001:db8::1]:9092)`
    return `${q} is not host:port`
  }
  if (m[1] !== undefined && !isIPv6(m[1])) return `${q} has no IPv6 address in its brackets`
  const port = Number(m[3])
  return port >= 1 && port <= 65_535 ? undefined : `${q} has a port outside 1 to 65535`
}

/**
 * A Kafka consumer group or client id as given, refused (naming the variable) with white space around it
 * or a control or invisible character in it: Kafka takes any text, so " tradepulse.aggregator" (a stray
 * space, a quoted compose value) joined another group than the deployment's, silently, and started at
 * the topics' end or their start. A plain space inside is the operator's to choose.
 */
const kafkaId = (what: string) =>
  z
    .string()
    .min(1)
    .refine((v) => v === v.trim() && !/[\p{Cc}\p{Default_Ignorable_Code_Point}\u2800]|[^\S ]/u.test(v), {
      message: `no white space around it nor control or invisible characters: Kafka would take it as another ${what} than the one meant`,
    })

/**
 * A PEM file read when the configuration is loaded. Its contents stay out of JSON and of util.inspect
 * (a private field): a configuration logged whole shows the path, never a private key.
 */
export class PemFile {
  readonly path: string
  readonly #pem: string
  constructor(path: string, pem: string) {
    this.path = path
    this.#pem = pem
  }
  get pem(): string {
    return this.#pem
  }
  toJSON(): string {
    return this.path
  }
}

/** A variable naming a PEM file: read at once, so a missing, unreadable or non-PEM file is a config error. */
const pemFile = () =>
  z.string().transform((raw, ctx) => {
    const path = raw.trim()
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message
      ctx.addIssue({
        code: 'custom',
        message: `cannot read ${JSON.stringify(path)}: ${why}`,
        params: { namesValue: true },
      })
      return z.NEVER
    }
    if (!text.includes('-----BEGIN ')) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(path)} is not a PEM file (no -----BEGIN line)`,
        params: { namesValue: true },
      })
      return z.NEVER
    }
    return new PemFile(path, text)
  })

/**
 * Settings every worker shares, read from the environment. Names carry their units. Each key is also
 * the environment variable's name, so an error can name the variable.
 */
export const baseConfigShape = {
  TRADEPULSE_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/, 'letters, digits, dot, underscore and hyphen only')
    .max(
      MAX_TOPIC_PREFIX_CHARS,
      `at most ${MAX_TOPIC_PREFIX_CHARS} characters: Kafka takes topic names of up to ${KAFKA_MAX_TOPIC_CHARS}, and the longest one adds ${LONGEST_TOPIC_SUFFIX_CHARS} (alerts.desk.<desk id>.v1)`,
    )
    .default(DEFAULT_TOPIC_PREFIX)
    .describe(
      `prefix of every topic name (at most ${MAX_TOPIC_PREFIX_CHARS} characters, so that the longest topic name stays within Kafka's ${KAFKA_MAX_TOPIC_CHARS})`,
    ),
  KAFKA_BROKERS: z
    .string()
    .transform((s, ctx) => {
      // One issue naming each bad entry once: a per-entry schema gave one line per failed check, each
      // quoting the whole value ("nohost" two lines, "a:99999,b" three).
      const brokers = s.split(',').map((b) => b.trim())
      const bad = brokers.flatMap((b) => {
        const problem = brokerProblem(b)
        return problem ? [problem] : []
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
    .describe(
      'comma-separated Kafka bootstrap brokers (host:port; an IPv6 address in brackets, [2001:db8::1]:9092)',
    ),
  KAFKA_SSL: bool
    .default(false)
    .describe(
      "connect to Kafka over TLS (the brokers' SSL or SASL_SSL listeners), verifying the brokers against the system's CAs or KAFKA_SSL_CA_FILE",
    ),
  KAFKA_SSL_CA_FILE: pemFile()
    .optional()
    .describe(
      "PEM file of the CA certificates that verify the brokers, instead of the system's (read at start; needs KAFKA_SSL=true)",
    ),
  KAFKA_SSL_CERT_FILE: pemFile()
    .optional()
    .describe(
      'PEM file of the client certificate (mutual TLS), with KAFKA_SSL_KEY_FILE (read at start; needs KAFKA_SSL=true)',
    ),
  KAFKA_SSL_KEY_FILE: pemFile()
    .optional()
    .describe(
      "PEM file of the client certificate's private key, unencrypted, with KAFKA_SSL_CERT_FILE (read at start; needs KAFKA_SSL=true)",
    ),
  KAFKA_SSL_REJECT_UNAUTHORIZED: bool
    .default(true)
    .describe(
      'refuse a broker whose certificate does not verify (false: encrypted, but any broker is trusted; never in production; needs KAFKA_SSL=true)',
    ),
  KAFKA_SASL_MECHANISM: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(SASL_MECHANISMS))
    .optional()
    .describe(
      'SASL mechanism: plain, scram-sha-256 or scram-sha-512, with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (unset: no SASL); plain sends the password as it is, so use it with KAFKA_SSL=true',
    ),
  KAFKA_SASL_USERNAME: z.string().optional().describe('SASL user name (with KAFKA_SASL_MECHANISM)'),
  KAFKA_SASL_PASSWORD: z
    .string()
    .optional()
    .describe('SASL password (with KAFKA_SASL_MECHANISM); never logged nor shown in an error'),
  KAFKA_CLIENT_ID: kafkaId('client id').optional().describe('Kafka client id (default: tradepulse-WORKER)'),
  KAFKA_GROUP_ID: kafkaId('consumer group')
    .optional()
    .describe(
      'consumer group (default: the topic prefix and the worker, tradepulse.WORKER); one group per kind of worker: a process running several (tradepulse start --workers a,b, the embedded default) refuses it, and a worker the group gives partitions of topics it does not read (another kind in the group, one env file for several services) logs an error naming them and is degraded, not ready, as is the leader of the group, which logs the topics of the other members',
    ),
  // With a minimum of one byte the broker answers a fetch as soon as a record arrives, so the wait only
  // bounds how often an idle consumer asks (and how long a stop or a seek waits for the fetch in flight).
  // An idle consumer heartbeats only as a fetch ends, so the wait is bounded by the session (ORDERED).
  KAFKA_FETCH_MAX_WAIT_MS: ms(100).describe(
    'longest a fetch waits for KAFKA_FETCH_MIN_BYTES of data (kafkajs defaults to 5000, far too long for a stop or a seek); with KAFKA_HEARTBEAT_INTERVAL_MS it must stay below KAFKA_SESSION_TIMEOUT_MS, as an idle consumer heartbeats only when a fetch ends',
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
  KAFKA_SESSION_TIMEOUT_MS: ms(10_000, 1_000).describe(
    'consumer session timeout: how long the partitions of a worker that died without leaving wait before another member takes them; the broker refuses one outside its group.min.session.timeout.ms..group.max.session.timeout.ms (6000..1800000 by default), and the worker then exits 78 naming this variable',
  ),
  KAFKA_HEARTBEAT_INTERVAL_MS: ms(3_000, 100).describe(
    'consumer heartbeat interval (below KAFKA_SESSION_TIMEOUT_MS, and so is it plus KAFKA_FETCH_MAX_WAIT_MS)',
  ),
  // kafkajs refreshes a producer's or consumer's view of the cluster only once it is this old (its own
  // default 300000): partitions added to a topic went unread, and unwritten, for five minutes, nothing
  // saying so (measured: headlines grown from 2 to 4 partitions, their records scored after 300 s). Each
  // refresh is one Metadata request per client, so 30 s costs a broker nothing noticeable (a worker has a
  // consumer and a producer or two: a few requests a minute).
  KAFKA_METADATA_MAX_AGE_MS: ms(DEFAULT_METADATA_MAX_AGE_MS, 1_000).describe(
    "longest a producer or consumer acts on the cluster's metadata before asking a broker again: partitions added to a topic are read and written this long after at most (kafkajs's own default, 300000, left them unread for five minutes); each refresh is one metadata request per client, so lower loads the brokers more (sensible: 5000..300000)",
  ),
  KAFKA_MAX_BATCH: count(2_000).describe('most records handled and produced as one unit'),
  KAFKA_PARTITIONS_CONCURRENCY: count(3).describe(
    "partitions handled at once per worker: overlaps one partition's Redis round trip with another's produce",
  ),
  KAFKA_MAX_BYTES_PER_PARTITION: count(1_048_576).describe('fetch size per partition'),
  REDIS_URL: z
    // zod's own message, "Invalid URL", was all http://x (another service's URL) or host:6379 was told.
    .url({ error: REDIS_URL_FORM })
    .refine((url) => !URL.canParse(url) || REDIS_SCHEME.test(url.trim()), { message: REDIS_URL_FORM })
    // ioredis takes the path as the database to SELECT: /abc sent SELECT NaN (the worker died on an uncaught
    // reply), /-1 failed its SELECT and went on in database 0, /1.5 and /2/x used databases 1 and 2.
    .refine((url) => !isRedisUrl(url) || /^(?:\/[0-9]{0,9})?$/.test(new URL(url).pathname), {
      message: 'the path is a database number (redis://host:6379/2) or nothing',
    })
    // ioredis reads every query parameter as a client option, over the worker's own: ?db=abc sent SELECT
    // NaN (the worker died on an uncaught reply), ?db=1.5 used database 1, ?commandTimeout=1 and
    // ?maxRetriesPerRequest=0 replaced REDIS_TIMEOUT_MS and the retries, and ?password=… was the password,
    // shown wherever the URL is. A "?" or "#" outside the userinfo starts a query or a fragment.
    .refine((url) => !isRedisUrl(url) || !/[?#]/.test(url), {
      message:
        "takes no query (?…) nor fragment (#…): the Redis client would read its parameters as options over the worker's own; give the database as the path (redis://host:6379/2) and the credentials before the host (redis://user:password@host:6379), a ? # or / in a password written %3F %23 %2F",
    })
    // ioredis reads the scheme in any case but turns TLS on only for a lower-case "rediss://":
    // REDISS://host connected in plain text, its password with it.
    .transform((url) => url.replace(REDIS_SCHEME, (scheme) => scheme.toLowerCase()))
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
  // Per-record dead letters are right for a record's own key; a key every record writes that holds the
  // wrong type would send the whole stream to the dlq, one record after another.
  REDIS_REPLY_FAILURES_MAX: count(10, 0).describe(
    'records in a row whose handling fails on the same Redis error reply to the same command and key (a key every record writes holding the wrong type) before the worker stops consuming and exits 69 naming the key and the reply, rather than dead-letter them all; the records from there on are neither dead-lettered nor committed (0: dead-letter every one)',
  ),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level'),
  LOG_PRETTY: bool.optional().describe('human-readable logs (default: when stdout is a terminal)'),
  HTTP_HOST: z.string().default('127.0.0.1').describe('address of the health and metrics server'),
  HTTP_PORT: decimal(z.number().int().min(0).max(65_535))
    .optional()
    .describe(
      'port of the health and metrics server (0: any free port; unset: per-worker default; tradepulse start running several workers refuses any other than 0, each taking a free port it prints)',
    ),
  SHUTDOWN_DEADLINE_MS: ms(15_000, 1).describe('longest a graceful stop may take before the process exits'),
  RETRY_BASE_MS: ms(100, 1).describe('first backoff delay for infrastructure faults (at most RETRY_MAX_MS)'),
  RETRY_MAX_MS: ms(5_000, 1).describe('longest backoff delay for infrastructure faults'),
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
 * A URL with its credentials (all up to its last "@", and any query or fragment) hidden, as a password with "#" or "/" in it is
 * what typically makes the URL invalid, so an invalid URL is cut the same way.
 */
export function redactUrl(raw: string): string {
  // A query or a fragment is hidden too: a client may read a password from it (ioredis's ?password=).
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/).*@/is, '$1[redacted]@').replace(/([?#]).*$/s, '$1[redacted]')
}

/** A bad value as an error may show it: a secret variable's not at all, a URL's without credentials. */
function shownValue(name: string, raw: string): string {
  if (SECRET_NAME.test(name)) return '[redacted]'
  const hidden = redactUrl(raw)
  return visible(JSON.stringify(hidden.length > 60 ? `${hidden.slice(0, 60)}…` : hidden))
}

/** Characters a terminal shows as nothing or as a plain space, other than the space itself. */
const INVISIBLE = /[\p{Cc}\p{Default_Ignorable_Code_Point}\p{White_Space}\u2800]/gu

/** Text with its invisible characters written as \uXXXX escapes, so an error shows what was given. */
export function visible(text: string): string {
  return text.replace(INVISIBLE, (c) => {
    if (c === ' ') return c
    const hex = c.codePointAt(0)!.toString(16).toUpperCase()
    return hex.length > 4 ? `\\u{${hex}}` : `\\u${hex.padStart(4, '0')}`
  })
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
 * Settings that bound one another, checked when all are there: `lower` (plus `plus`, when given) below
 * `upper` (at most, unless `strict`), with `why` told when refused. Kafka refuses a heartbeat interval at
 * or above the session timeout only when the consumer joins; a backoff base above its cap would quietly
 * make every delay the cap.
 */
type Order = { lower: string; plus?: string; upper: string; strict: boolean; why?: string }
const ORDERED: readonly Order[] = [
  { lower: 'KAFKA_HEARTBEAT_INTERVAL_MS', upper: 'KAFKA_SESSION_TIMEOUT_MS', strict: true },
  // An idle consumer heartbeats only when a fetch ends (kafkajs's runner, after an empty one; ours only
  // while a batch is handled), and only once the interval has passed since the last heartbeat: the next
  // goes out at the end of the first fetch to end past the interval, which may have begun just before it
  // ran out. So heartbeats may be the interval plus the fetch wait apart, and a session shorter than that
  // drops the idle member: KAFKA_FETCH_MAX_WAIT_MS=20000 with KAFKA_SESSION_TIMEOUT_MS=6000 rejoined the
  // group ("coordinator is not aware of this member") after every fetch, three times in 75 s. The wait
  // alone below the session is not enough: with a 4000 interval and a 3900 wait, an idle kafkajs consumer
  // heartbeated every second fetch, 7800 ms apart, and a 7000 session dropped it three times in 45 s.
  {
    lower: 'KAFKA_FETCH_MAX_WAIT_MS',
    plus: 'KAFKA_HEARTBEAT_INTERVAL_MS',
    upper: 'KAFKA_SESSION_TIMEOUT_MS',
    strict: true,
    why: 'an idle consumer heartbeats only when a fetch ends, once the interval has passed, so its heartbeats may be both apart, and a session shorter than that ends between two of them: the group drops the consumer and it rejoins after every fetch',
  },
  { lower: 'RETRY_BASE_MS', upper: 'RETRY_MAX_MS', strict: false },
]

/** The lines of ORDERED's bounds that `c` breaks (a default's value marked so). */
function orderProblems(c: Record<string, unknown>, given: Record<string, string>): string[] {
  const shown = (name: string) => `${c[name]}${given[name] === undefined ? ' (default)' : ''}`
  const within = (v: number, bound: number, strict: boolean) => (strict ? v < bound : v <= bound)
  return ORDERED.flatMap(({ lower, plus, upper, strict, why }) => {
    const [a, p, b] = [c[lower], plus === undefined ? 0 : c[plus], c[upper]]
    if (typeof a !== 'number' || typeof p !== 'number' || typeof b !== 'number') return []
    // `plus` alone past the bound is its own line (its own entry): the sum would only repeat it.
    if (within(a + p, b, strict) || (plus !== undefined && !within(p, b, strict))) return []
    const what = plus === undefined ? '' : ` plus ${plus}`
    const got = plus === undefined ? shown(lower) : `${shown(lower)} + ${shown(plus)}`
    return [
      `${lower}:${what} must be ${strict ? 'below' : 'at most'} ${upper} (got ${got} and ${shown(upper)})${why ? `: ${why}` : ''}`,
    ]
  })
}

const SSL_SETTINGS = [
  'KAFKA_SSL_CA_FILE',
  'KAFKA_SSL_CERT_FILE',
  'KAFKA_SSL_KEY_FILE',
  'KAFKA_SSL_REJECT_UNAUTHORIZED',
] as const

/**
 * The Kafka TLS and SASL settings that do not fit together, one line each naming the variables (never a
 * password). Checked only for a schema that has them (every worker's does). A TLS setting without
 * KAFKA_SSL, or SASL credentials without a mechanism, would be quietly ignored and the client refused by
 * the broker with a far less helpful message; the CA, certificate and key are loaded as the client will
 * load them, so a key that is not the certificate's fails here, not at the first connection.
 */
function kafkaSecurityProblems(c: Record<string, unknown>, given: Record<string, string>): string[] {
  if (typeof c.KAFKA_SSL !== 'boolean') return []
  const problems: string[] = []
  if (!c.KAFKA_SSL) {
    for (const name of SSL_SETTINGS)
      if (given[name] !== undefined)
        problems.push(`${name}: takes effect only with KAFKA_SSL=true (set KAFKA_SSL=true, or unset ${name})`)
  }
  const [ca, cert, key] = [c.KAFKA_SSL_CA_FILE, c.KAFKA_SSL_CERT_FILE, c.KAFKA_SSL_KEY_FILE] as (
    | PemFile
    | undefined
  )[]
  if ((cert === undefined) !== (key === undefined))
    problems.push(
      `${cert ? 'KAFKA_SSL_KEY_FILE' : 'KAFKA_SSL_CERT_FILE'}: required with ${cert ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE'} (a client certificate and its key go together)`,
    )
  if (c.KAFKA_SSL && ca) {
    // Node takes a PEM file without a certificate as a CA list of none: every broker would be refused.
    const why = ca.pem.includes('-----BEGIN CERTIFICATE-----')
      ? secureContextError({ ca: ca.pem })
      : 'no -----BEGIN CERTIFICATE----- in it'
    if (why)
      problems.push(`KAFKA_SSL_CA_FILE: ${JSON.stringify(ca.path)} holds no usable CA certificate: ${why}`)
  }
  if (c.KAFKA_SSL && cert && key) {
    const why = secureContextError({ cert: cert.pem, key: key.pem })
    if (why)
      problems.push(
        `KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE: ${JSON.stringify(cert.path)} and ${JSON.stringify(key.path)} are not a certificate and its unencrypted key: ${why}`,
      )
  }
  const mechanism = c.KAFKA_SASL_MECHANISM as string | undefined
  if (mechanism) {
    for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'])
      if (c[name] === undefined)
        problems.push(`${name}: required with KAFKA_SASL_MECHANISM=${mechanism} (not set)`)
  } else {
    const set = ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'].filter((n) => c[n] !== undefined)
    if (set.length > 0)
      problems.push(
        `KAFKA_SASL_MECHANISM: required with ${set.join(' and ')} set (${SASL_MECHANISMS.join(', ')}; not set)`,
      )
  }
  return problems
}

/** OpenSSL's complaint about a CA, or a certificate and key, as Node's TLS would load them; undefined when none. */
function secureContextError(options: { ca?: string; cert?: string; key?: string }): string | undefined {
  try {
    createSecureContext(options)
    return undefined
  } catch (err) {
    // OpenSSL's "error:05800074:x509 certificate routines::key values mismatch": the reason is the last part.
    const message = err instanceof Error ? err.message : String(err)
    return message.replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/, '')
  }
}

/**
 * Parses the environment once, in `main`. Every bad variable is named in one error. Unknown variables
 * are not refused (the environment holds far more than ours), but those that look like ours and that no
 * worker declares (a misspelt GATEWAY_MAX_STREAM) are noted, for the worker's start to warn of once each
 * (unknownVariableWarnings).
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined>,
): z.infer<S> {
  const cleaned = setVariables(env)
  const result = schema.safeParse(cleaned)
  if (result.success) {
    const c = result.data as Record<string, unknown>
    const bad = [...orderProblems(c, cleaned), ...kafkaSecurityProblems(c, cleaned)]
    if (bad.length > 0)
      throw new TradepulseError('CONFIG_INVALID', `invalid configuration:\n  ${bad.join('\n  ')}`)
    noteUnknownVariables(cleaned, Object.keys(schema.shape))
    return result.data
  }
  const lines = result.error.issues.map((i) => describeIssue(i, env))
  throw new TradepulseError('CONFIG_INVALID', `invalid configuration:\n  ${lines.join('\n  ')}`)
}

/**
 * The values a numeric variable takes, as the README table shows them: '' for the usual range, which the
 * README states once for all (from 0 or 1 up to MAX_TIMER_MS, or MAX_DURATION_MS for a duration that sets
 * no timer; a fraction with no upper bound), or for a variable that is no number; else its bounds
 * ("1 to 100000", "at least 1000", "above 0, at most 2"), read from the zod number at the end of its
 * decimal() pipe.
 */
function rangeOf(field: z.ZodType): string {
  let t = field
  for (;;) {
    if (t instanceof z.ZodDefault || t instanceof z.ZodOptional) t = t.unwrap() as z.ZodType
    else if (t instanceof z.ZodPipe) t = t.out as z.ZodType
    else break
  }
  if (!(t instanceof z.ZodNumber)) return ''
  const bounds = z.toJSONSchema(t) as {
    minimum?: number
    exclusiveMinimum?: number
    maximum?: number
    exclusiveMaximum?: number
  }
  const { minimum: min, exclusiveMinimum: above, maximum: max, exclusiveMaximum: below } = bounds
  const usualMin = above === undefined && (min === undefined || min === 0 || min === 1)
  const usualMax =
    below === undefined && (max === undefined || max === MAX_TIMER_MS || max === MAX_DURATION_MS)
  if (usualMin && usualMax) return ''
  const lower = above !== undefined ? `above ${above}` : min !== undefined ? `at least ${min}` : ''
  // The usual upper bound goes unsaid: "at least 1000", not "1000 to 8386597699200000".
  if (usualMax) return lower
  if (above === undefined && below === undefined && min !== undefined && max !== undefined)
    return `${min} to ${max}`
  const upper = below !== undefined ? `below ${below}` : max !== undefined ? `at most ${max}` : ''
  return [lower, upper].filter((b) => b !== '').join(', ')
}

/**
 * The environment variables a schema reads, with their descriptions, defaults and ranges (rangeOf: ''
 * for the usual one) for the README table.
 */
export function describeConfig(
  schema: z.ZodObject,
): { name: string; description: string; default: string; range: string }[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const f = field as z.ZodType
    const parsed = f.safeParse(undefined)
    const def = parsed.success && parsed.data !== undefined ? JSON.stringify(parsed.data) : ''
    return { name, description: f.description ?? '', default: def, range: rangeOf(f) }
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

import { ReplyError } from 'ioredis'

/**
 * Stable error codes. `retriable` says whether trying the same thing again can succeed: infrastructure
 * faults are retriable; bad input and programmer errors are not, and are never retried. A Redis reply
 * that is the same on every try (WRONGTYPE, a wrong argument count…) keeps INFRA_REDIS, not retriable.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: { retriable: false, message: 'invalid configuration' },
  INFRA_KAFKA: { retriable: true, message: 'Kafka request failed' },
  // The brokers refused KAFKA_SASL_USERNAME's credentials: the same on every try with the same ones.
  KAFKA_AUTH: { retriable: false, message: 'Kafka refused the credentials' },
  INFRA_REDIS: { retriable: true, message: 'Redis request failed' },
  INFRA_HTTP: { retriable: true, message: 'HTTP request failed' },
  INFRA_DEPENDENCY: { retriable: true, message: 'a dependency is unavailable' },
  SHUTDOWN: { retriable: false, message: 'shutting down' },
  INTERNAL: { retriable: false, message: 'internal error' },
} as const
export type ErrorCode = keyof typeof ERROR_CODES

export class TradepulseError extends Error {
  readonly code: ErrorCode
  readonly retriable: boolean
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message ?? ERROR_CODES[code].message, { cause: options?.cause })
    this.name = 'TradepulseError'
    this.code = code
    this.retriable = options?.retriable ?? ERROR_CODES[code].retriable
  }
}

/**
 * redis-errors's RedisError: the class of every error ioredis makes of its own (a reply, a command given
 * up as its connection closed, retries spent…), found as the parent of the ReplyError ioredis exports.
 */
const RedisError = Object.getPrototypeOf(ReplyError.prototype).constructor as abstract new (
  ...args: never[]
) => Error
const isIoredisError = (err: Error): boolean => err instanceof RedisError
/**
 * Reply codes (a reply's first word) that are waited out, with the short reason health gives for each
 * (fault-reason.ts): a server state that passes, waited out even when raised inside a script (Redis 7
 * gives a command's own code when a script's call of it fails); and refusals of this client rather than
 * of a command, the deployment's credentials or ACL (NOAUTH, WRONGPASS, NOPERM): no record is to blame,
 * so they are waited out (health degraded, the reason logged), as a Kafka topic a worker may not write
 * is, rather than dead-letter every record until someone fixes REDIS_URL or the ACL.
 */
export const REDIS_WAITED_OUT: Readonly<Record<string, string>> = {
  BUSY: 'busy',
  OOM: 'out of memory',
  READONLY: 'read only',
  LOADING: 'loading',
  MASTERDOWN: 'primary down',
  TRYAGAIN: 'try again',
  CLUSTERDOWN: 'cluster down',
  NOREPLICAS: 'no replicas',
  MISCONF: 'persistence failing',
  NOAUTH: 'auth refused',
  WRONGPASS: 'auth refused',
  NOPERM: 'not permitted',
}
/** Redis's refusal of a connection over maxclients: an ERR, yet a server state that passes. */
export const REDIS_MAX_CLIENTS = 'ERR max number of clients reached'
/**
 * ioredis's plain Errors for a connection that is gone, was never made or stopped answering (its
 * CONNECTION_CLOSED_ERROR_MSG; commandTimeout; an offline queue turned off), matched whole, with health's
 * reason for each. The socketTimeout's message ends with the timeout: matched by its start
 * (isSocketTimeout).
 */
export const IOREDIS_OUTAGES: Readonly<Record<string, string>> = {
  'Connection is closed.': 'disconnected',
  'Command timed out': 'timeout',
  "Stream isn't writeable and enableOfflineQueue options is false": 'disconnected',
}
export const isSocketTimeout = (message: string) => message.startsWith('Socket timeout. Expecting data')

/**
 * Whether trying a Redis error reply again can succeed, judged by its code: a server state that passes
 * or a refusal of the deployment's access is waited out; anything else (WRONGTYPE, ERR for a wrong
 * argument count, an unknown command, a value that is not an integer, a syntax error, a script's own
 * error, NOSCRIPT for a script never loaded, CROSSSLOT…) is the same on every try, and retrying it
 * would stall the partition for good. An EXECABORT is the refusal of a command queued in the
 * transaction, which ioredis gives as its previousErrors: judged by those.
 * (NOSCRIPT never reaches us from a script defined with defineCommand: ioredis sends the script itself
 * when Redis does not know its SHA. Were one to, from a cache flushed twice in a race, the one-record-at-
 * a-time pass that follows a failure that is not retriable would send it again.)
 */
function redisReplyRetriable(e: Error & { previousErrors?: unknown }): boolean {
  const code = e.message.split(' ', 1)[0] ?? ''
  if (Object.hasOwn(REDIS_WAITED_OUT, code)) return true
  if (e.message.startsWith(REDIS_MAX_CLIENTS)) return true
  if (code === 'EXECABORT' && Array.isArray(e.previousErrors))
    return e.previousErrors.some((p) => normalizeError(p).retriable)
  return false
}

/**
 * Kafka's refusals of the credentials (KAFKA_SASL_*), by kafkajs's class or a protocol error's type, with
 * the short reason health gives (fault-reason.ts): a wrong or revoked password, an unknown user, a
 * mechanism the listener does not take. Not an ACL's refusal (*_AUTHORIZATION_FAILED): the credentials
 * hold, and an ACL granted applies at once, so that is waited out; new credentials need a new process.
 */
export const KAFKA_AUTH_REFUSALS: Readonly<Record<string, string>> = {
  KafkaJSSASLAuthenticationError: 'auth refused',
  SASL_AUTHENTICATION_FAILED: 'auth refused',
  UNSUPPORTED_SASL_MECHANISM: 'auth refused',
}
// Not ILLEGAL_SASL_STATE: brokers also answer it to valid credentials re-authenticated twice within a
// second (kafkajs re-authenticates before every request where connections.max.reauth.ms is 10 s or
// less), so it is no refusal of the credentials; it is waited out as a fault of the connection.

/** Whether `err` or an error it wraps (kafkajs's retrier, ours) is a refusal of the Kafka credentials. */
export function isKafkaAuthRefusal(err: unknown): boolean {
  const seen = new Set<unknown>()
  for (let e = err; e instanceof Error && seen.size < 8 && !seen.has(e); e = e.cause) {
    seen.add(e)
    if (e instanceof TradepulseError && e.code === 'KAFKA_AUTH') return true
    const { type } = e as { type?: unknown }
    if (Object.hasOwn(KAFKA_AUTH_REFUSALS, e.name)) return true
    if (typeof type === 'string' && Object.hasOwn(KAFKA_AUTH_REFUSALS, type)) return true
  }
  return false
}

/**
 * Whether `err` or an error it wraps is Kafka's ACL refusing this client (a protocol error whose type is
 * *_AUTHORIZATION_FAILED: a topic, the group, the cluster…): the credentials hold, the deployment's ACL
 * does not grant what was asked. No record is to blame; an ACL granted applies at once, so it is waited out.
 */
export function isKafkaAclRefusal(err: unknown): boolean {
  const seen = new Set<unknown>()
  for (let e = err; e instanceof Error && seen.size < 8 && !seen.has(e); e = e.cause) {
    seen.add(e)
    const { type } = e as { type?: unknown }
    if (e.name.startsWith('KafkaJS') && typeof type === 'string' && type.endsWith('_AUTHORIZATION_FAILED'))
      return true
  }
  return false
}

/**
 * The code of a Kafka connection made with KAFKA_SSL whose broker accepted it and closed it before the
 * TLS handshake ended: its listener speaks no TLS (PLAINTEXT, SASL_PLAINTEXT). Node gives that as
 * ECONNRESET, as any reset; kafkajs keeps only an error's message and code.
 */
export const KAFKA_LISTENER_NOT_TLS = 'ERR_TLS_KAFKA_LISTENER_NOT_TLS'
/** The code of a Kafka connection made without KAFKA_SSL whose broker answered with a TLS record: an SSL or SASL_SSL listener. */
export const KAFKA_LISTENER_TLS = 'ERR_TLS_KAFKA_LISTENER_IS_TLS'

/**
 * OpenSSL's and Node's TLS error codes as a socket gives them: a certificate's verdict
 * (UNABLE_TO_VERIFY_LEAF_SIGNATURE, SELF_SIGNED_CERT_IN_CHAIN, DEPTH_ZERO_SELF_SIGNED_CERT,
 * CERT_HAS_EXPIRED…), ERR_TLS_* (ERR_TLS_CERT_ALTNAME_INVALID), ERR_SSL_* (an alert from the peer, a
 * peer that speaks no TLS: ERR_SSL_WRONG_VERSION_NUMBER), and the two codes brokerSocket gives a Kafka
 * connection whose listener speaks TLS or not against KAFKA_SSL (kafka-client.ts).
 */
export const isTlsCode = (code: unknown): code is string =>
  typeof code === 'string' &&
  /^(ERR_TLS_|ERR_SSL_)|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH/.test(code)

/**
 * The TLS code (isTlsCode) of a socket's error that `err` is or wraps (our errors, kafkajs's retrier and
 * connection errors, which keep the socket's code), or undefined when none failed so.
 */
export function kafkaTlsCode(err: unknown): string | undefined {
  const seen = new Set<unknown>()
  for (let e = err; e instanceof Error && seen.size < 8 && !seen.has(e); e = e.cause) {
    seen.add(e)
    const { code } = e as { code?: unknown }
    if (isTlsCode(code)) return code
  }
  return undefined
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
])

/** Runs `work`, rethrowing what it throws as normalizeError does: callers see only TradepulseErrors. */
export async function normalized<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (err) {
    throw normalizeError(err)
  }
}

/** Normalises anything thrown at a boundary into a TradepulseError with a code and a retriable flag. */
export function normalizeError(err: unknown): TradepulseError {
  if (err instanceof TradepulseError) return err
  if (!(err instanceof Error)) return new TradepulseError('INTERNAL', String(err))
  const e = err as Error & { code?: string; retriable?: boolean; name: string }
  if (e.name.startsWith('KafkaJS')) {
    // kafkajs gives up on a retriable fault after its own retries and marks that final error not
    // retriable; for us it is still an outage to wait out (the batch runner backs off and tries again).
    if (isKafkaAuthRefusal(e)) return new TradepulseError('KAFKA_AUTH', e.message, { cause: err })
    const cause = (e as { cause?: { retriable?: boolean } }).cause
    const retriable =
      e.name === 'KafkaJSNumberOfRetriesExceeded' ? (cause?.retriable ?? true) : (e.retriable ?? true)
    return new TradepulseError('INFRA_KAFKA', e.message, { cause: err, retriable })
  }
  // Judged by ioredis's error classes and its own messages, never by a message that merely mentions
  // Redis: a record's TypeError "(reading 'Redis')", taken for an outage, was retried for ever.
  // A reply is known by the name its class gives (redis-errors's ReplyError, ioredis's SimpleError).
  if (e.name === 'ReplyError')
    return new TradepulseError('INFRA_REDIS', e.message, { cause: err, retriable: redisReplyRetriable(e) })
  // Any other error of ioredis's own: a command aborted as its connection closed (AbortError), an
  // interrupted one, retries per request spent while disconnected (MaxRetriesPerRequestError, also
  // known by its name, which nothing else uses), every cluster node failing. An outage to wait out.
  if (
    isIoredisError(e) ||
    e.name === 'MaxRetriesPerRequestError' ||
    Object.hasOwn(IOREDIS_OUTAGES, e.message) ||
    isSocketTimeout(e.message)
  )
    return new TradepulseError('INFRA_REDIS', e.message, { cause: err })
  // A socket's or a host lookup's own error says nothing of whose it is (Kafka's and Redis's clients
  // wrap theirs, above): an unavailable dependency, retried, not a Redis outage. A health server's
  // HTTP_HOST that cannot be looked up was reported as "cannot reach Redis".
  if (e.code && NETWORK_CODES.has(e.code))
    return new TradepulseError('INFRA_DEPENDENCY', e.message, { cause: err })
  return new TradepulseError('INTERNAL', e.message, { cause: err })
}

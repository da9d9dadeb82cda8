import {
  IOREDIS_OUTAGES,
  isSocketTimeout,
  isTlsCode,
  KAFKA_AUTH_REFUSALS,
  REDIS_MAX_CLIENTS,
  REDIS_WAITED_OUT,
} from './errors.ts'
import type { Logger } from './logger.ts'

/**
 * What a health body says of a fault: a short, stable reason an operator can act on, never the error's
 * own text. A client's message names hosts, ports, keys, topics and its own options ("connect ECONNREFUSED
 * 10.0.3.7:6379", "Reached the max retries per request limit (which is 2)…"): that is for the log, where
 * the error goes whole once per change of state, not for whoever can reach the health port.
 *
 * Judged by codes and error classes only (a socket's code, a Redis reply's first word, kafkajs's class
 * names and protocol error types), walking `cause` (a TradepulseError, kafkajs's retrier) and an
 * aggregate's first error:
 * - `unreachable`: no connection could be made (refused, no such host, no route, a command given up
 *   while the client could not connect);
 * - `disconnected`: a connection that was there went away (reset, closed);
 * - `timeout`: no answer in time;
 * - `auth refused`: the credentials (Redis NOAUTH/WRONGPASS, Kafka SASL);
 * - `not permitted`: the credentials hold, an ACL refuses (Redis NOPERM, Kafka *_AUTHORIZATION_FAILED);
 * - `tls failed`: the TLS handshake or the peer's certificate;
 * - `clock ahead of Kafka`: a CreateTime topic refusing the timestamps this host's clock gave;
 * - a Redis server state that passes: `loading`, `read only`, `busy`, `out of memory`,
 *   `too many clients`, `primary down`, `cluster down`, `try again`, `no replicas`, `persistence failing`;
 * - another Redis reply: `reply <CODE>` (its first word: `reply WRONGTYPE`, `reply ERR`);
 * - another Kafka protocol error: its type, in words (`leader not available`);
 * - a batch the consumer cannot read: `LZ4 compression not supported` (and Snappy, ZSTD), `unreadable
 *   batch` (our Snappy and GZIP codecs' refusals: corrupt, or inflating past the bound);
 * - anything else: `unexpected error`.
 */
export function faultReason(err: unknown): string {
  const seen = new Set<unknown>()
  let e: unknown = err
  for (let depth = 0; depth < 8 && e !== null && typeof e === 'object' && !seen.has(e); depth++) {
    seen.add(e)
    const reason = ownReason(e as FaultLike)
    if (reason) return reason
    const { cause, errors } = e as FaultLike
    e = cause ?? (Array.isArray(errors) ? errors[0] : undefined)
  }
  return UNEXPECTED
}

const UNEXPECTED = 'unexpected error'

type FaultLike = {
  name?: unknown
  message?: unknown
  code?: unknown
  type?: unknown
  cause?: unknown
  errors?: unknown
}

const SOCKET_CODES: Record<string, string> = {
  ECONNREFUSED: 'unreachable',
  ENOTFOUND: 'unreachable',
  EAI_AGAIN: 'unreachable',
  EAI_NONAME: 'unreachable',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ECONNRESET: 'disconnected',
  EPIPE: 'disconnected',
  ECONNABORTED: 'disconnected',
  ETIMEDOUT: 'timeout',
  ESOCKETTIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  UND_ERR_SOCKET: 'disconnected',
}

/** A Redis reply's first word: the server states that pass and the refusals of the client, in words. */
/** ioredis's own plain errors, known by their whole message (as normalizeError knows them). */
const IOREDIS_MESSAGES: Readonly<Record<string, string>> = {
  ...IOREDIS_OUTAGES,
  'None of startup nodes is available': 'unreachable',
}

const KAFKAJS_NAMES: Record<string, string> = {
  KafkaJSConnectionClosedError: 'disconnected',
  KafkaJSRequestTimeoutError: 'timeout',
  KafkaJSTimeout: 'timeout',
  KafkaJSLockTimeout: 'timeout',
  ...KAFKA_AUTH_REFUSALS,
  KafkaJSBrokerNotFound: 'unreachable',
  KafkaJSGroupCoordinatorNotFound: 'coordinator not found',
  KafkaJSServerDoesNotSupportApiKey: 'unsupported by the broker',
  KafkaJSMetadataNotLoaded: 'metadata not loaded',
  KafkaJSTopicMetadataNotLoaded: 'metadata not loaded',
}

const KAFKA_TYPES: Record<string, string> = {
  ...KAFKA_AUTH_REFUSALS,
  REQUEST_TIMED_OUT: 'timeout',
}

function ownReason(e: FaultLike): string | undefined {
  const name = typeof e.name === 'string' ? e.name : ''
  const message = typeof e.message === 'string' ? e.message : ''
  const code = typeof e.code === 'string' ? e.code : ''
  if (code && SOCKET_CODES[code]) return SOCKET_CODES[code]
  if (isTlsCode(code)) return 'tls failed'
  if (name === 'TimeoutError') return 'timeout' // AbortSignal.timeout's
  // Kafka refusing the timestamps this host's clock gave (kafka/produce.ts).
  if (name === 'KafkaClockError') return 'clock ahead of Kafka'
  // Kafka: a protocol error by its type, a client error by its class; a connection error by its socket's
  // code (above), else unreachable.
  if (name.startsWith('KafkaJS')) {
    const type = typeof e.type === 'string' ? e.type : ''
    if (type) {
      if (KAFKA_TYPES[type]) return KAFKA_TYPES[type]
      if (type.endsWith('_AUTHORIZATION_FAILED')) return 'not permitted'
      if (/^[A-Z][A-Z0-9_]{1,60}$/.test(type)) return type.toLowerCase().replaceAll('_', ' ')
    }
    if (KAFKAJS_NAMES[name]) return KAFKAJS_NAMES[name]
    // A batch in a codec kafkajs has none for (README, Topics and payloads): the codec is one of a few.
    if (name === 'KafkaJSNotImplemented') {
      const codec = /^(Snappy|LZ4|ZSTD) compression not implemented$/.exec(message)?.[1]
      return codec ? `${codec} compression not supported` : 'not supported by the client'
    }
    if (name === 'KafkaJSConnectionError')
      return message === 'Connection timeout'
        ? 'timeout'
        : message === 'Connection closed by the server'
          ? 'disconnected'
          : 'unreachable'
    return undefined
  }
  // Redis: a reply by its first word; ioredis's own errors by class or whole message.
  if (name === 'ReplyError' || name === 'SimpleError') {
    const word = message.split(' ', 1)[0] ?? ''
    if (Object.hasOwn(REDIS_WAITED_OUT, word)) return REDIS_WAITED_OUT[word]
    if (message.startsWith(REDIS_MAX_CLIENTS)) return 'too many clients'
    if (/^[A-Z]{2,20}$/.test(word)) return `reply ${word}`
    return 'reply error'
  }
  if (name === 'MaxRetriesPerRequestError') return 'unreachable'
  // redis-errors's AbortError: commands given up as their connection closed.
  if ((name === 'AbortError' || name === 'InterruptError') && /connection/i.test(message))
    return 'disconnected'
  if (Object.hasOwn(IOREDIS_MESSAGES, message)) return IOREDIS_MESSAGES[message]
  if (isSocketTimeout(message)) return 'timeout'
  // Our codecs' refusals of a batch (kafka/snappy-codec.ts, kafka/gzip-codec.ts), by their fixed prefix.
  if (/^(Snappy( \(xerial\))?|GZIP): /.test(message)) return 'unreadable batch'
  return undefined
}

/**
 * Logs the changes of state of a health check, so that probes every few seconds log nothing new: the
 * first failure and each change of its reason at warn, with the error whole (hosts, ports and all, for
 * the operator reading the log); the return to health once at info. The same reason again logs nothing.
 */
export function healthTransitions(log: Logger, what: string) {
  let failing: string | undefined
  return {
    failing(reason: string, err?: unknown): void {
      if (reason === failing) return
      failing = reason
      log.warn({ ...(err === undefined ? {} : { err }), check: what, reason }, `${what}: ${reason}`)
    },
    ok(): void {
      if (failing === undefined) return
      log.info({ check: what, was: failing }, `${what}: ok again`)
      failing = undefined
    },
    /** The reason last logged, while failing. */
    current: (): string | undefined => failing,
  }
}

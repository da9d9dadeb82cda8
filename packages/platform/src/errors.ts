/**
 * Stable error codes. `retriable` says whether trying the same thing again can succeed: infrastructure
 * faults are retriable; bad input and programmer errors are not, and are never retried.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: { retriable: false, message: 'invalid configuration' },
  INFRA_KAFKA: { retriable: true, message: 'Kafka request failed' },
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

const REDIS_ERROR_NAMES = new Set(['MaxRetriesPerRequestError', 'ReplyError'])
/** Redis error prefixes of a server state that passes: retried even when raised inside a script. */
const REDIS_TRANSIENT = new Set([
  'BUSY',
  'OOM',
  'READONLY',
  'LOADING',
  'MASTERDOWN',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'NOREPLICAS',
  'MISCONF',
])
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
    const cause = (e as { cause?: { retriable?: boolean } }).cause
    const retriable =
      e.name === 'KafkaJSNumberOfRetriesExceeded' ? (cause?.retriable ?? true) : (e.retriable ?? true)
    return new TradepulseError('INFRA_KAFKA', e.message, { cause: err, retriable })
  }
  if (
    REDIS_ERROR_NAMES.has(e.name) ||
    e.message.includes('Connection is closed') ||
    // ioredis's commandTimeout and socketTimeout (createRedis): a Redis that stopped answering.
    e.message === 'Command timed out' ||
    e.message.startsWith('Socket timeout') ||
    e.message.includes('Redis')
  ) {
    // A Lua script's own error (ReplyError with ERR ... script) is a bug, not an outage; but Redis names
    // the script in every error raised inside one, and a server busy, out of memory, read-only (a
    // demoted primary after a failover) or loading is an outage to wait out, script or not.
    const isScriptBug =
      e.name === 'ReplyError' &&
      !REDIS_TRANSIENT.has(e.message.split(' ', 1)[0] as string) &&
      /script|user_script/i.test(e.message)
    return new TradepulseError('INFRA_REDIS', e.message, { cause: err, retriable: !isScriptBug })
  }
  // A socket's or a host lookup's own error says nothing of whose it is (Kafka's and Redis's clients
  // wrap theirs, above): an unavailable dependency, retried, not a Redis outage. A health server's
  // HTTP_HOST that cannot be looked up was reported as "cannot reach Redis".
  if (e.code && NETWORK_CODES.has(e.code))
    return new TradepulseError('INFRA_DEPENDENCY', e.message, { cause: err })
  return new TradepulseError('INTERNAL', e.message, { cause: err })
}

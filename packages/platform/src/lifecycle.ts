import { constants } from 'node:os'
import type { App } from './app.ts'
import { DEFAULT_KAFKA_BROKERS, DEFAULT_REDIS_URL, redactUrl, setValue } from './config.ts'
import {
  ERROR_CODES,
  isKafkaAuthRefusal,
  isTlsCode,
  KAFKA_LISTENER_NOT_TLS,
  KAFKA_LISTENER_TLS,
  normalizeError,
  TradepulseError,
} from './errors.ts'
import type { Logger } from './logger.ts'

export const EXIT_CONFIG = 78 // EX_CONFIG from sysexits.h: "configuration error"

/**
 * The exit code of a process a signal interrupted, as a shell reports one the signal ended: 128 + the
 * signal's number, 130 (SIGINT, Ctrl-C), 143 (SIGTERM), 129 (SIGHUP). A process that cleans up on the
 * signal and then exits still tells a script or a supervisor it was interrupted, and by which signal.
 */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal]
}

/**
 * Runs an app until SIGTERM or SIGINT, then stops it within the deadline: stop fetching, finish the
 * batch, commit, flush, close. A second signal forces the exit with that signal's code (exitCodeForSignal:
 * 143 for SIGTERM, 130 for SIGINT); the deadline passing forces it with 1.
 */
export async function runUntilSignal(app: App, log: Logger, deadlineMs: number): Promise<void> {
  let signalled = 0
  const stop = async (signal: NodeJS.Signals) => {
    signalled++
    if (signalled > 1) {
      log.warn({ signal }, 'second signal: exiting now')
      log.flush?.()
      process.exit(exitCodeForSignal(signal))
    }
    log.info({ signal, deadlineMs }, 'stopping')
    // Not unref'd (as stopWithin's): a stop hanging on nothing that keeps the process alive ended the
    // process with status 0 and no line, which its supervisor took for a clean stop.
    const timer = setTimeout(() => {
      const step = app.stopStep?.()
      log.error(
        { deadlineMs, ...(step ? { step } : {}) },
        `graceful stop exceeded its deadline; exiting${step ? ` (still ${step})` : ''}`,
      )
      log.flush?.()
      process.exit(1)
    }, deadlineMs)
    try {
      await app.stop()
      clearTimeout(timer)
      log.info('stopped cleanly')
      log.flush?.()
      process.exit(0)
    } catch (err) {
      clearTimeout(timer)
      log.error({ err }, stopFailedLine(err))
      log.flush?.()
      process.exit(1)
    }
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
  await app.start()
  if (!app.failed) return
  // A failure the app cannot recover from while running: stop it as a signal would (bounded by the
  // deadline), then reject with the error for the caller to report (exitOnFatal: 78 for configuration).
  const err = await app.failed()
  if (signalled > 0) return // a signal's stop is under way and exits on its own
  signalled++
  await stopWithin(app, log, deadlineMs)
  throw err
}

/** Stops `app`, waiting at most `deadlineMs`; a stop that fails or outlasts it is logged, not thrown. */
async function stopWithin(app: App, log: Logger, deadlineMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  // Not unref'd: a stop hanging on nothing that keeps the process alive must still reach the deadline
  // (the process would otherwise end on its own, status 13 for the main module's unsettled await).
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      const step = app.stopStep?.()
      log.error(
        { deadlineMs, ...(step ? { step } : {}) },
        `graceful stop exceeded its deadline${step ? ` (still ${step})` : ''}`,
      )
      resolve()
    }, deadlineMs)
  })
  await Promise.race([app.stop().catch((err: unknown) => log.error({ err }, stopFailedLine(err))), deadline])
  clearTimeout(timer)
}

/**
 * The line for a stop that failed: what failed in the words describeInfraFailure has for Kafka and Redis
 * (naming the address and its variable), else the error's own.
 */
export function stopFailedLine(err: unknown): string {
  return `stop failed: ${describeInfraFailure(err) ?? normalizeError(err).message}`
}

export const EXIT_UNAVAILABLE = 69 // EX_UNAVAILABLE from sysexits.h: "service unavailable"

/** Socket error codes that mean the server could not be reached at all (as opposed to a refused request). */
const UNREACHABLE = /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)\b/
/** kafkajs errors that say no broker could be reached or stayed reachable. */
const KAFKA_UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSBrokerNotFound',
  'KafkaJSRequestTimeoutError',
])

/** The error and its causes, outermost first (bounded: a cause chain may loop). */
function causeChain(err: unknown): Error[] {
  const chain: Error[] = []
  for (let e = err; e instanceof Error && chain.length < 10 && !chain.includes(e); e = e.cause) chain.push(e)
  return chain
}

/** The host a socket or lookup error of the chain names (getaddrinfo's hostname, connect's address), if any. */
function failedHost(chain: Error[]): string | undefined {
  for (const e of chain) {
    const { code, hostname, address } = e as { code?: unknown; hostname?: unknown; address?: unknown }
    if (typeof code !== 'string' || !UNREACHABLE.test(code)) continue
    if (typeof hostname === 'string') return hostname
    if (typeof address === 'string') return address
  }
  return undefined
}

/** REDIS_URL's host (the default's when unset), or undefined when it is not a URL. */
function redisHost(env: Record<string, string | undefined>): string | undefined {
  try {
    return new URL(setValue(env.REDIS_URL) ?? DEFAULT_REDIS_URL).hostname
  } catch {
    return undefined
  }
}

/** Certificate verdicts: the broker's certificate is not one the client trusts. */
const CERTIFICATE_NOT_TRUSTED =
  /^(UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO_SELF_SIGNED|CERT_|ERR_TLS_CERT_ALTNAME_INVALID$|HOSTNAME_MISMATCH$)/
/** The peer spoke no TLS (Node gives a plaintext answer to a ClientHello so). */
const NOT_TLS = new Set([
  KAFKA_LISTENER_NOT_TLS,
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
])

/**
 * The line for a Kafka failure that is the security settings', naming the variables to check, judged by
 * the error's class and its socket's code (the `code` kafkajs keeps of it); undefined for any other.
 * Never a password nor a key: only the variables' names and the client's message.
 */
function kafkaSecurityFailure(chain: Error[], at: string, reason: string): string | undefined {
  if (chain.some(isKafkaAuthRefusal))
    return `Kafka at ${at} (KAFKA_BROKERS) refused the credentials: ${reason}; check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (and KAFKA_SASL_MECHANISM, the one the listener takes)`
  const code = chain.map((e) => (e as { code?: unknown }).code).find(isTlsCode)
  if (code === undefined) return undefined
  if (code === KAFKA_LISTENER_TLS)
    return `Kafka at ${at} (KAFKA_BROKERS) answered with TLS, and KAFKA_SSL is off: set KAFKA_SSL=true (with KAFKA_SSL_CA_FILE for a private CA), or point KAFKA_BROKERS at a PLAINTEXT or SASL_PLAINTEXT listener`
  if (NOT_TLS.has(code))
    return `Kafka at ${at} (KAFKA_BROKERS) does not speak TLS there (${code}), and KAFKA_SSL is on: point KAFKA_BROKERS at the brokers' SSL or SASL_SSL listener, or unset KAFKA_SSL for a PLAINTEXT or SASL_PLAINTEXT one`
  if (CERTIFICATE_NOT_TRUSTED.test(code))
    return `Kafka at ${at} (KAFKA_BROKERS): the broker's TLS certificate did not verify (${code}: ${reason}); set KAFKA_SSL_CA_FILE to the CA that signed the brokers' certificates (unset: the system's CAs), check that the certificate names the host of KAFKA_BROKERS; KAFKA_SSL_REJECT_UNAUTHORIZED=false trusts any broker (tests only)`
  return `Kafka at ${at} (KAFKA_BROKERS): the TLS handshake failed (${code}: ${reason}); check KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE (a listener may require a client certificate its CA signed) and KAFKA_SSL_CA_FILE`
}

const oneLine = (message: string) => message.replace(/\s+/g, ' ').trim()

/**
 * The outermost TradepulseError of the chain that says what happened in its own words, if any: one whose
 * message is neither its code's default ("Kafka request failed") nor the message of the error it wraps
 * (normalizeError's, a fault made retriable), which add nothing. A KafkaClockError names the clock and
 * the cure where kafkajs's innermost error says "out of acceptable range"; a consumer's crash says it
 * crashed; a RepeatedReplyError names the key. The outermost, wrapping the others, says the most.
 */
function ownWords(chain: Error[]): TradepulseError | undefined {
  return chain.find(
    (e): e is TradepulseError =>
      e instanceof TradepulseError &&
      e.message !== ERROR_CODES[e.code].message &&
      !(e.cause instanceof Error && e.cause.message === e.message),
  )
}

/**
 * One line for a failure of Kafka or Redis, naming the address and the variable that sets it (the
 * reader's first question is "which Kafka?"), or for a socket or lookup error of another host, naming
 * it; undefined when the error is not an infrastructure one. What happened is said in the words of the
 * outermost of our errors that has its own (ownWords), else in the client's.
 * The address is the variable's value, else the default every worker uses; a Redis URL's credentials
 * are hidden.
 */
export function describeInfraFailure(
  err: unknown,
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  const chain = causeChain(err)
  if (chain.length === 0) return undefined
  // What happened: in our own words where an error of the chain has them (ownWords), else in the client's,
  // the innermost message (ECONNREFUSED, ENOTFOUND…), which kafkajs and ioredis wrap in "retries exceeded"
  // and the like. A security setting's line names the fault itself and quotes the client's (`detail`),
  // which also tells whether Redis was reached.
  const detail = oneLine(chain[chain.length - 1]!.message)
  const reason = oneLine((ownWords(chain) ?? chain[chain.length - 1]!).message)
  const isKafka = chain.some(
    (e) =>
      e.name.startsWith('KafkaJS') ||
      (e instanceof TradepulseError && (e.code === 'INFRA_KAFKA' || e.code === 'KAFKA_AUTH')),
  )
  let isRedis = !isKafka && chain.some((e) => normalizeError(e).code === 'INFRA_REDIS')
  if (!isKafka && !isRedis) {
    // A socket's or a lookup's own error (getaddrinfo ENOTFOUND x): whose it is follows from the host
    // it names, never from the code alone.
    const host = failedHost(chain)
    if (host === undefined) return undefined
    if (host !== redisHost(env)) return `cannot reach ${host}: ${reason}`
    isRedis = true
  }
  const unreachable =
    chain.some((e) => KAFKA_UNREACHABLE.has(e.name)) ||
    chain.some((e) => UNREACHABLE.test(e.message) || UNREACHABLE.test(String((e as { code?: unknown }).code)))
  if (isKafka) {
    const at = setValue(env.KAFKA_BROKERS) ?? DEFAULT_KAFKA_BROKERS
    const security = kafkaSecurityFailure(chain, at, detail)
    if (security) return security
    if (unreachable)
      return `cannot reach Kafka at ${at} (KAFKA_BROKERS): ${reason}; start it (pnpm infra:up) or set KAFKA_BROKERS`
    const hint = /does not host this topic-partition|UNKNOWN_TOPIC/i.test(
      chain.map((e) => e.message).join(' '),
    )
      ? '; create the topics with `tradepulse topics create`'
      : ''
    return `Kafka at ${at} (KAFKA_BROKERS) failed: ${reason}${hint}`
  }
  const at = redactUrl(setValue(env.REDIS_URL) ?? DEFAULT_REDIS_URL)
  // ioredis fails a command while disconnected with "max retries per request" or "Connection is
  // closed", never the socket's own error: a Redis that was never reached is still "cannot reach".
  if (unreachable || /max retries per request|Connection is closed/i.test(detail))
    return `cannot reach Redis at ${at} (REDIS_URL): ${reason}; start it (pnpm infra:up) or set REDIS_URL`
  return `Redis at ${at} (REDIS_URL) failed: ${reason}`
}

/**
 * Reports a failure of `main` in one clear line and exits non-zero: 78 for configuration, 69 when Kafka
 * or Redis cannot be reached or fails (the line names the variable to fix) or another host cannot be
 * reached (the line names it), 1 otherwise. A command-line
 * user gets no stack trace for the first two (it says nothing they can act on) unless LOG_LEVEL is debug
 * or trace; an unexpected error keeps its stack, being a bug to report.
 */
export function exitOnFatal(err: unknown, log?: Logger): never {
  const debug = /^(debug|trace)$/.test(process.env.LOG_LEVEL?.trim() ?? '')
  const stackOf = () => (err instanceof Error ? `${err.stack ?? err.message}\n` : '')
  if (err instanceof TradepulseError && err.code === 'CONFIG_INVALID') {
    process.stderr.write(`tradepulse: ${err.message}\n`)
    process.exit(EXIT_CONFIG)
  }
  const infra = describeInfraFailure(err)
  if (infra) {
    if (log) {
      log.fatal({ err }, infra)
      log.flush?.()
    } else process.stderr.write(`tradepulse: ${infra}\n${debug ? stackOf() : ''}`)
    process.exit(EXIT_UNAVAILABLE)
  }
  if (log) log.fatal({ err }, 'fatal error')
  else
    process.stderr.write(`tradepulse: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
}

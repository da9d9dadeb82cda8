import { Writable } from 'node:stream'
import { type LogFn, type Logger, type LoggerOptions, pino } from 'pino'

export type { Logger } from 'pino'

// Secrets never reach a log line, whatever component logs the object. A wildcard path matches a key one
// level down only: the top-level keys are named besides.
const REDACT = [
  'password',
  'secret',
  'token',
  'authorization',
  '*.password',
  '*.secret',
  '*.token',
  '*.authorization',
  '*.webhookSecret',
  'config.REDIS_URL',
  'config.WEBHOOK_SECRET',
  'config.KAFKA_SASL_PASSWORD',
  'sasl.password',
  '*.sasl.password',
  'headers.authorization',
]

export type LoggerConfig = { level: string; pretty?: boolean; name?: string }

const CENSOR = '[redacted]'

/**
 * A URL's credentials within text: scheme://, then the authority up to its "@" ("redis://:pw@host",
 * "https://user:pw@host/hook"). The authority ends at the first "/", "?" or "#", so a path's "@" is left
 * alone: file:///app/node_modules/.pnpm/ioredis@6.0.0/… in a stack. (A REDIS_URL or webhook URL whose
 * password holds one of those unencoded is no URL: the configuration refuses it.)
 */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi

/**
 * ioredis keeps on its error the command that failed, arguments included: the AUTH, or the HELLO with
 * AUTH, that sets up every connection carries REDIS_URL's password, and a refused one ("WRONGPASS") was
 * logged with it.
 */
const CREDENTIAL_COMMANDS = new Set(['auth', 'hello'])

/** A serialised error with its secrets hidden, at any depth (causes, an aggregate's errors, a transaction's previousErrors). */
function hideSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(URL_CREDENTIALS, `$1${CENSOR}@`)
  if (depth > 8 || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((v) => hideSecrets(v, depth + 1))
  // An error kept in a field the serializer leaves alone (previousErrors) is serialised too.
  if (value instanceof Error) return hideSecrets(pino.stdSerializers.err(value), depth + 1)
  // What JSON writes by its toJSON (a Buffer, a Date, a PemFile's path) is left to it; anything else is
  // written as its own fields, as JSON would (pino's serialised errors included).
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = hideSecrets(v, depth + 1)
  const command = out.command as { name?: unknown } | undefined
  if (typeof command?.name === 'string' && CREDENTIAL_COMMANDS.has(command.name.toLowerCase()))
    out.command = { ...command, args: CENSOR }
  return out
}

/** pino's error serializer, with the credentials an error may carry hidden (hideSecrets). */
const errSerializer = (err: unknown) => hideSecrets(pino.stdSerializers.err(err as Error))

/**
 * A line's message with a URL's credentials hidden, as an error's are: an error logged alone has its
 * message for the line's, and a message may quote a URL.
 */
function logMethod(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  const [first, ...rest] = args as unknown[]
  const text = (v: unknown) => (typeof v === 'string' ? (hideSecrets(v) as string) : v)
  const given =
    first instanceof Error && typeof rest[0] !== 'string'
      ? [first, text(first.message), ...rest]
      : args.map(text)
  method.apply(this, given as Parameters<LogFn>)
}

/** A top-level "component" binding as pino writes it: a quote after a comma is never inside a JSON string. */
const COMPONENT_BINDING = /,"component":("(?:[^"\\]|\\.)*")/g

/**
 * A child's component under its parent's, as one key: pino appends a child's bindings to its parent's,
 * so log.child({ component: 'scorer' }).child({ component: 'runner' }) wrote "component" twice in every
 * line, a JSON object that strict log shippers refuse (Elasticsearch: "Duplicate field") and others read
 * as either value. The line says "scorer/runner": which worker, and which part of it.
 */
function nestComponents(child: Logger): void {
  const key = pino.symbols.chindingsSym
  const bindings = (child as unknown as Record<symbol, string>)[key]
  if (typeof bindings !== 'string') return
  const components = [...bindings.matchAll(COMPONENT_BINDING)].map((m) => JSON.parse(m[1]!) as string)
  if (components.length < 2) return
  const rest = bindings.replace(COMPONENT_BINDING, '')
  ;(child as unknown as Record<symbol, string>)[key] =
    `${rest},"component":${JSON.stringify(components.join('/'))}`
}

/** The root logger: made once in `main`; components get `log.child({ component })`. */
export function createLogger(cfg: LoggerConfig, destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level: cfg.level,
    base: { name: cfg.name ?? 'tradepulse', pid: process.pid },
    redact: { paths: REDACT, censor: CENSOR },
    serializers: { err: errSerializer },
    hooks: { logMethod },
    onChild: nestComponents,
    timestamp: pino.stdTimeFunctions.isoTime,
  }
  const pretty = cfg.pretty ?? Boolean(process.stdout.isTTY)
  if (destination) return pino(options, destination as pino.DestinationStream)
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, destination: 2 } },
    })
  }
  // Logs go to stderr so that stdout stays free for command output (NDJSON, tables).
  return pino(options, pino.destination({ fd: 2, sync: false }))
}

/** A log line as parsed back from JSON: pino's level and message, and whatever else was logged. */
export type LogLine = { level: number; msg: string } & Record<string, unknown>

/**
 * A logger whose lines are kept, parsed, in `lines` as they are written (tests, and anything that
 * inspects what was logged). A line cut across writes is joined before it is parsed.
 */
export function createCapturingLogger<T extends object = LogLine>(
  level = 'info',
): { log: Logger; lines: T[] } {
  const lines: T[] = []
  let rest = ''
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const parts = (rest + String(chunk)).split('\n')
      rest = parts.pop() ?? ''
      for (const line of parts) if (line) lines.push(JSON.parse(line) as T)
      done()
    },
  })
  return { log: createLogger({ level }, sink), lines }
}

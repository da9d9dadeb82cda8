import { Writable } from 'node:stream'
import { type Logger, type LoggerOptions, pino } from 'pino'

export type { Logger } from 'pino'

// Secrets never reach a log line, whatever component logs the object.
const REDACT = [
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
    redact: { paths: REDACT, censor: '[redacted]' },
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

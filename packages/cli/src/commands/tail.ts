import { Alert, createTopicCatalogue } from '@tradepulse/contracts'
import { BaseConfig, createKafka, createLogger, loadConfig } from '@tradepulse/platform'
import type { Command } from 'commander'

const SEVERITY_MARK: Record<Alert['severity'], string> = { info: 'INFO', warning: 'WARN', critical: 'CRIT' }
const num = (n: number) => String(Number(n.toFixed(2)))

/**
 * One alert, readably: detection time, severity, rule, scope, direction, value against threshold,
 * message, latency; then the evidence headlines, indented.
 */
export function formatAlert(a: Alert, opts: { evidence?: boolean } = {}): string {
  const arrow = a.direction === 'down' ? '▼' : '▲'
  const head = [
    a.detectedAt.replace('T', ' ').slice(0, 19),
    SEVERITY_MARK[a.severity].padEnd(4),
    a.rule.padEnd(24),
    `${a.scope.kind}:${a.scope.id}`.padEnd(24),
    `${arrow} ${a.dimension} ${num(a.value)} vs ${num(a.threshold)}`.padEnd(28),
    `${a.latencyMs} ms`,
  ].join('  ')
  const lines = [head, `    ${a.message}`]
  if (opts.evidence !== false) {
    for (const e of a.evidence) {
      lines.push(
        `      ${num(e.score).padStart(5)}  ${e.headline}${e.cues.length ? `  [${e.cues.join(', ')}]` : ''}`,
      )
    }
  }
  return lines.join('\n')
}

export function registerTail(program: Command): void {
  const tail = program
    .command('tail')
    .description('follow a topic and print its records readably as they arrive')
  tail
    .command('alerts')
    .description('print alerts as they arrive (alerts.v1, or one desk topic with --desk)')
    .option('--desk <id>', "follow this desk's topic, alerts.desk.<id>.v1")
    .option('--from-beginning', 'start from the oldest retained alert instead of new ones')
    .option('--json', 'print each alert as one JSON line')
    .option('--no-evidence', 'leave out the evidence headlines')
    .action(async (opts: { desk?: string; fromBeginning?: boolean; json?: boolean; evidence?: boolean }) => {
      const config = loadConfig(BaseConfig, process.env)
      const log = createLogger({
        level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
        pretty: config.LOG_PRETTY,
      })
      const catalogue = createTopicCatalogue(config.TRADEPULSE_TOPIC_PREFIX)
      const topic = opts.desk ? catalogue.deskAlerts(opts.desk).name : catalogue.alerts.name
      const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'tradepulse-tail' }, log)
      // A throwaway group: tailing never moves anyone's offsets, and two tails do not share records.
      const consumer = kafka.consumer({
        groupId: `tradepulse-tail-${process.pid}-${Date.now()}`,
        maxWaitTimeInMs: config.KAFKA_FETCH_MAX_WAIT_MS,
      })
      let closing = false
      const close = async () => {
        if (closing) process.exit(130)
        closing = true
        await consumer.disconnect().catch(() => {})
        process.exit(0)
      }
      process.on('SIGINT', () => void close())
      process.on('SIGTERM', () => void close())
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: Boolean(opts.fromBeginning) })
      process.stderr.write(
        `Following ${topic}${opts.fromBeginning ? ' from the beginning' : ''}; Ctrl-C to stop.\n`,
      )
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ message }) => {
          const text = message.value?.toString('utf8') ?? ''
          let parsed: ReturnType<typeof Alert.safeParse> | undefined
          try {
            parsed = Alert.safeParse(JSON.parse(text))
          } catch {}
          if (!parsed?.success) {
            process.stderr.write(`(not an alert at offset ${message.offset}: ${text.slice(0, 120)})\n`)
            return
          }
          const out = opts.json
            ? JSON.stringify(parsed.data)
            : formatAlert(parsed.data, { evidence: opts.evidence })
          process.stdout.write(`${out}\n`)
        },
      })
    })
}

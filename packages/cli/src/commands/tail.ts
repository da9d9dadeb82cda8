import { readFileSync } from 'node:fs'
import { formatFromPath, formatPair, parseRules, RULE_FILES } from '@tradepulse/alerting'
import { type Alert, AlertReader, createTopicCatalogue } from '@tradepulse/contracts'
import {
  BaseConfig,
  consumerStopped,
  exitCodeForSignal,
  loadConfig,
  sessionTimeoutRefusal,
  setValue,
  TradepulseError,
  withLeaderRetry,
} from '@tradepulse/platform'
import type { Command } from 'commander'
import type { Admin, Consumer, ConsumerConfig, Kafka, KafkaMessage } from 'kafkajs'
import { printable, printableJson } from '../dlq/dead-letters.ts'
import { cliKafka, cliLogger } from '../infra.ts'
import { createNextOffsets } from '../kafka/next-offsets.ts'
import { deskId } from '../option-values.ts'
import { listTopics, requireTopic } from '../topic-check.ts'

const SEVERITY_MARK: Record<Alert['severity'], string> = { info: 'INFO', warning: 'WARN', critical: 'CRIT' }
const num = (n: number, digits = 2) => String(Number(n.toFixed(digits)))

/** The rule column: as wide as the longest rule id, at least 24 and at most 40 (longer ids are cut). */
export function ruleColumnWidth(ruleIds: readonly string[]): number {
  return Math.min(40, Math.max(24, ...ruleIds.map((id) => id.length)))
}

/**
 * The ids of the rules in a rules file (ALERTER_RULES_FILE, else the default rules), to size the rule
 * column; none when it cannot be read (the alerter reports that, not a printer).
 */
export function ruleIdsOf(file: string = RULE_FILES.defaultRules): string[] {
  try {
    const parsed = parseRules(readFileSync(file, 'utf8'), formatFromPath(file))
    return parsed.ok ? parsed.rules.map((r) => r.id) : []
  } catch {
    return []
  }
}

/**
 * Text of a record made safe for a terminal, whole (printable: controls and bidi overrides escaped): an
 * alert holds what its producer wrote, and the alerts topic is open to any producer.
 */
const shown = (text: string) => printable(text, Number.POSITIVE_INFINITY)

const cut = (text: string, width: number) =>
  text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width)

export type FormatAlertOptions = {
  evidence?: boolean
  /**
   * The time shown first: 'detected' (when the alerter raised it; live following) or 'published' (the
   * event time of its headline, or the newest behind an indicator: a played feed's timeline).
   */
  time?: 'detected' | 'published'
  /** Width of the rule column (ruleColumnWidth); 24 when not given. */
  ruleWidth?: number
}

/**
 * One alert, readably: time, severity, rule, scope, direction, value against threshold, message,
 * latency; then the evidence headlines, indented.
 */
export function formatAlert(a: Alert, opts: FormatAlertOptions = {}): string {
  const arrow = a.direction === 'down' ? '▼' : '▲'
  // As many decimals as tell value and threshold apart: "0.805 vs 0.8", as in the alert's message.
  const [value, threshold] = formatPair(a.value, a.threshold)
  const head = [
    (opts.time === 'published' ? a.publishedAt : a.detectedAt).replace('T', ' ').slice(0, 19),
    SEVERITY_MARK[a.severity].padEnd(4),
    cut(shown(a.rule), opts.ruleWidth ?? 24),
    shown(`${a.scope.kind}:${a.scope.id}`).padEnd(24),
    `${arrow} ${a.dimension} ${value} vs ${threshold}`.padEnd(28),
    `${a.latencyMs} ms`,
  ].join('  ')
  const lines = [head, `    ${shown(a.message)}`]
  if (opts.evidence !== false) {
    for (const e of a.evidence) {
      lines.push(
        `      ${num(e.score).padStart(5)}  ${shown(e.headline)}${e.cues.length ? `  [${shown(e.cues.join(', '))}]` : ''}`,
      )
    }
  }
  return lines.join('\n')
}

/**
 * Refuses a desk whose topic Kafka does not have, naming the desks it has topics for: a mistyped or unknown
 * desk id, or a desk whose topic nobody created yet (the alerter creates one for each desk of its
 * ALERTER_DESKS_FILE unless TOPICS_AUTO_CREATE=false). Kafka's own answer, "This server does not host
 * this topic-partition" with a hint to run `tradepulse topics create`, said neither which topic nor that
 * a desk's is created only with --desk or --desks.
 */
async function checkDeskTopic(
  kafka: Kafka,
  config: Pick<BaseConfig, 'KAFKA_BROKERS' | 'TRADEPULSE_TOPIC_PREFIX'>,
  desk: string,
  topic: string,
): Promise<void> {
  const names = await listTopics(kafka)
  if (names.includes(topic)) return
  // A desk topic's name around its id: the prefix and "alerts.desk." before, the version suffix after.
  const probe = createTopicCatalogue(config.TRADEPULSE_TOPIC_PREFIX).deskAlerts('desk').name
  const before = probe.slice(0, probe.lastIndexOf('desk'))
  const after = probe.slice(probe.lastIndexOf('desk') + 'desk'.length)
  const desks = names
    .filter((n) => n.length > before.length + after.length && n.startsWith(before) && n.endsWith(after))
    .map((n) => n.slice(before.length, n.length - after.length))
    .sort()
  throw new TradepulseError(
    'CONFIG_INVALID',
    `tail alerts: --desk ${desk}: Kafka at ${config.KAFKA_BROKERS.join(',')} (KAFKA_BROKERS) has no topic ${topic}; ${desks.length ? `desks with a topic there: ${desks.slice(0, 20).join(', ')}${desks.length > 20 ? `, … (${desks.length})` : ''}` : 'no desk has a topic there'} (the alerter creates one for each desk of its ALERTER_DESKS_FILE; tradepulse topics create --desk ${desk} creates this one)`,
  )
}

type SignalOptions = {
  /** Where the signals come from (the process). */
  from?: Pick<NodeJS.EventEmitter, 'on'>
  exit?: (code: number) => void
}

/**
 * On SIGINT or SIGTERM, closes the tail (its consumer leaves its throwaway group) and exits 0; a second
 * signal while it closes exits at once with that signal's code (exitCodeForSignal: 130 for SIGINT, 143
 * for SIGTERM), as a worker's process does.
 */
export function closeOnSignals(
  close: () => Promise<unknown>,
  { from = process, exit = process.exit }: SignalOptions = {},
): void {
  let closing = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return exit(exitCodeForSignal(signal))
    closing = true
    void close()
      .catch(() => {})
      .finally(() => exit(0))
  }
  from.on('SIGINT', onSignal)
  from.on('SIGTERM', onSignal)
}

/** What followTopic uses of a Kafka client: a consumer, and an admin for the partitions' offsets. */
export type FollowKafka = {
  consumer(
    config: ConsumerConfig,
  ): Pick<Consumer, 'connect' | 'disconnect' | 'subscribe' | 'run' | 'seek' | 'on' | 'events'>
  admin(): Pick<Admin, 'connect' | 'disconnect' | 'fetchTopicOffsets'>
}

export type FollowOptions = {
  topic: string
  /** A throwaway group's id: nothing is committed to it. */
  groupId: string
  fromBeginning: boolean
  maxWaitTimeInMs: number
  sessionTimeout: number
  heartbeatInterval: number
  /** Called once the starting offsets are taken, before the join: what is written from then on is shown. */
  started: () => void
  /** Each record, once, in offset order within its partition. */
  onMessage: (partition: number, message: KafkaMessage) => void
  /**
   * Told of a partition whose end a join found below its next offset (the topic deleted and made again):
   * it is read again from its start `now`, its records shown.
   */
  rewound?: (partition: number, was: number, now: number) => void
  /** The consumer, for the caller to close it (on a signal). */
  opened?: (consumer: Pick<Consumer, 'disconnect'>) => void
}

/**
 * Follows `topic` from where each partition ends now (its start with fromBeginning), each record shown
 * once across the rejoins of its throwaway group (NextOffsets). A partition added to the topic meanwhile
 * is read from its start once kafkajs's metadata has it (KAFKA_METADATA_MAX_AGE_MS): every record of it
 * was written since. A topic deleted and made again meanwhile is read from its start, `rewound` told.
 * The offsets are taken before `started`: taken at the first join, an alert written between the "Following" line and the join was missed. Never
 * resolves; rejects on a consumer crash kafkajs does not restart from (an ACL refusing the group or the
 * topic, a session timeout the broker refuses), naming the group: the consumer was disconnected and the
 * command exited 0 with nothing said.
 */
export async function followTopic(kafka: FollowKafka, opts: FollowOptions): Promise<never> {
  const { topic, groupId } = opts
  const offsets = await withLeaderRetry(kafka, (admin) => admin.fetchTopicOffsets(topic))
  let fail!: (err: unknown) => void
  const crashed = new Promise<never>((_resolve, reject) => {
    fail = reject
  })
  // Handled when returned; a crash inside run() (the first join refused) comes before that.
  crashed.catch(() => {})
  // A throwaway group: tailing never moves anyone's offsets, and two tails do not share records. It
  // creates no topic: on a broker that creates topics on first use, a mistyped desk would make one.
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: opts.maxWaitTimeInMs,
    sessionTimeout: opts.sessionTimeout,
    heartbeatInterval: opts.heartbeatInterval,
    allowAutoTopicCreation: false,
  })
  opts.opened?.(consumer)
  // The next offset to show per partition.
  const next = createNextOffsets(
    new Map([
      [topic, new Map(offsets.map((o) => [o.partition, Number(opts.fromBeginning ? o.low : o.high)]))],
    ]),
    {
      ends: (t) => withLeaderRetry(kafka, (admin) => admin.fetchTopicOffsets(t)),
      consumer,
      rewound: (_topic, partition, was, now) => opts.rewound?.(partition, was, now),
    },
  )
  next.seekAtEachJoin(consumer)
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) return // kafkajs starts it again; its join seeks as any
    const err = payload.error
    const stopped = sessionTimeoutRefusal(err, opts.sessionTimeout) ?? consumerStopped(err)
    fail(
      stopped.code === 'CONFIG_INVALID'
        ? stopped
        : new TradepulseError(stopped.code, `tail alerts, consumer group ${groupId}: ${stopped.message}`, {
            cause: stopped.cause,
            retriable: false,
          }),
    )
  })
  await consumer.connect()
  // Each known partition is sought at each join: fromBeginning is where kafkajs puts one it cannot read
  // there (past its end, or deleted by retention), and its start is where nothing is skipped.
  await consumer.subscribe({ topic, fromBeginning: true })
  opts.started()
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const offset = Number(message.offset)
      if (!next.takes(topic, partition, offset)) return
      next.advance(topic, partition, offset + 1)
      opts.onMessage(partition, message)
    },
  })
  return crashed
}

export function registerTail(program: Command): void {
  const tail = program
    .command('tail')
    .description('follow a topic and print its records readably as they arrive')
  tail
    .command('alerts')
    .description('print alerts as they arrive (alerts.v1, or one desk topic with --desk)')
    .option('--desk <id>', "follow this desk's topic, alerts.desk.<id>.v1", deskId)
    .option('--from-beginning', 'start from the oldest retained alert instead of new ones')
    .option('--json', 'print each alert as one JSON line')
    .option('--no-evidence', 'leave out the evidence headlines')
    .action(async (opts: { desk?: string; fromBeginning?: boolean; json?: boolean; evidence?: boolean }) => {
      const config = loadConfig(BaseConfig, process.env)
      const log = cliLogger(config)
      const ruleWidth = ruleColumnWidth(ruleIdsOf(setValue(process.env.ALERTER_RULES_FILE)))
      const catalogue = createTopicCatalogue(config.TRADEPULSE_TOPIC_PREFIX)
      const topic = opts.desk === undefined ? catalogue.alerts.name : catalogue.deskAlerts(opts.desk).name
      const kafka = cliKafka(config, 'tradepulse-tail', log)
      if (opts.desk !== undefined) await checkDeskTopic(kafka, config, opts.desk, topic)
      else await requireTopic(kafka, config, 'tail alerts', topic)
      await followTopic(kafka, {
        topic,
        groupId: `tradepulse-tail-${process.pid}-${Date.now()}`,
        fromBeginning: Boolean(opts.fromBeginning),
        maxWaitTimeInMs: config.KAFKA_FETCH_MAX_WAIT_MS,
        sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS,
        heartbeatInterval: config.KAFKA_HEARTBEAT_INTERVAL_MS,
        opened: (consumer) => closeOnSignals(() => consumer.disconnect()),
        started: () =>
          process.stderr.write(
            `Following ${topic}${opts.fromBeginning ? ' from the beginning' : ''}; Ctrl-C to stop.\n`,
          ),
        rewound: (partition, was, now) =>
          process.stderr.write(
            `tail alerts: ${topic}[${partition}] ends before offset ${was}, the next one to show: the topic was made again; showing it from offset ${now}.\n`,
          ),
        onMessage: (partition, message) => {
          const text = message.value?.toString('utf8') ?? ''
          let parsed: ReturnType<typeof AlertReader.safeParse> | undefined
          try {
            parsed = AlertReader.safeParse(JSON.parse(text))
          } catch {}
          if (!parsed?.success) {
            // Escaped: a record holds whatever a producer sent, and raw escape sequences would retitle the
            // operator's terminal or clear it (as `dlq list` prints a letter).
            process.stderr.write(
              `(not an alert at ${topic}[${partition}]@${message.offset}: ${printable(text, 120)})\n`,
            )
            return
          }
          // Escaped as the human lines are: a terminal acts on the C1 controls and bidi overrides
          // JSON.stringify leaves raw.
          const out = opts.json
            ? printableJson(parsed.data)
            : formatAlert(parsed.data, { evidence: opts.evidence, ruleWidth })
          process.stdout.write(`${out}\n`)
        },
      })
    })
}

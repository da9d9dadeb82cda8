import { isUtf8 } from 'node:buffer'
import { once } from 'node:events'
import { createTopicCatalogue, listTopics, TOPIC_VERSION_SUFFIX } from '@tradepulse/contracts'
import { parseIsoTime } from '@tradepulse/gateway'
import {
  BaseConfig,
  createProducer,
  DEAD_LETTER_REASONS,
  DLQ_HEADERS,
  exitCodeForSignal,
  headerBytes,
  type Logger,
  loadConfig,
  MAX_REQUEST_BYTES,
  RECORD_FRAMING_BYTES,
  REPLAY_HEADERS,
  TradepulseError,
} from '@tradepulse/platform'
import { type Command, InvalidArgumentError } from 'commander'
import kafkajs, { type Admin, type Kafka, type Message, type Producer } from 'kafkajs'
import {
  CATALOGUE_TOPIC_NAMES,
  catalogueTopic,
  createOriginSet,
  type DeadLetterEntry,
  type DeadLetterFilter,
  type DlqRecord,
  deadLetterJson,
  formatDeadLetter,
  isLetterOfReplay,
  omittedHeadersWhy,
  originOf,
  positionOf,
  printable,
  type ReplayRecord,
  readDeadLetter,
  replayRecord,
  selects,
} from '../dlq/dead-letters.ts'
import { type PartitionRange, readRanges, readTopicRanges } from '../dlq/read-dlq.ts'
import { EXIT_DATA_ERROR } from '../exit-codes.ts'
import { cliKafka, cliLogger } from '../infra.ts'
import { duration, someText } from '../option-values.ts'
import { missingTopic } from '../topic-check.ts'
import { WORKERS } from '../workers.ts'

/** --since's value: its text and the time it names, ms. */
export type SinceTime = { text: string; ms: number }

/**
 * --since: an ISO 8601 time with its zone (as --as-of and the gateway read one), or a span back from now
 * (a duration, as `indicators rebuild --since` reads one). A time before 1970 reads from the start.
 */
export function sinceTime(text: string, now: () => number = Date.now): SinceTime {
  const at = parseIsoTime(text)
  if (at !== undefined) return { text, ms: Math.max(0, at) }
  let span: number
  try {
    span = duration(text)
  } catch {
    throw new InvalidArgumentError(
      'Expected an ISO 8601 time with Z or an offset (2026-03-02T14:00:00Z), or a span back from now: decimal digits and a unit, ms, s, m, h, d or w (30m, 12h, 7d).',
    )
  }
  return { text, ms: Math.max(0, now() - span) }
}

/** A text option given several times (`--reason a --reason b`): each value, none empty. */
const repeated =
  (what: string) =>
  (text: string, previous: string[] = []): string[] => [...previous, someText(what)(text)]

/** --reason: one of the reasons workers dead-letter for (a typo selected nothing and exited 0). */
export function reasonCode(text: string, previous: string[] = []): string[] {
  const [code] = repeated('a reason code')(text)
  if (!(DEAD_LETTER_REASONS as readonly string[]).includes(code!))
    throw new InvalidArgumentError(
      `Expected a reason workers dead-letter for: ${DEAD_LETTER_REASONS.join(', ')}.`,
    )
  return [...previous, code!]
}

/** --worker: one of the workers that write dead letters (a typo selected nothing and exited 0). */
export function workerName(text: string, previous: string[] = []): string[] {
  const [name] = repeated('a worker name')(text)
  if (!Object.hasOwn(WORKERS, name!))
    throw new InvalidArgumentError(`Expected a worker: ${Object.keys(WORKERS).join(', ')}.`)
  return [...previous, name!]
}

/** --after: per dlq partition, the offset of the last letter to pass over (those at or before it are not read). */
export type AfterOffsets = Map<number, number>

const POSITION = /^(0|[1-9]\d{0,9})@(0|[1-9]\d{0,18})$/

/**
 * --after: PARTITION@OFFSET of the dlq, comma-separated (0@41,2@7), as an interrupted or failed replay
 * prints them; given again, the lists join. A partition named twice is refused, as is anything but
 * decimal digits.
 */
export function afterOffsets(text: string, previous: AfterOffsets = new Map()): AfterOffsets {
  const after = new Map(previous)
  for (const item of text.split(',')) {
    const m = POSITION.exec(item)
    const offset = m ? Number(m[2]) : Number.NaN
    if (!m || !Number.isSafeInteger(offset))
      throw new InvalidArgumentError(
        'Expected PARTITION@OFFSET of the dlq, comma-separated, in decimal digits (0@41,2@7), as an interrupted replay prints them.',
      )
    const partition = Number(m[1])
    if (after.has(partition)) throw new InvalidArgumentError(`Partition ${partition} is named twice.`)
    after.set(partition, offset)
  }
  return after
}

/** --after's text for these offsets: "0@41,2@7". */
export const afterText = (after: ReadonlyMap<number, number | string>) =>
  [...after]
    .sort(([a], [b]) => a - b)
    .map(([p, o]) => `${p}@${o}`)
    .join(',')

/**
 * The ranges to read past --after: a partition named starts after its offset (at its end, if the offset
 * is past it). One the dlq does not have is refused (exit 78): a typo would read that partition whole.
 */
export function rangesAfter(
  command: string,
  topic: string,
  ranges: PartitionRange[],
  after: AfterOffsets | undefined,
): PartitionRange[] {
  if (!after) return ranges
  for (const p of after.keys())
    if (!ranges.some((r) => r.partition === p))
      throw new TradepulseError(
        'CONFIG_INVALID',
        `dlq ${command}: --after ${p}@${after.get(p)} names partition ${p}, which ${topic} does not have (partitions ${ranges.map((r) => r.partition).join(', ')})`,
      )
  return ranges.map((r) => {
    const o = after.get(r.partition)
    return o === undefined ? r : { ...r, start: Math.min(Math.max(r.start, o + 1), r.end) }
  })
}

type FilterOptions = {
  since?: SinceTime
  reason?: string[]
  worker?: string[]
  topic?: string[]
  after?: AfterOffsets
}
type ListOptions = FilterOptions & { ndjson?: boolean }
type ReplayOptions = FilterOptions & {
  dryRun?: boolean
  skipUnreplayable?: boolean
  allowCompacted?: boolean
  includeReplayed?: boolean
  allowMissingHeaders?: boolean
}

/**
 * The filter the options give; each --topic by the full name of the catalogue's topic it names, and one
 * that names none refused (exit 78): a typo (headlines.raw.v2, a topic of another prefix) selected
 * nothing, and the command exited 0.
 */
export function filterOf(command: string, opts: FilterOptions, prefix: string): DeadLetterFilter {
  const topics = (opts.topic ?? []).map((t) => {
    const name = catalogueTopic(t, prefix)
    if (name === undefined)
      throw new TradepulseError(
        'CONFIG_INVALID',
        `dlq ${command}: --topic ${JSON.stringify(t)} names no topic of the catalogue: ${CATALOGUE_TOPIC_NAMES}, with or without ${TOPIC_VERSION_SUFFIX}, or in full (${prefix}headlines.raw${TOPIC_VERSION_SUFFIX}: TRADEPULSE_TOPIC_PREFIX ${JSON.stringify(prefix)})`,
      )
    return name
  })
  return {
    ...(opts.since ? { sinceMs: opts.since.ms } : {}),
    ...(opts.reason ? { reasons: opts.reason } : {}),
    ...(opts.worker ? { workers: opts.worker } : {}),
    ...(topics.length ? { topics } : {}),
  }
}

/** Writes to stdout, waiting while its buffer is full: a listing of 30 days of letters into `less`. */
async function out(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain')
}

/** A throwaway consumer group per read: it commits nothing, and two commands never share records. */
const throwawayGroup = (what: string) => `tradepulse-dlq-${what}-${process.pid}-${Date.now()}`

type Dlq = {
  kafka: Kafka
  log: Logger
  admin: Admin
  topic: string
  filter: DeadLetterFilter
  ranges: PartitionRange[]
  /** The topics Kafka has, as the command started. */
  topics: Set<string>
  brokers: string
  /** The catalogue's compacted topics (indicators). */
  catalogueCompacted: Set<string>
  /** Origin topics whose cleanup.policy Kafka was asked for: whether it compacts them. */
  compacted: Map<string, boolean>
}

/**
 * The dlq topic's ranges to read (readRanges: up to its end as the command starts), after checking Kafka
 * has it: a mistyped TRADEPULSE_TOPIC_PREFIX names a topic nobody writes to, and reading it would create
 * it on a broker that creates topics on first use. The filter is checked before anything connects.
 */
async function openDlq(command: string, opts: FilterOptions): Promise<Dlq> {
  const config = loadConfig(BaseConfig, process.env)
  const prefix = config.TRADEPULSE_TOPIC_PREFIX
  const filter = filterOf(command, opts, prefix)
  const since = opts.since
  const log = cliLogger(config)
  const catalogue = createTopicCatalogue(prefix)
  const topic = catalogue.dlq.name
  const catalogueCompacted = new Set(
    listTopics(catalogue)
      .filter((t) => t.compacted)
      .map((t) => t.name),
  )
  const kafka = cliKafka(config, 'tradepulse-dlq', log)
  const admin = kafka.admin()
  await admin.connect()
  try {
    const topics = new Set(await admin.listTopics())
    const brokers = config.KAFKA_BROKERS.join(',')
    if (!topics.has(topic)) throw missingTopic(config, `dlq ${command}`, topic)
    const ranges = rangesAfter(command, topic, await readRanges(kafka, topic, since?.ms), opts.after)
    return {
      kafka,
      log,
      admin,
      topic,
      filter,
      ranges,
      topics,
      brokers,
      catalogueCompacted,
      compacted: new Map(),
    }
  } catch (err) {
    await admin.disconnect().catch(() => {})
    throw err
  }
}

/** Reads the dlq's ranges once, handing each record on as its dead letter or naming it on stderr. */
async function eachDeadLetter(
  dlq: Dlq,
  command: string,
  pass: string,
  handle: (entries: DeadLetterEntry[]) => Promise<void>,
  { nameUnreadable = true } = {},
): Promise<{ letters: number; unreadable: number }> {
  const counts = { letters: 0, unreadable: 0 }
  await readTopicRanges(
    dlq.kafka,
    dlq.topic,
    dlq.ranges,
    throwawayGroup(pass),
    async (records: DlqRecord[]) => {
      const entries: DeadLetterEntry[] = []
      for (const rec of records) {
        const r = readDeadLetter(rec)
        if (r.ok) entries.push(r.entry)
        else {
          counts.unreadable++
          if (nameUnreadable)
            process.stderr.write(
              `dlq ${command}: ${positionOf(dlq.topic, rec)}: not a dead letter: ${r.error}\n`,
            )
        }
      }
      counts.letters += entries.length
      await handle(entries)
    },
  )
  return counts
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** "1 record of the dlq not read as a dead letter", "2 records … as dead letters" */
const notLetters = (n: number, of: string) =>
  `${plural(n, 'record')} of ${of} not read as ${n === 1 ? 'a dead letter' : 'dead letters'}`

/** What a replay would send, in one line: the original's time, topic, key and value, cut. */
export function formatReplayRecord(r: ReplayRecord): string {
  const bytes = (b: Buffer, max: number) =>
    isUtf8(b) ? printable(b.toString('utf8'), max) : `(${plural(b.length, 'byte')}, not UTF-8)`
  return [
    r.timestamp === undefined ? '(no timestamp)          ' : new Date(r.timestamp).toISOString(),
    r.topic,
    `key ${r.key === null ? '-' : bytes(r.key, 64)}`,
    bytes(r.value, 160),
  ].join('  ')
}

/** A replayed record's bytes as Kafka counts them, roughly: key, value, headers and framing. */
const sizeOf = (r: ReplayRecord) =>
  RECORD_FRAMING_BYTES +
  (r.key?.length ?? 0) +
  r.value.length +
  Object.entries(r.headers).reduce((n, [k, v]) => n + headerBytes(k, v), 0)

/** A record to send, and where its letter is on the dlq. */
type Sendable = { record: ReplayRecord; partition: number; offset: string }

/** One request of records: by topic, each keeping its key as bytes (a key that is not UTF-8 exactly). */
function requestOf(part: readonly Sendable[]): Parameters<Producer['sendBatch']>[0] {
  const byTopic = new Map<string, Message[]>()
  for (const { record: r } of part) {
    const list = byTopic.get(r.topic) ?? []
    if (list.length === 0) byTopic.set(r.topic, list)
    list.push({
      key: r.key,
      value: r.value,
      headers: r.headers,
      ...(r.timestamp !== undefined ? { timestamp: String(r.timestamp) } : {}),
    })
  }
  return { acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) }
}

/**
 * Sends records in order, in requests of at most MAX_REQUEST_BYTES (Kafka refuses a record batch over a
 * topic's max.message.bytes; a letter's value is at most 256 KB), each acknowledged by every in-sync
 * replica before the next (`send`).
 */
async function sendInOrder(
  records: readonly Sendable[],
  send: (part: Sendable[]) => Promise<void>,
): Promise<void> {
  let part: Sendable[] = []
  let bytes = 0
  for (const r of records) {
    const size = sizeOf(r.record)
    if (part.length > 0 && bytes + size > MAX_REQUEST_BYTES) {
      await send(part)
      part = []
      bytes = 0
    }
    part.push(r)
    bytes += size
  }
  if (part.length > 0) await send(part)
}

type SignalSource = Pick<NodeJS.EventEmitter, 'on' | 'off'>

/**
 * What a replay has sent, and its SIGINT and SIGTERM: each request goes through `send`, which counts
 * its records once Kafka acknowledged them and keeps, per dlq partition, the offset of the last letter
 * whose record was acknowledged. A signal sends no further request: once the one being sent is answered,
 * one line says how many went and up to where (`--after` of a new run sends the rest, not these again:
 * a replay marks the records it sends, not the letters it sent them from, so a new run sent every one
 * again), and the exit code is the signal's (exitCodeForSignal). It ended by the signal's default, with no
 * count. A second signal exits at once.
 */
export function replayProgress(
  dlqTopic: string,
  {
    from = process,
    out = process.stderr,
    exit = process.exit,
  }: { from?: SignalSource; out?: Pick<NodeJS.WritableStream, 'write'>; exit?: (code: number) => void } = {},
) {
  let sent = 0
  const last = new Map<number, string>()
  let sending: Promise<void> = Promise.resolve()
  let interrupted = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return void exit(exitCodeForSignal(signal))
    interrupted = true
    void sending
      .catch(() => {})
      .finally(() => {
        out.write(
          `dlq replay: interrupted by ${signal}: ${sent === 0 ? 'nothing sent' : `${progress.sentText()}; the rest not sent${progress.resumeText()}`}\n`,
        )
        exit(exitCodeForSignal(signal))
      })
  }
  from.on('SIGINT', onSignal)
  from.on('SIGTERM', onSignal)
  const progress = {
    get sent() {
      return sent
    },
    /** Sends one request, once acknowledged counting its records; none once interrupted (never settles). */
    send(producer: Pick<Producer, 'sendBatch'>, part: Sendable[]): Promise<void> {
      if (interrupted) return new Promise<void>(() => {})
      sending = producer.sendBatch(requestOf(part)).then(() => {
        sent += part.length
        for (const r of part) last.set(r.partition, r.offset)
      })
      return sending
    },
    /** "2 records sent, of the letters up to DLQ[0]@4 and DLQ[2]@7" ("0 records sent"). */
    sentText(): string {
      const upTo = [...last].sort(([a], [b]) => a - b).map(([p, o]) => `${dlqTopic}[${p}]@${o}`)
      return `${plural(sent, 'record')} sent${upTo.length ? `, of the letters up to ${upTo.join(' and ')}` : ''}`
    },
    /** How to send the rest without these again: " (--after 0@4,2@7 …)", or nothing when none was sent. */
    resumeText(): string {
      return sent === 0
        ? ''
        : ` (--after ${afterText(last)} with the same options sends the rest, not these again)`
    },
    /** Stops listening for the signals. */
    release() {
      from.off('SIGINT', onSignal)
      from.off('SIGTERM', onSignal)
    },
  }
  return progress
}

type ReplayProgress = ReturnType<typeof replayProgress>

const FILTER_HELP = {
  since:
    'only letters written at or after this time: an ISO 8601 time with Z or an offset (2026-03-02T14:00:00Z), or a span back from now (30m, 12h, 7d)',
  reason: `only letters of this reason, one of ${DEAD_LETTER_REASONS.join(', ')}; give it again for several`,
  worker: `only letters this worker wrote, one of ${Object.keys(WORKERS).join(', ')}; give it again for several`,
  topic:
    'only letters from this origin topic of the catalogue, named in full (tradepulse.headlines.raw.v1) or as in the catalogue, with or without the version (headlines.raw, alerts.desk.fx.v1); give it again for several',
  after:
    'only letters past these offsets of the dlq, PARTITION@OFFSET comma-separated (0@41,2@7), as an interrupted or failed replay prints them: its run again with this sends what it had not sent',
}

function withFilters(cmd: Command): Command {
  return cmd
    .option('--since <time>', FILTER_HELP.since, (text) => sinceTime(text))
    .option('--reason <code>', FILTER_HELP.reason, reasonCode)
    .option('--worker <name>', FILTER_HELP.worker, workerName)
    .option('--topic <name>', FILTER_HELP.topic, repeated('a topic name'))
    .option('--after <positions>', FILTER_HELP.after, afterOffsets)
}

/** `tradepulse dlq list` and `tradepulse dlq replay`. */
export function registerDlq(program: Command): void {
  const dlq = program
    .command('dlq')
    .description(
      'the dead letters every worker writes to dlq.v1: read from its start (or --since) to its end as the command starts',
    )

  withFilters(
    dlq
      .command('list')
      .description(
        `print one line per dead letter: when it was written (UTC), its origin (topic[partition]@offset), reason, id (- when none), "(replay of <dlq topic[partition]@offset> at <time>)" for a letter of a record dlq replay sent (${REPLAY_HEADERS.replayOf}, ${REPLAY_HEADERS.replayedAt}), and message; a record of the dlq that is no dead letter is named on stderr and the exit code is then ${EXIT_DATA_ERROR}`,
      ),
  )
    .option(
      '--ndjson',
      `print each dead letter as one JSON line: { dlq, id?, originTimestampMs?, replay?: { of?, at? }, letter }, replay holding ${REPLAY_HEADERS.replayOf} and ${REPLAY_HEADERS.replayedAt} of a record dlq replay sent`,
    )
    .action(listDeadLetters)

  withFilters(
    dlq
      .command('replay')
      .description(
        `send the original records of the selected dead letters again to their origin topics, with their key, headers and timestamp (tp-origin-timestamp; a LogAppendTime topic such as headlines.scored stamps them at the replay's time), each marked ${REPLAY_HEADERS.replayedAt} and ${REPLAY_HEADERS.replayOf}; each original once: a letter of the same origin (topic[partition]@offset) as one sent before it is a duplicate, skipped and counted (two workers reading one topic, the aggregator and the alerter, each dead-letter a record both fail on; the record sent again goes to every worker reading its topic, whatever --worker selected); the last line says how many letters were read, selected, skipped as duplicates and sent; refused, nothing sent, exit ${EXIT_DATA_ERROR}, when one cannot be sent as it was (no value, a cut copy, original headers the letter lacks, an origin topic Kafka does not have or compacts); letters of records an earlier replay from this dlq sent are skipped; SIGINT or SIGTERM sends no further request and, the one being sent acknowledged, says how many went and the --after that sends the rest (exit 130, 143)`,
      ),
  )
    .option('--dry-run', 'print what would be sent, one line each, and send nothing')
    .option(
      '--skip-unreplayable',
      `send the others when some cannot be sent, naming each left out (exit ${EXIT_DATA_ERROR})`,
    )
    .option(
      '--allow-compacted',
      "send letters to a compacted origin topic (indicators) too: each becomes its key's last record there, the value a reader starting afresh takes, until the key's next update",
    )
    .option(
      '--include-replayed',
      `send letters of records an earlier replay from this dlq sent (${REPLAY_HEADERS.replayOf}) too: with the letters they were replayed from, each record goes out once more per replay`,
    )
    .option(
      '--allow-missing-headers',
      `send letters whose original headers were not all kept (${DLQ_HEADERS.headersOmitted}) without those headers`,
    )
    .action(replayDeadLetters)
}

/** `dlq list`: one line (or JSON line) per selected letter, and a count on stderr. */
async function listDeadLetters(opts: ListOptions): Promise<void> {
  const dlq = await openDlq('list', opts)
  let listed = 0
  try {
    const { letters, unreadable } = await eachDeadLetter(dlq, 'list', 'list', async (entries) => {
      let text = ''
      for (const e of entries) {
        if (!selects(e, dlq.filter)) continue
        listed++
        text += `${opts.ndjson ? deadLetterJson(e) : formatDeadLetter(e)}\n`
      }
      if (text) await out(text)
    })
    process.stderr.write(
      `dlq list: ${listed} of ${plural(letters, 'dead letter')} in ${dlq.topic}${unreadable ? `; ${notLetters(unreadable, 'it')} (named above)` : ''}\n`,
    )
    if (unreadable > 0) process.exitCode = EXIT_DATA_ERROR
  } finally {
    await dlq.admin.disconnect().catch(() => {})
  }
}

/** What a replay does with a selected letter. */
type Verdict =
  | { kind: 'send'; record: ReplayRecord }
  | { kind: 'refuse'; why: string }
  /** A letter of a record an earlier replay from this dlq sent (not --include-replayed). */
  | { kind: 'skip' }

/** Whether a dead letter is selected (undefined when not), and if so what a replay does with it. */
type Check = (e: DeadLetterEntry) => Verdict | undefined

/** The most letters that cannot be sent a replay names one by one; the rest are counted. */
const SHOWN_REFUSALS = 20

/** What the first pass of a replay found among the letters it read. */
type Checked = {
  /** Dead letters read (of the dlq's records in range). */
  read: number
  selected: number
  /** How many selected letters cannot be sent. */
  refused: number
  /** The first SHOWN_REFUSALS of them: where each is and why (a million tombstones are not all held). */
  problems: string[]
  /** Selected letters of records an earlier replay from this dlq sent, left out. */
  skipped: number
  /** Letters that could be sent whose origin another letter before them sends: left out. */
  duplicates: number
  /** The records to send per origin topic. */
  byTopic: Map<string, number>
  /** Letters to send without some original headers (--allow-missing-headers), and why for the first. */
  headersLeftOut: number
  headersWhy: string
  unreadable: number
}

const CLEANUP_POLICY = 'cleanup.policy'
// Through the default export: not among kafkajs's named exports under Node (as platform's kafka-client).
const TOPIC_RESOURCE = kafkajs.ConfigResourceTypes.TOPIC

/**
 * Asks Kafka whether it compacts each of these origin topics it has not been asked about (cleanup.policy
 * holding compact). One it cannot tell (DescribeConfigs not allowed) is taken as the catalogue has it,
 * which is said.
 */
async function learnCompaction(dlq: Dlq, topics: Iterable<string>): Promise<void> {
  const ask = [...new Set(topics)].filter((t) => dlq.topics.has(t) && !dlq.compacted.has(t))
  if (ask.length === 0) return
  try {
    const { resources } = await dlq.admin.describeConfigs({
      includeSynonyms: false,
      resources: ask.map((name) => ({ type: TOPIC_RESOURCE, name, configNames: [CLEANUP_POLICY] })),
    })
    for (const r of resources) {
      const policy = r.configEntries.find((e) => e.configName === CLEANUP_POLICY)?.configValue ?? ''
      dlq.compacted.set(
        r.resourceName,
        policy.split(',').some((p) => p.trim() === 'compact'),
      )
    }
  } catch (err) {
    process.stderr.write(
      `dlq replay: could not read the ${CLEANUP_POLICY} of ${ask.map((t) => printable(t, 300)).join(', ')} (${(err as Error).message}); taken as the topic catalogue says\n`,
    )
  }
  for (const t of ask) if (!dlq.compacted.has(t)) dlq.compacted.set(t, dlq.catalogueCompacted.has(t))
}

/** Whether a replay must not send to `topic` for its compaction: the catalogue's or Kafka's word. */
const isCompacted = (dlq: Dlq, topic: string) =>
  dlq.catalogueCompacted.has(topic) || dlq.compacted.get(topic) === true

/**
 * `dlq replay`: a first read checks every selected letter (and, --dry-run, prints what it would send);
 * only when none is refused (or --skip-unreplayable) does a second read of the same ranges send them.
 * Two reads keep memory bounded however many letters are selected, and a refusal sends nothing.
 */
async function replayDeadLetters(opts: ReplayOptions): Promise<void> {
  const dlq = await openDlq('replay', opts)
  // One time for the whole replay: every record it sends is marked with it.
  const atMs = Date.now()
  const check: Check = (e) => {
    if (!selects(e, dlq.filter)) return undefined
    if (!opts.includeReplayed && isLetterOfReplay(e, dlq.topic)) return { kind: 'skip' }
    const r = replayRecord(e, {
      dlqTopic: dlq.topic,
      atMs,
      allowMissingHeaders: Boolean(opts.allowMissingHeaders),
    })
    if (!r.ok) return { kind: 'refuse', why: r.why }
    const topic = r.record.topic
    if (!dlq.topics.has(topic))
      return {
        kind: 'refuse',
        why: `Kafka at ${dlq.brokers} (KAFKA_BROKERS) has no topic ${printable(topic, 300)}, its origin`,
      }
    if (!opts.allowCompacted && isCompacted(dlq, topic))
      return {
        kind: 'refuse',
        why: `its origin ${printable(topic, 300)} is compacted: a reader starting afresh takes each key's last record there for its newest value, which this old one would be until the key's next update; --allow-compacted sends it all the same`,
      }
    return { kind: 'send', record: r.record }
  }
  // The origin topics of a batch's selected letters, asked of Kafka before they are checked.
  const learn = async (entries: DeadLetterEntry[]) => {
    if (!opts.allowCompacted)
      await learnCompaction(
        dlq,
        entries.filter((e) => selects(e, dlq.filter)).map((e) => e.letter.origin.topic),
      )
  }
  // From the first read on: a signal then says it sent nothing, and exits with its code.
  const progress = replayProgress(dlq.topic)
  try {
    const found = await checkLetters(dlq, check, learn, opts)
    const { selected, refused, problems } = found
    for (const p of problems) process.stderr.write(`dlq replay: cannot send ${p}\n`)
    if (refused > problems.length)
      process.stderr.write(`dlq replay: … and ${refused - problems.length} more that cannot be sent\n`)
    const sendable = selected - refused - found.skipped - found.duplicates
    const of = `of ${selected} selected (of ${plural(found.read, 'dead letter')} read)`
    if (refused > 0 && !opts.skipUnreplayable) {
      process.stderr.write(
        `dlq replay: refused: ${refused} ${of} cannot be sent as the original record; nothing was sent (${sendable > 0 ? `--skip-unreplayable sends the other ${sendable}; ` : ''}--reason, --topic and --since select fewer)\n`,
      )
      process.exitCode = EXIT_DATA_ERROR
      return
    }
    if (refused > 0 || found.unreadable > 0) process.exitCode = EXIT_DATA_ERROR
    const summary = summaryOf(found)
    if (opts.dryRun) {
      process.stderr.write(
        `dlq replay: dry run: would send ${plural(sendable, 'record')} ${of}${summary}; nothing was sent\n`,
      )
      return
    }
    if (sendable > 0) await sendLetters(dlq, check, learn, progress)
    process.stderr.write(`dlq replay: sent ${plural(progress.sent, 'record')} ${of}${summary}\n`)
  } finally {
    progress.release()
    await dlq.admin.disconnect().catch(() => {})
  }
}

/** The first read of a replay: counts, each letter that cannot be sent, and (dryRun) what would be sent. */
async function checkLetters(
  dlq: Dlq,
  check: Check,
  learn: (entries: DeadLetterEntry[]) => Promise<void>,
  opts: ReplayOptions,
): Promise<Checked> {
  const found: Checked = {
    read: 0,
    selected: 0,
    refused: 0,
    problems: [],
    skipped: 0,
    duplicates: 0,
    byTopic: new Map(),
    headersLeftOut: 0,
    headersWhy: '',
    unreadable: 0,
  }
  const origins = createOriginSet()
  const { letters, unreadable } = await eachDeadLetter(dlq, 'replay', 'check', async (entries) => {
    await learn(entries)
    let text = ''
    for (const e of entries) {
      const v = check(e)
      if (!v) continue
      found.selected++
      if (v.kind === 'skip') {
        found.skipped++
        continue
      }
      if (v.kind === 'refuse') {
        if (++found.refused <= SHOWN_REFUSALS)
          found.problems.push(
            `${positionOf(dlq.topic, e)} (${printable(originOf(e.letter), 300)}, ${printable(e.letter.reason, 40)}): ${v.why}`,
          )
        continue
      }
      if (!origins.add(e.letter.origin)) {
        found.duplicates++
        continue
      }
      found.byTopic.set(v.record.topic, (found.byTopic.get(v.record.topic) ?? 0) + 1)
      if (e.headersOmitted > 0 && found.headersLeftOut++ === 0) found.headersWhy = omittedHeadersWhy(e)
      if (opts.dryRun) text += `${formatReplayRecord(v.record)}\n`
    }
    if (text) await out(text)
  })
  found.read = letters
  found.unreadable = unreadable
  return found
}

/** The end of a replay's summary: where the records go, and what was left out or is missing. */
function summaryOf(found: Checked): string {
  const topics = [...found.byTopic].map(([t, n]) => `${printable(t, 300)} (${n})`).join(', ')
  const notes = [
    ...(found.refused ? [`${found.refused} left out (named above)`] : []),
    ...(found.skipped
      ? [
          `${found.skipped} skipped: ${found.skipped === 1 ? 'a letter of a record' : 'letters of records'} an earlier replay from this dlq sent (${REPLAY_HEADERS.replayOf}), the letter each was replayed from being the one to replay (--include-replayed sends these too)`,
        ]
      : []),
    ...(found.duplicates
      ? [
          `${plural(found.duplicates, 'duplicate')} skipped: ${found.duplicates === 1 ? 'a letter' : 'letters'} of an original another letter sends (the same origin topic[partition]@offset, dead-lettered by several workers or more than once)`,
        ]
      : []),
    ...(found.unreadable ? [notLetters(found.unreadable, 'the dlq')] : []),
    ...(found.headersLeftOut
      ? [
          `${found.headersLeftOut} without some of their original headers (--allow-missing-headers; the first: ${found.headersWhy})`,
        ]
      : []),
  ]
  return `${topics ? ` to ${topics}` : ''}${notes.length ? `; ${notes.join('; ')}` : ''}`
}

/**
 * The second read of a replay, of the same ranges: sends the letters checked, in the order written, each
 * request through `progress` (its count, and where it stopped at a signal or a failure).
 */
async function sendLetters(
  dlq: Dlq,
  check: Check,
  learn: (entries: DeadLetterEntry[]) => Promise<void>,
  progress: ReplayProgress,
): Promise<void> {
  const producer = createProducer(dlq.kafka, dlq.log)
  // As the first read: of letters of one origin, only the first that can be sent. Which is first may
  // differ between the reads for letters on different dlq partitions; the count sent does not.
  const origins = createOriginSet()
  await producer.connect()
  try {
    await eachDeadLetter(
      dlq,
      'replay',
      'send',
      async (entries) => {
        await learn(entries)
        const records: Sendable[] = []
        for (const e of entries) {
          const v = check(e)
          if (v?.kind === 'send' && origins.add(e.letter.origin))
            records.push({ record: v.record, partition: e.partition, offset: e.offset })
        }
        await sendInOrder(records, (part) => progress.send(producer, part))
      },
      // Named by the first read.
      { nameUnreadable: false },
    )
  } catch (err) {
    process.stderr.write(
      `dlq replay: ${progress.sentText()} before the failure below${progress.resumeText()}\n`,
    )
    throw err
  } finally {
    await producer.disconnect().catch(() => {})
  }
}

import {
  createTopicCatalogue,
  DeadLetter,
  isDeskId,
  listTopics,
  TOPIC_VERSION_SUFFIX,
} from '@tradepulse/contracts'
import {
  DLQ_HEADERS,
  DLQ_MAX_ORIGINAL_HEADER_BYTES,
  DLQ_MAX_ORIGINAL_HEADER_VALUES,
  originalHeaders,
  originalHeadersOfLetter,
  REPLAY_HEADERS,
  type RecordHeaders,
  setOwn,
} from '@tradepulse/platform'

/** A record of the dlq topic as read (kafkajs's message, with its partition). */
export type DlqRecord = {
  partition: number
  offset: string
  /** The dlq record's own Kafka timestamp, ms: when the letter was written. */
  timestamp: number
  key: Buffer | null
  value: Buffer | null
  headers?: Record<string, unknown>
}

/** One dead letter as `tradepulse dlq` reads it. */
export type DeadLetterEntry = {
  partition: number
  offset: string
  /** When the letter was written (the dlq record's timestamp), ms. */
  timestampMs: number
  letter: DeadLetter
  /** The payload's `id` when it is a JSON object with a string id (a headline's, an alert's). */
  id: string | undefined
  /**
   * tp-origin-timestamp (else the letter's origin.timestamp): the original record's Kafka timestamp, ms;
   * undefined when the letter has none
   * (the record had none); `bad` holds the header's text when it is not ms since the epoch.
   */
  originTimestamp: { ms: number | undefined; bad?: string }
  /**
   * The original headers the letter carries, under their original names (originalHeadersOfLetter: the
   * dlq's tp-* headers and the letter's own ce_* and content-type taken out, tp-original-ce_id read as ce_id).
   */
  headers: RecordHeaders
  /** Values of original headers that did not fit in the letter (tp-dlq-headers-omitted). */
  headersOmitted: number
  /** The dlq record's own key: the original key as text, cut (what letters before the key copy have). */
  recordKey: Buffer | null
}

const OURS: ReadonlySet<string> = new Set(Object.values(DLQ_HEADERS))
const DECIMAL = /^[0-9]{1,16}$/

/** The text of a header's (last) value, or undefined. */
function headerText(headers: RecordHeaders, name: string): string | undefined {
  if (!Object.hasOwn(headers, name)) return undefined
  const v = headers[name]!
  const last = Array.isArray(v) ? v[v.length - 1] : v
  return last === undefined ? undefined : String(last)
}

/** The payload's id, when it is JSON text of an object with a string `id`. */
function payloadId(letter: DeadLetter): string | undefined {
  if (letter.payloadEncoding !== 'utf8' || letter.payloadTruncated || !letter.payload.startsWith('{'))
    return undefined
  try {
    const id = (JSON.parse(letter.payload) as { id?: unknown }).id
    return typeof id === 'string' ? id : undefined
  } catch {
    return undefined
  }
}

/** A dlq record → its dead letter, or why it is none (not JSON, not a DeadLetter). */
export function readDeadLetter(
  rec: DlqRecord,
): { ok: true; entry: DeadLetterEntry } | { ok: false; error: string } {
  let json: unknown
  try {
    json = JSON.parse(rec.value?.toString('utf8') ?? '')
  } catch {
    return { ok: false, error: rec.value ? 'not JSON' : 'no value' }
  }
  const parsed = DeadLetter.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return { ok: false, error: `not a DeadLetter: ${issue?.path.join('.') || '(root)'}: ${issue?.message}` }
  }
  const all = originalHeaders({ headers: {}, rawHeaders: rec.headers ?? {} })
  const headers = originalHeadersOfLetter(all)
  // The header, as every letter has it; else the copy in the value (a letter whose headers were not kept
  // by whatever copied it).
  const stamp = headerText(all, DLQ_HEADERS.timestamp) ?? parsed.data.origin.timestamp
  const originTimestamp =
    stamp === undefined
      ? { ms: undefined }
      : DECIMAL.test(stamp) && Number.isSafeInteger(Number(stamp))
        ? { ms: Number(stamp) }
        : { ms: undefined, bad: stamp.slice(0, 64) }
  const omitted = Number(headerText(all, DLQ_HEADERS.headersOmitted) ?? 0)
  return {
    ok: true,
    entry: {
      partition: rec.partition,
      offset: rec.offset,
      timestampMs: rec.timestamp,
      letter: parsed.data,
      id: payloadId(parsed.data),
      originTimestamp,
      headers,
      headersOmitted: Number.isSafeInteger(omitted) && omitted > 0 ? omitted : 0,
      recordKey: rec.key,
    },
  }
}

/** The catalogue's topics but the desk topics, as --topic names them: without prefix and version. */
const CATALOGUE_BASES = listTopics(createTopicCatalogue('')).map((t) =>
  t.name.slice(0, -TOPIC_VERSION_SUFFIX.length),
)
const DESK_BASE = 'alerts.desk.'

/** The catalogue's topics as --topic takes them, for a refusal: "headlines.raw, …, alerts.desk.<desk id>". */
export const CATALOGUE_TOPIC_NAMES = [...CATALOGUE_BASES, `${DESK_BASE}<desk id>`].join(', ')

/** A topic of the catalogue by its base name (headlines.raw, alerts.desk.fx), or none. */
const catalogueBase = (base: string) =>
  CATALOGUE_BASES.includes(base) || (base.startsWith(DESK_BASE) && isDeskId(base.slice(DESK_BASE.length)))

/**
 * A --topic value → the full name of the catalogue's topic it names: in full (tradepulse.headlines.raw.v1),
 * or as the catalogue does, with or without the version (headlines.raw, headlines.raw.v1, alerts.desk.fx);
 * undefined when it names none of them (a typo selected nothing and the command exited 0).
 */
export function catalogueTopic(name: string, prefix: string): string | undefined {
  const unprefixed = prefix !== '' && name.startsWith(prefix) ? [name.slice(prefix.length), name] : [name]
  for (const n of unprefixed)
    for (const base of n.endsWith(TOPIC_VERSION_SUFFIX) ? [n, n.slice(0, -TOPIC_VERSION_SUFFIX.length)] : [n])
      if (catalogueBase(base)) return `${prefix}${base}${TOPIC_VERSION_SUFFIX}`
  return undefined
}

/** What `--reason`, `--worker`, `--topic` and `--since` select. */
export type DeadLetterFilter = {
  reasons?: readonly string[]
  /** The workers that wrote the letters (the letter's `worker`). */
  workers?: readonly string[]
  /** Origin topics, by their full names (catalogueTopic). */
  topics?: readonly string[]
  /** Letters written at or after this time (the dlq record's timestamp), ms. */
  sinceMs?: number
}

/** Whether the entry is one the filter selects. */
export function selects(entry: DeadLetterEntry, filter: DeadLetterFilter): boolean {
  if (filter.sinceMs !== undefined && entry.timestampMs < filter.sinceMs) return false
  if (filter.reasons?.length && !filter.reasons.includes(entry.letter.reason)) return false
  if (filter.workers?.length && !filter.workers.includes(entry.letter.worker)) return false
  if (filter.topics?.length && !filter.topics.includes(entry.letter.origin.topic)) return false
  return true
}

// C0 and C1 controls, DEL, and the bidirectional overrides and isolates: a letter holds whatever a
// producer sent, and printed raw, escapes or a reversed run would rewrite what the terminal shows.
const UNPRINTABLE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu

/** Text from a letter made safe for a terminal line: controls escaped (\u001b), cut at `max` characters. */
export function printable(text: string, max: number): string {
  const safe = text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe
}

/**
 * A value as one JSON line safe for a terminal: JSON.stringify escapes C0 controls only, leaving DEL, C1
 * controls (U+009B is a CSI) and bidi overrides raw, which printable escapes too. They can only be inside
 * JSON strings, where \u009b reads back as the same text.
 */
export const printableJson = (value: object): string =>
  printable(JSON.stringify(value), Number.POSITIVE_INFINITY)

/** Where a letter's original record was: topic[partition]@offset. */
export const originOf = (letter: DeadLetter): string =>
  `${letter.origin.topic}[${letter.origin.partition}]@${letter.origin.offset}`

/**
 * The origins seen (a letter's origin topic, partition and offset): `add` says whether this one is new.
 * Two workers reading the same topic (the aggregator and the alerter both read headlines.scored) each
 * dead-letter a record both fail on, and a worker that takes a batch again after a restart writes its
 * letter again: one original, several letters. Offsets are held as numbers, a few bytes each, for a
 * replay of a million letters.
 */
export function createOriginSet() {
  const seen = new Map<string, Map<number, Set<number | string>>>()
  return {
    add(origin: DeadLetter['origin']): boolean {
      const byPartition = seen.get(origin.topic) ?? new Map<number, Set<number | string>>()
      if (byPartition.size === 0) seen.set(origin.topic, byPartition)
      const offsets = byPartition.get(origin.partition) ?? new Set<number | string>()
      if (offsets.size === 0) byPartition.set(origin.partition, offsets)
      const n = Number(origin.offset)
      const offset = DECIMAL.test(origin.offset) && Number.isSafeInteger(n) ? n : origin.offset
      if (offsets.has(offset)) return false
      offsets.add(offset)
      return true
    },
  }
}

/** Where a letter is on the dlq: topic[partition]@offset. */
export const positionOf = (dlqTopic: string, entry: Pick<DeadLetterEntry, 'partition' | 'offset'>) =>
  `${dlqTopic}[${entry.partition}]@${entry.offset}`

/**
 * The marks `dlq replay` put on the letter's original record (REPLAY_HEADERS), as their text: it was sent
 * again from the letter at `of` (dlq topic[partition]@offset) at `at` (ISO 8601) and failed again. Undefined
 * for a letter of a record no replay sent.
 */
export function replayMarksOf(entry: DeadLetterEntry): { of?: string; at?: string } | undefined {
  const of = headerText(entry.headers, REPLAY_HEADERS.replayOf)
  const at = headerText(entry.headers, REPLAY_HEADERS.replayedAt)
  if (of === undefined && at === undefined) return undefined
  return { ...(of !== undefined ? { of } : {}), ...(at !== undefined ? { at } : {}) }
}

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/

/** "(replay of tradepulse.dlq.v1[0]@7 at 2026-03-03 09:00:00)": the marks' text is any producer's, escaped. */
function replayNote(marks: { of?: string; at?: string }): string {
  const at =
    marks.at === undefined
      ? undefined
      : ISO_UTC.test(marks.at)
        ? marks.at.replace('T', ' ').slice(0, 19)
        : printable(marks.at, 40)
  const of = marks.of === undefined ? undefined : printable(marks.of, 120)
  return of === undefined ? `(replayed at ${at})` : `(replay of ${of}${at === undefined ? '' : ` at ${at}`})`
}

/**
 * One readable line: when the letter was written (UTC), the origin (topic[partition]@offset), the reason,
 * the id (`-` when the payload names none), for a letter of a record `dlq replay` sent, which letter it
 * was replayed from and when, and the message, each cut to stay on one line.
 */
export function formatDeadLetter(entry: DeadLetterEntry): string {
  const { letter } = entry
  const marks = replayMarksOf(entry)
  return [
    letter.failedAt.replace('T', ' ').slice(0, 19),
    printable(originOf(letter), 120),
    printable(letter.reason, 40).padEnd(16),
    entry.id === undefined ? '-' : printable(entry.id, 64),
    ...(marks ? [replayNote(marks)] : []),
    printable(letter.message, 200),
  ].join('  ')
}

/**
 * The --ndjson line: the letter whole, where it is on the dlq, its origin timestamp, its id, and the replay
 * marks of its original record (`replay: { of, at }`, each as the header holds it).
 */
export function deadLetterJson(entry: DeadLetterEntry): string {
  const marks = replayMarksOf(entry)
  return printableJson({
    dlq: { partition: entry.partition, offset: entry.offset, timestampMs: entry.timestampMs },
    ...(entry.id !== undefined ? { id: entry.id } : {}),
    ...(entry.originTimestamp.ms !== undefined ? { originTimestampMs: entry.originTimestamp.ms } : {}),
    ...(marks ? { replay: marks } : {}),
    letter: entry.letter,
  })
}

/** The record a replay sends: the original's value, key, headers and timestamp, to its origin topic. */
export type ReplayRecord = {
  topic: string
  key: Buffer | null
  value: Buffer
  headers: RecordHeaders
  /** The original's Kafka timestamp, ms; absent when it had none (Kafka stamps the time it is written). */
  timestamp?: number
}

const bytesOf = (text: string, encoding: 'utf8' | 'base64') => Buffer.from(text, encoding)

/**
 * Whether the letter's original record was itself sent by a replay from `dlqTopic` (its tp-dlq-replay-of,
 * which the worker that dead-lettered it again kept among the original headers): the letter it was replayed
 * from is on the dlq too, and sending both sends the record twice, and again on every later replay.
 */
export function isLetterOfReplay(entry: DeadLetterEntry, dlqTopic: string): boolean {
  return headerText(entry.headers, REPLAY_HEADERS.replayOf)?.startsWith(`${dlqTopic}[`) ?? false
}

/** The dlq's own header names: a worker leaves an original header of such a name out of the letter. */
const OURS_NAMED = [...OURS].sort().join(', ')

/**
 * Why some of a letter's original headers are not in it (tp-dlq-headers-omitted counts their values, for
 * whichever reason): the letter was shrunk to fit the dlq (its message says so), a header was named as
 * one of the dlq's own (seen in the letter's text copy of the headers: that copy keeps the original's
 * value, the record's own header is ours), or a header did not fit in what a letter keeps of them. A
 * header left out for its name that the text copy does not show (not text, repeated, past its 32) cannot be
 * told from one that did not fit; the count of those is said with both reasons.
 */
export function omittedHeadersWhy(entry: DeadLetterEntry): string {
  const n = entry.headersOmitted
  const values = (k: number) => `${k} original header value${k === 1 ? '' : 's'}`
  if (/\[dead letter shrunk to fit the dlq: [^\]]*original headers left out/.test(entry.letter.message))
    return `all its original headers (${n} value${n === 1 ? '' : 's'}) were left out for the letter to fit in the dlq`
  const named = Object.keys(entry.letter.headers ?? {}).filter((k) => OURS.has(k))
  const fit = `${DLQ_MAX_ORIGINAL_HEADER_BYTES / 1024} KB and ${DLQ_MAX_ORIGINAL_HEADER_VALUES} values a letter keeps of them`
  const rest = n - named.length
  return [
    ...(named.length > 0
      ? [
          `its original header${named.length === 1 ? '' : 's'} ${named.map((k) => printable(k, 64)).join(', ')} ${named.length === 1 ? 'was' : 'were'} left out of the letter, being named as the dlq's own`,
        ]
      : []),
    ...(rest > 0
      ? [
          `${values(rest)} ${rest === 1 ? 'was' : 'were'} left out of the letter: past the ${fit}, or named as one of the dlq's own (${OURS_NAMED})`,
        ]
      : []),
  ].join('; ')
}

/** How a replay sends a letter's record: when and from which dlq (the marks it sets), and what it allows. */
export type ReplayOptions = {
  dlqTopic: string
  /** When the replay runs, ms: tp-dlq-replayed-at. */
  atMs: number
  /** Send a letter whose original headers were not all kept without them (--allow-missing-headers). */
  allowMissingHeaders?: boolean
}

/**
 * The record to send for a letter, or why it cannot be sent as the original was: no value (a tombstone,
 * an empty record), or only a cut copy of the value or the key (the original is at its origin offset
 * while within the topic's retention), or a tp-origin-timestamp that is no time, or original headers the
 * letter does not hold (unless `allowMissingHeaders`). The record is marked as a replay
 * (REPLAY_HEADERS: when, and which letter), its marks first so that a letter of it keeps them whatever else
 * does not fit; marks of an earlier replay are replaced.
 */
export function replayRecord(
  entry: DeadLetterEntry,
  opts: ReplayOptions,
): { ok: true; record: ReplayRecord } | { ok: false; why: string } {
  const { letter } = entry
  const at = `the original is at ${originOf(letter)} while within that topic's retention`
  if (letter.payloadTruncated)
    return {
      ok: false,
      why: `the letter holds only the start of the original value (payloadTruncated); ${at}`,
    }
  if (letter.payload === '')
    return {
      ok: false,
      why: `no original value (the record had ${letter.reason === 'tombstone' ? 'a null value' : 'an empty or null value'})`,
    }
  if (letter.keyTruncated)
    return { ok: false, why: `the letter holds only the start of the original key (keyTruncated); ${at}` }
  if (entry.originTimestamp.bad !== undefined)
    return {
      ok: false,
      why: `its ${DLQ_HEADERS.timestamp} header ${JSON.stringify(entry.originTimestamp.bad)} is not ms since the epoch`,
    }
  if (entry.headersOmitted > 0 && !opts.allowMissingHeaders)
    return {
      ok: false,
      why: `${omittedHeadersWhy(entry)} (${DLQ_HEADERS.headersOmitted}); ${at}; --allow-missing-headers sends it without them`,
    }
  // The letter's key copy is the original byte for byte; a letter written before the copy existed has
  // only its own key, the original as text.
  const key = letter.key !== undefined ? bytesOf(letter.key, letter.keyEncoding ?? 'utf8') : entry.recordKey
  const headers: RecordHeaders = {
    [REPLAY_HEADERS.replayedAt]: new Date(opts.atMs).toISOString(),
    [REPLAY_HEADERS.replayOf]: positionOf(opts.dlqTopic, entry),
  }
  for (const [k, v] of Object.entries(entry.headers))
    if (k !== REPLAY_HEADERS.replayedAt && k !== REPLAY_HEADERS.replayOf) setOwn(headers, k, v)
  return {
    ok: true,
    record: {
      topic: letter.origin.topic,
      key,
      value: bytesOf(letter.payload, letter.payloadEncoding),
      headers,
      ...(entry.originTimestamp.ms !== undefined ? { timestamp: entry.originTimestamp.ms } : {}),
    },
  }
}

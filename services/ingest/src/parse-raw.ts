import { hash } from 'node:crypto'
import {
  Headline,
  LIMITS,
  normalizeText,
  type RawHeadline,
  RawHeadlineReader,
  showsNothing,
  TEXT_RULES,
  truncate,
} from '@tradepulse/contracts'
import {
  emptyValueRejection,
  formatIssues,
  parseJsonRecord,
  publishedAtMs,
  skipBom,
} from '@tradepulse/platform'
import { fastAccepts, fastRead } from './fast-check.ts'

export type IngestLimits = {
  maxRecordBytes: number
  maxHeadlineChars: number
  maxBodyChars: number
  /**
   * A publishedAt later than the record's entry by more than this is taken as the entry time: a feed's
   * clock or time zone gone wrong must not put one headline hours ahead of every other in event time
   * (the indicators would count everything before it as late).
   */
  maxFutureMs: number
}

export type ParseResult =
  | {
      ok: true
      headline: Headline /** The publishedAt given, when it was too far ahead and replaced. */
      futureMs?: number
      /** The publishedAt given, when it was before MIN_ENTRY_MS (a producer's zero time) and replaced. */
      pastMs?: number
      /** The record's timestamp, when it was not a plausible entry time and the wall clock was taken. */
      implausibleTimestamp?: number
      /** Why the url given was dropped, the headline published without it (urlProblem). */
      urlDropped?: UrlProblem
      /** The source's length once normalised, when it was past LIMITS.maxSourceChars and cut to it. */
      sourceCutFrom?: number
      /** The fields whose lone surrogates were replaced by U+FFFD (wellFormedText). */
      surrogatesReplaced?: SurrogateField[]
    }
  | { ok: false; reason: IngestRejection; message: string }

/** Why a raw record went to the dlq; stable codes that dashboards and consumers of the dlq rely on. */
export type IngestRejection =
  | 'tombstone'
  | 'empty_record'
  | 'too_large'
  | 'invalid_utf8'
  | 'invalid_json'
  | 'schema_invalid'
  | 'invalid_text'
  | 'empty_headline'

/**
 * ms → ISO 8601, remembering the last one: the records of a producer's batch mostly share their timestamp,
 * and formatting a date is a fair share of a record's parse.
 */
let lastIso = { ms: Number.NaN, iso: '' }
function isoOf(ms: number): string {
  if (ms !== lastIso.ms) lastIso = { ms, iso: new Date(ms).toISOString() }
  return lastIso.iso
}

/**
 * `given`, a time zod's datetime took (a date that exists, any precision, Z or an offset), as
 * Date#toISOString writes it, `ms` being its Date.parse. One already so written (24 characters, to the
 * millisecond, in Z) is itself: toISOString(Date.parse(t)) is t for every such t (a four-digit year, a
 * date that exists, every field in range: one such text for each ms of the years 0001-9999 the contract
 * takes), and writing it again was a fifth of the parse of a record that gives one.
 */
function isoTime(given: string, ms: number): string {
  return given.length === 24 && given.charCodeAt(23) === 0x5a && given.charCodeAt(19) === 0x2e
    ? given
    : isoOf(ms)
}

/**
 * The rules of the headlines topic's text (contracts' TEXT_RULES), which the Headline contract holds every
 * writer to, checked here by each rule's test: the same verdict as its pattern, faster. A headline must
 * hold a letter or digit that shows (readable): invisible characters that survive normalisation (the
 * Hangul fillers, which Unicode counts as letters, the braille blank, variation selectors, tag
 * characters, U+034F, U+FFF9, a lone combining mark) would otherwise pass as a headline that says nothing.
 */
const { wellFormed, noControl, showsSomething, readable } = TEXT_RULES

/** What a producer's id is held to as given, in this order: the first it breaks is the one told. */
const ID_RULES = [showsSomething, noControl, wellFormed]

/** Why a producer's id cannot be a headline id as it is, or undefined when it can. */
function idProblem(id: string): string | undefined {
  for (const rule of ID_RULES) if (!rule.test(id)) return rule.message
  return undefined
}

/**
 * Why a raw url is not passed on: `too_long`, past LIMITS.maxUrlChars (tracking links of several thousand
 * characters exist); `invalid`, not an absolute http or https URL, or one holding a control character
 * (which the URL parser would quietly take out or escape) or a lone surrogate (which no UTF-8 consumer
 * can encode). The message says which, for the log.
 */
export type UrlProblem = { reason: 'too_long' | 'invalid'; message: string }

const HTTP_SCHEME = /^https?:\/\//i

/**
 * Why ingest drops the url a producer gave, or undefined when it passes it on as given. A url is not what
 * a headline says: one ingest cannot pass on is dropped, the headline published without it and the drop
 * counted, where the whole headline was dead-lettered (a tracking url past the limit) or a link no desk
 * could open, or that a page would run as script (javascript:), was passed on.
 */
export function urlProblem(url: string): UrlProblem | undefined {
  if (url.length > LIMITS.maxUrlChars)
    return {
      reason: 'too_long',
      message: `${url.length} characters; the limit is ${LIMITS.maxUrlChars}`,
    }
  if (!wellFormed.test(url)) return { reason: 'invalid', message: wellFormed.message }
  if (!noControl.test(url)) return { reason: 'invalid', message: noControl.message }
  if (!HTTP_SCHEME.test(url) || !URL.canParse(url))
    return { reason: 'invalid', message: 'is not an absolute http or https URL' }
  return undefined
}

/** The fields ingest replaces a lone surrogate of, rather than dead-letter the headline. */
export type SurrogateField = 'source' | 'body'

/**
 * `text` with each lone surrogate replaced by U+FFFD, and whether there was one. A JSON escape can carry
 * one ("\ud800": a producer's string cut inside an emoji), which no UTF-8 consumer downstream can encode.
 * In a source or body it cost the whole headline (invalid_text); replaced, the text keeps its length in
 * UTF-16 units, so the scorer's spans are as they would be.
 */
function wellFormedText(text: string): { text: string; replaced: boolean } {
  return wellFormed.test(text) ? { text, replaced: false } : { text: text.toWellFormed(), replaced: true }
}

function reject(reason: IngestRejection, message: string): ParseResult {
  return { ok: false, reason, message }
}

const readRaw = fastRead(RawHeadlineReader)
const headlineAccepts = fastAccepts(Headline)

/**
 * A raw record's bytes → the RawHeadline they hold, or why not: platform's parseJsonRecord with
 * RawHeadlineReader and the reader's fast path (fastRead); zod runs only on a record the fast path does
 * not take, to accept it or name what is wrong.
 */
function parseRawJson(
  value: Buffer,
): { ok: true; value: RawHeadline } | { ok: false; reason: IngestRejection; message: string } {
  return parseJsonRecord(RawHeadlineReader, value, readRaw) as
    | { ok: true; value: RawHeadline }
    | { ok: false; reason: IngestRejection; message: string }
}

/** A stable id for a headline without a source id: the same source and text always give the same id. */
export function contentId(source: string, headline: string): string {
  // One call on the joined text: the same bytes as three updates (each string's UTF-8, and U+0000 pairs
  // with nothing), at a fraction of a Hash object's cost.
  return `h${hash('sha256', `${source}\u0000${headline.toLowerCase()}`).slice(0, 32)}`
}

/**
 * The earliest record timestamp taken as an entry time: 2000-01-01T00:00:00Z. Kafka has no such records;
 * an earlier one is a producer's clock unset or a time in seconds (1.7e9 ms is January 1970).
 */
export const MIN_ENTRY_MS = Date.UTC(2000, 0, 1)

/**
 * When the headline entered the pipeline: the headlines.raw record's timestamp, which the producer sets
 * (CreateTime), when it is plausible; else the wall clock. Implausible: not a finite number, before
 * MIN_ENTRY_MS, or ahead of the wall clock by more than `maxFutureMs` (a producer clock a year ahead, or
 * a time in microseconds or nanoseconds, which would also be past what a Date can hold).
 */
export function entryTime(
  recordTimestampMs: number,
  nowMs: number,
  maxFutureMs: number,
): { ms: number; plausible: boolean } {
  const plausible =
    Number.isFinite(recordTimestampMs) &&
    recordTimestampMs >= MIN_ENTRY_MS &&
    recordTimestampMs - nowMs <= maxFutureMs
  return plausible ? { ms: recordTimestampMs, plausible } : { ms: nowMs, plausible }
}

/**
 * A raw record's event time as parseRawRecord will stamp its headline, for the runner's event-time
 * alignment while catching up a backlog: its publishedAt when given and taken (read from the top-level
 * object without parsing the record), else its entry time, which is the wall clock when the record's
 * timestamp is implausible (a headline stamped now, held like one). Only an estimate: a record the parse
 * dead-letters still has one, and a publishedAt behind a byte-order mark is not read (the entry time is
 * taken); it decides only what waits, never what the headline carries.
 */
export function rawEventMs(
  maxFutureMs: number,
  now: () => number = Date.now,
): (record: { value: Buffer | null; timestamp: number }) => number {
  return (r) => {
    const entry = entryTime(r.timestamp, now(), maxFutureMs).ms
    const given = publishedAtMs(r.value)
    return given !== undefined && given - entry <= maxFutureMs && given >= MIN_ENTRY_MS ? given : entry
  }
}

/**
 * Raw record bytes → a normalised Headline, or the reason it cannot be one. Pure: `recordTimestampMs` is
 * the headlines.raw record's timestamp, which is when the headline entered the pipeline, and `nowMs` the
 * wall clock, taken instead when the record's timestamp is implausible (entryTime).
 */
export function parseRawRecord(
  value: Buffer | null,
  recordTimestampMs: number,
  limits: IngestLimits,
  defaultSource: string,
  nowMs: number = Date.now(),
): ParseResult {
  if (value === null || value.length === 0) {
    const { reason, message } = emptyValueRejection(value)
    return reject(reason, message)
  }
  if (value.length > limits.maxRecordBytes) {
    return reject('too_large', `record is ${value.length} bytes; the limit is ${limits.maxRecordBytes}`)
  }
  // A byte-order mark before the JSON (some Windows tools write one) is skipped, as a UTF-8 decoder would:
  // the rule of every line the command line reads (skipBom), so a line it takes is a record ingest takes.
  const json = skipBom(value)
  // Said as it is: the letter's payload holds the mark, so 'empty (0 bytes)' would not be what it shows.
  if (json.length === 0)
    return reject('empty_record', `record value is only a UTF-8 byte-order mark (${value.length} bytes)`)
  const parsed = parseRawJson(json)
  if (!parsed.ok) return parsed
  const raw = parsed.value
  // The id is kept as given (normalising it would merge distinct ids, and the second headline would be
  // dropped as a duplicate), so it is checked as given: an id a consumer cannot tell from none, or that
  // no UTF-8 consumer downstream can encode, is refused here, before any claim is made for it.
  // Null is absent in every optional field of the raw contract (RawHeadline): `== null` below, `??` and
  // truthiness take it so; nothing of it is passed on.
  if (raw.id != null) {
    const problem = idProblem(raw.id)
    if (problem) return reject('schema_invalid', `id: ${problem}`)
  }
  // JSON escapes can carry lone surrogates ("\ud800"), which no UTF-8 consumer downstream can encode. The
  // headline is what the headline says: one holding one is refused, as an id is. A source or body holding
  // one has it replaced (wellFormedText), and a url holding one is dropped (urlProblem), not the headline.
  // (The id was checked above; a publishedAt the contract took is ASCII.)
  if (!wellFormed.test(raw.headline)) return reject('invalid_text', 'headline contains a lone surrogate')
  const head = truncate(normalizeText(raw.headline), limits.maxHeadlineChars)
  // After the cut: what goes on is what must be readable (1,000 blanks, then words, is not).
  if (!readable.test(head.text))
    return reject('empty_headline', 'headline has no letter or digit after normalisation')
  const rawBody = raw.body == null ? undefined : wellFormedText(raw.body)
  const rawSource = raw.source == null ? undefined : wellFormedText(raw.source)
  const bodyNorm = rawBody === undefined ? '' : normalizeText(rawBody.text, true)
  const body = truncate(bodyNorm, limits.maxBodyChars)
  // A source that shows nothing once normalised (white space, a Hangul filler, the braille blank, zero-width
  // or tag characters) is none: the default, as INGEST_DEFAULT_SOURCE itself is held to (config.ts), rather
  // than a source no reader can see, and another content id for the same headline. A source past the
  // headlines topic's limit, as given (the raw contract takes any length within the record's) or once NFKC
  // has expanded it (U+FDFA is 18 characters, a ligature 2 or 3), is cut to that limit, as the headline and
  // body are, rather than the whole headline dead-lettered; the cut is counted.
  const sourceNorm = rawSource === undefined ? '' : normalizeText(rawSource.text)
  const given = truncate(sourceNorm, LIMITS.maxSourceChars).text
  const source = showsNothing(given) ? defaultSource : given
  const sourceCut = sourceNorm.length > LIMITS.maxSourceChars
  const entry = entryTime(recordTimestampMs, nowMs, limits.maxFutureMs)
  const ingestedAt = isoOf(entry.ms)
  const givenMs = raw.publishedAt ? Date.parse(raw.publishedAt) : entry.ms
  const ahead = givenMs - entry.ms > limits.maxFutureMs
  // Before 2000: a producer's zero time (Go's time.Time{}, 0001-01-01; .NET's DateTime.MinValue; the Unix
  // epoch of a timestamp left 0), not when the news came out. Taken as given, the headline sat centuries
  // behind every other in event time and every indicator dropped it as late; it is taken as unknown.
  const early = givenMs < MIN_ENTRY_MS
  // Built field by field in the order the spread literal had (id, source, headline, body, url, publishedAt,
  // ingestedAt, truncated), then the flags (urlDropped, sourceTruncated, surrogatesReplaced), the schema's
  // order: the order JSON.stringify writes them in.
  const headline = {
    id: raw.id ?? contentId(source, head.text),
    source,
    headline: head.text,
  } as Headline
  if (bodyNorm) headline.body = body.text
  const urlDropped = raw.url ? urlProblem(raw.url) : undefined
  if (raw.url && !urlDropped) headline.url = raw.url
  headline.publishedAt = raw.publishedAt && !ahead && !early ? isoTime(raw.publishedAt, givenMs) : ingestedAt
  headline.ingestedAt = ingestedAt
  headline.truncated = head.truncated || body.truncated
  // Each flag only when set (absent is false): a headline ingest changed nothing of is written as before.
  const surrogatesReplaced: SurrogateField[] = []
  if (rawSource?.replaced) surrogatesReplaced.push('source')
  if (rawBody?.replaced) surrogatesReplaced.push('body')
  if (urlDropped) headline.urlDropped = true
  if (sourceCut) headline.sourceTruncated = true
  if (surrogatesReplaced.length > 0) headline.surrogatesReplaced = true
  // Whatever else takes a headline past the Headline schema is rejected here, not passed on for the scorer
  // to reject after its id has been claimed.
  if (!headlineAccepts(headline)) {
    const checked = Headline.safeParse(headline)
    if (!checked.success)
      return reject('schema_invalid', `after normalisation: ${formatIssues(checked.error)}`)
  }
  if (!ahead && !early && entry.plausible && !urlDropped && !sourceCut && surrogatesReplaced.length === 0)
    return { ok: true, headline }
  return {
    ok: true,
    headline,
    ...(ahead ? { futureMs: givenMs } : {}),
    ...(early ? { pastMs: givenMs } : {}),
    ...(entry.plausible ? {} : { implausibleTimestamp: recordTimestampMs }),
    ...(urlDropped ? { urlDropped } : {}),
    ...(sourceCut ? { sourceCutFrom: sourceNorm.length } : {}),
    ...(surrogatesReplaced.length > 0 ? { surrogatesReplaced } : {}),
  }
}

export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  maxRecordBytes: LIMITS.maxRecordBytes,
  maxHeadlineChars: LIMITS.maxHeadlineChars,
  maxBodyChars: LIMITS.maxBodyChars,
  maxFutureMs: 5 * 60_000,
}

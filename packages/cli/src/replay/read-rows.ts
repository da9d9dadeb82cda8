import { isUtf8 } from 'node:buffer'
import { closeSync, constants, createReadStream, openSync } from 'node:fs'
import { Socket } from 'node:net'
import { Readable } from 'node:stream'
import { duplicateKeyPath } from '@tradepulse/contracts'
import { DEFAULT_INGEST_LIMITS, type IngestLimits, MIN_ENTRY_MS, parseRawRecord } from '@tradepulse/ingest'
import { skipBom } from '@tradepulse/platform'
import { type CsvError, parse } from 'csv-parse'
import { type ByteLine, type LineEnd, MAX_LINE_BYTES, readByteLines, readLines } from '../read-lines.ts'
import { readStreamTime } from './stream-times.ts'

/**
 * A file replay refuses whole, its name first (a CSV without a headline column, or whose header line
 * cannot be read): the command reports it in one line as a usage error, not as a fault of its own.
 */
export class ReplayFileError extends Error {
  override name = 'ReplayFileError'
}

/** Names that say what a file holds; any other name (a pipe's, /dev/fd/63) is told by its content. */
const NDJSON_NAME = /\.(nd)?jsonl?$/i
const CSV_NAME = /\.csv$/i
/** How far into a file of no telling name its first character is looked for (white space before it). */
const SNIFF_MAX_BYTES = 64 * 1024

/**
 * The first byte of `head` that is not white space (space, tab, CR, LF) or part of a UTF-8 byte-order
 * mark, or undefined when there is none.
 */
function firstTextByte(head: Buffer): number | undefined {
  for (let i = 0; i < head.length; i++) {
    const b = head[i]!
    if (b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a) continue
    if (b === 0xef && head[i + 1] === 0xbb && head[i + 2] === 0xbf) {
      i += 2
      continue
    }
    return b
  }
  return undefined
}

/** What a file's name says it holds, or undefined when it says nothing (a pipe's /dev/fd/63). */
export function formatByName(file: string): ReplayFormat | undefined {
  return NDJSON_NAME.test(file) ? 'ndjson' : CSV_NAME.test(file) ? 'csv' : undefined
}

export type ReplayFormat = 'ndjson' | 'csv'

/**
 * A file opened for replay (openReplayFile): what it holds, and its bytes, from the first. `close`, for
 * a pipe or a socket (read as a stream): ends the reading at once, whatever is under way. `live`, a pipe
 * or a socket too: its writer may send a row and pause, for any time, so every row it has sent is given
 * as soon as it is read (readReplayRows), none held back for what comes after it.
 */
export type ReplayInput = {
  format: ReplayFormat
  bytes: AsyncIterable<Buffer>
  close?: () => void
  live?: boolean
}

/**
 * A pipe or a socket read as a stream of the event loop (a net.Socket on its descriptor), never by
 * Node's thread pool: there, the open of a named pipe with no writer yet, and a read of a quiet pipe,
 * wait in a thread until a writer or a line comes, and an exiting process waits for that thread too. A
 * replay refused, or unable to reach Kafka, stayed until then: with a named pipe's writer still to come,
 * the unreachable broker was learnt of only once it came. A named pipe is opened by its name without
 * waiting for a writer (O_NONBLOCK: only its reads wait, in the event loop, and end at the end of what a
 * writer sends, not before one comes); a socket cannot be opened by a name (/dev/stdin of a process its
 * parent gave a socket, as Node's `stdio: 'pipe'` does) and is read at its descriptor, `fd`. What comes
 * before it is asked for is held (up to the stream's buffer); `close` ends the reading, the descriptor
 * closed.
 */
function openStream(file: string, fd?: number): { bytes: AsyncGenerator<Buffer>; close: () => void } {
  const descriptor = fd ?? openSync(file, constants.O_RDONLY | constants.O_NONBLOCK)
  let socket: Socket
  try {
    socket = new Socket({ fd: descriptor, readable: true, writable: false })
  } catch (err) {
    if (fd === undefined) closeSync(descriptor)
    throw err
  }
  // An error before the reader asks (it reads from the start) is kept by the stream and thrown to the
  // reader then, not raised as the process's own.
  socket.on('error', () => {})
  async function* bytes(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of socket) yield chunk as Buffer
    } finally {
      socket.destroy()
    }
  }
  return { bytes: bytes(), close: () => socket.destroy() }
}

/**
 * The file opened once, and whether it is NDJSON or CSV: by its name when that says (.ndjson, .json,
 * .jsonl; .csv), else by its first character, "{" for NDJSON (a CSV's header line cannot start with one).
 * A pipe has no telling name (`replay <(zcat feed.ndjson.gz)` gives /dev/fd/63) and can be read once
 * only, so what is read to tell (up to its first character that is not white space, at most 64 KiB) is
 * given again first: NDJSON on a pipe was parsed as CSV and refused. A pipe (`pipe`; a socket, given as
 * its descriptor `fd`, likewise) is read as a stream (openStream): it is opened before Kafka is reached,
 * and read while Kafka is, to check it; neither waits on the other.
 */
export async function openReplayFile(
  file: string,
  { pipe = false, fd }: { pipe?: boolean; fd?: number } = {},
): Promise<ReplayInput> {
  const opened = pipe || fd !== undefined ? openStream(file, fd) : undefined
  const stream: AsyncIterable<Buffer> = opened?.bytes ?? createReadStream(file)
  const close = opened ? { close: opened.close, live: true } : {}
  const named = formatByName(file)
  if (named) return { format: named, bytes: stream, ...close }
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const head: Buffer[] = []
  let first: number | undefined
  let done = false
  try {
    for (let seen = 0; first === undefined && seen < SNIFF_MAX_BYTES; ) {
      const next = await it.next()
      if (next.done) {
        done = true
        break
      }
      head.push(next.value)
      seen += next.value.length
      first = firstTextByte(Buffer.concat(head))
    }
  } catch (err) {
    opened?.close()
    throw err
  }
  return { format: first === 0x7b ? 'ndjson' : 'csv', bytes: readAgain(head, it, done), ...close }
}

/**
 * An input given back whole after some of it was read: the chunks read, then the rest of the iterator as
 * it comes (none when it had ended); the iterator is closed when the reader stops.
 */
async function* readAgain(
  head: readonly Buffer[],
  it: AsyncIterator<Buffer>,
  done: boolean,
): AsyncGenerator<Buffer> {
  try {
    yield* head
    while (!done) {
      const next = await it.next()
      if (next.done) return
      yield next.value
    }
  } finally {
    await it.return?.()
  }
}

/** Closes an opened file that will not be read (a generator never started runs no finally). */
export async function closeReplayInput(input: ReplayInput): Promise<void> {
  if (input.close) input.close()
  else for await (const _ of input.bytes) break
}

/**
 * Checks a CSV's header line as readReplayRows does (readable, with a headline column: ReplayFileError
 * otherwise), reading the input only up to the end of that line (after any blank lines before it, a
 * quoted field's line breaks inside it), and gives the input back whole: what was read, then the rest,
 * as it comes. For a pipe, which can be read once only and may be long or still coming: its header is
 * refused before anything is sent, as a regular file's is (read while Kafka is reached, where a file's is
 * read before), and nothing past it is waited for or held.
 *
 * A first line of the header longer than MAX_LINE_BYTES is refused with its exact size, read (and dropped)
 * to its end. A header whose quoted field still runs on after MAX_LINE_BYTES is not checked here (the
 * input is given back as it is, and the replay checks it as it reads).
 */
export async function checkCsvHeader(file: string, input: ReplayInput): Promise<ReplayInput> {
  const it = input.bytes[Symbol.asyncIterator]()
  const head: Buffer[] = []
  const scan = new HeaderScan()
  let done = false
  while (scan.state === 'reading') {
    const next = await it.next()
    if (next.done) {
      done = true
      break
    }
    head.push(next.value)
    scan.feed(next.value)
  }
  const rest = () => readAgain(head, it, done)
  const close = {
    ...(input.close ? { close: input.close } : {}),
    ...(input.live ? { live: true } : {}),
  }
  if (scan.state === 'unsure') return { format: 'csv', bytes: rest(), ...close }
  // The header line too long: readReplayRows refuses it once it has read it whole (its size named).
  const checked = readReplayRows(file, {
    input: { format: 'csv', bytes: scan.state === 'too long' ? rest() : replayOf(head) },
  })
  try {
    await checked.next()
  } finally {
    await checked.return(undefined)
  }
  // Read to its end, a header line past the limit is refused: never here, with the input used up.
  if (scan.state === 'too long')
    throw new ReplayFileError(`${file}: the header line cannot be read: line is over ${MAX_LINE_BYTES} bytes`)
  return { format: 'csv', bytes: rest(), ...close }
}

async function* replayOf(chunks: readonly Buffer[]): AsyncGenerator<Buffer> {
  yield* chunks
}

/**
 * Where a CSV's header line ends, fed its bytes as they come: after the blank lines before it (nothing,
 * or a byte-order mark only, before a CR or LF: CsvLines skips them), at the first CR or LF outside a
 * quoted field. 'done' there; 'too long' when its first physical line is past MAX_LINE_BYTES; 'unsure'
 * when a quoted field runs on past MAX_LINE_BYTES in all.
 */
class HeaderScan {
  state: 'reading' | 'done' | 'too long' | 'unsure' = 'reading'
  /** Bytes of a byte-order mark matched at the start of a line before the header (0 to 3). */
  private bom = 0
  private inHeader = false
  private quoted = false
  /** At the start of a field (of the header, or after a comma outside quotes). */
  private fieldStart = true
  /** The byte before closed a quoted field: a quote now is an escaped one, and the field goes on. */
  private closed = false
  private firstLine = true
  private lineBytes = 0
  private headerBytes = 0

  feed(chunk: Buffer): void {
    for (let i = 0; i < chunk.length && this.state === 'reading'; i++) {
      const b = chunk[i]!
      if (!this.inHeader) {
        if ((b === 0x0d || b === 0x0a) && (this.bom === 0 || this.bom === 3)) {
          this.bom = 0
          continue
        }
        if (this.bom < 3 && b === BOM[this.bom]) {
          this.bom++
          continue
        }
        this.inHeader = true
        // The bytes of a mark matched in part are the header's own.
        this.lineBytes = this.bom === 3 ? 0 : this.bom
        this.headerBytes = this.lineBytes
      }
      // Quoting as csv-parse reads it: a quote opens a field only at its start, and inside one a quote
      // closes it unless another follows ("" is a quote). One elsewhere is an error csv-parse refuses the
      // header for, at the end of the line.
      const closed = this.closed
      this.closed = false
      if (b === 0x0d || b === 0x0a) {
        if (!this.quoted) {
          this.state = 'done'
          return
        }
        this.firstLine = false
        this.lineBytes = 0
        continue
      }
      if (b === 0x22) {
        if (this.quoted) {
          this.quoted = false
          this.closed = true
        } else if (this.fieldStart || closed) this.quoted = true
      }
      this.fieldStart = b === 0x2c && !this.quoted
      this.lineBytes++
      this.headerBytes++
      if (this.firstLine && this.lineBytes > MAX_LINE_BYTES) this.state = 'too long'
      else if (this.headerBytes > MAX_LINE_BYTES) this.state = 'unsure'
    }
  }
}

const BOM = [0xef, 0xbb, 0xbf]

/** --source for an NDJSON file: it stamps CSV rows only, and was dropped unseen, every row sent without it. */
export const ndjsonSourceRefusal = (file: string) =>
  new ReplayFileError(
    `${file}: --source stamps CSV rows; this file is NDJSON: give each line its own "source" instead`,
  )

/** One replayable row: the raw headline object to produce, or why the row was skipped. */
export type ReplayRow = { line: number; raw: Record<string, unknown> } | { line: number; error: string }

const TIME_COLUMNS = ['publishedAt', 'time', 'date', 'datetime', 'timestamp']

/**
 * Why ingest would send the record replay produces for `raw` to the dlq ("<message> (<reason>)", its own
 * message and reason code), or undefined when ingest takes it: ingest's own parse (parseRawRecord, pure)
 * on the very bytes replayFile produces, JSON.stringify(raw). Checked only for JSON syntax and shape, an
 * NDJSON line of an empty headline, a publishedAt of 30 February or "yesterday", or no headline at all
 * was sent, counted as good (exit 0), and dead-lettered by ingest as schema_invalid; a CSV headline of
 * "---" likewise (empty_headline). What ingest takes and changes (a long headline cut and flagged
 * `truncated`, a url dropped, a publishedAt too far ahead replaced) is taken here too, and sent as read.
 */
function ingestRefusal(raw: Record<string, unknown>, limits: IngestLimits): string | undefined {
  // The record's timestamp (kafkajs stamps it when sent) and the default source decide only what ingest
  // writes, never whether it takes the record.
  const r = parseRawRecord(Buffer.from(JSON.stringify(raw)), Date.now(), limits, 'replay')
  return r.ok ? undefined : `${r.message} (${r.reason})`
}

/**
 * Why a row's published time is not sent, when it is before MIN_ENTRY_MS (2000): ingest takes such a time
 * for a producer's zero time (Go's 0001-01-01, a timestamp left 0) and gives the headline its entry time.
 * Sent, such a row went out first (replay sends oldest first) and reached the workers stamped with the
 * time it was sent, years ahead of the rows after it, which the aggregator then counted late. A year-1
 * time was reported as "unreadable".
 */
function earlyTime(what: string, ms: number): string | undefined {
  if (ms >= MIN_ENTRY_MS) return undefined
  return `${what}, before 2000: ingest takes such a time for a producer's zero time (0001-01-01, 1970-01-01) and gives the headline the time it was sent instead, ahead of every row sent after it`
}

/**
 * Reads NDJSON (one raw headline object per line) or CSV with a headline column and a date or time
 * column (the shapes of ../shared/data/streams; a `description` column becomes the body). Rows that cannot
 * be read at all are reported with their line number: a line that is not valid UTF-8 (its text would
 * reach headlines.raw with U+FFFD in place of the bad bytes, where ingest refuses the bytes themselves), a
 * line longer than MAX_LINE_BYTES (read and dropped as it comes, memory bounded) and an NDJSON line naming
 * a key twice (JSON.parse keeps one of the two silently, where ingest refuses the line) among them, each
 * named by its own line; so is every row whose record ingest would send to the dlq (ingestRefusal, with
 * `limits`, ingest's: DEFAULT_INGEST_LIMITS unless given). The header line of a CSV must be readable: the
 * file is refused otherwise (ReplayFileError). Which of the two a file holds is told by its name, else by
 * its first character (openReplayFile): a pipe's name tells nothing.
 */
export async function* readReplayRows(
  file: string,
  opts: {
    source?: string
    /** The file already opened (a pipe, told from its first bytes while Kafka is reached); else opened here. */
    input?: ReplayInput
    /** Ingest's limits (INGEST_MAX_RECORD_BYTES among them), which each row's record is checked against. */
    limits?: IngestLimits
  } = {},
): AsyncGenerator<ReplayRow> {
  const limits = opts.limits ?? DEFAULT_INGEST_LIMITS
  const input = opts.input ?? (await openReplayFile(file))
  const { format, bytes } = input
  if (format === 'ndjson' && opts.source !== undefined) {
    await closeReplayInput(input)
    throw ndjsonSourceRefusal(file)
  }
  if (format === 'ndjson') {
    for await (const l of readLines(bytes)) {
      const line = l.line
      if (!('text' in l)) {
        yield { line, error: l.error }
        continue
      }
      const text = l.text
      if (text.trim() === '') continue
      let raw: unknown
      try {
        raw = JSON.parse(text)
      } catch (err) {
        yield { line, error: `invalid JSON: ${(err as Error).message}` }
        continue
      }
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
        yield { line, error: 'not a JSON object' }
        continue
      }
      // JSON.parse keeps the last of a key given twice, and the record is written anew from what it read:
      // {"headline":"US raises tariffs","headline":"China cuts tariffs"} went out as the second alone, a
      // line ingest refuses (schema_invalid, at any depth) sent as one it takes. Which was meant, no one
      // can tell, and the id and time replay keys and orders the row by may be either: skipped, named.
      const dup = duplicateKeyPath(text)
      if (dup) {
        yield {
          line,
          error: `${dup.join('.')}: key given more than once in one object (JSON.parse would keep the last silently; ingest refuses such a record: schema_invalid)`,
        }
        continue
      }
      const refused = ingestRefusal(raw as Record<string, unknown>, limits)
      if (refused) {
        yield { line, error: refused }
        continue
      }
      // Ingest took it: a publishedAt it holds is a time Date reads.
      const published = (raw as { publishedAt?: unknown }).publishedAt
      const early =
        typeof published === 'string' &&
        earlyTime(`publishedAt ${JSON.stringify(published)}`, Date.parse(published))
      if (early) {
        yield { line, error: early }
        continue
      }
      yield { line, raw: raw as Record<string, unknown> }
    }
    return
  }
  let timeColumn: string | undefined
  let checked = false
  let columns: string[] = []
  const useColumns = (cols: string[]) => {
    if (checked) return
    checked = true
    columns = cols
    if (!cols.includes('headline'))
      throw new ReplayFileError(`${file}: no "headline" column (columns: ${cols.join(', ')})`)
    timeColumn = TIME_COLUMNS.find((c) => cols.includes(c))
    // csv-parse keeps the last of a column named twice, silently, as JSON.parse keeps the last of a key:
    // "date,headline,headline" sent each row's second headline, the first dropped unseen.
    const twice = ['headline', 'description', timeColumn].find(
      (c) => c !== undefined && cols.indexOf(c) !== cols.lastIndexOf(c),
    )
    if (twice)
      throw new ReplayFileError(
        `${file}: the "${twice}" column is named more than once (columns: ${cols.join(', ')}); which to read no one can tell`,
      )
  }
  // Records csv-parse could not read, by their first line, in file order: they are given out before the
  // first record that comes after them (csv-parse reports them while it parses, ahead of the reader).
  const unreadable: { line: number; error: string }[] = []
  /**
   * The record of the last error csv-parse reported: its row, its first error's reason, its text up to
   * that error (csv-parse's `raw`) and csv-parse's line count then (to tell a later error of the same
   * record from one of the next), where its text starts (`lead` line breaks of blank lines before it)
   * and on which line, and the line of its last error.
   */
  let last:
    | {
        row: { line: number; error: string }
        reason: string
        raw: string
        csvLines: number
        lead: number
        start: number
        to: number
      }
    | undefined
  const lines = new CsvLines(file, bytes, input.live === true)
  const parser = parse({
    // The header's columns are checked as soon as it is read, not with the first record: a file of a
    // header only is refused too, and a pipe's header can be checked before anything else of it comes
    // (checkCsvHeader). A throw here ends the parse with it.
    columns: (header: string[]) => {
      useColumns(header)
      return header
    },
    // CsvLines skips one byte-order mark at the start of every line, the first among them.
    bom: false,
    // Each a record delimiter wherever it stands, as each ends a physical line (readByteLines): csv-parse
    // would take the first one it finds as the only one, and read the others as field text (a CR-ended
    // file joined to an LF-ended one ran on as one record, its headlines in the wrong columns).
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    skip_empty_lines: true,
    info: true,
    raw: true,
    skip_records_with_error: true,
    on_skip: (err, raw) => {
      if (!err) return
      const at = err as CsvError & {
        lines: number
        bytes: number
        index: number
        columns: { name: string }[] | boolean
      }
      if (!Array.isArray(at.columns))
        throw new ReplayFileError(`${file}: the header line cannot be read: ${err.message}`)
      useColumns(at.columns.map((c) => c.name))
      // Lines are physical lines, ending at LF, CRLF or a lone CR as everywhere else (a line number of
      // csv-parse counts each CR and LF in a quoted field, and names a record by the line it is at). The
      // record's text up to the error (`raw`, from the end of the record before it) is placed by the bytes
      // csv-parse had read at its last field or record boundary.
      const text = raw ?? ''
      // One report per record, with its first error: a record with stray quotes can raise several,
      // and its row is still queued then (no record after it has been read yet). A later error of the
      // same record has the text of the first before its own, and csv-parse has counted no line break
      // but those read since.
      const same =
        last !== undefined &&
        text.startsWith(last.raw) &&
        at.lines - last.csvLines === countBreaks(text.slice(Math.max(last.raw.length - 1, 0), -1))
      if (!same || !last) {
        const lead = /^[\r\n]*/.exec(text)![0]
        const start = recordStartLine(text.slice(lead.length), at.bytes, at.index, lead, lines)
        last = {
          row: { line: start, error: '' },
          reason: '',
          raw: text,
          csvLines: at.lines,
          lead: lead.length,
          start,
          to: start,
        }
        unreadable.push(last.row)
      }
      const line = last.start
      last.to = line + lineBreaks(upToError(text.slice(last.lead)))
      // csv-parse's own "at line N" names its count: the physical line of the error instead.
      if (!same) last.reason = err.message.replace(/\b(at|on) line \d+\b/, `$1 line ${last.to}`)
      last.row.error =
        last.to > line
          ? `${last.reason} (a quoted field runs from line ${line} to line ${last.to}, taking in the rows between)`
          : last.reason
      // A bad line inside the record is not reported again: the record is skipped for this already.
      lines.badIn(line, last.to)
    },
  })
  // Errors of the reading (a file gone, a header line that is not readable) end the parse with them.
  const source = Readable.from(lines.bytes())
  source.on('error', (err) => parser.destroy(err))
  source.pipe(parser)
  try {
    for await (const { record, info, raw } of parser as AsyncIterable<{
      record: Record<string, string>
      /** `index`: how many fields the record has. */
      info: { lines: number; bytes: number; index: number }
      raw: string
    }>) {
      // A record of a live input's pause (CsvLines), no row: every record before it is read, and a bad one
      // among them is named now, not with the next good one.
      const paused = lines.pauseEndingAt(info.bytes)
      if (paused !== undefined) {
        while (unreadable.length > 0 && unreadable[0]!.line <= paused) yield unreadable.shift()!
        continue
      }
      // The record's lines, by the bytes csv-parse has read and the line breaks inside it: a record is
      // named by the physical line it starts on (csv-parse's line count names the line it ends on, and
      // counts each CR and LF inside a quoted field). One that is not readable text is skipped, named by
      // that line.
      const end = lines.lineAt(info.bytes - 1)
      const start = end - innerLineBreaks(raw)
      while (unreadable.length > 0 && unreadable[0]!.line < start) yield unreadable.shift()!
      useColumns(Object.keys(record))
      const bad = lines.badIn(start, end)
      if (bad) {
        yield bad
        continue
      }
      // csv-parse drops the fields past the header's columns (relax_column_count, for rows with fewer):
      // a headline with a comma outside quotes went out cut at it, the rest dropped unseen.
      if (info.index > columns.length) {
        yield {
          line: start,
          error: `${info.index} fields where the header has ${columns.length} columns (${columns.join(', ')}): a field holding a comma must be quoted`,
        }
        continue
      }
      const headline = record.headline?.trim()
      if (!headline) {
        yield { line: start, error: 'empty headline' }
        continue
      }
      const row: Record<string, unknown> = { headline }
      if (opts.source) row.source = opts.source
      if (timeColumn) {
        const text = JSON.stringify(record[timeColumn])
        const at = readStreamTime(record[timeColumn] ?? '')
        if (!('iso' in at)) {
          yield {
            line: start,
            error:
              at.why === undefined
                ? `unreadable ${timeColumn} ${text}`
                : `${timeColumn} ${text} names no real time: ${at.why}`,
          }
          continue
        }
        const early = earlyTime(`${timeColumn} ${text} is ${at.iso}`, at.ms)
        if (early) {
          yield { line: start, error: early }
          continue
        }
        row.publishedAt = at.iso
      }
      if (record.description?.trim()) row.body = record.description.trim()
      const refused = ingestRefusal(row, limits)
      if (refused) {
        yield { line: start, error: refused }
        continue
      }
      yield { line: start, raw: row }
    }
  } finally {
    source.destroy()
  }
  yield* unreadable
  // Bad lines in no record csv-parse gave or skipped (none are expected): reported all the same.
  yield* lines.unreported()
}

/**
 * Line breaks inside a record's raw text: csv-parse's `raw` may start with the ends of blank lines before
 * it and ends with the first character of its own line end (the LF of a CRLF is not in it), if it has one.
 */
function innerLineBreaks(raw: string): number {
  return lineBreaks(raw.replace(/^[\r\n]+/, '').replace(/[\r\n]$/, ''))
}

/**
 * A CSV file's bytes for csv-parse, line by line (readByteLines: lines end at LF, CRLF or a lone CR), each
 * line with its own line end and without one byte-order mark at its start (skipBom: the first line's, or
 * one a file joined with `cat` left at the start of a later line; one at the start of a line inside a
 * quoted field goes too, as ingest removes U+FEFF from all text anyway; a line left empty ended by LF after
 * a lone CR is given a CR, so the two stay two line ends), keeping what its records are
 * checked against: the lines that are not readable text (not valid UTF-8, or longer than MAX_LINE_BYTES)
 * and where each line starts in the bytes given. A line that is not valid UTF-8 is given as it is, so the
 * file parses as it always did (the record holding it is skipped); a line past the limit is given as
 * its first bytes, with a double quote added when the bytes dropped held an odd number of them (the
 * quoting state after the line stays what it was) and its line end, so memory stays bounded and the
 * lines after it parse as they would have.
 */
class CsvLines {
  private readonly bad = new Map<number, string>()
  private readonly reported = new Set<number>()
  /** Where each line starts in the bytes given, from line `base`: lines before a record are forgotten. */
  private starts: number[] = []
  private base = 1
  /** The pause records given and not yet read back (pauseEndingAt): where each ends, after which line. */
  private readonly pauses: { end: number; line: number }[] = []

  private readonly file: string
  private readonly input: AsyncIterable<Buffer>
  private readonly live: boolean

  constructor(file: string, input: AsyncIterable<Buffer>, live: boolean) {
    this.file = file
    this.input = input
    this.live = live
  }

  async *bytes(): AsyncGenerator<Buffer> {
    let offset = 0
    let header = true
    let batch: Buffer[] = []
    let batched = 0
    // A live input's state after the lines given: the last one's number, whether csv-parse reads its end
    // inside a quoted field, and whether any was given since the last pause.
    let last = 0
    let quoted = false
    let paused = true
    // The line end given after the last line (as given: see below).
    let lastEnd = '' as LineEnd
    // A live input's line ended by a CR at the end of what has come is given at once when it ends a record
    // (outside a quoted field: csv-parse reads CR and CRLF alike there, and an LF that comes next is
    // skipped as the rest of the line end), not held until the next chunk tells whether an LF follows,
    // which a live feed may send any time later, or never. Inside a quoted field the line waits, so the
    // field keeps a CRLF as it is.
    const lines = this.live
      ? linesAndPauses(this.input, (l) => !quotedAfter(givenBytes(l), quoted))
      : readByteLines(this.input)
    for await (const l of lines) {
      if (l === DRAINED) {
        // All the input has sent is read. csv-parse reads a record only once it has read a few bytes past
        // its line end (PAUSE_RECORD), so the last one would wait for the next line, which a live feed may
        // send any time later, or never. When that line end ends a record (after the header, outside a
        // quoted field), a pause goes after it: records of its own, which readReplayRows drops.
        if (!paused && !header && !quoted) {
          for (let i = 0; i < 2; i++) {
            offset += PAUSE_RECORD.length
            this.pauses.push({ end: offset, line: last })
            batch.push(PAUSE_RECORD)
            batched += PAUSE_RECORD.length
          }
          lastEnd = '\n'
          paused = true
        }
        if (batched > 0) {
          yield Buffer.concat(batch)
          batch = []
          batched = 0
        }
        continue
      }
      this.starts.push(offset)
      const bytes = givenBytes(l)
      const blank = bytes.length === 0
      if (l.cut) this.bad.set(l.line, `line is ${l.size} bytes; limit ${MAX_LINE_BYTES}`)
      else if (!isUtf8(bytes)) this.bad.set(l.line, 'line is not valid UTF-8')
      if (header && !blank) {
        header = false
        const problem = this.bad.get(l.line)
        if (problem)
          throw new ReplayFileError(
            `${this.file}: the header line cannot be read: ${problem} (line ${l.line})`,
          )
      }
      if (this.live) {
        last = l.line
        quoted = quotedAfter(bytes, quoted)
        paused = false
      }
      // A line empty as given (a byte-order mark only, skipped) and ended by LF, after a line ended by a
      // lone CR: csv-parse would read that CR and this LF as one CRLF, one line end where the file has two
      // (the record before named by the line after it, an error after it one line early). A CR is given
      // instead: outside a quoted field both end a line alike, and ingest makes every line break inside
      // one "\n" anyway.
      lastEnd = blank && l.end === '\n' && lastEnd === '\r' ? '\r' : l.end
      const end = LINE_ENDS[lastEnd]
      batch.push(bytes, end)
      batched += bytes.length + end.length
      offset += bytes.length + end.length
      if (batched >= 64 * 1024) {
        yield Buffer.concat(batch)
        batch = []
        batched = 0
      }
    }
    if (batched > 0) yield Buffer.concat(batch)
  }

  /**
   * The line after which a pause was given, when csv-parse's record ending at `bytes` (its info.bytes) is
   * a record of that pause, the first not yet read back; else undefined.
   */
  pauseEndingAt(bytes: number): number | undefined {
    const pause = this.pauses[0]
    if (pause?.end !== bytes) return undefined
    this.pauses.shift()
    return pause.line
  }

  /**
   * The line holding the byte at `offset` of the bytes given. The lines before it are forgotten unless
   * `forget` is false: the reader of the records asks in order, but csv-parse reports a skipped record
   * while it parses, ahead of the records the reader has still to ask about.
   */
  lineAt(offset: number, forget = true): number {
    let lo = 0
    let hi = this.starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.starts[mid]! <= offset) lo = mid
      else hi = mid - 1
    }
    const line = this.base + lo
    // Records come in order: the lines before this one are no longer asked about.
    if (forget && lo > 4096) {
      this.starts = this.starts.slice(lo)
      this.base = line
    }
    return line
  }

  /** The first bad line from `from` to `to` as a skipped row; every bad line there counts as reported. */
  badIn(from: number, to: number): { line: number; error: string } | undefined {
    let first: { line: number; error: string } | undefined
    if (this.bad.size === this.reported.size) return undefined
    for (let line = Math.max(from, 1); line <= to; line++) {
      const error = this.bad.get(line)
      if (error === undefined || this.reported.has(line)) continue
      this.reported.add(line)
      first ??= { line, error }
    }
    return first
  }

  *unreported(): Generator<{ line: number; error: string }> {
    for (const [line, error] of [...this.bad].sort((a, b) => a[0] - b[0]))
      if (!this.reported.has(line)) yield { line, error }
  }
}

const QUOTE = Buffer.from('"')

/**
 * A line's bytes as CsvLines gives them to csv-parse: without one byte-order mark at its start, and, for a
 * line past the limit (its first bytes only), with a double quote added when the bytes dropped held an
 * odd number of them, so the quoting state after it stays what it was.
 */
function givenBytes(l: ByteLine): Buffer {
  const bytes = skipBom(l.bytes)
  return l.cut && l.quotesCut % 2 === 1 ? Buffer.concat([bytes, QUOTE]) : bytes
}

/**
 * What a live input's CSV is given where its writer paused after a record: a record of one field of
 * dashes, which gives csv-parse the bytes past the line end before it that it waits for (up to 3: its
 * longest white-space character in UTF-8, or a closing quote's 1 and CRLF's 2), with room to spare, twice:
 * the first is read at once, and says that every record before it is read (a bad one among them is named
 * then, not with the next good one); the second waits for what comes next. Where they are, not what they
 * hold, tells them from rows.
 */
const PAUSE_RECORD = Buffer.from('-------\n')

const DRAINED = Symbol('drained')

/**
 * The lines of a byte stream (readByteLines, a line ended by a CR at the end of a chunk given at once when
 * `eagerCr` says so), and DRAINED each time every line of the chunks read so far has been given and the
 * next chunk is asked for: all the input has sent is read, and what comes next may come at once, or a live
 * feed's writer may send it any time later.
 */
async function* linesAndPauses(
  input: AsyncIterable<Buffer>,
  eagerCr: (line: ByteLine) => boolean,
): AsyncGenerator<ByteLine | typeof DRAINED> {
  // How many chunks the line reader has asked for past the first, and the call that says it.
  let asked = 0
  let wake: (() => void) | undefined
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of input) {
      yield chunk
      asked++
      wake?.()
    }
  }
  const lines = readByteLines(counted(), MAX_LINE_BYTES, { eagerCr })
  let seen = 0
  let next: Promise<IteratorResult<ByteLine>> | undefined
  try {
    for (;;) {
      next ??= lines.next()
      // The line reader asks for the next chunk only when a line is asked for: at once, as lines.next()
      // runs (asked has moved already), or later, while the line is waited for (wake).
      if (asked === seen)
        await Promise.race([
          next,
          new Promise<void>((resolve) => {
            wake = resolve
          }),
        ])
      wake = undefined
      if (asked !== seen) {
        seen = asked
        yield DRAINED
        continue
      }
      const got = await next
      next = undefined
      if (got.done) return
      yield got.value
    }
  } finally {
    // A read under way ends with the input, which its owner closes (ReplayInput's close).
    if (next) next.catch(() => {})
    else await lines.return(undefined)
  }
}

/**
 * Whether csv-parse reads the end of a line (`bytes`, without its line end) inside a quoted field, when
 * `quoted` says whether it reads its start inside one. Quotes are read as csv-parse reads them with
 * readReplayRows' options (relax_quotes off, records with an error skipped): outside a quoted field, a
 * quote opens one at the start of a field (of the line, or after a comma), and elsewhere is an error read
 * as text; inside one, "" is a quote, a quote before a comma or the line end closes it, and any other is
 * an error read as text, the field still open.
 */
function quotedAfter(bytes: Buffer, quoted: boolean): boolean {
  for (let q = bytes.indexOf(0x22); q !== -1; q = bytes.indexOf(0x22, q + 1)) {
    if (!quoted) {
      if (q === 0 || bytes[q - 1] === 0x2c) quoted = true
      continue
    }
    const next = bytes[q + 1]
    if (next === 0x22) q++
    else if (next === undefined || next === 0x2c) quoted = false
  }
  return quoted
}

const LINE_ENDS = {
  '\n': Buffer.from('\n'),
  '\r\n': Buffer.from('\r\n'),
  '\r': Buffer.from('\r'),
  '': Buffer.alloc(0),
}

/** CR and LF characters: each a line to csv-parse when read, CRLF two. */
function countBreaks(text: string): number {
  return text.match(/[\r\n]/g)?.length ?? 0
}

/** The physical line breaks in a text: LF, CRLF (one) and lone CR, as readByteLines ends lines. */
function lineBreaks(text: string): number {
  return text.match(/\r\n?|\n/g)?.length ?? 0
}

/**
 * A skipped record's text up to its error, as csv-parse's `raw` gives it (ending with the character it
 * stopped at): without that character, or without the final line end when it stopped at the end of the
 * input (whose LF, after a CR, it holds inside a quoted field).
 */
function upToError(text: string): string {
  return text.replace(/(?:\r\n|[\s\S])$/, '')
}

/**
 * The physical line a record csv-parse skipped starts on, at its first error: `text` is the record's
 * text up to the error, `lead` the line ends of blank lines csv-parse read before it (an LF, or the CR of
 * a CRLF whose LF it skipped), and `bytes` how far csv-parse had read at its last boundary: the end of
 * the record before (after its line end) when the error is in the first field (`index` 0), else the
 * delimiter after field `index` - 1, which the record's text places.
 */
function recordStartLine(text: string, bytes: number, index: number, lead: string, lines: CsvLines): number {
  // Each character of `lead` is the line end of a blank line: csv-parse keeps only the CR of a CRLF there.
  if (index === 0) return lines.lineAt(bytes, false) + lead.length
  const delimiter = fieldsEnd(text, index)
  return lines.lineAt(bytes, false) - (delimiter === undefined ? 0 : lineBreaks(text.slice(0, delimiter)))
}

/**
 * Where the delimiter after the first `fields` fields of a record's text is (fields read before its
 * first error, so well-formed: quoted with "" inside, or plain), or undefined if it is not there.
 */
function fieldsEnd(text: string, fields: number): number | undefined {
  let i = 0
  for (let f = 0; f < fields; f++) {
    if (f > 0) i++ // past the delimiter before this field
    if (text[i] === '"') {
      for (i++; ; i += 2) {
        i = text.indexOf('"', i)
        if (i === -1) return undefined
        if (text[i + 1] !== '"') break
      }
      i++
      if (text[i] !== ',') return undefined
    } else {
      i = text.indexOf(',', i)
      if (i === -1) return undefined
    }
  }
  return i
}

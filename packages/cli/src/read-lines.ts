import { isUtf8 } from 'node:buffer'
import { skipBom } from '@tradepulse/platform'

/**
 * The most bytes one input line may hold (2 MiB). The largest record anything downstream takes is
 * 1 MiB (ingest's INGEST_MAX_RECORD_BYTES at its most; 64 KiB by default, LIMITS.maxRecordBytes) and
 * replay produces at most MAX_REPLAY_RECORD_BYTES (1 MB): a line up to twice that is read whole, so the
 * reason it is refused (too large a record, bad JSON…) can be given exactly. A longer line can be no
 * record at all: its bytes past the limit are read and dropped as they come, so memory stays bounded
 * whatever the input, and it is reported as too long in its place.
 */
export const MAX_LINE_BYTES = 2 * 1024 * 1024

/**
 * How a line ended: LF, CRLF, a lone CR (old Mac files; RFC 4180 readers and common CSV libraries take
 * it as a line break too), or nothing (the last line of an input only).
 */
export type LineEnd = '\n' | '\r\n' | '\r' | ''

/** One line as bytes, without its line end. */
export type ByteLine = {
  /** From 1. */
  line: number
  /** The line's bytes, at most the limit: the first bytes of a line that was cut. */
  bytes: Buffer
  /** Every byte of the line (its line end not counted), also those dropped past the limit. */
  size: number
  /** The line was longer than the limit: only its first bytes are given. */
  cut: boolean
  /** Its line end as read (see `eagerCr` of readByteLines for the one case it is not). */
  end: LineEnd
  /**
   * The double quotes (") among the dropped bytes: CSV's quoting state after the line depends on how
   * many it held, so a reader that puts the cut line in the place of the whole one can keep it.
   */
  quotesCut: number
}

function countQuotes(b: Uint8Array): number {
  let n = 0
  for (let i = b.indexOf(0x22); i !== -1; i = b.indexOf(0x22, i + 1)) n++
  return n
}

const LF = 0x0a
const CR = 0x0d

/**
 * The physical lines of a byte stream, as they arrive, each at most `maxBytes` bytes (the rest of a
 * longer line is dropped as it is read, and the line marked cut). A line ends at LF, at CRLF (one line
 * end) or at a lone CR, as RFC 4180 readers, csv-parse and Python's universal newlines take them; a file
 * with CR line ends was one giant line. Linear in the input: each byte is looked at by one forward search
 * for LF and one for CR. The input is read only as fast as the lines are taken (back-pressure), and closed
 * when the reader stops early. A last line without a line end is given too; there is no empty line after
 * a final line end. String chunks are taken as their UTF-8 bytes.
 *
 * A CR that is the last byte of a chunk may be the first half of a CRLF: by default the line waits for
 * the next chunk (or the end of the input) to tell, so `end` is exact (CSV keeps a CRLF inside a quoted
 * field as it is). With `eagerCr` the line is given at once with `end` "\r", and an LF that then starts
 * the next chunk is skipped as the rest of its line end: a live feed's line is not held back until the
 * next one comes, which may be any time later (readLines, where the line end is dropped anyway). As a
 * function, `eagerCr` is asked about each such line (with `end` "\r", before it is given; every line
 * before it has been taken) and the line waits when it says no: a CSV reader gives at once a line that
 * ends a record, where CR or CRLF read alike, and holds one inside a quoted field, whose text keeps it.
 */
export async function* readByteLines(
  input: AsyncIterable<string | Uint8Array>,
  maxBytes: number = MAX_LINE_BYTES,
  { eagerCr = false }: { eagerCr?: boolean | ((line: ByteLine) => boolean) } = {},
): AsyncGenerator<ByteLine> {
  let line = 0
  // The start of the line being read, in pieces, so a line cut into many chunks costs linear time.
  let pieces: Buffer[] = []
  let kept = 0
  let size = 0
  let quotesCut = 0
  const take = (b: Buffer) => {
    if (b.length === 0) return
    size += b.length
    const room = maxBytes - kept
    if (b.length <= room) {
      pieces.push(b)
      kept += b.length
      return
    }
    if (room > 0) {
      pieces.push(b.subarray(0, room))
      kept = maxBytes
    }
    quotesCut += countQuotes(b.subarray(Math.max(room, 0)))
  }
  // The line read so far, as it would be given with the line end `end`.
  const current = (end: LineEnd): ByteLine => {
    const bytes = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, kept)
    pieces = [bytes]
    return { line: line + 1, bytes, size, cut: size > maxBytes, end, quotesCut }
  }
  const finish = (end: LineEnd): ByteLine => {
    const out = current(end)
    line++
    pieces = []
    kept = 0
    size = 0
    quotesCut = 0
    return out
  }
  const eager = typeof eagerCr === 'function' ? () => eagerCr(current('\r')) : () => eagerCr
  // The last chunk ended with a CR: the line it ended is given ('given', by eagerCr) or waits for the next
  // chunk ('held'), and an LF at the start of the next chunk is that line end's.
  let crAtEnd: false | 'given' | 'held' = false
  for await (const chunk of input) {
    const buf =
      typeof chunk === 'string'
        ? Buffer.from(chunk, 'utf8')
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    if (buf.length === 0) continue
    let from = 0
    if (crAtEnd) {
      const held = crAtEnd === 'held'
      crAtEnd = false
      if (buf[0] === LF) from = 1
      if (held) yield finish(from === 1 ? '\r\n' : '\r')
    }
    // The next LF and CR at or after `from`, each searched for again only once passed: linear.
    let lf = buf.indexOf(LF, from)
    let cr = buf.indexOf(CR, from)
    while (lf !== -1 || cr !== -1) {
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        take(buf.subarray(from, lf))
        from = lf + 1
        lf = buf.indexOf(LF, from)
        yield finish('\n')
        continue
      }
      take(buf.subarray(from, cr))
      if (cr === buf.length - 1) {
        from = buf.length
        crAtEnd = eager() ? 'given' : 'held'
        if (crAtEnd === 'given') yield finish('\r')
        break
      }
      let end: LineEnd = '\r'
      from = cr + 1
      if (lf === from) {
        end = '\r\n'
        from++
        lf = buf.indexOf(LF, from)
      }
      cr = buf.indexOf(CR, from)
      yield finish(end)
    }
    if (from < buf.length) take(buf.subarray(from))
  }
  if (crAtEnd === 'held') yield finish('\r')
  else if (size > 0) yield finish('')
}

/** Why a line is refused before it is read as text: `invalid_utf8` and `too_large` are ingest's codes. */
export type LineProblem = 'too_large' | 'invalid_utf8'

/** A line as text, or why it cannot be read as text (`error` names the problem, not the line). */
export type TextLine = { line: number; text: string } | { line: number; problem: LineProblem; error: string }

/**
 * The lines of a text stream, split at LF, CRLF and a lone CR (readByteLines), as they arrive, each with
 * its number (from 1) and without its line end. One UTF-8 byte-order mark at the start of each line is
 * skipped (skipBom): Windows tools write one at the start of a file, and files joined with `cat` carry it
 * to a later line, where JSON.parse refused it; a mark anywhere else stays text.
 *
 * Not node:readline: it also ends a line at U+2028 and U+2029, and JSON allows U+2028 and U+2029
 * unescaped inside strings (JSON.stringify writes them raw), so it would cut one NDJSON line in two (a raw
 * CR or LF cannot be inside a JSON string). Lines are split as bytes and each is checked as UTF-8 whole
 * (so a character cut across chunks is no problem): a line that is not valid UTF-8 is given as a problem,
 * not decoded with U+FFFD in place of its bad bytes, which would change the text unseen (ingest refuses
 * such a record, `invalid_utf8`). A line longer than `maxBytes` is given as a problem too, its bytes past
 * the limit dropped as they are read: memory stays bounded whatever the input. The input is read only as
 * fast as the lines are taken (back-pressure), and closed when the reader stops early; a line is given as
 * soon as its line end is read, also a lone CR at the end of a chunk (eagerCr). A last line without a
 * line end is given too; there is no empty line after a final one.
 */
export async function* readLines(
  input: AsyncIterable<string | Uint8Array>,
  maxBytes: number = MAX_LINE_BYTES,
): AsyncGenerator<TextLine> {
  for await (const l of readByteLines(input, maxBytes, { eagerCr: true })) {
    if (l.cut) {
      yield { line: l.line, problem: 'too_large', error: `line is ${l.size} bytes; limit ${maxBytes}` }
      continue
    }
    const bytes = skipBom(l.bytes)
    if (!isUtf8(bytes)) {
      yield { line: l.line, problem: 'invalid_utf8', error: 'line is not valid UTF-8' }
      continue
    }
    yield { line: l.line, text: bytes.toString('utf8') }
  }
}

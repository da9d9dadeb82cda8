import { isUtf8 } from 'node:buffer'

/**
 * The most bytes one input line may hold (2 MiB). The largest record anything downstream takes is
 * 1 MiB (ingest's INGEST_MAX_RECORD_BYTES at its most; 64 KiB by default, LIMITS.maxRecordBytes) and
 * replay produces at most MAX_REPLAY_RECORD_BYTES (1 MB): a line up to twice that is read whole, so the
 * reason it is refused (too large a record, bad JSON…) can be given exactly. A longer line can be no
 * record at all: its bytes past the limit are read and dropped as they come, so memory stays bounded
 * whatever the input, and it is reported as too long in its place.
 */
export const MAX_LINE_BYTES = 2 * 1024 * 1024

/** One line as bytes, without its "\n". */
export type ByteLine = {
  /** From 1. */
  line: number
  /** The line's bytes, at most the limit: the first bytes of a line that was cut. */
  bytes: Buffer
  /** Every byte of the line, also those dropped past the limit. */
  size: number
  /** The line was longer than the limit: only its first bytes are given. */
  cut: boolean
  /** The line ended with "\r" (before its "\n"), also when that "\r" was dropped with the rest. */
  cr: boolean
  /** The line ended with "\n" (only the last line of an input may not). */
  ended: boolean
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

/**
 * The lines of a byte stream, split at "\n" only, as they arrive, each at most `maxBytes` bytes (the
 * rest of a longer line is dropped as it is read, and the line marked cut). The input is read only as
 * fast as the lines are taken (back-pressure), and closed when the reader stops early. A last line
 * without a final "\n" is given too; there is no empty line after a final "\n". String chunks are
 * taken as their UTF-8 bytes.
 */
export async function* readByteLines(
  input: AsyncIterable<string | Uint8Array>,
  maxBytes: number = MAX_LINE_BYTES,
): AsyncGenerator<ByteLine> {
  let line = 0
  // The start of the line being read, in pieces, so a line cut into many chunks costs linear time.
  let pieces: Buffer[] = []
  let kept = 0
  let size = 0
  let quotesCut = 0
  let lastByte = -1
  const take = (b: Buffer) => {
    if (b.length === 0) return
    size += b.length
    lastByte = b[b.length - 1]!
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
  const finish = (ended: boolean): ByteLine => {
    line++
    const bytes = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, kept)
    const out = { line, bytes, size, cut: size > maxBytes, cr: lastByte === 0x0d, ended, quotesCut }
    pieces = []
    kept = 0
    size = 0
    quotesCut = 0
    lastByte = -1
    return out
  }
  for await (const chunk of input) {
    const buf =
      typeof chunk === 'string'
        ? Buffer.from(chunk, 'utf8')
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let from = 0
    for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a, from)) {
      take(buf.subarray(from, nl))
      from = nl + 1
      yield finish(true)
    }
    if (from < buf.length) take(buf.subarray(from))
  }
  if (size > 0) yield finish(false)
}

/** Why a line is refused before it is read as text: `invalid_utf8` and `too_large` are ingest's codes. */
export type LineProblem = 'too_large' | 'invalid_utf8'

/** A line as text, or why it cannot be read as text (`error` names the problem, not the line). */
export type TextLine = { line: number; text: string } | { line: number; problem: LineProblem; error: string }

/**
 * The lines of a text stream, split at "\n" only (one "\r" at a line's end is dropped), as they arrive,
 * each with its number (from 1). One UTF-8 byte-order mark at the very start of the input (Windows tools
 * write one) is dropped, as a UTF-8 decoder drops it: read as text, JSON.parse refused the first line.
 *
 * Not node:readline: it also ends a line at U+2028 and U+2029 (and at a lone "\r"), and JSON allows
 * U+2028 and U+2029 unescaped inside strings (JSON.stringify writes them raw), so it would cut one
 * NDJSON line in two. Lines are split as bytes and each is checked as UTF-8 whole (so a character cut
 * across chunks is no problem): a line that is not valid UTF-8 is given as a problem, not decoded with
 * U+FFFD in place of its bad bytes, which would change the text unseen (ingest refuses such a record,
 * `invalid_utf8`). A line longer than `maxBytes` is given as a problem too, its bytes past the limit
 * dropped as they are read: memory stays bounded whatever the input. The input is read only as fast as
 * the lines are taken (back-pressure), and closed when the reader stops early. A last line without a
 * final "\n" is given too; there is no empty line after a final "\n".
 */
export async function* readLines(
  input: AsyncIterable<string | Uint8Array>,
  maxBytes: number = MAX_LINE_BYTES,
): AsyncGenerator<TextLine> {
  for await (const l of readByteLines(input, maxBytes)) {
    if (l.cut) {
      yield { line: l.line, problem: 'too_large', error: `line is ${l.size} bytes; limit ${maxBytes}` }
      continue
    }
    let bytes = l.cr ? l.bytes.subarray(0, -1) : l.bytes
    if (l.line === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3)
    if (!isUtf8(bytes)) {
      yield { line: l.line, problem: 'invalid_utf8', error: 'line is not valid UTF-8' }
      continue
    }
    yield { line: l.line, text: bytes.toString('utf8') }
  }
}

import { isUtf8 } from 'node:buffer'
import { readFileSync } from 'node:fs'
import { parseWatchlistText, type Watchlist } from '@tradepulse/scoring'

/** What a file that is not the watchlist's is told, after the variable and the path. */
const EXAMPLE = 'a watchlist is JSON such as {"entities":[{"id":"AAPL","names":["Apple"]}]}'

/**
 * The watchlist in the file at `path`; else it throws an Error saying in one line what is wrong. One
 * UTF-8 byte-order mark at the start is skipped (by parseWatchlistText: Windows editors write one). Text that is not UTF-8 (a UTF-16 file, as Windows' "Unicode" saves it) was
 * told the same way, with U+FFFD in place of its bytes; an empty file, as `Unexpected end of JSON input`.
 */
export function readWatchlistFile(path: string): Watchlist {
  // A file that cannot be read throws Node's error, which names it (ENOENT: no such file or directory…).
  const bytes = readFileSync(path)
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
    throw new Error('is UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8')
  if (!isUtf8(bytes)) throw new Error('is not UTF-8 text; save it as UTF-8')
  // trim() takes a byte-order mark as white space: a file of one and nothing else is empty too.
  const text = bytes.toString('utf8')
  if (text.trim() === '') throw new Error(`is empty; ${EXAMPLE}`)
  try {
    return parseWatchlistText(text)
  } catch (err) {
    // JSON.parse's SyntaxError; parseWatchlistText's own errors already say `invalid watchlist at <field>`.
    throw err instanceof SyntaxError ? new Error(`is not JSON (${err.message}); ${EXAMPLE}`) : err
  }
}

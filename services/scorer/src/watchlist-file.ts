import { isUtf8 } from 'node:buffer'
import { readFileSync } from 'node:fs'
import { skipBom } from '@tradepulse/platform'
import { parseWatchlistText, type Watchlist } from '@tradepulse/scoring'

/** What a file that is not the watchlist's is told, after the variable and the path. */
const EXAMPLE = 'a watchlist is JSON such as {"entities":[{"id":"AAPL","names":["Apple"]}]}'

/**
 * The watchlist in the file at `path`; else it throws an Error saying in one line what is wrong. One
 * UTF-8 byte-order mark at the start is skipped (platform's skipBom): Windows editors write one, and a file
 * saved so was refused with JSON.parse's `Unexpected token '﻿'`, the mark invisible in the message, so
 * the scorer would not start. Text that is not UTF-8 (a UTF-16 file, as Windows' "Unicode" saves it) was
 * told the same way, with U+FFFD in place of its bytes; an empty file, as `Unexpected end of JSON input`.
 */
export function readWatchlistFile(path: string): Watchlist {
  // A file that cannot be read throws Node's error, which names it (ENOENT: no such file or directory…).
  const bytes = readFileSync(path)
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
    throw new Error('is UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8')
  const body = skipBom(bytes)
  if (!isUtf8(body)) throw new Error('is not UTF-8 text; save it as UTF-8')
  const text = body.toString('utf8')
  if (text.trim() === '') throw new Error(`is empty; ${EXAMPLE}`)
  try {
    return parseWatchlistText(text)
  } catch (err) {
    // JSON.parse's SyntaxError; parseWatchlistText's own errors already say `invalid watchlist at <field>`.
    throw err instanceof SyntaxError ? new Error(`is not JSON (${err.message}); ${EXAMPLE}`) : err
  }
}

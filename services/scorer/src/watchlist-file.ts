import { isUtf8 } from 'node:buffer'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { skipBom } from '@tradepulse/platform'
import { parseWatchlistText, type Scorer, type Watchlist } from '@tradepulse/scoring'

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

/**
 * `scorer`, its results stamped with the watchlist it was made with: `<scorerVersion>+watchlist-<12 hex>`,
 * a hash of the watchlist as parsed (the file's layout and white space do not count). A watchlist changes
 * scores, not only entities.companies: a company's name is read as one entity, so its words are no longer
 * cues (with "China Steel" listed, "China Steel halts exports to US" is no longer about CN, and its tariff
 * label goes from negative to none). Stamped alike, two scorers with different watchlists, or one before
 * and after an edit, wrote different scores under one scorerVersion, and no alert or indicator could say
 * which list had made them. An empty list changes nothing and stamps nothing.
 */
export function stampWatchlist(scorer: Scorer, watchlist: Watchlist): Scorer {
  if (watchlist.entities.length === 0) return scorer
  const suffix = `+watchlist-${createHash('sha256').update(JSON.stringify(watchlist)).digest('hex').slice(0, 12)}`
  return {
    score: (input) => {
      const r = scorer.score(input)
      return { ...r, scorerVersion: `${r.scorerVersion}${suffix}` }
    },
    features: (input) => {
      const f = scorer.features(input)
      return { ...f, rule: { ...f.rule, scorerVersion: `${f.rule.scorerVersion}${suffix}` } }
    },
  }
}

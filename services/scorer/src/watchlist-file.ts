import { readFileSync } from 'node:fs'
import { duplicateKeyPath } from '@tradepulse/contracts'
import {
  createScorer,
  parseWatchlist,
  type Scorer,
  type Watchlist,
  WatchlistError,
} from '@tradepulse/scoring'

/** A field's path as parseWatchlist names it: `entities[1].names[0]`. */
const fieldOf = (path: readonly (string | number)[]) =>
  path.length === 0
    ? '(root)'
    : path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
        .join('')
        .replace(/^\./, '')

const READABLE = /[\p{L}\p{N}]/u

/**
 * What the scorer would make of `watchlist` that its author cannot have meant, as the WatchlistError
 * naming the field, or undefined. The scorer takes every name into one table of company names, the
 * first entity to give a name keeping it: an id given twice merged two entities into one, a name another
 * entity gave first was never recognised as its own, and a name of no letter or digit never matched a
 * headline; each was taken without a word. A name's owner is what `scorer` (made of this watchlist)
 * reads the name alone as, so the check is the scorer's own matching, not a copy of it.
 */
export function watchlistProblem(watchlist: Watchlist, scorer: Scorer): WatchlistError | undefined {
  const indexOf = new Map<string, number>()
  for (const [i, entity] of watchlist.entities.entries()) {
    const first = indexOf.get(entity.id)
    if (first !== undefined)
      return new WatchlistError(
        `entities[${i}].id`,
        `${JSON.stringify(entity.id)} is already the id of entities[${first}]; each entity needs an id of its own`,
      )
    indexOf.set(entity.id, i)
  }
  for (const [i, entity] of watchlist.entities.entries())
    for (const [j, name] of entity.names.entries()) {
      const field = `entities[${i}].names[${j}]`
      if (!READABLE.test(name))
        return new WatchlistError(
          field,
          `${JSON.stringify(name)} has no letter or digit, so no headline can name it`,
        )
      const read = scorer.score({ headline: name }).entities.companies
      if (read.includes(entity.id)) continue
      const owner = read.find((id) => indexOf.has(id))
      if (owner !== undefined)
        return new WatchlistError(
          field,
          `${JSON.stringify(name)} is read as entities[${indexOf.get(owner)}] (${owner}), whose name it is already; a name recognises one entity only`,
        )
    }
  return undefined
}

/**
 * The scorer of the watchlist file at `path`: JSON, with no key given twice in one object (JSON.parse
 * would keep the last silently: a second `entities` dropped the first list), valid as parseWatchlist
 * has it and without a problem watchlistProblem finds. Throws the error naming the field.
 */
export function scorerOfWatchlistFile(path: string): Scorer {
  const text = readFileSync(path, 'utf8')
  const json: unknown = JSON.parse(text)
  const twice = duplicateKeyPath(text)
  if (twice) throw new WatchlistError(fieldOf(twice), 'key given more than once in one object')
  const watchlist = parseWatchlist(json)
  const scorer = createScorer({ watchlist })
  const problem = watchlistProblem(watchlist, scorer)
  if (problem) throw problem
  return scorer
}

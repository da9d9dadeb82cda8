// The watchlist: companies and instruments the scorer should recognise, given by configuration.
// Parsed with zod at the edge; a bad file fails with the path of the offending field. The schema also
// refuses what the scorer would take silently otherwise than meant (see watchlistProblems).
import { duplicateKeyPath, LIMITS, TEXT_RULES } from '@tradepulse/contracts'
import { type RefinementCtx, z } from 'zod'
import { onlyFunctionWords, phraseKeys } from './lexicon.ts'

export const WatchlistEntity = z.strictObject({
  /**
   * Stable id reported in entities.companies, for example a ticker ("TSLA"). Each becomes a scope id
   * (the entity's indicators, alerts): held to the contract's bound and text rules of an entity id, which
   * readers enforce (a lone surrogate, a control character or an id that shows nothing would make every scored
   * headline naming it a dead letter), so a bad id is refused here, at load, naming its field.
   */
  id: [TEXT_RULES.wellFormed, TEXT_RULES.noControl, TEXT_RULES.showsSomething].reduce(
    (s, rule) => s.regex(rule.pattern, rule.message),
    z.string().trim().min(1).max(LIMITS.maxScopeIdChars),
  ),
  /** Names as they appear in headlines ("Tesla", "Tesla Inc"); matched case-insensitively by word. */
  names: z.array(z.string().trim().min(1).max(200)).max(50).default([]),
})
export type WatchlistEntity = z.infer<typeof WatchlistEntity>

const READABLE = /[\p{L}\p{N}]/u

/**
 * What the scorer would make of a watchlist that its author cannot have meant, as an issue on the field.
 * createScorer registers each entity's id and then its names, in file order, in one table of company
 * names keyed by phraseKeys (case folded, split at spaces and punctuation, 's dropped), and the first
 * entity to register a key keeps it: an id given twice merged two entities into one; a name or id whose
 * key another entity registered first was never recognised as its own (an id is registered as a name
 * too, unless it is only words of grammar: onlyFunctionWords); a name of no letter or digit never matched
 * a headline, and a name of words of grammar alone ("The") matched nearly every one. An id holding a comma cannot be asked for
 * in the gateway's `scope=` filter, whose values are separated by commas. Each was taken without a word.
 */
function watchlistProblems(watchlist: { entities: readonly WatchlistEntity[] }, ctx: RefinementCtx): void {
  const problem = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path: ['entities', ...path], message })
  const indexOf = new Map<string, number>()
  for (const [i, entity] of watchlist.entities.entries()) {
    const first = indexOf.get(entity.id)
    if (first !== undefined)
      problem(
        [i, 'id'],
        `${JSON.stringify(entity.id)} is already the id of entities[${first}]; each entity needs an id of its own`,
      )
    else indexOf.set(entity.id, i)
    if (entity.id.includes(','))
      problem(
        [i, 'id'],
        `${JSON.stringify(entity.id)} holds a comma, which the gateway's scope= filter (values separated by commas) cannot name`,
      )
  }
  // The entity each key of the scorer's table of names goes to: the first to register it.
  const ownerOf = new Map<string, number>()
  /** Registers `text` for entity i as createScorer does: the other entity that has its key, if one does. */
  const registers = (i: number, text: string): number | undefined => {
    const keys = phraseKeys(text)
    // A text of no key (only separators) is not registered by the scorer.
    if (keys.length === 0) return undefined
    const key = keys.join(' ')
    const owner = ownerOf.get(key)
    if (owner === undefined) ownerOf.set(key, i)
    return owner === undefined || owner === i ? undefined : owner
  }
  const readAs = (text: string, owner: number) =>
    `${JSON.stringify(text)} is read as entities[${owner}] (${watchlist.entities[owner]?.id}), whose name it is already`
  for (const [i, entity] of watchlist.entities.entries()) {
    // An id of words of grammar (a ticker "IT") is not read as a name (createScorer): nothing to register.
    const idOwner = onlyFunctionWords(entity.id) ? undefined : registers(i, entity.id)
    if (idOwner !== undefined)
      problem(
        [i, 'id'],
        `${readAs(entity.id, idOwner)}; the scorer reads an id as a name of its entity, and a name recognises one entity only`,
      )
    for (const [j, name] of entity.names.entries()) {
      if (!READABLE.test(name)) {
        problem([i, 'names', j], `${JSON.stringify(name)} has no letter or digit, so no headline can name it`)
        continue
      }
      if (onlyFunctionWords(name)) {
        problem(
          [i, 'names', j],
          `${JSON.stringify(name)} is only words of grammar, which nearly every headline holds, so it would tag most headlines with this entity`,
        )
        continue
      }
      const owner = registers(i, name)
      if (owner !== undefined)
        problem([i, 'names', j], `${readAs(name, owner)}; a name recognises one entity only`)
    }
  }
}

export const Watchlist = z
  .strictObject({
    entities: z.array(WatchlistEntity).max(10_000),
  })
  .superRefine(watchlistProblems)
export type Watchlist = z.infer<typeof Watchlist>

export class WatchlistError extends Error {
  readonly code = 'invalid_watchlist'
  readonly retriable = false
  readonly field: string
  constructor(field: string, message: string) {
    super(`invalid watchlist at ${field}: ${message}`)
    this.name = 'WatchlistError'
    this.field = field
  }
}

/** A field's path as the errors name it: `entities[1].names[0]`, `(root)` for the whole. */
function fieldOf(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)'
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '')
}

/**
 * Validates a watchlist (for example parsed JSON): the schema, and what the scorer would take otherwise
 * than meant (watchlistProblems). Throws WatchlistError naming the first bad field.
 */
export function parseWatchlist(json: unknown): Watchlist {
  const r = Watchlist.safeParse(json)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  throw new WatchlistError(fieldOf(issue?.path ?? []), issue?.message ?? 'invalid')
}

/**
 * The watchlist of a file's text: JSON with no key given twice in one object (JSON.parse keeps the last
 * silently: a second `entities` dropped the whole first list), then parseWatchlist. One byte-order mark
 * at the start is skipped: Windows editors write one, and JSON.parse refused such a file with
 * `Unexpected token '﻿'`, the mark invisible in the message. Not JSON, it throws JSON.parse's
 * SyntaxError; otherwise a WatchlistError naming the field.
 */
export function parseWatchlistText(file: string): Watchlist {
  const text = file.charCodeAt(0) === 0xfeff ? file.slice(1) : file
  const json: unknown = JSON.parse(text)
  const twice = duplicateKeyPath(text)
  if (twice) throw new WatchlistError(fieldOf(twice), 'key given more than once in one object')
  return parseWatchlist(json)
}

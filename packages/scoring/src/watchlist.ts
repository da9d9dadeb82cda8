// The watchlist: companies and instruments the scorer should recognise, given by configuration.
// Parsed with zod at the edge; a bad file fails with the path of the offending field.
import { z } from 'zod'

export const WatchlistEntity = z.strictObject({
  /** Stable id reported in entities.companies, for example a ticker ("TSLA"). */
  id: z.string().trim().min(1).max(64),
  /** Names as they appear in headlines ("Tesla", "Tesla Inc"); matched case-insensitively by word. */
  names: z.array(z.string().trim().min(1).max(200)).max(50).default([]),
})
export type WatchlistEntity = z.infer<typeof WatchlistEntity>

export const Watchlist = z.strictObject({
  entities: z.array(WatchlistEntity).max(10_000),
})
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

/** Validates a watchlist (for example parsed JSON); throws WatchlistError naming the bad field. */
export function parseWatchlist(json: unknown): Watchlist {
  const r = Watchlist.safeParse(json)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const field =
    issue && issue.path.length > 0
      ? issue.path
          .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
          .join('')
          .replace(/^\./, '')
      : '(root)'
  throw new WatchlistError(field, issue?.message ?? 'invalid')
}

// SCORER_VERSION changes whenever the lexicons, gazetteers, numeric rules or the learned model
// change: a content hash of the data modules, computed once at load. Every score carries it, so
// indicators and alerts can say which scorer produced them.
import { createHash } from 'node:crypto'
import * as entities from './data/entities.ts'
import * as lexicon from './data/lexicon.ts'
import { RULES } from './data/rules.ts'
import TARIFF_MODEL from './data/tariff-model.json' with { type: 'json' }
import type { Watchlist } from './watchlist.ts'

/** Bump when the scoring code (not the data) changes meaning. */
const ENGINE_VERSION = '2.0.115'

/** A module's exports as a plain object, keys sorted: Node and vitest order a namespace's keys differently. */
function exportsOf(namespace: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(namespace).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

const DATA = { lexicon: exportsOf(lexicon), entities: exportsOf(entities), RULES }

function contentHash(data: unknown): string {
  const h = createHash('sha256')
  h.update(JSON.stringify(data))
  return h.digest('hex').slice(0, 12)
}

/**
 * The rule layer's fingerprint: engine version and rule data, without the learned model. The model
 * is trained on the rules' output, so its file records the fingerprint it was trained under, and a
 * test fails until it is retrained (`pnpm train tariff`) after the rules change.
 */
export const RULES_FINGERPRINT = `${ENGINE_VERSION}+${contentHash(DATA)}`

export const SCORER_VERSION = `scoring-${ENGINE_VERSION}+${contentHash({ ...DATA, TARIFF_MODEL })}`

/** What a scorer made with `learned: false` stamps on its results: the rules alone. */
export const RULES_ONLY_VERSION = `${SCORER_VERSION}+rules`

/**
 * What a scorer made with `watchlist` adds to its scorerVersion: `+watchlist-<12 hex>`, a hash of its ids
 * and names in order (a file's layout, white space and key order do not count); nothing for no list or
 * an empty one. A watchlist changes scores, not only entities.companies: a company's name is read as one entity, so its
 * words are no longer cues (with "China Steel" listed, "China Steel halts exports to US" is no longer
 * about CN, and its tariff label goes from negative to none). Unstamped, two scorers with different lists,
 * or one before and after an edit, wrote different scores under one scorerVersion, and no alert or
 * indicator could say which list had made them. Computed once, when the scorer is made.
 */
export function watchlistStamp(watchlist: Watchlist | undefined): string {
  if (!watchlist || watchlist.entities.length === 0) return ''
  // Ids and names only, in order: the same list built with its keys in another order is the same list.
  return `+watchlist-${contentHash(watchlist.entities.map((e) => [e.id, e.names]))}`
}

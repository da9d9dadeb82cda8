// SCORER_VERSION changes whenever the lexicons, gazetteers, numeric rules or the learned model change: a content hash
// of the data modules, computed once at load. Every score carries it, so indicators and alerts can
// say which scorer produced them.
import { createHash } from 'node:crypto'
import * as entities from './data/entities.ts'
import * as lexicon from './data/lexicon.ts'
import { RULES } from './data/rules.ts'
import TARIFF_MODEL from './data/tariff-model.json' with { type: 'json' }

/** Bump when the scoring code (not the data) changes meaning. */
const ENGINE_VERSION = '2.0.0'

function contentHash(): string {
  const h = createHash('sha256')
  h.update(JSON.stringify({ lexicon, entities, RULES, TARIFF_MODEL }))
  return h.digest('hex').slice(0, 12)
}

export const SCORER_VERSION = `scoring-${ENGINE_VERSION}+${contentHash()}`

// @tradepulse/scoring: text in, scores + entities + events + explanation out. Pure and deterministic:
// no I/O, no clock, no environment. This file is the package's only public surface.

export type { Feature, TariffClass, TariffModel, TariffModelData, TariffReading } from './learned.ts'
export { learnedReads, TARIFF_CLASSES } from './learned.ts'
export type { ScoreInput, Scorer, ScorerOptions } from './scorer.ts'
export { createScorer, lexiconTariffModel } from './scorer.ts'
export { RULES_FINGERPRINT, RULES_ONLY_VERSION, SCORER_VERSION } from './version.ts'
export {
  parseWatchlist,
  parseWatchlistText,
  Watchlist,
  WatchlistEntity,
  WatchlistError,
} from './watchlist.ts'

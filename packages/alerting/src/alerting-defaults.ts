const MINUTE_MS = 60_000

/**
 * Every default of the alerting package in one place. Rule and desk files may override the per-rule
 * ones; the limits bound what one file or one evaluation can cost.
 */
export const ALERTING_DEFAULTS = {
  /** One alert per rule, dimension, scope and direction per quarter hour unless a rule says otherwise. */
  cooldownMs: 15 * MINUTE_MS,
  /** Headline rules ignore headlines less relevant than this to the watched dimension. */
  minRelevance: 0.5,
  minConfidence: 0,
  /** Threatened measures ("weighs tariffs") count unless a rule opts out: desks want early warning. */
  includeThreats: true,
  /** Half-life label of IndicatorUpdate.mean read when a rule names none (a label of the indicator config). */
  meanWindow: '1h',
  /** Volume window label that minVolume is checked against (a label of the indicator config). */
  volumeWindow: '1h',
  /** Indicator rules below this volume are not evaluated: a mean of one headline is noise. */
  minVolume: 0,
  /** How far a value must come back past the line before an indicator rule can fire again, per kind. */
  hysteresis: {
    level: 0.1,
    momentum_shift: 0.05,
    buzz_spike: 1,
    uncertainty_spike: 0.05,
  },
  /** Top headlines attached to an indicator alert. */
  maxEvidence: 3,
  /** An indicator alert's evidence is published at most this long before the update's asOf. */
  evidenceWindowMs: 24 * 60 * MINUTE_MS,
  /**
   * An indicator alert's entry time is the newest matching headline's only if that entered at most this
   * long before the update was made; an older one is likely not what moved it (an alerter that sees only
   * some partitions of headlines.scored, or a quiet scope), and the update's own time stands in.
   */
  maxTriggerLagMs: MINUTE_MS,
  /** Cues listed per evidence headline. */
  maxCuesPerEvidence: 8,
  /** Headline text quoted in a message, in characters. */
  messageHeadlineChars: 120,
  /** Alerts one headline or one indicator update can produce; the rest are counted as dropped. */
  maxCandidatesPerEvaluation: 100,
  /** Rules and desk files larger than this are refused before parsing. */
  maxFileChars: 1_000_000,
  maxRules: 1_000,
  maxDesks: 200,
  maxScopeFiltersPerEntry: 500,
} as const

export type AlertingDefaults = typeof ALERTING_DEFAULTS

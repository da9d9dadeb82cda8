// Numeric rules of the scorer. Data, not code, so that SCORER_VERSION changes when any of them does.
export const RULES = {
  /** Tokens between a predicate and its target, at most (gap words such as "on", "of", "new"). */
  bindWindowTokens: 5,
  /**
   * Words at most between a reported move in the -s or -ed form and the noun phrase after it that is
   * its object ("eases U.S.-China trade worries"; see bindOne).
   */
  objectLeadTokens: 3,
  /** A predicate reaching against its usual side pays this many tokens of distance. */
  sidePenaltyTokens: 1,
  /** Tokens after a negator, hedge or intensifier within which it still applies. */
  modifierScopeTokens: 5,
  /**
   * Tokens after a determiner negator ("no") within which it still applies: its noun phrase ("no
   * Canadian farm concessions" reaches the concessions), up to a preposition ("no illusions about").
   */
  determinerScopeTokens: 2,
  /** A negated cue keeps this share of its weight, with the sign flipped ("rules out new tariffs"). */
  negationKeep: 0.7,
  /** A negated unbound good target (talks, a deal) weighs at least this before negationKeep. */
  negatedBareMin: 0.4,
  /** Weight of cues before the last contrast word ("but", "however") of a field. */
  contrastBeforeWeight: 0.5,
  /** Weight of a participle before its noun ("the signed deal", "stalled talks"): a state. */
  attributiveWeight: 0.4,
  /**
   * Weight of a measure averted, avoided or headed off ("to avert tariffs") against one removed: it was
   * never in force, so averting it is weak relief and no cut (see AVERT_WORDS).
   */
  avertedWeight: 0.3,
  /** Weight of cues in a clause opened by a concessive word ("despite"). */
  concessiveWeight: 0.15,
  /**
   * Weight of the trade direction of a field whose only trade cues are bare measures in a setting
   * clause opening it ("After sanctions, ..."; see SETTINGS).
   */
  settingWeight: 0.15,
  /**
   * Weight of an act a body tells in the past perfect outside reported speech ("Trump had imposed 25%
   * tariffs on imported cars in April"): the background of the news, not the news (see backgroundActs).
   */
  backgroundWeight: 0.3,
  /** Body cues count this much against the headline's 1, and their sum is divided by sqrt(count). */
  bodyWeight: 0.5,
  /** Share of the tariff and supply-chain cue sums that also colours the market tone. */
  marketFromTariff: 0.35,
  marketFromSupply: 0.25,
  /** Score = tanh(gain * combined cue weight). */
  scoreGain: 1.1,
  marketGain: 1.2,
  /** Relevance = 1 - exp(-(topic weight + cueShare * |cue weights|)); labelled when >= relevanceMin. */
  relevanceCueShare: 0.5,
  relevanceMin: 0.5,
  /**
   * The learned tariff layer reads a headline the rules label with a tariff score weaker than this.
   * Cross-validated on our dev rows, it changed 3 of the 619 labels at 0.6-0.8 and none above; below,
   * it turns weak readings neutral and reads direction into the rules' neutral ones.
   */
  learnedScoreMax: 0.6,
  /** |score| below this is labelled neutral. */
  neutralBand: 0.12,
  marketNeutralBand: 0.4,
  /** Each hedge or threat adds this to the uncertainty sum; trade-policy context multiplies it. */
  uncertaintyPerThreat: 0.3,
  uncertaintyTradeBoost: 1.5,
  /** Bounds on what one text can produce, so output size does not grow with the body. */
  maxCues: 48,
  maxEvents: 24,
  /** Default cut: the contract's headline and body limits together. */
  defaultMaxChars: 21_000,
} as const

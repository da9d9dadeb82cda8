import { Dimension, EventType, LIMITS, Severity } from '@tradepulse/contracts'
import { z } from 'zod'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'
import { ScopeFilter } from './scope-filter.ts'

const D = ALERTING_DEFAULTS

/**
 * Stable ids: they end up in alert ids, cooldown keys and Redis fields, so no spaces or separators. At
 * most what an alert's `rule` may carry (the contracts' bound, which readers enforce).
 */
export const RuleId = z
  .string()
  .regex(/^[a-z0-9_-]+$/, { message: 'use only lower-case letters, digits, "_" and "-"' })
  .min(1)
  .max(LIMITS.maxRuleIdChars)

export const RuleDirection = z.enum(['down', 'up', 'both'])
export type RuleDirection = z.infer<typeof RuleDirection>

/** Half-life or window label of the indicator config ("15m", "1h", "24h"): at most an indicator update's label. */
const WindowLabel = z.string().min(1).max(LIMITS.maxLabelChars)

/** A rule's dimensions: at least one, each once (a repeated one raised every alert twice). */
function dimensionList<T extends z.ZodType<string>>(item: T) {
  return z
    .array(item)
    .min(1)
    .refine((a) => new Set(a).size === a.length, { message: 'list each dimension once' })
}
const Magnitude = z.number().positive()

const common = {
  id: RuleId,
  description: z.string().max(500).optional(),
  enabled: z.boolean().default(true),
  severity: Severity,
  scopes: ScopeFilter,
  direction: RuleDirection.default('both'),
  /** The service suppresses repeats of one rule × dimension × scope × direction for this long. */
  cooldownMs: z.int().min(0).default(D.cooldownMs),
}

/** Indicator rules skip scopes too quiet to mean anything. */
const volumeGuard = {
  minVolume: z.number().min(0).default(D.minVolume),
  volumeWindow: WindowLabel.default(D.volumeWindow),
}

/** One scored headline strongly negative or positive on a dimension it is relevant to. */
export const HeadlineShockRule = z.strictObject({
  ...common,
  kind: z.literal('headline_shock'),
  dimensions: dimensionList(z.enum(['tariff', 'supplyChain', 'market'])),
  /** |score| must reach this; direction says which sign counts. */
  threshold: Magnitude.max(1),
  minRelevance: z.number().min(0).max(1).default(D.minRelevance),
  minConfidence: z.number().min(0).max(1).default(D.minConfidence),
  /** When given, the headline must carry one of these events (not negated). */
  eventTypes: z.array(EventType).min(1).optional(),
  /**
   * false: a threatened event does not count, and without eventTypes a headline whose events on the
   * dimension are all threatened does not fire.
   */
  includeThreats: z.boolean().default(D.includeThreats),
  /**
   * What one cooldown covers: every alert of the rule on a scope and side (`scope`), or each event type
   * apart (`event`, needs eventTypes): a retaliation then is not held back by the tariff rise hours
   * before it, while rewrites of one measure stay one alert. A headline with several watched events
   * is keyed by the one listed first in eventTypes.
   */
  cooldownBy: z.enum(['scope', 'event']).default('scope'),
})
export type HeadlineShockRule = z.infer<typeof HeadlineShockRule>

/**
 * IndicatorUpdate fields a level rule can watch. `count` (the key's lifetime total of headlines) is in
 * the list so that parseRules can refuse it by name: it only grows, so a line on it fires at most once.
 */
export const IndicatorField = z.enum(['mean', 'volume', 'buzz', 'momentum', 'diffusion', 'count'])
export type IndicatorField = z.infer<typeof IndicatorField>

/**
 * An indicator value crossing a line. With direction up or down `threshold` is the signed line itself
 * (down with -0.5 fires at ≤ -0.5); with both it is a magnitude and fires at ≥ +t or ≤ -t.
 * Fires on the crossing, then re-arms only once the value is back past the line by `hysteresis`.
 */
export const LevelRule = z.strictObject({
  ...common,
  ...volumeGuard,
  kind: z.literal('level'),
  dimensions: dimensionList(Dimension),
  field: IndicatorField.default('mean'),
  /** Half-life label for mean, window label for volume; ignored by the other fields. */
  window: WindowLabel.optional(),
  threshold: z.number(),
  hysteresis: z.number().min(0).default(D.hysteresis.level),
})
export type LevelRule = z.infer<typeof LevelRule>

/** Short mean minus long mean (IndicatorUpdate.momentum): sentiment turning fast. */
export const MomentumShiftRule = z.strictObject({
  ...common,
  ...volumeGuard,
  kind: z.literal('momentum_shift'),
  dimensions: dimensionList(Dimension),
  threshold: Magnitude.max(2),
  hysteresis: z.number().min(0).default(D.hysteresis.momentum_shift),
})
export type MomentumShiftRule = z.infer<typeof MomentumShiftRule>

/** Volume z-score against the baseline (IndicatorUpdate.buzz): a scope suddenly in the news. */
export const BuzzSpikeRule = z.strictObject({
  ...common,
  ...volumeGuard,
  kind: z.literal('buzz_spike'),
  dimensions: dimensionList(Dimension),
  direction: z.literal('up', { message: 'a buzz spike only goes up' }).default('up'),
  threshold: Magnitude,
  hysteresis: z.number().min(0).default(D.hysteresis.buzz_spike),
})
export type BuzzSpikeRule = z.infer<typeof BuzzSpikeRule>

/**
 * Policy uncertainty: the uncertainty indicator's mean (source indicator) or one headline's uncertainty
 * score (source headline). `relevantTo` makes the headline form trade-policy uncertainty in the sense
 * of Caldara et al.: uncertainty cues in a headline that is also about tariffs or supply.
 */
export const UncertaintySpikeRule = z.strictObject({
  ...common,
  ...volumeGuard,
  kind: z.literal('uncertainty_spike'),
  source: z.enum(['indicator', 'headline']),
  dimensions: z
    .array(z.literal('uncertainty', { message: 'an uncertainty spike watches the uncertainty dimension' }))
    .min(1)
    .default(['uncertainty']),
  direction: z.literal('up', { message: 'uncertainty is in [0, 1]; a spike only goes up' }).default('up'),
  threshold: Magnitude.max(1),
  window: WindowLabel.optional(),
  hysteresis: z.number().min(0).default(D.hysteresis.uncertainty_spike),
  relevantTo: z
    .array(z.enum(['tariff', 'supplyChain']))
    .min(1)
    .optional(),
  minRelevance: z.number().min(0).max(1).default(D.minRelevance),
})
export type UncertaintySpikeRule = z.infer<typeof UncertaintySpikeRule>

export const Rule = z.discriminatedUnion('kind', [
  HeadlineShockRule,
  LevelRule,
  MomentumShiftRule,
  BuzzSpikeRule,
  UncertaintySpikeRule,
])
export type Rule = z.infer<typeof Rule>
export type RuleKind = Rule['kind']
export type IndicatorRule = LevelRule | MomentumShiftRule | BuzzSpikeRule | UncertaintySpikeRule

/**
 * The longest version a rules or desks file may give. A rules file's is the start of its rulesVersion
 * (`<version>+<12 hex>`, every alert's `rulesVersion`), which must fit the contracts' maxVersionChars
 * (128): contract-bounds.test.ts pins the two, as contracts has no bound of a file version of its own.
 */
export const MAX_FILE_VERSION_CHARS = 64

/**
 * The author's version of a rules or desks file, a label. Written unquoted, a number is taken as its text
 * (parseRules, parseDesks: `1.10` stays "1.10", where YAML and JSON read 1.1); here it is text.
 */
export const FileVersion = z
  .string({
    error: (issue) =>
      issue.input === undefined ? undefined : 'expected the version as text, such as "2025.1" (in quotes)',
  })
  .min(1)
  .max(MAX_FILE_VERSION_CHARS)

export const RulesFile = z.strictObject({
  /** The author's version of the file; rulesVersion adds a content hash. */
  version: FileVersion,
  rules: z.array(Rule).max(D.maxRules),
})
export type RulesFile = z.infer<typeof RulesFile>

import type { Dimension, IndicatorUpdate, Scope, ScoredHeadline } from '@tradepulse/contracts'
import { createCandidate, createCollector, type Evaluation, type EvaluationRules } from './alert-candidate.ts'
import { type AlertEvidence, headlineValue, topEvidence } from './alert-evidence.ts'
import { hysteresisKey, legacyHysteresisKey } from './alert-keys.ts'
import { indicatorMessage } from './alert-message.ts'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'
import {
  type HysteresisEntry,
  type HysteresisLine,
  type HysteresisState,
  stepHysteresis,
} from './hysteresis.ts'
import type { IndicatorRule, Rule } from './rule-schema.ts'
import { matchesScope } from './scope-filter.ts'

/** Recent scored headlines of one indicator's scope, for evidence; only called when an alert fires. */
export type EvidenceProvider = (dimension: Dimension, scope: Scope) => readonly ScoredHeadline[]

export type IndicatorEvaluationOptions = {
  evidence?: EvidenceProvider
  /**
   * When the data behind the update entered the pipeline, if the caller knows. Otherwise the update's
   * own `ingestedAt` (the aggregator's: the newest headline it published the update for). Otherwise,
   * for updates without it, the headline that moved the indicator, found among `evidence`: the newest
   * of the scope about the dimension and published by asOf, if it entered before the update was made
   * and at most maxTriggerLagMs before. Without any of these, the update's updatedAt stands in.
   */
  ingestedAtMs?: number
  /** IndicatorUpdate carries no scorer version: the caller's, else the top evidence headline's. */
  scorerVersion?: string
}

export type IndicatorEvaluation = Evaluation & {
  /**
   * The hysteresis entries this update moved, by hysteresisKey: write them back after publishing. null:
   * delete the field (an entry under its pre-session-19 name, once its line's own entry is written).
   */
  state: Record<string, HysteresisEntry | null>
}

type Reading = { value: number; measure: string; quantity: 'sentiment' | 'activity'; lines: HysteresisLine[] }

const isIndicatorRule = (rule: Rule): rule is IndicatorRule =>
  rule.kind !== 'headline_shock' && !(rule.kind === 'uncertainty_spike' && rule.source === 'headline')

const watches = (rule: IndicatorRule, u: IndicatorUpdate) =>
  (rule.dimensions as readonly Dimension[]).includes(u.dimension) && matchesScope(rule.scopes, u.scope)

/** Lines for a magnitude threshold t: +t going up, -t going down, as the direction allows. */
function magnitudeLines(direction: 'up' | 'down' | 'both', t: number, h: number): HysteresisLine[] {
  const lines: HysteresisLine[] = []
  if (direction !== 'down') lines.push({ side: 'up', line: t, hysteresis: h })
  if (direction !== 'up') lines.push({ side: 'down', line: -t, hysteresis: h })
  return lines
}

/** The value a rule watches on this update and the lines it must cross; undefined when absent. */
function read(rule: IndicatorRule, u: IndicatorUpdate): Reading | undefined {
  switch (rule.kind) {
    case 'level': {
      const window = rule.window ?? ''
      const value =
        rule.field === 'mean' ? u.mean[window] : rule.field === 'volume' ? u.volume[window] : u[rule.field]
      if (value === undefined) return undefined
      const measure =
        rule.field === 'mean' || rule.field === 'volume' ? `${window} ${rule.field}` : rule.field
      const quantity =
        rule.field === 'volume' || rule.field === 'buzz' || rule.field === 'count' ? 'activity' : 'sentiment'
      // Up or down: the threshold is the signed line itself; both: a magnitude on either side.
      const lines =
        rule.direction === 'both'
          ? magnitudeLines('both', rule.threshold, rule.hysteresis)
          : [{ side: rule.direction, line: rule.threshold, hysteresis: rule.hysteresis }]
      return { value, measure, quantity, lines }
    }
    case 'momentum_shift':
      return {
        value: u.momentum,
        measure: 'momentum',
        quantity: 'sentiment',
        lines: magnitudeLines(rule.direction, rule.threshold, rule.hysteresis),
      }
    case 'buzz_spike':
      return {
        value: u.buzz,
        measure: 'buzz z-score',
        quantity: 'activity',
        lines: magnitudeLines('up', rule.threshold, rule.hysteresis),
      }
    case 'uncertainty_spike': {
      const window = rule.window ?? ALERTING_DEFAULTS.meanWindow
      const value = u.mean[window]
      if (value === undefined) return undefined
      return {
        value,
        measure: `${window} mean`,
        quantity: 'sentiment',
        lines: magnitudeLines('up', rule.threshold, rule.hysteresis),
      }
    }
  }
}

/** What names a line in its hysteresis key: the measure, the line and its hysteresis. */
const lineOf = (r: Reading, line: HysteresisLine) => ({
  measure: r.measure,
  line: line.line,
  hysteresis: line.hysteresis,
})

/** The hysteresis keys evaluateIndicator may read for this update, so the service can fetch just those. */
export function hysteresisKeysFor(ruleSet: EvaluationRules, update: IndicatorUpdate): string[] {
  const keys: string[] = []
  for (const rule of ruleSet.rules) {
    if (!rule.enabled || !isIndicatorRule(rule)) continue
    if (!watches(rule, update)) continue
    const r = read(rule, update)
    if (!r) continue
    for (const line of r.lines) {
      keys.push(hysteresisKey(rule, update.dimension, update.scope, line.side, lineOf(r, line)))
      keys.push(legacyHysteresisKey(rule, update.dimension, update.scope, line.side))
    }
  }
  return keys
}

/**
 * The indicator rules against one indicator update. Edge-triggered: a rule fires when the value
 * crosses its line and then stays quiet until the value has come back past the line by its
 * hysteresis. Pure: `state` is read, never changed; the moved entries are returned.
 */
export function evaluateIndicator(
  ruleSet: EvaluationRules,
  update: IndicatorUpdate,
  state: HysteresisState,
  nowMs: number,
  options: IndicatorEvaluationOptions = {},
): IndicatorEvaluation {
  const out = createCollector(ALERTING_DEFAULTS.maxCandidatesPerEvaluation)
  const next: Record<string, HysteresisEntry | null> = {}
  const eventMs = Date.parse(update.asOf)
  const updatedMs = Date.parse(update.updatedAt)
  if (!Number.isFinite(eventMs) || !Number.isFinite(updatedMs)) return { ...out.result(), state: next }
  const { dimension, scope } = update

  // The scope's recent headlines, asked for only once an alert fires.
  let recent: readonly ScoredHeadline[] | undefined
  const recentHeadlines = () => (recent ??= options.evidence?.(dimension, scope) ?? [])
  // When the data behind the alert entered the pipeline: the caller's, else the triggering headline's
  // where one is plausible. (Its event time stays the update's asOf, which the id's bucket is made of.)
  let enteredMs: number | undefined
  const enteredAt = () => {
    const given = options.ingestedAtMs ?? (update.ingestedAt ? Date.parse(update.ingestedAt) : undefined)
    if (given !== undefined && Number.isFinite(given)) return given
    enteredMs ??= triggerEntryMs(newestAbout(recentHeadlines(), dimension, eventMs), updatedMs)
    return enteredMs
  }
  const evidenceFor = (
    side: 'up' | 'down' | 'activity',
  ): { evidence: AlertEvidence[]; scorerVersion: string | undefined } =>
    topEvidence(recentHeadlines(), dimension, side, eventMs)

  for (const rule of ruleSet.rules) {
    if (!rule.enabled || !isIndicatorRule(rule)) continue
    if (!watches(rule, update)) continue
    const quiet = rule.minVolume > 0 && !((update.volume[rule.volumeWindow] ?? 0) >= rule.minVolume)
    const r = read(rule, update)
    if (!r || !Number.isFinite(r.value)) continue
    for (const line of r.lines) {
      const key = hysteresisKey(rule, dimension, scope, line.side, lineOf(r, line))
      const legacy = legacyHysteresisKey(rule, dimension, scope, line.side)
      const prev = state[key] ?? state[legacy] ?? undefined
      // The entry under its old name is read once, on upgrade, and deleted when the line's own is written:
      // kept, it would stand in for any line the rule is edited to later, which must start armed.
      const moved = (entry: HysteresisEntry) => {
        next[key] = entry
        if (state[legacy]) next[legacy] = null
      }
      // Below the volume floor a line never fires; but one that fired re-arms there once the value is
      // back, as the calm between two bursts of a scope is mostly seen through such thin updates.
      if (quiet && (!prev || prev.armed)) continue
      const step = stepHysteresis(prev, r.value, eventMs, line, update.count)
      if ('stale' in step) continue
      if (quiet) {
        if (step.next.armed) moved(step.next)
        continue
      }
      moved(step.next)
      if (!step.fire) continue
      const ev = evidenceFor(r.quantity === 'activity' ? 'activity' : line.side)
      out.add({
        ...createCandidate({
          rule,
          rulesVersion: ruleSet.rulesVersion,
          dimension,
          scope,
          side: line.side,
          value: r.value,
          threshold: line.line,
          message: indicatorMessage({
            dimension,
            scope,
            measure: r.measure,
            quantity: r.quantity,
            side: line.side,
            value: r.value,
            threshold: line.line,
          }),
          evidence: ev.evidence,
          eventMs,
          eventRef: String(eventMs),
          publishedAt: update.asOf,
          ingestedAtMs: enteredAt(),
          nowMs,
          scorerVersion: options.scorerVersion ?? ev.scorerVersion ?? 'unknown',
        }),
        hysteresisKey: key,
      })
    }
  }
  return { ...out.result(), state: next }
}

/**
 * The trigger's entry time if it entered before the update was made and at most maxTriggerLagMs before;
 * otherwise the update's own time.
 */
function triggerEntryMs(trigger: ScoredHeadline | undefined, updatedMs: number): number {
  const t = trigger ? Date.parse(trigger.ingestedAt) : Number.NaN
  return t <= updatedMs && updatedMs - t <= ALERTING_DEFAULTS.maxTriggerLagMs ? t : updatedMs
}

/** The newest headline about `dimension` published by `asOfMs` (the later given on a tie), if any. */
function newestAbout(
  headlines: readonly ScoredHeadline[],
  dimension: Dimension,
  asOfMs: number,
): ScoredHeadline | undefined {
  let newest: ScoredHeadline | undefined
  let newestMs = Number.NEGATIVE_INFINITY
  for (const h of headlines) {
    const t = Date.parse(h.publishedAt)
    if (!(t <= asOfMs) || t < newestMs || !headlineValue(h, dimension)) continue
    newest = h
    newestMs = t
  }
  return newest
}

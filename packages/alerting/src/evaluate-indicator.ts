import type { Dimension, IndicatorUpdate, Scope, ScoredHeadline } from '@tradepulse/contracts'
import { createCandidate, createCollector, type Evaluation, type EvaluationRules } from './alert-candidate.ts'
import { type AlertEvidence, type EvidenceHeadline, evidenceHeadline, topEvidence } from './alert-evidence.ts'
import { hysteresisKey, legacyHysteresisKey } from './alert-keys.ts'
import { indicatorMessage } from './alert-message.ts'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'
import {
  type HysteresisEntry,
  type HysteresisLine,
  type HysteresisState,
  type HysteresisValue,
  type IndicatorReading,
  indicatorReading,
  lineEntry,
  READING_FIELD,
  stepHysteresis,
} from './hysteresis.ts'
import type { IndicatorRule, Rule } from './rule-schema.ts'
import { matchesScope } from './scope-filter.ts'
import {
  DEFAULT_INDICATOR_MODEL,
  type IndicatorModel,
  type Measure,
  readingOf,
  silentRange,
} from './silence.ts'

/**
 * Recent headlines of one indicator's scope, as evidence on its dimension (those about it); only called
 * when an alert fires.
 */
export type EvidenceProvider = (dimension: Dimension, scope: Scope) => readonly EvidenceHeadline[]

/** An EvidenceProvider over a list of scored headlines, whatever the scope (tests, simple callers). */
export function evidenceFrom(headlines: readonly ScoredHeadline[]): EvidenceProvider {
  return (dimension) => headlines.map((h) => evidenceHeadline(h, dimension)).filter((e) => e !== undefined)
}

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
  /** The indicator math the updates come from (default: the shared default indicator config). */
  model?: IndicatorModel
  /**
   * An update whose asOf lies more than this before `nowMs` raises no alert (a replay into a live
   * cluster, an old update read again from the compacted topic): each crossing it would have fired is
   * counted in `stale`, and its line is moved as if it had fired, left disarmed, so that the episode it
   * belongs to does not page as it goes on in later updates (a silence of the scope re-arms it, as it does
   * any line that fired). 0 or absent: off.
   */
  maxEventAgeMs?: number
  /**
   * How long the caller keeps an indicator's hysteresis state (the alerter's hysteresis TTL). An update
   * made (updatedAt) and about a time (asOf) both longer ago than this before `nowMs` raises no alert and
   * moves nothing, its crossings counted in `stale`: a live reader's state of it would have expired since
   * (unless later updates kept it, and those come after it). Such an update is only read now by a consumer
   * that starts from the beginning of the compacted topic, which keeps every indicator's last update
   * forever. Moving nothing rather than disarming: the indicator's next update may come from a new run of
   * it (its aggregator state expired, its count started again), which tells no silence, and a line left
   * disarmed would miss that burst. A replay's updates are made now, and are never held back by this.
   * 0 or absent: off.
   */
  forgetAfterMs?: number
}

export type IndicatorEvaluation = Evaluation & {
  /** The alerts it would have raised had it not been stale (see maxEventAgeMs and forgetAfterMs). */
  stale: number
  /**
   * The hysteresis entries this update moved, by hysteresisKey, and the indicator's reading
   * (READING_FIELD) when a line on it is left disarmed: write them back after publishing. null: delete
   * the field (an entry under its pre-session-19 name, once its line's own entry is written).
   */
  state: Record<string, HysteresisValue | null>
}

/** What a rule watches on its indicators and the lines it must cross: the rule's alone, whatever the update. */
type Watch = {
  measure: string
  /** What the value is, for what it read through a silence (silence.ts). */
  of: Measure
  quantity: 'sentiment' | 'activity'
  lines: HysteresisLine[]
}

type Reading = Watch & { value: number }

const isIndicatorRule = (rule: Rule): rule is IndicatorRule =>
  rule.kind !== 'headline_shock' && !(rule.kind === 'uncertainty_spike' && rule.source === 'headline')

/** Whether the rule watches this indicator: its dimension and scope (the same for all its updates). */
const watches = (rule: IndicatorRule, u: Pick<IndicatorUpdate, 'dimension' | 'scope'>) =>
  (rule.dimensions as readonly Dimension[]).includes(u.dimension) && matchesScope(rule.scopes, u.scope)

/** Lines for a magnitude threshold t: +t going up, -t going down, as the direction allows. */
function magnitudeLines(direction: 'up' | 'down' | 'both', t: number, h: number): HysteresisLine[] {
  const lines: HysteresisLine[] = []
  if (direction !== 'down') lines.push({ side: 'up', line: t, hysteresis: h })
  if (direction !== 'up') lines.push({ side: 'down', line: -t, hysteresis: h })
  return lines
}

/** The measure a rule watches and the lines it must cross. */
function watchOf(rule: IndicatorRule): Watch {
  switch (rule.kind) {
    case 'level': {
      const window = rule.window ?? ''
      const measure =
        rule.field === 'mean' || rule.field === 'volume' ? `${window} ${rule.field}` : rule.field
      const of: Measure =
        rule.field === 'mean' || rule.field === 'volume'
          ? { kind: rule.field, label: window }
          : { kind: rule.field }
      const quantity =
        rule.field === 'volume' || rule.field === 'buzz' || rule.field === 'count' ? 'activity' : 'sentiment'
      // Up or down: the threshold is the signed line itself; both: a magnitude on either side.
      const lines =
        rule.direction === 'both'
          ? magnitudeLines('both', rule.threshold, rule.hysteresis)
          : [{ side: rule.direction, line: rule.threshold, hysteresis: rule.hysteresis }]
      return { measure, of, quantity, lines }
    }
    case 'momentum_shift':
      return {
        measure: 'momentum',
        of: { kind: 'momentum' },
        quantity: 'sentiment',
        lines: magnitudeLines(rule.direction, rule.threshold, rule.hysteresis),
      }
    case 'buzz_spike':
      return {
        measure: 'buzz z-score',
        of: { kind: 'buzz' },
        quantity: 'activity',
        lines: magnitudeLines('up', rule.threshold, rule.hysteresis),
      }
    case 'uncertainty_spike': {
      const window = rule.window ?? ALERTING_DEFAULTS.meanWindow
      return {
        measure: `${window} mean`,
        of: { kind: 'mean', label: window },
        quantity: 'sentiment',
        lines: magnitudeLines('up', rule.threshold, rule.hysteresis),
      }
    }
  }
}

/**
 * The value a rule watches on this update; undefined when the update lacks it (a window its aggregator's
 * config does not have).
 */
function watchedValue(rule: IndicatorRule, u: IndicatorUpdate): number | undefined {
  switch (rule.kind) {
    case 'level': {
      const window = rule.window ?? ''
      return rule.field === 'mean'
        ? u.mean[window]
        : rule.field === 'volume'
          ? u.volume[window]
          : u[rule.field]
    }
    case 'momentum_shift':
      return u.momentum
    case 'buzz_spike':
      return u.buzz
    case 'uncertainty_spike':
      return u.mean[rule.window ?? ALERTING_DEFAULTS.meanWindow]
  }
}

/** The value a rule watches on this update and the lines it must cross; undefined when absent. */
function read(rule: IndicatorRule, u: IndicatorUpdate): Reading | undefined {
  const value = watchedValue(rule, u)
  return value === undefined ? undefined : { ...watchOf(rule), value }
}

/** What names a line in its hysteresis key: the measure, the line and its hysteresis. */
const lineOf = (w: Watch, line: HysteresisLine) => ({
  measure: w.measure,
  line: line.line,
  hysteresis: line.hysteresis,
})

/**
 * The hysteresis fields the rules in force keep on this update's indicator: every line of every enabled
 * indicator rule watching its dimension and scope (its field, and the field it had before it named the
 * line), and the indicator's reading. evaluateIndicator reads no other, so the service fetches just
 * these, and its store forgets the others (the lines of rules removed or edited) once they have gone
 * unwritten for a grace in event time (the lines of another rules version running beside this one are
 * among them, and that version keeps writing them).
 *
 * Of the rules, not of this update's values: a rule keeps its lines on an update that lacks its value.
 * Aggregators of different window configs can publish the same indicator side by side (during a config
 * change, or on purpose); keyed by what one update carried, an update without the rule's window dropped
 * its disarmed line, and the rule fired again on the next update that had the window.
 */
export function hysteresisKeysFor(
  ruleSet: EvaluationRules,
  indicator: Pick<IndicatorUpdate, 'dimension' | 'scope'>,
): string[] {
  const keys: string[] = []
  const { dimension, scope } = indicator
  for (const rule of ruleSet.rules) {
    if (!rule.enabled || !isIndicatorRule(rule)) continue
    if (!watches(rule, indicator)) continue
    const w = watchOf(rule)
    for (const line of w.lines) {
      keys.push(hysteresisKey(rule, dimension, scope, line.side, lineOf(w, line)))
      keys.push(legacyHysteresisKey(rule, dimension, scope, line.side))
    }
  }
  if (keys.length > 0) keys.push(READING_FIELD)
  return keys
}

/** True when an update at asOfMs behind `count` headlines is older than `seen` (see stepHysteresis). */
const isOlder = (asOfMs: number, count: number, seen: { asOfMs: number; count?: number | undefined }) =>
  asOfMs < seen.asOfMs || (asOfMs === seen.asOfMs && seen.count !== undefined && count < seen.count)

/**
 * The indicator rules against one indicator update. Edge-triggered: a rule fires when the value
 * crosses its line and then stays quiet until the value has come back past the line by its
 * hysteresis: on an update, or during a silence of the scope before one (silence.ts). Pure: `state` is
 * read, never changed; the moved entries are returned.
 */
export function evaluateIndicator(
  ruleSet: EvaluationRules,
  update: IndicatorUpdate,
  state: HysteresisState,
  nowMs: number,
  options: IndicatorEvaluationOptions = {},
): IndicatorEvaluation {
  const out = createCollector(ALERTING_DEFAULTS.maxCandidatesPerEvaluation)
  const next: Record<string, HysteresisValue | null> = {}
  const model = options.model ?? DEFAULT_INDICATOR_MODEL
  const reading: IndicatorReading | undefined = indicatorReading(state[READING_FIELD])
  /** A line on this indicator is left disarmed: its reading is kept for that line's re-arming. */
  let disarmed = false
  const eventMs = Date.parse(update.asOf)
  const updatedMs = Date.parse(update.updatedAt)
  if (!Number.isFinite(eventMs) || !Number.isFinite(updatedMs))
    return { ...out.result(), stale: 0, state: next }
  const { dimension, scope } = update
  const ageMs = nowMs - eventMs
  const forgetAfterMs = options.forgetAfterMs ?? 0
  const forgotten = forgetAfterMs > 0 && ageMs > forgetAfterMs && nowMs - updatedMs > forgetAfterMs
  const maxEventAgeMs = options.maxEventAgeMs ?? 0
  const isStale = forgotten || (maxEventAgeMs > 0 && ageMs > maxEventAgeMs)
  let stale = 0

  // The scope's recent headlines, asked for only once an alert fires.
  let recent: readonly EvidenceHeadline[] | undefined
  const recentHeadlines = () => (recent ??= options.evidence?.(dimension, scope) ?? [])
  // When the data behind the alert entered the pipeline: the caller's, else the triggering headline's
  // where one is plausible. (Its event time stays the update's asOf, which the id's bucket is made of.)
  let enteredMs: number | undefined
  const enteredAt = () => {
    const given = options.ingestedAtMs ?? (update.ingestedAt ? Date.parse(update.ingestedAt) : undefined)
    if (given !== undefined && Number.isFinite(given)) return given
    enteredMs ??= triggerEntryMs(newestBy(recentHeadlines(), eventMs), updatedMs)
    return enteredMs
  }
  const evidenceFor = (
    side: 'up' | 'down' | 'activity',
  ): { evidence: AlertEvidence[]; scorerVersion: string | undefined } =>
    topEvidence(recentHeadlines(), side, eventMs)

  for (const rule of ruleSet.rules) {
    if (!rule.enabled || !isIndicatorRule(rule)) continue
    if (!watches(rule, update)) continue
    const quiet = rule.minVolume > 0 && !((update.volume[rule.volumeWindow] ?? 0) >= rule.minVolume)
    const r = read(rule, update)
    if (!r || !Number.isFinite(r.value)) continue
    for (const line of r.lines) {
      const key = hysteresisKey(rule, dimension, scope, line.side, lineOf(r, line))
      const legacy = legacyHysteresisKey(rule, dimension, scope, line.side)
      const prev = lineEntry(state[key]) ?? lineEntry(state[legacy])
      // The entry under its old name is read once, on upgrade, and deleted when the line's own is written:
      // kept, it would stand in for any line the rule is edited to later, which must start armed.
      const moved = (entry: HysteresisEntry) => {
        next[key] = entry
        if (state[legacy]) next[legacy] = null
        if (!entry.armed) disarmed = true
      }
      // Below the volume floor a line never fires; but one that fired re-arms there once the value is
      // back, and its entry follows every update while it is disarmed (what it read through a silence
      // is told from the last update it saw).
      if (quiet && (!prev || prev.armed)) continue
      // A disarmed line first asks what the indicator read during a silence before this update.
      const silent = prev && !prev.armed ? silentRange(r.of, prev, reading, update, model) : undefined
      const step = stepHysteresis(prev, r.value, eventMs, line, update.count, silent)
      if ('stale' in step) continue
      if (quiet) {
        // Re-armed (by this value or by a silence before it) or not, but never fired here: a crossing
        // below the floor waits, armed, for an update above it.
        moved(step.fire ? { ...step.next, armed: true } : step.next)
        continue
      }
      if (step.fire && isStale) {
        // Not sent, though the line was crossed: left disarmed, as if it had fired (see maxEventAgeMs).
        moved(step.next)
        stale++
        continue
      }
      if (step.fire && out.isFull()) {
        // Left out by the bound (counted as dropped): it stays armed, as a crossing held back by the
        // cooldown does, so the next update past the line raises it; disarmed, it was lost until re-armed.
        moved({ ...step.next, armed: true })
        out.drop()
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
          // IndicatorUpdate carries no scorer version: the first evidence headline's (one the alert lists),
          // never a process-wide one (a canary's headline on another scope named other scopes' alerts).
          scorerVersion: ev.scorerVersion ?? 'unknown',
        }),
        hysteresisKey: key,
      })
    }
  }
  // Past the caller's memory of the indicator: judged as if its state had expired (see forgetAfterMs).
  if (forgotten) return { candidates: [], dropped: 0, stale, state: {} }
  // Kept while a line on the indicator is disarmed, from the newest update (an older one moved nothing).
  if (disarmed && !(reading && isOlder(eventMs, update.count, reading)))
    next[READING_FIELD] = readingOf(update, model)
  return { ...out.result(), stale, state: next }
}

/**
 * The trigger's entry time if it entered before the update was made and at most maxTriggerLagMs before;
 * otherwise the update's own time.
 */
function triggerEntryMs(trigger: EvidenceHeadline | undefined, updatedMs: number): number {
  const t = trigger ? trigger.ingestedAtMs : Number.NaN
  return t <= updatedMs && updatedMs - t <= ALERTING_DEFAULTS.maxTriggerLagMs ? t : updatedMs
}

/** The newest headline (of those about the dimension) published by `asOfMs` (the later given on a tie), if any. */
function newestBy(headlines: readonly EvidenceHeadline[], asOfMs: number): EvidenceHeadline | undefined {
  let newest: EvidenceHeadline | undefined
  let newestMs = Number.NEGATIVE_INFINITY
  for (const h of headlines) {
    const t = h.publishedAtMs
    if (!(t <= asOfMs) || t < newestMs) continue
    newest = h
    newestMs = t
  }
  return newest
}

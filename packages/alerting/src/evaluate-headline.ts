import type { ScoredHeadline } from '@tradepulse/contracts'
import { scopesOf } from '@tradepulse/indicators'
import {
  type AlertCandidate,
  createCandidate,
  createCollector,
  type Evaluation,
  type EvaluationRules,
} from './alert-candidate.ts'
import { evidenceOf, headlineValue } from './alert-evidence.ts'
import { alertId } from './alert-id.ts'
import { headlineMessage } from './alert-message.ts'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'
import type { HeadlineShockRule, UncertaintySpikeRule } from './rule-schema.ts'
import { matchesScope } from './scope-filter.ts'

/**
 * With eventTypes: the headline carries one of them, not negated (and not threatened, unless
 * includeThreats). Without: any headline, except, when includeThreats is false, one whose events on
 * `dimension` are all threatened ("China says it could retaliate if Washington raises tariffs"
 * scores like a measure taken, but is talk).
 */
function hasWatchedEvent(rule: HeadlineShockRule, h: ScoredHeadline, dimension: string): boolean {
  if (!rule.eventTypes) {
    if (rule.includeThreats) return true
    const own = h.events.filter((e) => e.dimension === dimension)
    return own.length === 0 || own.some((e) => !e.threat)
  }
  return h.events.some(
    (e) => rule.eventTypes!.includes(e.type) && !e.negated && (rule.includeThreats || !e.threat),
  )
}

/** The watched event type listed first in the rule's eventTypes that the headline carries (as counted above). */
function keyEvent(rule: HeadlineShockRule, h: ScoredHeadline): string | undefined {
  return rule.eventTypes!.find((type) =>
    h.events.some((e) => e.type === type && !e.negated && (rule.includeThreats || !e.threat)),
  )
}

/**
 * Whether a rule that counts threats (includeThreats) fires on this headline for threatened events alone:
 * every event it is keyed by is a threat, none a measure taken. The events of the key event type with
 * cooldownBy event, else those of the eventTypes, else the headline's events on `dimension`; negated
 * events do not count. A headline with none of them (a rule without eventTypes) is not a threat.
 */
function threatOnly(
  rule: HeadlineShockRule,
  h: ScoredHeadline,
  dimension: string,
  eventType?: string,
): boolean {
  if (!rule.includeThreats) return false
  const keyed = h.events.filter(
    (e) =>
      !e.negated &&
      (eventType !== undefined
        ? e.type === eventType
        : rule.eventTypes
          ? rule.eventTypes.includes(e.type)
          : e.dimension === dimension),
  )
  return keyed.length > 0 && keyed.every((e) => e.threat)
}

/** The stream suffix of an alert raised by threatened events alone (see asThreat). */
export const THREAT_STREAM_SUFFIX = '|m=threat'

/**
 * The candidate of a threat (threatOnly) on a stream of its own: `<stream>|m=threat`, and an id made from
 * that stream. A threat ("US and China expect to agree a deal") then neither cools down the measure taken
 * hours later ("US and China sign a deal") nor takes its alert id in a shared time bucket, and the measure
 * does not hold back a threat. Alerts raised by a measure taken keep their stream and id as before.
 */
function asThreat(c: AlertCandidate, cooldownMs: number, eventMs: number, eventRef: string): AlertCandidate {
  const cooldownKey = `${c.cooldownKey}${THREAT_STREAM_SUFFIX}`
  return {
    ...c,
    cooldownKey,
    alert: { ...c.alert, id: alertId({ streamKey: cooldownKey, eventMs, cooldownMs, eventRef }) },
  }
}

function isRelevantEnough(rule: UncertaintySpikeRule, h: ScoredHeadline): boolean {
  if (!rule.relevantTo) return true
  return rule.relevantTo.some((d) => h.scores[d].label !== null && h.scores[d].relevance >= rule.minRelevance)
}

export type HeadlineEvaluationOptions = {
  /**
   * A headline published more than this long before `nowMs` raises nothing: its alerts are counted in
   * `stale` instead (a feed re-sending an old article, a replay into a live cluster). 0 or absent: off.
   */
  maxEventAgeMs?: number
  /**
   * How long the caller remembers an alert it sent (the alerter's dedup window). A headline scored longer
   * ago than this, by its headlines.scored record's timestamp (`recordMs`) and its scoredAt alike, and
   * published longer ago too, raises nothing: its alerts are counted in `stale`. Such a headline is read
   * now only by a consumer that starts from the beginning of headlines.scored, which keeps a month: the
   * alerts it raised when it was scored went out then and are no longer remembered, so they would go out
   * again under the same ids, paging the desks with old news. A replay's headlines are scored as it runs
   * (whatever time it gives them), and are never held back by this. A live consumer reading a headline
   * late (behind after a restart, an outage, a burst) cannot be told from one reading it again: this is
   * also how far behind the caller may run, so keep it well above any lag to ride out; it cannot be made
   * longer than the memory of sent alerts without letting the re-reads page again. 0 or absent: off.
   */
  forgetAfterMs?: number
  /**
   * When the headline's headlines.scored record was appended: its Kafka timestamp, the broker's clock on a
   * LogAppendTime topic, the scorer's (as scoredAt) on a CreateTime one. Absent: scoredAt alone tells
   * when it was scored (see forgetAfterMs).
   */
  recordMs?: number
}

/** What a headline raised, and the alerts it would have raised had it not been stale. */
export type HeadlineEvaluation = Evaluation & { stale: number }

/**
 * The headline rules (headline_shock, uncertainty_spike with source headline) against one scored
 * headline: one candidate per matching rule × dimension × scope the headline mentions. Pure: ids and
 * bucket come from publishedAt, latency from ingestedAt to `nowMs` (a replay's latency stays small: the
 * headline's age is `nowMs` − publishedAt, which `maxEventAgeMs` bounds).
 */
export function evaluateHeadline(
  ruleSet: EvaluationRules,
  scored: ScoredHeadline,
  nowMs: number,
  options: HeadlineEvaluationOptions = {},
): HeadlineEvaluation {
  const evaluation = raisedBy(ruleSet, scored, nowMs)
  const publishedMs = Date.parse(scored.publishedAt)
  const maxAge = options.maxEventAgeMs ?? 0
  // Each time must be known and that old (a time not given, or past `nowMs`, keeps the headline live).
  const forgetAfterMs = options.forgetAfterMs ?? 0
  const forgotten = (ms: number) => nowMs - ms > forgetAfterMs
  const readAgain =
    forgetAfterMs > 0 &&
    forgotten(publishedMs) &&
    forgotten(Date.parse(scored.scoredAt)) &&
    (options.recordMs === undefined || forgotten(options.recordMs))
  if (readAgain || (maxAge > 0 && nowMs - publishedMs > maxAge))
    return { candidates: [], dropped: 0, stale: evaluation.candidates.length + evaluation.dropped }
  return { ...evaluation, stale: 0 }
}

/** Severities from the most to the least urgent: the order the bound keeps candidates in. */
const URGENCY = { critical: 0, warning: 1, info: 2 } as const

type Ordered = { rules: EvaluationRules['rules']; place: ReadonlyMap<string, number> | undefined }

/**
 * The rules by severity, the most urgent first, file order within one, and each rule id's place in the
 * file (undefined when the file is already in that order); once per rule set.
 */
const byUrgency = new WeakMap<EvaluationRules['rules'], Ordered>()
function urgentFirst(rules: EvaluationRules['rules']): Ordered {
  let ordered = byUrgency.get(rules)
  if (!ordered) {
    const sorted = [...rules].sort((a, b) => URGENCY[a.severity] - URGENCY[b.severity])
    ordered = {
      rules: sorted,
      place: sorted.every((r, i) => r === rules[i]) ? undefined : new Map(rules.map((r, i) => [r.id, i])),
    }
    byUrgency.set(rules, ordered)
  }
  return ordered
}

function raisedBy(ruleSet: EvaluationRules, scored: ScoredHeadline, nowMs: number): Evaluation {
  const out = createCollector(ALERTING_DEFAULTS.maxCandidatesPerEvaluation)
  const eventMs = Date.parse(scored.publishedAt)
  const ingestedAtMs = Date.parse(scored.ingestedAt)
  if (!Number.isFinite(eventMs) || !Number.isFinite(ingestedAtMs)) return out.result()
  const scopes = scopesOf(scored)
  const base = {
    rulesVersion: ruleSet.rulesVersion,
    eventMs,
    eventRef: scored.id,
    publishedAt: scored.publishedAt,
    ingestedAtMs,
    nowMs,
    scorerVersion: scored.scorerVersion,
  }

  // The most urgent rules first: past the bound a headline's alerts are dropped for good (counted), and
  // a critical rule must not lose its alert to info rules written above it in the file. What is kept is
  // then put back in file order (below), so under the bound nothing changes.
  const ordered = urgentFirst(ruleSet.rules)
  for (const rule of ordered.rules) {
    if (!rule.enabled) continue
    if (rule.kind === 'headline_shock') {
      for (const dimension of rule.dimensions) {
        if (!hasWatchedEvent(rule, scored, dimension)) continue
        const v = headlineValue(scored, dimension)
        if (!v || v.relevance < rule.minRelevance || Math.abs(v.value) < rule.threshold) continue
        const confidence = dimension === 'market' ? 1 : scored.scores[dimension].confidence
        if (confidence < rule.minConfidence) continue
        const side = v.value < 0 ? 'down' : 'up'
        if (rule.direction !== 'both' && rule.direction !== side) continue
        const threshold = side === 'down' ? -rule.threshold : rule.threshold
        const eventType = rule.cooldownBy === 'event' ? keyEvent(rule, scored) : undefined
        const threat = threatOnly(rule, scored, dimension, eventType)
        for (const scope of scopes) {
          if (!matchesScope(rule.scopes, scope)) continue
          const candidate = createCandidate({
            ...base,
            rule,
            dimension,
            scope,
            side,
            value: v.value,
            threshold,
            ...(eventType ? { eventType } : {}),
            message: headlineMessage({
              dimension,
              scope,
              headline: scored.headline,
              value: v.value,
              threshold,
            }),
            evidence: [evidenceOf(scored, dimension, v.value)],
          })
          out.add(threat ? asThreat(candidate, rule.cooldownMs, eventMs, scored.id) : candidate)
        }
      }
    } else if (rule.kind === 'uncertainty_spike' && rule.source === 'headline') {
      const value = scored.scores.uncertainty
      if (value < rule.threshold || !isRelevantEnough(rule, scored)) continue
      for (const scope of scopes) {
        if (!matchesScope(rule.scopes, scope)) continue
        out.add(
          createCandidate({
            ...base,
            rule,
            dimension: 'uncertainty',
            scope,
            side: 'up',
            value,
            threshold: rule.threshold,
            message: headlineMessage({
              dimension: 'uncertainty',
              scope,
              headline: scored.headline,
              value,
              threshold: rule.threshold,
            }),
            evidence: [evidenceOf(scored, 'uncertainty', value)],
          }),
        )
      }
    }
  }
  const result = out.result()
  const place = ordered.place
  // A stable sort by each rule's place: the candidates of one rule keep their order (dimensions, scopes).
  if (place) result.candidates.sort((a, b) => (place.get(a.alert.rule) ?? 0) - (place.get(b.alert.rule) ?? 0))
  return result
}

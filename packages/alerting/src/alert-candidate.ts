import type { Alert, Dimension, Scope } from '@tradepulse/contracts'
import { alertId } from './alert-id.ts'
import { type AlertSide, cooldownKey } from './alert-keys.ts'
import type { RuleSet } from './parse-rules.ts'
import type { Rule } from './rule-schema.ts'

/**
 * An alert the rules want to raise. The service decides whether it goes out: it sets `cooldownKey`
 * atomically for `cooldownMs` (skip when already set), then publishes `alert`.
 */
export type AlertCandidate = {
  alert: Alert
  cooldownKey: string
  cooldownMs: number
  /**
   * An indicator rule's line the candidate disarmed (its field in the evaluation's `state`): the
   * service arms it again when the cooldown holds the alert back, so the alert is raised again once
   * the cooldown is over if the value is still past the line.
   */
  hysteresisKey?: string
}

/** What an evaluation raised; `dropped` counts candidates beyond the per-evaluation bound. */
export type Evaluation = { candidates: AlertCandidate[]; dropped: number }

/** The parts of a RuleSet evaluation needs (a successful parseRules result fits). */
export type EvaluationRules = Pick<RuleSet, 'rules' | 'rulesVersion'>

export type CandidateInput = {
  rule: Rule
  rulesVersion: string
  dimension: Dimension
  scope: Scope
  side: AlertSide
  value: number
  threshold: number
  message: string
  evidence: Alert['evidence']
  eventMs: number
  eventRef: string
  publishedAt: string
  ingestedAtMs: number
  nowMs: number
  scorerVersion: string
  /** The event type the alert's stream is keyed by (headline rules with cooldownBy: event). */
  eventType?: string
}

/** Assembles the Alert: deterministic id from the event time, latency from entry into the pipeline. */
export function createCandidate(c: CandidateInput): AlertCandidate {
  const key = cooldownKey(c.rule, c.dimension, c.scope, c.side, c.eventType)
  const alert: Alert = {
    id: alertId({ streamKey: key, eventMs: c.eventMs, cooldownMs: c.rule.cooldownMs, eventRef: c.eventRef }),
    rule: c.rule.id,
    ruleKind: c.rule.kind,
    severity: c.rule.severity,
    dimension: c.dimension,
    scope: c.scope,
    direction: c.side,
    value: c.value,
    threshold: c.threshold,
    message: c.message,
    evidence: c.evidence,
    publishedAt: c.publishedAt,
    ingestedAt: new Date(c.ingestedAtMs).toISOString(),
    detectedAt: new Date(c.nowMs).toISOString(),
    // From entry into the pipeline, not publication: a replay of old news must not report months.
    // Clamped at 0 against clock skew between the ingest and alerter hosts.
    latencyMs: Math.max(0, c.nowMs - c.ingestedAtMs),
    scorerVersion: c.scorerVersion,
    rulesVersion: c.rulesVersion,
  }
  return { alert, cooldownKey: key, cooldownMs: c.rule.cooldownMs }
}

/** Collects candidates up to a bound, counting the rest. */
export function createCollector(max: number) {
  const candidates: AlertCandidate[] = []
  let dropped = 0
  return {
    add(c: AlertCandidate) {
      if (candidates.length < max) candidates.push(c)
      else dropped++
    },
    /** True when the next candidate would be dropped. */
    isFull: () => candidates.length >= max,
    /** Counts one candidate left out without making it (see isFull). */
    drop() {
      dropped++
    },
    result: (): Evaluation => ({ candidates, dropped }),
  }
}

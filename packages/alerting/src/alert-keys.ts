import type { Dimension, Scope } from '@tradepulse/contracts'
import { indicatorKey } from '@tradepulse/indicators'

export type AlertSide = 'up' | 'down'

/**
 * `<rule>|<dimension>|<kind>:<id>|<side>`: what one alert stream is about. Logical keys only: the
 * service adds its prefix and hash tags. Rule ids cannot contain `|`, and scope ids are escaped by
 * indicatorKey, so two different streams never share a key.
 */
function streamKey(ruleId: string, dimension: Dimension, scope: Scope, side: AlertSide): string {
  return `${ruleId}|${indicatorKey(dimension, scope)}|${side}`
}

/**
 * The key the service sets atomically (SET NX PX cooldownMs) before publishing. Per dimension and side,
 * so a supply-chain alert does not silence a tariff one, nor an easing the escalation before it; and,
 * for a rule that cools down by event (cooldownBy: event), per event type, so a retaliation is not
 * held back by the tariff rise before it (`|ev=<type>`).
 */
export function cooldownKey(
  rule: { id: string },
  dimension: Dimension,
  scope: Scope,
  side: AlertSide,
  eventType?: string,
): string {
  const key = streamKey(rule.id, dimension, scope, side)
  return eventType === undefined ? key : `${key}|ev=${eventType}`
}

/**
 * The field of one hysteresis entry (one line of one indicator rule on one indicator). It names the line
 * too (what is measured, where the line is, its hysteresis): a rule edited to another line starts armed
 * on it, rather than carrying over a disarmed state that would miss the first crossing of the new line.
 */
export function hysteresisKey(
  rule: { id: string },
  dimension: Dimension,
  scope: Scope,
  side: AlertSide,
  line: { measure: string; line: number; hysteresis: number },
): string {
  return `${streamKey(rule.id, dimension, scope, side)}|${line.measure}@${line.line}~${line.hysteresis}`
}

/**
 * The field the entry of a line had before it named the line (up to session 19): read when the new one
 * is missing, so an upgrade does not re-arm every line (each would fire again on its next update).
 */
export function legacyHysteresisKey(
  rule: { id: string },
  dimension: Dimension,
  scope: Scope,
  side: AlertSide,
): string {
  return streamKey(rule.id, dimension, scope, side)
}

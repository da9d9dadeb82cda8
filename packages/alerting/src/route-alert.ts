import type { Alert, Severity } from '@tradepulse/contracts'
import type { Desk } from './desk-schema.ts'
import { matchesScope } from './scope-filter.ts'

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 }

/** True when `severity` is at least `min`. */
export function isAtLeast(severity: Severity, min: Severity): boolean {
  return SEVERITY_RANK[severity] >= SEVERITY_RANK[min]
}

/** The desks an alert goes to, in the order of the desks file: dimension, scope, severity and rule must match. */
export function routeAlert(
  alert: Pick<Alert, 'dimension' | 'scope' | 'severity' | 'rule'>,
  desks: readonly Desk[],
): string[] {
  const out: string[] = []
  for (const desk of desks) {
    if (!desk.dimensions.includes(alert.dimension)) continue
    if (!isAtLeast(alert.severity, desk.minSeverity)) continue
    if (desk.rules && !desk.rules.includes(alert.rule)) continue
    if (!matchesScope(desk.scopes, alert.scope)) continue
    out.push(desk.id)
  }
  return out
}

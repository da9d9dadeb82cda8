import { Alert, contractProblem, cutForLog, LIMITS } from '@tradepulse/contracts'

/**
 * What is wrong with an alert about to be claimed and published, naming the field (`ingestedAt: Invalid ISO
 * datetime`, `rulesVersion: Too big: expected string to have <=128 characters`), or undefined when nothing
 * is: the whole strict Alert contract, by acceptsAs (one function of straight-line checks made from the
 * schema at start; 0.3 to 0.5 µs an alert, a fifth to a quarter of the JSON.stringify every alert costs
 * anyway, under 1 % of the handler's time per alert; zod's safeParse is 1.6 to 2.1 µs:
 * `node services/alerter/src/validation-cost.ts`), zod run only on an alert it refuses, to name the
 * fields. The readers already bound what a record can bring (ids, scope ids, versions, numbers); what is
 * left is what the alerter makes of it: the rules in force (ids and versions past their bounds) and its
 * own arithmetic (a NaN). (Times it writes again in UTC are in range: the readers refuse a time outside
 * the years 1 to 9999 in UTC, packages/contracts/src/iso-time.ts.)
 */
export const alertProblem: (alert: Alert) => string | undefined = contractProblem(Alert)

/** An alert that breaks the contract, as a dead letter's message and the error line name it. */
export function invalidAlertMessage(alert: Alert, problem: string): string {
  const scope =
    alert.scope &&
    `${cutForLog(String(alert.scope.kind), 16)}:${cutForLog(String(alert.scope.id), LIMITS.maxScopeIdChars)}`
  return `${cutForLog(problem, 1_000)} (alert ${cutForLog(String(alert.id), LIMITS.maxAlertIdChars)} of rule ${cutForLog(String(alert.rule), LIMITS.maxRuleIdChars)} on ${scope}, rules ${cutForLog(String(alert.rulesVersion), LIMITS.maxVersionChars)}, breaks the Alert contract: not published, to alerts.v1 or any desk topic)`
}

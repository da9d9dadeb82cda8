export type { AlertCandidate, Evaluation, EvaluationRules } from './alert-candidate.ts'
export {
  type AlertEvidence,
  type EvidenceHeadline,
  evidenceHeadline,
  topEvidence,
} from './alert-evidence.ts'
export { type AlertIdInput, alertId, timeBucket } from './alert-id.ts'
export { type AlertSide, cooldownKey, hysteresisKey } from './alert-keys.ts'
export { formatPair } from './alert-message.ts'
export * from './alerting-defaults.ts'
export * from './desk-schema.ts'
export * from './evaluate-headline.ts'
export * from './evaluate-indicator.ts'
export * from './hysteresis.ts'
export * from './parse-desks.ts'
export * from './parse-rules.ts'
export { type ConfigError, type ConfigFormat, formatFromPath } from './parse-text.ts'
export * from './route-alert.ts'
export * from './rule-files.ts'
export * from './rule-schema.ts'
export * from './scope-filter.ts'
export * from './silence.ts'

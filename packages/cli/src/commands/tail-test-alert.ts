import type { Alert } from '@tradepulse/contracts'

/** An alert for the tail's tests: a critical tariff alert on CN, with whatever `over` sets. */
export const testAlert = (over: Partial<Alert> = {}): Alert => ({
  id: 'a1',
  rule: 'trade_measure_enacted',
  ruleKind: 'headline',
  severity: 'critical',
  dimension: 'tariff',
  scope: { kind: 'region', id: 'CN' },
  direction: 'down',
  value: -0.8,
  threshold: -0.75,
  message: 'Tariff escalation on CN',
  evidence: [],
  publishedAt: '2026-03-02T14:30:00.000Z',
  ingestedAt: '2026-12-05T10:00:00.000Z',
  detectedAt: '2026-12-05T10:00:00.012Z',
  latencyMs: 12,
  scorerVersion: 's',
  rulesVersion: 'r',
  ...over,
})

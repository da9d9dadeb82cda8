import type { Alert } from '@tradepulse/contracts'

/**
 * An alert for tests: a critical tariff alert on CN with one evidence headline, named `id`, with
 * whatever `over` sets.
 */
export const testAlert = (id: string, over: Partial<Alert> = {}): Alert => ({
  id,
  rule: 'trade_measure_enacted',
  ruleKind: 'headline',
  severity: 'critical',
  dimension: 'tariff',
  scope: { kind: 'region', id: 'CN' },
  direction: 'down',
  value: -0.8,
  threshold: -0.75,
  message: 'Tariff escalation on CN',
  evidence: [
    {
      headlineId: `h-${id}`,
      headline: 'US raises tariffs on Chinese steel',
      score: -0.8,
      cues: ['raises + tariffs'],
    },
  ],
  publishedAt: '2026-03-02T14:30:00.000Z',
  ingestedAt: '2026-03-02T14:30:00.005Z',
  detectedAt: '2026-03-02T14:30:00.012Z',
  latencyMs: 7,
  scorerVersion: 'scoring-test',
  rulesVersion: 'rules-test',
  ...over,
})

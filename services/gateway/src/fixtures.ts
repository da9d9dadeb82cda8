import type { Alert, IndicatorUpdate } from '@tradepulse/contracts'
import type { Contribution } from '@tradepulse/indicators'
import { parseEventId } from './alert-stream.ts'

/** An alert for tests: `id` and whatever else `over` sets. */
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

/** The alert id an SSE event id names (its boot id dropped; a bare alert id as it is). */
export const alertIdOf = (eventId: string | undefined) =>
  eventId === undefined ? undefined : (parseEventId(eventId)?.alertId ?? eventId)

/** A tariff contribution to a region for tests. */
export const tariffIn = (
  region: string,
  headlineId: string,
  eventMs: number,
  value: number,
): Contribution => ({
  dimension: 'tariff',
  scope: { kind: 'region', id: region },
  headlineId,
  eventMs,
  value,
  weight: 1,
  sign: value < 0 ? -1 : value > 0 ? 1 : 0,
})

/** What the API's JSON answers hold, for the tests' reading. */
export type ApiBody = {
  alerts: Alert[]
  held: number
  error: string
  message: string
  requestId: string
  asOf: string
  namespace: string
  indicators: IndicatorUpdate[]
  indicator: IndicatorUpdate | null
  withheld?: { key: string; dimension: string; scope: { kind: string; id: string }; reason: string }[]
}

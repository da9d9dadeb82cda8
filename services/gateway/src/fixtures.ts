import type { Alert, IndicatorUpdate } from '@tradepulse/contracts'
import type { Contribution } from '@tradepulse/indicators'
import { parseEventId } from './alert-stream.ts'

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

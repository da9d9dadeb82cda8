import { Alert } from '@tradepulse/contracts'
import { type BatchHandler, type Outcome, parseJsonRecord } from '@tradepulse/platform'
import type { AlertFeed } from './alert-feed.ts'

/**
 * alerts → the gateway's feed (and through it every open stream). An alert already held is dropped as a
 * duplicate; a record that is not an alert goes to the dlq with the reason, as on every topic.
 */
export function createGatewayHandler(deps: {
  feed: AlertFeed
  onAlert?: (fresh: boolean) => void
}): BatchHandler {
  return async (records) =>
    records.map((r): Outcome => {
      const parsed = parseJsonRecord(Alert, r.value)
      if (!parsed.ok) return { kind: 'dlq', reason: parsed.reason, message: parsed.message }
      const fresh = deps.feed.add(parsed.value)
      deps.onAlert?.(fresh)
      return fresh ? { kind: 'ok' } : { kind: 'drop', reason: 'duplicate' }
    })
}

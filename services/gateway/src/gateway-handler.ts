import { Alert } from '@tradepulse/contracts'
import { type BatchHandler, type Logger, type Outcome, parseJsonRecord } from '@tradepulse/platform'
import type { AlertFeed } from './alert-feed.ts'

/**
 * alerts → the gateway's feed (and through it every open stream). An alert already held is dropped as a
 * duplicate. A record that is not an alert is dropped with an error line naming its origin and what is
 * wrong (`tradepulse_outcomes_total{outcome="drop",reason}` counts it): the gateway reads a topic it does
 * not own, from its oldest record at every start, and a dead letter would be sent again at each start.
 */
export function createGatewayHandler(deps: {
  feed: AlertFeed
  log: Logger
  onAlert?: (result: 'new' | 'duplicate' | 'invalid') => void
}): BatchHandler {
  return async (records) =>
    records.map((r): Outcome => {
      const parsed = parseJsonRecord(Alert, r.value)
      // An event id is one line of the stream: a line break would let a record write its own fields.
      const bad = !parsed.ok
        ? parsed
        : /[\r\n]/.test(parsed.value.id)
          ? { reason: 'schema_invalid', message: 'id: holds a line break' }
          : undefined
      if (bad || !parsed.ok) {
        const { reason, message } = bad ?? { reason: 'schema_invalid', message: 'not an alert' }
        deps.log.error(
          { origin: { topic: r.topic, partition: r.partition, offset: r.offset }, reason, message },
          'not an alert: skipped',
        )
        deps.onAlert?.('invalid')
        return { kind: 'drop', reason }
      }
      const fresh = deps.feed.add(parsed.value)
      deps.onAlert?.(fresh ? 'new' : 'duplicate')
      return fresh ? { kind: 'ok' } : { kind: 'drop', reason: 'duplicate' }
    })
}

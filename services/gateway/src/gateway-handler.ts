import { AlertReader } from '@tradepulse/contracts'
import { type BatchHandler, type Logger, type Outcome, parseJsonRecord } from '@tradepulse/platform'
import type { AlertFeed } from './alert-feed.ts'

/**
 * The largest alert record the gateway holds, in bytes of its value. An alert the alerter makes weighs
 * about 0.5 to 2 KB, and at most about 12 KB: up to 3 evidence headlines of at most 1,000 characters
 * (3 bytes each at worst in UTF-8), 8 cues each, ids of at most 200 characters. A record above this is no
 * alert of ours; held, it would cost the feed's memory and every GET /api/alerts
 * (GATEWAY_RECENT_ALERTS of them: at most 64 MB at the default 1,000, not 1 GB).
 */
export const MAX_ALERT_BYTES = 64 * 1024

/**
 * Why an alert id cannot be the id of a server-sent event, which a reader resumes after (Last-Event-ID),
 * or undefined. Empty: `id:` with nothing after it sets the reader's last event id to none, so its next
 * reconnect resumes nowhere and misses what was sent meanwhile, with no gap event (and two such alerts
 * pass for one). A NUL: a reader ignores the whole field. A line break: it would end the field, letting
 * the record write fields of its own.
 */
function eventIdProblem(id: string): string | undefined {
  if (id === '') return 'empty'
  if (id.includes('\u0000')) return 'holds a NUL (U+0000)'
  if (/[\r\n]/.test(id)) return 'holds a line break'
  return undefined
}

/**
 * alerts → the gateway's feed (and through it every open stream). An alert already held is dropped as a
 * duplicate. A record that is not an alert, or is larger than MAX_ALERT_BYTES (`too_large`), is dropped
 * with an error line naming its origin and what is wrong (`tradepulse_outcomes_total{outcome="drop",reason}` counts it): the gateway reads a topic it does
 * not own, from its oldest record at every start, and a dead letter would be sent again at each start.
 */
export function createGatewayHandler(deps: {
  feed: AlertFeed
  log: Logger
  onAlert?: (result: 'new' | 'duplicate' | 'invalid') => void
}): BatchHandler {
  return async (records) =>
    records.map((r): Outcome => {
      const size = r.value?.length ?? 0
      if (size > MAX_ALERT_BYTES) {
        const message = `record is ${size} bytes; the limit is ${MAX_ALERT_BYTES}`
        deps.log.error(
          {
            origin: { topic: r.topic, partition: r.partition, offset: r.offset },
            reason: 'too_large',
            message,
          },
          'not an alert: skipped',
        )
        deps.onAlert?.('invalid')
        return { kind: 'drop', reason: 'too_large' }
      }
      const parsed = parseJsonRecord(AlertReader, r.value)
      const idProblem = parsed.ok ? eventIdProblem(parsed.value.id) : undefined
      const bad = !parsed.ok
        ? parsed
        : idProblem
          ? { reason: 'schema_invalid', message: `id: ${idProblem}` }
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
      // Weighed as its record: the feed's byte budget counts what Kafka carried. Its offset tells a
      // stream opened during the catch-up whether it was written after the start, its timestamp a stream
      // resumed from another gateway's order what to send again (alert-stream.ts).
      const fresh = deps.feed.add(parsed.value, size, {
        partition: r.partition,
        offset: Number(r.offset),
        timestamp: r.timestamp,
      })
      deps.onAlert?.(fresh ? 'new' : 'duplicate')
      return fresh ? { kind: 'ok' } : { kind: 'drop', reason: 'duplicate' }
    })
}

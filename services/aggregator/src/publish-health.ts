import type { Clock } from '@tradepulse/contracts'
import {
  faultReason,
  type HealthCheck,
  healthTransitions,
  type Logger,
  recordRefusal,
} from '@tradepulse/platform'

/**
 * Whether indicator updates reach Kafka, for the worker's health. A batch whose updates Kafka does not
 * take holds them back and completes (the trailing edge sends them again every tick), so the consumer
 * stays healthy however long the indicators topic is out of reach: this check is what says so.
 *
 * Publishing is failing from the start of the first send that failed for a fault (after the producer's
 * own retries) until a send is acknowledged; a send still under way counts from its start (a broker that
 * takes a request and never answers holds it for the producer's request timeout, again at each retry).
 * Past `failingMs` of either, the check is degraded and not ready (a fault being waited out, as the
 * consumer's own; not failed: a restart mends nothing the producer's retries do not). A record Kafka
 * refuses is Kafka answering: no fault of publishing (counted apart, tradepulse_indicator_updates_refused_total).
 *
 * `clock` is a monotonic one (the aggregator's): on the wall clock, one set back by an hour left a
 * failure unreported for that hour, and one set forward reported a healthy publisher as failing.
 */
export function createPublishHealth(options: { failingMs: number; clock: Clock; log?: Logger }) {
  const { failingMs, clock } = options
  const transitions = options.log && healthTransitions(options.log, 'indicator publish')
  /** Start (ms of `clock`) of each send under way. */
  const underWay = new Map<number, number>()
  let next = 0
  let failingSince: number | undefined
  let lastErr: unknown
  return {
    /** Runs one send, noting its start and how it ended; `onFault` is told of a failure for a fault. */
    async track<T>(send: () => Promise<T>, onFault?: (err: unknown) => void): Promise<T> {
      const id = next++
      const startMs = clock.now()
      underWay.set(id, startMs)
      try {
        const out = await send()
        failingSince = undefined
        return out
      } catch (err) {
        if (recordRefusal(err)) failingSince = undefined
        else {
          if (failingSince === undefined || startMs < failingSince) failingSince = startMs
          lastErr = err
          onFault?.(err)
        }
        throw err
      } finally {
        underWay.delete(id)
      }
    },
    check: (async () => {
      const now = clock.now()
      let oldest = Number.POSITIVE_INFINITY
      for (const startMs of underWay.values()) if (startMs < oldest) oldest = startMs
      const failing = failingSince ?? Number.POSITIVE_INFINITY
      const since = Math.min(failing, oldest)
      if (now - since < failingMs) {
        transitions?.ok()
        return { status: 'ok', ready: true }
      }
      const reason = failing <= oldest ? faultReason(lastErr) : 'send under way'
      transitions?.failing(reason, failing <= oldest ? lastErr : undefined)
      return {
        status: 'degraded',
        ready: false,
        detail: `indicator updates not published for ${Math.round(now - since)} ms: ${reason}`,
      }
    }) satisfies HealthCheck,
  }
}
export type PublishHealth = ReturnType<typeof createPublishHealth>

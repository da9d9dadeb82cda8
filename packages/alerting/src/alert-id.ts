import { createHash } from 'node:crypto'

export type AlertIdInput = {
  /** The stream: cooldownKey(rule, dimension, scope, side). */
  streamKey: string
  /** Event time (publishedAt of a headline, asOf of an indicator), never the clock: replays match. */
  eventMs: number
  cooldownMs: number
  /** Names the event when cooldownMs is 0 and every event is its own bucket (headline id, asOf). */
  eventRef: string
}

/**
 * The time bucket of an alert: event time divided by the rule's cooldown, so everything one cooldown
 * would suppress shares an id and downstream consumers deduplicate it.
 */
export function timeBucket(eventMs: number, cooldownMs: number, eventRef: string): string {
  return cooldownMs > 0 ? `b${Math.floor(eventMs / cooldownMs)}` : `e${eventRef}`
}

/** Deterministic alert id: the same stream and bucket give the same id on any replay or redelivery. */
export function alertId(input: AlertIdInput): string {
  const bucket = timeBucket(input.eventMs, input.cooldownMs, input.eventRef)
  return createHash('sha256').update(`${input.streamKey}\n${bucket}`).digest('hex').slice(0, 32)
}

import { recordRefusal } from './batch-processor.ts'
import { acknowledgedBefore } from './produce.ts'
import type { OutRecord } from './records.ts'

/** What sendFindingRefused came to. */
export interface FoundRefused {
  /**
   * The records Kafka acknowledged: all but the refused ones, or with a fault, those acknowledged before
   * it (those sent alone included).
   */
  acknowledged: Set<OutRecord>
  /** The records Kafka refused for good when sent alone, with the Kafka error type of each refusal. */
  refused: Map<OutRecord, string>
  /** A fault that is no refusal (Kafka down, a timeout), which stopped the sends. */
  fault?: unknown
}

/**
 * Sends `records` with `send` (produceAll's way: acknowledgedBefore tells what a failed call had written).
 * When Kafka refuses a record for good (recordRefusal: too large for its topic, an invalid record), the
 * request's error does not say which one, and sending the same request again can never succeed: the
 * records not acknowledged are sent again one at a time with `sendAlone` (`send` by default), in order,
 * to find out, so the others still go out. Those of a failed request that some broker had written may go
 * out twice. Never rejects: a fault that is no refusal ends the sends and is returned with what was
 * acknowledged and refused before it.
 *
 * What was acknowledged is returned, never recorded on the error: a ProduceQueue rejects every caller of
 * a failed request with the same error object, and a second caller's records would replace the first's.
 */
export async function sendFindingRefused(
  send: (records: OutRecord[]) => Promise<void>,
  records: OutRecord[],
  sendAlone: (records: OutRecord[]) => Promise<void> = send,
): Promise<FoundRefused> {
  const refused = new Map<OutRecord, string>()
  try {
    await send(records)
    return { acknowledged: new Set(records), refused }
  } catch (err) {
    const acknowledged = new Set(acknowledgedBefore(err, records))
    if (recordRefusal(err) === undefined) return { acknowledged, refused, fault: err }
    for (const r of records) {
      if (acknowledged.has(r)) continue
      try {
        await sendAlone([r])
        acknowledged.add(r)
      } catch (alone) {
        const refusal = recordRefusal(alone)
        if (refusal === undefined) return { acknowledged, refused, fault: alone }
        refused.set(r, refusal)
      }
    }
    return { acknowledged, refused }
  }
}

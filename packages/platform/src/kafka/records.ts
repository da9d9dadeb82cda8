/** A consumed record, independent of the bus it came from (Kafka or in-memory). */
export type InRecord = {
  topic: string
  partition: number
  offset: string
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, string>
  /** The record's timestamp, in ms since the epoch. */
  timestamp: number
}

export type OutRecord = {
  topic: string
  key: string | null
  value: string | Buffer
  headers?: Record<string, string>
  /** Record timestamp in ms; the broker's time when absent. */
  timestamp?: number
}

/**
 * What a handler decided for one record. Only infrastructure faults throw; everything about the
 * record itself is an outcome.
 */
export type Outcome =
  | { kind: 'ok'; out?: OutRecord[] }
  | { kind: 'drop'; reason: string }
  | { kind: 'dlq'; reason: string; message: string }
  /** The record cannot be handled now for a reason outside it (a dependency is down): retry the batch later. */
  | { kind: 'retry'; reason: string }

export type HandlerContext = {
  signal: AbortSignal
  /**
   * Given by the Kafka runner when it commits on its timer (KAFKA_COMMIT_INTERVAL_MS above 0; kafkajs's
   * autoCommit would commit what is resolved at once). Lets the handler return before the batch's
   * effects are durable, so the next batch is fetched and handled while they finish. `work` finishes them and resolves with
   * more output. The batch's offsets become committable only once `work` resolved and its output is
   * acknowledged, in order with the partition's other batches; if `work` rejects, the partition is read
   * again from the batch's first record, handled without deferral (so the usual retries and dlq
   * isolation apply). At most one deferred batch per partition is outstanding while the next is handled.
   */
  defer?: (work: Promise<OutRecord[]>) => void
}

/**
 * Handles a batch: one outcome per record, in order. Effects other than `out` must be durable on return,
 * or in the work given to `ctx.defer`.
 */
export type BatchHandler = (records: InRecord[], ctx: HandlerContext) => Promise<Outcome[]>

export function headersToStrings(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (!headers) return out
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || v === null) continue
    out[k] = Array.isArray(v) ? String(v[v.length - 1]) : Buffer.isBuffer(v) ? v.toString('utf8') : String(v)
  }
  return out
}

import type { DeadLetterReason } from './dead-letter.ts'

/** A consumed record, independent of the bus it came from (Kafka or in-memory). */
export type InRecord = {
  topic: string
  partition: number
  offset: string
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, string>
  /**
   * The headers as Kafka gave them (bytes, every value of a repeated header), for a dead letter to carry
   * byte for byte (originalHeaders); absent on a record made in memory, whose headers are text already.
   */
  rawHeaders?: Record<string, unknown>
  /** The record's timestamp, in ms since the epoch. */
  timestamp: number
}

export type OutRecord = {
  topic: string
  key: string | null
  value: string | Buffer
  headers?: RecordHeaders
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
  /** `id`: the record's id when the handler could tell it (else the dlq line reads it from the payload if it can). */
  | { kind: 'dlq'; reason: DeadLetterReason; message: string; id?: string }
  /** The record cannot be handled now for a reason outside it (a dependency is down): retry the batch later. */
  | { kind: 'retry'; reason: string }

export type HandlerContext = {
  /**
   * Aborted once the batch's work is no longer wanted: the worker stopping, or (the Kafka runner) the
   * consumer group rebalancing, which a heartbeat of this member heard while the batch was under way (a
   * member joining or leaving: the group waits for this one to rejoin, up to its rebalance timeout, and
   * the batch's partition may be another member's next). A long handler checks it between slices and
   * ends the batch with a retriable error (`signal.throwIfAborted()` throws the reason, a retriable
   * SHUTDOWN): nothing of the batch is produced or committed, its records come again to whoever owns the
   * partition, none dead-lettered, and no retry is warned of or counted. Whatever a handler throws once
   * its signal is aborted is taken so. A handler that does not look at it is let finish, as before.
   * The signal stays the batch's for work it deferred (`defer`): a stop aborts it, a rebalance heard after
   * the batch returned does not (that work finishes what was resolved).
   */
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

/** A Kafka header's value as kafkajs takes it: bytes or text, and every value of a header given more than once. */
export type HeaderValue = Buffer | string | (Buffer | string)[]
export type RecordHeaders = Record<string, HeaderValue>

/** Sets an own property, also for the name "__proto__" (which an assignment would take for the prototype). */
export function setOwn(target: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__')
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true })
  else target[name] = value
}

/** A header value as text: bytes decoded as UTF-8; undefined for a value without bytes (a null header). */
const valueText = (v: unknown): string | undefined =>
  v === undefined || v === null ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : String(v)

/**
 * A record's headers as text, for handlers: a repeated header's last value with bytes, decoded as UTF-8.
 * A value without bytes (Kafka's null header value, which kafkajs gives as null) is no value, as
 * originalHeaders and traceContext take it: a header given only so is absent. Before, a repeated header
 * whose last value was null read as the text "null".
 */
export function headersToStrings(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (!headers) return out
  for (const [k, v] of Object.entries(headers)) {
    let text: string | undefined
    if (Array.isArray(v)) for (let i = v.length - 1; i >= 0 && text === undefined; i--) text = valueText(v[i])
    else text = valueText(v)
    if (text !== undefined) setOwn(out, k, text)
  }
  return out
}

/**
 * How many values of a consumed record's headers have no bytes (Kafka's null header value): kafkajs can
 * send no such value (its record encoder throws on one), so originalHeaders leaves them out, and a dead
 * letter counts them among the values it could not carry (tp-dlq-headers-omitted).
 */
export function nullHeaderValues(rec: Pick<InRecord, 'rawHeaders'>): number {
  let n = 0
  for (const v of Object.values(rec.rawHeaders ?? {}))
    if (Array.isArray(v)) {
      for (const x of v) if (x === null || x === undefined) n++
    } else if (v === null) n++
  return n
}

/**
 * A consumed record's headers exactly as Kafka gave them: bytes as bytes, every value of a repeated header
 * in order (an array). Values without bytes (a null header) are left out, as no producer of ours can send
 * one (nullHeaderValues counts them). A record made in memory has only its text headers.
 */
export function originalHeaders(rec: Pick<InRecord, 'headers' | 'rawHeaders'>): RecordHeaders {
  const raw = rec.rawHeaders
  if (!raw) return rec.headers
  const out: RecordHeaders = {}
  for (const [k, v] of Object.entries(raw)) {
    if (Array.isArray(v)) {
      const values = v.filter((x): x is Buffer | string => Buffer.isBuffer(x) || typeof x === 'string')
      if (values.length > 0) setOwn(out, k, values)
    } else if (Buffer.isBuffer(v) || typeof v === 'string') setOwn(out, k, v)
  }
  return out
}

import type { IHeaders, Producer } from 'kafkajs'
import { TradepulseError } from '../errors.ts'
import { kafkaErrorType } from './kafka-client.ts'
import type { HeaderValue, OutRecord } from './records.ts'

const TIMESTAMP_REFUSED: ReadonlySet<string> = new Set(['INVALID_TIMESTAMP'])

/**
 * Kafka refusing the timestamps of records that carried none of their own: the producer stamped them with
 * this host's clock at the send, and a CreateTime topic's broker refuses a timestamp further ahead of its
 * own clock than message.timestamp.after.max.ms (1 h by default in Kafka 4), or further behind than
 * message.timestamp.before.max.ms (unbounded by default). No record is to blame and each would be refused
 * alike: not a refusal of a record (recordRefusal), so nothing is dead-lettered or skipped for it; the
 * batch runner waits it out, health degraded, for a bounded time, then fails naming this host's clock.
 * Retriable: a clock set right mends it (the same records go through).
 */
export class KafkaClockError extends TradepulseError {
  /** This host's clock at the send (ms): what the records were stamped with. */
  readonly stampedMs: number
  readonly topics: string[]
  constructor(stampedMs: number, topics: string[], cause: unknown) {
    super(
      'INFRA_KAFKA',
      `Kafka refused the timestamps of records for ${topics.join(', ')} (INVALID_TIMESTAMP): they were stamped with this host's clock, ${new Date(stampedMs).toISOString()} at the send, which is more than the topic's message.timestamp.after.max.ms (1 h by default) ahead of the broker's clock (or more than its message.timestamp.before.max.ms behind); set this host's time right (NTP); a topic the catalogue makes LogAppendTime (every one but headlines.raw, whose timestamp is the headline's entry time) but still CreateTime here is switched by \`tradepulse topics create\``,
      { cause, retriable: true },
    )
    this.name = 'KafkaClockError'
    this.stampedMs = stampedMs
    this.topics = topics
  }
}

/** The KafkaClockError `err` is or wraps, if any. */
export function kafkaClockError(err: unknown): KafkaClockError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; depth++, e = e.cause)
    if (e instanceof KafkaClockError) return e
  return undefined
}

/**
 * Most bytes of keys, values and headers in one produce request. Kafka refuses a record batch above
 * the topic's max.message.bytes (1 MB by default) and kafkajs puts all of a request's records for one
 * partition into one batch, so a large unit of output (a backlog's alerts with their evidence) would
 * otherwise fail on every retry and stall its partition.
 */
export const MAX_REQUEST_BYTES = 512 * 1024

/** The records acknowledged before the failure that threw each error (see acknowledgedBefore). */
const ackedBeforeFailure = new WeakMap<object, ReadonlySet<OutRecord>>()

/**
 * Produces records grouped by topic, in requests of at most `maxRequestBytes` (MAX_REQUEST_BYTES) sent
 * one after another (order kept), and waits for every acknowledgement.
 *
 * Not atomic: when a request fails, the requests before it have been acknowledged and their records are
 * on Kafka. The error thrown is the producer's own (so its classification is unchanged), and
 * `acknowledgedBefore(err, records)` tells which records were acknowledged before it, so a caller that
 * must not send a record twice can retry only the rest. Within the failed request nothing is known:
 * a request spanning partitions led by several brokers may have been written on some of them.
 */
export async function produceAll(
  producer: Pick<Producer, 'sendBatch'>,
  records: OutRecord[],
  opts: { maxRequestBytes?: number } = {},
): Promise<void> {
  const acked = new Set<OutRecord>()
  for (const part of splitBySize(records, opts.maxRequestBytes ?? MAX_REQUEST_BYTES)) {
    try {
      await produceRequest(producer, part)
    } catch (err) {
      // Set on every failure, empty or not: an error object thrown again later carries no stale records.
      if (typeof err === 'object' && err !== null) ackedBeforeFailure.set(err, acked)
      throw err
    }
    for (const r of part) acked.add(r)
  }
}

/**
 * Those of `records` (by identity: the objects given to produceAll or ProduceQueue.send) that Kafka
 * acknowledged before the failure that threw `err`; empty for any other error. Records of other callers
 * that shared the request (ProduceQueue) are left out, as they are not in `records`.
 */
export function acknowledgedBefore(err: unknown, records: readonly OutRecord[]): OutRecord[] {
  const acked = typeof err === 'object' && err !== null ? ackedBeforeFailure.get(err) : undefined
  return acked ? records.filter((r) => acked.has(r)) : []
}

const byteLength = (v: string | Buffer | null) =>
  v === null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length

/**
 * The most bytes one header value's framing takes in a Kafka record (v2 format): the varint lengths of its
 * name and its value, at most 5 bytes each. Without it a header with an empty name and value would count
 * for nothing, and a record carrying a million of them for nothing more than one without.
 */
export const HEADER_FRAMING_BYTES = 10
/**
 * The most bytes a record's own framing takes in a record batch: its length, attributes, timestamp and
 * offset deltas, key and value lengths and header count (varints; the timestamp delta a varlong).
 */
export const RECORD_FRAMING_BYTES = 40

/** A header's bytes on the wire, at most: its name once per value, the values, and each one's framing. */
export function headerBytes(name: string, value: HeaderValue): number {
  const named = Buffer.byteLength(name) + HEADER_FRAMING_BYTES
  if (!Array.isArray(value)) return named + byteLength(value)
  let size = 0
  for (const v of value) size += named + byteLength(v)
  return size
}

/** A record's bytes in a record batch, at most: key, value, headers and the framing of each. */
export function recordBytes(r: Pick<OutRecord, 'key' | 'value' | 'headers'>): number {
  let size = RECORD_FRAMING_BYTES + byteLength(r.key) + byteLength(r.value)
  if (r.headers) for (const [k, v] of Object.entries(r.headers)) size += headerBytes(k, v)
  return size
}

/** Consecutive runs of records whose sizes (recordBytes) add up to at most maxBytes (a larger record goes alone). */
export function splitBySize(records: OutRecord[], maxBytes: number): OutRecord[][] {
  const parts: OutRecord[][] = []
  let part: OutRecord[] = []
  let bytes = 0
  for (const r of records) {
    const size = recordBytes(r)
    if (part.length > 0 && bytes + size > maxBytes) {
      parts.push(part)
      part = []
      bytes = 0
    }
    part.push(r)
    bytes += size
  }
  if (part.length > 0) parts.push(part)
  return parts
}

async function produceRequest(producer: Pick<Producer, 'sendBatch'>, records: OutRecord[]): Promise<void> {
  const byTopic = new Map<
    string,
    { key: string | null; value: string | Buffer; headers?: IHeaders; timestamp?: string }[]
  >()
  for (const r of records) {
    const list = byTopic.get(r.topic) ?? []
    if (list.length === 0) byTopic.set(r.topic, list)
    list.push({
      key: r.key,
      value: r.value,
      ...(r.headers ? { headers: r.headers } : {}),
      ...(r.timestamp !== undefined ? { timestamp: String(r.timestamp) } : {}),
    })
  }
  const stampedMs = Date.now()
  try {
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    })
  } catch (err) {
    // Stamped by the producer (none given): the clock's fault, not a record's. A record given its own
    // timestamp and refused stays a refusal of that record.
    if (kafkaErrorType(err, TIMESTAMP_REFUSED) && records.every((r) => r.timestamp === undefined))
      throw new KafkaClockError(stampedMs, [...byTopic.keys()], err)
    throw err
  }
}

export type ProduceQueue = {
  /**
   * Produces the records (in order, after everything sent before) and waits for their acknowledgement.
   * On a failure, `acknowledgedBefore(err, records)` gives those already acknowledged (see produceAll).
   */
  send(records: OutRecord[]): Promise<void>
}

/**
 * Group commit for one producer. kafkajs's idempotent producer has one request in flight, so partitions
 * handled at once would each queue a request of their own behind it, one round trip after another. Here,
 * what callers send while a request is out waits and then goes in the next request, all together (split
 * at MAX_REQUEST_BYTES); records sent in one turn of the event loop share the first one. Order is kept:
 * records go out in the order `send` was called. A caller's promise settles with the requests that carried
 * its records; a failed request fails every caller whose records were not all acknowledged before it, and
 * each handles its own retry (with `acknowledgedBefore` for what the requests before it had written).
 */
export function createProduceQueue(producer: Pick<Producer, 'sendBatch'>): ProduceQueue {
  type Waiter = { records: OutRecord[]; resolve: () => void; reject: (err: unknown) => void }
  let waiting: Waiter[] = []
  let draining = false

  async function drain(): Promise<void> {
    while (waiting.length > 0) {
      const group = waiting
      waiting = []
      try {
        await produceAll(producer, group.length === 1 ? group[0]!.records : group.flatMap((w) => w.records))
        for (const w of group) w.resolve()
      } catch (err) {
        // A caller whose records all went out in the requests acknowledged before the failure is done.
        for (const w of group)
          if (acknowledgedBefore(err, w.records).length === w.records.length) w.resolve()
          else w.reject(err)
      }
    }
    draining = false
  }

  return {
    send(records) {
      if (records.length === 0) return Promise.resolve()
      const done = new Promise<void>((resolve, reject) => waiting.push({ records, resolve, reject }))
      if (!draining) {
        draining = true
        setImmediate(() => void drain())
      }
      return done
    },
  }
}

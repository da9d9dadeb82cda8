import { defineScript, normalized } from '@tradepulse/platform'
import type { Redis } from 'ioredis'

/**
 * What a consumer group's aggregator members have applied of one input partition: every record at an
 * offset in [from, to], the newest record timestamp (Kafka's, ms) among them `maxTs`; and, in `tail`, the
 * records applied past the first one not yet applied (see AppliedTail). `to` is `from - 1` when only a
 * tail is known.
 */
export type AppliedRange = { from: number; to: number; maxTs: number; tail?: AppliedTail }

/**
 * Records applied out of offset order: every record at an offset in [from, to], Kafka timestamp at most
 * `maxTs`, whose event time (placeEventTime's) is below `belowMs`. A batch's merged rounds apply its
 * records in event-time order across its parts and the other partitions, not in offset order: part
 * way through, what is applied is the records up to some offset, and past it those older than the
 * oldest event not applied yet (belowMs).
 */
export type AppliedTail = { from: number; to: number; maxTs: number; belowMs: number }

/** One handled batch of a partition: its first and last offsets and its oldest and newest record timestamps. */
export type HandledRange = { from: number; to: number; minTs: number; maxTs: number }

/** A tail applied (AppliedTail), with the oldest record timestamp among its records. */
export type HandledTail = HandledRange & { belowMs: number }

/**
 * The applied offsets of a group's input partitions, so that a record given again after a crash (Kafka
 * redelivers what follows the last commit) is known as one: the store can count such a headline late
 * once its id is past the hour of ids it remembers, though it was applied before the crash.
 *
 * One range per partition, bounded: a batch is recorded once everything it caused is applied, and, as
 * merged rounds apply its parts, what they applied so far (AppliedTracker: a range, and a tail of the
 * records applied out of offset order); a range extends the stored one when it overlaps it or follows
 * it, else replaces it (a tail, see joinTail). Only what was
 * applied is ever recorded, so a record in the range was applied whatever the order of the writes
 * (batches finishing out of order, members taking a partition over from each other): a range that does
 * not join the stored one only forgets the older one.
 *
 * A topic deleted and created again numbers its records from 0: its new records would fall in the old
 * range. Its records are appended after the old ones were applied, and stamped by the broker that
 * appends them (headlines.scored is a LogAppendTime topic), so their timestamps are newer than the old
 * range's newest as long as the brokers' clocks agree to within the time between the two (the scorers'
 * clocks play no part; they did while the topic was CreateTime): a record is a redelivery only at a
 * timestamp no newer than `maxTs` (isRedelivery), and a batch overlapping the stored range joins it
 * only when it holds a record that old (records met again are the same records: the same timestamps),
 * so the new topic's first batch replaces the old range.
 *
 * Keyed by the group, not by the indicator namespace: after a rebuild switches namespaces, what the
 * live group applied to the old one the rebuild applied to the new one too (see rebuild.ts), so the
 * range still vouches for it. The rebuild reads with its own group and uses no range.
 */
export type AppliedOffsets = {
  read(topic: string, partition: number): Promise<AppliedRange | undefined>
  /**
   * Records that every record of `range` was applied, and those of `tail` below its event time (either
   * may be absent); resolves once stored. Each is joined to what is stored as joinApplied and joinTail
   * say, in one step.
   */
  record(topic: string, partition: number, range: HandledRange | undefined, tail?: HandledTail): Promise<void>
}

/** The stored range after `next` was applied (see AppliedOffsets). */
export function joinApplied(stored: AppliedRange | undefined, next: HandledRange): AppliedRange {
  if (
    stored &&
    next.from >= stored.from &&
    (next.from === stored.to + 1 || (next.from <= stored.to && next.minTs <= stored.maxTs))
  ) {
    return {
      from: stored.from,
      to: Math.max(stored.to, next.to),
      maxTs: Math.max(stored.maxTs, next.maxTs),
    }
  }
  return { from: next.from, to: next.to, maxTs: next.maxTs }
}

/**
 * The stored tail after `next` was recorded, the range stored being `range` (see AppliedTail). Each tail
 * recorded is true of what was applied when it was, and stays true: a new one replaces the stored one,
 * but where the stored one reaches further and the two overlap or adjoin (and are of the same records: a
 * record no newer than the stored one's newest), they become one tail over both, below the lower of their
 * event times, true of each. A tail the range covers is dropped.
 */
export function joinTail(
  stored: AppliedTail | undefined,
  next: HandledTail | undefined,
  range: AppliedRange | undefined,
): AppliedTail | undefined {
  let tail: AppliedTail | undefined = stored
  if (next) {
    tail = { from: next.from, to: next.to, maxTs: next.maxTs, belowMs: next.belowMs }
    if (
      stored &&
      stored.to > next.to &&
      next.from <= stored.to + 1 &&
      stored.from <= next.to + 1 &&
      next.minTs <= stored.maxTs
    )
      tail = {
        from: Math.min(stored.from, next.from),
        to: stored.to,
        maxTs: Math.max(stored.maxTs, next.maxTs),
        belowMs: Math.min(stored.belowMs, next.belowMs),
      }
  }
  if (tail && range && range.from <= tail.from && range.to >= tail.to) return undefined
  return tail
}

/**
 * Whether the record at `offset` with Kafka timestamp `timestamp` was applied already (see AppliedOffsets);
 * `eventMs`, the event time it is applied at, for the range's tail (none given: the tail vouches for none).
 */
export const isRedelivery = (
  range: AppliedRange | undefined,
  offset: number,
  timestamp: number,
  eventMs?: number,
): boolean => {
  if (range === undefined) return false
  if (offset >= range.from && offset <= range.to && timestamp <= range.maxTs) return true
  const tail = range.tail
  return (
    tail !== undefined &&
    eventMs !== undefined &&
    offset >= tail.from &&
    offset <= tail.to &&
    timestamp <= tail.maxTs &&
    eventMs < tail.belowMs
  )
}

/** A range and a tail as read: the range empty (`to` = `from` - 1) when only the tail is stored. */
function readRange(range: AppliedRange | undefined, tail: AppliedTail | undefined): AppliedRange | undefined {
  if (!tail) return range
  return range ? { ...range, tail } : { from: tail.from, to: tail.from - 1, maxTs: tail.maxTs, tail }
}

const field = (topic: string, partition: number) => `${topic}/${partition}`

/** In memory, for the embedded default (one process: the ranges live as long as its in-memory bus). */
export function memoryAppliedOffsets(): AppliedOffsets {
  const ranges = new Map<string, AppliedRange>()
  const tails = new Map<string, AppliedTail>()
  return {
    read: async (topic, partition) => {
      const f = field(topic, partition)
      return readRange(ranges.get(f), tails.get(f))
    },
    record: async (topic, partition, range, next) => {
      const f = field(topic, partition)
      const joined = range ? joinApplied(ranges.get(f), range) : ranges.get(f)
      if (joined) ranges.set(f, joined)
      const tail = joinTail(tails.get(f), next, joined)
      if (tail) tails.set(f, tail)
      else tails.delete(f)
    },
  }
}

/** joinApplied and joinTail in one step (lua/applied-record-1.lua). */
const RECORD = {
  command: 'tpAppliedRecordV2',
  file: new URL('./lua/applied-record-1.lua', import.meta.url),
  numberOfKeys: 1,
} as const

const parseRange = (raw: string | null | undefined): AppliedRange | undefined => {
  const m = raw == null ? null : /^(-?\d+) (-?\d+) (-?\d+)$/.exec(raw)
  return m ? { from: Number(m[1]), to: Number(m[2]), maxTs: Number(m[3]) } : undefined
}

const parseTail = (raw: string | null | undefined): AppliedTail | undefined => {
  const m = raw == null ? null : /^(-?\d+) (-?\d+) (-?\d+) (-?\d+)$/.exec(raw)
  return m ? { from: Number(m[1]), to: Number(m[2]), maxTs: Number(m[3]), belowMs: Number(m[4]) } : undefined
}

/** The field of a partition's tail: `~` is in no topic name. */
const tailField = (topic: string, partition: number) => `${field(topic, partition)}~tail`

/**
 * In Redis: one hash per consumer group, `<REDIS_KEY_PREFIX>:applied:{<group>}`, a field
 * `<topic>/<partition>` each holding `from to maxTs`, and `<topic>/<partition>~tail` its tail, `from to
 * maxTs belowMs` (a member before the tail reads the range alone, as before), expiring `ttlMs` after its
 * last write (the indicators' own TTL: past it, what the ranges vouch for has expired too).
 */
export function redisAppliedOffsets(redis: Redis, key: string, ttlMs: number): AppliedOffsets {
  const recordRange = defineScript(redis, RECORD)
  return {
    read: (topic, partition) =>
      normalized(async () => {
        const [range, tail] = await redis.hmget(key, field(topic, partition), tailField(topic, partition))
        return readRange(parseRange(range), parseTail(tail))
      }),
    record: (topic, partition, r, t) =>
      normalized(async () => {
        await recordRange(
          key,
          field(topic, partition),
          String(ttlMs),
          ...(r
            ? ['1', String(r.from), String(r.to), String(r.minTs), String(r.maxTs)]
            : ['0', '0', '0', '0', '0']),
          ...(t
            ? ['1', String(t.from), String(t.to), String(t.minTs), String(t.maxTs), String(t.belowMs)]
            : ['0', '0', '0', '0', '0', '0']),
        )
      }),
  }
}

/** The hash of a group's applied ranges (hash-tagged by the group, like its alignment points). */
export const appliedOffsetsKey = (prefix: string, groupId: string) => `${prefix}:applied:{${groupId}}`

/**
 * A part of a batch, as submitted to the event-time merger, for an AppliedTracker: its records in
 * offset order, each with its Kafka timestamp and the event time its contributions are applied at
 * (-Infinity for a record with none to wait for: dead-lettered, without contributions, or known applied
 * before, a redelivery), and the event time of its first contribution not applied yet (`nextMs`:
 * the merger applies a submission's contributions in event-time order, and never cuts apart those of
 * one event time; Infinity once all are applied).
 */
export type TrackedPart = {
  offsets: number[]
  timestamps: number[]
  eventMs: number[]
  nextMs: number
  /** The oldest and newest of `timestamps`. */
  minTs: number
  maxTs: number
}

/** An empty part, to build with trackRecord (nextMs: its oldest event time, nothing applied yet). */
export function trackedPart(): TrackedPart {
  return {
    offsets: [],
    timestamps: [],
    eventMs: [],
    nextMs: Number.POSITIVE_INFINITY,
    minTs: Number.POSITIVE_INFINITY,
    maxTs: Number.NEGATIVE_INFINITY,
  }
}

/** Adds a record to a part being built (in offset order). */
export function trackRecord(part: TrackedPart, offset: number, timestamp: number, eventMs: number): void {
  part.offsets.push(offset)
  part.timestamps.push(timestamp)
  part.eventMs.push(eventMs)
  if (timestamp < part.minTs) part.minTs = timestamp
  if (timestamp > part.maxTs) part.maxTs = timestamp
  if (eventMs !== Number.NEGATIVE_INFINITY && eventMs < part.nextMs) part.nextMs = eventMs
}

/** What to record of a partition now (AppliedOffsets.record): the range applied whole, and the tail. */
export type AppliedClaim = { range?: HandledRange; tail?: HandledTail }

/**
 * What the batches of one partition under way have applied, part by part, as the merger's rounds apply
 * them (in event-time order across parts and partitions): `claim` says it as a range (every record up to
 * the first not applied) and a tail (past it, those older than the oldest event not applied yet), to be
 * recorded after each round, so that at every moment the recorded range vouches for what was applied.
 *
 * A batch that fails (a round failed, the batch given up, a headline refused) takes every part of the
 * partition with it: its records, and those of the batches after it, come again; until every batch
 * begun before then has ended, the partition's parts are not tracked (its claims would skip the failed
 * ones' records and replace the stored range with a later one).
 */
export function createAppliedTracker() {
  let parts: TrackedPart[] = []
  let batches = 0
  let broken = false
  return {
    /** A batch of the partition begins. */
    begin(): void {
      batches++
    },
    /** A batch of the partition ended, `ok` or not (see above); `own`: its parts. */
    end(ok: boolean, own: readonly TrackedPart[]): void {
      batches--
      if (!ok) {
        parts = []
        broken = true
      } else if (own.length > 0) parts = parts.filter((p) => !own.includes(p))
      if (batches === 0) broken = false
    },
    /** A part submitted (after the partition's earlier ones). */
    add(part: TrackedPart): void {
      if (!broken) parts.push(part)
    },
    /**
     * The range every record of which is applied (from the first part tracked up to the first record not
     * applied), and the tail past it: its records below the oldest event time not applied yet of any
     * part from there on. Parts applied whole are forgotten once claimed.
     */
    claim(): AppliedClaim | undefined {
      if (parts.length === 0) return undefined
      let range: HandledRange | undefined
      const extend = (offset: number, ts: number) => {
        if (!range) range = { from: offset, to: offset, minTs: ts, maxTs: ts }
        else {
          range.to = offset
          if (ts < range.minTs) range.minTs = ts
          if (ts > range.maxTs) range.maxTs = ts
        }
      }
      let k = 0
      for (; k < parts.length && parts[k]!.nextMs === Number.POSITIVE_INFINITY; k++) {
        const p = parts[k]!
        for (let i = 0; i < p.offsets.length; i++) extend(p.offsets[i]!, p.timestamps[i]!)
      }
      let tail: HandledTail | undefined
      if (k < parts.length) {
        const first = parts[k]!
        let i = 0
        for (; i < first.offsets.length && first.eventMs[i]! < first.nextMs; i++)
          extend(first.offsets[i]!, first.timestamps[i]!)
        let belowMs = Number.POSITIVE_INFINITY
        let minTs = Number.POSITIVE_INFINITY
        let maxTs = Number.NEGATIVE_INFINITY
        for (let r = i; r < first.offsets.length; r++) {
          const ts = first.timestamps[r]!
          if (ts < minTs) minTs = ts
          if (ts > maxTs) maxTs = ts
        }
        for (let j = k; j < parts.length; j++) {
          const p = parts[j]!
          if (p.nextMs < belowMs) belowMs = p.nextMs
          if (j === k) continue
          if (p.minTs < minTs) minTs = p.minTs
          if (p.maxTs > maxTs) maxTs = p.maxTs
        }
        const last = parts[parts.length - 1]!
        const to = last.offsets[last.offsets.length - 1]!
        if (i < first.offsets.length) tail = { from: first.offsets[i]!, to, minTs, maxTs, belowMs }
      }
      parts = parts.slice(k)
      return { ...(range ? { range } : {}), ...(tail ? { tail } : {}) }
    },
  }
}
export type AppliedTracker = ReturnType<typeof createAppliedTracker>

import { defineScript, normalized } from '@tradepulse/platform'
import type { Redis } from 'ioredis'

/**
 * What a consumer group's aggregator members have applied of one input partition: every record at an
 * offset in [from, to], the newest record timestamp (Kafka's, ms) among them `maxTs`.
 */
export type AppliedRange = { from: number; to: number; maxTs: number }

/** One handled batch of a partition: its first and last offsets and its oldest and newest record timestamps. */
export type HandledRange = { from: number; to: number; minTs: number; maxTs: number }

/**
 * The applied offsets of a group's input partitions, so that a record given again after a crash (Kafka
 * redelivers what follows the last commit) is known as one: the store can count such a headline late
 * once its id is past the hour of ids it remembers, though it was applied before the crash.
 *
 * One range per partition, bounded: a batch is recorded once everything it caused is applied, and its
 * range extends the stored one when it overlaps it or follows it, else replaces it. Only what was
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
  /** Records that every record of `range` was applied; resolves once stored. */
  record(topic: string, partition: number, range: HandledRange): Promise<void>
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

/** Whether the record at `offset` with Kafka timestamp `timestamp` was applied already (see AppliedOffsets). */
export const isRedelivery = (range: AppliedRange | undefined, offset: number, timestamp: number): boolean =>
  range !== undefined && offset >= range.from && offset <= range.to && timestamp <= range.maxTs

const field = (topic: string, partition: number) => `${topic}/${partition}`

/** In memory, for the embedded default (one process: the ranges live as long as its in-memory bus). */
export function memoryAppliedOffsets(): AppliedOffsets {
  const ranges = new Map<string, AppliedRange>()
  return {
    read: async (topic, partition) => ranges.get(field(topic, partition)),
    record: async (topic, partition, range) => {
      const f = field(topic, partition)
      ranges.set(f, joinApplied(ranges.get(f), range))
    },
  }
}

/** joinApplied in one step (lua/applied-record-1.lua). */
const RECORD = {
  command: 'tpAppliedRecordV1',
  file: new URL('./lua/applied-record-1.lua', import.meta.url),
  numberOfKeys: 1,
} as const

const parseRange = (raw: string | null): AppliedRange | undefined => {
  const m = raw === null ? null : /^(-?\d+) (-?\d+) (-?\d+)$/.exec(raw)
  return m ? { from: Number(m[1]), to: Number(m[2]), maxTs: Number(m[3]) } : undefined
}

/**
 * In Redis: one hash per consumer group, `<REDIS_KEY_PREFIX>:applied:{<group>}`, a field
 * `<topic>/<partition>` each holding `from to maxTs`, expiring `ttlMs` after its last write (the
 * indicators' own TTL: past it, what the ranges vouch for has expired too).
 */
export function redisAppliedOffsets(redis: Redis, key: string, ttlMs: number): AppliedOffsets {
  const recordRange = defineScript(redis, RECORD)
  return {
    read: (topic, partition) =>
      normalized(async () => parseRange(await redis.hget(key, field(topic, partition)))),
    record: (topic, partition, r) =>
      normalized(async () => {
        await recordRange(
          key,
          field(topic, partition),
          String(r.from),
          String(r.to),
          String(r.minTs),
          String(r.maxTs),
          String(ttlMs),
        )
      }),
  }
}

/** The hash of a group's applied ranges (hash-tagged by the group, like its alignment points). */
export const appliedOffsetsKey = (prefix: string, groupId: string) => `${prefix}:applied:{${groupId}}`

import type { Redis } from 'ioredis'
import { z } from 'zod'
import type { AlignmentExchange } from '../kafka/partition-aligner.ts'
import { createKeys } from './keys.ts'

/** −∞ (a partition whose progress is unknown: it holds everyone back) as JSON can write it. */
const BEHIND_ALL = Number.MIN_SAFE_INTEGER
/** The hash outlives its group's last write by a day, then goes. */
const KEEP_MS = 86_400_000

const Entry = z.object({ member: z.string(), at: z.number().nullable(), ts: z.number() })

/**
 * The members of one consumer group swap their partitions' event-time points (BatchRunnerConfig.align)
 * through one Redis hash, a field per partition: `{ member, at, ts }`, written by the member that reads
 * the partition now. A swap writes this member's fields and reads the others' in one transaction.
 * A field older than `staleMs` is left out (its member stopped writing: dead, or the partition is no
 * longer its own and its new owner has not written yet), and so is this member's own (a partition it
 * read before a rebalance). Clocks of the members' hosts should agree within well under `staleMs`.
 */
export function redisAlignmentExchange(redis: Redis, key: string, staleMs: number): AlignmentExchange {
  return {
    async swap(member, own) {
      const now = Date.now()
      const tx = redis.multi()
      for (const [partition, at] of own) {
        const entry = { member, at: at === null ? null : Math.max(at, BEHIND_ALL), ts: now }
        tx.hset(key, partition, JSON.stringify(entry))
      }
      tx.pexpire(key, KEEP_MS)
      tx.hgetall(key)
      const results = await tx.exec()
      if (!results) throw new Error(`the swap of ${key} was aborted`)
      for (const [err] of results) if (err) throw err
      const fields = (results[results.length - 1]?.[1] ?? {}) as Record<string, string>
      const theirs = new Map<string, number | null>()
      for (const [partition, raw] of Object.entries(fields)) {
        let parsed: unknown
        try {
          parsed = JSON.parse(raw)
        } catch {
          continue // not ours to read: written by something else, ignored like a stale field
        }
        const e = Entry.safeParse(parsed)
        if (!e.success || e.data.member === member || now - e.data.ts > staleMs) continue
        theirs.set(partition, e.data.at === BEHIND_ALL ? Number.NEGATIVE_INFINITY : e.data.at)
      }
      return theirs
    },
  }
}

/**
 * A worker's exchange: its consumer group's hash under REDIS_KEY_PREFIX, a point older than the session
 * timeout left out (a member that stopped writing has lost its partitions by then).
 */
export function groupAlignmentExchange(
  redis: Redis,
  config: { REDIS_KEY_PREFIX: string; KAFKA_SESSION_TIMEOUT_MS: number },
  groupId: string,
): AlignmentExchange {
  return redisAlignmentExchange(
    redis,
    createKeys(config.REDIS_KEY_PREFIX).alignPoints(groupId),
    config.KAFKA_SESSION_TIMEOUT_MS,
  )
}

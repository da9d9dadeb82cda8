import type { Redis } from 'ioredis'
import { z } from 'zod'
import type { AlignmentExchange } from '../kafka/partition-aligner.ts'
import { defineScript } from './define-script.ts'
import { createKeys } from './keys.ts'

/** −∞ (a partition whose progress is unknown: it holds everyone back) as JSON can write it. */
const BEHIND_ALL = Number.MIN_SAFE_INTEGER
/** The hash outlives its group's last write by a day, then goes. */
const KEEP_MS = 86_400_000

const Entry = z.object({
  member: z.string(),
  at: z.number().nullable(),
  seen: z.number().nullable().optional(),
  ts: z.number(),
})

/** The swap's script (lua/ beside this file), under a versioned command name: see the script's header. */
const SWAP = {
  command: 'tpAlignSwapV1',
  file: new URL('./lua/swap-align-points-1.lua', import.meta.url),
} as const

/**
 * The members of one consumer group swap their partitions' event-time points (BatchRunnerConfig.align)
 * through one Redis hash, a field per partition: `{ member, at, ts }`, written by the member that reads
 * the partition now. A swap writes this member's fields and reads the others' in one script, which
 * stamps the fields (`ts`) with Redis's clock and answers with it. A field stamped more than `staleMs`
 * before it is left out (its member stopped writing: dead, or the partition is no longer its own and
 * its new owner has not written yet), and so is this member's own (a partition it read before a
 * rebalance). One clock for every member: stamped by the writer's clock and judged by the reader's, a
 * member whose host's clock was `staleMs` behind the others' had every field taken for stale, so its
 * partitions bounded nobody. A field stamped more than `staleMs` ahead of Redis's clock is left out too:
 * its age is unknown (that clock set back since, a failover to a replica whose host is behind, a
 * member of an older version stamping by its own clock); a live member writes it again at its next swap.
 */
export function redisAlignmentExchange(redis: Redis, key: string, staleMs: number): AlignmentExchange {
  const swap = defineScript<[string, string[]]>(redis, SWAP)
  return {
    async swap(member, own, stamps) {
      const args: string[] = [String(KEEP_MS)]
      for (const [partition, at] of own) {
        const entry = JSON.stringify({
          member,
          at: at === null ? null : Math.max(at, BEHIND_ALL),
          ...(stamps?.seenAgoMs !== undefined ? { seen: stamps.seenAgoMs } : {}),
        })
        args.push(partition, entry.slice(0, -1)) // the script closes it with the stamp
      }
      const [stamp, fields] = await swap(1, key, ...args)
      const now = Number(stamp)
      const theirs = new Map<string, number | null>()
      if (stamps) {
        stamps.now = now
        stamps.members.clear()
      }
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const partition = fields[i]!
        let parsed: unknown
        try {
          parsed = JSON.parse(fields[i + 1]!)
        } catch {
          continue // not ours to read: written by something else, ignored like a stale field
        }
        const e = Entry.safeParse(parsed)
        if (!e.success || e.data.member === member || Math.abs(now - e.data.ts) > staleMs) continue
        theirs.set(partition, e.data.at === BEHIND_ALL ? Number.NEGATIVE_INFINITY : e.data.at)
        if (stamps) {
          const { ts, seen } = e.data
          const seenAt = seen === undefined ? undefined : seen === null ? Number.NEGATIVE_INFINITY : ts - seen
          const known = stamps.members.get(e.data.member)
          // Its latest write: the fields it wrote then (one stamp), a field it no longer writes left out.
          if (!known || ts > known.ts)
            stamps.members.set(e.data.member, {
              ts,
              ...(seenAt !== undefined ? { seenAt } : {}),
              bounding: e.data.at !== null,
            })
          else if (ts === known.ts) {
            known.bounding &&= e.data.at !== null
            if (seenAt !== undefined && (known.seenAt === undefined || seenAt < known.seenAt))
              known.seenAt = seenAt
          }
        }
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

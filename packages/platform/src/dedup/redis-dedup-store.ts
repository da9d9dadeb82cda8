import type { Redis } from 'ioredis'
import { defineScript } from '../redis/define-script.ts'
import { createKeys, DEDUP_SHARDS, dedupShard } from '../redis/keys.ts'
import type { ClaimAnswer, ClaimRelease, DedupStore, HeadlineClaim } from './dedup-store.ts'

/**
 * The dedup scripts, in lua/ beside this file, each defined once per client under a versioned command name,
 * so a changed script never runs under an old cached SHA (claim V1 answered 1 for a re-claim too). Every
 * dedup key is built by createKeys(prefix).dedup, here only.
 */
const SCRIPTS = {
  claim: { command: 'tpDedupClaimV2', file: new URL('./lua/claim.lua', import.meta.url) },
  release: { command: 'tpDedupReleaseV1', file: new URL('./lua/release.lua', import.meta.url) },
} as const

/** One script reply, read by `answers` (the script's integer for each answer). */
function reading<A extends string>(script: string, answers: Record<A, number>) {
  const byReply = new Map(Object.entries(answers).map(([a, n]) => [n, a as A]))
  return (reply: unknown): A => {
    const answer = byReply.get(reply as number)
    if (answer === undefined)
      throw new Error(
        `${script} answered ${JSON.stringify(reply)}; expected one of ${[...byReply.keys()].join(', ')}`,
      )
    return answer
  }
}

const claimAnswer = reading<ClaimAnswer>('claim.lua', { first: 1, again: 2, duplicate: 0 })
const releaseAnswer = reading<ClaimRelease>('release.lua', { released: 1, other: 0, absent: -1 })

/**
 * Claims are grouped by dedup shard and sent as one script call per shard, in one write: a
 * batch of 2,000 records costs at most DEDUP_SHARDS script calls instead of 2,000 commands, which is
 * what keeps ingest close to a bare Kafka pass-through. The calls are auto-pipelined (see createRedis).
 * A release (rare: a headline Kafka refused for good) is one single-key call per id.
 */
export function createRedisDedupStore(redis: Redis, opts: { prefix: string; windowMs: number }): DedupStore {
  const keys = createKeys(opts.prefix)
  // Each call gives its number of keys first (a claim's varies).
  const claim = defineScript<unknown[]>(redis, SCRIPTS.claim)
  const release = defineScript(redis, SCRIPTS.release)
  return {
    async claimHeadlines(claims: readonly HeadlineClaim[]): Promise<ClaimAnswer[]> {
      if (claims.length === 0) return []
      const byShard = new Map<number, number[]>()
      claims.forEach((c, i) => {
        const shard = dedupShard(c.id)
        const list = byShard.get(shard)
        if (list) list.push(i)
        else byShard.set(shard, [i])
      })
      const groups = [...byShard.values()]
      // Auto-pipelined: with the claims of other partitions' batches issued in the same turn, one write.
      const replies = await Promise.all(
        groups.map((idx) => {
          const args: (string | number)[] = idx.map((i) => keys.dedup(claims[i]!.id))
          args.push(opts.windowMs)
          for (const i of idx) args.push(claims[i]!.origin)
          return claim(idx.length, ...args)
        }),
      )
      const answers = new Array<ClaimAnswer>(claims.length)
      replies.forEach((values, g) => {
        groups[g]!.forEach((i, k) => {
          answers[i] = claimAnswer(values[k])
        })
      })
      return answers
    },
    async releaseClaims(origin: string, ids: readonly string[]): Promise<ClaimRelease[]> {
      const replies = await Promise.all(ids.map((id) => release(1, keys.dedup(id), origin)))
      return replies.map(releaseAnswer)
    },
    async close() {},
  }
}

export { DEDUP_SHARDS }

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { createKeys, DEDUP_SHARDS, dedupShard } from '../redis/keys.ts'
import { type ClaimAnswer, type DedupStore, isClaimTaken } from './dedup-store.ts'

// Versioned so a changed script never runs under an old cached SHA (V1 answered 1 for a re-claim too).
const CLAIM_COMMAND = 'tpDedupClaimV2'
const CLAIM_LUA = readFileSync(join(import.meta.dirname, 'lua', 'claim.lua'), 'utf8')

type ClaimCommand = (numKeys: number, ...args: (string | number)[]) => Promise<unknown[]>

const answerOf = (reply: unknown): ClaimAnswer => {
  if (reply === 1) return 'first'
  if (reply === 2) return 'again'
  if (reply === 0) return 'duplicate'
  throw new Error(`claim.lua answered ${JSON.stringify(reply)}; expected 0, 1 or 2`)
}

/**
 * Claims are grouped by dedup shard and sent as one script call per shard, in one write: a
 * batch of 2,000 records costs at most DEDUP_SHARDS script calls instead of 2,000 commands, which is
 * what keeps ingest close to a bare Kafka pass-through. The calls are auto-pipelined (see createRedis).
 */
export function createRedisDedupStore(redis: Redis, opts: { prefix: string; windowMs: number }): DedupStore {
  const keys = createKeys(opts.prefix)
  if (!(CLAIM_COMMAND in redis)) redis.defineCommand(CLAIM_COMMAND, { lua: CLAIM_LUA })
  const claimHeadlines = async (claims: { id: string; origin: string }[]): Promise<ClaimAnswer[]> => {
    if (claims.length === 0) return []
    const byShard = new Map<number, number[]>()
    claims.forEach((c, i) => {
      const shard = dedupShard(c.id)
      const list = byShard.get(shard)
      if (list) list.push(i)
      else byShard.set(shard, [i])
    })
    const claim = (redis as unknown as Record<string, ClaimCommand>)[CLAIM_COMMAND]!.bind(redis)
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
        answers[i] = answerOf(values[k])
      })
    })
    return answers
  }
  return {
    claimHeadlines,
    claim: async (claims) => (await claimHeadlines(claims)).map(isClaimTaken),
    async close() {},
  }
}

export { DEDUP_SHARDS }

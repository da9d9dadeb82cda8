import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Clock } from '@tradepulse/contracts'
import { createKeys, type createRedis, type DedupStore, dedupShard } from '@tradepulse/platform'

/**
 * How a headline id's claim went: `first`, no claim was held (a new headline); `again`, the record
 * claiming it held it already (its batch handled again after a give-up or a crash: published again, since
 * the earlier attempt's output may never have been sent); `duplicate`, another record holds it.
 */
export type ClaimAnswer = 'first' | 'again' | 'duplicate'

/** Ingest's dedup claims, telling a first claim from a re-claim: one answer per claim, in order. */
export type HeadlineClaims = {
  claimHeadlines(claims: { id: string; origin: string }[]): Promise<ClaimAnswer[]>
  close(): Promise<void>
}

/**
 * The claims of a store given to ingest. A platform DedupStore answers true for both a first claim and a
 * re-claim, so through one every claim taken reads as `first` (its time corrections counted again on a
 * retry): give a HeadlineClaims store to tell them apart.
 */
export function headlineClaimsOf(store: DedupStore | HeadlineClaims): HeadlineClaims {
  if ('claimHeadlines' in store) return store
  return {
    claimHeadlines: async (claims) =>
      (await store.claim(claims)).map((taken) => (taken ? 'first' : 'duplicate')),
    close: () => store.close(),
  }
}

// Versioned so a changed script never runs under an old cached SHA (platform's claim.lua is tpDedupClaimV1).
const CLAIM_COMMAND = 'tpIngestClaimV2'
const CLAIM_LUA = readFileSync(join(import.meta.dirname, 'lua', 'claim-headlines.lua'), 'utf8')

type ClaimCommand = (numKeys: number, ...args: (string | number)[]) => Promise<unknown[]>

const answerOf = (reply: unknown): ClaimAnswer => {
  if (reply === 1) return 'first'
  if (reply === 2) return 'again'
  if (reply === 0) return 'duplicate'
  throw new Error(`claim-headlines.lua answered ${JSON.stringify(reply)}; expected 0, 1 or 2`)
}

/**
 * HeadlineClaims on Redis (claim-headlines.lua), on the keys of platform's Redis dedup store, and a
 * DedupStore too (`claim`: a first claim or a re-claim is true). Claims are grouped by dedup shard and
 * sent as one script call per shard, auto-pipelined (see createRedis), as platform's store does.
 */
export function createRedisHeadlineClaims(
  redis: ReturnType<typeof createRedis>,
  opts: { prefix: string; windowMs: number },
): HeadlineClaims & DedupStore {
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
    claim: async (claims) => (await claimHeadlines(claims)).map((a) => a !== 'duplicate'),
    async close() {},
  }
}

/** The same claims as createRedisHeadlineClaims, in memory (the embedded default and tests). */
export function createMemoryHeadlineClaims(opts: {
  windowMs: number
  clock: Clock
  maxEntries?: number
}): HeadlineClaims & DedupStore {
  const held = new Map<string, { origin: string; expiresAt: number }>()
  const maxEntries = opts.maxEntries ?? 1_000_000
  const claimHeadlines = async (claims: { id: string; origin: string }[]): Promise<ClaimAnswer[]> => {
    const now = opts.clock.now()
    return claims.map(({ id, origin }) => {
      const claim = held.get(id)
      if (!claim || claim.expiresAt <= now) {
        // Bounded: the oldest claim goes first (Map keeps insertion order).
        held.delete(id)
        if (held.size >= maxEntries) held.delete(held.keys().next().value as string)
        held.set(id, { origin, expiresAt: now + opts.windowMs })
        return 'first'
      }
      return claim.origin === origin ? 'again' : 'duplicate'
    })
  }
  return {
    claimHeadlines,
    claim: async (claims) => (await claimHeadlines(claims)).map((a) => a !== 'duplicate'),
    async close() {
      held.clear()
    },
  }
}

import type { Clock } from '@tradepulse/contracts'
import { type ClaimAnswer, type DedupStore, isClaimTaken } from './dedup-store.ts'

/** The same claim semantics as the Redis script, in memory, for the embedded default and tests. */
export function createMemoryDedupStore(opts: {
  windowMs: number
  clock: Clock
  maxEntries?: number
}): DedupStore {
  const held = new Map<string, { origin: string; expiresAt: number }>()
  const maxEntries = opts.maxEntries ?? 1_000_000
  const claimHeadlines = async (claims: { id: string; origin: string }[]): Promise<ClaimAnswer[]> => {
    const now = opts.clock.now()
    return claims.map(({ id, origin }) => {
      const claim = held.get(id)
      if (!claim || claim.expiresAt <= now) {
        // Bounded: the oldest claim goes first (Map keeps insertion order; an expired claim taken again
        // is deleted first, so it moves to the end instead of going first).
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
    claim: async (claims) => (await claimHeadlines(claims)).map(isClaimTaken),
    async close() {
      held.clear()
    },
  }
}

import type { Clock } from '@tradepulse/contracts'
import type { ClaimAnswer, ClaimRelease, DedupStore, HeadlineClaim } from './dedup-store.ts'

/** The same claim and release semantics as the Redis scripts, in memory, for the embedded default and tests. */
export function createMemoryDedupStore(opts: {
  windowMs: number
  clock: Clock
  maxEntries?: number
}): DedupStore {
  const held = new Map<string, { origin: string; expiresAt: number }>()
  const maxEntries = opts.maxEntries ?? 1_000_000
  /** Who holds `id` now, an expired claim forgotten. */
  const holder = (id: string, now: number) => {
    const claim = held.get(id)
    if (claim && claim.expiresAt <= now) held.delete(id)
    return claim && claim.expiresAt > now ? claim.origin : undefined
  }
  return {
    async claimHeadlines(claims: readonly HeadlineClaim[]): Promise<ClaimAnswer[]> {
      const now = opts.clock.now()
      return claims.map(({ id, origin }) => {
        const by = holder(id, now)
        if (by === undefined) {
          // Bounded: the oldest claim goes first (Map keeps insertion order; an expired claim taken again
          // was deleted above, so it moves to the end instead of going first).
          if (held.size >= maxEntries) held.delete(held.keys().next().value as string)
          held.set(id, { origin, expiresAt: now + opts.windowMs })
          return 'first'
        }
        return by === origin ? 'again' : 'duplicate'
      })
    },
    async releaseClaims(origin: string, ids: readonly string[]): Promise<ClaimRelease[]> {
      const now = opts.clock.now()
      return ids.map((id) => {
        const by = holder(id, now)
        if (by === undefined) return 'absent'
        if (by !== origin) return 'other'
        held.delete(id)
        return 'released'
      })
    },
    async close() {
      held.clear()
    },
  }
}

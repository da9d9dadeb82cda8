import type { Clock } from '@tradepulse/contracts'
import type { DedupStore } from './dedup-store.ts'

/** The same claim semantics as the Redis script, in memory, for the embedded default and tests. */
export function createMemoryDedupStore(opts: {
  windowMs: number
  clock: Clock
  maxEntries?: number
}): DedupStore {
  const claims = new Map<string, { origin: string; expiresAt: number }>()
  const maxEntries = opts.maxEntries ?? 1_000_000
  return {
    async claim(batch) {
      const now = opts.clock.now()
      return batch.map(({ id, origin }) => {
        const held = claims.get(id)
        if (!held || held.expiresAt <= now) {
          // Bounded: the oldest claim goes first (Map keeps insertion order).
          if (claims.size >= maxEntries) claims.delete(claims.keys().next().value as string)
          claims.set(id, { origin, expiresAt: now + opts.windowMs })
          return true
        }
        return held.origin === origin
      })
    },
    async close() {
      claims.clear()
    },
  }
}

import type { Redis } from 'ioredis'
import { createKeys } from '../redis/keys.ts'
import type { DedupStore } from './dedup-store.ts'

/**
 * A claim is one `SET key origin NX PX window GET` (Redis >= 7.0): atomic, one key, no script. The reply
 * is the previous holder: none means claimed now; the same origin means a redelivery of the record that
 * claimed it (after a crash between claim and commit), which must pass again or it would be lost.
 * All of a batch's claims go in one pipeline.
 */
export function createRedisDedupStore(redis: Redis, opts: { prefix: string; windowMs: number }): DedupStore {
  const keys = createKeys(opts.prefix)
  return {
    async claim(claims) {
      if (claims.length === 0) return []
      const pipeline = redis.pipeline()
      for (const c of claims) pipeline.call('SET', keys.dedup(c.id), c.origin, 'NX', 'PX', String(opts.windowMs), 'GET')
      const results = (await pipeline.exec()) ?? []
      return results.map(([err, holder], i) => {
        if (err) throw err
        return holder === null || holder === claims[i]!.origin
      })
    },
    async close() {},
  }
}

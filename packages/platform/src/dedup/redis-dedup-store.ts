import type { Redis } from 'ioredis'
import { createKeys } from '../redis/keys.ts'
import { defineScript } from '../redis/scripts.ts'
import type { DedupStore } from './dedup-store.ts'

/** Claims in one pipeline per batch; each claim is one atomic script on one key. */
export function createRedisDedupStore(redis: Redis, opts: { prefix: string; windowMs: number }): DedupStore {
  const keys = createKeys(opts.prefix)
  const command = defineScript(redis, 'claim-1.lua')
  return {
    async claim(claims) {
      if (claims.length === 0) return []
      const pipeline = redis.pipeline()
      for (const c of claims) (pipeline as unknown as Record<string, (...a: unknown[]) => void>)[command]!(keys.dedup(c.id), c.origin, opts.windowMs)
      const results = (await pipeline.exec()) ?? []
      return results.map(([err, value]) => {
        if (err) throw err
        return value === 1
      })
    },
    async close() {},
  }
}

import { createIndicatorKeys } from '@tradepulse/indicators'
import type { Redis } from 'ioredis'
import { INDICATOR_STORE_DEFAULTS } from './indicator-store-options.ts'

export type IndicatorMemoryReport = {
  /** used_memory from INFO memory: the whole server, bytes. */
  usedMemoryBytes: number
  /** Keys of the namespace and the sum of their MEMORY USAGE, bytes. */
  keys: number
  keyBytes: number
  /** keyBytes split by key type: indicator state hashes, applied-id sets, scope registries. */
  bytesByType: { state: number; ids: number; scopes: number }
}

/** Redis memory used by one indicator namespace, for the benchmark. Scans the namespace (SCAN, not KEYS). */
export async function measureIndicatorMemory(
  redis: Redis,
  options: { prefix: string; namespace?: string },
): Promise<IndicatorMemoryReport> {
  const keys = createIndicatorKeys(options.prefix, options.namespace ?? INDICATOR_STORE_DEFAULTS.namespace)
  const info = await redis.info('memory')
  const usedMemoryBytes = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN)
  const report: IndicatorMemoryReport = {
    usedMemoryBytes,
    keys: 0,
    keyBytes: 0,
    bytesByType: { state: 0, ids: 0, scopes: 0 },
  }
  let cursor = '0'
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', keys.pattern, 'COUNT', '1000')
    cursor = next
    if (found.length === 0) continue
    const pipeline = redis.pipeline()
    // SAMPLES 0: measure every element of a hash or sorted set, not an estimate from five.
    for (const key of found) pipeline.memory('USAGE', key, 'SAMPLES', '0')
    const results = (await pipeline.exec()) ?? []
    found.forEach((key, i) => {
      const bytes = Number(results[i]?.[1] ?? 0)
      report.keys++
      report.keyBytes += bytes
      const type = key.endsWith(':ids') ? 'ids' : key.includes(':scopes:{') ? 'scopes' : 'state'
      report.bytesByType[type] += bytes
    })
  } while (cursor !== '0')
  return report
}

import { Redis } from 'ioredis'
import { deleteTopicsWithPrefix } from './kafka-helpers.ts'

/**
 * Deletes every key matching `pattern` (SCAN and UNLINK, never KEYS), so that benchmark runs with their
 * own key prefix leave nothing behind: millions of leftover keys make every later SCAN slow.
 */
export async function deleteKeys(redisUrl: string, pattern: string): Promise<number> {
  return deleteKeysWhere(redisUrl, () => true, pattern)
}

/** Calls `onKeys` with every key matching `pattern` (SCAN, a few thousand at a time). */
export async function scanKeys(
  redisUrl: string,
  onKeys: (keys: string[], redis: Redis) => Promise<void> | void,
  pattern = '*',
): Promise<void> {
  const redis = new Redis(redisUrl)
  try {
    let cursor = '0'
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', '5000')
      cursor = next
      if (found.length > 0) await onKeys(found, redis)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}

/** Deletes (UNLINK) every key matching `pattern` for which `where` holds; returns how many. */
export async function deleteKeysWhere(
  redisUrl: string,
  where: (key: string) => boolean,
  pattern = '*',
): Promise<number> {
  let deleted = 0
  await scanKeys(
    redisUrl,
    async (keys, redis) => {
      const doomed = keys.filter(where)
      if (doomed.length > 0) deleted += await redis.unlink(...doomed)
    },
    pattern,
  )
  return deleted
}

/**
 * Removes what a benchmark run named `run` made: its topics (`<run>.…`) and its Redis keys (every key
 * prefix it used starts with `run`). A broker that keeps every run's partitions spends CPU on them for good.
 */
export async function cleanUpRun(
  infra: { kafkaBrokers: string[]; redisUrl: string },
  run: string,
): Promise<void> {
  await deleteTopicsWithPrefix(infra.kafkaBrokers, `${run}.`)
  await deleteKeys(infra.redisUrl, `${run}*`)
}

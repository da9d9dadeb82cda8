import { Redis } from 'ioredis'
import { deleteTopicsWithPrefix } from './kafka-helpers.ts'

/**
 * Deletes every key matching `pattern` (SCAN and UNLINK, never KEYS), so that benchmark runs with their
 * own key prefix leave nothing behind: millions of leftover keys make every later SCAN slow.
 */
export async function deleteKeys(redisUrl: string, pattern: string): Promise<number> {
  const redis = new Redis(redisUrl)
  let deleted = 0
  try {
    let cursor = '0'
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', '5000')
      cursor = next
      if (found.length > 0) deleted += await redis.unlink(...found)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
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

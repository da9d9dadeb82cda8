import { Redis } from 'ioredis'

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

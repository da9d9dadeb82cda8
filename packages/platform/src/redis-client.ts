import { Redis } from 'ioredis'
import type { HealthCheck } from './health.ts'
import type { Logger } from './logger.ts'

/**
 * The one Redis client factory. Commands fail fast while Redis is down (two retries), so the batch
 * runner sees an infrastructure fault and pauses instead of piling work into an offline queue;
 * the connection itself keeps reconnecting with a capped backoff.
 */
export function createRedis(url: string, log: Logger, name = 'tradepulse'): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    reconnectOnError: () => true,
  })
  let down = false
  redis.on('error', (err) => {
    if (!down) log.warn({ err }, 'Redis connection error')
    down = true
  })
  redis.on('ready', () => {
    if (down) log.info('Redis connection restored')
    down = false
  })
  return redis
}

export function redisHealth(redis: Redis): HealthCheck {
  return async () => {
    try {
      await redis.ping()
      return { status: 'ok', ready: true }
    } catch (err) {
      return {
        status: 'degraded',
        ready: false,
        detail: `Redis: ${err instanceof Error ? err.message : String(err)}`,
      }
    }
  }
}

/** Closes a client once; later calls are no-ops (close() is idempotent everywhere). */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return
  try {
    await redis.quit()
  } catch {
    redis.disconnect()
  }
}

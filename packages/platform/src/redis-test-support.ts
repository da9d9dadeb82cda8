// Shared by the Redis tests, the services' included (@tradepulse/platform/redis-test-support); not part of
// the package's surface.
import type { Redis } from 'ioredis'

/** One connection as CLIENT LIST gives it: its fields by name (id, name, flags, cmd…), as text. */
export type ClientInfo = Record<string, string>

/**
 * The connection named `name` (createRedis's name, CLIENT SETNAME) among those of the server `redis` is
 * connected to, as CLIENT LIST gives it; none if no connection has that name.
 */
export async function clientNamed(redis: Redis, name: string): Promise<ClientInfo | undefined> {
  return String(await redis.client('LIST'))
    .split('\n')
    .map(
      (line) =>
        Object.fromEntries(
          line
            .trim()
            .split(' ')
            .map((field) => {
              const at = field.indexOf('=')
              return [field.slice(0, at), field.slice(at + 1)]
            }),
        ) as ClientInfo,
    )
    .find((c) => c.name === name)
}

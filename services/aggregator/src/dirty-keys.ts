import { type Clock, systemClock } from '@tradepulse/contracts'
import { normalized } from '@tradepulse/platform'
import type { Redis } from 'ioredis'

/**
 * A key's dirty mark: its stamp, microseconds of the marking store's clock, strictly increasing per key
 * (a key marked again always gets a larger stamp), so that a mark is cleared only if it is the very one
 * its publisher knew of.
 */
export type DirtyMark = { key: string; stamp: number }

/**
 * Indicator keys whose newest headlines are applied in the store but not yet on the indicators topic:
 * the publish throttle held their update back for its trailing edge, and the batch that applied them
 * is committed. The throttle's pending keys live in one process; these marks outlive it, so a member
 * killed (SIGKILL, OOM, a lost host) after a batch's offsets were committed and before its trailing
 * edge loses no update: another member, or the same one restarted, publishes it.
 *
 * The marks are the consumer group's, not a partition's: an indicator key gets headlines from every
 * partition, and every member reads the same store, so whichever member is alive publishes it.
 * - A batch marks the keys it leaves pending before it completes (before its offsets can commit).
 * - The member that marked a key publishes it on its trailing edge (or with a later batch's output) and
 *   clears the mark if it is still the one it wrote (compare and delete: a key marked again since, by
 *   this member or another, keeps its newer mark).
 * - Any member takes marks older than a few intervals (`claimStale`: a mark that old was left by a
 *   member that died or cannot reach Kafka) and publishes them. Taking restamps them, so two members
 *   never take one mark at once, and one that dies holding it leaves it to be taken again later.
 *
 * Publishing a key twice is harmless (the topic is compacted, and the alerter ignores an update older
 * than the one it saw, and never fires twice for one crossing), so every doubt is settled by publishing.
 * Bounded: one mark per indicator key at most, cleared as it is published; the set expires `ttlMs`
 * after its last mark (the indicators' own TTL).
 */
export type DirtyKeys = {
  /** Marks `keys`; resolves once the marks are durable, with each key's stamp. */
  mark(keys: readonly string[]): Promise<ReadonlyMap<string, number>>
  /** Deletes each mark still at the stamp given; a key marked again since keeps its mark. */
  clear(marks: readonly DirtyMark[]): Promise<void>
  /** Takes up to `limit` marks older than `olderThanMs`, restamped now (theirs until that old again). */
  claimStale(olderThanMs: number, limit: number): Promise<DirtyMark[]>
}

/** In memory, for the embedded default (one process: its store does not outlive it either) and tests. */
export function memoryDirtyKeys(clock: Clock = systemClock): DirtyKeys {
  const marks = new Map<string, number>()
  // The clock in µs, moving on by at least 1 µs a call (Redis's TIME has µs; a ms clock alone would
  // give two calls within one ms the same time).
  let last = Number.NEGATIVE_INFINITY
  const nowUs = () => {
    last = Math.max(clock.now() * 1_000, last + 1)
    return last
  }
  return {
    mark: async (keys) => {
      const now = nowUs()
      const out = new Map<string, number>()
      for (const key of keys) {
        const old = marks.get(key)
        const stamp = old !== undefined && old >= now ? old + 1 : now
        marks.set(key, stamp)
        out.set(key, stamp)
      }
      return out
    },
    clear: async (list) => {
      for (const { key, stamp } of list) if (marks.get(key) === stamp) marks.delete(key)
    },
    claimStale: async (olderThanMs, limit) => {
      const now = nowUs()
      const out: DirtyMark[] = []
      for (const [key, stamp] of marks) {
        if (out.length >= limit) break
        if (stamp > now - olderThanMs * 1_000) continue
        marks.set(key, now)
        out.push({ key, stamp: now })
      }
      return out
    },
  }
}

/**
 * Redis's clock in µs (a script's TIME: one clock for every member, whatever their hosts' clocks say).
 * Stamps pass as '%.0f' strings: Lua's tostring keeps only 14 digits, and they have 16.
 */
const NOW_US = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])`

/** KEYS[1] the sorted set; ARGV[1] its TTL (ms), then the keys. Returns each key's stamp. */
const MARK = `${NOW_US}
local out = {}
for i = 2, #ARGV do
  local s = now
  local old = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if old and tonumber(old) >= s then s = tonumber(old) + 1 end
  local stamp = string.format('%.0f', s)
  redis.call('ZADD', KEYS[1], stamp, ARGV[i])
  out[#out + 1] = stamp
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return out
`

/** KEYS[1] the sorted set; ARGV key, stamp pairs. Deletes each mark still at its stamp. */
const CLEAR = `local n = 0
for i = 1, #ARGV, 2 do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s and tonumber(s) == tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n
`

/** KEYS[1] the sorted set; ARGV[1] the age (ms), ARGV[2] the limit. Returns {stamp, keys taken}. */
const CLAIM = `${NOW_US}
local before = string.format('%.0f', now - tonumber(ARGV[1]) * 1000)
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', before, 'LIMIT', 0, ARGV[2])
local stamp = string.format('%.0f', now)
for _, k in ipairs(stale) do redis.call('ZADD', KEYS[1], stamp, k) end
return {stamp, stale}
`

/**
 * In Redis: one sorted set per consumer group, `<REDIS_KEY_PREFIX>:dirty:{<group>}`, indicator key →
 * stamp (Redis's clock, µs), expiring `ttlMs` after its last mark. Each call is one script, one round
 * trip, however many keys.
 */
export function redisDirtyKeys(redis: Redis, key: string, ttlMs: number): DirtyKeys {
  return {
    mark: (keys) =>
      normalized(async () => {
        if (keys.length === 0) return new Map()
        const stamps = (await redis.eval(MARK, 1, key, String(ttlMs), ...keys)) as string[]
        return new Map(keys.map((k, i) => [k, Number(stamps[i])]))
      }),
    clear: (list) =>
      normalized(async () => {
        if (list.length === 0) return
        await redis.eval(CLEAR, 1, key, ...list.flatMap((m) => [m.key, String(m.stamp)]))
      }),
    claimStale: (olderThanMs, limit) =>
      normalized(async () => {
        const [stamp, keys] = (await redis.eval(CLAIM, 1, key, String(olderThanMs), String(limit))) as [
          string,
          string[],
        ]
        return keys.map((k) => ({ key: k, stamp: Number(stamp) }))
      }),
  }
}

/** The sorted set of a group's dirty keys (hash-tagged by the group, like its applied offsets). */
export const dirtyKeysKey = (prefix: string, groupId: string) => `${prefix}:dirty:{${groupId}}`

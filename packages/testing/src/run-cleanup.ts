import { hostname } from 'node:os'
import { Redis } from 'ioredis'
import { deleteTopicsWithPrefix, listTopicNames } from './kafka-helpers.ts'
import { isRandomName, randomKeyPrefix, runTokenOf } from './random-name.ts'

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

const LIVE_RUN_KEY = 'tradepulse:test-run:'
const LIVE_RUN_TTL_MS = 120_000

export type LiveRun = {
  /** The tokens of the other test runs live on the same Redis now. */
  others(): Promise<string[]>
  end(): Promise<void>
}

/**
 * Marks the test run with `token` live on a shared Redis (a key `tradepulse:test-run:<token>`, renewed
 * while this process lives, gone two minutes after it dies without end()), so that a run can tell whether
 * another is using the same servers before it deletes what it cannot tell apart by token.
 */
export async function registerLiveRun(redisUrl: string, token: string): Promise<LiveRun> {
  const key = `${LIVE_RUN_KEY}${token}`
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 })
  redis.on('error', () => {}) // a renewal that fails is tried again; others() and end() report errors
  const value = `pid ${process.pid} on ${hostname()} since ${new Date().toISOString()}`
  const mark = () => redis.set(key, value, 'PX', LIVE_RUN_TTL_MS)
  try {
    await mark()
  } catch (err) {
    redis.disconnect()
    throw err
  }
  const renew = setInterval(() => void mark().catch(() => {}), LIVE_RUN_TTL_MS / 4)
  renew.unref()
  return {
    async others() {
      const found: string[] = []
      await scanKeys(
        redisUrl,
        (keys) => void found.push(...keys.filter((k) => k !== key).map((k) => k.slice(LIVE_RUN_KEY.length))),
        `${LIVE_RUN_KEY}*`,
      )
      return found
    },
    async end() {
      clearInterval(renew)
      try {
        await redis.del(key)
      } finally {
        redis.disconnect()
      }
    },
  }
}

/** Random names without a run token: topics, and the random-name prefixes of Redis keys. */
export type TokenlessNames = { topics: Set<string>; keyPrefixes: Set<string> }

/** The random names without a run token on the servers now (made outside randomName, or by older runs). */
export async function tokenlessNames(infra: {
  kafkaBrokers: string[]
  redisUrl: string
}): Promise<TokenlessNames> {
  const keyPrefixes = new Set<string>()
  await scanKeys(infra.redisUrl, (keys) => {
    for (const key of keys) {
      const prefix = randomKeyPrefix(key)
      if (prefix && runTokenOf(prefix) === undefined) keyPrefixes.add(prefix)
    }
  })
  const topics = (await listTopicNames(infra.kafkaBrokers)).filter(
    (t) => isRandomName(t) && runTokenOf(t) === undefined,
  )
  return { topics: new Set(topics), keyPrefixes }
}

/**
 * Which topics and Redis keys a test run with `token` deletes at its end: the random-named ones carrying
 * its token, never a live run's; given `liveTokens` (the other runs live now), also those of runs that
 * are not live any more (a run killed before its clean-up); and, given `tokenlessBefore` (the run's
 * snapshot, when no other run is using the servers), the random-named ones without a token that were not
 * there before it.
 */
export function runNames(
  token: string,
  tokenlessBefore?: TokenlessNames,
  liveTokens?: ReadonlySet<string>,
): { topic(name: string): boolean; key(key: string): boolean } {
  const ours = (name: string, before: Set<string> | undefined) => {
    const t = runTokenOf(name)
    if (t === undefined) return before !== undefined && !before.has(name)
    return t === token || (liveTokens !== undefined && !liveTokens.has(t))
  }
  return {
    topic: (name) => isRandomName(name) && ours(name, tokenlessBefore?.topics),
    key: (key) => {
      const prefix = randomKeyPrefix(key)
      return prefix !== undefined && ours(prefix, tokenlessBefore?.keyPrefixes)
    },
  }
}

import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { HealthCheck } from '../health.ts'
import type { Logger } from '../logger.ts'
import { createKeys } from './keys.ts'

export type RedisStateWatchOptions = {
  /** REDIS_KEY_PREFIX: the marker is one key under it, shared by every worker on that prefix. */
  prefix: string
  /** What this worker keeps in Redis, for the messages ("indicators", "dedup claims"). */
  what: string
  /**
   * How long the state takes to fill again by itself after a loss (the longest horizon it keeps),
   * named in the error line and the health detail.
   */
  refillMs: number
  /**
   * How long the health check reports a loss (degraded, still ready): default an hour, or refillMs if
   * shorter. Not the whole refill (a week for the indicators' baseline): a check degraded that long
   * would hide the next fault behind it. The counter is the lasting record to alert on.
   */
  reportMs?: number
  /** What an operator can do about it, appended to the error line and the health detail. */
  remedy?: string
  log: Logger
  /** The worker's registry: `tradepulse_redis_state_lost_total` is registered there. */
  registry?: Registry
  /** How often the marker is read besides each reconnection (default 10 s). */
  intervalMs?: number
  /** The wall clock (default Date.now): only for the times the messages show, and lostAt(). */
  now?: () => number
  /**
   * The monotonic clock (default performance.now) that times the report window: a wall clock stepped
   * (NTP, a VM resumed, an operator) must neither cut the degraded report short nor hold it on.
   */
  monotonicNow?: () => number
}

export type RedisStateWatch = {
  /**
   * Degraded (still ready) for `reportMs` after a loss or an eviction, and for as long as Redis runs with
   * an eviction policy; ok otherwise.
   */
  health: HealthCheck
  /**
   * Reads the marker and Redis's INFO now (tests; the watch also reads them on each reconnection and every
   * interval).
   */
  check(): Promise<void>
  /** Wall-clock ms of the last loss (or eviction) seen, if any. */
  lostAt(): number | undefined
  stop(): void
}

const LOST_METRIC = 'tradepulse_redis_state_lost_total'
const MAY_EVICT_METRIC = 'tradepulse_redis_may_evict'
const USED_MEMORY_METRIC = 'tradepulse_redis_used_memory_bytes'
const MAXMEMORY_METRIC = 'tradepulse_redis_maxmemory_bytes'

/** What `INFO memory` and `INFO stats` say of eviction, and the memory used (absent if INFO omits it). */
type Eviction = {
  maxmemory: number
  maxmemoryHuman: string
  policy: string
  evictedKeys: number
  usedMemory?: number
}

/**
 * Notices a Redis that lost what the workers keep in it: restarted without persistence, flushed, or
 * replaced by an empty server behind the same address, or evicting keys under `maxmemory`. Nothing else
 * would say so: commands keep succeeding on the empty server, indicators restart from nothing, the
 * alerter forgets its cooldowns and hysteresis (and may page again what it paged before), and ingest
 * lets duplicates through.
 *
 * A marker key holds a random epoch. The first worker to start on a prefix sets it and the others
 * adopt it; each then reads it on every reconnection and every `intervalMs`. Missing, or holding an
 * epoch other than the one the worker adopted (another worker found it missing first and set a new
 * one), means the data went: an error line, the counter, and a degraded health check for `reportMs`
 * (the detail says until when the state is incomplete). One command a read (SET NX GET, Redis >= 7): the marker is
 * recreated in the same step as it is found missing.
 *
 * Eviction the marker does not see: it is read (so recently used) every `intervalMs`, which an LRU or
 * LFU policy never picks, and it is the only key without a TTL, which a volatile-* policy never picks,
 * while those policies drop the workers' keys one at a time. So each read also reads `INFO memory` and
 * `INFO stats`: a `maxmemory` with a `maxmemory-policy` other than noeviction is an error line, the
 * `tradepulse_redis_may_evict` gauge and a degraded health check for as long as it holds; `evicted_keys`
 * grown since the last read is reported as a loss (the first read only takes it as the baseline). An
 * INFO refused (a managed Redis's ACL) is said once, and the marker is watched still. The same read sets
 * `tradepulse_redis_used_memory_bytes` and `tradepulse_redis_maxmemory_bytes` (0: no maxmemory), the
 * headroom a Redis under noeviction has before it refuses writes (`OOM command not allowed`).
 *
 * What it cannot see: a loss while no worker on the prefix was running (the first to start sets a
 * new marker, as on a new deployment), and a loss between two reads that something else filled back
 * with a marker of the same epoch (nothing does). `evicted_keys` counts the whole server: keys of
 * other prefixes, or other applications, evicted there are reported too (they say the policy is live).
 */
export function watchRedisState(redis: Redis, opts: RedisStateWatchOptions): RedisStateWatch {
  const key = createKeys(opts.prefix).stateMarker
  const now = opts.now ?? Date.now
  const monotonicNow = opts.monotonicNow ?? (() => performance.now())
  const intervalMs = opts.intervalMs ?? 10_000
  const reportMs = Math.min(opts.reportMs ?? 3_600_000, opts.refillMs)
  const lost = counter(opts.registry)
  const { mayEvict, usedMemory, maxmemory } = gauges(opts.registry)
  const remedy = opts.remedy ? `. ${opts.remedy}` : ''
  let epoch: string | undefined
  // The last loss by the wall clock (for the messages: when it was, until when the state is incomplete)
  // and by the monotonic clock (how long ago it was, which decides how long health reports it), and
  // what it was (the health detail's opening).
  let lastLoss: number | undefined
  let lastLossMonotonic = 0
  let lastLossCause = ''
  // Eviction as the last INFO read gave it: the policy while it may evict (else undefined), and the
  // server's evicted_keys (undefined until the first read, which only takes it as the baseline).
  let evicting: Eviction | undefined
  let evictedKeys: number | undefined
  let running: Promise<void> | undefined
  let stopped = false
  let markerRefused = false
  let infoRefused = false

  const lose = (cause: string): void => {
    lastLoss = now()
    lastLossMonotonic = monotonicNow()
    lastLossCause = cause
    lost?.inc()
  }

  /** Reads the marker: true if it reported a loss. */
  const readMarker = async (): Promise<boolean> => {
    const mine = randomBytes(8).toString('hex')
    const held = (await redis.set(key, mine, 'NX', 'GET')) as string | null
    if (epoch === undefined) {
      // The first read: set the marker, or adopt the one the first worker on this prefix set.
      epoch = held ?? mine
      return false
    }
    if (held === epoch) return false
    lose('Redis lost its data')
    epoch = held ?? mine
    opts.log.error(
      { key, marker: held === null ? 'missing' : 'replaced' },
      `Redis lost its data: the state marker ${held === null ? 'was missing' : 'was set anew by another worker'}, so ${opts.what} kept in Redis are gone and start again from empty; they are incomplete for the next ${describeMs(opts.refillMs)}${remedy}`,
    )
    return true
  }

  /** Reads INFO memory and stats; `counted`: the marker's read just reported a loss (counted once). */
  const readEviction = async (counted: boolean): Promise<void> => {
    const [memory, stats] = await Promise.all([redis.info('memory'), redis.info('stats')])
    const read = parseEviction(`${memory}\n${stats}`)
    if (!read) {
      if (!infoRefused) {
        infoRefused = true
        opts.log.warn(
          {},
          'cannot watch Redis for evictions: its INFO gives no maxmemory, maxmemory_policy or evicted_keys, so keys it evicts under maxmemory go unreported (run it with maxmemory-policy noeviction)',
        )
      }
      return
    }
    const may = read.maxmemory > 0 && read.policy !== 'noeviction'
    mayEvict?.set(may ? 1 : 0)
    maxmemory?.set(read.maxmemory)
    if (read.usedMemory !== undefined) usedMemory?.set(read.usedMemory)
    if (may && evicting?.policy !== read.policy) {
      opts.log.error(
        { maxmemory: read.maxmemory, maxmemoryPolicy: read.policy },
        `Redis may evict ${opts.what} without a word: it runs with maxmemory ${read.maxmemoryHuman} and maxmemory-policy ${read.policy}, which drops ${describePolicy(read.policy)} when memory is full, so ${opts.what} go missing key by key and nothing else says so. Set maxmemory-policy noeviction (a full Redis then refuses writes, which fail where they are made) or remove maxmemory`,
      )
    } else if (!may && evicting) {
      opts.log.info(
        { maxmemory: read.maxmemory, maxmemoryPolicy: read.policy },
        `Redis no longer evicts: ${read.maxmemory > 0 ? 'maxmemory-policy noeviction' : 'no maxmemory'}`,
      )
    }
    evicting = may ? read : undefined
    const before = evictedKeys
    evictedKeys = read.evictedKeys
    if (before === undefined) {
      if (read.evictedKeys > 0)
        opts.log.warn(
          { evictedKeys: read.evictedKeys, maxmemoryPolicy: read.policy },
          `Redis had evicted ${read.evictedKeys} keys before this worker began to watch it (evicted_keys since the server started or its stats were reset): ${opts.what} kept in Redis may have been missing in part`,
        )
      return
    }
    // Fewer than before: a new server, or CONFIG RESETSTAT; the count starts again from there.
    if (read.evictedKeys <= before) return
    const count = read.evictedKeys - before
    if (counted) lastLossCause = 'Redis lost its data and evicted keys'
    else lose('Redis evicted keys')
    opts.log.error(
      { evictedKeys: count, maxmemoryPolicy: read.policy },
      `Redis evicted ${count} keys since the last read (maxmemory-policy ${read.policy}; evicted_keys counts the whole server), so ${opts.what} kept in Redis may be missing in part; they are incomplete for the next ${describeMs(opts.refillMs)}${remedy}`,
    )
  }

  // An error reply (a Redis before 7.0 refusing SET ... GET, an ACL refusing the key or INFO) leaves that
  // half of the watch blind for good: said once. Redis unreachable or slow: the connection's own health
  // check and log say so; the next read will tell.
  // A full Redis under noeviction refusing the marker's SET (`OOM command not allowed …`) is no refusal of
  // the watch: it passes once Redis has room (the workers' own writes fail and say so meanwhile, and the
  // memory gauges show it). Taken for one, it was an error line blaming the Redis version and the ACL, and
  // no word of a real refusal after it.
  const markerFailed = (err: unknown): boolean => {
    if (err instanceof Error && err.message.startsWith('OOM ')) {
      opts.log.debug(
        { err, key },
        'state marker not read: Redis is full (OOM); read again at the next interval',
      )
      return false
    }
    if (!markerRefused && err instanceof Error && err.name === 'ReplyError') {
      markerRefused = true
      opts.log.error(
        { err, key },
        `cannot watch Redis for data loss: ${err.message} (the watch needs Redis 7.0 or later and may read and write ${key})`,
      )
    }
    return false
  }
  const infoFailed = (err: unknown): void => {
    if (!infoRefused && err instanceof Error && err.name === 'ReplyError') {
      infoRefused = true
      opts.log.warn(
        { err },
        `cannot watch Redis for evictions: INFO refused: ${err.message} (keys it evicts under maxmemory go unreported; run it with maxmemory-policy noeviction)`,
      )
    }
  }

  // One read at a time (a reconnection during an interval's read would otherwise compare twice).
  const check = (): Promise<void> => {
    if (stopped) return Promise.resolve()
    running ??= (async () => {
      const counted = await readMarker().catch(markerFailed)
      await readEviction(counted).catch(infoFailed)
    })().finally(() => {
      running = undefined
    })
    return running
  }

  const onReady = (): void => void check()
  redis.on('ready', onReady)
  if (redis.status === 'ready') void check()
  const timer = setInterval(() => void check(), intervalMs)
  timer.unref()

  return {
    check,
    lostAt: () => lastLoss,
    health: async () => {
      const faults: string[] = []
      if (lastLoss !== undefined && monotonicNow() - lastLossMonotonic < reportMs)
        faults.push(
          `${lastLossCause} at ${new Date(lastLoss).toISOString()}: ${opts.what} incomplete until ${new Date(lastLoss + opts.refillMs).toISOString()}${remedy}`,
        )
      if (evicting)
        faults.push(
          `Redis may evict ${opts.what}: maxmemory ${evicting.maxmemoryHuman} with maxmemory-policy ${evicting.policy}; set maxmemory-policy noeviction`,
        )
      if (faults.length === 0) return { status: 'ok', ready: true }
      return { status: 'degraded', ready: true, detail: faults.join('; ') }
    },
    stop() {
      stopped = true
      clearInterval(timer)
      redis.off('ready', onReady)
    },
  }
}

/** The eviction fields of INFO's text (`name:value` lines); undefined if one is missing. */
function parseEviction(info: string): Eviction | undefined {
  const fields = new Map<string, string>()
  for (const line of info.split(/\r?\n/)) {
    const at = line.indexOf(':')
    if (at > 0 && !line.startsWith('#')) fields.set(line.slice(0, at), line.slice(at + 1).trim())
  }
  const maxmemory = Number(fields.get('maxmemory'))
  const evictedKeys = Number(fields.get('evicted_keys'))
  const policy = fields.get('maxmemory_policy')
  if (!policy || !Number.isFinite(maxmemory) || !Number.isFinite(evictedKeys)) return undefined
  const usedMemory = Number(fields.get('used_memory') ?? Number.NaN)
  return {
    maxmemory,
    maxmemoryHuman: fields.get('maxmemory_human') ?? `${maxmemory}B`,
    policy,
    evictedKeys,
    ...(Number.isFinite(usedMemory) ? { usedMemory } : {}),
  }
}

/** What a maxmemory-policy drops when memory is full. */
function describePolicy(policy: string): string {
  const [among, how] = policy.split('-')
  const which =
    among === 'allkeys'
      ? 'any key'
      : among === 'volatile'
        ? "keys with a TTL (the workers' state keys all have one)"
        : 'keys'
  const order =
    how === 'lru'
      ? ', the least recently used first'
      : how === 'lfu'
        ? ', the least frequently used first'
        : how === 'random'
          ? ', at random'
          : how === 'ttl'
            ? ', the nearest to expiry first'
            : ''
  return `${which}${order}`
}

function counter(registry: Registry | undefined): Counter | undefined {
  if (!registry) return undefined
  return (
    (registry.getSingleMetric(LOST_METRIC) as Counter | undefined) ??
    new Counter({
      name: LOST_METRIC,
      help: 'times the worker found Redis had lost its data (the state marker missing or set anew, or keys evicted)',
      registers: [registry],
    })
  )
}

/** The gauges of INFO's last read (none without a registry). */
function gauges(registry: Registry | undefined): { mayEvict?: Gauge; usedMemory?: Gauge; maxmemory?: Gauge } {
  if (!registry) return {}
  const get = (name: string, make: () => Gauge): Gauge =>
    (registry.getSingleMetric(name) as Gauge | undefined) ?? make()
  return {
    mayEvict: get(
      MAY_EVICT_METRIC,
      () =>
        new Gauge({
          name: MAY_EVICT_METRIC,
          help: 'whether Redis runs with maxmemory and a maxmemory-policy other than noeviction, so may drop the state the worker keeps there (1) or not (0), as its INFO last said',
          registers: [registry],
        }),
    ),
    usedMemory: get(
      USED_MEMORY_METRIC,
      () =>
        new Gauge({
          name: USED_MEMORY_METRIC,
          help: "the memory Redis uses (INFO memory's used_memory), read with the state marker (every 10 s and on each reconnection); against tradepulse_redis_maxmemory_bytes, the headroom before a Redis under noeviction refuses writes (OOM command not allowed)",
          registers: [registry],
        }),
    ),
    maxmemory: get(
      MAXMEMORY_METRIC,
      () =>
        new Gauge({
          name: MAXMEMORY_METRIC,
          help: "Redis's maxmemory (INFO memory), 0 when it has none (unlimited), read with the state marker (every 10 s and on each reconnection)",
          registers: [registry],
        }),
    ),
  }
}

function describeMs(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`
  if (ms % 60_000 === 0) return `${ms / 60_000} min`
  return `${Math.round(ms / 1000)} s`
}

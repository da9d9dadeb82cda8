import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { Counter, type Registry } from 'prom-client'
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
  /** Degraded (still ready) for `reportMs` after a loss; ok otherwise. */
  health: HealthCheck
  /** Reads the marker now (tests; the watch also reads it on each reconnection and every interval). */
  check(): Promise<void>
  /** Wall-clock ms of the last loss seen, if any. */
  lostAt(): number | undefined
  stop(): void
}

const LOST_METRIC = 'tradepulse_redis_state_lost_total'

/**
 * Notices a Redis that lost what the workers keep in it: restarted without persistence, flushed, or
 * replaced by an empty server behind the same address. Nothing else would say so: commands keep
 * succeeding on the empty server, indicators restart from nothing, the alerter forgets its cooldowns
 * and hysteresis (and may page again what it paged before), and ingest lets duplicates through.
 *
 * A marker key holds a random epoch. The first worker to start on a prefix sets it and the others
 * adopt it; each then reads it on every reconnection and every `intervalMs`. Missing, or holding an
 * epoch other than the one the worker adopted (another worker found it missing first and set a new
 * one), means the data went: an error line, the counter, and a degraded health check for `reportMs`
 * (the detail says until when the state is incomplete). One command a read (SET NX GET, Redis >= 7): the marker is
 * recreated in the same step as it is found missing.
 *
 * What it cannot see: a loss while no worker on the prefix was running (the first to start sets a
 * new marker, as on a new deployment), and a loss between two reads that something else filled back
 * with a marker of the same epoch (nothing does). An eviction policy that may evict keys without a
 * TTL (allkeys-*) can evict the marker too; that is reported as a loss, which such a policy is.
 */
export function watchRedisState(redis: Redis, opts: RedisStateWatchOptions): RedisStateWatch {
  const key = createKeys(opts.prefix).stateMarker
  const now = opts.now ?? Date.now
  const monotonicNow = opts.monotonicNow ?? (() => performance.now())
  const intervalMs = opts.intervalMs ?? 10_000
  const reportMs = Math.min(opts.reportMs ?? 3_600_000, opts.refillMs)
  const lost = counter(opts.registry)
  let epoch: string | undefined
  // The last loss by the wall clock (for the messages: when it was, until when the state is incomplete)
  // and by the monotonic clock (how long ago it was, which decides how long health reports it).
  let lastLoss: number | undefined
  let lastLossMonotonic = 0
  let running: Promise<void> | undefined
  let stopped = false
  let refused = false

  const read = async (): Promise<void> => {
    const mine = randomBytes(8).toString('hex')
    const held = (await redis.set(key, mine, 'NX', 'GET')) as string | null
    if (epoch === undefined) {
      // The first read: set the marker, or adopt the one the first worker on this prefix set.
      epoch = held ?? mine
      return
    }
    if (held === epoch) return
    lastLoss = now()
    lastLossMonotonic = monotonicNow()
    epoch = held ?? mine
    lost?.inc()
    opts.log.error(
      { key, marker: held === null ? 'missing' : 'replaced' },
      `Redis lost its data: the state marker ${held === null ? 'was missing' : 'was set anew by another worker'}, so ${opts.what} kept in Redis are gone and start again from empty; they are incomplete for the next ${describeMs(opts.refillMs)}${opts.remedy ? `. ${opts.remedy}` : ''}`,
    )
  }
  // One read at a time (a reconnection during an interval's read would otherwise compare twice).
  const check = (): Promise<void> => {
    if (stopped) return Promise.resolve()
    running ??= read()
      .catch((err: unknown) => {
        // Redis unreachable or slow: the connection's own health check and log say so; the next read
        // will tell. An error reply (a Redis before 7.0 refusing SET ... GET, an ACL refusing the key)
        // leaves the watch blind for good: said once.
        if (!refused && err instanceof Error && err.name === 'ReplyError') {
          refused = true
          opts.log.error(
            { err, key },
            `cannot watch Redis for data loss: ${err instanceof Error ? err.message : String(err)} (the watch needs Redis 7.0 or later and may read and write ${key})`,
          )
        }
      })
      .finally(() => {
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
      if (lastLoss === undefined || monotonicNow() - lastLossMonotonic >= reportMs)
        return { status: 'ok', ready: true }
      return {
        status: 'degraded',
        ready: true,
        detail: `Redis lost its data at ${new Date(lastLoss).toISOString()}: ${opts.what} incomplete until ${new Date(lastLoss + opts.refillMs).toISOString()}${opts.remedy ? `. ${opts.remedy}` : ''}`,
      }
    },
    stop() {
      stopped = true
      clearInterval(timer)
      redis.off('ready', onReady)
    },
  }
}

function counter(registry: Registry | undefined): Counter | undefined {
  if (!registry) return undefined
  return (
    (registry.getSingleMetric(LOST_METRIC) as Counter | undefined) ??
    new Counter({
      name: LOST_METRIC,
      help: 'times the worker found Redis had lost its data (the state marker missing or set anew)',
      registers: [registry],
    })
  )
}

function describeMs(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`
  if (ms % 60_000 === 0) return `${ms / 60_000} min`
  return `${Math.round(ms / 1000)} s`
}

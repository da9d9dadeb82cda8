import type { Admin } from 'kafkajs'
import { type RetryResult, waitUnlessStopped } from '../retry.ts'
import { kafkaErrorType } from './kafka-client.ts'

/**
 * A partition whose leader is not ready yet: a topic just created (ingest creates the run's topics as it
 * starts) on a loaded broker, or a leader moving to another broker. kafkajs's fetchTopicOffsets and
 * fetchTopicOffsetsByTimestamp retry only UNKNOWN_TOPIC_OR_PARTITION and give up on the others at once,
 * and the client keeps the metadata naming the old leader until it expires (5 min): asked again, it asks
 * the same broker.
 */
const NO_LEADER_YET: ReadonlySet<string> = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
])

/** The type of `err` (or of an error it wraps) when it is a partition whose leader is not ready yet. */
export function leaderNotReady(err: unknown): string | undefined {
  return kafkaErrorType(err, NO_LEADER_YET)
}

/**
 * How long a partition's leader commonly takes to be ready, ms: a failure for want of one that lasts no
 * longer is no fault to warn of. A topic just made has its leaders once the controller's metadata reaches
 * the brokers, in well under a second (a few hundred ms on a loaded broker), and a leader moved in a
 * rolling restart is as quick; a broker gone without a controlled shutdown keeps its partitions without a
 * leader until its session expires (broker.session.timeout.ms, 9 s), a fault worth telling, and 3 s still
 * tells it early in a read retried for 30 s.
 */
export const LEADER_READY_MS = 3_000

/** What askFreshAdmins uses of a client: a fresh admin for each attempt. */
export type AdminSource<A> = { admin(): A }

export type FreshAdminOptions<A> = {
  /** How many attempts at most (default 40): the last failure is then thrown. */
  attempts?: number
  /** The wait after failed attempt `attempt` (1, 2, …), ms: a number, or a backoff (default 250). */
  waitMs?: number | ((attempt: number) => number)
  /**
   * Which failures are asked again (default: a partition without a leader ready); any other is thrown at
   * once.
   */
  retriable?: (err: unknown) => boolean
  /**
   * As retry's: checked before each attempt, after a failed one (before onRetry) and every 100 ms of a
   * wait; true ends the asking, stopped.
   */
  shouldStop?: () => boolean
  /** Told of each failure that is asked again, with the wait before the next attempt. */
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void
  /**
   * Told of each admin as it is made, before it connects: so a stop can disconnect the one under way, and
   * with `keep` the caller knows which one is left to it.
   */
  onAdmin?: (admin: A) => void
  /**
   * The last admin made is left connected however the asking ends (it answered, a stop, a failure thrown),
   * for the caller to go on with and disconnect (onAdmin named it); each one before it is disconnected as
   * the next is made. Otherwise every admin is disconnected as its attempt ends.
   */
  keep?: boolean
}

export type LeaderRetryOptions = Pick<FreshAdminOptions<unknown>, 'attempts' | 'waitMs'>

/** A stop asked for during a wait is seen within this. */
const STOP_TICK_MS = 100

/**
 * `ask` of a fresh admin, connected, asked again on another fresh one (its metadata fresh too) while the
 * failure is `retriable` (a partition without a leader ready by default): at most `attempts` times,
 * `waitMs` apart, until `shouldStop` says so (stopped). Any other failure is thrown at once, and the last
 * one once the attempts are spent.
 */
export async function askFreshAdmins<A extends Pick<Admin, 'connect' | 'disconnect'>, T>(
  kafka: AdminSource<A>,
  ask: (admin: A) => Promise<T>,
  {
    attempts = 40,
    waitMs = 250,
    retriable = (err) => leaderNotReady(err) !== undefined,
    shouldStop,
    onRetry,
    onAdmin,
    keep = false,
  }: FreshAdminOptions<A> = {},
): Promise<RetryResult<T>> {
  const disconnect = async (admin: A | undefined) => {
    await admin?.disconnect().catch(() => {})
  }
  // Kept (`keep`) until the next attempt: the caller's if there is none.
  let failed: A | undefined
  for (let attempt = 1; ; attempt++) {
    if (shouldStop?.()) return { ok: false, stopped: true, attempts: attempt - 1 }
    await disconnect(failed)
    const admin = kafka.admin()
    onAdmin?.(admin)
    let delay: number
    try {
      await admin.connect()
      return { ok: true, value: await ask(admin), attempts: attempt }
    } catch (err) {
      if (attempt >= attempts || !retriable(err)) throw err
      if (shouldStop?.()) return { ok: false, stopped: true, attempts: attempt }
      delay = typeof waitMs === 'number' ? waitMs : waitMs(attempt)
      onRetry?.(err, attempt, delay)
    } finally {
      if (!keep) await disconnect(admin)
    }
    if (keep) failed = admin
    // Without a stop to watch for, the wait is one timer.
    const tickMs = shouldStop ? STOP_TICK_MS : Number.POSITIVE_INFINITY
    if (!(await waitUnlessStopped(delay, { shouldStop, tickMs })))
      return { ok: false, stopped: true, attempts: attempt }
  }
}

/**
 * askFreshAdmins's value, for a leader not ready (10 s in all by default): every admin disconnected, the
 * failure thrown.
 */
export async function withLeaderRetry<A extends Pick<Admin, 'connect' | 'disconnect'>, T>(
  kafka: AdminSource<A>,
  ask: (admin: A) => Promise<T>,
  options: LeaderRetryOptions = {},
): Promise<T> {
  const got = await askFreshAdmins(kafka, ask, options)
  // Never stopped: no shouldStop.
  return (got as { value: T }).value
}

/**
 * The next offset of each partition of each of `topics` Kafka has (a topic it does not have is left out),
 * read with withLeaderRetry.
 */
export async function topicEnds(
  kafka: AdminSource<Pick<Admin, 'connect' | 'disconnect' | 'listTopics' | 'fetchTopicOffsets'>>,
  topics: readonly string[],
  options: LeaderRetryOptions = {},
): Promise<Map<string, Map<number, number>>> {
  return withLeaderRetry(
    kafka,
    async (admin) => {
      const existing = new Set(await admin.listTopics())
      const ends = new Map<string, Map<number, number>>()
      for (const topic of topics.filter((t) => existing.has(t)))
        ends.set(
          topic,
          new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)])),
        )
      return ends
    },
    options,
  )
}

import type { Consumer } from 'kafkajs'
import type { Logger } from '../logger.ts'

/**
 * Commits a consumer's finished offsets every `intervalMs`, off the path of the records.
 *
 * Why not kafkajs's autoCommit: it commits after every batch and fetches again only once that commit is
 * acknowledged, and on Kafka 4's group coordinator an OffsetCommit waits for the coordinator's append
 * linger (`group.coordinator.append.linger.ms`, 5 ms by default): 9 ms at the median here, paid once per
 * partition batch in every hop of the pipeline. Committing on a timer takes that off every record's way.
 *
 * What it costs: a crash redelivers the records finished since the last commit (about one interval's),
 * which every handler takes again without effect. A graceful stop and a rebalance commit first, so they
 * redeliver little or nothing; a commit that fails (a rebalance under way) is retried at the next tick,
 * and what is still uncommitted at a new assignment is read again. Commits run one at a time.
 *
 * kafkajs retries a commit's retriable faults itself, with the group's current generation: a commit
 * of the old assignment that outlives a coordinator failover can land after the rejoin and move a
 * partition now owned by another member back by up to one interval, until that member's next commit.
 * The cost is again only records read twice.
 *
 * A commit the group refuses because it no longer has this member in this generation (UNKNOWN_MEMBER_ID,
 * ILLEGAL_GENERATION) or is rebalancing (REBALANCE_IN_PROGRESS) is no fault to retry: the partitions may
 * be another member's already. kafkajs rejoins on these answers only where it meets them itself (a
 * heartbeat, or an error thrown out of eachBatch), never on a commit made beside its loop, so such a
 * commit is kept as `memberLost` and told to `onLost` until the next join: the batch runner throws it out
 * of every batch (kafkajs rejoins) instead of handling on. Before, the commit was retried every interval
 * for ever while the worker went on handling partitions the group had given another member (a host clock
 * stepped back had stopped kafkajs's heartbeats: every record read twice, /healthz ok).
 */
export type OffsetCommitter = {
  /** Everything of `topic`/`partition` up to and including `offset` is done (produced and acknowledged). */
  done(topic: string, partition: number, offset: string): void
  /**
   * A new assignment (called on the consumer's GROUP_JOIN): drop what is not committed yet. Those partitions may now be another member's, and
   * a late commit could move its position back; the records are read again instead, harmlessly.
   */
  forget(): void
  /**
   * `topic`/`partition`'s position went back within the assignment (the batch runner saw a fetch start
   * below where it had handled up to: the topic deleted and created again, and kafkajs reset the group to
   * its start): forget what was marked done there and not committed yet, so that what is done from now
   * on is committed although it lies below the offsets marked done before. A commit already under way
   * that fails is not put back for it. Whoever calls this keeps done() calls of work fetched before the
   * reset from coming after it (the runner's deferred links mark nothing done once it has reset).
   */
  reset(topic: string, partition: number): void
  /** Commits what is done and not committed yet (after any commit already under way). */
  flush(): Promise<void>
  /** Starts the timer; `stop` ends it (call `flush` after it for a last commit). */
  start(): void
  stop(): void
  /**
   * The commit answer that the group no longer has this member, or is rebalancing (see above), as kafkajs
   * raised it (a KafkaJSProtocolError with that `type`, which its runner rejoins on when thrown out of
   * eachBatch); undefined once the consumer has joined again, or when no commit heard one.
   */
  memberLost(): Error | undefined
  /**
   * Commits of this assignment not going through: since when (performance.now()) the oldest attempt that
   * no success has followed started, and the last failure (undefined while that attempt is still under
   * way). Undefined when the last commit went through, or nothing has been committed in this assignment.
   */
  failing(): { sinceMs: number; err?: unknown } | undefined
}

/** A commit's answers that the group no longer has this member in this generation, or is rebalancing. */
const MEMBER_LOST: ReadonlySet<string> = new Set([
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'REBALANCE_IN_PROGRESS',
])

/** The error in `err`'s causes (kafkajs's retrier wraps the protocol error) whose `type` is a MEMBER_LOST one. */
function memberLostError(err: unknown): Error | undefined {
  for (let e = err as { type?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.type === 'string' && MEMBER_LOST.has(e.type) && e instanceof Error) return e
    e = e.cause as typeof e
  }
  return undefined
}

type Position = { topic: string; partition: number; offset: string; resets: number }

/**
 * `onTick`, when given, is told after each tick of the timer, once that tick's commit has settled (or found
 * nothing to commit): a tick with nothing to commit leaves no other trace (BatchRunner.onCommitTick).
 * `onLost`, when given, is told of a commit answer that the group no longer has this member (memberLost),
 * once per assignment.
 */
export function createOffsetCommitter(
  consumer: Consumer,
  intervalMs: number,
  log: Logger,
  onTick?: () => void,
  onLost?: (err: Error) => void,
): OffsetCommitter {
  let pending = new Map<string, Position>()
  /** The furthest position marked done per partition in this assignment. */
  const highest = new Map<string, bigint>()
  /** Per partition, how many times it was reset (reset): a failed commit from before one is not put back. */
  const resets = new Map<string, number>()
  let generation = 0
  let chain: Promise<void> = Promise.resolve()
  let timer: NodeJS.Timeout | undefined
  /** This assignment's commits not going through (see failing), and the answer that it is lost (memberLost). */
  let stuck: { sinceMs: number; err?: unknown } | undefined
  let lost: Error | undefined

  async function commitNow(): Promise<void> {
    if (pending.size === 0) return
    const positions = [...pending.values()]
    const gen = generation
    pending = new Map()
    stuck ??= { sinceMs: performance.now() }
    try {
      await consumer.commitOffsets(
        positions.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
      )
      if (gen === generation) stuck = undefined
    } catch (err) {
      // Put back what nothing newer has replaced, unless the assignment changed meanwhile (a commit of the
      // generation before that fails tells nothing of this one).
      if (gen !== generation) {
        log.warn({ err, partitions: positions.length }, 'offset commit of the assignment before failed')
        return
      }
      for (const p of positions) {
        const k = `${p.partition}\u0000${p.topic}`
        if (!pending.has(k) && p.resets === (resets.get(k) ?? 0)) pending.set(k, p)
      }
      if (stuck) stuck.err = err
      const gone = memberLostError(err)
      if (gone) {
        const first = lost === undefined
        lost ??= gone
        if (first) {
          log.warn(
            { err, partitions: positions.length },
            `offset commit failed: the group no longer has this member or is rebalancing (${(gone as { type?: string }).type}); the consumer rejoins, handling nothing more until then`,
          )
          onLost?.(gone)
        }
        return
      }
      log.warn({ err, partitions: positions.length }, 'offset commit failed; retrying at the next interval')
    }
  }

  const committer: OffsetCommitter = {
    done(topic, partition, offset) {
      // Kafka's committed offset is the next one to read; a position never moves back within an
      // assignment, unless the runner says it did (reset).
      const k = `${partition}\u0000${topic}`
      const next = BigInt(offset) + 1n
      const seen = highest.get(k)
      if (seen !== undefined && seen >= next) return
      highest.set(k, next)
      pending.set(k, { topic, partition, offset: next.toString(), resets: resets.get(k) ?? 0 })
    },
    reset(topic, partition) {
      const k = `${partition}\u0000${topic}`
      highest.delete(k)
      pending.delete(k)
      resets.set(k, (resets.get(k) ?? 0) + 1)
    },
    forget() {
      generation++
      pending = new Map()
      highest.clear()
      stuck = undefined
      lost = undefined
    },
    flush() {
      const run = chain.then(commitNow)
      chain = run
      return run
    },
    start() {
      timer ??= setInterval(() => void committer.flush().then(onTick), intervalMs)
      timer.unref()
    },
    stop() {
      if (timer) clearInterval(timer)
      timer = undefined
    },
    memberLost: () => lost,
    failing: () => stuck,
  }
  // A new assignment forgets; a rebalance commits first. kafkajs lets every batch settle before it
  // rejoins, so this commits what they finished while the group still takes the old generation's commits.
  consumer.on(consumer.events.GROUP_JOIN, () => committer.forget())
  consumer.on(consumer.events.REBALANCING, () => void committer.flush())
  return committer
}

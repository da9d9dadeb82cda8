import { randomUUID } from 'node:crypto'
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs'
import { isKafkaAuthRefusal, kafkaTlsCode, normalizeError, TradepulseError } from '../errors.ts'
import { faultReason } from '../fault-reason.ts'
import type { HealthCheck, HealthStatus } from '../health.ts'
import { heartbeatUntilSettled } from '../heartbeat-until-settled.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { backoffDelay, retry } from '../retry.ts'
import { createWarnThrottle } from '../warn-throttle.ts'
import { countOut, createBatchStages } from './batch-processor.ts'
import { type OtherTopics, reportingAssigner } from './group-assigner.ts'
import { kafkaErrorType, type TradepulseProducer } from './kafka-client.ts'
import { createOffsetCommitter, type OffsetCommitter } from './offset-committer.ts'
import {
  type AlignmentExchange,
  alignmentWarnings,
  carryPoints,
  createPartitionAligner,
  forcedStepReporter,
  type SwapStamps,
} from './partition-aligner.ts'
import { type PartitionEnds, readPartitionEnds } from './partition-ends.ts'
import { createProduceQueue, kafkaClockError, produceAll } from './produce.ts'
import { type BatchHandler, headersToStrings, type InRecord, type OutRecord } from './records.ts'
import { RepeatedReplyError } from './reply-breaker.ts'
import { askFreshAdmins, LEADER_READY_MS, leaderNotReady } from './topic-ends.ts'

export type BatchRunnerConfig = {
  worker: string
  groupId: string
  topics: string[]
  dlqTopic: string
  maxBatch: number
  fetchMaxWaitMs: number
  /** A fetch returns once this many bytes are there or fetchMaxWaitMs passed (default 1). */
  fetchMinBytes?: number
  sessionTimeoutMs: number
  heartbeatIntervalMs: number
  maxBytesPerPartition: number
  partitionsConcurrency: number
  retryBaseMs: number
  retryMaxMs: number
  /**
   * How often finished offsets are committed, off the records' path (see createOffsetCommitter); 0 commits
   * after every batch before the next fetch (kafkajs's autoCommit), which adds a commit's wait to every hop.
   */
  commitIntervalMs: number
  /**
   * How long the Kafka steps of a stop (the last offset commit, then the consumer's and the producer's
   * disconnects, side by side) may take together, from when the batches under way have settled; the
   * commit gets FINAL_COMMIT_MS or half of it, whichever is less. Past it the stop fails naming the steps
   * not done (their clients go on until the process exits). Default STOP_KAFKA_MS; a worker's is two
   * thirds of SHUTDOWN_DEADLINE_MS, the rest left to its own resources (Redis) and the HTTP server.
   */
  stopMs?: number
  /** Start from the earliest offset when the group has none (true for pipeline workers). */
  fromBeginning?: boolean
  /** No batch finished nor fetch returned for this long while partitions are assigned: failed. */
  stallAfterMs?: number
  /**
   * One attempt of a stage under way this long is stuck, not slow (failed, for a liveness probe's
   * restart): past any bound its clients' timeouts give (kafkajs's request timeout times the producer's
   * retries, about 3 min), so only a call that will never settle (a bug, a Redis call with
   * REDIS_TIMEOUT_MS=0 on a dead connection) gets there. Default: 10 min, or 5 stall limits if longer.
   */
  attemptStuckMs?: number
  /**
   * How long the brokers may refuse the credentials (KAFKA_AUTH: a password changed or a user removed
   * on the cluster) to a running worker's output, or to a call its handler makes, on one partition before
   * failed() reports it; default CREDENTIALS_REFUSED_MS. The same bound holds Kafka connections whose TLS
   * fails (a certificate expired or rotated to one not trusted): the output's, the handler's, and the
   * consumer's while kafkajs restarts it without a fetch answered; and Kafka refusing the timestamps
   * this host's clock gave the output (KafkaClockError: the clock more than an hour ahead of the broker's,
   * on a CreateTime topic), whose records are never dead-lettered nor skipped for it.
   */
  credentialsRefusedMs?: number
  /**
   * How many records in a row may fail on the same Redis reply to the same command and key (a key every
   * record writes holding the wrong type) before the runner stops consuming and failed() reports it,
   * rather than dead-letter every record (REDIS_REPLY_FAILURES_MAX; see createReplyBreaker); 0 or unset:
   * never, each is dead-lettered.
   */
  redisReplyFailuresMax?: number
  /**
   * How long the partition ends are asked for again at an assignment while Kafka fails (learnEnds);
   * default 30 s, or the session timeout if longer.
   */
  endsRetryMs?: number
  /**
   * The least time between two reads of the partitions' ends that refresh tradepulse_consumer_lag on the
   * runner's sweep (see refreshLag), from the end of one to the start of the next; default LAG_REFRESH_MS.
   */
  lagRefreshMs?: number
  /**
   * Keeps the partitions handled within `aheadMs` of each other in event time while they catch up a
   * backlog (see createPartitionAligner): a partition's records past the bound are left for later and
   * the partition is paused until the others catch up. `eventMs` reads a record's event time
   * (undefined: the record never holds its partition back). Live traffic is never held. The in-memory
   * runner aligns each pass the same way, within its one process (memory-transport.ts).
   */
  align?: {
    aheadMs: number
    eventMs: (record: InRecord) => number | undefined
    /**
     * The handler writes its output per partition, one partition after another (the scorer, ingest): a
     * fetch of several partitions is taken a step of `aheadMs` at a time even when it holds everything,
     * so a consumer of the output never reads one partition's hours before the others' are written (see
     * createPartitionAligner's `stepWithinFetch`).
     */
    stepWithinFetch?: boolean
    /**
     * Aligns this member's partitions with the other members' while the group has several: each
     * member swaps its partitions' points through the exchange every `intervalMs` (100), every 10 ms
     * while one of its partitions is held, and at once after a hold or an applied batch, and holds its
     * own partitions within `aheadMs` of the others' oldest point (see PartitionAligner.points). A
     * partition leaving its end with a batch spanning more than `aheadMs` is held until the others have
     * told their points since, for `fenceWaitMs` at most (a fence: see the runner's fenceIn).
     */
    exchange?: AlignmentExchange
    intervalMs?: number
    /**
     * The longest a fence waits for the other members (see the runner's fenceIn); by default
     * FENCE_WAIT_ROUNDS fetch and swap rounds, FENCE_WAIT_MIN_MS at least, a session timeout at most.
     */
    fenceWaitMs?: number
  }
}

export type BatchRunner = {
  start(): Promise<void>
  stop(): Promise<void>
  health: HealthCheck
  /** Resolves once the consumer has joined its group and been given partitions. */
  joined(): Promise<void>
  /**
   * Resolves with an error the runner cannot recover from after its start: the broker refusing the
   * session timeout at a later rejoin (kafkajs does not restart the consumer then), refused credentials
   * (at once for the consumer, after credentialsRefusedMs for the output or the handler's calls), TLS
   * failing for credentialsRefusedMs, record
   * after record failing on the same Redis reply to one key (redisReplyFailuresMax), any other consumer
   * crash kafkajs does not restart from (consumerStopped). Never resolves otherwise. Whoever runs the worker stops it and exits on it (runUntilSignal does; exitOnFatal exits 78
   * for a configuration error, 69 for Kafka's or Redis's).
   */
  failed(): Promise<TradepulseError>
  /**
   * Tells `listener` where this member reads each of its partitions next, as it moves: past a batch
   * resolved (its records handled and their output acknowledged) and past the control records
   * (transaction markers) and aborted records that end it, which no handler sees; and past a batch
   * kafkajs filtered out whole. So a reader can tell it has read a partition to its end (high
   * watermark) even when that end is a transaction marker. Returns what stops telling it. (The Kafka
   * runner tells it; the in-memory one, whose bus has no transactions, does not.)
   */
  onPosition?(listener: PositionListener): () => void
  /**
   * Tells `listener` after each tick of the offset commit timer (every commitIntervalMs), once that tick's
   * commit of what was done has settled (or it found nothing to commit). A tick with nothing to commit
   * leaves no other trace: this is how a test waits for "the timer has had its chance" instead of
   * sleeping. Returns what stops telling it. (No timer, no ticks: with commitIntervalMs 0, and in the
   * in-memory runner, which has none.)
   */
  onCommitTick?(listener: CommitTickListener): () => void
  /** The steps of a stop under way, named for a line (a shutdown deadline passing); undefined when none. */
  stopStep?(): string | undefined
}

/** A partition's next offset to read (see BatchRunner.onPosition). */
export type PositionListener = (topic: string, partition: number, next: number) => void

/** Told after each tick of the offset commit timer (see BatchRunner.onCommitTick). */
export type CommitTickListener = () => void

const KAFKAJS_MAX_BYTES = 10_485_760
/** How often a member with a partition held swaps points with the others (align.exchange). */
const HELD_SWAP_MS = 10
/**
 * A fence (see the runner's fenceIn) waits for the other members this many of their fetch and swap rounds
 * (KAFKA_FETCH_MAX_WAIT_MS plus align.intervalMs each), and FENCE_WAIT_MIN_MS at least: an idle member
 * meets it within one or two. One busy with a long batch neither fetches nor bounds meanwhile, and is not
 * waited for longer: a burst given to its idle partitions meanwhile may then come late.
 */
const FENCE_WAIT_ROUNDS = 4
const FENCE_WAIT_MIN_MS = 1_000
/** Longest a stop waits for its last offset commit. */
const FINAL_COMMIT_MS = 5_000
/** How long a stop's Kafka steps may take by default (BatchRunnerConfig.stopMs). */
export const STOP_KAFKA_MS = 10_000
/** The stop's steps, as health and the lines name them (BatchRunner.stopStep). */
const SETTLING = 'waiting for the batches under way to settle (handler calls, output to Kafka)'
const LAST_COMMIT = 'committing the last offsets to Kafka'

/** A step of the stop that failed (`err`) or was not done within `lateMs`. */
type StopStepFailure = { what: string; err?: unknown; lateMs?: number }

/**
 * The error a stop fails with when Kafka steps of it failed or were not done in time, naming each step
 * and Kafka (INFRA_KAFKA, the first error met as its cause: describeInfraFailure says whether Kafka could
 * be reached, and names KAFKA_BROKERS).
 */
function stopFailure(worker: string, failures: StopStepFailure[], stopMs: number): TradepulseError {
  const steps = failures.map((f) =>
    f.err === undefined
      ? `${f.what}: not done within ${f.lateMs} ms`
      : `${f.what}: failed (${faultReason(f.err)}: ${normalizeError(f.err).message})`,
  )
  const cause = failures.find((f) => f.err !== undefined)?.err
  return new TradepulseError(
    'INFRA_KAFKA',
    `the ${worker} worker's stop could not finish its Kafka steps within ${stopMs} ms: ${steps.join('; ')}; records handled since the last commit are read again`,
    { ...(cause !== undefined ? { cause } : {}), retriable: false },
  )
}
/** Longest a join's partitions wait for the group's offsets in them to be read (readResumed). */
const COMMITTED_READ_MS = 5_000
/**
 * The least time between two reads of the partitions' ends for the lag gauge (refreshLag), ms: one
 * offsets request per topic (two round trips, the ends and the starts: kafkajs's fetchTopicOffsets) every
 * 5 s per worker, so that the gauge moves while a batch is stuck, at a cost the brokers do not feel.
 */
export const LAG_REFRESH_MS = 5_000
/** A failing read of the partitions' ends for the lag gauge is warned of at most this often, ms. */
const LAG_WARN_EVERY_MS = 60_000

const SESSION_TIMEOUT_REFUSED: ReadonlySet<string> = new Set(['INVALID_SESSION_TIMEOUT'])

/**
 * How long a running worker's output is retried while the brokers refuse its credentials, or while its
 * connections' TLS fails, before it gives up (failed(): exit 69, naming the variables): long enough for a
 * rotation to reach every broker, short enough that a revoked credential or a certificate the workers do
 * not trust is a restart with the current secrets, not an outage waited out for ever. Nothing unhandled
 * is committed meanwhile: its records come again after the restart.
 */
export const CREDENTIALS_REFUSED_MS = 30_000

/**
 * The error failed() reports for credentials the brokers refused to a running worker (`err`, kafkajs's
 * KafkaJSSASLAuthenticationError or SASL_AUTHENTICATION_FAILED), or undefined for any other error.
 */
export function credentialsRefusal(err: unknown, forMs?: number): TradepulseError | undefined {
  if (!isKafkaAuthRefusal(err)) return undefined
  const how = forMs === undefined ? 'to the consumer' : `for ${forMs} ms`
  return new TradepulseError(
    'KAFKA_AUTH',
    `Kafka refused the credentials (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD) ${how}: ${normalizeError(err).message}`,
    { cause: err },
  )
}

/** A batch's stage whose attempts health tells of (see createBatchRunner's attempts). */
type Stage = 'handler' | 'produce'

/** One attempt of a stage under way: since when (monotonic clock), and whether it was logged as slow. */
type Attempt = { stage: Stage; since: number; slow: boolean }

/**
 * The longest between two sweeps of a runner (a quarter of the stall limit or the heartbeat interval
 * when shorter, 10 ms at least): a slow attempt's warning comes at most this late. With the defaults
 * (a 3 s heartbeat interval) a runner wakes for it every 3 s.
 */
const SWEEP_MAX_MS = 5_000

/**
 * The faults of the deployment a running worker waits out for credentialsRefusedMs at most: refused
 * credentials, TLS failing, and Kafka refusing the timestamps this host's clock gave (KafkaClockError).
 */
type SecurityFault = 'credentials' | 'tls' | 'clock'

/** The key of the consumer's own connections among the partitions a security fault holds. */
const CONSUMER = 'consumer'

/**
 * Whether `err` is a security fault waited out for a bound only: Kafka refusing the credentials
 * (KAFKA_AUTH), or a connection whose TLS failed (a certificate expired, or rotated to one not trusted;
 * a listener that speaks TLS or not against KAFKA_SSL), which no retry mends until the deployment does.
 */
function securityFault(err: TradepulseError): SecurityFault | undefined {
  if (err.code === 'KAFKA_AUTH') return 'credentials'
  if (kafkaClockError(err)) return 'clock'
  return kafkaTlsCode(err) === undefined ? undefined : 'tls'
}

/**
 * The error failed() reports for Kafka connections whose TLS kept failing for `forMs` (`err` names the
 * socket's code), or undefined for any other error. The line the worker exits with names the variable
 * to check for that code (describeInfraFailure).
 */
export function tlsFailure(err: unknown, forMs: number): TradepulseError | undefined {
  const code = kafkaTlsCode(err)
  if (code === undefined) return undefined
  return new TradepulseError(
    'INFRA_KAFKA',
    `Kafka's TLS failed for ${forMs} ms (${code}; KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE): ${normalizeError(err).message}`,
    { cause: err, retriable: false },
  )
}

/**
 * The error failed() reports for a clock Kafka kept refusing for `forMs` (`err`, a KafkaClockError or one
 * wrapping it), or undefined for any other error. The line the worker exits with (describeInfraFailure)
 * says what happened in the words of the outermost of our errors that has its own: this one's, naming the
 * clock, not kafkajs's "The timestamp of the message is out of acceptable range" under it, which the log
 * keeps with the rest of the cause.
 */
export function clockFailure(err: unknown, forMs: number): TradepulseError | undefined {
  const clock = kafkaClockError(err)
  if (!clock) return undefined
  return new TradepulseError('INFRA_KAFKA', `this host's clock, refused for ${forMs} ms: ${clock.message}`, {
    cause: err,
    retriable: false,
  })
}

/** A refusal of the credentials, made retriable: the stages wait it out, for credentialsRefusedMs at most. */
function waitedOutRefusal(raw: unknown): TradepulseError {
  const err = normalizeError(raw)
  return err.code === 'KAFKA_AUTH' && !err.retriable
    ? new TradepulseError('KAFKA_AUTH', err.message, { cause: raw, retriable: true })
    : err
}

/**
 * A heartbeat's answers that the group is rebalancing or no longer has this member (kafkajs's names;
 * its runner rejoins on each): the partitions may be another member's already, and the group waits for
 * this one to rejoin. NOT_COORDINATOR_FOR_GROUP is among them because kafkajs only finds the new
 * coordinator by rejoining: its heartbeats keep going to the old one until then. Whatever else a
 * heartbeat throws says nothing of this member's partitions: the request timed out
 * (KafkaJSRequestTimeoutError), the connection failed or closed (KafkaJSConnectionError,
 * KafkaJSConnectionClosedError), the coordinator is loading or unavailable (GROUP_LOAD_IN_PROGRESS,
 * GROUP_COORDINATOR_NOT_AVAILABLE), or a fault no retry mends (GROUP_AUTHORIZATION_FAILED), which
 * kafkajs's own heartbeat after the batch meets and handles as it does any.
 */
const REBALANCE: ReadonlySet<string> = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
])

/**
 * The configuration error for a consumer whose session timeout the broker refused (INVALID_SESSION_TIMEOUT,
 * Kafka error 26, at the group join), or undefined for any other error. Retrying cannot mend it: kafkajs
 * crashes the consumer without restarting it. The broker does not say its bounds.
 */
export function sessionTimeoutRefusal(err: unknown, sessionTimeoutMs: number): TradepulseError | undefined {
  if (!kafkaErrorType(err, SESSION_TIMEOUT_REFUSED)) return undefined
  return new TradepulseError(
    'CONFIG_INVALID',
    `invalid configuration: KAFKA_SESSION_TIMEOUT_MS=${sessionTimeoutMs} refused by the Kafka broker (INVALID_SESSION_TIMEOUT): it must lie within the broker's group.min.session.timeout.ms..group.max.session.timeout.ms (usually the defaults, 6000..1800000)`,
    { cause: err },
  )
}

/**
 * The error failed() reports for a consumer crash kafkajs does not restart from (other than the refusals
 * above): Kafka's own fault (INFRA_KAFKA, wrapping the crash: exit 69 naming KAFKA_BROKERS), or what was
 * thrown out of a batch (a bug: its own code and error, without kafkajs's wrapper, so that it is not
 * reported as Kafka's).
 */
export function consumerStopped(err: unknown): TradepulseError {
  let original = err
  for (let depth = 0; depth < 8 && original instanceof Error && original.cause instanceof Error; depth++)
    original = original.cause
  const kafkas = original instanceof Error && original.name.startsWith('KafkaJS')
  const message = `the Kafka consumer crashed and kafkajs does not restart it (${faultReason(err)}): ${normalizeError(original).message}`
  return kafkas
    ? new TradepulseError('INFRA_KAFKA', message, { cause: err, retriable: false })
    : new TradepulseError(normalizeError(original).code, message, { cause: original, retriable: false })
}

/** A kafkajs message as the record a handler reads (headers as text, and as given). */
export function toInRecord(topic: string, partition: number, m: KafkaMessage): InRecord {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key ?? null,
    value: m.value ?? null,
    headers: headersToStrings(m.headers as Record<string, unknown> | undefined),
    rawHeaders: m.headers as Record<string, unknown> | undefined,
    timestamp: Number(m.timestamp),
  }
}

/**
 * At-least-once consumption: a batch's records are handled, everything they caused is produced and
 * acknowledged (acks=all), and only then are their offsets resolved, to be committed by the next tick of
 * the offset committer (every KAFKA_COMMIT_INTERVAL_MS). Infrastructure
 * faults retry the same records with backoff while heartbeating; the partition makes no progress and
 * nothing is committed until the fault clears, or until a heartbeat answers that the group is
 * rebalancing: the batch then gives up at the retry's next wait (its handler told by ctx.signal, to end
 * at its next slice), resolving nothing more, and its records come again to whoever owns the partition next. Bad records become dlq outcomes and never stop the stream.
 */
export function createBatchRunner(
  kafka: Kafka,
  producer: TradepulseProducer,
  handler: BatchHandler,
  cfg: BatchRunnerConfig,
  log: Logger,
  metrics: Metrics,
): BatchRunner {
  let consumer: Consumer | undefined
  let committer: OffsetCommitter | undefined
  // eachBatch calls under way, so that a stop can let them settle before the last commit.
  const active = new Set<Promise<void>>()
  let running = false
  // Whether start() was ever called: before it, a worker is starting (ensuring topics, connecting), not
  // failed, so a liveness probe does not restart a slow start.
  let startCalled = false
  let stopping: Promise<void> | undefined
  /** Whether the stop has finished (the consumer and producer disconnected). */
  let stopped = false
  /**
   * A crash at the first join that kafkajs does not restart from (a refusal of the session timeout or the
   * credentials, a fault it takes as final): the start fails with it.
   */
  let refused: TradepulseError | undefined
  let started = false
  let failedResolve: (err: TradepulseError) => void = () => {}
  const failedPromise = new Promise<TradepulseError>((r) => {
    failedResolve = r
  })
  const abort = new AbortController()
  /**
   * The handlers' signals (HandlerContext.signal), one per batch: aborted at a stop, and at a rebalance
   * any batch's heartbeat hears while the batch's run is under way (`handling`). Kept until the batch's
   * run and the work it deferred have settled (`pending`), so that a stop reaches that work too.
   */
  /** `took`: the batch took records (see lastTaken). */
  type BatchSignal = { abort: AbortController; handling: boolean; pending: number; took?: boolean }
  const batchSignals = new Set<BatchSignal>()
  const stopReason = () =>
    new TradepulseError('SHUTDOWN', `the ${cfg.worker} worker is stopping`, { retriable: true })
  const openBatchSignal = (): BatchSignal => {
    const b: BatchSignal = { abort: new AbortController(), handling: true, pending: 1 }
    if (running) batchSignals.add(b)
    else b.abort.abort(stopReason())
    return b
  }
  const settledBatchSignal = (b: BatchSignal) => {
    if (--b.pending === 0) batchSignals.delete(b)
  }
  /**
   * A heartbeat's answer that the group is rebalancing (REBALANCE), heard by any batch: the whole member
   * is to rejoin, so every batch under way is told (their own heartbeats would hear it only once kafkajs
   * lets them send one) and gives up at its next wait or slice (see eachBatch).
   */
  const rebalancing = (err: unknown) => {
    for (const b of batchSignals)
      if (b.handling && !b.abort.signal.aborted)
        b.abort.abort(
          new TradepulseError(
            'SHUTDOWN',
            `the consumer group is rebalancing (${faultReason(err)}): the batch is given up, its records come again to whoever owns the partition`,
            { cause: err, retriable: true },
          ),
        )
  }
  let state: { status: HealthStatus; detail?: string } = { status: 'degraded', detail: 'not joined yet' }
  let isJoined = false
  /**
   * Topics the group gave this member partitions of at the last sync (`received`) and join (`foreign`)
   * that it does not read: another kind of worker shares its group (one KAFKA_GROUP_ID for both).
   * kafkajs's leader spreads the partitions of the topics it reads itself over every member, whatever
   * each reads, and a member drops those of a topic it does not read with a warning only ('Consumer group
   * received unsubscribed topics'): they are read by no one, nor are the topics only the others read.
   */
  let received: string[] = []
  let foreign: string[] = []
  /**
   * The members subscribing to other topics than this one's, as its leader saw them at the last
   * assignment it made (`assigned`, reportingAssigner) and at the last join it led (`others`): the
   * same sharing, seen from the leader, which kafkajs tells nothing of. The partitions of this member's
   * topics it gives them go unread, as do the topics only they read.
   */
  let assigned: OtherTopics[] | undefined
  let others: OtherTopics[] = []
  /**
   * When a fetch or batch last showed progress. This and every other elapsed time of the runner (stall,
   * hold, the ends' retry deadline, the group's wait for the others' points) is read on the monotonic
   * clock, performance.now(): a wall-clock step (NTP, a VM resumed) must not stretch or cut them.
   */
  let lastProgress = performance.now()
  /**
   * The attempts of the batches' stages under way, each with its stage and when it started (monotonic
   * clock), oldest first: a handler call (prepare, or the work it deferred) or a produce (a batch's
   * output, a deferred batch's). One attempt may take minutes without failing, bounded only by its
   * client's timeouts: a broker that takes requests and stops answering (a disk or GC stall) holds a
   * send for kafkajs's request timeout times the producer's retries, a Redis call with REDIS_TIMEOUT_MS=0
   * for as long as Redis hangs. Meanwhile the partition's fetcher waits for the batch, so no fetch is
   * reported, and the produce queue every partition shares holds the others' output behind it: with
   * nothing but lastProgress, health read that as a stalled runner (failed, a liveness probe's restart
   * of a worker only waiting the fault out, its records done again and the group rebalanced).
   */
  const attempts = new Set<Attempt>()
  /**
   * Runs one attempt of `stage`, known to health while under way (see attempts); one still under way
   * past the stall limit is logged then (sweep), and again once it returns. Every chunk of a batch
   * makes two (its handler call, its produce): one object and a Set entry each, and no timer, which cost
   * as much again (a setTimeout and a clearTimeout per attempt).
   */
  async function underWay<T>(stage: Stage, work: () => Promise<T>): Promise<T> {
    const attempt: Attempt = { stage, since: performance.now(), slow: false }
    attempts.add(attempt)
    try {
      return await work()
    } finally {
      attempts.delete(attempt)
      if (attempt.slow)
        log.info(
          { stage, ms: Math.round(performance.now() - attempt.since) },
          `the slow ${stage} attempt returned`,
        )
    }
  }
  /**
   * The stages under way (a handler call or a produce with its retries and their waits), each with its
   * batch's heartbeat: the sweep asks each for one, so that the group hears from this member while a
   * stage runs (see eachBatch). One entry per stage, not per batch: a batch's produce and its next
   * chunk's handler call overlap, and the one ending first must not silence the other.
   */
  const beating = new Set<{ heartbeat: () => Promise<void> }>()
  /**
   * Asks the stages under way for a heartbeat, and logs, once each, the attempts under way past the stall
   * limit. Run every sweepMs from the start to the end of the stop: an attempt is logged within sweepMs
   * of passing the limit. kafkajs sends a heartbeat asked for only once its interval has passed since the
   * last one was answered, so a stage's heartbeats come at most about twice the interval apart, as they
   * did from the interval each stage had of its own. It also sets the age of the oldest batch under way
   * (tradepulse_batch_in_flight_seconds) and refreshes the lag gauge from the partitions' ends
   * (refreshLag, every lagRefreshMs at most): both were set only as batches started or ended, so a batch
   * stuck for minutes showed nothing of itself nor of the records piling up behind it.
   */
  const sweep = () => {
    if (stopped) {
      clearInterval(sweepTimer) // a stop that ended during the start, before the interval was set
      return
    }
    for (const stage of beating) void stage.heartbeat()
    const now = performance.now()
    const oldest = inFlight.values().next()
    metrics.batchInFlight.set(oldest.done ? 0 : (now - oldest.value.since) / 1000)
    if (running && !lagReading && now - lagReadAt >= lagRefreshMs && lagged.size > 0) void refreshLag()
    noteWaiting(now)
    // Oldest first (added as they start): once one is within the limit, so is every one after it.
    for (const attempt of attempts) {
      if (now - attempt.since <= stallAfterMs) break
      if (attempt.slow) continue
      attempt.slow = true
      log.warn(
        { stage: attempt.stage, ms: Math.round(now - attempt.since) },
        `a ${attempt.stage} attempt is under way past the stall limit`,
      )
    }
  }
  let sweepTimer: NodeJS.Timeout | undefined
  /** The batches under way (eachBatch calls, from kafkajs handing one over to its return), oldest first. */
  const inFlight = new Set<{ since: number }>()
  /**
   * The partitions whose lag this runner exports (a partition another member took is dropped at the
   * join), each with what its lag is counted from: `from`, the first offset this runner has yet to see
   * through (a batch's first record while it is handled, past its last once it is; past a chunk once
   * that chunk is resolved), and `end`, the newest end (high watermark) known of the partition, from a
   * batch or a read of the ends (refreshLag). The gauge is end − from.
   */
  const lagged = new Map<
    string,
    { labels: { topic: string; partition: string }; from: number; end: number }
  >()
  const setLag = (topic: string, partition: number, end: number, from: number) => {
    const key = `${topic}/${partition}`
    let at = lagged.get(key)
    if (!at) {
      at = { labels: { topic, partition: String(partition) }, from, end }
      lagged.set(key, at)
    }
    at.from = from
    // Never back: a read of the ends that started before this batch was fetched may answer after it.
    at.end = Math.max(at.end, end)
    metrics.lag.set(at.labels, Math.max(0, at.end - from))
  }
  /** Where the lag of partition `key` is counted from now (a chunk resolved), the gauge left to the next set. */
  const lagFrom = (key: string, from: number) => {
    const at = lagged.get(key)
    if (at) at.from = from
  }
  const lagRefreshMs = cfg.lagRefreshMs ?? LAG_REFRESH_MS
  /** Whether a read of the ends is under way (never two at once), and when the last one ended. */
  let lagReading = false
  let lagReadAt = performance.now()
  /** The admin the reads use, kept between them; dropped (disconnected) at a failure and at the stop. */
  let lagAdmin: Admin | undefined
  /** When a failing read was last warned of (LAG_WARN_EVERY_MS), and whether reads are failing. */
  let lagWarnedAt = Number.NEGATIVE_INFINITY
  let lagFailing = false
  /**
   * Reads the ends of the partitions whose lag is exported (one offsets request per topic) and sets each
   * one's gauge from them: the lag keeps growing while a batch is stuck (a stalled dependency, a Redis
   * that does not answer) with records piling up behind it, which no batch start or end tells while it
   * lasts. A failure is warned of once a minute at most and changes nothing else: the gauges keep what
   * they had, the next read is made on a fresh admin (one asked again keeps the metadata naming a moved
   * leader), and the worker goes on.
   */
  async function refreshLag(): Promise<void> {
    lagReading = true
    let admin: Admin | undefined
    /** Forgets the admin and disconnects it, whatever it throws. */
    const drop = () => {
      if (lagAdmin === admin) lagAdmin = undefined
      const a = admin
      void Promise.resolve()
        .then(() => a?.disconnect())
        .catch(() => {})
    }
    try {
      admin = lagAdmin ?? kafka.admin()
      if (admin !== lagAdmin) {
        lagAdmin = admin // known to a stop from here on
        await admin.connect()
      }
      const topics = new Set([...lagged.values()].map((l) => l.labels.topic))
      for (const topic of topics) {
        const ends = await admin.fetchTopicOffsets(topic)
        for (const { partition, high } of ends) {
          // A partition dropped at a join meanwhile stays dropped.
          const at = lagged.get(`${topic}/${partition}`)
          if (!at) continue
          at.end = Math.max(at.end, Number(high))
          metrics.lag.set(at.labels, Math.max(0, at.end - at.from))
        }
      }
      if (lagFailing) log.info("the partitions' ends are read again: the consumer lag is refreshed")
      lagFailing = false
    } catch (err) {
      drop()
      lagFailing = true
      const now = performance.now()
      if (running && now - lagWarnedAt >= LAG_WARN_EVERY_MS) {
        lagWarnedAt = now
        log.warn(
          { err: normalizeError(err), everyMs: lagRefreshMs },
          "could not refresh the consumer lag from the partitions' ends (tradepulse_consumer_lag keeps its last values; retried, warned of once a minute at most)",
        )
      }
    } finally {
      lagReading = false
      lagReadAt = performance.now()
      // Stopped meanwhile: the stop may have disconnected this admin before it connected.
      if (!running) drop()
    }
  }
  /**
   * When a batch was last handled whole, and since when some partition has been held: fetches alone
   * do not show progress (with every partition paused, kafkajs sleeps and reports a fetch all the same).
   * Both on the monotonic clock (performance.now()).
   */
  let lastBatchDone = performance.now()
  /**
   * When records were last taken (handed to the handler, or passed over as filtered out), how many batches
   * that took records are under way, and since when records have been waiting in an assigned partition
   * (its lag above 0, from a batch or a read of the ends) with none of those under way: health reads a
   * wait past the stall limit with nothing taken as degraded. The hold check below misses it when
   * partitions are let go and held again with nothing taken (its clock starts again at every release),
   * and fetches alone keep the stall check quiet (kafkajs reports one with every partition paused).
   */
  let lastTaken = performance.now()
  let takingBatches = 0
  let waitingSince: number | undefined
  /** The partitions with records waiting (lag above 0), as `topic/partition`. */
  const waitingPartitions = (): string[] =>
    [...lagged].flatMap(([key, at]) => (at.end > at.from ? [key] : []))
  /** Notes whether records are waiting (run by the sweep, every sweepMs). */
  const noteWaiting = (now: number) => {
    let waiting = false
    for (const at of lagged.values())
      if (at.end > at.from) {
        waiting = true
        break
      }
    if (!waiting) waitingSince = undefined
    else waitingSince ??= now
  }
  let heldSince: number | undefined
  let joinedResolve: () => void = () => {}
  const joinedPromise = new Promise<void>((r) => {
    joinedResolve = r
  })
  const stallAfterMs = cfg.stallAfterMs ?? Math.max(60_000, cfg.sessionTimeoutMs * 2)
  const attemptStuckMs = cfg.attemptStuckMs ?? Math.max(600_000, stallAfterMs * 5)
  const sweepMs = Math.max(10, Math.min(SWEEP_MAX_MS, stallAfterMs / 4, cfg.heartbeatIntervalMs))
  const credentialsRefusedMs = cfg.credentialsRefusedMs ?? CREDENTIALS_REFUSED_MS
  /**
   * The faults of the deployment waited out for credentialsRefusedMs at most (see securityFault), each
   * with its clock: the partitions (topic/partition, or CONSUMER) it holds, and what failed() reports
   * once the bound passes.
   */
  const clocks: Record<SecurityFault, { held: Set<string>; timer?: NodeJS.Timeout }> = {
    credentials: { held: new Set() },
    tls: { held: new Set() },
    clock: { held: new Set() },
  }
  /** Given up on a security fault: health stays failed while the retries under way end. */
  let securityGivenUp = false
  /**
   * A fault on partition `key` (CONSUMER: the consumer's crash): a refusal of the credentials or a TLS
   * failure (of the output, of a call the handler made, of the consumer's connections) starts its clock
   * (once), anything else leaves it. Only the same partition's work going through stops it (a join says
   * nothing of the producer's connections, nor another partition's output of the handler's calls: a
   * handler may call Kafka for some records only); the consumer's, a fetch answered.
   */
  const faultHeld = (err: TradepulseError, key: string) => {
    const kind = securityFault(err)
    if (!kind) return
    const clock = clocks[kind]
    clock.held.add(key)
    if (clock.timer) return
    clock.timer = setTimeout(() => {
      const failure =
        kind === 'credentials'
          ? credentialsRefusal(err, credentialsRefusedMs)!
          : kind === 'tls'
            ? tlsFailure(err, credentialsRefusedMs)!
            : clockFailure(err, credentialsRefusedMs)!
      securityGivenUp = true
      state = {
        status: 'failed',
        detail:
          kind === 'credentials'
            ? 'KAFKA_AUTH: auth refused (KAFKA_SASL_USERNAME)'
            : kind === 'tls'
              ? 'INFRA_KAFKA: tls failed (KAFKA_SSL_*)'
              : "INFRA_KAFKA: clock ahead of Kafka (this host's time)",
      }
      log.error({ err }, failure.message)
      if (running) failedResolve(failure)
    }, credentialsRefusedMs)
    clock.timer.unref()
  }
  /**
   * Partition `key`'s output acknowledged (CONSUMER: a fetch answered), or a partition no longer this
   * member's (none given: a stop): a clock no partition is held by any more stops.
   */
  /**
   * A partition's retries through a lasting fault (a Redis full under noeviction, a broker away): the
   * first warning whole, then a count every 30 s and one line when it clears. Each retry logged its
   * error whole, 80-90 lines of 1.5-2 KB in 30 s per worker.
   */
  const retryWarns = createWarnThrottle(log)
  const faultCleared = (key?: string) => {
    if (key !== undefined) retryWarns.clear(key)
    for (const clock of Object.values(clocks)) {
      if (key === undefined) clock.held.clear()
      else clock.held.delete(key)
      if (clock.held.size > 0) continue
      clearTimeout(clock.timer)
      clock.timer = undefined
    }
  }

  /** What stopped consuming while running (a RepeatedReplyError): failed() reports it. */
  let stoppedBy: RepeatedReplyError | undefined
  /**
   * Stops consuming on a fault of the deployment no record is to blame for: no batch is started,
   * published or resolved any more (the batch that met it dead-letters nothing), fetching is paused, and
   * failed() reports it for whoever runs the worker to stop it (the last commit: only what was done
   * before) and exit.
   */
  const halt = (err: RepeatedReplyError) => {
    if (stoppedBy) return
    stoppedBy = err
    // Never the key in the health body (anyone reaching the port reads it): the log has it.
    state = {
      status: 'failed',
      detail: `stopped: ${err.count} records in a row failed on the same Redis reply (${faultReason({ name: 'ReplyError', message: err.fault.reply })})`,
    }
    log.error({ err }, err.message)
    try {
      consumer?.pause(cfg.topics.map((topic) => ({ topic })))
    } catch {
      // not running any more
    }
    if (running) failedResolve(err)
  }

  // Deferred batches (HandlerContext.defer): per partition, the chain of batches resolved in kafkajs
  // but not yet done, each link true once done. A failed link reads the partition again from its first
  // record (a new epoch: links of the old one mark nothing done) and handles it without deferral until
  // a batch of it is done again.
  const chains = new Map<string, { link: Promise<boolean>; epoch: number; assignment: number }>()
  const epochs = new Map<string, number>()
  const undeferred = new Set<string>()
  /** Partitions whose deferred work failed and whose seek back waits for earlier links: start nothing more. */
  const halted = new Set<string>()
  /** Counts assignments: a link finishing under a newer one marks nothing done (the partition may be another's). */
  let assignment = 0
  /**
   * Per partition, where its next fetch starts as far as this runner knows, in this assignment: past the
   * last chunk resolved or the last records passed over (passedOver); 'unknown' from a seek back until a
   * chunk is resolved again (a fetch made before the seek may still be handled). None: nothing resolved
   * in this assignment, so its fetches start at the group's committed offset.
   */
  const nextFetch = new Map<string, bigint | 'unknown'>()
  /**
   * Per partition of this assignment, the offset the group had committed when it was given to this member,
   * read at the join while its partitions wait (readResumed): a first batch fetched past it was fetched
   * past records deleted before they were read (see fetchedFrom). Taken by the partition's first batch.
   */
  let resumedFrom = new Map<string, bigint>()
  /** The partitions paused at the join until the group's offsets in them are read (readResumed). */
  let pausedForRead: { topic: string; partitions: number[] }[] = []
  const positionListeners = new Set<PositionListener>()
  /** Tells the listeners a partition's next offset (see BatchRunner.onPosition). */
  const told = (topic: string, partition: number, next: bigint) => {
    for (const listener of positionListeners) {
      try {
        listener(topic, partition, Number(next))
      } catch (err) {
        log.warn({ err, topic, partition }, 'a position listener failed')
      }
    }
  }
  const tickListeners = new Set<CommitTickListener>()
  /** Tells the listeners the commit timer ticked (see BatchRunner.onCommitTick). */
  const ticked = () => {
    for (const listener of tickListeners) {
      try {
        listener()
      } catch (err) {
        log.warn({ err }, 'a commit tick listener failed')
      }
    }
  }

  const aligner = cfg.align
    ? createPartitionAligner(cfg.align.aheadMs, {
        together: true,
        ...(cfg.align.stepWithinFetch ? { stepWithinFetch: true } : {}),
      })
    : undefined

  // Partitions handled at once share produce requests (see createProduceQueue).
  const queue = createProduceQueue(producer)
  const stages = createBatchStages({
    handler,
    worker: cfg.worker,
    dlqTopic: cfg.dlqTopic,
    log,
    metrics,
    signal: abort.signal,
    produce: queue.send,
    produceAlone: (records) => produceAll(producer, records),
    replyFailuresMax: cfg.redisReplyFailuresMax ?? 0,
  })

  /**
   * Marks a chunk done once its deferred work has finished and its output is acknowledged, after the
   * partition's earlier links; on a failure, seeks the partition back to the chunk's first record.
   */
  function chainDone(
    topic: string,
    partition: number,
    firstOffset: string,
    lastOffset: string,
    deferred: Promise<OutRecord[]>[],
    epoch: number,
  ): Promise<boolean> {
    const key = `${topic}/${partition}`
    const since = assignment
    const before = chains.get(key)
    // Links of an older epoch or assignment end as false without marking anything: not a predecessor.
    const prev =
      before && before.epoch === epoch && before.assignment === since ? before.link : Promise.resolve(true)
    const link = (async () => {
      let failure: unknown
      try {
        // The handler's deferred work is its call still under way: the partition's next batch waits on it.
        const out = (await underWay('handler', () => Promise.all(deferred))).flat()
        if (out.length > 0) {
          // A Kafka fault is retried here, with backoff, as the publish stage does: reading the whole
          // batch again would redo its work for an output that only needs sending.
          const sent = await retry(
            () =>
              underWay('produce', () => queue.send(out)).catch((raw) =>
                Promise.reject(waitedOutRefusal(raw)),
              ),
            {
              baseMs: cfg.retryBaseMs,
              maxMs: cfg.retryMaxMs,
              shouldStop: () => !running || (epochs.get(key) ?? 0) !== epoch || since !== assignment,
              onWait: () => {
                lastProgress = performance.now() // waiting out a fault, not stalled
              },
              onRetry: (err, attempt, delayMs) => {
                faultHeld(err, key)
                metrics.retries.inc({ code: err.code })
                retryWarns.warn(
                  key,
                  { err, attempt, delayMs, partition },
                  "infrastructure fault; retrying a deferred batch's output",
                )
              },
            },
          )
          if (!sent.ok)
            throw new TradepulseError('INFRA_KAFKA', "stopped before a deferred batch's output was sent")
          faultCleared(key)
          countOut(metrics, out)
        }
      } catch (err) {
        failure = err
        halted.add(key) // until the seek below, or an earlier link's: no further batch of it may start
      }
      if (!(await prev) || (epochs.get(key) ?? 0) !== epoch || since !== assignment) {
        if (failure !== undefined) halted.delete(key) // an earlier link sought back, or a new assignment
        return false
      }
      if (failure === undefined) {
        committer?.done(topic, partition, lastOffset)
        aligner?.applied(key, Number(lastOffset) + 1)
        void swapPoints() // (several members) the others may be waiting for this point
        return true
      }
      const err = normalizeError(failure)
      epochs.set(key, epoch + 1)
      halted.delete(key)
      undeferred.add(key)
      metrics.retries.inc({ code: err.code })
      log.warn(
        { err, topic, partition, offset: firstOffset },
        "a deferred batch's work failed; reading the partition again from its first record, without deferral",
      )
      // Its records come again: the partition's progress is unknown until then (it holds the others).
      if (aligner) {
        aligner.rewind(key, Number(firstOffset))
        noteHeld()
      }
      nextFetch.set(key, 'unknown')
      try {
        consumer?.seek({ topic, partition, offset: firstOffset })
      } catch (seekErr) {
        // Not running any more: nothing was marked done, so the records are read again at the next start.
        log.warn({ err: seekErr, topic, partition }, 'could not seek back after a deferred failure')
      }
      return false
    })()
    chains.set(key, { link, epoch, assignment: since })
    // A stop waits for it like for a batch under way, before its last commit.
    const tracked = link.then(() => {
      if (chains.get(key)?.link === link) chains.delete(key)
      active.delete(tracked)
    })
    active.add(tracked)
    return link
  }

  /** What the aligner leaves of a batch: see PartitionAligner.hold. */
  type Untaken = { times: readonly (number | undefined)[]; remainderMs?: number }

  /**
   * How many of a batch's records to take now (the aligner's cut: see createPartitionAligner), the
   * event time of the first one left and of all those left (the partition is then held), and the
   * newest and oldest event times taken.
   * Event times are read for every batch unless the partition is the only one known (in a group of
   * one member, or of several without an exchange): live, a batch then tells its
   * reach like any other, so a backlog that builds up while running (every partition stalled by a
   * fault) is bounded from its first batch, and a live partition in flight never holds another back.
   */
  async function alignedPart(
    key: string,
    highWatermark: number,
    records: readonly InRecord[],
  ): Promise<{ count: number; heldAtMs?: number; untaken?: Untaken; newestMs?: number; oldestMs?: number }> {
    // At its end before this batch: the other members have been told nothing of this partition.
    const idle = group !== undefined && aligner!.points().get(key) === null
    aligner!.seen(key, highWatermark)
    if (!group && aligner!.alone(key)) return { count: records.length }
    const times = records.map((r) => cfg.align!.eventMs(r))
    // The reach others may count on is the first chunk's: the handler takes a batch larger than
    // KAFKA_MAX_BATCH in chunks, one after another, and only the first ones of each partition are
    // merged together for sure (by default a whole fetch is one chunk).
    // The batch's oldest record is its partition's point for other members while it is handled.
    let reach: number | undefined
    let batchOldest: number | undefined
    let batchNewest: number | undefined
    for (let i = 0; i < times.length; i++) {
      const ms = times[i]
      if (ms === undefined) continue
      if (i < cfg.maxBatch && (reach === undefined || ms > reach)) reach = ms
      if (batchOldest === undefined || ms < batchOldest) batchOldest = ms
      if (batchNewest === undefined || ms > batchNewest) batchNewest = ms
    }
    // Reaching its end, a batch holds nobody back only if it is one chunk (merged whole with the others).
    const last = records[records.length - 1]
    const atEnd = last === undefined || Number(last.offset) + 1 >= highWatermark
    const toEnd = records.length <= cfg.maxBatch && atEnd
    // The other batches of this fetch start in this turn: let them tell their ends and records first.
    aligner!.fetching(key, reach, toEnd, batchOldest, times)
    // Leaving its end with more than aheadMs of event time at once: see fenceIn.
    if (idle && batchOldest !== undefined && batchNewest! - batchOldest > cfg.align!.aheadMs) fenceIn(key)
    await new Promise((r) => setImmediate(r))
    const count = Math.min(aligner!.cut(key), records.length)
    let newestMs: number | undefined
    let oldestMs: number | undefined
    for (let i = 0; i < count; i++) {
      const ms = times[i]
      if (ms === undefined) continue
      if (newestMs === undefined || ms > newestMs) newestMs = ms
      if (oldestMs === undefined || ms < oldestMs) oldestMs = ms
    }
    const range = {
      ...(newestMs !== undefined ? { newestMs } : {}),
      ...(oldestMs !== undefined ? { oldestMs } : {}),
    }
    // The cut stops at a record with an event time, the first of those left.
    const heldAtMs = count < records.length ? times[count] : undefined
    if (heldAtMs === undefined) return { count: records.length, ...range }
    // The records still to fetch are taken to be no older than the newest fetched.
    const untaken: Untaken = {
      times: times.slice(count),
      ...(!atEnd && batchNewest !== undefined ? { remainderMs: batchNewest } : {}),
    }
    return { count, heldAtMs, untaken, ...range }
  }

  /**
   * A new assignment: every partition of it holds the others back until its end and the group's
   * position in it are known (one offsets request), so that the partition fetched first does not run
   * ahead of the others. A failed request is retried with backoff (kafkajs has already retried it)
   * for up to 30 s, or a session timeout if longer; meanwhile a partition a fetch tells of is known
   * from the fetch, and an empty one (which gives no batch) holds the others. Past that, or on a fault
   * that retrying cannot mend, the partitions still unknown are taken as at their end, so that nothing
   * stalls. A failure is warned of once: a partition without a leader yet (topics just made) only once it
   * has lasted LEADER_READY_MS (a debug line till then), any other at the first retry.
   * Then it warns of what keeps alignment from holding (alignmentWarnings): fetch shares too large,
   * partitions on several brokers, several members in the group.
   */
  async function learnEnds(since: number, assigned: Record<string, number[]>): Promise<void> {
    const keys = Object.entries(assigned).flatMap(([topic, ps]) => ps.map((q) => `${topic}/${q}`))
    for (const key of keys) aligner!.expect(key)
    // The admin of the last attempt (askFreshAdmins keeps it): the one that answered goes on to the leaders
    // and members reads below.
    let admin: Admin | undefined
    try {
      let answer: PartitionEnds | undefined
      // At least 30 s by default (the session timeout when longer): a Kafka fault at an assignment often
      // outlasts a short session timeout, and past this the partitions still unknown go unaligned.
      const deadline = performance.now() + (cfg.endsRetryMs ?? Math.max(30_000, cfg.sessionTimeoutMs))
      const request = {
        groupId: cfg.groupId,
        topics: cfg.topics,
        fromBeginning: cfg.fromBeginning ?? true,
        assigned,
      }
      // The first failure's time, and whether one was warned of: once per assignment.
      let failingSince: number | undefined
      let warned = false
      try {
        // Each attempt on a fresh admin: one asked again keeps the metadata naming a partition's old leader
        // until it expires (5 min), so a leader that moved (kafkajs gives up at once on
        // NOT_LEADER_FOR_PARTITION) was asked of the old broker until the deadline.
        const got = await askFreshAdmins(kafka, (a) => readPartitionEnds(a, request), {
          attempts: Number.POSITIVE_INFINITY,
          waitMs: (attempt) => backoffDelay(attempt - 1, cfg.retryBaseMs, cfg.retryMaxMs),
          retriable: (err) => normalizeError(err).retriable,
          shouldStop: () => since !== assignment || !running || performance.now() >= deadline,
          onRetry: (err, attempt, delayMs) => {
            const now = performance.now()
            failingSince ??= now
            if (warned) return
            // Right after the topics are made (ingest makes them as it starts) their partitions have no
            // leader for a moment: a debug line while that lasts no longer than a leader commonly takes,
            // a warning once it does. Any other fault is warned of at once.
            const noLeader = leaderNotReady(err)
            if (noLeader && now - failingSince < LEADER_READY_MS) {
              log.debug(
                { err, attempt, delayMs },
                "partitions' ends not read yet: a partition has no leader yet",
              )
              return
            }
            warned = true
            if (noLeader)
              // Kafka's answer, known: its type and message say it all, a stack would not.
              log.warn(
                {
                  error: { type: noLeader, message: err instanceof Error ? err.message : String(err) },
                  attempts: attempt,
                  forMs: Math.round(now - failingSince),
                  delayMs,
                },
                "could not read the partitions' ends: a partition has had no leader for longer than a leader takes to be ready; retrying (an empty partition holds the others meanwhile)",
              )
            else
              log.warn(
                { err: normalizeError(err), delayMs },
                "could not read the partitions' ends; retrying (an empty partition holds the others meanwhile)",
              )
          },
          onAdmin: (a) => {
            admin = a
          },
          keep: true,
        })
        if (got.ok) {
          answer = got.value
          if (got.attempts > 1) log.info({ attempts: got.attempts }, "partitions' ends read")
        }
      } catch (err) {
        log.warn(
          { err: normalizeError(err) },
          "could not read the partitions' ends, a fault that retrying does not mend",
        )
      }
      if (since !== assignment || !running) return
      for (const { key, high, position } of answer?.assigned ?? []) aligner!.ends(key, high, position)
      const answered = new Set(answer?.assigned.map((a) => a.key))
      const unknown = keys.filter((key) => !answered.has(key))
      if (unknown.length > 0) {
        // Taken as at their end (a partition a fetch has told of keeps what it told): they hold
        // nobody back until their first fetch.
        log.warn(
          { partitions: unknown },
          "partitions' ends unknown: event-time alignment starts from their first fetches",
        )
        for (const key of unknown) aligner!.seen(key, 0)
      }
      release()
      const behind = answer?.behind ?? new Set<string>()

      const leaders = new Map<string, number>()
      let members: number | undefined
      // None made if the deadline was spent before the first attempt.
      admin ??= kafka.admin()
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: Object.keys(assigned) })
        for (const t of topics)
          for (const q of t.partitions)
            if (assigned[t.name]?.includes(q.partitionId)) leaders.set(`${t.name}/${q.partitionId}`, q.leader)
        members = (await admin.describeGroups([cfg.groupId])).groups[0]?.members.length
      } catch (err) {
        log.debug({ err }, "could not read the partitions' leaders or the group's members")
      }
      if (since !== assignment) return
      // With an exchange the members are aligned with each other: the group's size is no warning.
      const exchanging = cfg.align?.exchange !== undefined && members !== 1
      const told = exchanging ? undefined : members
      const setting = {
        partitions: keys,
        maxBytesPerPartition: cfg.maxBytesPerPartition,
        partitionsConcurrency: cfg.partitionsConcurrency,
        leaders,
        // Unknown ends count as a backlog.
        backlog: !answer || behind.size > 0 || answer.assigned.some((a) => a.position < a.high),
      }
      for (const w of alignmentWarnings({
        ...setting,
        groupId: cfg.groupId,
        ...(told ? { members: told } : {}),
      }))
        log.warn(w.fields, w.msg)
      if (exchanging) {
        // Other members' partitions behind at this assignment hold this member's until their owners
        // tell their points, or for a session timeout (an owner that never tells: an older version).
        group = {
          keys: new Set(keys),
          behind,
          until: performance.now() + cfg.sessionTimeoutMs,
          carried: new Map(),
        }
        void swapPoints()
      } else if (cfg.align?.exchange) {
        aligner!.remote(new Map()) // alone in the group
        release()
      }
    } finally {
      await admin?.disconnect().catch(() => {})
    }
  }

  // Alignment across the group's members (align.exchange): this member's id in the exchange, and
  // while the group has several, its partitions and the others' that were behind at the assignment.
  const member = randomUUID()
  let group:
    | { keys: Set<string>; behind: Set<string>; until: number; carried: Map<string, number> }
    | undefined
  let swapping = false
  let swapFailed = false
  let swapTimer: NodeJS.Timeout | undefined
  /** Other members' partitions that hold this member's back (their points from the last swap). */
  let othersBehind = 0
  /** How long the last swap took, ms (see seenAgoMs). */
  let swapRttMs = 0
  /**
   * Per broker, when the last fetch from it began whose batches have all been told to the aligner
   * (performance.now(); see the FETCH listener): since then, a partition of this member's that tells no
   * point had nothing more. Cleared at each assignment.
   */
  const toldFrom = new Map<number, number>()
  /**
   * A fence under way (see fenceIn): its partitions, the store's clock at its first write since the last
   * of them joined, when it lapses, and how many times a partition joined it (a swap whose points were
   * read before the last join does not tell it).
   */
  let fence: { keys: Set<string>; since?: number; until: number; joins: number } | undefined
  const fenceWaitMs =
    cfg.align?.fenceWaitMs ??
    Math.min(
      cfg.sessionTimeoutMs,
      Math.max(FENCE_WAIT_MIN_MS, FENCE_WAIT_ROUNDS * (cfg.fetchMaxWaitMs + (cfg.align?.intervalMs ?? 100))),
    )

  /**
   * How long ago, ms, the fetches this member's points tell of began, as the store will stamp it: the
   * oldest of its brokers' (see toldFrom), plus the last swap's time (the stamp is taken after this is
   * read); null while no fetch has been told since the assignment.
   */
  function seenAgoMs(): number | null {
    if (toldFrom.size === 0) return null
    return Math.ceil(performance.now() - Math.min(...toldFrom.values()) + swapRttMs) + 1
  }

  /**
   * A partition leaves its end with a batch spanning more than `aheadMs` of event time (a burst after an
   * idle spell). The other members were told nothing of it (a partition at its end tells no point), and
   * one may have been given a burst at the same time and read this one's nothing too: each would apply
   * its whole burst, and the other's records on shared keys would come late. So until the fence is
   * over, the bursting partition takes nothing and is held (its point, told at the next swap, bounds the
   * others). This member's other partitions go on: its own aligner bounds them by the held burst's
   * oldest record plus `aheadMs` (PartitionAligner.fence), so they never run further ahead of the burst
   * than its first step would, and a live record within that is not kept waiting on the other members.
   * It is over once every other member has written its points since this member's first write after
   * the last burst joined it, and either tells a point for each of its partitions or began a fetch since
   * that write (a burst on its partitions, in Kafka before this one's was fetched, is then in its
   * points); then the held partitions are released against the points read, and members given a burst
   * together leapfrog as members catching up do. A burst joining a fence under way starts that wait
   * afresh (a fetch the others began before it is not after it). A live batch (within `aheadMs`) never
   * fences. A fence lapses after `fenceWaitMs` (FENCE_WAIT_ROUNDS fetch rounds, a second at least): a
   * member busy with a long batch neither fetches nor bounds until it ends, and a burst given to it
   * meanwhile may then come late; a member that stopped writing is left out once its fields are stale.
   */
  function fenceIn(key: string): void {
    fence ??= { keys: new Set(), until: 0, joins: 0 }
    fence.keys.add(key)
    fence.joins++
    fence.since = undefined
    fence.until = performance.now() + fenceWaitMs
    aligner!.fence(fence.keys)
  }

  /** The fence is over (see fenceIn): its partitions are bounded by the other members' points alone. */
  function fenceOut(): void {
    fence = undefined
    aligner!.fence(new Set())
  }

  /** Swaps points with the other members and bounds this member's partitions by theirs. */
  async function swapPoints(): Promise<void> {
    const g = group
    if (!g || swapping || !running) return
    swapping = true
    try {
      // A fence (or its last join) begun before this swap reads the points: they tell the fenced batches.
      const joins = fence?.joins
      const own = new Map([...aligner!.points()].filter(([k]) => g.keys.has(k)))
      const stamps: SwapStamps = { seenAgoMs: seenAgoMs(), members: new Map() }
      const began = performance.now()
      const theirs = await cfg.align!.exchange!.swap(member, own, stamps)
      swapRttMs = performance.now() - began
      if (group !== g) return
      g.carried = carryPoints(g.carried, theirs, g.keys)
      const remote = new Map(g.carried)
      if (performance.now() < g.until)
        for (const k of g.behind)
          if (!remote.has(k) && !theirs.has(k)) remote.set(k, Number.NEGATIVE_INFINITY)
      const f = fence
      if (f && f.joins === joins) {
        f.since ??= stamps.now
        if (f.since === undefined || performance.now() > f.until || caughtUp(stamps, f.since)) fenceOut()
      } else if (f && performance.now() > f.until) fenceOut()
      aligner!.remote(remote)
      if (log.isLevelEnabled('debug'))
        log.debug(
          {
            own: [...own],
            remote: [...remote],
            held: aligner!.held(),
            ...(fence ? { fenced: [...fence.keys] } : {}),
          },
          'event-time points swapped',
        )
      // Those that hold back a partition held here (health: waiting on them is not this member's fault).
      const oldest = aligner!.oldestHeld()
      othersBehind = [...remote.values()].filter((at) => at + cfg.align!.aheadMs < oldest).length
      release()
      if (swapFailed) log.info('event-time points swapped with the other members again')
      swapFailed = false
      // A fence begun (or joined) during this swap: its first write is the next swap, at once.
      if (fence && fence.since === undefined) setImmediate(() => void swapPoints())
    } catch (err) {
      // Holding to the last points: another member's partitions are not let run ahead blindly.
      if (!swapFailed) log.warn({ err }, "could not swap event-time points with the group's other members")
      swapFailed = true
      if (fence && performance.now() > fence.until) {
        fenceOut() // lapsed: bounded by the last points, as without a fence
        release()
      }
    } finally {
      swapping = false
    }
  }

  /**
   * Whether every other member the swap read (`stamps`) has written since `since` (the store's clock)
   * and tells then a point for each of its partitions, or began a fetch after `since` (see fenceIn). A
   * member of an earlier version, which tells no fetch, counts once it has written since.
   */
  function caughtUp(stamps: SwapStamps, since: number): boolean {
    for (const m of stamps.members.values())
      if (!(m.ts > since && (m.bounding || m.seenAt === undefined || m.seenAt > since))) return false
    return true
  }

  /** Pauses a partition at its next record, until the aligner releases it (or a new assignment). */
  function hold(p: EachBatchPayload, key: string, firstMs: number, untaken?: Untaken): void {
    // Stopping: everything is paused already, and a partition's pause would undo the topic's.
    if (!running) return
    metrics.holds.inc()
    const resume = p.pause()
    aligner!.hold(
      key,
      firstMs,
      () => {
        if (running) resume() // a stop pauses everything and must stay paused
      },
      untaken,
    )
    release()
    void swapPoints() // the others may be waiting for this point
  }

  function release(): void {
    aligner!.release()
    noteForced()
    noteHeld()
  }

  /** Forced steps counted (the aligner's own count). */
  let forcedCounted = 0
  const reportForced = forcedStepReporter(
    metrics.alignForced,
    (fields, message) => log.warn(fields, message),
    'event-time alignment forced a step: nothing else would take anything, so the held partitions take the least that leaves none of their fetched records behind; records not fetched yet, or of the partitions not held, may come late (warned of once a minute at most; tradepulse_align_forced_total counts every one)',
  )
  /** Counts and warns of the steps the aligner forced since the last call (see forcedStepReporter). */
  function noteForced(): void {
    const n = aligner!.forced()
    if (n === forcedCounted) return
    const steps = n - forcedCounted
    forcedCounted = n
    reportForced(aligner!.lastForced(), steps)
  }

  /** The held gauge, and since when some partition has been held (for health). */
  function noteHeld(): void {
    const n = aligner!.held()
    metrics.held.set(n)
    if (n === 0) heldSince = undefined
    else heldSince ??= performance.now()
  }

  /**
   * A new assignment (`since`): reads the offsets the group had committed in its partitions, which kafkajs
   * fetches from, before it fetches them (they are paused meanwhile, for COMMITTED_READ_MS at most). On an
   * offset before the partition's start (its records deleted by retention before this group read them)
   * kafkajs commits its reset marker over it (-2, "Offset out of range, resetting to default offset") and
   * fetches from the earliest offset kept: read after that, the skipped range could not be told.
   */
  async function readResumed(since: number, assigned: Record<string, number[]>): Promise<void> {
    resumeRead() // an earlier assignment's read still under way: this one's pause covers what is still ours
    resumedFrom = new Map()
    const parts = Object.entries(assigned)
      .filter(([, ps]) => ps.length > 0)
      .map(([topic, partitions]) => ({ topic, partitions }))
    if (parts.length === 0 || !consumer) return
    try {
      consumer.pause(parts)
    } catch {
      return // not running
    }
    pausedForRead = parts
    let admin: Admin | undefined
    let timer: NodeJS.Timeout | undefined
    try {
      const read = (async () => {
        admin = kafka.admin()
        await admin.connect()
        const got = new Map<string, bigint>()
        for (const { topic, partitions } of parts) {
          const [offsets] = await admin.fetchOffsets({ groupId: cfg.groupId, topics: [topic] })
          for (const { partition, offset } of offsets?.partitions ?? []) {
            const at = BigInt(offset)
            if (partitions.includes(partition) && at >= 0n) got.set(`${topic}/${partition}`, at)
          }
        }
        return got
      })()
      read.catch(() => {})
      const got = await Promise.race([
        read,
        new Promise<undefined>((r) => {
          timer = setTimeout(() => r(undefined), COMMITTED_READ_MS)
          timer.unref()
        }),
      ])
      if (got === undefined)
        log.debug("the group's offsets not read in time: records skipped at this join go untold")
      else if (since === assignment) resumedFrom = got
    } catch (err) {
      log.debug({ err }, "could not read the group's offsets: records skipped at this join go untold")
    } finally {
      clearTimeout(timer)
      if (since === assignment) resumeRead()
      const a = admin as Admin | undefined
      void a?.disconnect().catch(() => {})
    }
  }

  /** Resumes the partitions paused for readResumed, unless stopping or halted (those stay paused). */
  function resumeRead(): void {
    const parts = pausedForRead
    pausedForRead = []
    if (parts.length === 0 || !running || stoppedBy) return
    try {
      consumer?.resume(parts)
    } catch {
      // not running any more
    }
  }

  /**
   * Where kafkajs fetched a batch from, against where this runner expected it to (`expected`: past what was
   * resolved in this assignment, or the group's offset it resumed from): the same, but for a reset kafkajs
   * made on its own. Gaps inside a fetch (a compacted topic's, transaction markers, aborted records) never
   * move where it fetches from, so they are never taken for one.
   * - Below: the partition's offsets went back (kafkajs fetched past the end of a topic deleted and made
   *   again since, and reset to its start): what was marked done before is forgotten (the committer's,
   *   and the deferred work of batches fetched before: a new epoch), so the new records' offsets are
   *   committed; before, nothing was until the new topic grew past the old end, and a restart read it all
   *   again.
   * - Above: the records in between were deleted before this group read them (retention, deleteRecords),
   *   and kafkajs reset to the earliest offset kept: logged as an error with the range, and counted
   *   (tradepulse_records_skipped_total); before, only kafkajs's "Offset out of range" line told of it.
   */
  function fetchedFrom(p: EachBatchPayload, key: string): void {
    const { batch } = p
    const fetched = (batch as { fetchedOffset?: string }).fetchedOffset
    if (fetched === undefined || p.isStale()) return
    const at = BigInt(fetched)
    const known = nextFetch.get(key)
    const resumed = resumedFrom.get(key)
    resumedFrom.delete(key)
    const expected = known === undefined ? resumed : known === 'unknown' ? undefined : known
    if (expected === undefined || at === expected) return
    const { topic, partition } = batch
    if (at < expected) {
      log.warn(
        { topic, partition, from: expected.toString(), to: fetched },
        `offsets went back on ${topic}/${partition}, from ${expected} to ${fetched}: the topic was probably deleted and created again; its records are read from ${fetched}, and committed from there`,
      )
      committer?.reset(topic, partition)
      // The deferred work of batches fetched before marks nothing done any more (chainDone).
      epochs.set(key, (epochs.get(key) ?? 0) + 1)
      return
    }
    const count = at - expected
    metrics.skipped.inc({ topic, partition: String(partition) }, Number(count))
    log.error(
      { topic, partition, from: expected.toString(), to: fetched, skipped: count.toString() },
      `${count} records of ${topic}/${partition} skipped unread, offsets [${expected}, ${fetched}): deleted (retention, deleteRecords) before this group read them; kafkajs reset to the earliest offset kept`,
    )
  }

  /**
   * A batch whose records kafkajs filtered out whole (aborted transactional ones, control records) from
   * `firstOffset` to `lastOffset`: kafkajs resolves it itself and never hands it to eachBatch
   * (Batch.isEmptyDueToFiltering), so the group's committed offset stayed before those records (a
   * partition ending in an aborted transaction showed a lag until its next live record came) and the
   * aligner took the partition for one with records still to fetch, holding the others back. Marked
   * done like a batch without work: after the partition's outstanding deferred batches (chainDone), and
   * not at all while a seek back is pending or the runner cannot tell that it follows what came before
   * (those records come again, and a later batch is marked done as usual).
   */
  function passedOver(
    c: Consumer,
    topic: string,
    partition: number,
    firstOffset: string,
    lastOffset: string,
    highWatermark: string,
  ): void {
    const key = `${topic}/${partition}`
    const from = nextFetch.get(key)
    if (
      !running ||
      halted.has(key) ||
      from === 'unknown' ||
      (from !== undefined && BigInt(firstOffset) < from)
    ) {
      nextFetch.set(key, 'unknown')
      return
    }
    const next = BigInt(lastOffset) + 1n
    nextFetch.set(key, next)
    told(topic, partition, next)
    setLag(topic, partition, Number(highWatermark), Number(next))
    lastBatchDone = performance.now()
    lastTaken = lastBatchDone
    if (aligner) {
      aligner.seen(key, Number(highWatermark))
      aligner.advanced(key, Number(next))
    }
    if (chains.has(key)) void chainDone(topic, partition, firstOffset, lastOffset, [], epochs.get(key) ?? 0)
    else {
      aligner?.applied(key, Number(next))
      if (committer) committer.done(topic, partition, lastOffset)
      // kafkajs's autoCommit commits what it resolved only after the next batch with records.
      else
        c.commitOffsets([{ topic, partition, offset: next.toString() }]).catch((err) =>
          log.warn({ err, topic, partition }, 'could not commit past records filtered out'),
        )
    }
    if (aligner) release()
  }

  async function eachBatch(p: EachBatchPayload, signal: BatchSignal): Promise<void> {
    const { batch } = p
    // A commit the group refused because it no longer has this member (or is rebalancing; see
    // createOffsetCommitter's memberLost): these partitions may be another member's. Nothing of the batch
    // is handled; thrown, kafkajs rejoins, as on a heartbeat's answer (the records come again to whoever
    // owns the partition). Batches under way were told at the refusal (rebalancing, below at the committer).
    const lost = committer?.memberLost()
    if (lost) throw lost
    const key = `${batch.topic}/${batch.partition}`
    // Before its epoch is taken: a reset starts a new one.
    fetchedFrom(p, key)
    const since = assignment
    // The batch before this one, if its deferred work is still under way: this batch returns only once
    // it is done, so at most one batch per partition is outstanding while the next is handled.
    const outstanding = chains.get(key)?.link
    // A deferred failure since this batch was fetched sought the partition back: nothing of this batch
    // may be resolved or marked done (kafkajs's stale flag alone can miss it).
    const epoch = epochs.get(key) ?? 0
    const superseded = () => p.isStale() || halted.has(key) || (epochs.get(key) ?? 0) !== epoch
    // With kafkajs's autoCommit (no committer), what is resolved is committed: nothing may be deferred.
    const mayDefer = committer !== undefined && !undeferred.has(key)
    // A heartbeat's answer that the group is rebalancing (REBALANCE), from one a stage sends while it runs
    // or waits out a fault (below): the partition may be another member's already, and the group waits
    // for this one to rejoin. The stage's retry stops at its next wait, and the batch gives up as between
    // chunks: rethrown, kafkajs rejoins at once, nothing more is resolved and the records come again.
    let rebalance: unknown
    // Told by any batch's heartbeat (rebalancing): this batch gives up as if its own had heard it.
    signal.abort.signal.addEventListener(
      'abort',
      () => {
        const heard = (signal.abort.signal.reason as { cause?: unknown } | undefined)?.cause
        if (kafkaErrorType(heard, REBALANCE)) rebalance ??= heard
      },
      { once: true },
    )
    const stopped = () =>
      !running || stoppedBy !== undefined || !p.isRunning() || superseded() || rebalance !== undefined
    const records = batch.messages.map((m) => toInRecord(batch.topic, batch.partition, m))
    // The lag while this batch is handled, however long that takes (a fault retried for minutes, the
    // batch before it still under way): set only at the end, the gauge showed the last finished batch's
    // 0 through a whole outage. The end of the batch sets what is left.
    if (records.length > 0)
      setLag(batch.topic, batch.partition, Number(batch.highWatermark), Number(records[0]!.offset))
    // A batch that will not be handled (a stop, a seek back) tells the aligner nothing and holds nothing:
    // it goes on unaligned, resolves nothing and waits for the partition's outstanding batch as usual.
    let taken: { count: number; heldAtMs?: number; untaken?: Untaken; newestMs?: number; oldestMs?: number } =
      aligner && !stopped()
        ? await alignedPart(key, Number(batch.highWatermark), records)
        : { count: records.length }
    if (taken.count === 0 && taken.heldAtMs !== undefined) {
      if (!stopped()) {
        hold(p, key, taken.heldAtMs, taken.untaken)
        setLag(batch.topic, batch.partition, Number(batch.highWatermark), Number(records[0]!.offset))
        return
      }
      taken = { count: records.length }
    }
    metrics.messagesIn.inc({ topic: batch.topic }, taken.count)
    if (taken.count > 0 && !signal.took) {
      signal.took = true
      takingBatches++
      lastTaken = performance.now()
    }
    // The last chunk ends at the batch's last offset, past any trailing control records, unless the
    // aligner left records for later.
    const endOffset = taken.count < records.length ? records[taken.count - 1]!.offset : batch.lastOffset()
    const chunks: { records: InRecord[]; lastOffset: string }[] = []
    for (let i = 0; i < taken.count; i += cfg.maxBatch) {
      const slice = records.slice(i, Math.min(i + cfg.maxBatch, taken.count))
      chunks.push({
        records: slice,
        lastOffset: i + cfg.maxBatch >= taken.count ? endOffset : slice[slice.length - 1]!.offset,
      })
    }
    let faulted = false
    // kafkajs heartbeats only when asked to from here: a stage that takes longer than the session timeout
    // in one attempt (a produce waiting out a slow broker's acks, a slow Redis answering each of a
    // batch's commands near REDIS_TIMEOUT_MS) would cost the member its session and the group a
    // rebalance, and every record in flight would be read again. So the group hears from this member
    // while a stage is under way, not only between its attempts (kafkajs sends a heartbeat only once
    // the interval has passed, however often it is asked).
    //
    // A rebalance one of these heartbeats hears ends the stage's retry at its next wait (retry's
    // shouldStop), and aborts the handler's signal of every batch under way (rebalancing): a handler that
    // looks at it between slices ends its attempt there, rather than score the rest of a long batch while
    // the whole group waits for this member, up to its rebalance timeout. The runner itself never abandons
    // the attempt under way: that attempt settles first, as the runner lets a stage
    // settle wherever it gives a batch up (between chunks, a failed publish, a stop), so that nothing of
    // this member's writes for the batch lands after it has left it to the partition's next owner, and
    // its output never comes after that owner's for the same records. An attempt is bounded by its
    // client's timeouts (REDIS_TIMEOUT_MS, Kafka's request timeout); the fault it retries is not. Any
    // other heartbeat fault (the coordinator unreachable) may be the very fault the stage is waiting
    // out: it goes on as before. Only these answers end a batch, here, between chunks and while it
    // waits on deferred work: a fault that says nothing of the group never costs the work done.
    const heartbeat = (): Promise<void> =>
      rebalance !== undefined
        ? Promise.resolve() // the group is waiting for this member to rejoin: nothing more to tell it
        : p.heartbeat().catch((err) => {
            if (kafkaErrorType(err, REBALANCE)) {
              rebalance ??= err
              rebalancing(err)
            }
          })
    // Heartbeats asked for by the runner's sweep (every sweepMs, no longer than the heartbeat interval)
    // while the stage is under way, and never once it ends.
    const beatingWhile = async <T>(work: () => Promise<T>): Promise<T> => {
      const stage = { heartbeat }
      beating.add(stage)
      try {
        return await work()
      } finally {
        beating.delete(stage)
      }
    }
    const withRetry = <T>(what: Stage, stage: () => Promise<T>) =>
      beatingWhile(() =>
        retry(() => underWay(what, stage), {
          baseMs: cfg.retryBaseMs,
          maxMs: cfg.retryMaxMs,
          shouldStop: stopped,
          // Heartbeat while waiting out a fault, so the group keeps our partitions and nothing is redelivered
          // elsewhere; and a batch waiting out a fault is no stalled loop (health stays degraded, not failed).
          onWait: () => {
            lastProgress = performance.now()
            return heartbeat()
          },
          onRetry: (err: TradepulseError, attempt, delayMs) => {
            faulted = true
            faultHeld(err, key)
            // The health body has the code and a short reason (for refused credentials, the variable to
            // check); the error whole is in the warning below.
            const kind = securityFault(err)
            const what =
              kind === 'credentials'
                ? 'KAFKA_SASL_USERNAME, '
                : kind === 'tls'
                  ? 'KAFKA_SSL_*, '
                  : kind === 'clock'
                    ? "this host's time, "
                    : ''
            if (!securityGivenUp)
              state = {
                status: 'degraded',
                detail: `${err.code}: ${faultReason(err)} (${what}attempt ${attempt})`,
              }
            metrics.retries.inc({ code: err.code })
            retryWarns.warn(
              key,
              { err, attempt, delayMs, partition: batch.partition },
              'infrastructure fault; retrying the batch, consumption paused',
            )
          },
        }),
      )
    /** The rebalance heard by a stage's heartbeat, to rethrow (logged: the fault's retries end here). */
    const giveUp = (): unknown => {
      log.info(
        { partition: batch.partition, err: rebalance },
        'the group is rebalancing; giving the batch up (its records come again to whoever owns the partition)',
      )
      return rebalance
    }
    const deferredOf: Promise<OutRecord[]>[][] = chunks.map(() => [])
    const prepare = (k: number) => {
      const deferred = deferredOf[k]!
      const defer = mayDefer
        ? (work: Promise<OutRecord[]>) => {
            // Settled by its link; its signal (a stop reaches it) is kept until then.
            signal.pending++
            work.catch(() => {}).finally(() => settledBatchSignal(signal))
            deferred.push(work)
          }
        : undefined
      const stage = withRetry('handler', () => {
        deferred.length = 0 // work of a failed attempt is not this chunk's (it settles on its own)
        return stages.prepare(chunks[k]!.records, defer, signal.abort.signal)
      })
      stage.catch(() => {}) // awaited below; this only keeps an early failure from being "unhandled"
      return stage
    }
    let resolved = 0
    let next = chunks.length > 0 && !stopped() ? prepare(0) : undefined
    for (let k = 0; k < chunks.length && next; k++) {
      let prepared: Awaited<typeof next>
      try {
        prepared = await next
      } catch (err) {
        // Record after record failing on the same Redis reply to a key they all write: stop consuming.
        if (!(err instanceof RepeatedReplyError)) throw err
        halt(err)
        return
      }
      if (!prepared.ok) {
        // Stopping, sought back or rebalancing: nothing resolved, the records come again.
        if (rebalance !== undefined) throw giveUp()
        return
      }
      // The next chunk's handler runs while this chunk's output is being acknowledged: its effects
      // are idempotent and tied to its own records, so running them early is safe, and ingest's Redis
      // round trip then overlaps Kafka's. Offsets still advance only after each chunk's publish.
      next = k + 1 < chunks.length && !stopped() ? prepare(k + 1) : undefined
      const published = await withRetry('produce', () => stages.publish(prepared.value))
      if (!published.ok) {
        await next?.catch(() => {}) // the handler started early stops at once; let it settle before leaving
        if (rebalance !== undefined) throw giveUp()
        return
      }
      if (faulted) {
        faulted = false
        log.info({ partition: batch.partition }, 'infrastructure fault cleared; consumption resumed')
      }
      state = { status: 'ok' }
      faultCleared(key)
      lastProgress = performance.now()
      const deferred = deferredOf[k]!
      if (superseded()) {
        await next?.catch(() => {})
        return // sought back meanwhile: these records come again
      }
      p.resolveOffset(chunks[k]!.lastOffset)
      const position = BigInt(chunks[k]!.lastOffset) + 1n
      nextFetch.set(key, since === assignment ? position : 'unknown')
      if (since === assignment) told(batch.topic, batch.partition, position)
      lagFrom(key, Number(position))
      resolved++
      if (deferred.length > 0 || chains.has(key)) {
        const first = chunks[k]!.records[0]?.offset ?? chunks[k]!.lastOffset
        void chainDone(batch.topic, batch.partition, first, chunks[k]!.lastOffset, deferred, epoch)
      } else {
        committer?.done(batch.topic, batch.partition, chunks[k]!.lastOffset)
        aligner?.applied(key, Number(chunks[k]!.lastOffset) + 1)
        undeferred.delete(key)
      }
      // A rebalance heard while this chunk's last attempt was under way (it went through), or by this
      // heartbeat: give up now; kafkajs rejoins, and the early handler's records come again to whoever
      // owns them. Any other fault (a request timed out, a connection dropped, the coordinator loading
      // or unavailable) says nothing of this member's partitions: giving the batch up for it would only
      // have the rest of it, and the early handler's chunk, done again once fetched again (their
      // effects twice downstream). The batch goes on; the next heartbeat (a stage's, the next chunk's,
      // kafkajs's own after the batch) tells whether the group still has this member, and a member the
      // group dropped meanwhile has its commits refused, so its records come again to the next owner.
      if (rebalance === undefined) {
        try {
          await p.heartbeat()
        } catch (err) {
          if (kafkaErrorType(err, REBALANCE)) {
            rebalance = err
            rebalancing(err)
          } else
            log.warn(
              { err, topic: batch.topic, partition: batch.partition, offset: chunks[k]!.lastOffset },
              'heartbeat failed (not a rebalance); going on with the batch',
            )
        }
      }
      if (rebalance !== undefined) {
        await next?.catch(() => {})
        throw giveUp()
      }
    }
    // Only a batch resolved whole moves the aligner (the rest of one that stopped half-way comes again).
    if (resolved === chunks.length) {
      lastBatchDone = performance.now()
      // Unless a deferred failure sought the partition back meanwhile (its rewind stands).
      if (aligner && !superseded()) {
        aligner.advanced(key, Number(endOffset) + 1, taken.newestMs, taken.oldestMs)
        if (taken.heldAtMs !== undefined) hold(p, key, taken.heldAtMs, taken.untaken)
        else release()
      }
    }
    // Heartbeating while it waits: the batch before may be retrying its output through a Kafka fault.
    if (outstanding) {
      await heartbeatUntilSettled(
        outstanding,
        cfg.heartbeatIntervalMs,
        async () => {
          try {
            await p.heartbeat()
          } catch (err) {
            // A rebalance: give the batch up as between chunks, and kafkajs rejoins at once (the group
            // waits for this member). What this batch and the one before left undone is marked done by
            // nothing under the new assignment (chainDone); their records come again to whoever owns them.
            // Any other fault (the coordinator unreachable) may be the one the batch before is waiting
            // out: keep waiting, as a stage retrying a fault does.
            if (kafkaErrorType(err, REBALANCE)) {
              rebalancing(err)
              throw err
            }
          }
          return undefined
        },
        { unref: true },
      )
    }
    setLag(batch.topic, batch.partition, Number(batch.highWatermark), Number(endOffset) + 1)
  }

  /** The steps of the stop under way (BatchRunner.stopStep). */
  const stopSteps = new Set<string>()
  const stopMs = cfg.stopMs ?? STOP_KAFKA_MS
  /**
   * Runs one step of the stop for `withinMs` at most: undefined once done, else what failed or was not done
   * in time (its work is left to settle on its own).
   */
  async function boundedStep(
    what: string,
    work: () => Promise<unknown>,
    withinMs: number,
  ): Promise<StopStepFailure | undefined> {
    stopSteps.add(what)
    let timer: NodeJS.Timeout | undefined
    try {
      const done = Promise.resolve().then(work)
      done.catch(() => {})
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), withinMs)
      })
      return (await Promise.race([done, late])) === 'late'
        ? { what, lateMs: Math.round(withinMs) }
        : undefined
    } catch (err) {
      return { what, err }
    } finally {
      clearTimeout(timer)
      stopSteps.delete(what)
    }
  }

  const runner: BatchRunner = {
    async start() {
      if (running) return
      running = true
      startCalled = true
      consumer = kafka.consumer({
        groupId: cfg.groupId,
        sessionTimeout: cfg.sessionTimeoutMs,
        heartbeatInterval: cfg.heartbeatIntervalMs,
        // The round-robin assigner, as by default, telling the leader of members that read other topics.
        partitionAssigners: [
          reportingAssigner((o) => {
            assigned = o
          }),
        ],
        maxWaitTimeInMs: cfg.fetchMaxWaitMs,
        minBytes: cfg.fetchMinBytes ?? 1,
        maxBytesPerPartition: cfg.maxBytesPerPartition,
        // kafkajs caps a whole fetch at 10 MB: never below every concurrent partition's full share.
        maxBytes: Math.max(KAFKAJS_MAX_BYTES, cfg.maxBytesPerPartition * cfg.partitionsConcurrency),
        allowAutoTopicCreation: false,
        // Kafka itself unreachable for long: kafkajs restarts the consumer with backoff instead of crashing.
        retry: {
          retries: 10,
          initialRetryTime: 300,
          maxRetryTime: 10_000,
          restartOnFailure: async (err) =>
            running && !sessionTimeoutRefusal(err, cfg.sessionTimeoutMs) && !isKafkaAuthRefusal(err),
        },
      })
      const c = consumer
      // A commit refused because the group no longer has this member: every batch under way gives up as
      // on a heartbeat's answer, and the next one throws it (see eachBatch); kafkajs rejoins.
      if (cfg.commitIntervalMs > 0)
        committer = createOffsetCommitter(c, cfg.commitIntervalMs, log, ticked, (err) => rebalancing(err))
      // Emitted by the sync, before the join's GROUP_JOIN.
      c.on(c.events.RECEIVED_UNSUBSCRIBED_TOPICS, (e) => {
        received = e.payload.topicsNotSubscribed
      })
      c.on(c.events.GROUP_JOIN, (e) => {
        assignment++
        foreign = received
        received = []
        if (foreign.length > 0)
          log.error(
            { groupId: cfg.groupId, foreignTopics: foreign, topics: cfg.topics },
            `another kind of worker shares consumer group ${cfg.groupId}: the group gave this ${cfg.worker} partitions of ${foreign.join(', ')}, which it does not read, so no one reads them, and those of its own topics (${cfg.topics.join(', ')}) that the group's leader does not read go to no one; give each kind of worker a group of its own (KAFKA_GROUP_ID unset, or one per worker)`,
          )
        // What the assigner saw is this join's only if this member led it (a sync that failed after the
        // assignment, then a join led by another, must not keep it).
        others = e.payload.isLeader ? (assigned ?? []) : []
        assigned = undefined
        if (others.length > 0) {
          const count = others.reduce((n, o) => n + o.memberIds.length, 0)
          log.error(
            { groupId: cfg.groupId, topics: cfg.topics, otherTopics: others },
            `another kind of worker shares consumer group ${cfg.groupId}: this ${cfg.worker}, the group's leader, reads ${cfg.topics.join(', ')}; ${count} other member(s) read ${others.map((o) => o.topics.join(', ') || 'nothing').join('; ')}; the leader assigns the partitions of its own topics only, over every member: those it gives a member that does not read them go unread, and the topics only the others read go to no one; give each kind of worker a group of its own (KAFKA_GROUP_ID unset, or one per worker)`,
          )
        }
        nextFetch.clear()
        void readResumed(assignment, e.payload.memberAssignment)
        // A partition another member has now: its fault no longer holds this member.
        for (const clock of Object.values(clocks))
          for (const key of clock.held) {
            if (key === CONSUMER) continue
            const [topic = '', partition = ''] = key.split(/\/(?=\d+$)/)
            if (!e.payload.memberAssignment[topic]?.includes(Number(partition))) faultCleared(key)
          }
        for (const [key, { labels }] of lagged)
          if (!e.payload.memberAssignment[labels.topic]?.includes(Number(labels.partition))) {
            metrics.lag.remove(labels)
            lagged.delete(key)
          }
        if (aligner) {
          aligner.reset() // the partitions held may be another member's now; what is ours is fetched again
          if (cfg.align?.exchange) {
            // Until the group's size is known, the other members count as behind everything.
            group = undefined
            aligner.remote(new Map([['?', Number.NEGATIVE_INFINITY]]))
            fence = undefined // (the aligner's reset let go of its partitions)
            toldFrom.clear()
          }
          noteHeld()
          void learnEnds(assignment, e.payload.memberAssignment)
        }
        isJoined = true
        waitingSince = undefined // the partitions this member has now, from their next batch or read of the ends
        state = { status: 'ok' }
        lastProgress = performance.now()
        log.info({ groupId: cfg.groupId, assignment: e.payload.memberAssignment }, 'joined consumer group')
        joinedResolve()
      })
      c.on(c.events.REBALANCING, () => {
        state = { status: 'degraded', detail: 'rebalancing' }
        group = undefined // its partitions may be another member's: tell nothing of them until the join
      })
      c.on(c.events.FETCH, (e) => {
        lastProgress = performance.now()
        faultCleared(CONSUMER) // its connections work again
        if (cfg.align?.exchange) {
          // The fetch's batches start in this turn and tell the aligner their records at once (see
          // alignedPart): past it, this member's points tell what Kafka held when the fetch began.
          const began = lastProgress - e.payload.duration - 1 // (duration is by Date.now)
          const node = e.payload.nodeId
          const since = assignment
          setImmediate(() => {
            if (since === assignment) toldFrom.set(node, began)
          })
        }
      })
      c.on(c.events.END_BATCH_PROCESS, (e) => {
        const { topic, partition, batchSize, firstOffset, lastOffset, highWatermark } = e.payload
        // A batch with live records went through eachBatch; kafkajs passes over one with none (batch
        // size 0) itself. Its first offset is null when it had no record at or past the fetch offset.
        if (batchSize === 0) resumedFrom.delete(`${topic}/${partition}`)
        if (batchSize === 0 && (firstOffset as string | null) !== null)
          passedOver(c, topic, partition, firstOffset, lastOffset, highWatermark)
      })
      c.on(c.events.CRASH, (e) => {
        group = undefined // out of the group until kafkajs restarts it and it joins again
        const err = e.payload.error
        // Refused credentials: kafkajs does not restart the consumer either (they are the same at every try).
        const refusal = sessionTimeoutRefusal(err, cfg.sessionTimeoutMs) ?? credentialsRefusal(err)
        if (refusal) {
          // kafkajs does not restart the consumer; at the first join (within run, below) the start fails.
          state = {
            status: 'failed',
            detail:
              refusal.code === 'KAFKA_AUTH'
                ? 'consumer crashed: auth refused (KAFKA_SASL_USERNAME)'
                : refusal.message,
          }
          if (started) {
            log.error({ err }, refusal.message)
            if (running) failedResolve(refusal)
          } else refused = refusal
          return
        }
        if (!securityGivenUp)
          state = {
            status: e.payload.restart ? 'degraded' : 'failed',
            detail: `consumer crashed: ${faultReason(err)}`,
          }
        log.error({ err, restart: e.payload.restart }, 'consumer crashed')
        // A TLS failure kafkajs restarts the consumer from, and meets again at every restart while a
        // certificate is wrong: waited out for credentialsRefusedMs at most, as the output's.
        if (e.payload.restart && running) faultHeld(normalizeError(err), CONSUMER)
        // Nor does kafkajs restart it after a fault it takes as final (an ACL refusing the group) or a bug
        // thrown out of a batch: the worker stops, for its supervisor to start it again, rather than stay
        // up failed for ever. (A crash while stopping is no failure: restartOnFailure said no to it.)
        if (!e.payload.restart && running) {
          const stopped = consumerStopped(err)
          if (started) failedResolve(stopped)
          else refused = stopped
        }
      })
      // A stop while this start waits on Kafka (connecting, joining) disconnected clients not yet
      // connected, which kafkajs goes on connecting: whatever connected since is disconnected here.
      const stoppedWhileStarting = async () => {
        if (running) return false
        await c.disconnect().catch((err) => log.warn({ err }, 'consumer disconnect failed'))
        await producer.disconnect().catch((err) => log.warn({ err }, 'producer disconnect failed'))
        return true
      }
      await producer.connect()
      if (await stoppedWhileStarting()) return
      await c.connect()
      if (await stoppedWhileStarting()) return
      for (const topic of cfg.topics) await c.subscribe({ topic, fromBeginning: cfg.fromBeginning ?? true })
      // Unref'd: it never holds a process up; a stop clears it.
      sweepTimer = setInterval(sweep, sweepMs)
      sweepTimer.unref()
      await c.run({
        autoCommit: committer === undefined,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: cfg.partitionsConcurrency,
        eachBatch: (p) => {
          const signal = openBatchSignal()
          const flight = { since: performance.now() }
          inFlight.add(flight)
          const run = eachBatch(p, signal)
          active.add(run)
          return run.finally(() => {
            inFlight.delete(flight)
            signal.handling = false
            if (signal.took) {
              takingBatches--
              lastTaken = performance.now()
            }
            settledBatchSignal(signal)
            active.delete(run)
            if (aligner) {
              // A batch that ended early (a stop, a rebalance, a failure) no longer holds the others.
              aligner.fetched(`${p.batch.topic}/${p.batch.partition}`)
              release()
            }
          })
        },
      })
      if (refused) {
        await runner.stop()
        throw refused
      }
      if (await stoppedWhileStarting()) return
      started = true
      committer?.start()
      if (cfg.align?.exchange) {
        // While a partition of this member is held it waits on the others' points: ask often then.
        const every = cfg.align.intervalMs ?? 100
        const tick = () => {
          if (!running) return
          swapTimer = setTimeout(
            () => void swapPoints().finally(tick),
            group && aligner!.held() > 0 ? Math.min(every, HELD_SWAP_MS) : every,
          )
        }
        tick()
      }
    },
    stop() {
      stopping ??= (async () => {
        running = false
        clearTimeout(swapTimer)
        faultCleared()
        abort.abort()
        // Every handler's signal: the batches under way end at their next slice, and the work they deferred.
        for (const b of batchSignals) if (!b.abort.signal.aborted) b.abort.abort(stopReason())
        // Fetch nothing more while the last commit is made (the batches returning early would otherwise
        // have their records fetched again and again).
        try {
          consumer?.pause(cfg.topics.map((topic) => ({ topic })))
        } catch {
          // not running yet: nothing to pause
        }
        // The batches under way stop at once (nothing unfinished is resolved); then the last commit, while
        // still in the group, for at most FINAL_COMMIT_MS (a coordinator that does not answer must not
        // hold the stop: the records are read again instead). With autoCommit, kafkajs's disconnect
        // commits what was resolved itself.
        //
        // The Kafka steps (the last commit, the disconnects) are bounded together by stopMs, from when the
        // batches have settled: against a Kafka that does not answer, kafkajs's consumer disconnect waits
        // out the fetch under way and then its LeaveGroup, a request timeout (30 s) each, and the producer's
        // came after it; a worker exited 1 at SHUTDOWN_DEADLINE_MS with a line naming neither Kafka nor the
        // step. The disconnects run side by side (every batch's output is acknowledged by then); a step not
        // done in time is left to its client until the process exits, and the stop fails naming it.
        const failures: StopStepFailure[] = []
        if (committer) {
          committer.stop()
          // Batches under way may add deferred links while this waits: until none is left.
          stopSteps.add(SETTLING)
          while (active.size > 0) await Promise.allSettled([...active])
          stopSteps.delete(SETTLING)
        }
        const kafkaFrom = performance.now()
        const left = () => Math.max(0, kafkaFrom + stopMs - performance.now())
        if (committer) {
          const c = committer
          const failure = await boundedStep(
            LAST_COMMIT,
            async () => {
              await c.flush()
              // flush logs a failed commit and keeps its offsets for a next tick that will not come.
              const stuck = c.failing()
              if (stuck?.err !== undefined) throw stuck.err
            },
            Math.min(FINAL_COMMIT_MS, stopMs / 2),
          )
          if (failure) failures.push(failure)
        }
        const c = consumer
        // A read of the ends under way fails with it, unwarned (not running), or ends on its own.
        const lagClient = lagAdmin
        lagAdmin = undefined
        const [consumerStep, producerStep] = await Promise.all([
          c
            ? boundedStep(
                `disconnecting the Kafka consumer (leaving group ${cfg.groupId})`,
                () => c.disconnect(),
                left(),
              )
            : undefined,
          boundedStep('disconnecting the Kafka producer', () => producer.disconnect(), left()),
          // Nothing rests on it: its failure is no failure of the stop.
          lagClient
            ? boundedStep(
                'disconnecting the admin client of the lag reads',
                () => lagClient.disconnect(),
                left(),
              )
            : undefined,
        ])
        if (consumerStep) failures.push(consumerStep)
        if (producerStep) failures.push(producerStep)
        // Only now: an attempt the stop waits on (above, up to the shutdown deadline) is still logged if slow.
        clearInterval(sweepTimer)
        metrics.batchInFlight.set(0)
        stopped = true
        if (failures.length === 0) return
        const failure = stopFailure(cfg.worker, failures, stopMs)
        // Before it started consuming (a stop while its start waits on Kafka) nothing was read, nor is
        // anything left to commit: the clients' connecting is all the steps wait on.
        if (!started) {
          log.warn({ err: failure }, failure.message)
          return
        }
        throw failure
      })()
      return stopping
    },
    stopStep: () => (stopSteps.size > 0 ? [...stopSteps].join('; ') : undefined),
    joined: () => joinedPromise,
    failed: () => failedPromise,
    onPosition(listener) {
      positionListeners.add(listener)
      return () => positionListeners.delete(listener)
    },
    onCommitTick(listener) {
      tickListeners.add(listener)
      return () => tickListeners.delete(listener)
    },
    health: async () => {
      if (!running) {
        if (!startCalled) return { status: 'degraded', ready: false, detail: 'starting' }
        // A stop draining (a SIGTERM's, up to SHUTDOWN_DEADLINE_MS) is the worker doing as told, not a
        // failure for a liveness probe to act on; a stop after a fault keeps saying the fault.
        if (stopping && !stopped) {
          return state.status === 'failed'
            ? { status: 'failed', ready: false, detail: state.detail }
            : { status: 'degraded', ready: false, detail: 'stopping' }
        }
        return { status: 'failed', ready: false, detail: 'not running' }
      }
      // Elapsed times by the monotonic clock: a wall clock stepped forward (an NTP step, a VM resumed)
      // reported a stall that was none, and one stepped back hid a real one for as long as the step.
      const now = performance.now()
      if (isJoined && state.status !== 'failed' && now - lastProgress > stallAfterMs) {
        // A stage's attempt under way (its client not answering yet) is a fault waited out, not a stall:
        // the oldest is told, with its age, so that one that never returns shows. A runner with nothing
        // under way and no fetch (kafkajs's loop stuck, a batch stuck outside any attempt) is failed.
        const oldest = attempts.values().next()
        if (!oldest.done) {
          const age = Math.round(now - oldest.value.since)
          // One that outlasts every client timeout will never settle: stuck, and only a restart mends it.
          if (age > attemptStuckMs)
            return {
              status: 'failed',
              ready: false,
              detail: `${oldest.value.stage} attempt under way for ${age} ms, past ${attemptStuckMs} ms: stuck`,
            }
          return {
            status: 'degraded',
            ready: false,
            detail: `${oldest.value.stage} attempt under way for ${age} ms`,
          }
        }
        return {
          status: 'failed',
          ready: false,
          detail: `no fetch or batch for ${Math.round(now - lastProgress)} ms`,
        }
      }
      // A hold that outlasts the stall limit with no batch done or under way (one retrying through an
      // outage is under way) is stuck.
      if (
        heldSince !== undefined &&
        now - heldSince > stallAfterMs &&
        now - lastBatchDone > stallAfterMs &&
        active.size === 0
      ) {
        // Waiting on another member's partitions (it may be the one stuck): not this member's failure.
        if (group && othersBehind > 0)
          return {
            status: 'degraded',
            ready: false,
            detail: `${aligner!.held()} partitions held for ${Math.round(now - heldSince)} ms by ${othersBehind} partitions of the group's other members`,
          }
        return {
          status: 'failed',
          ready: false,
          detail: `${aligner!.held()} partitions held in event-time alignment for ${Math.round(now - heldSince)} ms and no batch done or under way`,
        }
      }
      // Offset commits refused because the group no longer has this member (it rejoins at its next batch),
      // or not going through for longer than the session timeout: whatever it handles meanwhile may be read
      // again by another member, so it is not ready. Degraded, not failed: kafkajs rejoins, or the fault
      // (the coordinator unreachable) passes; a restart mends neither sooner. Before, /healthz said ok
      // while every commit failed for as long as the worker ran.
      if (committer && state.status !== 'failed') {
        const lost = committer.memberLost()
        if (lost)
          return {
            status: 'degraded',
            ready: false,
            detail: `offset commit refused (${faultReason(lost)}): the group no longer has this member; rejoining`,
          }
        const failing = committer.failing()
        if (failing && now - failing.sinceMs > cfg.sessionTimeoutMs)
          return {
            status: 'degraded',
            ready: false,
            detail: `offset commits not going through for ${Math.round(now - failing.sinceMs)} ms${failing.err === undefined ? '' : ` (${faultReason(failing.err)})`}, past the session timeout`,
          }
      }
      // Records waiting in assigned partitions and none taken past the stall limit, with nothing under way
      // that took any: the partitions are held (the aligner letting them go and holding them again with
      // nothing taken, a pause never resumed) while fetches go on. Degraded, not failed: a restart of a
      // worker only waiting on another member's partitions, or on a catch-up's forced step, mends nothing.
      if (isJoined && state.status !== 'failed' && waitingSince !== undefined && takingBatches === 0) {
        const idle = now - Math.max(waitingSince, lastTaken)
        if (idle > stallAfterMs) {
          const waiting = waitingPartitions()
          return {
            status: 'degraded',
            ready: false,
            detail: `records waiting in ${waiting.length} partitions (${waiting.slice(0, 5).join(', ')}${waiting.length > 5 ? ', …' : ''}) and none taken for ${Math.round(idle)} ms, past the stall limit (${stallAfterMs} ms)`,
          }
        }
      }
      // No restart mends it (failed would have a liveness probe rebalance the group again and again).
      if (foreign.length > 0 && state.status !== 'failed')
        return {
          status: 'degraded',
          ready: false,
          detail: `another kind of worker shares the consumer group (KAFKA_GROUP_ID): given partitions of ${foreign.length} topic(s) this worker does not read, which no one reads`,
        }
      if (others.length > 0 && state.status !== 'failed')
        return {
          status: 'degraded',
          ready: false,
          detail: `another kind of worker shares the consumer group (KAFKA_GROUP_ID): this worker, the group's leader, assigns its own topics' partitions only, over ${others.reduce((n, o) => n + o.memberIds.length, 0)} member(s) reading other topics too: those a member does not read, and the topics only the others read, go unread`,
        }
      return { status: state.status, ready: isJoined && state.status === 'ok', detail: state.detail }
    },
  }
  return runner
}

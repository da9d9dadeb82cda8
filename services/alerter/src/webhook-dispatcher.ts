import { AlertReader, cutForLog } from '@tradepulse/contracts'
import {
  backoffDelay,
  CREDENTIALS_REFUSED_MS,
  clockFailure,
  credentialsRefusal,
  type DeadLetterReason,
  deadLetterRecord,
  faultReason,
  type HealthCheck,
  heartbeatUntilSettled,
  type InRecord,
  kafkaErrorType,
  type Logger,
  type OutRecord,
  parseJsonRecord,
  produceAll,
  recordRefusal,
  replayedAtMs,
  type TradepulseError,
  type TradepulseProducer,
  tlsFailure,
  toInRecord,
} from '@tradepulse/platform'
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs'
import type { AlerterMetrics } from './alerter-metrics.ts'
import type { DeskWebhookTarget } from './desk-config.ts'
import { ALERT_ID_HEADER, SIGNATURE_HEADER, signWebhook } from './webhook-signature.ts'

export type WebhookOptions = {
  timeoutMs: number
  /**
   * Most attempts of one delivery before a retriable failure (408, 429, 5xx, a timeout, a connection
   * refused or reset) sends it to the dlq (ALERTER_WEBHOOK_MAX_ATTEMPTS); 0: no such limit, the alert is
   * retried until it is older than maxAgeMs (the default: a receiver down for minutes loses no page).
   */
  maxAttempts: number
  backoffBaseMs: number
  backoffMaxMs: number
  concurrency: number
  queueMax: number
  maxAgeMs: number
  /**
   * Longest a desk may be paged about news (ALERTER_WEBHOOK_MAX_NEWS_AGE_MS): an alert whose news
   * (alertNewsTimeMs) is older than this by the lane's clock as an attempt starts is not posted (counted
   * stale), and an attempt that would start past it is not made. An operator's replay of the record
   * (tp-dlq-replayed-at) is posted whatever its news' age. 0 or absent: off.
   */
  maxNewsAgeMs?: number
  /** Longest wait a 429 or 503 may ask for with Retry-After (never less than our own backoff). */
  retryAfterMaxMs: number
  /**
   * Most alerts of a partition taken after a delivery not finished yet (see the lane's pause), at least 1;
   * default UNCOMMITTED_PER_QUEUED × queueMax.
   */
  uncommittedMax?: number
  /**
   * How long a desk's deliveries may keep failing (from the first failed attempt since the last one
   * delivered, while some delivery waits for its retry) before the `webhooks` health check is degraded
   * naming the desk and the last failure; and how long its oldest alert waiting for a retry may (one the
   * receiver alone refuses while the others are delivered), health then naming that alert, its attempts
   * and last failure. WEBHOOK_FAILING_DEGRADED_MS (30 s) when absent.
   */
  failingDegradedMs?: number
}

/**
 * How long a desk's webhook may keep failing before health is degraded and a warning names it: longer than
 * a receiver's usual blip or rolling restart (a few seconds of 502/503), short enough that an on-call sees
 * an endpoint down well before its alerts reach ALERTER_WEBHOOK_MAX_AGE_MS and are dead-lettered.
 */
export const WEBHOOK_FAILING_DEGRADED_MS = 30_000

/**
 * The default bound on the alerts of a partition taken after one whose delivery has not finished, per
 * delivery the queue may hold (ALERTER_WEBHOOK_QUEUE_MAX, 500: 5,000). Well past what finishes behind a
 * delivery retried as usual (seconds to minutes) at a desk's rate of alerts, so a slow receiver alone
 * rarely pauses a partition; it bounds what one that does not finish costs (one alert its receiver keeps
 * failing, retried up to ALERTER_WEBHOOK_MAX_AGE_MS while the alerts after it are delivered; a dead letter
 * Kafka keeps refusing): the alerts a restart posts again. A receiver down altogether fails every delivery
 * alike, so the queue fills (ALERTER_WEBHOOK_QUEUE_MAX) and the lane waits for room before this bound.
 */
export const UNCOMMITTED_PER_QUEUED = 10

export type WebhookDispatcherDeps = {
  kafka: Kafka
  /** For dead letters of deliveries that failed for good. */
  producer: TradepulseProducer
  /**
   * tradepulse_dlq_total of the worker (its pipeline metrics' `dlq`): each dead letter the lanes write is
   * counted there by reason, as every worker's dead letters are, so the DLQ panel and alerts see them.
   */
  dlqTotal: { inc(labels: { reason: string }): void }
  groupId: string
  /** Desk webhook targets with the desk topic each one reads. */
  targets: (DeskWebhookTarget & { topic: string })[]
  dlqTopic: string
  options: WebhookOptions
  consumer: { fetchMaxWaitMs: number; sessionTimeoutMs: number; heartbeatIntervalMs: number }
  log: Logger
  metrics: AlerterMetrics
  fetch?: typeof fetch
  now?: () => number
  /**
   * How long dead letters may be refused for a fault of the deployment (this host's clock ahead of
   * Kafka's, refused credentials, TLS failing) before `failed` reports it; CREDENTIALS_REFUSED_MS (30 s),
   * the batch runner's bound for the same faults.
   */
  deploymentFaultMs?: number
  /**
   * Longest the dispatcher's stop may take, from when it is asked (SHUTDOWN_DEADLINE_MS): the lanes take no
   * more desk records at once, and the attempts already in flight are let finish (or fail) until
   * stopReserveMs of it is left; those still running then are aborted (uncommitted: posted again after the
   * restart), and what was delivered is committed within what is left. Absent: deliveries in flight are
   * abandoned at once, as a rebalance abandons a partition's.
   */
  stopDeadlineMs?: number
}

/**
 * What a stop keeps of its deadline (stopDeadlineMs) for its last steps once the attempts in flight are
 * aborted: the last commit, the consumers' and the producer's disconnects; a third of it when shorter.
 */
export function stopReserveMs(stopDeadlineMs: number): number {
  return Math.min(STOP_RESERVE_MS, stopDeadlineMs / 3)
}
const STOP_RESERVE_MS = 5_000

/**
 * What `failed` reports for `err`, refused for `forMs`, when it is a fault of the deployment that no retry
 * mends (the batch runner's words for each): Kafka refusing the timestamps this host's clock gave, the
 * credentials, or a connection's TLS. Undefined for any other error.
 */
export function deploymentFailure(err: unknown, forMs: number): TradepulseError | undefined {
  return clockFailure(err, forMs) ?? credentialsRefusal(err, forMs) ?? tlsFailure(err, forMs)
}

type Result = 'done' | 'aborted'
type Attempt =
  | { ok: true }
  | { ok: false; permanent: boolean; detail: string; outcome: string; retryAfterMs?: number }

const isRetriableStatus = (s: number) => s === 408 || s === 429 || s >= 500

/**
 * Most of a webhook answer read. The body is read only so a kept-alive connection can be used again;
 * a receiver answering an endless or huge body would otherwise have it all buffered in memory, or hold a
 * request slot until the timeout (a body past this is cancelled, which closes that connection).
 */
export const RESPONSE_BODY_MAX_BYTES = 64 * 1024

/** Heartbeat errors meaning this member must rejoin the group: its partitions are being (or were) reassigned. */
const REJOIN_ERRORS: ReadonlySet<string> = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'NOT_COORDINATOR_FOR_GROUP',
])

const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /

/**
 * The wait a Retry-After header asks for, in ms from `nowMs`: delay-seconds (`120`) or an HTTP date
 * (IMF-fixdate, RFC 850 or asctime, all GMT); a date already past is 0. Undefined when absent or
 * unreadable (a negative or fractional number, any other text), so our own backoff applies.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  const v = value?.trim()
  if (!v) return undefined
  if (/^\d+$/.test(v)) return Number(v) * 1000
  if (!HTTP_DATE.test(v)) return undefined
  // asctime carries no zone but means GMT; Date.parse would read it as local time.
  const at = Date.parse(/GMT$/.test(v) ? v : `${v} GMT`)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

/** The wait before the next attempt: what the receiver asked, cut to `capMs`, never under our own backoff. */
export function nextAttemptDelayMs(
  backoffMs: number,
  retryAfterMs: number | undefined,
  capMs: number,
): number {
  return retryAfterMs === undefined ? backoffMs : Math.max(backoffMs, Math.min(retryAfterMs, capMs))
}

/**
 * A webhook URL as the failure warning and the dead letter show it: its origin, with "/…" standing for a
 * path or query, which often carry the receiver's token (https://hooks.slack.com/services/T…/B…/<secret>,
 * ?token=…): those lines go to log stores and the dlq, which more people read than the desks file.
 * The desk id they also name tells which hook it is (a desk has one).
 */
export function webhookUrlForLogs(url: string): string {
  if (!URL.canParse(url)) return '(an unreadable URL)'
  const u = new URL(url)
  return `${u.origin}${u.pathname !== '/' || u.search !== '' ? '/…' : ''}`
}

/**
 * Reads at most about `maxBytes` of a response body, then cancels the rest. The read stops, too, when the
 * fetch's signal aborts (the timeout): fetch errors the body stream then, so a body that stalls or trickles
 * never holds an attempt past its timeout. What the body says does not change the attempt's outcome.
 */
export async function drainBody(res: Response, maxBytes: number): Promise<void> {
  const reader = res.body?.getReader()
  if (!reader) return
  let read = 0
  try {
    while (read < maxBytes) {
      const chunk = await reader.read()
      if (chunk.done) return
      read += chunk.value.byteLength
    }
  } catch {
    // Aborted (timeout, stop) or reset by the receiver: the status stands.
  }
  await reader.cancel().catch(() => {})
}

/**
 * When the market could first know the news `body` (a desk record's value, an Alert) is about, in ms since
 * the epoch: the earlier of its `publishedAt` (a headline's publication, an indicator alert's `asOf`) and
 * its `ingestedAt` (when the news entered the pipeline). Not `detectedAt`: a backlog caught up after an
 * outage is detected, and written, now. The earlier of the two, so a headline dated ahead of its entry (a
 * feed's clock or time zone gone wrong; ingest corrects only one more than INGEST_MAX_FUTURE_MS ahead)
 * counts from its entry, and one entered again long after it was published (an old article re-sent by a
 * feed, a replay of old news) from its publication. A time that is not text Date.parse reads is left out;
 * undefined when neither is readable (a body that is no JSON object, or not an alert): the news bound then
 * does not apply, and the record's own age (ALERTER_WEBHOOK_MAX_AGE_MS) does, as before.
 */
export function alertNewsTimeMs(body: string): number | undefined {
  let alert: unknown
  try {
    alert = JSON.parse(body)
  } catch {
    return undefined
  }
  if (typeof alert !== 'object' || alert === null) return undefined
  return newsTimeOfMs(alert as Record<string, unknown>)
}

/** alertNewsTimeMs of an alert already parsed (the lane's, read by AlertReader before it is posted). */
export function newsTimeOfMs(alert: { publishedAt?: unknown; ingestedAt?: unknown }): number | undefined {
  const { publishedAt, ingestedAt } = alert
  const times = [publishedAt, ingestedAt]
    .map((t) => (typeof t === 'string' ? Date.parse(t) : Number.NaN))
    .filter(Number.isFinite)
  return times.length > 0 ? Math.min(...times) : undefined
}

/** A partition's offset to commit: `offset` is the next one to read, as Kafka takes it. */
export type CommitPoint = { partition: number; offset: string }

/**
 * Where each partition's commit may stand. Deliveries finish out of order (one waits for its retry while
 * the alerts after it go), so a partition's point is its first unfinished delivery, or one past the last
 * started when all have finished: every alert below it was delivered, dead-lettered or expired. The first
 * offset a partition starts at is where its commit already stood (kafkajs fetched from there), so nothing
 * of it is due until its point moves past that. Offsets must be started in increasing order per partition,
 * as kafkajs hands them out; one already started (`isStarted`: kafkajs fetches a partition this member
 * keeps at a rebalance again from its commit) is not started twice. A partition given up is `release`d.
 * Pure: the lane commits what `due` gives and says so with `committed`.
 *
 * Only the unfinished deliveries are kept, by offset: a finished one is forgotten at once, wherever it
 * stands, and `started`, `finished` and the point cost the same however many finished behind an unfinished
 * one. Each finished delivery was kept (in a list scanned at every finish) until every one before it had
 * finished, so one that never finished (its dead letter refused for ever) had the lane's memory grow with
 * every alert after it and each finish cost a scan of them all, quadratic, on the event loop the alert
 * consumer shares. What one not finishing still costs is counted by `pastPoint`, which the lane bounds.
 */
export function createCommitPoints() {
  type Track = {
    /**
     * The unfinished deliveries, by offset, each with how many the partition had started before it. Kept in
     * the order started, which is the offsets' order: the first is the point.
     */
    open: Map<bigint, number>
    /** Deliveries started since the partition was taken. */
    started: number
    next: bigint
    committed: bigint
  }
  const tracks = new Map<number, Track>()
  const first = (t: Track) => t.open.entries().next().value
  const pointOf = (t: Track) => first(t)?.[0] ?? t.next
  return {
    started(partition: number, offset: string): void {
      const at = BigInt(offset)
      let t = tracks.get(partition)
      if (!t) {
        t = { open: new Map(), started: 0, next: at, committed: at }
        tracks.set(partition, t)
      }
      t.open.set(at, t.started++)
      t.next = at + 1n
    },
    finished(partition: number, offset: string): void {
      tracks.get(partition)?.open.delete(BigInt(offset))
    },
    /** Partitions whose point has moved past their last commit, with the offset to commit. */
    due(): CommitPoint[] {
      const out: CommitPoint[] = []
      for (const [partition, t] of tracks) {
        const point = pointOf(t)
        if (point > t.committed) out.push({ partition, offset: point.toString() })
      }
      return out
    },
    committed(partition: number, offset: string): void {
      const t = tracks.get(partition)
      if (t && BigInt(offset) > t.committed) t.committed = BigInt(offset)
    },
    /** True when `offset` of `partition` was started already (finished or not) since the partition was taken. */
    isStarted(partition: number, offset: string): boolean {
      const t = tracks.get(partition)
      return t !== undefined && BigInt(offset) < t.next
    },
    /**
     * Deliveries of `partition` started after its first unfinished one, finished or not: none of them can be
     * committed until that one finishes, so a restart (or the partition's next owner) would post them again.
     */
    pastPoint(partition: number): number {
      const t = tracks.get(partition)
      const head = t && first(t)
      return head ? t.started - head[1] - 1 : 0
    },
    /** The point of `partition`: its first unfinished delivery, or one past the last started. */
    point(partition: number): string | undefined {
      const t = tracks.get(partition)
      return t && pointOf(t).toString()
    },
    /** Forgets a partition given up; its unfinished deliveries (abandoned by the lane) are counted. */
    release(partition: number): number {
      const t = tracks.get(partition)
      tracks.delete(partition)
      return t?.open.size ?? 0
    },
    /** Deliveries started and not finished, over all partitions: all that the points keep. */
    unfinished(): number {
      let n = 0
      for (const t of tracks.values()) n += t.open.size
      return n
    },
  }
}
export type CommitPoints = ReturnType<typeof createCommitPoints>

/**
 * Signed webhook deliveries, with the desk topics as their outbox. Each desk with a webhook has a lane
 * of its own: a consumer group (`<groupId>.<desk>`) reading alerts.desk.<id>.v1, its own queue and its
 * own requests in flight, so a desk whose endpoint is slow or dead never delays another desk's webhooks
 * (one consumer for all desks waited on every desk's deliveries before fetching more). A lane reads on as
 * soon as a delivery is queued, and commits a partition's offset by hand (kafkajs's auto-commit is off)
 * only up to its first unfinished delivery: every alert below it was delivered or dead-lettered
 * (`webhook_failed`, with the desk record as origin). So:
 * - a delivery being retried never holds back the alerts after it in its partition: they are posted
 *   while it waits (a lane waiting for every delivery of its batch held the partition for the retries:
 *   kafkajs reads no further until an offset is resolved; minutes with Retry-After);
 * - a slow or dead webhook never blocks or delays the alerts on Kafka: the alert consumer does not wait
 *   for webhooks at all, it only produces to the desk topics;
 * - nothing is lost on a crash, a stop or a rebalance: delivery is at-least-once, and what was not
 *   committed is posted again by the partition's next owner (receivers deduplicate on
 *   x-tradepulse-alert-id, which is the alert id);
 * - memory is bounded: per desk, at most `queueMax` deliveries wait or run; when full, that desk's
 *   consumer stops reading (it waits, heartbeating) rather than dropping anything;
 * - a delivery that does not finish holds back no more than `uncommittedMax` alerts after it: at that
 *   many taken after it in its partition, the lane pauses that partition (kafkajs fetches it no more;
 *   Kafka holds its alerts) until it finishes, while its other partitions read on; a warning, health
 *   degraded and tradepulse_webhook_held_partitions say so. Before, the lane read on while its queue had
 *   room, and one delivery stuck for ever (its dead letter refused, NOT_ENOUGH_REPLICAS on the dlq) had
 *   every alert after it delivered but never committed: a restart posted them all again (up to the max
 *   age, 1 h);
 * - a rebalance is not held up by slow deliveries: a lane that hears of one commits what is finished and
 *   rejoins at once; once joined, it abandons the unfinished deliveries of the partitions taken from it
 *   (their new owners make them again) and goes on with those of the partitions it keeps, which are
 *   neither posted again nor skipped (kafkajs fetches them again from their commit: what was started
 *   already is passed over), their retries keeping their attempts and waits.
 * A lane's group that has no offsets yet takes those of the one group all desks shared before
 * (`<groupId>`), so an upgrade neither posts an hour of alerts again nor skips any.
 */
export function createWebhookDispatcher(deps: WebhookDispatcherDeps) {
  // A stop: `draining` at once (no record taken, no attempt started, waits cut short), `abort` once the
  // attempts in flight have had their time (requests dropped).
  const draining = new AbortController()
  const abort = new AbortController()
  let reportFailure: (err: Error) => void = () => {}
  const failed = new Promise<Error>((resolve) => {
    reportFailure = resolve
  })
  const lanes = deps.targets.map((t) => createLane(deps, t, abort.signal, draining.signal, reportFailure))
  let started = false
  let stopping: Promise<void> | undefined
  return {
    async start(): Promise<void> {
      // Not after a stop (asked while the worker was starting): it would read on, unstopped.
      if (started || stopping || lanes.length === 0) return
      started = true
      await deps.producer.connect()
      for (const lane of lanes) await lane.start()
      deps.log.info({ desks: deps.targets.map((t) => t.deskId) }, 'webhook dispatcher started')
    },
    stop(): Promise<void> {
      stopping ??= (async () => {
        const askedAt = performance.now()
        const deadlineMs = deps.stopDeadlineMs
        // No desk record taken from now on, no attempt started; the attempts in flight go on, for as long
        // as the deadline leaves (none without one). Each attempt cut short by a stop was made again after
        // the restart: a desk that had the first already was paged twice.
        draining.abort()
        const settled = Promise.all(lanes.map((l) => l.stopTaking()))
        if (deadlineMs !== undefined)
          await settledWithin(settled, Math.max(0, deadlineMs - stopReserveMs(deadlineMs)))
        // What is still running is abandoned, uncommitted: made again after the restart.
        abort.abort()
        const steps = stopSteps(
          deps.kafka,
          deps.log,
          deadlineMs === undefined ? undefined : askedAt + deadlineMs,
        )
        await Promise.all(lanes.map((l) => l.stop(steps)))
        await steps.run('disconnect producer', deps.producer.disconnect(), STOP_STEP_MAX_MS)
      })()
      return stopping
    },
    /**
     * Resolves with the error when a lane's dead letters were refused for a fault of the deployment for
     * deploymentFaultMs (see deploymentFailure): for the worker to stop on (its `fatal`, exit 69 with a
     * line naming the fault), where the lane would otherwise retry them for ever, its partition's
     * commit held and the alerts after it posted again at every restart. Never resolves otherwise.
     */
    failed,
    health: (async () => {
      const faults = lanes.flatMap((l) => {
        const crashed = l.crashed()
        const blocked = l.deadLettersBlocked()
        const failing = l.failing()
        return [
          ...(crashed ? [`webhook consumer of desk ${l.deskId} stopped: ${crashed}`] : []),
          ...(failing ? [`desk ${l.deskId} ${failing}`] : []),
          ...(blocked ? [`desk ${l.deskId} ${blocked}`] : []),
          ...l.pausedPartitions().map((held) => `desk ${l.deskId} ${held}`),
        ]
      })
      if (faults.length) return { status: 'degraded', ready: true, detail: faults.join('; ') }
      const queued = lanes.reduce((n, l) => n + l.queued(), 0)
      return {
        status: 'ok',
        ready: true,
        ...(queued > 0 ? { detail: `${queued} webhook deliveries queued` } : {}),
      }
    }) as HealthCheck,
  }
}

/** Why a batch stopped queuing its alerts; `err` (a rebalance heartbeat's) is thrown on to kafkajs. */
type GiveUp = { why: string; err?: unknown }

/**
 * A partition whose deliveries the lane has started since the group gave it the partition. Its unfinished
 * deliveries are abandoned (`abandon`: requests dropped, waits cut short, nothing of them committed) only
 * when the partition goes: a join that assigns it elsewhere or under a new member id, a crash, a stop. A
 * rebalance that leaves it here leaves them running (abandoned, they were posted again here at once, their
 * retries starting over).
 */
type Hold = { abandon: AbortController; released: boolean }

/** Longest a stop or a rebalance waits for the lane's last commit (a coordinator gone, kafkajs retrying). */
const FINAL_COMMIT_WAIT_MS = 5_000

/**
 * How often a lane that fetches nothing (its queue full, or partitions paused) asks Kafka for its desk
 * topic's high watermarks, for tradepulse_webhook_lag: the batches it is not fetching would bring them.
 */
export const LAG_REFRESH_MS = 5_000

/** Longest a stop waits for one of its steps on Kafka (a disconnect), within the deadline. */
const STOP_STEP_MAX_MS = 5_000
/** Longest a stop's step gone wrong waits to learn whether Kafka takes a connection at all. */
const KAFKA_PROBE_MS = 1_000

/**
 * A stop's last steps on Kafka (commit offsets, disconnect consumer, …), each waited for at most its cap
 * and never past `endAt` (performance.now() ms; none: the caps only), less what a look at Kafka takes. A
 * step that fails or is not done in time is left (it goes on) with an error line naming it and saying
 * whether Kafka was unreachable (a connection of its own tried once, KAFKA_PROBE_MS at most; once per
 * stop): a stop waiting on a Kafka gone away ran into the worker's deadline, whose line named neither the
 * step nor Kafka. Once Kafka was found unreachable, the steps after are started but not waited for.
 */
function stopSteps(kafka: Kafka, log: Logger, endAt: number | undefined) {
  let state: Promise<{ unreachable: boolean; words: string }> | undefined
  const lookAtKafka = () =>
    (state ??= (async () => {
      const admin = kafka.admin({ retry: { retries: 0 } })
      let timer: NodeJS.Timeout | undefined
      try {
        return await Promise.race([
          admin.connect().then(
            () => ({ unreachable: false, words: 'Kafka reachable' }),
            (err: unknown) => ({ unreachable: true, words: `Kafka unreachable: ${innermost(err)}` }),
          ),
          new Promise<{ unreachable: boolean; words: string }>((r) => {
            timer = setTimeout(
              () =>
                r({
                  unreachable: true,
                  words: `Kafka unreachable: no answer to a new connection within ${KAFKA_PROBE_MS} ms`,
                }),
              KAFKA_PROBE_MS,
            )
          }),
        ])
      } finally {
        clearTimeout(timer)
        void admin.disconnect().catch(() => {})
      }
    })())
  let unreachable = false
  return {
    /** `work` (step `step`), waited for as above; `desk` says whose lane it is. */
    async run(step: string, work: Promise<unknown>, capMs: number, desk?: string): Promise<void> {
      const left = endAt === undefined ? capMs : endAt - performance.now() - KAFKA_PROBE_MS
      const knownUnreachable = unreachable
      const ms = knownUnreachable ? 0 : Math.max(0, Math.min(capMs, left))
      let failure: unknown
      let failed = false
      const done = await settledWithin(
        work.catch((err: unknown) => {
          failed = true
          failure = err
        }),
        ms,
      )
      if (done && !failed) return
      const kafkaNow = await lookAtKafka()
      unreachable ||= kafkaNow.unreachable
      const whose = desk === undefined ? 'webhook dispatcher' : `desk ${desk}: webhook lane`
      log.error(
        { err: failure, step, ...(desk !== undefined ? { desk } : {}), waitedMs: Math.round(ms) },
        `${whose} stopping: ${step} ${failed ? `failed (${innermost(failure)})` : ms > 0 ? `not done within ${Math.round(ms)} ms` : knownUnreachable ? 'not waited for' : 'not waited for (no time left before the deadline)'}: ${kafkaNow.words}; left undone`,
      )
    },
  }
}
type StopSteps = ReturnType<typeof stopSteps>

/** An error's innermost message (kafkajs wraps the socket's own in retries and connection errors), cut to a line. */
function innermost(err: unknown): string {
  let e: unknown = err
  for (let i = 0; i < 8 && e instanceof Error && e.cause instanceof Error; i++) e = e.cause
  const text = e instanceof Error ? e.message : String(e)
  return cutForLog(text.replace(/\s+/g, ' '), 300)
}

/** `work`, waited for at most `ms`; false when it had not settled by then (it goes on). */
async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const settled = work.then(
    () => true,
    () => true,
  )
  const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))
  try {
    return await Promise.race([settled, late])
  } finally {
    clearTimeout(timer)
  }
}

/** One desk's deliveries: its consumer, queue and requests in flight. */
function createLane(
  deps: WebhookDispatcherDeps,
  target: DeskWebhookTarget & { topic: string },
  stopSignal: AbortSignal,
  drainSignal: AbortSignal,
  reportFailure: (err: Error) => void,
) {
  const { options: o, metrics } = deps
  const log = deps.log.child({ desk: target.deskId })
  // The URL as logs and dead letters show it, and what hides it in an error's text (fetch's own messages
  // may quote it whole, as written or as parsed).
  const shownUrl = webhookUrlForLogs(target.url)
  const hideUrl = (text: string) => {
    let out = text.replaceAll(target.url, shownUrl)
    if (URL.canParse(target.url)) out = out.replaceAll(new URL(target.url).href, shownUrl)
    return out
  }
  const doFetch = deps.fetch ?? fetch
  const now = deps.now ?? Date.now
  const groupId = `${deps.groupId}.${target.deskId}`
  // How often a batch waiting on deliveries checks on the group; kafkajs sends a heartbeat only once its
  // interval has passed, however often it is asked.
  const tickMs = Math.min(1_000, deps.consumer.heartbeatIntervalMs)
  let consumer: Consumer | undefined
  let running = false
  let crashed: string | undefined
  // Every partition's commit point, and the partitions held, across rebalances that leave them here.
  const points = createCommitPoints()
  const holds = new Map<number, Hold>()
  // The member id of the last join: a join under another (the coordinator forgot this member, a restart
  // after a crash) may follow generations in which other members owned any of our partitions.
  let memberId: string | undefined
  // Joins so far: a batch fetched before the last one queues nothing after it.
  let joins = 0
  // From hearing of a rebalance until kafkajs has joined again: batches stop before queuing anything (its
  // partition may be about to go), and finished deliveries wait for the join to be committed (a commit
  // now, retried by kafkajs, could land after the join on a partition another member owns by then).
  let rejoining = false
  // Every delivery not yet settled, whatever its partition (a stop waits a moment for them).
  const inFlight = new Set<Promise<void>>()
  // One commit at a time; a request meanwhile runs one more after it, with the points as they are then.
  let committing: Promise<void> | undefined
  let commitAgain = false
  let commitFailures = 0
  let commitRetry: NodeJS.Timeout | undefined
  // Failed deliveries whose dead letter cannot be written yet, and the last error's reason (faultReason):
  // health is degraded meanwhile.
  let deadLettersWaiting = 0
  let deadLetterError = ''
  // Dead letters refused for a fault of the deployment (deploymentFailure): reported as the worker's
  // failure once refused for deploymentFaultMs with no dead letter written meanwhile.
  const deploymentFaultMs = deps.deploymentFaultMs ?? CREDENTIALS_REFUSED_MS
  let deploymentFaultTimer: NodeJS.Timeout | undefined
  const deploymentFaultCleared = () => {
    clearTimeout(deploymentFaultTimer)
    deploymentFaultTimer = undefined
  }
  const deploymentFaultHeld = (err: unknown) => {
    if (deploymentFaultTimer || !running || !deploymentFailure(err, deploymentFaultMs)) return
    deploymentFaultTimer = setTimeout(() => {
      const failure = deploymentFailure(err, deploymentFaultMs)!
      log.error({ err }, `desk ${target.deskId}: webhook dead letters refused: ${failure.message}`)
      reportFailure(failure)
    }, deploymentFaultMs)
    deploymentFaultTimer.unref()
  }

  // Deliveries waiting for a retry after a retriable failure, in the order of their first failure (the
  // first is the oldest), each with its alert id, when it first failed, its failed attempts, its last
  // failure, and how many of the desk's deliveries had succeeded by its first failure (`deliveredAt`). The
  // first failed attempt since the last delivered one and the last failure of the desk: health is degraded
  // once the desk has failed for failingDegradedMs with a delivery waiting, or once its oldest alert waiting
  // has (one the receiver keeps refusing while the others are delivered: a payload it chokes on).
  type Retrying = {
    alertId: string
    since: number
    attempts: number
    last: { detail: string; at: number }
    deliveredAt: number
    warned: boolean
  }
  const retrying = new Map<InRecord, Retrying>()
  let failingSince: number | undefined
  let lastFailure: { detail: string; at: number } | undefined
  let failingWarned = false
  // The desk's deliveries so far: an alert that failed again after one of them fails on its own.
  let delivered = 0
  const failingDegradedMs = o.failingDegradedMs ?? WEBHOOK_FAILING_DEGRADED_MS
  // The waits of deliveries on our own backoff (not a receiver's Retry-After) whose failures look like the
  // desk's outage (no delivery of the desk between its first failure and its last): cut short, oldest alert
  // first, once an attempt is delivered (the receiver is back), so a desk's backlog goes out at once
  // instead of over the next backoff (up to ALERTER_WEBHOOK_BACKOFF_MAX_MS). One that fails again after a
  // delivery fails on its own (a payload the receiver refuses): it waits its whole backoff, or the
  // receiver would be sent it again after every other delivery.
  const backoffWaits = new Map<InRecord, () => void>()
  /** The desk failing for failingDegradedMs since its last delivery, else undefined. */
  const deskFailing = (): string | undefined => {
    const oldest = retrying.entries().next().value
    if (!oldest || failingSince === undefined || !lastFailure) return undefined
    const forMs = now() - failingSince
    if (forMs < failingDegradedMs) return undefined
    const [rec, { since }] = oldest
    return `webhook failing for ${Math.round(forMs / 1_000)} s: ${retrying.size} ${retrying.size === 1 ? 'alert' : 'alerts'} waiting for a retry, the oldest (partition ${rec.partition} offset ${rec.offset}) since ${new Date(since).toISOString()}; last failure ${lastFailure.detail} at ${new Date(lastFailure.at).toISOString()}; retried until ALERTER_WEBHOOK_MAX_AGE_MS (${o.maxAgeMs} ms), then dead-lettered`
  }
  /** The desk's oldest alert waiting for a retry, failing for failingDegradedMs, else undefined. */
  const alertFailing = (): { entry: Retrying; said: string } | undefined => {
    const oldest = retrying.entries().next().value
    if (!oldest) return undefined
    const [rec, entry] = oldest
    const forMs = now() - entry.since
    if (forMs < failingDegradedMs) return undefined
    return {
      entry,
      said: `webhook failing for alert ${entry.alertId} (partition ${rec.partition} offset ${rec.offset}) for ${Math.round(forMs / 1_000)} s, while the desk's other alerts are delivered: ${entry.attempts} attempts, last failure ${entry.last.detail} at ${new Date(entry.last.at).toISOString()}; retried on its backoff until ALERTER_WEBHOOK_MAX_AGE_MS (${o.maxAgeMs} ms), then dead-lettered; partition ${rec.partition} is not committed past it meanwhile`,
    }
  }
  /** What health says of this desk's deliveries failing for failingDegradedMs, else undefined. */
  const failing = (): string | undefined => deskFailing() ?? alertFailing()?.said
  /** A failed attempt of `rec` that is retried: the desk is failing (warned of once past failingDegradedMs). */
  const failedAttempt = (rec: InRecord, alertId: string, detail: string): Retrying => {
    const at = now()
    const failure = { detail, at }
    lastFailure = failure
    failingSince ??= at
    let entry = retrying.get(rec)
    if (!entry) {
      entry = { alertId, since: at, attempts: 0, last: failure, deliveredAt: delivered, warned: false }
      retrying.set(rec, entry)
    }
    entry.attempts++
    entry.last = failure
    if (!failingWarned) {
      const said = deskFailing()
      if (said) {
        failingWarned = true
        log.warn(
          { failingSinceMs: failingSince, retrying: retrying.size, lastFailure: detail },
          `desk ${target.deskId}: ${said}; the desk topic keeps every alert`,
        )
        return entry
      }
    }
    // One alert failing on its own: warned of once.
    const stuck = failingWarned ? undefined : alertFailing()
    if (stuck && !stuck.entry.warned) {
      stuck.entry.warned = true
      log.warn(
        {
          alertId: stuck.entry.alertId,
          attempts: stuck.entry.attempts,
          lastFailure: stuck.entry.last.detail,
        },
        `desk ${target.deskId}: ${stuck.said}; the desk topic keeps every alert`,
      )
    }
    return entry
  }
  /** An attempt delivered: the desk is not failing; the deliveries waiting on our backoff for it go now. */
  const deliveredAttempt = (entry: Retrying | undefined) => {
    delivered++
    if (entry?.warned)
      log.info(
        { alertId: entry.alertId, attempts: entry.attempts + 1 },
        `desk ${target.deskId}: alert ${entry.alertId} delivered after ${entry.attempts} failed attempt(s) over ${Math.round((now() - entry.since) / 1_000)} s`,
      )
    if (failingSince !== undefined && failingWarned) {
      log.info(
        { failedForMs: now() - failingSince, retrying: retrying.size, woken: backoffWaits.size },
        `desk ${target.deskId}: webhook delivering again after ${Math.round((now() - failingSince) / 1_000)} s of failures; ${backoffWaits.size} alert(s) waiting for a retry are posted now`,
      )
    }
    failingSince = undefined
    failingWarned = false
    if (backoffWaits.size === 0) return
    const waits = [...backoffWaits].sort(
      ([a], [b]) =>
        a.timestamp - b.timestamp || a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)),
    )
    for (const [, wake] of waits) wake()
  }

  // Bounded queue (waiting or in flight) and a cap on requests in flight.
  let queued = 0
  let active = 0
  // Partitions paused (kafkajs fetches them no more), each with the resume kafkajs gave: uncommittedMax
  // alerts taken after a delivery not finished yet. Resumed once it finishes, or when the partition goes.
  const uncommittedMax = Math.max(1, o.uncommittedMax ?? UNCOMMITTED_PER_QUEUED * o.queueMax)
  const paused = new Map<number, () => void>()
  // Room waiters are all woken to check again: one that gave up (a rebalance) must not swallow the wake.
  const roomWaiters: (() => void)[] = []
  const slotWaiters: (() => void)[] = []
  const wakeOne = (list: (() => void)[]) => list.shift()?.()
  // A stop starts no attempt: the deliveries waiting for a request slot give up at once.
  drainSignal.addEventListener('abort', () => {
    for (const w of slotWaiters.splice(0)) w()
  })
  // Waits between attempts (and dead letters' retries) are cut short by a stop, as their attempts by an abort.
  const waitSignal = (signal: AbortSignal) => AbortSignal.any([signal, drainSignal])
  const setQueued = (n: number) => {
    queued = n
    metrics.webhookQueue.set({ desk: target.deskId }, n)
  }

  // tradepulse_webhook_lag: per partition held, its high watermark as last known (a batch's, or Kafka's
  // answer to refreshLag) and the next offset the lane takes (undefined until a batch or the group's
  // commit says). The queue gauge stops at queueMax: a lane whose endpoint hangs stops reading with its
  // queue full, and the alerts behind it wait on Kafka, seen only here.
  const lag = new Map<number, { high: bigint; next?: bigint }>()
  // The partitions the last join gave this member.
  let assigned: ReadonlySet<number> = new Set()
  const showLag = (partition: number) => {
    const l = lag.get(partition)
    if (l?.next === undefined) return
    const behind = l.high > l.next ? Number(l.high - l.next) : 0
    metrics.webhookLag.set({ desk: target.deskId, partition: String(partition) }, behind)
  }
  const lagOf = (partition: number) => {
    let l = lag.get(partition)
    if (!l) {
      l = { high: 0n }
      lag.set(partition, l)
    }
    return l
  }
  /** A batch (or Kafka) says `partition` ends at `high`: the high watermark only grows. */
  const highIs = (partition: number, high: string | undefined) => {
    if (typeof high !== 'string' || !/^\d+$/.test(high)) return
    const l = lagOf(partition)
    const h = BigInt(high)
    if (h > l.high) l.high = h
  }
  /** The lane takes `next` of `partition` next (it waits on it, or took the one before). */
  const nextIs = (partition: number, next: bigint) => {
    lagOf(partition).next = next
    showLag(partition)
  }
  const forgetLag = (partition: number) => {
    lag.delete(partition)
    metrics.webhookLag.remove({ desk: target.deskId, partition: String(partition) })
  }
  // Batches waiting for room in the queue (several partitions' batches may run at once).
  let waitingForRoom = 0
  const setWaiting = (delta: number) => {
    waitingForRoom += delta
    metrics.webhookWaitingForRoom.set({ desk: target.deskId }, waitingForRoom > 0 ? 1 : 0)
  }
  let lagAdmin: Admin | undefined
  let lagAdminConnected: Promise<void> | undefined
  let lagRefreshing = false
  let lagRefreshedAt = Number.NEGATIVE_INFINITY
  let lagTimer: NodeJS.Timeout | undefined
  /**
   * Asks Kafka for the high watermarks of the partitions held (and, for one no batch has come from yet,
   * the group's commit, where the lane starts): a lane waiting for room, or with partitions paused, fetches
   * nothing, and a batch's high watermark is that of when it was fetched (a hanging endpoint fills the
   * queue within the first batches of a burst). At most twice per LAG_REFRESH_MS; a failure leaves the
   * last known values (logged at debug).
   */
  async function refreshLag(): Promise<void> {
    // The process's monotonic clock, not the lane's `now` (the alerts' clock, which a test may hold still).
    if (lagRefreshing || !running || performance.now() - lagRefreshedAt < LAG_REFRESH_MS / 2) return
    lagRefreshing = true
    lagRefreshedAt = performance.now()
    try {
      lagAdmin ??= deps.kafka.admin()
      lagAdminConnected ??= lagAdmin.connect()
      await lagAdminConnected
      const ends = await lagAdmin.fetchTopicOffsets(target.topic)
      const unknown = [...assigned].filter((partition) => lag.get(partition)?.next === undefined)
      const commits =
        unknown.length === 0
          ? []
          : ((await lagAdmin.fetchOffsets({ groupId, topics: [target.topic] }))[0]?.partitions ?? [])
      for (const e of ends) {
        if (!assigned.has(e.partition)) continue
        highIs(e.partition, e.high)
        const l = lagOf(e.partition)
        if (l.next === undefined) {
          const commit = commits.find((c) => c.partition === e.partition)
          l.next = commit && Number(commit.offset) >= 0 ? BigInt(commit.offset) : BigInt(e.low)
        }
        showLag(e.partition)
      }
    } catch (err) {
      lagAdminConnected = undefined
      log.debug({ err }, 'webhook lag not refreshed; the last known values stand')
    } finally {
      lagRefreshing = false
    }
  }

  // Alerts not posted for their news' age since one was last posted: the first of such a run is warned of,
  // the rest (a backlog of hours is thousands) at debug; the next one posted says how many there were.
  let staleRun = 0
  const staleNews = (alertId: string, newsMs: number, maxNewsAgeMs: number) => {
    staleRun++
    const newsAt = new Date(newsMs).toISOString()
    const newsAgeMs = now() - newsMs
    log[staleRun === 1 ? 'warn' : 'debug'](
      { alertId, newsAt, newsAgeMs, maxNewsAgeMs },
      `desk ${target.deskId}: alert ${alertId} not posted: its news (published or entered ${newsAt}, ${Math.round(newsAgeMs / 60_000)} min ago) is older than ALERTER_WEBHOOK_MAX_NEWS_AGE_MS (${maxNewsAgeMs} ms): a backlog caught up after an outage; counted (tradepulse_webhook_deliveries_total result stale), the desk topic keeps it; alerts after it about news as old are not posted either (logged at debug)`,
    )
  }
  const freshNews = () => {
    if (staleRun === 0) return
    log.info(
      { notPosted: staleRun },
      `desk ${target.deskId}: posting again: ${staleRun} alert(s) about news older than ALERTER_WEBHOOK_MAX_NEWS_AGE_MS were not posted before this one`,
    )
    staleRun = 0
  }

  /** Waits `ms`, or less: `signal` aborted, or (`wakeFor`) the lane cuts the wait of that delivery short. */
  const sleep = (ms: number, signal: AbortSignal, wakeFor?: InRecord) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve()
      const t = setTimeout(done, ms)
      function done() {
        clearTimeout(t)
        signal.removeEventListener('abort', done)
        if (wakeFor) backoffWaits.delete(wakeFor)
        resolve()
      }
      signal.addEventListener('abort', done, { once: true })
      if (wakeFor) backoffWaits.set(wakeFor, done)
    })

  async function attempt(
    body: string,
    alertId: string,
    signal: AbortSignal,
    traceparent?: string,
  ): Promise<Attempt> {
    try {
      // One signal for the request and its body: the timeout covers reading the answer too.
      const res = await doFetch(target.url, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'tradepulse-alerter',
          [SIGNATURE_HEADER]: signWebhook(target.secret, body, now()),
          [ALERT_ID_HEADER]: alertId,
          ...(traceparent ? { traceparent } : {}),
        },
        signal: AbortSignal.any([signal, AbortSignal.timeout(o.timeoutMs)]),
        // A redirect is not followed: fetch would turn the POST into a body-less GET on 301-303 (and
        // count the landing page's 200 as delivered), or send the signed alert to another host on
        // 307/308. It is a permanent failure, dead-lettered with where it pointed.
        redirect: 'manual',
      })
      await drainBody(res, RESPONSE_BODY_MAX_BYTES)
      metrics.webhookAttempts.inc({ desk: target.deskId, outcome: `${Math.floor(res.status / 100)}xx` })
      if (res.ok) return { ok: true }
      const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null
      // Only these two ask us to come back later; the header on any other answer is not ours to honour.
      const retryAfterMs =
        res.status === 429 || res.status === 503
          ? parseRetryAfter(res.headers.get('retry-after'), now())
          : undefined
      return {
        ok: false,
        permanent: !isRetriableStatus(res.status),
        // Where it pointed shown as the URL is (origin only): a receiver moved often keeps the token.
        detail: `HTTP ${res.status}${location !== null ? ` (a redirect to ${URL.canParse(location, target.url) ? webhookUrlForLogs(new URL(location, target.url).href) : 'an unreadable location'}, not followed: fix the desk's webhook url)` : ''}`,
        outcome: `${res.status}`,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      }
    } catch (err) {
      const e = err as Error
      const isTimeout = e.name === 'TimeoutError'
      metrics.webhookAttempts.inc({ desk: target.deskId, outcome: isTimeout ? 'timeout' : 'network' })
      return {
        ok: false,
        permanent: false,
        detail: isTimeout
          ? `no answer within ${o.timeoutMs} ms`
          : hideUrl(`${e.message}${e.cause ? `: ${(e.cause as Error).message}` : ''}`),
        outcome: isTimeout ? 'timeout' : 'network',
      }
    }
  }

  /** Delivers one alert, or dead-letters it; 'aborted' (uncommitted, delivered again) on a stop or a rebalance. */
  async function deliver(rec: InRecord, signal: AbortSignal): Promise<Result> {
    // Only an alert is signed and posted: a record that is no Alert (a tombstone, no JSON, JSON of another
    // shape), or whose ce_id (what receivers deduplicate on, x-tradepulse-alert-id) is missing or names
    // another alert, is dead-lettered instead (refused). Before, whatever bytes a desk topic held were
    // posted signed, with an empty alert id.
    const parsed = parseJsonRecord(AlertReader, rec.value)
    const alertId = rec.headers.ce_id ?? ''
    const refusal = !parsed.ok
      ? parsed
      : !alertId
        ? {
            reason: 'schema_invalid' as const,
            message: 'ce_id header missing or empty: no alert id to post it under',
          }
        : alertId !== parsed.value.id
          ? {
              reason: 'schema_invalid' as const,
              message: `ce_id header (${cutForLog(alertId, 200)}) is not the alert's id (${cutForLog(parsed.value.id, 200)})`,
            }
          : undefined
    if (refusal || !parsed.ok) {
      const { reason, message } = refusal ?? { reason: 'schema_invalid' as const, message: 'not an alert' }
      log.error(
        {
          desk: target.deskId,
          partition: rec.partition,
          offset: rec.offset,
          reason,
          message: cutForLog(message, 1_000),
        },
        `desk ${target.deskId}: record at partition ${rec.partition} offset ${rec.offset} of ${rec.topic} is not an alert to post (${reason}): dead-lettered to ${deps.dlqTopic}, not posted`,
      )
      const letter = deadLetterRecord(
        deps.dlqTopic,
        'alerter',
        rec,
        reason,
        `desk ${target.deskId}: not posted: ${message}`,
        new Date(now()),
      )
      return (await writeDeadLetter(letter, reason, alertId, signal, 'invalid')) ? 'done' : 'aborted'
    }
    const body = rec.value?.toString('utf8') ?? ''
    let last: Attempt = { ok: false, permanent: false, detail: 'not attempted', outcome: '' }
    let attempts = 0
    let notRetried = ''
    // The alert's age counts from its record's timestamp, the broker's (the desk topics are LogAppendTime:
    // with CreateTime it was the writing alerter's clock, and one 2 h behind had its fresh alerts expired
    // here), or from an operator's replay of it (tradepulse dlq replay, tp-dlq-replayed-at): a deliberate
    // resend, which on a desk topic still on CreateTime keeps the alert's original timestamp. Counted from
    // that, a webhook_failed letter replayed an hour after its alert was dropped as expired, unposted.
    const replayedAt = replayedAtMs(rec.headers)
    const sinceMs = Math.max(rec.timestamp, replayedAt ?? Number.NEGATIVE_INFINITY)
    // The news' age counts from when the market could first know it (alertNewsTimeMs): a backlog caught up
    // after an outage of the scorer or the alerter is written now, each record fresh, about news hours old,
    // and was posted as if it had just broken. An operator's replay is a deliberate resend: posted.
    const maxNewsAgeMs = o.maxNewsAgeMs ?? 0
    const newsMs = maxNewsAgeMs > 0 && replayedAt === undefined ? newsTimeOfMs(parsed.value) : undefined
    // 0: no limit on attempts; a retriable failure is retried until the alert is too old (below).
    const maxAttempts = o.maxAttempts > 0 ? o.maxAttempts : Number.POSITIVE_INFINITY
    let firstAttemptAt: number | undefined
    try {
      for (let i = 0; i < maxAttempts; i++) {
        // A stop lets the attempt in flight finish but starts none: this one is made again after the restart.
        if (signal.aborted || drainSignal.aborted) return 'aborted'
        while (active >= o.concurrency && !drainSignal.aborted)
          await new Promise<void>((r) => slotWaiters.push(r))
        if (signal.aborted || drainSignal.aborted) return 'aborted'
        active++
        try {
          // Too old by its first turn (a backlog, a long outage of the endpoint): not posted.
          if (i === 0 && now() - sinceMs > o.maxAgeMs) {
            metrics.webhooks.inc({ desk: target.deskId, result: 'expired' })
            return 'done'
          }
          // About news too old by its first turn: not posted either (the desk topic keeps it).
          if (i === 0 && newsMs !== undefined && now() - newsMs > maxNewsAgeMs) {
            metrics.webhooks.inc({ desk: target.deskId, result: 'stale' })
            staleNews(alertId, newsMs, maxNewsAgeMs)
            return 'done'
          }
          // A retry that waited for a request slot past the alert's max age is not made: given up.
          if (i > 0 && now() - sinceMs > o.maxAgeMs) {
            notRetried = `; not retried: the alert is older than its max age of ${o.maxAgeMs} ms (ALERTER_WEBHOOK_MAX_AGE_MS) by its next attempt's turn`
            break
          }
          attempts++
          firstAttemptAt ??= now()
          last = await attempt(body, alertId, signal, rec.headers.traceparent)
        } finally {
          active--
          wakeOne(slotWaiters)
        }
        if (last.ok) {
          metrics.webhooks.inc({ desk: target.deskId, result: 'delivered' })
          freshNews()
          deliveredAttempt(retrying.get(rec))
          return 'done'
        }
        if (signal.aborted) return 'aborted'
        if (last.permanent) break
        const failed = failedAttempt(rec, alertId, last.detail)
        if (i + 1 >= maxAttempts) {
          notRetried = `; not retried: ALERTER_WEBHOOK_MAX_ATTEMPTS (${o.maxAttempts}) reached`
          break
        }
        // Stopping: not retried here (made again after the restart); a failure for good is dead-lettered.
        if (drainSignal.aborted) return 'aborted'
        const delayMs = nextAttemptDelayMs(
          backoffDelay(i, o.backoffBaseMs, o.backoffMaxMs),
          last.retryAfterMs,
          o.retryAfterMaxMs,
        )
        // An attempt past the alert's max age would be refused at its first turn: not made.
        if (now() + delayMs - sinceMs > o.maxAgeMs) {
          const asked = last.retryAfterMs !== undefined ? ', as Retry-After asked' : ''
          notRetried = `; not retried: the next attempt (in ${delayMs} ms${asked}) would be past the alert's max age of ${o.maxAgeMs} ms (ALERTER_WEBHOOK_MAX_AGE_MS)`
          break
        }
        // Nor one about news past the bound by then.
        if (newsMs !== undefined && now() + delayMs - newsMs > maxNewsAgeMs) {
          const asked = last.retryAfterMs !== undefined ? ', as Retry-After asked' : ''
          notRetried = `; not retried: the next attempt (in ${delayMs} ms${asked}) would be about news (of ${new Date(newsMs).toISOString()}) older than ${maxNewsAgeMs} ms (ALERTER_WEBHOOK_MAX_NEWS_AGE_MS)`
          break
        }
        // A wait the receiver asked for (Retry-After) is kept; one on our own backoff is cut short once
        // another of the desk's alerts is delivered, unless one was since this alert first failed (it
        // fails on its own, not for the desk's outage: at most one attempt more than its backoff gives).
        const wakeable = last.retryAfterMs === undefined && failed.deliveredAt === delivered
        await sleep(delayMs, waitSignal(signal), wakeable ? rec : undefined)
      }
    } finally {
      retrying.delete(rec)
      backoffWaits.delete(rec)
    }
    if (signal.aborted) return 'aborted'
    const overMs = firstAttemptAt === undefined ? 0 : now() - firstAttemptAt
    // How long it was tried: given up as too old, an endpoint down for that long.
    const over = attempts > 1 ? `; ${attempts} attempts over ${Math.round(overMs / 1_000)} s` : ''
    const message = `desk ${target.deskId}: POST ${shownUrl} failed after ${attempts} attempt(s): ${last.ok ? '' : last.detail}${notRetried}${over}`
    log.warn({ alertId, attempts, overMs }, message)
    const letter = deadLetterRecord(deps.dlqTopic, 'alerter', rec, 'webhook_failed', message, new Date(now()))
    return (await writeDeadLetter(letter, 'webhook_failed', alertId, signal)) ? 'done' : 'aborted'
  }

  /**
   * Writes a dead letter, retrying with backoff until it is written or the delivery is abandoned (a stop, a
   * rebalance: then it is not committed and is made again). Giving up at the first failure left the
   * delivery unfinished for good: alerts already delivered after it were POSTed again and again (kafkajs
   * fetched them again) while health said ok. Two refusals no retry mends end the retries:
   * - Kafka refusing the letter itself (recordRefusal: too large for the dlq topic's max.message.bytes, an
   *   invalid record): the delivery is done without it (logged, counted as dlq_refused), as the batch
   *   runner skips a record whose dead letter is refused; retried, it held its partition's commit for
   *   ever and every restart posted the alerts after it again.
   * - a fault of the deployment (deploymentFailure: this host's clock ahead of Kafka's, refused
   *   credentials, TLS failing): retried for deploymentFaultMs, then reported through `failed` for the
   *   worker to stop (exit 69 naming it); it refuses every letter alike, and was retried for ever.
   * Any other fault (NOT_ENOUGH_REPLICAS, a leader being elected, brokers unreachable) is retried for as long
   * as it lasts, as the batch runner waits out the same faults on the alerts' own dead letters: giving the
   * letter up would lose the only record that the desk never got the alert, and failing the worker would
   * mend nothing (a restart meets the same cluster) while posting again, at every restart, the alerts taken
   * after it. Meanwhile health is degraded (deadLettersBlocked) and its partition is paused once
   * uncommittedMax alerts were taken after it, so the wait costs neither memory nor more alerts posted
   * again; a stop or a rebalance abandons it as usual. (A delivery left unfinished by a bug, "webhook
   * delivery failed unexpectedly", pauses its partition the same way, until a restart makes it again.)
   */
  async function writeDeadLetter(
    letter: OutRecord,
    /** The letter's reason, for tradepulse_dlq_total. */
    reason: DeadLetterReason,
    alertId: string,
    signal: AbortSignal,
    /** The delivery's result once written: failed (its webhook), invalid (no alert to post). */
    result: 'failed' | 'invalid' = 'failed',
  ): Promise<boolean> {
    const what = result === 'invalid' ? 'a record that is no alert' : 'a failed webhook'
    let failures = 0
    try {
      for (;;) {
        if (signal.aborted) return false
        try {
          await produceAll(deps.producer, [letter])
          deploymentFaultCleared()
          metrics.webhooks.inc({ desk: target.deskId, result })
          deps.dlqTotal.inc({ reason })
          if (failures > 0) log.info({ alertId, failures }, 'webhook dead letter written after failures')
          return true
        } catch (err) {
          const refusal = recordRefusal(err)
          if (refusal) {
            log.error(
              { err, alertId, refusal, topic: deps.dlqTopic },
              `desk ${target.deskId}: Kafka refused the dead letter of ${what} (${refusal}); the delivery is given up without it`,
            )
            metrics.webhooks.inc({ desk: target.deskId, result: 'dlq_refused' })
            return true
          }
          if (failures === 0) deadLettersWaiting++
          failures++
          deploymentFaultHeld(err)
          // A short reason for the health body (the error whole is in the warning below).
          deadLetterError = faultReason(err)
          // One warning per delivery; its retries (one per backoff, for as long as Kafka refuses) at debug.
          log[failures === 1 ? 'warn' : 'debug'](
            { err, alertId, failures },
            `could not dead-letter ${what}; retrying the dead letter`,
          )
          // Stopping: left unfinished, made again after the restart.
          if (drainSignal.aborted) return false
          await sleep(backoffDelay(failures - 1, o.backoffBaseMs, o.backoffMaxMs), waitSignal(signal))
        }
      }
    } finally {
      if (failures > 0) deadLettersWaiting--
    }
  }

  /** Why this batch (fetched after join number `joinedAt`) should stop queuing, if it should. */
  function giveUpReason(p: EachBatchPayload, joinedAt: number): GiveUp | undefined {
    if (!running || !p.isRunning()) return { why: 'stopping' }
    if (p.isStale()) return { why: 'sought back' }
    if (rejoining || joinedAt !== joins) return { why: 'rebalance' }
    return undefined
  }

  /**
   * Waits for `work` (room in the queue), heartbeating meanwhile so the group keeps our partitions; gives
   * up (saying why) as soon as the partition should go: a heartbeat answering that the group is rebalancing,
   * a seek, the consumer stopping. Waiting on through a rebalance held the whole group up until the
   * coordinator dropped this member at its rebalance timeout.
   */
  async function waitHeartbeating(
    work: Promise<unknown>,
    p: EachBatchPayload,
    joinedAt: number,
  ): Promise<GiveUp | undefined> {
    // Settled either way ends the wait, as it always did: a rejection is not this wait's to report.
    const done = work.then(
      () => {},
      () => {},
    )
    return heartbeatUntilSettled(done, tickMs, async (): Promise<GiveUp | undefined> => {
      const reason = giveUpReason(p, joinedAt)
      if (reason) return reason
      try {
        await p.heartbeat()
      } catch (err) {
        // Anything else (a lost connection) is for the next heartbeat to tell.
        if (kafkaErrorType(err, REJOIN_ERRORS) === undefined) return undefined
        rejoining = true
        return { why: 'rebalance', err }
      }
      return undefined
    })
  }

  /** Commits the points that moved. */
  async function commitPoints(): Promise<void> {
    const due = points.due().map((d) => ({ ...d, hold: holds.get(d.partition) }))
    if (due.length === 0 || !consumer) return
    await consumer.commitOffsets(
      due.map(({ partition, offset }) => ({ topic: target.topic, partition, offset })),
    )
    // Not for a partition given up meanwhile (taken again since, it has a new point).
    for (const d of due) if (holds.get(d.partition) === d.hold) points.committed(d.partition, d.offset)
  }

  /**
   * Commits the points of the partitions held, one commit at a time; a failure is logged and tried again
   * shortly. Every commit is safe whenever it lands: below a point every alert was delivered or
   * dead-lettered, so one landing late (after a rebalance, over the new owner's) can only have alerts
   * posted again, never skipped.
   */
  function requestCommit(): Promise<void> {
    if (committing) {
      commitAgain = true
      return committing
    }
    committing = (async () => {
      try {
        do {
          commitAgain = false
          try {
            await commitPoints()
            commitFailures = 0
          } catch (err) {
            commitFailures++
            log[commitFailures === 1 ? 'warn' : 'debug'](
              { err, failures: commitFailures },
              'webhook offsets not committed yet; retrying',
            )
            // Tried again shortly; while rejoining, by the join.
            clearTimeout(commitRetry)
            if (running && !rejoining) commitRetry = setTimeout(() => void requestCommit(), tickMs)
          }
        } while (commitAgain && running)
      } finally {
        committing = undefined
      }
    })()
    return committing
  }

  /**
   * Gives `partitions` up: their unfinished deliveries are abandoned (requests dropped, waits cut short)
   * and their points forgotten, so nothing more of them is committed here; their owner fetches them again
   * from their commit and makes those deliveries again.
   */
  function release(partitions: readonly number[], why: string): void {
    let abandoned = 0
    for (const partition of partitions) {
      // kafkajs keeps a pause across joins: one left on a partition given up would never be read again
      // here if the group gave it back.
      resumePartition(partition)
      const hold = holds.get(partition)
      if (!hold) continue
      holds.delete(partition)
      hold.released = true
      hold.abandon.abort()
      abandoned += points.release(partition)
    }
    if (abandoned > 0 && why !== 'stopping') {
      log.info(
        { why, partitions, abandoned },
        'webhook deliveries abandoned; these partitions are fetched again from their committed offsets and their owners make them again',
      )
    }
  }

  /**
   * Pauses `partition` (kafkajs fetches it no more; the alerts wait on Kafka, uncommitted): uncommittedMax
   * alerts were taken after its first unfinished delivery.
   */
  function pausePartition(p: EachBatchPayload, partition: number): void {
    if (paused.has(partition)) return
    paused.set(partition, p.pause())
    metrics.webhookHeld.set({ desk: target.deskId }, paused.size)
    const offset = points.point(partition)
    log.warn(
      {
        partition,
        offset,
        taken: points.pastPoint(partition),
        uncommittedMax,
        ...(deadLettersWaiting > 0 ? { deadLettersWaiting, deadLetterError } : {}),
      },
      `desk ${target.deskId}: webhook lane reads no more of partition ${partition}: ${uncommittedMax} alerts taken after its delivery at offset ${offset}, which has not finished (its webhook retries, or its dead letter cannot be written); read again once it finishes`,
    )
  }

  /** Reads `partition` again if it was paused: forced (it goes), or once what held it has finished. */
  function resumePartition(partition: number, finishing = false): void {
    const resume = paused.get(partition)
    if (!resume || (finishing && points.pastPoint(partition) >= uncommittedMax)) return
    paused.delete(partition)
    resume()
    metrics.webhookHeld.set({ desk: target.deskId }, paused.size)
    if (finishing)
      log.info({ partition }, `desk ${target.deskId}: webhook lane reads partition ${partition} again`)
  }

  /** Queues the delivery of `rec`; its finishing moves its partition's commit point. */
  function startDelivery(rec: InRecord): void {
    setQueued(queued + 1)
    let hold = holds.get(rec.partition)
    if (!hold) {
      hold = { abandon: new AbortController(), released: false }
      holds.set(rec.partition, hold)
    }
    const held = hold
    points.started(rec.partition, rec.offset)
    const settled: Promise<void> = deliver(rec, AbortSignal.any([stopSignal, held.abandon.signal]))
      .then((r) => {
        if (r !== 'done' || held.released) return
        points.finished(rec.partition, rec.offset)
        resumePartition(rec.partition, true)
        if (!rejoining) void requestCommit()
      })
      .catch((err) => {
        // A bug, not a webhook fault: left unfinished, so never committed past (made again at a restart).
        log.error(
          { err, partition: rec.partition, offset: rec.offset },
          'webhook delivery failed unexpectedly',
        )
      })
      .finally(() => {
        inFlight.delete(settled)
        setQueued(queued - 1)
        for (const w of roomWaiters.splice(0)) w()
      })
    inFlight.add(settled)
  }

  async function eachBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p
    const joinedAt = joins
    let gaveUp: GiveUp | undefined
    const tooFar = () => points.pastPoint(batch.partition) >= uncommittedMax
    highIs(batch.partition, batch.highWatermark)
    for (const m of batch.messages as KafkaMessage[]) {
      gaveUp = giveUpReason(p, joinedAt)
      if (gaveUp) break
      // Started before a rebalance that left its partition here (kafkajs fetches a partition again from its
      // commit at every join): under way or done, not made twice.
      if (points.isStarted(batch.partition, m.offset)) {
        p.resolveOffset(m.offset)
        nextIs(batch.partition, BigInt(m.offset) + 1n)
        continue
      }
      nextIs(batch.partition, BigInt(m.offset))
      // Bounded: wait for room instead of holding more; this is what pauses this desk's consumer. Said by
      // tradepulse_webhook_waiting_for_room, and the alerts left on Kafka by tradepulse_webhook_lag
      // (refreshed from Kafka meanwhile: this batch's high watermark is that of its fetch).
      if (!gaveUp && queued >= o.queueMax && !tooFar()) {
        setWaiting(1)
        try {
          void refreshLag()
          while (!gaveUp && queued >= o.queueMax && !tooFar()) {
            gaveUp = await waitHeartbeating(new Promise<void>((r) => roomWaiters.push(r)), p, joinedAt)
            gaveUp ??= giveUpReason(p, joinedAt)
          }
        } finally {
          setWaiting(-1)
        }
      }
      if (gaveUp) break
      // And per partition: no more taken after a delivery that has not finished (see pausePartition). Its
      // offset is left unresolved: resumed, kafkajs fetches the partition again from it. Checked with no
      // wait before the start, as the finish that resumes it runs between waits only.
      if (tooFar()) {
        pausePartition(p, batch.partition)
        break
      }
      startDelivery(toInRecord(batch.topic, batch.partition, m))
      // kafkajs reads on past it at once; the commit, not the fetch, waits for the delivery. Checked just
      // above with no wait between: never resolved during a rebalance, for a partition that may be going.
      p.resolveOffset(m.offset)
      nextIs(batch.partition, BigInt(m.offset) + 1n)
    }
    // Thrown on, kafkajs rejoins the group at once; returning instead, it would fetch more and post it here
    // while the group waits for this member. What finished is committed first, while the partitions are
    // still this member's.
    if (gaveUp?.err !== undefined) {
      await settledWithin(requestCommit(), FINAL_COMMIT_WAIT_MS)
      throw gaveUp.err
    }
  }

  /**
   * A lane's group with no offsets yet starts where the one group all desks shared before left this
   * desk's topic. Best effort: a group already joined by another instance cannot be set, and then
   * starts as a new group would (from the beginning, within ALERTER_WEBHOOK_MAX_AGE_MS).
   */
  async function carryOffsets(): Promise<void> {
    const admin = deps.kafka.admin()
    try {
      await admin.connect()
      const [mine] = await admin.fetchOffsets({ groupId, topics: [target.topic] })
      if (mine?.partitions.some((q) => Number(q.offset) >= 0)) return
      const [shared] = await admin.fetchOffsets({ groupId: deps.groupId, topics: [target.topic] })
      const partitions = (shared?.partitions ?? []).filter((q) => Number(q.offset) >= 0)
      if (partitions.length === 0) return
      await admin.setOffsets({
        groupId,
        topic: target.topic,
        partitions: partitions.map((q) => ({ partition: q.partition, offset: q.offset })),
      })
      log.info(
        { from: deps.groupId, to: groupId, partitions: partitions.length },
        'webhook offsets carried over',
      )
    } catch (err) {
      log.warn({ err, groupId }, 'could not carry over the webhook offsets of the shared group')
    } finally {
      await admin.disconnect().catch(() => {})
    }
  }

  return {
    deskId: target.deskId,
    queued: () => queued,
    crashed: () => crashed,
    /** What health says of this desk's deliveries failing for failingDegradedMs, else undefined. */
    failing,
    /** Why this lane's dead letters cannot be written, while failed deliveries wait for theirs. */
    deadLettersBlocked: () =>
      deadLettersWaiting > 0
        ? `cannot write its webhook dead letters to ${deps.dlqTopic} (${deadLettersWaiting} failed ${deadLettersWaiting === 1 ? 'delivery' : 'deliveries'} waiting, retried with backoff): ${deadLetterError}`
        : undefined,
    /** What each partition paused (pausePartition) waits for. */
    pausedPartitions: () =>
      [...paused.keys()].map(
        (partition) =>
          `reads no more of partition ${partition}: ${points.pastPoint(partition)} alerts taken after its unfinished delivery at offset ${points.point(partition)}, none committed until it finishes`,
      ),
    async start(): Promise<void> {
      running = true
      setQueued(0)
      metrics.webhookHeld.set({ desk: target.deskId }, 0)
      await carryOffsets()
      metrics.webhookWaitingForRoom.set({ desk: target.deskId }, 0)
      // While it fetches nothing (its queue full, partitions paused), the lag is asked of Kafka.
      lagTimer = setInterval(() => {
        if (waitingForRoom > 0 || paused.size > 0) void refreshLag()
      }, LAG_REFRESH_MS)
      lagTimer.unref()
      const c = deps.kafka.consumer({
        groupId,
        maxWaitTimeInMs: deps.consumer.fetchMaxWaitMs,
        sessionTimeout: deps.consumer.sessionTimeoutMs,
        heartbeatInterval: deps.consumer.heartbeatIntervalMs,
        allowAutoTopicCreation: false,
        retry: {
          retries: 10,
          initialRetryTime: 300,
          maxRetryTime: 10_000,
          restartOnFailure: async () => running,
        },
      })
      consumer = c
      // kafkajs heard of a rebalance (its own heartbeat or fetch) and is about to rejoin: what is finished is
      // committed while the partitions are still this member's. The deliveries go on: which partitions go
      // is known only once joined.
      c.on(c.events.REBALANCING, () => {
        rejoining = true
        void requestCommit()
      })
      // kafkajs 2 has no callback per partition revoked: the join's assignment, against the partitions held,
      // tells which went. Under the same member id, the generation before was this member's too, so a
      // partition still assigned was owned by no one else meanwhile: its deliveries go on. Under another
      // (the coordinator forgot this member, a restart after a crash), every partition held is given up.
      c.on(c.events.GROUP_JOIN, (e) => {
        const mine = new Set(e.payload.memberAssignment[target.topic] ?? [])
        assigned = mine
        // Another member reports the lag of a partition that went (a crash keeps what was last known: the
        // alerts are still unread).
        for (const partition of [...lag.keys()]) if (!mine.has(partition)) forgetLag(partition)
        const sameMember = memberId !== undefined && e.payload.memberId === memberId
        memberId = e.payload.memberId
        const gone = [...holds.keys()].filter((partition) => !sameMember || !mine.has(partition))
        release(gone, sameMember ? 'rebalance' : 'rejoined')
        joins++
        rejoining = false
        // What finished during the rebalance, of the partitions kept.
        void requestCommit()
      })
      c.on(c.events.CRASH, (e) => {
        // A short reason for the health body; the error whole is in the log line below.
        crashed = e.payload.restart ? undefined : faultReason(e.payload.error)
        log.error({ err: e.payload.error, restart: e.payload.restart }, 'webhook consumer crashed')
        // kafkajs has left the group: no partition is this member's any more (a restart joins afresh).
        rejoining = true
        release([...holds.keys()], 'crashed')
      })
      await c.connect()
      // From the beginning for a new group, so no alert slips between the desk topic and this group's
      // first join; maxAgeMs keeps a new group from posting a month of history.
      await c.subscribe({ topic: target.topic, fromBeginning: true })
      await c.run({
        // Committed by hand, each partition up to its first unfinished delivery (requestCommit); kafkajs
        // would commit the offsets resolved, which run ahead of deliveries being retried.
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: Math.max(1, o.concurrency),
        eachBatch,
      })
    },
    /**
     * A stop's first step: no desk record taken from now on (the lane's partitions paused, so kafkajs
     * fetches nothing meanwhile and keeps heartbeating: the group still counts this member, and takes its
     * commits). Resolves once every delivery started has settled; what finishes meanwhile is committed as
     * it finishes.
     */
    stopTaking(): Promise<void> {
      running = false
      deploymentFaultCleared()
      for (const w of roomWaiters.splice(0)) w()
      clearTimeout(commitRetry)
      clearInterval(lagTimer)
      // Forgotten, not resumed: resumed, a partition would be fetched again under the pause of the topic.
      paused.clear()
      try {
        consumer?.pause([{ topic: target.topic }])
      } catch {
        // Not running (a stop while starting): nothing is fetched anyway.
      }
      return Promise.all(inFlight).then(() => {})
    },
    async stop(steps: StopSteps): Promise<void> {
      // Not waited for: a dead letter being written does not settle on the abort.
      void this.stopTaking()
      // The deliveries still running were aborted (stopSignal) and settle at once: waited for a moment, so
      // what finished is committed before the consumer leaves. One still writing its dead letter then is
      // made again.
      await settledWithin(Promise.all(inFlight), tickMs)
      // The commit under way first, then one of the points as they are now.
      const lastCommit = (async () => {
        await settledWithin(committing ?? Promise.resolve(), FINAL_COMMIT_WAIT_MS / 2)
        await commitPoints()
      })()
      await steps.run('commit offsets', lastCommit, FINAL_COMMIT_WAIT_MS, target.deskId)
      release([...holds.keys()], 'stopping')
      for (const partition of [...lag.keys()]) forgetLag(partition)
      assigned = new Set()
      if (lagAdminConnected && lagAdmin)
        await steps.run('disconnect admin', lagAdmin.disconnect(), STOP_STEP_MAX_MS, target.deskId)
      if (consumer)
        await steps.run('disconnect consumer', consumer.disconnect(), STOP_STEP_MAX_MS, target.deskId)
    },
  }
}
export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>

import {
  backoffDelay,
  deadLetterRecord,
  faultReason,
  type HealthCheck,
  headersToStrings,
  type InRecord,
  kafkaErrorType,
  type Logger,
  type OutRecord,
  produceAll,
  type TradepulseProducer,
} from '@tradepulse/platform'
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs'
import type { AlerterMetrics } from './alerter-metrics.ts'
import type { DeskWebhookTarget } from './desk-config.ts'
import { ALERT_ID_HEADER, SIGNATURE_HEADER, signWebhook } from './webhook-signature.ts'

export type WebhookOptions = {
  timeoutMs: number
  maxAttempts: number
  backoffBaseMs: number
  backoffMaxMs: number
  concurrency: number
  queueMax: number
  maxAgeMs: number
  /** Longest wait a 429 or 503 may ask for with Retry-After (never less than our own backoff). */
  retryAfterMaxMs: number
}

export type WebhookDispatcherDeps = {
  kafka: Kafka
  /** For dead letters of deliveries that failed for good. */
  producer: TradepulseProducer
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
 * Signed webhook deliveries, with the desk topics as their outbox. Each desk with a webhook has a lane
 * of its own: a consumer group (`<groupId>.<desk>`) reading alerts.desk.<id>.v1, its own queue and its
 * own requests in flight, so a desk whose endpoint is slow or dead never delays another desk's webhooks
 * (one consumer for all desks waited on every desk's deliveries before fetching more). A lane commits an
 * offset only once every alert up to it was delivered or dead-lettered (`webhook_failed`, with the desk
 * record as origin). So:
 * - a slow or dead webhook never blocks or delays the alerts on Kafka: the alert consumer does not wait
 *   for webhooks at all, it only produces to the desk topics;
 * - nothing is lost on a crash: delivery is at-least-once, and may repeat after a crash or a
 *   rebalance (receivers deduplicate on x-tradepulse-alert-id, which is the alert id);
 * - memory is bounded: per desk, at most `queueMax` deliveries wait or run; when full, that desk's
 *   consumer stops reading (it waits, heartbeating) rather than dropping anything;
 * - a rebalance is not held up by slow deliveries: a lane that hears of one commits what is finished,
 *   abandons the rest of its batches (the new owner delivers them) and rejoins at once.
 * A lane's group that has no offsets yet takes those of the one group all desks shared before
 * (`<groupId>`), so an upgrade neither posts an hour of alerts again nor skips any.
 */
export function createWebhookDispatcher(deps: WebhookDispatcherDeps) {
  const abort = new AbortController()
  const lanes = deps.targets.map((t) => createLane(deps, t, abort.signal))
  let started = false
  let stopping: Promise<void> | undefined
  return {
    async start(): Promise<void> {
      if (started || lanes.length === 0) return
      started = true
      await deps.producer.connect()
      for (const lane of lanes) await lane.start()
      deps.log.info({ desks: deps.targets.map((t) => t.deskId) }, 'webhook dispatcher started')
    },
    stop(): Promise<void> {
      stopping ??= (async () => {
        // Deliveries in flight are abandoned uncommitted: they are made again after the restart.
        abort.abort()
        await Promise.all(lanes.map((l) => l.stop()))
        await deps.producer.disconnect().catch(() => {})
      })()
      return stopping
    },
    health: (async () => {
      const faults = lanes.flatMap((l) => {
        const crashed = l.crashed()
        const blocked = l.deadLettersBlocked()
        return [
          ...(crashed ? [`webhook consumer of desk ${l.deskId} stopped: ${crashed}`] : []),
          ...(blocked ? [`desk ${l.deskId} ${blocked}`] : []),
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

/** Why a batch stopped waiting for its deliveries; `err` (a rebalance heartbeat's) is thrown on to kafkajs. */
type GiveUp = { why: string; err?: unknown }

/** One desk's deliveries: its consumer, queue and requests in flight. */
function createLane(
  deps: WebhookDispatcherDeps,
  target: DeskWebhookTarget & { topic: string },
  stopSignal: AbortSignal,
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
  // Bumped when a batch hears that the group is rebalancing, so the lane's other batches give up too
  // without each waiting for a heartbeat of its own. `rejoining` (until kafkajs has joined again) also
  // stops batches of the same fetch that start after it, before they post anything.
  let rebalances = 0
  let rejoining = false
  // Failed deliveries whose dead letter cannot be written yet, and the last error's reason (faultReason):
  // health is degraded meanwhile.
  let deadLettersWaiting = 0
  let deadLetterError = ''

  // Bounded queue (waiting or in flight) and a cap on requests in flight.
  let queued = 0
  let active = 0
  // Room waiters are all woken to check again: one that gave up (a rebalance) must not swallow the wake.
  const roomWaiters: (() => void)[] = []
  const slotWaiters: (() => void)[] = []
  const wakeOne = (list: (() => void)[]) => list.shift()?.()
  const setQueued = (n: number) => {
    queued = n
    metrics.webhookQueue.set({ desk: target.deskId }, n)
  }

  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve()
      const t = setTimeout(done, ms)
      function done() {
        clearTimeout(t)
        signal.removeEventListener('abort', done)
        resolve()
      }
      signal.addEventListener('abort', done, { once: true })
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
    const body = rec.value?.toString('utf8') ?? ''
    const alertId = rec.headers.ce_id ?? ''
    let last: Attempt = { ok: false, permanent: false, detail: 'not attempted', outcome: '' }
    let attempts = 0
    let notRetried = ''
    for (let i = 0; i < o.maxAttempts; i++) {
      if (signal.aborted) return 'aborted'
      while (active >= o.concurrency) await new Promise<void>((r) => slotWaiters.push(r))
      active++
      try {
        if (signal.aborted) return 'aborted'
        // Too old by its first turn (a backlog, a long outage of the endpoint): not posted.
        if (i === 0 && now() - rec.timestamp > o.maxAgeMs) {
          metrics.webhooks.inc({ desk: target.deskId, result: 'expired' })
          return 'done'
        }
        attempts++
        last = await attempt(body, alertId, signal, rec.headers.traceparent)
      } finally {
        active--
        wakeOne(slotWaiters)
      }
      if (last.ok) {
        metrics.webhooks.inc({ desk: target.deskId, result: 'delivered' })
        return 'done'
      }
      if (signal.aborted) return 'aborted'
      if (last.permanent || i + 1 >= o.maxAttempts) break
      const delayMs = nextAttemptDelayMs(
        backoffDelay(i, o.backoffBaseMs, o.backoffMaxMs),
        last.retryAfterMs,
        o.retryAfterMaxMs,
      )
      // An attempt past the alert's max age would be refused at its first turn: not made.
      if (now() + delayMs - rec.timestamp > o.maxAgeMs) {
        const asked = last.retryAfterMs !== undefined ? ', as Retry-After asked' : ''
        notRetried = `; not retried: the next attempt (in ${delayMs} ms${asked}) would be past the alert's max age of ${o.maxAgeMs} ms`
        break
      }
      await sleep(delayMs, signal)
    }
    if (signal.aborted) return 'aborted'
    const message = `desk ${target.deskId}: POST ${shownUrl} failed after ${attempts} attempt(s): ${last.ok ? '' : last.detail}${notRetried}`
    log.warn({ alertId, attempts }, message)
    const letter = deadLetterRecord(deps.dlqTopic, 'alerter', rec, 'webhook_failed', message, new Date(now()))
    return (await writeDeadLetter(letter, alertId, signal)) ? 'done' : 'aborted'
  }

  /**
   * Writes a dead letter, retrying with backoff until it is written or the batch is given up (a stop, a
   * rebalance: then the delivery is not committed and is made again). Giving up at the first failure left
   * the batch's later offsets uncommitted, and kafkajs fetched them again: alerts already delivered after it
   * were POSTed again and again while health said ok.
   */
  async function writeDeadLetter(letter: OutRecord, alertId: string, signal: AbortSignal): Promise<boolean> {
    let failures = 0
    try {
      for (;;) {
        if (signal.aborted) return false
        try {
          await produceAll(deps.producer, [letter])
          metrics.webhooks.inc({ desk: target.deskId, result: 'failed' })
          if (failures > 0) log.info({ alertId, failures }, 'webhook dead letter written after failures')
          return true
        } catch (err) {
          if (failures === 0) deadLettersWaiting++
          failures++
          // A short reason for the health body (the error whole is in the warning below).
          deadLetterError = faultReason(err)
          // One warning per delivery; its retries (one per backoff, for as long as Kafka refuses) at debug.
          log[failures === 1 ? 'warn' : 'debug'](
            { err, alertId, failures },
            'could not dead-letter a failed webhook; retrying the dead letter',
          )
          await sleep(backoffDelay(failures - 1, o.backoffBaseMs, o.backoffMaxMs), signal)
        }
      }
    } finally {
      if (failures > 0) deadLettersWaiting--
    }
  }

  /** Why this batch should stop waiting and let its partition go, if it should. */
  function giveUpReason(p: EachBatchPayload, epoch: number): GiveUp | undefined {
    if (!running || !p.isRunning()) return { why: 'stopping' }
    if (p.isStale()) return { why: 'sought back' }
    if (rejoining || rebalances !== epoch) return { why: 'rebalance' }
    return undefined
  }

  /**
   * Waits for `work`, heartbeating meanwhile so the group keeps our partitions during slow webhooks; gives
   * up (saying why) as soon as the partition should go: a heartbeat answering that the group is rebalancing,
   * a seek, the consumer stopping. Waiting on through a rebalance (slow deliveries take minutes:
   * maxAttempts × (timeout + backoff)) held the whole group up until the coordinator dropped this member at
   * its rebalance timeout, and the partition's deliveries were then made twice, here and by its new owner.
   */
  async function waitHeartbeating(
    work: Promise<unknown>,
    p: EachBatchPayload,
    epoch: number,
  ): Promise<GiveUp | undefined> {
    let settled = false
    const done = work.then(
      () => {
        settled = true
      },
      () => {
        settled = true
      },
    )
    for (;;) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, tickMs)))])
      clearTimeout(timer)
      if (settled) return undefined
      const reason = giveUpReason(p, epoch)
      if (reason) return reason
      try {
        await p.heartbeat()
      } catch (err) {
        // Anything else (a lost connection) is for the next heartbeat to tell.
        if (kafkaErrorType(err, REJOIN_ERRORS) === undefined) continue
        if (rebalances === epoch) rebalances++
        rejoining = true
        return { why: 'rebalance', err }
      }
    }
  }

  async function eachBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p
    const epoch = rebalances
    // Aborts this batch's deliveries (requests, waits, dead-letter retries) when it gives up.
    const abandon = new AbortController()
    const signal = AbortSignal.any([stopSignal, abandon.signal])
    const started: { offset: string; result?: Result; settled: Promise<Result> }[] = []
    let gaveUp: GiveUp | undefined
    for (const m of batch.messages as KafkaMessage[]) {
      gaveUp = giveUpReason(p, epoch)
      // Bounded: wait for room instead of holding more; this is what pauses this desk's consumer.
      while (!gaveUp && queued >= o.queueMax) {
        gaveUp = await waitHeartbeating(new Promise<void>((r) => roomWaiters.push(r)), p, epoch)
        gaveUp ??= giveUpReason(p, epoch)
      }
      if (gaveUp) break
      setQueued(queued + 1)
      const rec: InRecord = {
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key ?? null,
        value: m.value ?? null,
        headers: headersToStrings(m.headers as Record<string, unknown> | undefined),
        rawHeaders: m.headers as Record<string, unknown> | undefined,
        timestamp: Number(m.timestamp),
      }
      const entry: (typeof started)[number] = {
        offset: m.offset,
        settled: deliver(rec, signal)
          .then((r) => {
            entry.result = r
            return r
          })
          .finally(() => {
            setQueued(queued - 1)
            for (const w of roomWaiters.splice(0)) w()
          }),
      }
      started.push(entry)
    }
    // Stopping, the deliveries were all aborted and settle at once: their results are still waited for (a
    // tick at most), so what finished is committed. One still writing its dead letter then is made again.
    if (!gaveUp || gaveUp.why === 'stopping') {
      gaveUp = await waitHeartbeating(Promise.all(started.map((s) => s.settled)), p, epoch)
    }
    // Only the unbroken run of finished deliveries is committed; the rest is delivered again later (here,
    // or by the partition's new owner).
    let resolved = 0
    for (const s of started) {
      if (s.result !== 'done') break
      p.resolveOffset(s.offset)
      resolved++
    }
    if (gaveUp) {
      abandon.abort()
      if (gaveUp.why !== 'stopping') {
        log.info(
          {
            partition: batch.partition,
            why: gaveUp.why,
            committed: resolved,
            abandoned: started.length - resolved,
          },
          'webhook batch given up; its unfinished deliveries are made again by the partition owner',
        )
      }
    }
    await p.commitOffsetsIfNecessary().catch((err) => log.warn({ err }, 'webhook offsets not committed yet'))
    // Thrown on, kafkajs commits what was resolved and rejoins the group at once; returning instead, it
    // would fetch the abandoned alerts again and post them here while the group waits for this member.
    if (gaveUp?.err !== undefined) throw gaveUp.err
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
    /** Why this lane's dead letters cannot be written, while failed deliveries wait for theirs. */
    deadLettersBlocked: () =>
      deadLettersWaiting > 0
        ? `cannot write its webhook dead letters to ${deps.dlqTopic} (${deadLettersWaiting} failed ${deadLettersWaiting === 1 ? 'delivery' : 'deliveries'} waiting, retried with backoff): ${deadLetterError}`
        : undefined,
    async start(): Promise<void> {
      running = true
      setQueued(0)
      await carryOffsets()
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
      c.on(c.events.GROUP_JOIN, () => {
        rejoining = false
      })
      c.on(c.events.CRASH, (e) => {
        // A short reason for the health body; the error whole is in the log line below.
        crashed = e.payload.restart ? undefined : faultReason(e.payload.error)
        log.error({ err: e.payload.error, restart: e.payload.restart }, 'webhook consumer crashed')
      })
      await c.connect()
      // From the beginning for a new group, so no alert slips between the desk topic and this group's
      // first join; maxAgeMs keeps a new group from posting a month of history.
      await c.subscribe({ topic: target.topic, fromBeginning: true })
      await c.run({
        autoCommit: true,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: Math.max(1, o.concurrency),
        eachBatch,
      })
    },
    async stop(): Promise<void> {
      running = false
      for (const w of roomWaiters.splice(0)) w()
      await consumer?.disconnect().catch((err) => log.warn({ err }, 'webhook consumer disconnect failed'))
    },
  }
}
export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>

import {
  backoffDelay,
  deadLetterRecord,
  type HealthCheck,
  headersToStrings,
  type InRecord,
  type Logger,
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
type Attempt = { ok: true } | { ok: false; permanent: boolean; detail: string; outcome: string }

const isRetriableStatus = (s: number) => s === 408 || s === 429 || s >= 500

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
 *   consumer stops reading (it waits, heartbeating) rather than dropping anything.
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
      const crashed = lanes.flatMap((l) => (l.crashed() ? [`${l.deskId}: ${l.crashed()}`] : []))
      if (crashed.length)
        return { status: 'degraded', ready: true, detail: `webhook consumer stopped: ${crashed.join('; ')}` }
      const queued = lanes.reduce((n, l) => n + l.queued(), 0)
      return {
        status: 'ok',
        ready: true,
        ...(queued > 0 ? { detail: `${queued} webhook deliveries queued` } : {}),
      }
    }) as HealthCheck,
  }
}

/** One desk's deliveries: its consumer, queue and requests in flight. */
function createLane(
  deps: WebhookDispatcherDeps,
  target: DeskWebhookTarget & { topic: string },
  signal: AbortSignal,
) {
  const { options: o, metrics } = deps
  const log = deps.log.child({ desk: target.deskId })
  const doFetch = deps.fetch ?? fetch
  const now = deps.now ?? Date.now
  const groupId = `${deps.groupId}.${target.deskId}`
  let consumer: Consumer | undefined
  let running = false
  let crashed: string | undefined

  // Bounded queue (waiting or in flight) and a cap on requests in flight.
  let queued = 0
  let active = 0
  const roomWaiters: (() => void)[] = []
  const slotWaiters: (() => void)[] = []
  const wakeOne = (list: (() => void)[]) => list.shift()?.()
  const setQueued = (n: number) => {
    queued = n
    metrics.webhookQueue.set({ desk: target.deskId }, n)
  }

  const sleep = (ms: number) =>
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

  async function attempt(body: string, alertId: string, traceparent?: string): Promise<Attempt> {
    try {
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
      // Drain the body so the connection goes back to the pool.
      await res.arrayBuffer().catch(() => {})
      metrics.webhookAttempts.inc({ desk: target.deskId, outcome: `${Math.floor(res.status / 100)}xx` })
      if (res.ok) return { ok: true }
      const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null
      return {
        ok: false,
        permanent: !isRetriableStatus(res.status),
        detail: `HTTP ${res.status}${location !== null ? ` (a redirect to ${location.slice(0, 200)}, not followed: fix the desk's webhook url)` : ''}`,
        outcome: `${res.status}`,
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
          : `${e.message}${e.cause ? `: ${(e.cause as Error).message}` : ''}`,
        outcome: isTimeout ? 'timeout' : 'network',
      }
    }
  }

  async function deliver(rec: InRecord): Promise<Result> {
    const body = rec.value?.toString('utf8') ?? ''
    const alertId = rec.headers.ce_id ?? ''
    let last: Attempt = { ok: false, permanent: false, detail: 'not attempted', outcome: '' }
    let attempts = 0
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
        last = await attempt(body, alertId, rec.headers.traceparent)
      } finally {
        active--
        wakeOne(slotWaiters)
      }
      if (last.ok) {
        metrics.webhooks.inc({ desk: target.deskId, result: 'delivered' })
        return 'done'
      }
      if (signal.aborted) return 'aborted'
      if (last.permanent) break
      if (i + 1 < o.maxAttempts) await sleep(backoffDelay(i, o.backoffBaseMs, o.backoffMaxMs))
    }
    if (signal.aborted) return 'aborted'
    const message = `desk ${target.deskId}: POST ${target.url} failed after ${attempts} attempt(s): ${last.ok ? '' : last.detail}`
    log.warn({ alertId, attempts }, message)
    try {
      await produceAll(deps.producer, [
        deadLetterRecord(deps.dlqTopic, 'alerter', rec, 'webhook_failed', message, new Date(now())),
      ])
    } catch (err) {
      // Not committed: the alert comes round again and is retried, which beats losing its dead letter.
      log.warn({ err, alertId }, 'could not dead-letter a failed webhook; will retry it')
      return 'aborted'
    }
    metrics.webhooks.inc({ desk: target.deskId, result: 'failed' })
    return 'done'
  }

  /** Waits for the promise, heartbeating meanwhile so the group keeps our partitions during slow webhooks. */
  async function withHeartbeat<T>(p: Promise<T>, heartbeat: () => Promise<void>): Promise<T> {
    let settled = false
    const done = p.finally(() => {
      settled = true
    })
    while (!settled) {
      await Promise.race([done, new Promise((r) => setTimeout(r, 1_000))])
      if (!settled) await heartbeat().catch(() => {})
    }
    return done
  }

  async function eachBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p
    const started: { offset: string; result: Promise<Result> }[] = []
    for (const m of batch.messages as KafkaMessage[]) {
      if (!running || !p.isRunning() || p.isStale()) break
      // Bounded: wait for room instead of holding more; this is what pauses this desk's consumer.
      while (queued >= o.queueMax && running) {
        await withHeartbeat(new Promise<void>((r) => roomWaiters.push(r)), p.heartbeat)
      }
      if (!running) break
      setQueued(queued + 1)
      const rec: InRecord = {
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key ?? null,
        value: m.value ?? null,
        headers: headersToStrings(m.headers as Record<string, unknown> | undefined),
        timestamp: Number(m.timestamp),
      }
      const result = deliver(rec).finally(() => {
        setQueued(queued - 1)
        wakeOne(roomWaiters)
      })
      started.push({ offset: m.offset, result })
    }
    const results = await withHeartbeat(Promise.all(started.map((s) => s.result)), p.heartbeat)
    // Only the unbroken run of finished deliveries is committed; the rest is delivered again later.
    for (let i = 0; i < results.length; i++) {
      if (results[i] !== 'done') break
      p.resolveOffset(started[i]!.offset)
    }
    await p.commitOffsetsIfNecessary().catch((err) => log.warn({ err }, 'webhook offsets not committed yet'))
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
      c.on(c.events.CRASH, (e) => {
        crashed = e.payload.restart ? undefined : e.payload.error.message
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

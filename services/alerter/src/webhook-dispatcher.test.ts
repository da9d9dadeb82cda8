import type { DeadLetter } from '@tradepulse/contracts'
import { createCapturingLogger, REPLAY_HEADERS } from '@tradepulse/platform'
import { waitFor } from '@tradepulse/testing'
import { type Kafka, KafkaJSConnectionError } from 'kafkajs'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createAlerterMetrics } from './alerter-metrics.ts'
import { deskAlertValue } from './kafka-set-up.ts'
import { notEnoughReplicas } from './test-kafka-faults.ts'
import {
  alertNewsTimeMs,
  createCommitPoints,
  createWebhookDispatcher,
  drainBody,
  nextAttemptDelayMs,
  parseRetryAfter,
  RESPONSE_BODY_MAX_BYTES,
  type WebhookDispatcherDeps,
  webhookUrlForLogs,
} from './webhook-dispatcher.ts'
import { ALERT_ID_HEADER } from './webhook-signature.ts'

const NOW = Date.parse('2025-03-04T10:00:00.000Z')

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000)
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0)
  })

  it('reads the three HTTP date forms, all GMT, as the wait from now', () => {
    expect(parseRetryAfter('Tue, 04 Mar 2025 10:00:30 GMT', NOW)).toBe(30_000)
    expect(parseRetryAfter('Tuesday, 04-Mar-25 10:00:30 GMT', NOW)).toBe(30_000)
    expect(parseRetryAfter('Tue Mar  4 10:00:30 2025', NOW)).toBe(30_000)
  })

  it('gives 0 for a date already past', () => {
    expect(parseRetryAfter('Tue, 04 Mar 2025 09:59:00 GMT', NOW)).toBe(0)
  })

  it('gives nothing for an absent or unreadable value', () => {
    for (const v of [null, '', '  ', '-5', '1.5', '2s', 'soon', '2025-03-04T10:00:30Z', 'Blursday, 99 Foo'])
      expect(parseRetryAfter(v, NOW), String(v)).toBeUndefined()
  })
})

describe('alertNewsTimeMs', () => {
  const at = (iso: string) => Date.parse(iso)
  const body = (o: object) => JSON.stringify({ id: 'a1', ...o })

  it('is the earlier of publishedAt and ingestedAt: the news counts from its publication, or its entry when dated ahead of it', () => {
    const T = '2025-03-04T07:00:00.000Z'
    const LATER = '2025-03-04T10:00:00.000Z'
    expect(alertNewsTimeMs(body({ publishedAt: T, ingestedAt: LATER, detectedAt: LATER }))).toBe(at(T))
    // A headline dated 3 h after it entered the pipeline counts from its entry.
    expect(alertNewsTimeMs(body({ publishedAt: LATER, ingestedAt: T, detectedAt: LATER }))).toBe(at(T))
  })

  it('leaves out a time it cannot read, and gives nothing without one', () => {
    const T = '2025-03-04T07:00:00.000Z'
    expect(alertNewsTimeMs(body({ publishedAt: 'soon', ingestedAt: T }))).toBe(at(T))
    expect(alertNewsTimeMs(body({ publishedAt: T, ingestedAt: 12 }))).toBe(at(T))
    for (const v of [
      '{"id":"a1"}',
      'not json',
      'null',
      '"2025-03-04T07:00:00.000Z"',
      '',
      body({ publishedAt: '2025-02-30T25:00:00Z' }),
    ])
      expect(alertNewsTimeMs(v), v).toBeUndefined()
  })
})

describe('nextAttemptDelayMs', () => {
  it('is our own backoff when the receiver asked nothing', () => {
    expect(nextAttemptDelayMs(400, undefined, 60_000)).toBe(400)
  })
  it('is what the receiver asked, when longer than our backoff and within the cap', () => {
    expect(nextAttemptDelayMs(400, 5_000, 60_000)).toBe(5_000)
  })
  it('never exceeds the cap', () => {
    expect(nextAttemptDelayMs(400, 3_600_000, 60_000)).toBe(60_000)
  })
  it('is never shorter than our own backoff', () => {
    expect(nextAttemptDelayMs(400, 0, 60_000)).toBe(400)
    expect(nextAttemptDelayMs(400, 3_600_000, 100)).toBe(400)
  })
})

describe('createCommitPoints', () => {
  it('stays at the first unfinished delivery while later ones finish, then moves past all that finished', () => {
    const points = createCommitPoints()
    for (const offset of ['7', '8', '9']) points.started(0, offset)
    points.finished(0, '8')
    points.finished(0, '9')
    // 7 is where the commit already stood (the fetch began there): nothing is due.
    expect(points.due()).toEqual([])
    expect(points.unfinished()).toBe(1)
    points.finished(0, '7')
    expect(points.due()).toEqual([{ partition: 0, offset: '10' }])
  })

  it('is due only past what was committed, and per partition', () => {
    const points = createCommitPoints()
    points.started(0, '0')
    points.started(1, '40')
    points.started(0, '1')
    points.finished(0, '0')
    points.finished(1, '40')
    expect(points.due()).toEqual([
      { partition: 0, offset: '1' },
      { partition: 1, offset: '41' },
    ])
    points.committed(0, '1')
    points.committed(1, '41')
    expect(points.due()).toEqual([])
    // An offset the topic does not hold (compacted, a control record) is skipped with the rest.
    points.started(1, '45')
    points.finished(1, '45')
    points.finished(0, '1')
    expect(points.due()).toEqual([
      { partition: 0, offset: '2' },
      { partition: 1, offset: '46' },
    ])
  })

  it('never goes back on a late acknowledgement of an older commit', () => {
    const points = createCommitPoints()
    points.started(0, '0')
    points.finished(0, '0')
    points.committed(0, '1')
    points.committed(0, '0')
    expect(points.due()).toEqual([])
  })

  it('tells an offset started already, finished or not, from one not started yet', () => {
    const points = createCommitPoints()
    points.started(0, '5')
    points.started(0, '6')
    points.finished(0, '5')
    // kafkajs fetches a partition kept at a rebalance again from its commit (5 here): 5 and 6 are under way.
    expect(['4', '5', '6', '7'].map((o) => points.isStarted(0, o))).toEqual([true, true, true, false])
    expect(points.isStarted(1, '0')).toBe(false)
  })

  it('forgets a partition released, counting its unfinished deliveries; taken again, it starts afresh', () => {
    const points = createCommitPoints()
    points.started(0, '5')
    points.started(0, '6')
    points.started(0, '7')
    points.finished(0, '6')
    points.started(1, '2')
    expect(points.release(0)).toBe(2)
    expect(points.release(0)).toBe(0)
    expect(points.isStarted(0, '5')).toBe(false)
    // A late finish of a delivery of the partition released moves nothing.
    points.finished(0, '5')
    expect(points.due()).toEqual([])
    // Taken again from its commit: that offset is where its commit stands, nothing due until it moves.
    points.started(0, '5')
    expect(points.due()).toEqual([])
    points.finished(0, '5')
    expect(points.due()).toEqual([{ partition: 0, offset: '6' }])
    expect(points.unfinished()).toBe(1)
  })
})

describe('createCommitPoints behind a delivery that does not finish', () => {
  it('keeps only the unfinished deliveries and counts those taken past the point', () => {
    const points = createCommitPoints()
    points.started(0, '0')
    points.started(1, '0')
    points.finished(1, '0')
    // Many finish behind offset 0, which does not: none kept, each counted, nothing due.
    const MANY = 10_000
    for (let i = 1; i <= MANY; i++) {
      points.started(0, String(i))
      points.finished(0, String(i))
    }
    points.started(0, String(MANY + 1))
    expect(points.unfinished()).toBe(2)
    expect(points.pastPoint(0)).toBe(MANY + 1)
    expect(points.point(0)).toBe('0')
    expect(points.due()).toEqual([{ partition: 1, offset: '1' }])
    expect(points.pastPoint(1)).toBe(0)
    // Offset 0 finishes: the point moves to the next unfinished one, nothing left past it.
    points.finished(0, '0')
    expect(points.point(0)).toBe(String(MANY + 1))
    expect(points.pastPoint(0)).toBe(0)
    expect(points.due()).toEqual([
      { partition: 0, offset: String(MANY + 1) },
      { partition: 1, offset: '1' },
    ])
    expect(points.unfinished()).toBe(1)
  })

  it('counts from the first unfinished delivery, finished ones past it or not', () => {
    const points = createCommitPoints()
    for (const offset of ['3', '4', '5', '6', '7']) points.started(0, offset)
    points.finished(0, '3')
    points.finished(0, '6')
    // 4 is the point: 5, 6 and 7 were taken past it (6 finished, 5 and 7 not).
    expect(points.pastPoint(0)).toBe(3)
    points.finished(0, '4')
    expect(points.pastPoint(0)).toBe(2)
    // A finish told twice, or of an offset never started, changes nothing.
    points.finished(0, '4')
    points.finished(0, '9')
    expect(points.pastPoint(0)).toBe(2)
    expect(points.point(0)).toBe('5')
    expect(points.release(0)).toBe(2)
    expect(points.pastPoint(0)).toBe(0)
    expect(points.point(0)).toBeUndefined()
  })
})

describe('drainBody', () => {
  /** A body of `chunkBytes` chunks without end, saying how much was pulled and whether it was cancelled. */
  function endlessBody(chunkBytes: number) {
    const seen = { pulled: 0, cancelled: false }
    const body = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          seen.pulled += chunkBytes
          c.enqueue(new Uint8Array(chunkBytes))
        },
        cancel() {
          seen.cancelled = true
        },
      },
      { highWaterMark: 0 },
    )
    return { res: new Response(body), seen }
  }

  it('reads at most about the cap of a body without end, then cancels it', async () => {
    const { res, seen } = endlessBody(1024)
    await drainBody(res, RESPONSE_BODY_MAX_BYTES)
    expect(seen.cancelled).toBe(true)
    expect(seen.pulled).toBeGreaterThanOrEqual(RESPONSE_BODY_MAX_BYTES)
    expect(seen.pulled).toBeLessThanOrEqual(RESPONSE_BODY_MAX_BYTES + 2 * 1024)
  })

  it('reads a small body to its end', async () => {
    const res = new Response('{"ok":true}')
    await drainBody(res, RESPONSE_BODY_MAX_BYTES)
    expect(res.bodyUsed).toBe(true)
  })

  it('settles when the body fails mid-way', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(10))
        c.error(new Error('connection reset'))
      },
    })
    await expect(drainBody(new Response(body), RESPONSE_BODY_MAX_BYTES)).resolves.toBeUndefined()
  })
})

/**
 * A dispatcher with one lane, desk tariff posting to `url` (topic desk, dead letters to dlq): one attempt,
 * one delivery at a time, a 1 s timeout.
 */
function tariffDispatcher({
  url,
  ...deps
}: Pick<WebhookDispatcherDeps, 'kafka' | 'producer' | 'log' | 'fetch'> & { url: string }) {
  return createWebhookDispatcher({
    groupId: 'g',
    targets: [{ deskId: 'tariff', url, secret: 's', topic: 'desk' }],
    dlqTopic: 'dlq',
    options: {
      timeoutMs: 1_000,
      maxAttempts: 1,
      backoffBaseMs: 10,
      backoffMaxMs: 10,
      concurrency: 1,
      queueMax: 1,
      maxAgeMs: 60_000,
      retryAfterMaxMs: 1_000,
    },
    consumer: { fetchMaxWaitMs: 100, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 },
    metrics: createAlerterMetrics(new Registry()),
    dlqTotal: { inc: () => {} },
    ...deps,
  })
}

describe('webhook dispatcher health when a desk consumer stops', () => {
  it('names the desk and a short reason, never the error text; the error whole in the log', async () => {
    const crash = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 10.20.30.40:9092', {
      broker: '10.20.30.40:9092',
      code: 'ECONNREFUSED',
    })
    // A consumer that crashes for good at its run, as kafkajs reports it (restart: false).
    const kafka = {
      admin: () => ({
        connect: async () => {},
        fetchOffsets: async () => [],
        disconnect: async () => {},
      }),
      consumer: () => {
        const listeners = new Map<string, (e: unknown) => void>()
        return {
          events: { GROUP_JOIN: 'join', CRASH: 'crash' },
          on: (event: string, fn: (e: unknown) => void) => void listeners.set(event, fn),
          connect: async () => {},
          subscribe: async () => {},
          run: async () =>
            listeners.get('crash')?.({ payload: { error: crash, restart: false, groupId: 'g' } }),
          disconnect: async () => {},
        }
      },
    } as unknown as Kafka
    const { log, lines } = createCapturingLogger()
    const dispatcher = tariffDispatcher({
      kafka,
      producer: { connect: async () => {}, disconnect: async () => {}, sendBatch: async () => [] },
      url: 'http://127.0.0.1:1/hook',
      log,
    })
    await dispatcher.start()
    try {
      expect(await dispatcher.health()).toEqual({
        status: 'degraded',
        ready: true,
        detail: 'webhook consumer of desk tariff stopped: unreachable',
      })
      expect(lines.filter((l) => l.msg === 'webhook consumer crashed')).toEqual([
        expect.objectContaining({ err: expect.objectContaining({ message: crash.message }) }),
      ])
    } finally {
      await dispatcher.stop()
    }
  })
})

describe('webhookUrlForLogs', () => {
  it('keeps the origin and hides a path or query behind "/…"', () => {
    expect(webhookUrlForLogs('https://hooks.example.com/services/T000/B000/XXXXSECRET')).toBe(
      'https://hooks.example.com/…',
    )
    expect(webhookUrlForLogs('https://hooks.example.com/?token=abc')).toBe('https://hooks.example.com/…')
    expect(webhookUrlForLogs('http://10.0.0.5:8080/hook#x')).toBe('http://10.0.0.5:8080/…')
    expect(webhookUrlForLogs('https://hooks.example.com')).toBe('https://hooks.example.com')
    expect(webhookUrlForLogs('not a url')).toBe('(an unreadable URL)')
  })
})

describe('a failed webhook delivery, logged and dead-lettered', () => {
  const SECRET_URL = 'https://hooks.example.com/services/T000/B000/XXXXSECRET?token=abc'

  /** One alert through a tariff lane posting to SECRET_URL with `fetch`: the warnings and the dead letters. */
  async function failedDelivery(doFetch: typeof fetch) {
    let batch: Promise<void> | undefined
    const kafka = {
      admin: () => ({ connect: async () => {}, fetchOffsets: async () => [], disconnect: async () => {} }),
      consumer: () => ({
        events: { GROUP_JOIN: 'join', CRASH: 'crash' },
        on: () => {},
        connect: async () => {},
        subscribe: async () => {},
        // One batch of one alert, as kafkajs hands it to the lane.
        run: async ({ eachBatch }: { eachBatch: (p: unknown) => Promise<void> }) => {
          batch = eachBatch({
            batch: {
              topic: 'desk',
              partition: 0,
              messages: [
                {
                  offset: '0',
                  key: Buffer.from('k'),
                  value: Buffer.from(deskAlertValue('a1')),
                  headers: { ce_id: Buffer.from('a1') },
                  timestamp: String(Date.now()),
                },
              ],
            },
            isRunning: () => true,
            isStale: () => false,
            heartbeat: async () => {},
            resolveOffset: () => {},
            commitOffsetsIfNecessary: async () => {},
          })
        },
        commitOffsets: async () => {},
        disconnect: async () => {},
      }),
    } as unknown as Kafka
    const sent: { topic: string; messages: { value: string | Buffer }[] }[] = []
    const { log, lines } = createCapturingLogger()
    const dispatcher = tariffDispatcher({
      kafka,
      producer: {
        connect: async () => {},
        disconnect: async () => {},
        sendBatch: async (b: { topicMessages: typeof sent }) => {
          sent.push(...b.topicMessages)
          return []
        },
      } as never,
      url: SECRET_URL,
      log,
      fetch: doFetch,
    })
    await dispatcher.start()
    await batch
    // The batch only queues its delivery (the lane reads on); the dead letter comes once it has failed.
    await waitFor(() => sent.some((t) => t.topic === 'dlq'), { what: 'the dead letter' })
    await dispatcher.stop()
    const warnings = lines.filter((l) => l.level === 40).map((l) => JSON.stringify(l))
    const letters = sent
      .filter((t) => t.topic === 'dlq')
      .flatMap((t) => t.messages.map((m) => String(m.value)))
    return { warnings, letters }
  }

  it("names the desk and the hook's origin, never its path or query, in the warning and the dead letter", async () => {
    // Both quoted the URL whole: a token in its path or query went to the logs and the dlq.
    const { warnings, letters } = await failedDelivery(async () => new Response('no', { status: 403 }))
    const message = 'desk tariff: POST https://hooks.example.com/… failed after 1 attempt(s): HTTP 403'
    expect(warnings).toEqual([expect.stringContaining(`"msg":"${message}"`)])
    expect(letters.map((l) => (JSON.parse(l) as DeadLetter).message)).toEqual([message])
    for (const text of [...warnings, ...letters]) {
      expect(text).not.toContain('XXXXSECRET')
      expect(text).not.toContain('token=abc')
    }
  })

  it("hides the URL in fetch's own error text, and a redirect's target as the hook's own", async () => {
    const network = await failedDelivery(async () => {
      throw new TypeError('fetch failed', {
        cause: new Error(`request to ${SECRET_URL} failed, reason: reset`),
      })
    })
    expect(network.letters.map((l) => (JSON.parse(l) as DeadLetter).message)).toEqual([
      'desk tariff: POST https://hooks.example.com/… failed after 1 attempt(s): fetch failed: request to https://hooks.example.com/… failed, reason: reset; not retried: ALERTER_WEBHOOK_MAX_ATTEMPTS (1) reached',
    ])
    const moved = await failedDelivery(
      async () => new Response(null, { status: 301, headers: { location: '/services/T000/B000/NEWSECRET' } }),
    )
    expect(moved.letters.map((l) => (JSON.parse(l) as DeadLetter).message)).toEqual([
      "desk tariff: POST https://hooks.example.com/… failed after 1 attempt(s): HTTP 301 (a redirect to https://hooks.example.com/…, not followed: fix the desk's webhook url)",
    ])
    for (const text of [...network.warnings, ...network.letters, ...moved.warnings, ...moved.letters])
      expect(text).not.toMatch(/SECRET|token=abc/)
  })
})

describe("an alert's max age (ALERTER_WEBHOOK_MAX_AGE_MS)", () => {
  const MAX_AGE_MS = 3_600_000

  /**
   * One alert stamped `timestampMs`, with `headers`, through a tariff lane whose clock reads NOW and whose
   * hook answers `status`: the requests made and how the delivery ended.
   */
  async function deliverOne(
    timestampMs: number,
    headers: Record<string, string>,
    status = 204,
    maxAttempts = 1,
  ) {
    const metrics = createAlerterMetrics(new Registry())
    const kafka = {
      admin: () => ({ connect: async () => {}, fetchOffsets: async () => [], disconnect: async () => {} }),
      consumer: () => ({
        events: { GROUP_JOIN: 'join', CRASH: 'crash' },
        on: () => {},
        connect: async () => {},
        subscribe: async () => {},
        run: async ({ eachBatch }: { eachBatch: (p: unknown) => Promise<void> }) => {
          void eachBatch({
            batch: {
              topic: 'desk',
              partition: 0,
              messages: [
                {
                  offset: '0',
                  key: Buffer.from('k'),
                  value: Buffer.from(deskAlertValue('a1')),
                  headers: Object.fromEntries(
                    Object.entries({ ce_id: 'a1', ...headers }).map(([k, v]) => [k, Buffer.from(v)]),
                  ),
                  timestamp: String(timestampMs),
                },
              ],
            },
            isRunning: () => true,
            isStale: () => false,
            heartbeat: async () => {},
            resolveOffset: () => {},
            commitOffsetsIfNecessary: async () => {},
          })
        },
        commitOffsets: async () => {},
        disconnect: async () => {},
      }),
    } as unknown as Kafka
    let posted = 0
    const dispatcher = createWebhookDispatcher({
      kafka,
      producer: { connect: async () => {}, disconnect: async () => {}, sendBatch: async () => [] } as never,
      groupId: 'g',
      targets: [{ deskId: 'tariff', url: 'http://127.0.0.1:1/hook', secret: 's', topic: 'desk' }],
      dlqTopic: 'dlq',
      options: {
        timeoutMs: 1_000,
        maxAttempts,
        backoffBaseMs: 10,
        backoffMaxMs: 10,
        concurrency: 1,
        queueMax: 1,
        maxAgeMs: MAX_AGE_MS,
        retryAfterMaxMs: 600_000,
      },
      consumer: { fetchMaxWaitMs: 100, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 },
      log: createCapturingLogger().log,
      metrics,
      dlqTotal: { inc: () => {} },
      now: () => NOW,
      // `status` (with Retry-After: 1) until the last attempt, which is answered 204.
      fetch: async () =>
        new Response(null, {
          status: ++posted < maxAttempts ? status : 204,
          headers: { 'retry-after': '1' },
        }),
    })
    await dispatcher.start()
    const results = async () =>
      Object.fromEntries((await metrics.webhooks.get()).values.map((v) => [v.labels.result, v.value]))
    try {
      const ended = await waitFor(
        async () => {
          const r = await results()
          return r.delivered || r.expired || r.failed ? r : false
        },
        { what: 'the delivery settled' },
      )
      return { posted, ended }
    } finally {
      await dispatcher.stop()
    }
  }

  const HOURS_AGO = NOW - 3 * MAX_AGE_MS

  it('is not posted when older than the max age by its turn', async () => {
    expect(await deliverOne(HOURS_AGO, {})).toEqual({ posted: 0, ended: { expired: 1 } })
  })

  // A webhook_failed letter replayed (tradepulse dlq replay) keeps the alert's timestamp: counted from it,
  // the replay was dropped as expired once the alert was an hour old, while the CLI said it was sent.
  it('counts from the replay when an operator replayed the record (tp-dlq-replayed-at): posted', async () => {
    const replayed = { [REPLAY_HEADERS.replayedAt]: new Date(NOW - 60_000).toISOString() }
    expect(await deliverOne(HOURS_AGO, replayed)).toEqual({ posted: 1, ended: { delivered: 1 } })
    // A Retry-After within the max age from the replay is waited for, not dead-lettered at once.
    expect(await deliverOne(HOURS_AGO, replayed, 503, 2)).toEqual({ posted: 2, ended: { delivered: 1 } })
  })

  it('still expires a replay older than the max age, and takes an unreadable replay time as none', async () => {
    const old = { [REPLAY_HEADERS.replayedAt]: new Date(NOW - MAX_AGE_MS - 1).toISOString() }
    expect(await deliverOne(HOURS_AGO, old)).toEqual({ posted: 0, ended: { expired: 1 } })
    for (const bad of ['soon', String(NOW), '2025-02-30T10:00:00.000Z'])
      expect(await deliverOne(HOURS_AGO, { [REPLAY_HEADERS.replayedAt]: bad }), bad).toEqual({
        posted: 0,
        ended: { expired: 1 },
      })
  })
})

describe('a partition whose first unfinished delivery does not finish (its dead letter refused for ever)', () => {
  /** Alerts a0…a<n-1> at offsets 0…n-1 of partition 0, as kafkajs hands them to the lane. */
  const alerts = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      offset: String(i),
      key: Buffer.from(`a${i}`),
      value: Buffer.from(deskAlertValue(`a${i}`)),
      headers: { ce_id: Buffer.from(`a${i}`) },
      timestamp: String(Date.now()),
    }))

  /**
   * A consumer of one partition holding `messages`, as kafkajs runs it: one batch at a time from the next
   * offset to read (past the last resolved), none while the partition is paused; a resume fetches again
   * from there, and none while it is not assigned. `seen` tells what the lane did with it; `join` tells the
   * lane of a join, as kafkajs does.
   */
  function onePartitionKafka(messages: ReturnType<typeof alerts>) {
    const seen = { next: 0, assigned: true, paused: false, pauses: 0, resumes: 0, committed: -1 }
    const listeners = new Map<string, (e: unknown) => void>()
    let running = true
    let wake = () => {}
    const kafka = {
      admin: () => ({ connect: async () => {}, fetchOffsets: async () => [], disconnect: async () => {} }),
      consumer: () => ({
        events: { GROUP_JOIN: 'join', CRASH: 'crash', REBALANCING: 'rebalancing' },
        on: (event: string, fn: (e: unknown) => void) => void listeners.set(event, fn),
        connect: async () => {},
        subscribe: async () => {},
        run: async ({ eachBatch }: { eachBatch: (p: unknown) => Promise<void> }) => {
          listeners.get('join')?.({ payload: { memberId: 'm1', memberAssignment: { desk: [0] } } })
          void (async () => {
            while (running) {
              if (seen.paused || !seen.assigned || seen.next >= messages.length) {
                await new Promise<void>((r) => (wake = r))
                continue
              }
              let resolved = seen.next - 1
              await eachBatch({
                batch: { topic: 'desk', partition: 0, messages: messages.slice(seen.next) },
                isRunning: () => running,
                isStale: () => false,
                heartbeat: async () => {},
                resolveOffset: (offset: string) => {
                  resolved = Number(offset)
                },
                pause: () => {
                  seen.paused = true
                  seen.pauses++
                  return () => {
                    seen.paused = false
                    seen.resumes++
                    wake()
                  }
                },
                commitOffsetsIfNecessary: async () => {},
              })
              seen.next = resolved + 1
            }
          })()
        },
        commitOffsets: async (offsets: { offset: string }[]) => {
          for (const o of offsets) seen.committed = Math.max(seen.committed, Number(o.offset))
        },
        disconnect: async () => {
          running = false
          wake()
        },
      }),
    } as unknown as Kafka
    const join = (memberId: string, partitions: number[]) => {
      seen.assigned = partitions.includes(0)
      listeners.get('join')?.({ payload: { memberId, memberAssignment: { desk: partitions } } })
    }
    return { kafka, seen, join }
  }

  /**
   * A tariff lane over `total` alerts of partition 0, taking at most `uncommittedMax` after one not
   * finished: a0 is gone for good (410), its dead letter refused while `dlq.down`; the others are delivered.
   */
  function stuckLane(total: number, uncommittedMax: number) {
    const { kafka, seen, join } = onePartitionKafka(alerts(total))
    const posted: string[] = []
    const letters: string[] = []
    const dlq = { down: true, refused: 0 }
    const metrics = createAlerterMetrics(new Registry())
    const dispatcher = createWebhookDispatcher({
      kafka,
      producer: {
        connect: async () => {},
        disconnect: async () => {},
        sendBatch: async (b: { topicMessages: { messages: { value: Buffer | string }[] }[] }) => {
          if (dlq.down) {
            dlq.refused++
            throw notEnoughReplicas()
          }
          letters.push(...b.topicMessages.flatMap((t) => t.messages.map((m) => String(m.value))))
          return []
        },
      } as never,
      groupId: 'g',
      targets: [{ deskId: 'tariff', url: 'http://127.0.0.1:1/hook', secret: 's', topic: 'desk' }],
      dlqTopic: 'dlq',
      options: {
        timeoutMs: 1_000,
        maxAttempts: 1,
        backoffBaseMs: 1,
        backoffMaxMs: 5,
        concurrency: 4,
        queueMax: 4,
        maxAgeMs: 3_600_000,
        retryAfterMaxMs: 1_000,
        uncommittedMax,
      },
      consumer: { fetchMaxWaitMs: 100, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 },
      log: createCapturingLogger().log,
      metrics,
      dlqTotal: { inc: () => {} },
      fetch: async (_url, init) => {
        const id = String(new Headers(init?.headers).get(ALERT_ID_HEADER))
        posted.push(id)
        return new Response(null, { status: id === 'a0' ? 410 : 204 })
      },
    })
    const delivered = async () =>
      (await metrics.webhooks.get()).values.find((v) => v.labels.result === 'delivered')?.value ?? 0
    const held = async () => (await metrics.webhookHeld.get()).values[0]?.value ?? 0
    return { dispatcher, seen, join, posted, letters, dlq, delivered, held }
  }

  it('stops taking alerts of the partition at uncommittedMax taken after it, and takes them again once it finishes', async () => {
    const TOTAL = 60
    const UNCOMMITTED_MAX = 20
    const lane = stuckLane(TOTAL, UNCOMMITTED_MAX)
    const { dispatcher, seen, posted } = lane
    await dispatcher.start()
    try {
      // Before: the lane took every alert (none paused), each finished one kept behind a0 for good.
      await waitFor(() => seen.pauses > 0 || posted.length === TOTAL, { what: 'paused, or all posted' })
      expect(seen.pauses).toBe(1)
      await waitFor(async () => (await lane.delivered()) === UNCOMMITTED_MAX, {
        what: 'those taken delivered',
      })
      await waitFor(() => lane.dlq.refused >= 3, { what: 'the dead letter refused again' })
      // Taken: a0 and the 20 after it, no more; the partition is read no further meanwhile.
      expect(posted.toSorted()).toEqual(
        alerts(UNCOMMITTED_MAX + 1)
          .map((a) => `a${a.offset}`)
          .toSorted(),
      )
      expect(seen.next).toBe(UNCOMMITTED_MAX + 1)
      expect(seen.committed).toBe(-1)
      expect(await lane.held()).toBe(1)
      expect((await dispatcher.health()).detail).toContain(
        `desk tariff reads no more of partition 0: ${UNCOMMITTED_MAX} alerts taken after its unfinished delivery at offset 0`,
      )

      lane.dlq.down = false
      await waitFor(() => seen.committed === TOTAL, { what: 'all committed' })
      expect(seen.resumes).toBe(1)
      expect(lane.letters).toHaveLength(1)
      // Each posted once: those taken before the pause were not taken again.
      expect(posted).toHaveLength(TOTAL)
      expect(new Set(posted).size).toBe(TOTAL)
      expect(await lane.held()).toBe(0)
      expect(await dispatcher.health()).toEqual({ status: 'ok', ready: true })
    } finally {
      await dispatcher.stop()
    }
  })

  it('reads a paused partition again once given up (kafkajs keeps a pause across joins), and a kept one stays paused', async () => {
    const lane = stuckLane(30, 5)
    const { dispatcher, seen, join } = lane
    await dispatcher.start()
    try {
      await waitFor(() => seen.pauses > 0, { what: 'paused' })
      // Kept by the same member: its deliveries go on, and so does the pause.
      join('m1', [0])
      expect([seen.paused, await lane.held()]).toEqual([true, 1])
      // Given up: were it left paused, kafkajs would never fetch it again here if the group gave it back.
      join('m1', [])
      expect([seen.paused, seen.resumes, await lane.held()]).toEqual([false, 1, 0])
      expect((await dispatcher.health()).detail ?? '').not.toContain('reads no more')
    } finally {
      await dispatcher.stop()
    }
  })
})

// A desk's webhook down for a while (a receiver answering 500, restarting): its alerts are retried until
// they are older than ALERTER_WEBHOOK_MAX_AGE_MS, not dead-lettered after ALERTER_WEBHOOK_MAX_ATTEMPTS
// (5, about 5.5 s with the defaults: an on-call review lost every page of a 30 s receiver restart).
import type { DeadLetter } from '@tradepulse/contracts'
import { createCapturingLogger, type Logger } from '@tradepulse/platform'
import { collectTopic, testInfra, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { alerterConfigShape } from './config.ts'
import { listenForWebhooks, sendDeskAlerts, testLane, webhookLaneFixture } from './kafka-set-up.ts'
import type { WebhookOptions } from './webhook-dispatcher.ts'
import { ALERT_ID_HEADER } from './webhook-signature.ts'

const DESK = 'tariff'
/** ALERTER_WEBHOOK_MAX_ATTEMPTS as the alerter runs with it unset. */
const DEFAULT_MAX_ATTEMPTS = alerterConfigShape.ALERTER_WEBHOOK_MAX_ATTEMPTS.parse(undefined)

describe('a desk webhook that fails for a while', () => {
  const { kafkaBrokers } = testInfra()
  // The desk topic, the dlq, the lane's group, a producer and an admin, fresh for each test.
  const fx = webhookLaneFixture(kafkaBrokers, 'webhook-outage', DESK)

  /** A receiver answering `answer.status` to every request; each request's alert id and status, in order. */
  async function receiver(answer: { status: number }) {
    const requests: { alertId: string; status: number }[] = []
    const url = await listenForWebhooks(fx.cleanups, (req, res) => {
      req.resume()
      req.on('end', () => {
        const status = answer.status
        requests.push({ alertId: String(req.headers[ALERT_ID_HEADER]), status })
        res.writeHead(status).end(status >= 300 ? 'down' : undefined)
      })
    })
    const answered = (alertId: string, ok: boolean) =>
      requests.filter((r) => r.alertId === alertId && r.status < 300 === ok).length
    return { url, requests, answered }
  }

  /** The desk's lane (the alerter's default attempts, quick backoff, degraded after 300 ms of failures). */
  async function lane(
    url: string,
    options: Partial<WebhookOptions> = {},
    extra: { log?: Logger; stopDeadlineMs?: number } = {},
  ) {
    const dlq = await collectTopic(kafkaBrokers, fx.dlqTopic)
    fx.cleanups.push(dlq.stop)
    const { dispatcher, metrics, dlqTotal } = testLane({
      kafkaBrokers,
      cleanups: fx.cleanups,
      target: { deskId: DESK, url, secret: 's', topic: fx.deskTopic },
      groupId: fx.groupId,
      dlqTopic: fx.dlqTopic,
      options: {
        maxAttempts: DEFAULT_MAX_ATTEMPTS,
        backoffBaseMs: 10,
        backoffMaxMs: 200,
        failingDegradedMs: 300,
        ...options,
      },
      ...extra,
    })
    await dispatcher.start()
    const results = async (): Promise<Record<string, number>> =>
      Object.fromEntries((await metrics.webhooks.get()).values.map((v) => [v.labels.result, v.value]))
    const dlqCounted = async (): Promise<Record<string, number>> =>
      Object.fromEntries((await dlqTotal.get()).values.map((v) => [v.labels.reason, v.value]))
    const letters = () => dlq.messages.map((m) => JSON.parse(String(m.value)) as DeadLetter)
    /** The lane group's committed offsets, per partition (-1: none). */
    const committed = async () => {
      const [t] = await fx.admin.fetchOffsets({ groupId: `${fx.groupId}.${DESK}`, topics: [fx.deskTopic] })
      return Object.fromEntries((t?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]))
    }
    return { dispatcher, results, dlqCounted, letters, committed }
  }

  it('posts every alert once it answers again, none dead-lettered; health degraded naming the desk meanwhile, ok after', async () => {
    const answer = { status: 500 }
    const hook = await receiver(answer)
    const { dispatcher, results, dlqCounted, letters, committed } = await lane(hook.url)
    const ids = Array.from({ length: 6 }, (_, i) => `outage-${i}`)
    await sendDeskAlerts(fx.producer, fx.deskTopic, ids.slice(0, 3), 0)
    await sendDeskAlerts(fx.producer, fx.deskTopic, ids.slice(3), 1)

    // Down longer than the attempts the alerter used to make (each alert refused more often than that),
    // long enough for health to say so: degraded (still ready), naming the desk and the last failure.
    const degraded = await waitFor(
      async () => {
        const h = await dispatcher.health()
        return (
          ids.every((id) => hook.answered(id, false) > DEFAULT_MAX_ATTEMPTS) && h.status === 'degraded' && h
        )
      },
      { what: `every alert refused more than ${DEFAULT_MAX_ATTEMPTS} times, and health degraded` },
    )
    expect(degraded).toMatchObject({ status: 'degraded', ready: true })
    expect(degraded.detail).toMatch(
      /^desk tariff webhook failing for \d+ s: 6 alerts waiting for a retry, the oldest \(partition \d offset 0\) since .+; last failure HTTP 500 at .+; retried until ALERTER_WEBHOOK_MAX_AGE_MS \(3600000 ms\), then dead-lettered$/,
    )
    // Nothing committed past an alert not delivered yet, nothing dead-lettered.
    expect(Object.values(await committed()).every((o) => o <= 0)).toBe(true)
    expect(letters()).toEqual([])

    // The receiver is back: every alert is posted (once answered 2xx), the partitions committed to their
    // ends, and health is ok again.
    answer.status = 204
    await waitFor(() => ids.every((id) => hook.answered(id, true) === 1), { what: 'every alert delivered' })
    await waitFor(async () => (await dispatcher.health()).status === 'ok', { what: 'health ok again' })
    await waitFor(
      async () => {
        const c = await committed()
        return c[0] === 3 && c[1] === 3
      },
      { what: 'both partitions committed to their ends' },
    )
    expect(ids.map((id) => hook.answered(id, true))).toEqual(ids.map(() => 1))
    expect(await results()).toEqual({ delivered: 6 })
    expect(letters()).toEqual([])
    expect(await dlqCounted()).toEqual({})
  })

  it('dead-letters an alert still failing past ALERTER_WEBHOOK_MAX_AGE_MS, saying so, counted in tradepulse_dlq_total', async () => {
    const hook = await receiver({ status: 503 })
    const { results, dlqCounted, letters } = await lane(hook.url, { maxAgeMs: 3_000 })
    await sendDeskAlerts(fx.producer, fx.deskTopic, ['too-old'], 0)

    const [letter] = await waitFor(() => letters().length > 0 && letters(), { what: 'its dead letter' })
    expect(letter).toMatchObject({ reason: 'webhook_failed', origin: { topic: fx.deskTopic, partition: 0 } })
    const made = hook.answered('too-old', false)
    // Retried for as long as it was young enough, far more often than the attempts of old.
    expect(made).toBeGreaterThan(DEFAULT_MAX_ATTEMPTS)
    expect(letter?.message).toMatch(
      new RegExp(
        `^desk tariff: POST http://127\\.0\\.0\\.1:\\d+/… failed after ${made} attempt\\(s\\): HTTP 503; not retried: (the next attempt \\(in \\d+ ms\\) would be past the alert's max age|the alert is older than its max age) of 3000 ms \\(ALERTER_WEBHOOK_MAX_AGE_MS\\)[^;]*; ${made} attempts over \\d+ s$`,
      ),
    )
    await waitFor(async () => (await results()).failed === 1, { what: 'counted failed' })
    expect(await dlqCounted()).toEqual({ webhook_failed: 1 })
  })

  it('dead-letters a 400 at once, one attempt, counted in tradepulse_dlq_total; health stays ok', async () => {
    const hook = await receiver({ status: 400 })
    const { dispatcher, results, dlqCounted, letters } = await lane(hook.url)
    await sendDeskAlerts(fx.producer, fx.deskTopic, ['refused'], 1)

    const [letter] = await waitFor(() => letters().length > 0 && letters(), { what: 'its dead letter' })
    expect(letter?.message).toMatch(
      /^desk tariff: POST http:\/\/127\.0\.0\.1:\d+\/… failed after 1 attempt\(s\): HTTP 400$/,
    )
    expect(hook.requests).toEqual([{ alertId: 'refused', status: 400 }])
    await waitFor(async () => (await results()).failed === 1, { what: 'counted failed' })
    expect(await dlqCounted()).toEqual({ webhook_failed: 1 })
    expect((await dispatcher.health()).status).toBe('ok')
  })

  it('a graceful stop while alerts wait for their retry ends their waits, dead-letters and commits none; the restart posts them once', async () => {
    const answer = { status: 500 }
    const hook = await receiver(answer)
    const { log, lines } = createCapturingLogger<{ level: number; msg: string; component?: string }>('warn')
    // Waits far longer than the stop's deadline: only cut short, the stop ends within it.
    const slow = { backoffBaseMs: 20_000, backoffMaxMs: 30_000 }
    const first = await lane(hook.url, slow, { log, stopDeadlineMs: 10_000 })
    await sendDeskAlerts(fx.producer, fx.deskTopic, ['w0'], 0)
    await sendDeskAlerts(fx.producer, fx.deskTopic, ['w1'], 1)
    await waitFor(() => hook.answered('w0', false) > 0 && hook.answered('w1', false) > 0, {
      what: 'both refused once, waiting for their retry',
    })

    await first.dispatcher.stop()
    // No step of the stop was left undone (a wait not cut short would have held it to its deadline), no
    // dead letter, nothing committed: the alerts are the restart's to post.
    expect(lines.filter((l) => l.level >= 50 && l.component !== 'kafkajs').map((l) => l.msg)).toEqual([])
    expect(first.letters()).toEqual([])
    expect(Object.values(await first.committed()).every((o) => o <= 0)).toBe(true)

    answer.status = 204
    const second = await lane(hook.url, slow)
    await waitFor(
      async () => {
        const c = await second.committed()
        return c[0] === 1 && c[1] === 1
      },
      { what: 'both partitions committed to their ends' },
    )
    expect(['w0', 'w1'].map((id) => hook.answered(id, true))).toEqual([1, 1])
    expect(second.letters()).toEqual([])
  })

  it('a delivery once it answers again posts the alerts waiting on their backoff at once, oldest first', async () => {
    const answer = { status: 500 }
    const hook = await receiver(answer)
    // Waits longer than any waitFor here: only cut short are they over within the test.
    const { results } = await lane(hook.url, {
      backoffBaseMs: 120_000,
      backoffMaxMs: 120_000,
      concurrency: 1,
    })
    await sendDeskAlerts(fx.producer, fx.deskTopic, ['old0', 'old1', 'old2'], 0)
    await waitFor(() => ['old0', 'old1', 'old2'].every((id) => hook.answered(id, false) === 1), {
      what: 'each refused once, waiting for its retry',
    })

    answer.status = 204
    await sendDeskAlerts(fx.producer, fx.deskTopic, ['fresh'], 1)
    await waitFor(async () => (await results()).delivered === 4, { what: 'all four delivered' })
    expect(hook.requests.filter((r) => r.status < 300).map((r) => r.alertId)).toEqual([
      'fresh',
      'old0',
      'old1',
      'old2',
    ])
  })

  it('an alert the receiver alone refuses, among others delivered: retried on its own backoff (woken by a delivery once at most), health degraded naming it, ok once delivered', async () => {
    // The receiver chokes on one payload (500 for it only) and takes every other.
    const refused = new Set(['poison'])
    const requests: { alertId: string; status: number }[] = []
    const url = await listenForWebhooks(fx.cleanups, (req, res) => {
      req.resume()
      req.on('end', () => {
        const alertId = String(req.headers[ALERT_ID_HEADER])
        const status = refused.has(alertId) ? 500 : 204
        requests.push({ alertId, status })
        res.writeHead(status).end()
      })
    })
    const poisonAttempts = () => requests.filter((r) => r.alertId === 'poison').length
    // Backoff of 2-4 s (jitter) between its attempts: from its first failure, a third at 2 s at the
    // earliest, a fourth at 4 s.
    const { dispatcher, results, letters } = await lane(url, { backoffBaseMs: 4_000, backoffMaxMs: 4_000 })
    await sendDeskAlerts(fx.producer, fx.deskTopic, ['poison'], 0)
    await waitFor(() => poisonAttempts() === 1, { what: 'the poison alert refused once' })

    // Other alerts delivered every 100 ms for 3 s (30 of them), health read as they go.
    const health: { status: string; detail?: string }[] = []
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 100))
      await sendDeskAlerts(fx.producer, fx.deskTopic, [`good-${i}`], i % 2)
      if (i >= 10) health.push(await dispatcher.health())
    }
    // Each delivery woke every wait before: an attempt of the poison alert after each of the others.
    const made = poisonAttempts()
    expect(made).toBeGreaterThanOrEqual(1)
    expect(made).toBeLessThanOrEqual(3)
    // Failing for longer than failingDegradedMs (300 ms) though other alerts are delivered: degraded,
    // naming it, all along.
    expect(health.map((h) => h.status)).toEqual(health.map(() => 'degraded'))
    expect(health.map((h) => h.detail ?? '')).toContainEqual(
      expect.stringMatching(
        /^desk tariff webhook failing for alert poison \(partition 0 offset 0\) for \d+ s, while the desk's other alerts are delivered: \d+ attempts, last failure HTTP 500 at .+; retried on its backoff until ALERTER_WEBHOOK_MAX_AGE_MS \(3600000 ms\), then dead-lettered; partition 0 is not committed past it meanwhile$/,
      ),
    )
    expect(letters()).toEqual([])

    // The receiver takes it at last: delivered on its next attempt, health ok again.
    refused.clear()
    await waitFor(async () => (await results()).delivered === 31, { what: 'every alert delivered' })
    await waitFor(async () => (await dispatcher.health()).status === 'ok', { what: 'health ok again' })
    expect(letters()).toEqual([])
  })
})

import type { IncomingMessage, ServerResponse } from 'node:http'
import { connect as netConnect } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { DeadLetter } from '@tradepulse/contracts'
import {
  createCapturingLogger,
  describeInfraFailure,
  type Logger,
  type TradepulseProducer,
} from '@tradepulse/platform'
import { type HostPort, tcpProxy } from '@tradepulse/platform/net-test-support'
import { collectTopic, createTopics, testInfra, waitFor } from '@tradepulse/testing'
import { AssignerProtocol, type ISocketFactory, type KafkaConfig, KafkaJSConnectionError } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import type { AlerterMetrics } from './alerter-metrics.ts'
import {
  deskAlertValue,
  listenForWebhooks,
  sendDeskAlerts,
  testLane,
  webhookLaneFixture,
} from './kafka-set-up.ts'
import type { WebhookOptions } from './webhook-dispatcher.ts'
import { ALERT_ID_HEADER } from './webhook-signature.ts'

const DESK = 'tariff'

/** A request as the receiver saw it: the alert id, when its body had arrived, and how it ended. */
type Received = { alertId: string; atMs: number; ended?: 'answered' | 'dropped' }

describe('webhook dispatcher on Kafka', () => {
  const { kafkaBrokers } = testInfra()
  // The desk topic, the dlq, the lane's group, a producer and an admin, fresh for each test.
  const fx = webhookLaneFixture(kafkaBrokers, 'webhooks', DESK)

  /** An HTTP receiver answering each request as `respond` says (nothing: the request is held open). */
  async function receiver(respond: (res: ServerResponse, r: Received, req: IncomingMessage) => void) {
    const received: Received[] = []
    const url = await listenForWebhooks(fx.cleanups, (req, res) => {
      req.resume()
      req.on('end', () => {
        const r: Received = { alertId: String(req.headers[ALERT_ID_HEADER]), atMs: performance.now() }
        received.push(r)
        res.on('close', () => {
          r.ended = res.writableFinished ? 'answered' : 'dropped'
        })
        respond(res, r, req)
      })
    })
    const of = (alertId: string) => received.filter((r) => r.alertId === alertId)
    return { url, received, of }
  }

  const produceAlerts = (ids: string[], partition = 0) =>
    sendDeskAlerts(fx.producer, fx.deskTopic, ids, partition)

  /** One desk's webhook lane on the test's topics, started; `wrapProducer` can put a fault before its dlq fx.producer. */
  async function startDispatcher(
    url: string,
    opts: {
      options?: Partial<WebhookOptions>
      wrapProducer?: (real: TradepulseProducer) => TradepulseProducer
      deploymentFaultMs?: number
      stopDeadlineMs?: number
      log?: Logger
      kafkaExtra?: Partial<KafkaConfig>
      await?: boolean
    } = {},
  ) {
    const { dispatcher, metrics, clientId } = testLane({
      kafkaBrokers,
      cleanups: fx.cleanups,
      target: { deskId: DESK, url, secret: 's', topic: fx.deskTopic },
      groupId: fx.groupId,
      dlqTopic: fx.dlqTopic,
      ...(opts.options ? { options: opts.options } : {}),
      ...(opts.wrapProducer ? { wrapProducer: opts.wrapProducer } : {}),
      ...(opts.deploymentFaultMs !== undefined ? { deploymentFaultMs: opts.deploymentFaultMs } : {}),
      ...(opts.stopDeadlineMs !== undefined ? { stopDeadlineMs: opts.stopDeadlineMs } : {}),
      ...(opts.log ? { log: opts.log } : {}),
      ...(opts.kafkaExtra ? { kafkaExtra: opts.kafkaExtra } : {}),
    })
    const started = dispatcher.start()
    if (opts.await !== false) await started
    return { dispatcher, metrics, started, clientId }
  }

  /** The lane group's partitions per member client id, once the group is stable with `members` members. */
  async function assignments(members: number): Promise<Map<string, number[]>> {
    return waitFor(
      async () => {
        const { groups } = await fx.admin.describeGroups([`${fx.groupId}.${DESK}`])
        const g = groups[0]
        if (g?.state !== 'Stable' || g.members.length !== members) return false
        return new Map(
          g.members.map((m) => [
            m.clientId,
            AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[fx.deskTopic] ?? [],
          ]),
        )
      },
      { timeoutMs: 30_000, what: `the group stable with ${members} members` },
    )
  }

  /**
   * A second member joins the group of `first`, which had both partitions: resolves once the group is
   * stable with one partition each, with the partition `first` kept and the one it gave up.
   */
  async function secondMemberJoins(
    first: { clientId: string },
    url: string,
    options: Partial<WebhookOptions>,
  ) {
    const second = await startDispatcher(url, { options, await: false })
    const byMember = await assignments(2)
    await second.started
    const [kept] = byMember.get(first.clientId) ?? []
    const [gone] = byMember.get(second.clientId) ?? []
    expect([kept, gone].sort()).toEqual([0, 1])
    return { second, kept: kept!, gone: gone! }
  }

  /** A dead letter's origin: the desk record, with its Kafka timestamp. */
  const originOf = (partition: number, offset: string) => ({
    topic: fx.deskTopic,
    partition,
    offset,
    timestamp: expect.stringMatching(/^\d+$/),
  })

  const deliveries = async (
    metrics: AlerterMetrics,
    result: 'delivered' | 'failed' | 'expired' | 'dlq_refused' | 'invalid',
  ) =>
    (await metrics.webhooks.get()).values.find((v) => v.labels.desk === DESK && v.labels.result === result)
      ?.value ?? 0

  /** The lane group's committed offset per partition of the desk topic (-1: none). */
  async function committed(): Promise<number[]> {
    const [t] = await fx.admin.fetchOffsets({ groupId: `${fx.groupId}.${DESK}`, topics: [fx.deskTopic] })
    return (t?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((q) => Number(q.offset))
  }

  async function collectDeadLetters() {
    const dlq = await collectTopic(kafkaBrokers, fx.dlqTopic)
    fx.cleanups.push(dlq.stop)
    return {
      letters: () => dlq.messages.map((m) => JSON.parse(m.value!.toString()) as DeadLetter),
    }
  }

  it('dead-letters a record that is no alert, or whose ce_id is missing or another, and posts only the alerts', async () => {
    const hook = await receiver((res) => res.writeHead(204).end())
    const dlq = await collectDeadLetters()
    const { dispatcher, metrics } = await startDispatcher(hook.url)
    const valid = (id: string) => ({
      partition: 0,
      key: id,
      value: deskAlertValue(id),
      headers: { ce_id: id },
    })
    // Each bad record followed by a valid alert, on one partition: offsets 0, 2, 4, 6 and 8 are bad.
    await fx.producer.send({
      topic: fx.deskTopic,
      messages: [
        { partition: 0, key: 'j1', value: '{"foo":1}', headers: { ce_id: 'j1' } },
        valid('v1'),
        { partition: 0, key: 'j2', value: 'not json at all', headers: { ce_id: 'j2' } },
        valid('v2'),
        { partition: 0, key: 'j3', value: null, headers: { ce_id: 'j3' } },
        valid('v3'),
        { partition: 0, key: 'm1', value: deskAlertValue('m1') },
        valid('v4'),
        { partition: 0, key: 'x1', value: deskAlertValue('x1'), headers: { ce_id: 'another' } },
        valid('v5'),
      ],
    })
    // Before: all ten were posted, signed (the record with no ce_id under an empty alert id), no dead letter.
    await waitFor(async () => (await committed())[0] === 10, { what: 'offsets committed past all ten' })
    await waitFor(() => dlq.letters().length >= 5, { what: 'five dead letters' })
    // Posted concurrently: in any order.
    expect(hook.received.map((r) => r.alertId).sort()).toEqual(['v1', 'v2', 'v3', 'v4', 'v5'])
    const letters = dlq.letters()
    expect(letters.map((l) => [l.origin.offset, l.reason]).sort()).toEqual([
      ['0', 'schema_invalid'],
      ['2', 'invalid_json'],
      ['4', 'tombstone'],
      ['6', 'schema_invalid'],
      ['8', 'schema_invalid'],
    ])
    expect(letters.map((l) => l.worker)).toEqual(Array(5).fill('alerter'))
    expect(letters[0]?.message).toMatch(/^desk tariff: not posted: /)
    expect(letters[3]?.message).toMatch(/ce_id header missing or empty/)
    expect(letters[4]?.message).toMatch(/ce_id header \(another\) is not the alert's id \(x1\)/)
    expect(await deliveries(metrics, 'invalid')).toBe(5)
    expect(await deliveries(metrics, 'delivered')).toBe(5)
    expect(await deliveries(metrics, 'failed')).toBe(0)
    expect(await dispatcher.health()).toEqual({ status: 'ok', ready: true })
  })

  describe('Retry-After', () => {
    it.each([
      ['a 503 with Retry-After in seconds', 503, () => '2', 2_000],
      [
        'a 429 with Retry-After as an HTTP date',
        429,
        // Whole seconds (an HTTP date has no finer), at least 3 s ahead.
        () => new Date(Math.ceil(Date.now() / 1_000) * 1_000 + 3_000).toUTCString(),
        2_900,
      ],
    ])(
      'waits as long as %s asks before the next attempt, not our own shorter backoff',
      async (_what, status, retryAfter, atLeastMs) => {
        const hook = await receiver((res, r) => {
          if (hook.received.indexOf(r) === 0) res.writeHead(status, { 'retry-after': retryAfter() }).end()
          else res.writeHead(204).end()
        })
        const { metrics } = await startDispatcher(hook.url)
        await produceAlerts(['a1'])
        await waitFor(async () => (await deliveries(metrics, 'delivered')) === 1, { what: 'delivered' })
        expect(hook.received.map((r) => r.alertId)).toEqual(['a1', 'a1'])
        // A lower bound only, on when the receiver saw the retry: a loaded machine can only make it later.
        expect(hook.received[1]!.atMs - hook.received[0]!.atMs).toBeGreaterThanOrEqual(atLeastMs - 10)
      },
    )

    it('waits no longer than ALERTER_WEBHOOK_RETRY_AFTER_MAX_MS however long Retry-After asks', async () => {
      const hook = await receiver((res) => {
        if (hook.received.length === 1) res.writeHead(503, { 'retry-after': '3600' }).end()
        else res.writeHead(204).end()
      })
      const { metrics } = await startDispatcher(hook.url, { options: { retryAfterMaxMs: 1_500 } })
      await produceAlerts(['a1'])
      await waitFor(async () => (await deliveries(metrics, 'delivered')) === 1, { what: 'delivered' })
      expect(hook.received).toHaveLength(2)
      expect(hook.received[1]!.atMs - hook.received[0]!.atMs).toBeGreaterThanOrEqual(1_500 - 10)
    })

    it("dead-letters at once, not retried, when the wait Retry-After asks would pass the alert's max age", async () => {
      const hook = await receiver((res) => {
        if (hook.received.length === 1) res.writeHead(503, { 'retry-after': '120' }).end()
        else res.writeHead(204).end()
      })
      const dlq = await collectDeadLetters()
      await startDispatcher(hook.url, { options: { maxAgeMs: 30_000, retryAfterMaxMs: 300_000 } })
      await produceAlerts(['a1'])
      await waitFor(() => dlq.letters().length >= 1 || hook.received.length >= 2, {
        what: 'a dead letter or a second attempt',
      })
      expect(hook.received).toHaveLength(1)
      expect(dlq.letters()).toEqual([
        expect.objectContaining({
          reason: 'webhook_failed',
          message: expect.stringMatching(
            /1 attempt\(s\): HTTP 503; not retried: the next attempt \(in 120000 ms, as Retry-After asked\) would be past the alert's max age of 30000 ms/,
          ),
        }),
      ])
    })
  })

  describe('a delivery being retried', () => {
    it('does not hold back the alerts after it in its partition: they are posted while it waits', async () => {
      // The reviewer's case: a 503 asking for 3 s, three attempts. The lane waited for every delivery of a
      // fetched batch, and kafkajs read no further in the partition meanwhile: `good` came after all three.
      const hook = await receiver((res, r) => {
        if (r.alertId === 'bad') res.writeHead(503, { 'retry-after': '3' }).end()
        else res.writeHead(204).end()
      })
      const dlq = await collectDeadLetters()
      await startDispatcher(hook.url)
      await produceAlerts(['bad'], 0)
      await waitFor(() => hook.of('bad').length >= 1, { what: "bad's first attempt" })
      await produceAlerts(['good'], 0)
      await waitFor(() => hook.of('good').length >= 1, { what: 'good posted' })
      // Posted within bad's first wait, before its second attempt.
      expect(hook.of('bad')).toHaveLength(1)

      // Committed only once bad is dead-lettered; nothing posted twice.
      await waitFor(() => dlq.letters().length >= 1, { what: "bad's dead letter" })
      await waitFor(async () => (await committed())[0] === 2, { what: 'offsets committed' })
      expect(dlq.letters().map((l) => l.origin)).toEqual([originOf(0, '0')])
      expect([hook.of('bad').length, hook.of('good').length]).toEqual([3, 1])
    })

    it('commits nothing past a delivery being retried; stopped meanwhile, it is delivered after the restart', async () => {
      let failing = true
      const hook = await receiver((res, r) => {
        if (failing && r.alertId === 'bad') res.writeHead(503, { 'retry-after': '30' }).end()
        else res.writeHead(204).end()
      })
      const first = await startDispatcher(hook.url)
      await produceAlerts(['first'], 0)
      await waitFor(async () => (await committed())[0] === 1, { what: "first's offset committed" })
      await produceAlerts(['bad', 'after1', 'after2'], 0)
      await waitFor(() => hook.of('after1').length + hook.of('after2').length >= 2, {
        what: 'the alerts after bad posted while it waits 30 s',
      })
      // The lane's commits cover all its partitions, so one of partition 1 made after after2 was delivered
      // shows partition 0's point was looked at by then too: it stays at bad.
      await produceAlerts(['other'], 1)
      await waitFor(async () => (await committed())[1] === 1, { what: "other's offset committed" })
      expect(await committed()).toEqual([1, 1])

      await first.dispatcher.stop()
      expect(await committed()).toEqual([1, 1])
      expect(hook.of('bad')).toHaveLength(1)

      failing = false
      await startDispatcher(hook.url)
      await waitFor(async () => (await committed())[0] === 4, { what: 'offsets committed after the restart' })
      expect(hook.of('bad').map((r) => r.ended)).toEqual(['answered', 'answered'])
      // At-least-once: the alerts after it were posted again by the restarted lane; those committed were not.
      expect(['first', 'after1', 'after2', 'other'].map((id) => hook.of(id).length)).toEqual([1, 2, 2, 1])
    })

    it('counts a delivery waiting for its retry in the queue: at most queueMax held, concurrency requests open', async () => {
      // bad waits 30 s for its retry, holding a place in the queue but no request; the others are held open
      // until released, one at a time.
      const held: ServerResponse[] = []
      let open = 0
      let mostOpen = 0
      const hook = await receiver((res, r) => {
        if (r.alertId === 'bad') return void res.writeHead(503, { 'retry-after': '30' }).end()
        open++
        mostOpen = Math.max(mostOpen, open)
        res.on('close', () => open--)
        held.push(res)
      })
      const queueMax = 2
      const { metrics } = await startDispatcher(hook.url, {
        options: { concurrency: 2, queueMax, timeoutMs: 100_000 },
      })
      // Every value the lane gives the queue gauge from here on.
      const queue: number[] = []
      const setGauge = metrics.webhookQueue.set.bind(metrics.webhookQueue) as (
        labels: { desk: string },
        v: number,
      ) => void
      metrics.webhookQueue.set = ((labels: { desk: string }, v: number) => {
        queue.push(v)
        setGauge(labels, v)
      }) as typeof metrics.webhookQueue.set
      const later = ['a1', 'a2', 'a3']
      await produceAlerts(['bad', ...later], 0)
      for (const id of later) {
        // One slot is free, but the queue (bad and the one held) is full: the next is read only once this
        // one is answered.
        await waitFor(() => hook.of(id).length === 1 && held.length === 1, { what: `${id} posted and held` })
        held.shift()!.writeHead(204).end()
      }
      await waitFor(async () => (await deliveries(metrics, 'delivered')) === later.length, {
        what: 'the three delivered',
      })
      expect(later.map((id) => hook.of(id).length)).toEqual([1, 1, 1])
      // Each later alert posted only after the one before it was answered, while bad still waited.
      for (let i = 1; i < later.length; i++) {
        expect(hook.of(later[i]!)[0]!.atMs).toBeGreaterThan(hook.of(later[i - 1]!)[0]!.atMs)
      }
      expect(hook.of('bad')).toHaveLength(1)
      expect(Math.max(...queue)).toBe(queueMax)
      expect(mostOpen).toBe(1)
      // bad is unfinished: nothing of its partition is committed.
      expect(await committed()).toEqual([-1, -1])
    })
  })

  describe('a hanging endpoint', () => {
    /** The lane's lag on `partition` and its waiting-for-room gauge (undefined: never set). */
    const backlog = async (metrics: AlerterMetrics, partition: number) => ({
      lag: (await metrics.webhookLag.get()).values.find(
        (v) => v.labels.desk === DESK && v.labels.partition === String(partition),
      )?.value,
      waiting: (await metrics.webhookWaitingForRoom.get()).values.find((v) => v.labels.desk === DESK)?.value,
    })

    it('shows the alerts left on Kafka while its queue is full (lag, waiting for room), back to 0 once it answers', async () => {
      // The reviewer's case: the queue gauge stopped at queueMax and held partitions read 0 while tens of
      // thousands of the desk's alerts were unread.
      let hanging = true
      const held: ServerResponse[] = []
      const hook = await receiver((res) => {
        if (hanging) held.push(res)
        else res.writeHead(204).end()
      })
      const queueMax = 3
      const { metrics } = await startDispatcher(hook.url, {
        options: { concurrency: 2, queueMax, timeoutMs: 100_000 },
      })
      const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)
      await produceAlerts(ids('a', 10), 0)
      await waitFor(async () => (await backlog(metrics, 0)).waiting === 1, {
        what: 'the lane waiting for room',
      })
      // Two requests in flight (the concurrency), held by the receiver; the queue holds the third.
      await waitFor(() => held.length === 2, { what: 'two requests held' })
      await waitFor(async () => (await backlog(metrics, 0)).lag === 10 - queueMax, {
        what: 'the lag of the alerts the full queue left on Kafka',
      })
      // More alerts while it waits (no batch fetched meanwhile): the lag is asked of Kafka.
      await produceAlerts(ids('b', 30), 0)
      await waitFor(async () => (await backlog(metrics, 0)).lag === 40 - queueMax, {
        what: 'the lag of the alerts written while the lane waits',
      })
      expect((await metrics.webhookHeld.get()).values.find((v) => v.labels.desk === DESK)?.value).toBe(0)

      // The endpoint answers again: everything is delivered, the lag and the wait are gone.
      hanging = false
      for (const res of held.splice(0)) res.writeHead(204).end()
      await waitFor(async () => (await deliveries(metrics, 'delivered')) === 40, { what: 'all 40 delivered' })
      await waitFor(
        async () => {
          const b = await backlog(metrics, 0)
          return b.lag === 0 && b.waiting === 0
        },
        { what: 'lag 0 and no wait' },
      )
    })
  })

  describe('response body', () => {
    it('reads at most 64 KiB of a huge answer and hangs up on the rest', async () => {
      const bodyBytes = 32 * 1024 * 1024 // far beyond any socket buffers between the two
      const hook = await receiver((res) => {
        res.writeHead(200)
        const chunk = Buffer.alloc(64 * 1024, 120)
        let written = 0
        const pump = () => {
          while (written < bodyBytes && !res.destroyed) {
            written += chunk.length
            if (!res.write(chunk)) return void res.once('drain', pump)
          }
          res.end()
        }
        pump()
      })
      const { metrics } = await startDispatcher(hook.url)
      await produceAlerts(['a1'])
      await waitFor(async () => (await deliveries(metrics, 'delivered')) === 1, { what: 'delivered' })
      await waitFor(() => hook.received[0]?.ended, { what: 'the request closed' })
      // The alerter hung up before the receiver could write its whole answer: it did not read it all.
      expect(hook.received.map((r) => r.ended)).toEqual(['dropped'])
    })

    it('does not hold a delivery answered 200 with a body without end until its timeout', async () => {
      const hook = await receiver((res) => {
        res.writeHead(200)
        const timer = setInterval(() => res.write(Buffer.alloc(1024, 120)), 5)
        res.on('close', () => clearInterval(timer))
      })
      // A timeout far beyond the wait below: the delivery counts only if the body read stops at its cap.
      const { metrics } = await startDispatcher(hook.url, { options: { timeoutMs: 100_000 } })
      await produceAlerts(['a1'])
      await waitFor(async () => (await deliveries(metrics, 'delivered')) === 1, {
        what: 'delivered before the timeout',
      })
      await waitFor(() => hook.received[0]?.ended, { what: 'the request closed' })
      expect(hook.received.map((r) => r.ended)).toEqual(['dropped'])
    })

    it('ends the attempt at the timeout when the body stalls, and the status stands', async () => {
      const hook = await receiver((res) => {
        res.writeHead(200)
        res.write('{')
      })
      const { metrics } = await startDispatcher(hook.url, { options: { timeoutMs: 500 } })
      await produceAlerts(['a1'])
      await waitFor(async () => (await deliveries(metrics, 'delivered')) === 1, { what: 'delivered' })
      await waitFor(() => hook.received[0]?.ended, { what: 'the request closed' })
      expect(hook.received.map((r) => r.ended)).toEqual(['dropped'])
    })
  })

  describe('dead letters that cannot be written', () => {
    /** A dlq fx.producer that refuses every send while `down`, counting the refusals. */
    function faultyDlq() {
      const fault = { down: true, refused: 0 }
      const wrap = (real: TradepulseProducer): TradepulseProducer => ({
        connect: () => real.connect(),
        disconnect: () => real.disconnect(),
        sendBatch: async (batch) => {
          if (fault.down) {
            fault.refused++
            // As kafkajs says it: the broker's host and port in the message, for the log only.
            throw new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 10.20.30.40:9092', {
              broker: '10.20.30.40:9092',
              code: 'ECONNREFUSED',
            })
          }
          return real.sendBatch(batch)
        },
      })
      return { fault, wrap }
    }

    it('retries the dead letter without posting the alerts after it again, and health names the desk meanwhile', async () => {
      const hook = await receiver((res, r) => res.writeHead(r.alertId === 'gone' ? 410 : 204).end())
      const { fault, wrap } = faultyDlq()
      const dlq = await collectDeadLetters()
      const { dispatcher, metrics } = await startDispatcher(hook.url, { wrapProducer: wrap })
      await produceAlerts(['gone', 'ok1', 'ok2'])

      const health = await waitFor(
        async () => {
          const h = await dispatcher.health()
          return fault.refused >= 5 && h.status === 'degraded' && h
        },
        { what: 'degraded while the dead letter is refused' },
      )
      expect(health.detail).toMatch(
        new RegExp(
          `^desk ${DESK} cannot write its webhook dead letters to ${fx.dlqTopic} \\(1 failed delivery waiting, retried with backoff\\): unreachable$`,
        ),
      )
      expect(health.detail).not.toContain('10.20.30.40')
      // Five refusals in, each alert was posted once: the ones after the failed delivery were not again.
      expect(['gone', 'ok1', 'ok2'].map((id) => hook.of(id).length)).toEqual([1, 1, 1])
      expect(await committed()).toEqual([-1, -1])

      fault.down = false
      await waitFor(() => dlq.letters().length >= 1, { what: 'the dead letter' })
      await waitFor(async () => (await committed())[0] === 3, { what: 'offsets committed' })
      expect(await dispatcher.health()).toEqual({ status: 'ok', ready: true })
      expect(dlq.letters()).toEqual([
        expect.objectContaining({
          reason: 'webhook_failed',
          origin: originOf(0, '0'),
          message: expect.stringMatching(/1 attempt\(s\): HTTP 410/),
        }),
      ])
      expect(['gone', 'ok1', 'ok2'].map((id) => hook.of(id).length)).toEqual([1, 1, 1])
      expect([await deliveries(metrics, 'delivered'), await deliveries(metrics, 'failed')]).toEqual([2, 1])
    })

    it("fails the lane naming this host's clock when Kafka refuses the letters' timestamps past the bound, never for ever", async () => {
      // The dlq topic on CreateTime (the broker's default here): the records stamped 2 h ahead of the
      // broker's clock, as a host with a fast clock stamps them (Kafka 4 refuses past 1 h).
      const hook = await receiver((res, r) => res.writeHead(r.alertId === 'gone' ? 410 : 204).end())
      let refused = 0
      const ahead = (real: TradepulseProducer): TradepulseProducer => ({
        connect: () => real.connect(),
        disconnect: () => real.disconnect(),
        sendBatch: (batch) =>
          real
            .sendBatch({
              ...batch,
              topicMessages: batch.topicMessages?.map((t) => ({
                ...t,
                messages: t.messages.map((m) => ({ ...m, timestamp: String(Date.now() + 2 * 3_600_000) })),
              })),
            })
            .catch((err: unknown) => {
              refused++
              throw err
            }),
      })
      const { dispatcher } = await startDispatcher(hook.url, {
        wrapProducer: ahead,
        deploymentFaultMs: 1_500,
      })
      await produceAlerts(['gone', 'ok1'])
      // Before: retried for ever (health degraded only); the worker never failed.
      const failure = await Promise.race([
        dispatcher.failed,
        new Promise<undefined>((r) => setTimeout(r, 20_000, undefined)),
      ])
      expect(refused).toBeGreaterThan(0)
      expect(failure?.message).toMatch(
        new RegExp(
          `^this host's clock, refused for 1500 ms: Kafka refused the timestamps of records for ${fx.dlqTopic} \\(INVALID_TIMESTAMP\\)`,
        ),
      )
      expect(describeInfraFailure(failure, { KAFKA_BROKERS: 'k:9092' })).toMatch(
        /^Kafka at k:9092 \(KAFKA_BROKERS\) failed: this host's clock, refused for 1500 ms/,
      )
      expect((await dispatcher.health()).detail).toMatch(
        /^desk tariff cannot write its webhook dead letters.*: clock ahead of Kafka$/,
      )
      // Nothing skipped: the failed delivery is not committed past.
      expect(await committed()).toEqual([-1, -1])
    })

    it('gives a delivery up without its dead letter when Kafka refuses the letter itself, so the partition moves on', async () => {
      // A dlq topic whose max.message.bytes no letter of a large alert fits.
      await fx.admin.deleteTopics({ topics: [fx.dlqTopic] })
      fx.dlqTopic = `${fx.dlqTopic}-small`
      await createTopics(kafkaBrokers, [
        { name: fx.dlqTopic, partitions: 1, config: { 'max.message.bytes': '2048' } },
      ])
      const hook = await receiver((res, r) => res.writeHead(r.alertId === 'gone' ? 410 : 204).end())
      const { dispatcher, metrics } = await startDispatcher(hook.url)
      await fx.producer.send({
        topic: fx.deskTopic,
        messages: [
          {
            partition: 0,
            key: 'gone',
            value: deskAlertValue('gone', { pad: 'x'.repeat(8_000) }),
            headers: { ce_id: 'gone' },
          },
          { partition: 0, key: 'ok1', value: deskAlertValue('ok1'), headers: { ce_id: 'ok1' } },
        ],
      })
      // Before: the letter was retried for ever (MESSAGE_TOO_LARGE every time) and offset 0 never committed,
      // so every restart posted ok1 again.
      await waitFor(async () => (await committed())[0] === 2, {
        what: 'offsets committed past the refused letter',
      })
      expect(await deliveries(metrics, 'dlq_refused')).toBe(1)
      expect(await deliveries(metrics, 'delivered')).toBe(1)
      expect(await dispatcher.health()).toEqual({ status: 'ok', ready: true })
    })

    it('a stop while the dead letter is refused leaves the delivery uncommitted; after a restart it is dead-lettered', async () => {
      const hook = await receiver((res, r) => res.writeHead(r.alertId === 'gone' ? 410 : 204).end())
      const { fault, wrap } = faultyDlq()
      const dlq = await collectDeadLetters()
      const first = await startDispatcher(hook.url, { wrapProducer: wrap })
      await produceAlerts(['gone', 'ok1'])
      await waitFor(() => fault.refused >= 1 && hook.of('ok1').length >= 1, { what: 'dead letter refused' })
      await first.dispatcher.stop()
      expect(await committed()).toEqual([-1, -1])

      await startDispatcher(hook.url)
      await waitFor(() => dlq.letters().length >= 1, { what: 'the dead letter after the restart' })
      await waitFor(async () => (await committed())[0] === 2, { what: 'offsets committed' })
      expect(dlq.letters().map((l) => l.origin)).toEqual([originOf(0, '0')])
      // At-least-once: both alerts were posted again by the restarted lane.
      expect(hook.of('gone')).toHaveLength(2)
      expect(hook.of('ok1')).toHaveLength(2)
    })
  })

  describe('a graceful stop', () => {
    it('lets the attempts in flight finish and commits them: none posted again after the restart; one still running at the deadline is', async () => {
      // The reviewer's case: a desk answering slowly, the lane stopped mid-delivery. Every attempt in flight
      // was aborted at once, nothing committed for it, and the restart paged the desk again for alerts it
      // had. `stuck` is never answered: its attempt is still running at the deadline.
      let slow = true
      const hook = await receiver((res, r) => {
        if (!slow) res.writeHead(204).end()
        else if (r.alertId !== 'stuck') setTimeout(() => res.writeHead(204).end(), 1_500)
      })
      const options = { concurrency: 4, timeoutMs: 60_000 }
      const first = await startDispatcher(hook.url, { options, stopDeadlineMs: 6_000 })
      await produceAlerts(['a1', 'a2'], 0)
      await produceAlerts(['b1', 'stuck'], 1)
      await waitFor(() => hook.received.length >= 4, { what: 'the four alerts posted, none answered yet' })
      expect(hook.received.filter((r) => r.ended)).toEqual([])

      const stopped = first.dispatcher.stop()
      // Taken no more once the stop is asked: left on Kafka for the restart.
      await produceAlerts(['late'], 0)
      await stopped
      // The slow answers came within the deadline and were committed; the attempt still running at the
      // deadline was aborted, its offset left uncommitted.
      expect(['a1', 'a2', 'b1', 'stuck'].map((id) => hook.of(id).map((r) => r.ended))).toEqual([
        ['answered'],
        ['answered'],
        ['answered'],
        ['dropped'],
      ])
      expect(hook.of('late')).toEqual([])
      expect(await committed()).toEqual([2, 1])

      slow = false
      await startDispatcher(hook.url, { options, stopDeadlineMs: 6_000 })
      await waitFor(async () => (await committed()).join() === '3,2', { what: 'all offsets committed' })
      // Each delivered alert reached the desk once; the one aborted at the deadline again (at-least-once).
      expect(['a1', 'a2', 'b1', 'late'].map((id) => hook.of(id).length)).toEqual([1, 1, 1, 1])
      expect(hook.of('stuck').map((r) => r.ended)).toEqual(['dropped', 'answered'])
    })

    it('with Kafka cut off, ends within its deadline on a line naming the step left undone and Kafka unreachable', async () => {
      // Every connection of the lane's client goes through a proxy in front of its broker. Cut, it passes
      // nothing more either way, on the connections open and on new ones: a network gone, every request
      // unanswered (the shared Kafka itself goes on).
      let cut = false
      const proxies = new Map<number, HostPort>()
      for (const b of (await fx.admin.describeCluster()).brokers) {
        const proxy = await tcpProxy({ host: b.host, port: b.port }, (client, upstream) => {
          client.on('data', (d: Buffer) => void (cut || upstream.write(d)))
          upstream.on('data', (d: Buffer) => void (cut || client.write(d)))
        })
        fx.cleanups.push(() => proxy.close())
        proxies.set(b.port, proxy)
      }
      const throughProxy: ISocketFactory = ({ host, port, onConnect }) => {
        const proxy = proxies.get(port)
        return netConnect({ host: proxy?.host ?? host, port: proxy?.port ?? port }, onConnect)
      }
      // a2 is answered a moment after Kafka is cut: its commit is the lane's last step on Kafka.
      const hook = await receiver((res, r) => {
        if (r.alertId === 'a1') res.writeHead(204).end()
        else setTimeout(() => res.writeHead(204).end(), 500)
      })
      const { log, lines } = createCapturingLogger<{ level: number; msg: string; component?: string }>('warn')
      const lane = await startDispatcher(hook.url, {
        stopDeadlineMs: 8_000,
        log,
        kafkaExtra: { socketFactory: throughProxy },
      })
      await produceAlerts(['a1'], 0)
      await waitFor(async () => (await committed())[0] === 1, { what: "a1's offset committed" })
      await produceAlerts(['a2'], 0)
      await waitFor(() => hook.of('a2').length === 1, { what: 'a2 posted' })

      cut = true
      await lane.dispatcher.stop()
      // The stop's own lines (kafkajs's are its client's): the last names the step and Kafka unreachable.
      const own = lines.filter((l) => l.level >= 50 && l.component !== 'kafkajs')
      const unreachable = 'Kafka unreachable: no answer to a new connection within 1000 ms; left undone'
      expect(own.map((l) => l.msg.replace(/within \d+ ms: /, 'within … ms: '))).toEqual([
        `desk tariff: webhook lane stopping: commit offsets not done within … ms: ${unreachable}`,
        `desk tariff: webhook lane stopping: disconnect consumer not waited for: ${unreachable}`,
      ])
      // a2 was delivered, its commit lost with Kafka: posted again after a restart (at-least-once).
      expect(hook.of('a2').map((r) => r.ended)).toEqual(['answered'])
      expect(await committed()).toEqual([1, -1])
    })
  })

  it('a member waiting on a slow endpoint gives its partition up at a rebalance in bounded time, and no alert is lost', async () => {
    // The first alert of each partition answered at once, the others held open until released: the first
    // member's other deliveries cannot finish by themselves within the test.
    let slow = true
    const held: ServerResponse[] = []
    const hook = await receiver((res, r) => {
      if (slow && !r.alertId.endsWith('-a0')) held.push(res)
      else res.writeHead(204).end()
    })
    const ids = [0, 1].flatMap((partition) => [0, 1, 2, 3].map((i) => `p${partition}-a${i}`))
    // Four requests at once: the first alerts of both partitions get a slot whichever batch starts first.
    const options = { timeoutMs: 100_000, concurrency: 4 }
    // On the topic before the member starts, so its first fetch brings both partitions (kafkajs fetches
    // again only once every batch of a fetch is done, and these are held).
    await produceAlerts(ids.slice(0, 4), 0)
    await produceAlerts(ids.slice(4), 1)
    const first = await startDispatcher(hook.url, { options })
    await waitFor(
      () => held.length >= 4 && ['p0-a0', 'p1-a0'].every((id) => hook.of(id)[0]?.ended === 'answered'),
      { what: "each partition's first alert delivered and the first member's next requests held" },
    )
    const openBefore = hook.received.filter((r) => !r.ended)

    // Joining waits for the group's rebalance, which waits for the first member to rejoin. Bounded: well
    // within kafkajs's 60 s rebalance timeout, after which the coordinator would drop the first member anyway
    // (had it waited on its deliveries, which run till their 100 s timeout).
    const { second, kept, gone } = await secondMemberJoins(first, hook.url, options)
    // It committed the unbroken run of what it had finished (each partition's first alert) before letting
    // its partition go.
    expect(await committed()).toEqual([1, 1])
    // It abandoned the requests of the partition it gave up (its new owner makes them again), and went on
    // with those of the one it kept.
    const openOf = (p: number) => openBefore.filter((r) => r.alertId.startsWith(`p${p}-`))
    await waitFor(() => openOf(gone).every((r) => r.ended), { what: 'abandoned requests closed' })
    expect(openOf(gone).map((r) => r.ended)).toEqual(openOf(gone).map(() => 'dropped'))
    expect(openOf(kept).map((r) => r.ended)).toEqual(openOf(kept).map(() => undefined))

    slow = false
    for (const res of held.splice(0)) if (!res.destroyed) res.writeHead(204).end()
    await waitFor(async () => (await committed()).every((o) => o === 4), { what: 'all offsets committed' })
    // Every alert answered 2xx at least once; none dead-lettered; each member delivered its partition.
    expect(ids.filter((id) => !hook.of(id).some((r) => r.ended === 'answered'))).toEqual([])
    // The alerts committed before the rebalance were not posted again by their partition's next owner, nor
    // any alert of the partition kept.
    expect([hook.of('p0-a0').length, hook.of('p1-a0').length]).toEqual([1, 1])
    expect([0, 1, 2, 3].map((i) => hook.of(`p${kept}-a${i}`).length)).toEqual([1, 1, 1, 1])
    const [dlqOffsets] = await fx.admin.fetchTopicOffsets(fx.dlqTopic)
    expect(dlqOffsets?.high).toBe('0')
    for (const m of [first.metrics, second.metrics]) {
      expect(await deliveries(m, 'delivered')).toBeGreaterThan(0)
      expect(await deliveries(m, 'failed')).toBe(0)
    }
  })

  describe('a rebalance that leaves this member a partition', () => {
    it("goes on with that partition's deliveries: none posted again, its commits correct; the partition it gave up is posted again by its new owner", async () => {
      // Each partition: `held` held open until released, `after` answered at once (delivered, but its
      // commit waits behind held).
      let holding = true
      const held: ServerResponse[] = []
      const hook = await receiver((res, r) => {
        if (holding && r.alertId.endsWith('-held')) held.push(res)
        else res.writeHead(204).end()
      })
      const options = { timeoutMs: 100_000, concurrency: 4 }
      const first = await startDispatcher(hook.url, { options })
      for (const p of [0, 1]) await produceAlerts([`p${p}-held`, `p${p}-after`], p)
      await waitFor(
        () => held.length === 2 && [0, 1].every((p) => hook.of(`p${p}-after`)[0]?.ended === 'answered'),
        { what: 'both held open and the alerts after them delivered' },
      )
      expect(await committed()).toEqual([-1, -1])

      const { kept, gone } = await secondMemberJoins(first, hook.url, options)
      // The partition given up: its new owner posts it again from the commit, held and after.
      await waitFor(() => hook.of(`p${gone}-held`).length === 2 && hook.of(`p${gone}-after`).length === 2, {
        what: 'the partition given up posted again by its new owner',
      })
      // A new alert on each partition, posted by its owner: the first member has read the partition it kept
      // again since the rebalance (from its commit, held's offset, so a re-post would have come first).
      for (const p of [0, 1]) await produceAlerts([`p${p}-new`], p)
      await waitFor(() => [0, 1].every((p) => hook.of(`p${p}-new`)[0]?.ended === 'answered'), {
        what: 'the new alerts delivered',
      })
      // Kept: held's request still open, nothing posted again.
      expect(hook.of(`p${kept}-held`).map((r) => r.ended)).toEqual([undefined])
      expect(hook.of(`p${kept}-after`)).toHaveLength(1)
      // Given up: the first member dropped its request (abandoned), the new owner's is held.
      expect(hook.of(`p${gone}-held`).map((r) => r.ended)).toEqual(['dropped', undefined])

      holding = false
      for (const res of held.splice(0)) if (!res.destroyed) res.writeHead(204).end()
      await waitFor(async () => (await committed()).every((o) => o === 3), { what: 'all offsets committed' })
      expect(hook.of(`p${kept}-held`).map((r) => r.ended)).toEqual(['answered'])
      const counts = (p: number) => ['held', 'after', 'new'].map((id) => hook.of(`p${p}-${id}`).length)
      expect(counts(kept)).toEqual([1, 1, 1])
      // At-least-once: what the first member had not committed of the partition it gave up, posted again.
      expect(counts(gone)).toEqual([2, 2, 1])
      expect(await deliveries(first.metrics, 'failed')).toBe(0)
    })

    it('keeps a delivery of that partition waiting for its retry: the attempts go on, the wait is not cut short', async () => {
      // Each partition's `bad`: its first request answered 503 asking for 5 s, any later one 204.
      const retryAfterS = 5
      const hook = await receiver((res, r) => {
        if (r.alertId.endsWith('-bad') && hook.of(r.alertId).length === 1)
          res.writeHead(503, { 'retry-after': String(retryAfterS) }).end()
        else res.writeHead(204).end()
      })
      const options = { maxAttempts: 3, retryAfterMaxMs: 60_000 }
      const first = await startDispatcher(hook.url, { options })
      for (const p of [0, 1]) await produceAlerts([`p${p}-bad`], p)
      await waitFor(() => [0, 1].every((p) => hook.of(`p${p}-bad`)[0]?.ended === 'answered'), {
        what: "both bad's first attempts",
      })

      const { kept, gone } = await secondMemberJoins(first, hook.url, options)
      await waitFor(() => hook.of(`p${gone}-bad`)[1]?.ended === 'answered', {
        what: 'the partition given up posted again by its new owner',
      })
      await produceAlerts([`p${kept}-new`], kept)
      await waitFor(() => hook.of(`p${kept}-new`)[0]?.ended === 'answered', {
        what: 'a new alert of the kept partition',
      })
      // Not posted again by the rebalance: its first attempt only, its wait still running.
      expect(hook.of(`p${kept}-bad`)).toHaveLength(1)

      await waitFor(async () => (await committed())[kept] === 2, {
        what: "the kept partition's offsets committed",
      })
      const attempts = hook.of(`p${kept}-bad`)
      expect(attempts.map((r) => r.ended)).toEqual(['answered', 'answered'])
      // Its second attempt, as Retry-After asked (a lower bound only: a loaded machine can only make it later).
      expect(attempts[1]!.atMs - attempts[0]!.atMs).toBeGreaterThanOrEqual(retryAfterS * 1_000 - 10)
      expect(await deliveries(first.metrics, 'delivered')).toBe(2)
    })

    it('reads the partition it keeps on from where a full queue stopped its batch: nothing posted twice, nothing skipped', async () => {
      let holding = true
      const held: ServerResponse[] = []
      const hook = await receiver((res, r) => {
        if (holding && r.alertId.endsWith('-held')) held.push(res)
        else res.writeHead(204).end()
      })
      // Each partition's `held` open fills the queue (two places): the batches that bring the `next` alerts
      // wait for room (heartbeating) when the rebalance comes, then give up and rejoin.
      const options = { timeoutMs: 100_000, concurrency: 2, queueMax: 2 }
      const first = await startDispatcher(hook.url, { options })
      for (const p of [0, 1]) {
        await produceAlerts([`p${p}-held`], p)
        await waitFor(() => hook.of(`p${p}-held`).length === 1, { what: `p${p}-held posted and held` })
      }
      // One request for both partitions: one fetch brings both batches, both wait.
      await fx.producer.send({
        topic: fx.deskTopic,
        messages: [0, 1].map((partition) => ({
          partition,
          key: `p${partition}-next`,
          value: deskAlertValue(`p${partition}-next`),
          headers: { ce_id: `p${partition}-next` },
        })),
      })

      const { kept, gone } = await secondMemberJoins(first, hook.url, options)
      await produceAlerts([`p${kept}-new`], kept)
      await waitFor(
        () =>
          hook.of(`p${kept}-new`)[0]?.ended === 'answered' &&
          hook.of(`p${gone}-next`)[0]?.ended === 'answered',
        { what: 'both members reading their partitions' },
      )
      // Kept: held's request still open, the alerts after it read on from where the batch stopped.
      expect(hook.of(`p${kept}-held`).map((r) => r.ended)).toEqual([undefined])
      expect(hook.of(`p${kept}-next`).map((r) => r.ended)).toEqual(['answered'])

      holding = false
      for (const res of held.splice(0)) if (!res.destroyed) res.writeHead(204).end()
      await waitFor(async () => (await committed())[kept] === 3 && (await committed())[gone] === 2, {
        what: 'all offsets committed',
      })
      expect(['held', 'next', 'new'].map((id) => hook.of(`p${kept}-${id}`).length)).toEqual([1, 1, 1])
      expect(hook.of(`p${kept}-held`).map((r) => r.ended)).toEqual(['answered'])
      // Given up: held abandoned by the first member and posted again by the new owner.
      expect(hook.of(`p${gone}-held`).map((r) => r.ended)).toEqual(['dropped', 'answered'])
      expect(hook.of(`p${gone}-next`).map((r) => r.ended)).toEqual(['answered'])
    })
  })
})

import type { Admin, Consumer, Kafka } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import type { Logger } from '../logger.ts'
import { createCapturingLogger } from '../logger.ts'
import { createMetrics, type Metrics } from '../metrics.ts'
import type { BatchRunnerConfig } from './batch-runner.ts'
import {
  probeInput,
  probeRunner,
  quietKafka,
  randomName,
  testCleanups,
  until,
  waitFor,
} from './int-test-support.ts'
import type { BatchHandler } from './records.ts'

/** A gauge's value in the registry the runner sets it in (of partition 0 for a labelled one), if any. */
async function gauge(metrics: Metrics, name: string): Promise<number | undefined> {
  const metric = metrics.registry.getSingleMetric(name)
  if (!metric) return undefined
  const { values } = await metric.get()
  return values.find((v) => v.labels.partition === undefined || v.labels.partition === '0')?.value
}

/** A handler that holds every batch with a record whose value starts with `hold` until `release()`. */
function holding() {
  let open: () => void = () => {}
  let gate = Promise.resolve()
  const handled: string[] = []
  let held = false
  const handler: BatchHandler = async (records) => {
    const values = records.map((r) => r.value!.toString())
    if (values.some((v) => v.startsWith('hold'))) {
      held = true
      await gate
      held = false
    }
    handled.push(...values)
    return records.map(() => ({ kind: 'ok' as const }))
  }
  return {
    handler,
    handled,
    isHeld: () => held,
    /** Holds the next batches with a `hold` record until release(). */
    close: () => {
      gate = new Promise<void>((r) => {
        open = r
      })
    },
    release: () => open(),
  }
}

describe('batch runner gauges while a batch is stuck', () => {
  const kafka = quietKafka(randomName('stalled-lag'))
  const { cleanups, connected } = testCleanups()
  /** An admin, a producer, and a fresh input topic with its group. */
  const input = () => probeInput(randomName('stalled-lag'), connected, cleanups)

  /**
   * A runner over `client` whose sweep runs every 200 ms (the heartbeat interval), reading the ends at
   * most every 100 ms after the last read ended, so every sweep may make one.
   */
  function start(
    client: Kafka,
    topic: string,
    groupId: string,
    handler: BatchHandler,
    opts: { log?: Logger; over?: Partial<BatchRunnerConfig>; seen?: (consumer: Consumer) => void } = {},
  ) {
    const metrics = createMetrics('probe')
    const runner = probeRunner(client, topic, groupId, handler, cleanups, {
      ...opts,
      over: { lagRefreshMs: 100, ...opts.over },
      metrics,
    })
    return { runner, metrics }
  }

  // Found by an overload review: with Redis stalled, a batch waited for minutes while ~20,000 headlines
  // piled up behind it, and the dashboard showed a lag of 182 (what the batch's start had seen) and no
  // sign of the batch itself until it ended.
  it('exports the records piling up behind a stuck batch, and its age, while it is stuck', async () => {
    const { producer, topic, groupId } = await input()
    const h = holding()
    h.close()
    const { runner, metrics } = start(kafka, topic, groupId, h.handler)
    // Released before the runner stops at the clean-up (clean-ups run last first): a stop waits for it.
    cleanups.push(async () => h.release())
    await runner.start()
    await runner.joined()
    await producer.send({ topic, messages: [{ value: 'hold' }] })
    await waitFor(() => h.isHeld(), 'the first batch held')
    // 50 more records come while the batch is stuck: none of them is fetched until it ends.
    await producer.send({ topic, messages: Array.from({ length: 50 }, (_, i) => ({ value: `behind-${i}` })) })
    // The gauge counts from the first record not yet handled, as it does at a batch's start: the stuck
    // batch's record and the 50 behind it.
    await until(async () => (await gauge(metrics, 'tradepulse_consumer_lag')) === 51, 'a lag of 51')
    await until(
      async () => ((await gauge(metrics, 'tradepulse_batch_in_flight_seconds')) ?? 0) > 0,
      'the stuck batch in flight',
    )
    expect(h.isHeld()).toBe(true)
    expect(h.handled).toEqual([])

    h.release()
    await waitFor(() => h.handled.length === 51, 'every record handled once released')
    await until(async () => (await gauge(metrics, 'tradepulse_consumer_lag')) === 0, 'a lag of 0')
    await until(
      async () => (await gauge(metrics, 'tradepulse_batch_in_flight_seconds')) === 0,
      'no batch in flight',
    )
  })

  it('never makes a read of the ends while one is under way, warns of failing ones once, and goes on', async () => {
    const { producer, topic, groupId } = await input()
    // The runner's admins, whose offsets requests first hang (until `answer`), then fail, then answer.
    let mode: 'hang' | 'fail' | 'answer' = 'hang'
    let answer: (err: Error) => void = () => {}
    const askedBy: Admin[] = []
    const faulty = Object.assign(Object.create(kafka) as Kafka, {
      admin: () => {
        const a = kafka.admin()
        const wrapped: Admin = Object.assign(Object.create(a) as Admin, {
          fetchTopicOffsets: async (t: string) => {
            askedBy.push(wrapped)
            if (mode === 'hang')
              await new Promise<void>((_, reject) => {
                answer = reject
              })
            if (mode === 'fail') throw new Error('broker unreachable (injected)')
            return a.fetchTopicOffsets(t)
          },
        })
        return wrapped
      },
    })
    const { lines, log } = createCapturingLogger<{ msg: string; level: number }>()
    const h = holding()
    h.close()
    const { runner, metrics } = start(faulty, topic, groupId, h.handler, { log })
    cleanups.push(async () => h.release())
    await runner.start()
    await runner.joined()
    await producer.send({ topic, messages: [{ value: 'hold' }] })
    await waitFor(() => h.isHeld(), 'the batch held')
    await waitFor(() => askedBy.length > 0, 'a read of the ends')
    // Many sweeps (every 200 ms) while the read hangs: none starts another.
    await until(
      async () => ((await gauge(metrics, 'tradepulse_batch_in_flight_seconds')) ?? 0) > 2,
      'ten sweeps with the read under way',
    )
    expect(askedBy).toHaveLength(1)

    // It fails, and so does every read after it, each on a fresh admin: one warning.
    mode = 'fail'
    answer(new Error('broker unreachable (injected)'))
    await waitFor(() => askedBy.length >= 4, 'three more reads')
    expect(new Set(askedBy).size).toBe(askedBy.length)
    const warned = () => lines.filter((l) => l.msg.startsWith('could not refresh the consumer lag'))
    expect(warned()).toHaveLength(1)
    expect(warned()[0]!.level).toBe(40)
    expect((await runner.health()).status).not.toBe('failed')

    // The worker goes on all along, and the lag is refreshed again once the ends are read.
    h.release()
    await waitFor(() => h.handled.length === 1, 'the held batch handled')
    h.close()
    await producer.send({ topic, messages: [{ value: 'hold-again' }] })
    await waitFor(() => h.isHeld(), 'the next batch held')
    await producer.send({ topic, messages: Array.from({ length: 9 }, (_, i) => ({ value: `behind-${i}` })) })
    mode = 'answer'
    await until(async () => (await gauge(metrics, 'tradepulse_consumer_lag')) === 10, 'a lag of 10')
    await waitFor(
      () => lines.some((l) => l.msg.startsWith("the partitions' ends are read again")),
      'the recovery logged',
    )
    expect(warned()).toHaveLength(1)
    h.release()
    await waitFor(() => h.handled.length === 11, 'every record handled')
  })
})

describe('batch runner health while records wait and none is taken', () => {
  const kafka = quietKafka(randomName('waiting'))
  const { cleanups, connected } = testCleanups()

  // Found by a review of an alerter catch-up under heavy load: its partitions were held with records
  // waiting and nothing taken while /healthz said ok. Fetches went on (kafkajs reports one with every
  // partition paused), and the hold check's clock started again each time the partitions were let go
  // and held again. Here the partition is paused from outside, as a hold that never ends would leave it.
  it('is degraded once records have waited past the stall limit with none taken, and ok once they are', async () => {
    const { producer, topic, groupId } = await probeInput(randomName('waiting'), connected, cleanups)
    const handled: string[] = []
    const handler: BatchHandler = async (records) => {
      handled.push(...records.map((r) => r.value!.toString()))
      return records.map(() => ({ kind: 'ok' as const }))
    }
    const consumers: Consumer[] = []
    const runner = probeRunner(kafka, topic, groupId, handler, cleanups, {
      over: { stallAfterMs: 1_500, lagRefreshMs: 100 },
      seen: (c) => consumers.push(c),
    })
    await runner.start()
    await runner.joined()
    await producer.send({ topic, messages: [{ value: 'first' }] })
    await waitFor(() => handled.length === 1, 'the first record handled')
    await until(async () => (await runner.health()).status === 'ok', 'ok after the first batch')

    consumers[0]!.pause([{ topic }])
    await producer.send({ topic, messages: [{ value: 'second' }, { value: 'third' }] })
    let detail: string | undefined
    await until(async () => {
      const h = await runner.health()
      detail = h.detail
      return h.status === 'degraded' && h.ready === false
    }, 'degraded with records waiting')
    expect(detail).toMatch(
      new RegExp(
        `^records waiting in 1 partitions \\(${topic}/0\\) and none taken for \\d+ ms, past the stall limit \\(1500 ms\\)$`,
      ),
    )
    expect(handled).toEqual(['first'])

    consumers[0]!.resume([{ topic }])
    await waitFor(() => handled.length === 3, 'the waiting records handled')
    await until(async () => (await runner.health()).status === 'ok', 'ok once records are taken')
  })
})

import type { Admin, Kafka } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { createCapturingLogger, createLogger } from '../logger.ts'
import { createMetrics, type Metrics } from '../metrics.ts'
import { createBatchRunner } from './batch-runner.ts'
import {
  probeRunnerConfig,
  probeTopic,
  quietKafka,
  randomName,
  testCleanups,
  until,
  waitFor,
} from './int-test-support.ts'
import { createProducer } from './kafka-client.ts'
import type { BatchHandler } from './records.ts'

const silent = createLogger({ level: 'silent' })

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

  function start(client: Kafka, topic: string, groupId: string, handler: BatchHandler, log = silent) {
    const metrics = createMetrics('probe')
    const runner = createBatchRunner(
      client,
      createProducer(kafka, silent),
      handler,
      // The sweep runs every 200 ms (the heartbeat interval): a read of the ends at most every 100 ms after
      // the last one ended, so every sweep may make one.
      probeRunnerConfig(topic, groupId, { lagRefreshMs: 100 }),
      log,
      metrics,
    )
    cleanups.push(() => runner.stop())
    return { runner, metrics }
  }

  // Found by an overload review: with Redis stalled, a batch waited for minutes while ~20,000 headlines
  // piled up behind it, and the dashboard showed a lag of 182 (what the batch's start had seen) and no
  // sign of the batch itself until it ended.
  it('exports the records piling up behind a stuck batch, and its age, while it is stuck', async () => {
    const admin = await connected(kafka.admin())
    const { topic, groupId } = await probeTopic(admin, randomName('stalled-lag'), cleanups)
    const h = holding()
    h.close()
    const { runner, metrics } = start(kafka, topic, groupId, h.handler)
    // Released before the runner stops at the clean-up (clean-ups run last first): a stop waits for it.
    cleanups.push(async () => h.release())
    await runner.start()
    await runner.joined()
    const producer = await connected(kafka.producer())
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
    const admin = await connected(kafka.admin())
    const { topic, groupId } = await probeTopic(admin, randomName('stalled-lag'), cleanups)
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
    const { runner, metrics } = start(faulty, topic, groupId, h.handler, log)
    cleanups.push(async () => h.release())
    await runner.start()
    await runner.joined()
    const producer = await connected(kafka.producer())
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

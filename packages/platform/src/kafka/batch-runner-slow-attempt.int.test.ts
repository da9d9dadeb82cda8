import { describe, expect, it } from 'vitest'
import { createCapturingLogger, createLogger } from '../logger.ts'
import { createMetrics } from '../metrics.ts'
import { type BatchRunner, createBatchRunner } from './batch-runner.ts'
import { probeRunnerConfig, quietKafka, randomName, testCleanups, until } from './int-test-support.ts'
import { createProducer, createTopicsWithLeaders, type TradepulseProducer } from './kafka-client.ts'
import type { BatchHandler, HandlerContext } from './records.ts'

const silent = createLogger({ level: 'silent' })

/**
 * The runner's stall limit here: seconds, not less, as a loaded machine stalls a process for a few hundred
 * ms now and then (see test/batch-runner.test.ts).
 */
const STALL_MS = 2_000

/** A gate: `wait` settles once `open` is called. */
function gate() {
  let open: () => void = () => {}
  const wait = new Promise<void>((resolve) => {
    open = resolve
  })
  return { wait, open: () => open() }
}

// One attempt of a stage (a produce, a handler call) may take minutes without failing: a broker that takes
// requests and stops answering (kafkajs's 30 s request timeout, times the producer's retries), a Redis call
// with REDIS_TIMEOUT_MS=0. Meanwhile the partition's fetcher waits for the batch and no fetch is reported:
// health said "failed: no fetch or batch for N ms" after the stall limit, and a liveness probe restarted a
// worker that was only waiting the fault out (its records done again, the group rebalanced).
describe('batch runner health while one attempt of a stage is slow', () => {
  const kafka = quietKafka(randomName('slow-attempt'))
  const { cleanups, connected } = testCleanups()

  /**
   * A runner with the stall limit STALL_MS on a fresh input topic, echoing each record to a fresh output
   * topic through `handler` first, its output sent with `producer` (the runner's own by default).
   */
  async function setUp(opts: {
    handler?: (values: string[], defer: HandlerContext['defer']) => Promise<void>
    producer?: (real: TradepulseProducer) => TradepulseProducer
    attemptStuckMs?: number
  }) {
    const admin = await connected(kafka.admin())
    const name = randomName('slow-attempt')
    const topics = { in: `${name}.in`, out: `${name}.out` }
    await createTopicsWithLeaders(admin, [
      { topic: topics.in, numPartitions: 1, replicationFactor: 1 },
      { topic: topics.out, numPartitions: 1, replicationFactor: 1 },
    ])
    cleanups.push(() => admin.deleteTopics({ topics: Object.values(topics) }))
    const handler: BatchHandler = async (records, ctx) => {
      await opts.handler?.(
        records.map((r) => r.value!.toString()),
        ctx.defer,
      )
      return records.map((r) => ({
        kind: 'ok' as const,
        out: [{ topic: topics.out, key: null, value: r.value! }],
      }))
    }
    const real = createProducer(kafka, silent)
    const { log, lines } = createCapturingLogger<{ level: number; msg: string; stage?: string }>()
    const runner = createBatchRunner(
      kafka,
      opts.producer ? opts.producer(real) : real,
      handler,
      probeRunnerConfig(topics.in, name, {
        stallAfterMs: STALL_MS,
        ...(opts.attemptStuckMs === undefined ? {} : { attemptStuckMs: opts.attemptStuckMs }),
      }),
      log,
      createMetrics('probe'),
    )
    cleanups.push(() => runner.stop())
    await runner.start()
    await runner.joined()
    const producer = await connected(kafka.producer())
    const outEnd = async () =>
      Number((await admin.fetchTopicOffsets(topics.out)).find((p) => p.partition === 0)!.high)
    /** What the runner logged of slow attempts. */
    const slowLines = () =>
      lines
        .filter((l) => /slow|past the stall limit/.test(l.msg))
        .map((l) => ({ level: l.level, msg: l.msg }))
    return { runner, producer, topics, outEnd, slowLines }
  }

  /**
   * Health polled for three stall limits while the attempt is held: every status seen, and the last
   * answer that was not ok.
   */
  async function healthWhileHeld(runner: BatchRunner) {
    const seen = new Set<string>()
    let last: { status: string; detail?: string } | undefined
    const t0 = performance.now()
    await until(async () => {
      const h = await runner.health()
      seen.add(h.status)
      if (h.status !== 'ok') last = { status: h.status, detail: h.detail }
      return performance.now() - t0 > 3 * STALL_MS
    }, 'three stall limits with the attempt held')
    return { seen: [...seen], last }
  }

  it('is degraded, not failed, while a produce attempt is under way past the stall limit, and ok once it returns', async () => {
    const held = gate()
    let holding = false
    let sends = 0
    const { runner, producer, topics, outEnd, slowLines } = await setUp({
      producer: (real) => ({
        ...real,
        sendBatch: async (batch) => {
          sends++
          // The broker took the request and does not answer (yet).
          if (holding) await held.wait
          return real.sendBatch(batch)
        },
      }),
    })
    cleanups.push(async () => held.open()) // before the runner's stop (clean-ups run last first)
    holding = true
    await producer.send({ topic: topics.in, messages: [{ value: 'slow' }] })
    await until(async () => sends > 0, 'the output sent')
    const { seen, last } = await healthWhileHeld(runner)
    expect(seen).not.toContain('failed')
    expect(last).toEqual({
      status: 'degraded',
      detail: expect.stringMatching(/^produce attempt under way for \d+ ms$/),
    })
    expect(Number(/for (\d+) ms/.exec(last!.detail!)![1])).toBeGreaterThan(2 * STALL_MS)
    expect(sends).toBe(1) // one attempt, never retried: a slow answer is no fault
    holding = false
    held.open()
    await until(async () => (await outEnd()) === 1, 'the output acknowledged')
    await until(async () => (await runner.health()).status === 'ok', 'ok again')
    expect(await runner.health()).toEqual({ status: 'ok', ready: true, detail: undefined })
    // Logged once as it passed the stall limit, and once as it returned.
    expect(slowLines()).toEqual([
      { level: 40, msg: 'a produce attempt is under way past the stall limit' },
      { level: 30, msg: 'the slow produce attempt returned' },
    ])
  })

  it('is degraded, not failed, while a handler call is under way past the stall limit, and ok once it returns', async () => {
    const held = gate()
    let calls = 0
    const { runner, producer, topics, outEnd } = await setUp({
      handler: async (values) => {
        calls++
        // A Redis call that hangs (REDIS_TIMEOUT_MS=0), until it answers.
        if (values.includes('slow')) await held.wait
      },
    })
    cleanups.push(async () => held.open())
    await producer.send({ topic: topics.in, messages: [{ value: 'slow' }] })
    await until(async () => calls > 0, 'the handler called')
    const { seen, last } = await healthWhileHeld(runner)
    expect(seen).not.toContain('failed')
    expect(last).toEqual({
      status: 'degraded',
      detail: expect.stringMatching(/^handler attempt under way for \d+ ms$/),
    })
    held.open()
    await until(async () => (await outEnd()) === 1, 'the output acknowledged')
    await until(async () => (await runner.health()).status === 'ok', 'ok again')
    expect(await runner.health()).toEqual({ status: 'ok', ready: true, detail: undefined })
    expect(calls).toBe(1)
  })

  it('is failed once an attempt outlasts attemptStuckMs (a call that will never settle), and ok once it returns', async () => {
    const held = gate()
    let calls = 0
    const { runner, producer, topics, outEnd } = await setUp({
      attemptStuckMs: 2 * STALL_MS,
      handler: async (values) => {
        calls++
        if (values.includes('stuck')) await held.wait
      },
    })
    cleanups.push(async () => held.open())
    await producer.send({ topic: topics.in, messages: [{ value: 'stuck' }] })
    await until(async () => calls > 0, 'the handler called')
    await until(async () => (await runner.health()).status === 'degraded', 'degraded past the stall limit')
    await until(async () => (await runner.health()).status === 'failed', 'failed past attemptStuckMs')
    expect(await runner.health()).toEqual({
      status: 'failed',
      ready: false,
      detail: expect.stringMatching(/^handler attempt under way for \d+ ms, past 4000 ms: stuck$/),
    })
    held.open()
    await until(async () => (await outEnd()) === 1, 'the output acknowledged')
    await until(async () => (await runner.health()).status === 'ok', 'ok again')
  })

  it("is degraded, not failed, while a batch waits past the stall limit on the handler's deferred work, and ok once it is done", async () => {
    // The aggregator defers a batch's last Redis writes (ctx.defer) and its partition's next batch waits on
    // them: a Redis that hangs holds that wait, and the fetcher with it.
    const held = gate()
    const handled: string[] = []
    let deferred = false
    const { runner, producer, topics, outEnd } = await setUp({
      handler: async (values, defer) => {
        handled.push(...values)
        if (values.includes('first') && defer) {
          deferred = true
          defer(held.wait.then(() => []))
        }
      },
    })
    cleanups.push(async () => held.open())
    await producer.send({ topic: topics.in, messages: [{ value: 'first' }] })
    await until(async () => handled.includes('first'), 'the first batch handled')
    expect(deferred).toBe(true)
    await producer.send({ topic: topics.in, messages: [{ value: 'second' }] })
    await until(async () => handled.includes('second'), 'the second batch handled, waiting on the first')
    const { seen, last } = await healthWhileHeld(runner)
    expect(seen).not.toContain('failed')
    expect(last).toEqual({
      status: 'degraded',
      detail: expect.stringMatching(/^handler attempt under way for \d+ ms$/),
    })
    held.open()
    await until(async () => (await outEnd()) === 2, 'both outputs acknowledged')
    await until(async () => (await runner.health()).status === 'ok', 'ok again')
    expect(await runner.health()).toEqual({ status: 'ok', ready: true, detail: undefined })
  })
})

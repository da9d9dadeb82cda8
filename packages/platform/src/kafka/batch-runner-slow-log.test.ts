import type { EachBatchPayload, Kafka } from 'kafkajs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createCapturingLogger } from '../logger.ts'
import { createMetrics } from '../metrics.ts'
import { type BatchRunnerConfig, createBatchRunner } from './batch-runner.ts'
import { until, waitFor } from './int-test-support.ts'
import type { TradepulseProducer } from './kafka-client.ts'
import type { BatchHandler } from './records.ts'

/**
 * Small, so that a slow attempt shows in milliseconds: health is read here only for an attempt's age, not
 * asserted (a loaded machine's pauses would upset that; batch-runner-slow-attempt.int.test.ts does it).
 */
const STALL_MS = 40

const cfg: BatchRunnerConfig = {
  worker: 'probe',
  groupId: 'g',
  topics: ['in'],
  dlqTopic: 'dlq',
  maxBatch: 10,
  fetchMaxWaitMs: 100,
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 3_000,
  maxBytesPerPartition: 1_048_576,
  partitionsConcurrency: 1,
  retryBaseMs: 10,
  retryMaxMs: 20,
  commitIntervalMs: 0, // kafkajs's autoCommit: no committer, so the fake needs no commitOffsets
  stallAfterMs: STALL_MS,
}

/** A gate: `wait` settles once `open` is called. */
function gate() {
  let open: () => void = () => {}
  const wait = new Promise<void>((resolve) => {
    open = resolve
  })
  return { wait, open: () => open() }
}

/** A batch the fake hands eachBatch: one record, on its own partition of `in`, with its heartbeat. */
type FakeBatch = { partition: number; value: string; heartbeat: () => Promise<void> }

/**
 * A fake Kafka whose consumer joins the batches' partitions of `in` at run and hands eachBatch each batch
 * (by default one of one record on partition 0); `resolved` has the offsets the runner resolved,
 * `batchRuns` eachBatch's promises.
 */
function fakeKafka(batches: FakeBatch[] = [{ partition: 0, value: 'slow', heartbeat: async () => {} }]) {
  const resolved: string[] = []
  const batchRuns: Promise<void>[] = []
  const listeners = new Map<string, ((e: unknown) => void)[]>()
  const emit = (event: string, e: unknown) => {
    for (const fn of listeners.get(event) ?? []) fn(e)
  }
  const kafka = {
    consumer() {
      return {
        events: { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', FETCH: 'fetch', CRASH: 'crash' },
        on(event: string, fn: (e: unknown) => void) {
          listeners.set(event, [...(listeners.get(event) ?? []), fn])
        },
        async connect() {},
        async subscribe() {},
        async run({ eachBatch }: { eachBatch: (p: EachBatchPayload) => Promise<void> }) {
          emit('join', { payload: { memberAssignment: { in: batches.map((b) => b.partition) } } })
          for (const { partition, value, heartbeat } of batches) {
            const payload = {
              batch: {
                topic: 'in',
                partition,
                highWatermark: '1',
                messages: [
                  { offset: '0', key: null, value: Buffer.from(value), timestamp: '0', headers: {} },
                ],
                lastOffset: () => '0',
              },
              resolveOffset: (offset: string) => resolved.push(offset),
              heartbeat,
              isRunning: () => true,
              isStale: () => false,
              pause: () => () => {},
            } as unknown as EachBatchPayload
            batchRuns.push(eachBatch(payload))
          }
        },
        pause() {},
        async disconnect() {},
      }
    },
  } as unknown as Kafka
  return { kafka, resolved, batchRuns }
}

type Line = { level: number; msg: string; stage?: string; ms?: number }

// An attempt of a stage under way past the stall limit is logged once, and again as it returns. Each
// attempt had a timer of its own for it (a setTimeout and a clearTimeout per handler call and produce);
// one sweep per runner logs them now, and must neither hold a process up nor outlive the stop. The same
// sweep asks for the heartbeats of the stages under way (each stage had an interval of its own for them).
describe('batch runner logging of slow attempts and heartbeating stages from one sweep', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it.each(['handler', 'produce'] as const)(
    'logs a %s attempt under way past the stall limit once, however long it stays, and again as it returns',
    async (stage) => {
      const held = gate()
      const handler: BatchHandler = async (records) => {
        if (stage === 'handler') await held.wait
        return records.map((r) => ({
          kind: 'ok' as const,
          out: [{ topic: 'out', key: null, value: r.value! }],
        }))
      }
      const producer: TradepulseProducer = {
        connect: async () => {},
        disconnect: async () => {},
        sendBatch: async () => {
          if (stage === 'produce') await held.wait // the broker took the request and does not answer (yet)
          return []
        },
      }
      const { kafka, resolved } = fakeKafka()
      const { log, lines } = createCapturingLogger<Line>()
      const runner = createBatchRunner(kafka, producer, handler, cfg, log, createMetrics('probe'))
      const slowLines = () => lines.filter((l) => /slow|past the stall limit/.test(l.msg))
      try {
        await runner.start()
        await waitFor(() => (slowLines().length > 0 ? true : undefined), 'the warning')
        // Many sweeps later (health tells the attempt's age), still the one warning.
        let age = 0
        await until(async () => {
          age = Number(/under way for (\d+) ms/.exec((await runner.health()).detail ?? '')?.[1] ?? 0)
          return age > 8 * STALL_MS
        }, 'eight stall limits with the attempt held')
        expect(slowLines()).toHaveLength(1)
        held.open()
        await waitFor(() => (resolved.length > 0 ? true : undefined), 'the batch resolved')
        expect(slowLines()).toEqual([
          {
            ...slowLines()[0],
            level: 40,
            msg: `a ${stage} attempt is under way past the stall limit`,
            stage,
            ms: expect.any(Number),
          },
          {
            ...slowLines()[1],
            level: 30,
            msg: `the slow ${stage} attempt returned`,
            stage,
            ms: expect.any(Number),
          },
        ])
        const [warned, returned] = slowLines()
        expect(warned!.ms).toBeGreaterThanOrEqual(STALL_MS)
        expect(returned!.ms).toBeGreaterThanOrEqual(age)
      } finally {
        held.open()
        await runner.stop()
      }
    },
  )

  it('sets only timers that never hold the process up, and none outlives its stop', async () => {
    const intervals: NodeJS.Timeout[] = []
    const setInterval = globalThis.setInterval
    vi.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, ms?: number) => {
      const timer = setInterval(fn, ms)
      intervals.push(timer)
      return timer
    }) as typeof globalThis.setInterval)
    const cleared = vi.spyOn(globalThis, 'clearInterval')
    const { kafka, resolved } = fakeKafka()
    const runner = createBatchRunner(
      kafka,
      { connect: async () => {}, disconnect: async () => {}, sendBatch: async () => [] },
      async (records) => records.map(() => ({ kind: 'ok' as const })),
      cfg,
      createCapturingLogger().log,
      createMetrics('probe'),
    )
    await runner.start()
    // The runner's one timer (its sweep, the stages' heartbeats too) must end with the stop.
    await waitFor(() => (resolved.length > 0 ? true : undefined), 'the batch resolved')
    expect(intervals.length).toBeGreaterThan(0)
    for (const timer of intervals) expect(timer.hasRef()).toBe(false)
    await runner.stop()
    // At once, not at the next tick.
    for (const timer of intervals) expect(cleared).toHaveBeenCalledWith(timer)
  })

  it("heartbeats the batches with a stage under way from the runner's one sweep: during a long attempt, not once it ends, no timer per stage", async () => {
    // Each stage (a handler call, a produce, with their retries) had an interval of its own for it.
    const intervals: NodeJS.Timeout[] = []
    const setInterval = globalThis.setInterval
    vi.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, ms?: number) => {
      const timer = setInterval(fn, ms)
      intervals.push(timer)
      return timer
    }) as typeof globalThis.setInterval)
    const beats = { a: 0, b: 0 }
    const [a, b] = [gate(), gate()]
    const { kafka, batchRuns } = fakeKafka([
      { partition: 0, value: 'a', heartbeat: async () => void beats.a++ },
      { partition: 1, value: 'b', heartbeat: async () => void beats.b++ },
    ])
    const handler: BatchHandler = async (records) => {
      await (records[0]!.value!.toString() === 'a' ? a.wait : b.wait)
      return records.map(() => ({ kind: 'ok' as const }))
    }
    const runner = createBatchRunner(
      kafka,
      { connect: async () => {}, disconnect: async () => {}, sendBatch: async () => [] },
      handler,
      { ...cfg, heartbeatIntervalMs: 20 },
      createCapturingLogger().log,
      createMetrics('probe'),
    )
    try {
      await runner.start()
      await waitFor(() => (beats.a > 2 && beats.b > 2 ? true : undefined), 'heartbeats during both attempts')
      a.open()
      await batchRuns[0]
      // b's attempt still under way: it goes on heartbeating, a's batch no more.
      const [afterA, sinceB] = [beats.a, beats.b]
      await waitFor(() => (beats.b > sinceB + 3 ? true : undefined), "b's heartbeats after a's batch ended")
      expect(beats.a).toBe(afterA)
      b.open()
      await batchRuns[1]
      expect(intervals).toHaveLength(1)
    } finally {
      a.open()
      b.open()
      await runner.stop()
    }
  })
})

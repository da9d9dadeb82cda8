import { ReplyError } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { TradepulseError } from '../errors.ts'
import type { BatchRunnerConfig } from '../kafka/batch-runner.ts'
import { retryingDetail, until } from '../kafka/int-test-support.ts'
import type { BatchHandler } from '../kafka/records.ts'
import { createCapturingLogger, createLogger } from '../logger.ts'
import { createMetrics } from '../metrics.ts'
import { createMemoryBus } from './memory-bus.ts'
import { createMemoryTransport } from './memory-transport.ts'
import { describeTransportConformance } from './transport.conformance.ts'

describeTransportConformance('in-memory bus', async () => {
  const bus = createMemoryBus()
  return {
    transport: createMemoryTransport(bus),
    env: {},
    produce: async (records) => bus.produce(records),
    read: async (topic) => {
      const out: { key: string | null; value: string; partition: number }[] = []
      for (let p = 0; p < bus.partitions(topic); p++) {
        for (const r of bus.read(topic, p, 0, Number.MAX_SAFE_INTEGER)) {
          out.push({ key: r.key?.toString() ?? null, value: r.value?.toString() ?? '', partition: p })
        }
      }
      return out
    },
    close: async () => {},
  }
})

/** A runner of group `group` (also its worker name) on topic 'in', dlq 'dlq'. */
const runnerConfig = (group: string, maxBatch: number): BatchRunnerConfig => ({
  worker: group,
  groupId: group,
  topics: ['in'],
  dlqTopic: 'dlq',
  maxBatch,
  fetchMaxWaitMs: 10,
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 500,
  maxBytesPerPartition: 1 << 20,
  partitionsConcurrency: 1,
  retryBaseMs: 10,
  retryMaxMs: 20,
  commitIntervalMs: 0,
})

describe('in-memory runner with event-time alignment', () => {
  it('takes a pass only within aheadMs of the partition furthest behind, so a sparse one does not run ahead', async () => {
    const bus = createMemoryBus()
    bus.createTopic('in', 2)
    bus.createTopic('dlq', 1)
    // Two keys that land on different partitions (found through a probe topic of two partitions).
    bus.createTopic('probe', 2)
    const partitionOf = (key: string) => {
      const before = bus.endOffset('probe', 0)
      bus.produce([{ topic: 'probe', key, value: '' }])
      return bus.endOffset('probe', 0) > before ? 0 : 1
    }
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
    const dense = keys.find((k) => partitionOf(k) === 0)!
    const sparse = keys.find((k) => partitionOf(k) === 1)!
    const MIN = 60_000
    // Dense: a record a minute for 500 minutes; sparse: one every 10 minutes over the same span.
    bus.produce(Array.from({ length: 500 }, (_, i) => ({ topic: 'in', key: dense, value: String(i * MIN) })))
    bus.produce(
      Array.from({ length: 50 }, (_, i) => ({ topic: 'in', key: sparse, value: String(i * 10 * MIN) })),
    )
    const seen: number[] = []
    let late = 0
    // Applied in the order given (as the aggregator applies a large batch, part after part).
    let newest = Number.NEGATIVE_INFINITY
    const handler: BatchHandler = async (records) => {
      for (const r of records) {
        const t = Number(r.value!.toString())
        if (t < newest - 20 * MIN) late++ // older than a grace of 20 min
        newest = Math.max(newest, t)
        seen.push(t)
      }
      return records.map(() => ({ kind: 'ok' as const }))
    }
    const runner = createMemoryTransport(bus).createRunner(
      handler,
      {
        ...runnerConfig('g', 100),
        align: { aheadMs: 10 * MIN, eventMs: (r) => Number(r.value!.toString()) },
      },
      createLogger({ level: 'silent' }),
      createMetrics('w'),
    )
    await runner.start()
    try {
      const until = Date.now() + 10_000
      while (seen.length < 550 && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
    } finally {
      await runner.stop()
    }
    expect(seen).toHaveLength(550)
    expect(late).toBe(0)
  })
})

/** Keys that land on partitions 0 .. n-1 of a topic of n partitions (found through a probe topic). */
function keysOnPartitions(bus: ReturnType<typeof createMemoryBus>, n: number): string[] {
  bus.createTopic('probe', n)
  const out: string[] = []
  for (let p = 0; p < n; p++) {
    for (let i = 0; ; i++) {
      const key = `k${i}`
      const before = bus.endOffset('probe', p)
      bus.produce([{ topic: 'probe', key, value: '' }])
      if (bus.endOffset('probe', p) > before) {
        out.push(key)
        break
      }
    }
  }
  return out
}

/**
 * Runs an aligned runner (aheadMs 10 min, event time = the value in minutes) over what `produce` put
 * on topic 'in' and returns the batches handed to the handler, as event times in minutes.
 */
async function alignedBatches(
  partitions: number,
  maxBatch: number,
  produce: (bus: ReturnType<typeof createMemoryBus>, keys: string[]) => number,
  align: Partial<NonNullable<BatchRunnerConfig['align']>> = {},
): Promise<{
  batches: number[][]
  byPartition: number[][]
  /** tradepulse_align_forced_total, and the warnings of forced steps. */
  forced: number
  forcedWarnings: { partitions: string[]; steps: number }[]
}> {
  const MIN = 60_000
  const bus = createMemoryBus()
  bus.createTopic('in', partitions)
  bus.createTopic('dlq', 1)
  const total = produce(bus, keysOnPartitions(bus, partitions))
  const batches: number[][] = []
  const byPartition: number[][] = Array.from({ length: partitions }, () => [])
  let seen = 0
  const { log, lines } = createCapturingLogger<{
    msg: string
    partitions: string[]
    steps: number
  }>()
  const metrics = createMetrics('w')
  const runner = createMemoryTransport(bus).createRunner(
    async (records) => {
      batches.push(records.map((r) => Number(r.value!.toString())))
      for (const r of records) byPartition[r.partition]!.push(Number(r.value!.toString()))
      seen += records.length
      return records.map(() => ({ kind: 'ok' as const }))
    },
    {
      ...runnerConfig('g', maxBatch),
      align: { aheadMs: 10 * MIN, eventMs: (r) => Number(r.value!.toString()) * MIN, ...align },
    },
    log,
    metrics,
  )
  await runner.start()
  try {
    const until = Date.now() + 4_000 // within the test's timeout
    while (seen < total && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
  } finally {
    await runner.stop()
  }
  const forced = (await metrics.alignForced.get()).values[0]?.value ?? 0
  const forcedWarnings = lines.filter((l) => l.msg.startsWith('event-time alignment forced a step'))
  return { batches, byPartition, forced, forcedWarnings }
}

/** Records handed over more than `aheadMs` (10 min) older than the newest of an earlier batch. */
function lateOf(batches: number[][]): { at: number; after: number }[] {
  const late: { at: number; after: number }[] = []
  let newest = Number.NEGATIVE_INFINITY
  for (const batch of batches) {
    for (const t of batch) if (t < newest - 10) late.push({ at: t, after: newest })
    for (const t of batch) newest = Math.max(newest, t)
  }
  return late
}

describe('in-memory runner with event-time alignment, partitions out of event-time order', () => {
  it('holds a partition at the oldest record it leaves, not its first one past the bound', async () => {
    // Partition 0 gives 100 before 20 (ingest reorders a partition's records); partition 1 is read
    // three records a pass. Cut at its first record past 70 + 10 min, partition 0 left 20 behind while
    // partition 1 handed on 40 and 70, and 20 came 50 min late.
    const { batches, byPartition } = await alignedBatches(2, 6, (bus, [a, b]) => {
      const put = (key: string, ts: number[]) =>
        bus.produce(ts.map((t) => ({ topic: 'in', key, value: String(t) })))
      put(a!, [0, 100, 20])
      put(b!, [10, 40, 70, 95, 130, 160])
      return 9
    })
    expect(byPartition).toEqual([
      [0, 100, 20],
      [10, 40, 70, 95, 130, 160],
    ])
    expect(lateOf(batches)).toEqual([])
  })

  it('when no cut takes anything, forces the least step that leaves none of the records read behind', async () => {
    // Two records a pass per partition: partition 0 reads 60 before 5, partition 1 cannot pass 5 +
    // 10 min without leaving 5 behind, and partition 0 cannot take 5 without 60. Stuck, they take
    // everything read (60 and 5, 16 and 17) and go on: every record comes, once, in its partition's order.
    const dense = Array.from({ length: 40 }, (_, i) => i)
    const { byPartition, forced, forcedWarnings } = await alignedBatches(2, 4, (bus, [a, b]) => {
      bus.produce([0, 60, 5].map((t) => ({ topic: 'in', key: a!, value: String(t) })))
      bus.produce(dense.map((t) => ({ topic: 'in', key: b!, value: String(t) })))
      return 43
    })
    expect(byPartition).toEqual([[0, 60, 5], dense])
    // Counted (every one), and warned of once, naming the partitions.
    expect(forced).toBeGreaterThanOrEqual(1)
    expect(forcedWarnings).toHaveLength(1)
    expect(forcedWarnings[0]).toMatchObject({ partitions: ['in/0', 'in/1'], steps: 1 })
  })

  it('forces nothing, and counts nothing, when a cut takes something', async () => {
    const { forced, forcedWarnings } = await alignedBatches(2, 6, (bus, [a, b]) => {
      const put = (key: string, ts: number[]) =>
        bus.produce(ts.map((t) => ({ topic: 'in', key, value: String(t) })))
      put(a!, [0, 5, 10, 15])
      put(b!, [1, 6, 11, 16])
      return 8
    })
    expect(forced).toBe(0)
    expect(forcedWarnings).toEqual([])
  })
})

describe('in-memory runner with event-time alignment for a worker writing per partition (stepWithinFetch)', () => {
  // Two partitions with 6 hours each, read whole in one pass: a worker writing per partition (the scorer,
  // ingest) wrote one partition's 6 hours before the other's, as the Kafka runner did before its step
  // within one fetch (see createPartitionAligner's stepWithinFetch); the memory runner ignored the option.
  const sixHoursEach = (bus: ReturnType<typeof createMemoryBus>, [a, b]: string[]) => {
    for (const key of [a!, b!])
      bus.produce(Array.from({ length: 360 }, (_, t) => ({ topic: 'in', key, value: String(t) })))
    return 720
  }
  const span = (batch: number[]) => Math.max(...batch) - Math.min(...batch)

  it('takes one read of several partitions a step of aheadMs at a time', async () => {
    const { batches, byPartition } = await alignedBatches(2, 1000, sixHoursEach, { stepWithinFetch: true })
    const all = Array.from({ length: 360 }, (_, t) => t)
    expect(byPartition).toEqual([all, all])
    expect(batches.length).toBeGreaterThan(1)
    for (const batch of batches) expect(span(batch)).toBeLessThanOrEqual(10)
  })

  it('takes such a read whole without the option (the aggregator and the alerter merge it in event-time order)', async () => {
    const { batches } = await alignedBatches(2, 1000, sixHoursEach)
    expect(batches.map((b) => b.length)).toEqual([720])
  })
})

describe('in-memory runners on a bus that drops what is consumed (keepConsumed)', () => {
  it('drops only what every group of the topic has handled: a slower group loses nothing', async () => {
    const bus = createMemoryBus({ keepConsumed: 100 })
    bus.createTopic('in', 1)
    bus.createTopic('dlq', 1)
    const seen = { fast: [] as number[], slow: [] as number[] }
    let slowOpen = false
    const runnerOf = (group: 'fast' | 'slow') =>
      createMemoryTransport(bus).createRunner(
        async (records) => {
          // The slow group waits until the fast one has handled everything.
          while (group === 'slow' && !slowOpen) await new Promise((r) => setTimeout(r, 5))
          for (const r of records) seen[group].push(Number(r.value!.toString()))
          return records.map(() => ({ kind: 'ok' as const }))
        },
        runnerConfig(group, 500),
        createLogger({ level: 'silent' }),
        createMetrics(group),
      )
    const runners = [runnerOf('fast'), runnerOf('slow')]
    for (const r of runners) await r.start()
    const waitFor = async (ok: () => boolean) => {
      const until = Date.now() + 10_000
      while (!ok() && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
    }
    try {
      bus.produce(Array.from({ length: 5_000 }, (_, i) => ({ topic: 'in', key: 'k', value: String(i) })))
      await waitFor(() => seen.fast.length >= 5_000)
      // Everything is still held: the slow group has handled nothing yet.
      expect(bus.read('in', 0, 0, 1)[0]?.offset).toBe(0)
      slowOpen = true
      await waitFor(() => seen.slow.length >= 5_000 && bus.committed('slow', 'in', 0) === 5_000)
    } finally {
      for (const r of runners) await r.stop()
    }
    const all = Array.from({ length: 5_000 }, (_, i) => i)
    expect(seen).toEqual({ fast: all, slow: all })
    // Both are past the end: what is left is the last 100 and at most a chunk more.
    const first = bus.read('in', 0, 0, 1)[0]!.offset
    expect(first).toBeGreaterThan(5_000 - 100 - 1_024)
    expect(first).toBeLessThanOrEqual(5_000 - 100)
  })
})

describe('in-memory runner health while it waits a fault out', () => {
  it('says the code, a short reason and the attempt, never the error text', async () => {
    const bus = createMemoryBus()
    bus.createTopic('in', 1)
    bus.createTopic('dlq', 1)
    bus.produce([{ topic: 'in', key: 'k', value: 'v' }])
    let failing = true
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.20.30.40:6379'), {
      code: 'ECONNREFUSED',
    })
    const handler: BatchHandler = async (records) => {
      if (failing)
        throw new TradepulseError('INFRA_REDIS', `Redis at 10.20.30.40:6379: ${refused.message}`, {
          cause: refused,
        })
      return records.map(() => ({ kind: 'ok' as const }))
    }
    const runner = createMemoryTransport(bus).createRunner(
      handler,
      runnerConfig('health', 10),
      createLogger({ level: 'silent' }),
      createMetrics('health'),
    )
    await runner.start()
    try {
      expect(await retryingDetail(runner)).toMatch(/^INFRA_REDIS: unreachable \(attempt \d+\)$/)
      failing = false
      await until(async () => (await runner.health()).status === 'ok', 'ok again')
    } finally {
      await runner.stop()
    }
  })
})

describe('in-memory runner warnings while it waits a fault out', () => {
  it('logs the first retry whole and then counts the rest, not a stack trace per attempt', async () => {
    // Redis full under noeviction: every retry of the batch logged its error whole, 80-90 lines of
    // 1.5-2 KB in 30 s per worker.
    const bus = createMemoryBus()
    bus.createTopic('in', 1)
    bus.createTopic('dlq', 1)
    bus.produce([{ topic: 'in', key: 'k', value: 'v' }])
    let failing = true
    const oom = "OOM command not allowed when used memory > 'maxmemory'."
    const handler: BatchHandler = async (records) => {
      if (failing) throw new TradepulseError('INFRA_REDIS', oom, { cause: new ReplyError(oom) })
      return records.map(() => ({ kind: 'ok' as const }))
    }
    const { log, lines } = createCapturingLogger<{
      level: number
      msg: string
      err?: { stack?: string }
      repeated?: number
      error?: string
    }>()
    const metrics = createMetrics(`warn-${Math.random().toString(36).slice(2)}`)
    const runner = createMemoryTransport(bus).createRunner(handler, runnerConfig('warn', 10), log, metrics)
    const retries = async () => ((await metrics.retries.get()).values ?? []).reduce((n, v) => n + v.value, 0)
    await runner.start()
    try {
      await until(async () => (await retries()) >= 20, '20 retries')
      failing = false
      await until(async () => bus.committed('warn', 'in', 0) === 1, 'the batch handled')
    } finally {
      await runner.stop()
    }
    const retried = await retries()
    const warnings = lines.filter((l) => l.msg.startsWith('infrastructure fault; retrying the batch'))
    const whole = warnings.filter((l) => l.err?.stack)
    expect(whole).toHaveLength(1)
    const summaries = warnings.filter((l) => l.repeated !== undefined)
    expect(warnings).toHaveLength(1 + summaries.length)
    expect(summaries.reduce((n, l) => n + l.repeated!, 0)).toBe(retried - 1)
    expect(summaries.at(-1)!.msg).toMatch(/cleared after \d+ s\)$/)
    expect(summaries.at(-1)!.error).toMatch(/^INFRA_REDIS: out of memory: OOM command not allowed/)
  })
})

describe('in-memory runner on record after record failing on the same Redis reply to one key', () => {
  it('stops as the Kafka runner does: failed() names the key, nothing dead-lettered or committed', async () => {
    const bus = createMemoryBus()
    bus.createTopic('in', 1)
    bus.createTopic('dlq', 1)
    bus.produce(Array.from({ length: 5 }, (_, i) => ({ topic: 'in', key: null, value: `v${i}` })))
    // A reply as ioredis gives it: its class's name, and the command it answered (over a real Redis:
    // kafka/batch-processor-redis.int.test.ts).
    const wrongType = () =>
      Object.assign(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), {
        name: 'ReplyError',
        command: { name: 'hincrby', args: ['tp:v1:indicator', 'count', '1'] },
      })
    const handler: BatchHandler = async () => {
      throw wrongType()
    }
    const runner = createMemoryTransport(bus).createRunner(
      handler,
      { ...runnerConfig('breaker', 10), redisReplyFailuresMax: 3 },
      createLogger({ level: 'silent' }),
      createMetrics('breaker'),
    )
    await runner.start()
    try {
      let failure: TradepulseError | undefined
      void runner.failed().then((err) => {
        failure = err
      })
      await until(async () => failure !== undefined, 'failed()')
      expect(failure?.message).toMatch(
        /^3 records in a row failed on the same Redis reply to HINCRBY on key "tp:v1:indicator": WRONGTYPE /,
      )
      expect(await runner.health()).toMatchObject({ status: 'failed' })
      expect(bus.endOffset('dlq', 0)).toBe(0)
      expect(bus.committed('breaker', 'in', 0)).toBe(0)
    } finally {
      await runner.stop()
    }
  })
})

describe('in-memory runner stopping while a handler runs', () => {
  it('dead-letters nothing a handler throws as it ends on its aborted signal: the records come again at the next start', async () => {
    // A handler that ends on its signal with an error of its own (an AbortError, here a plain Error: not
    // retriable) had its batch handled again one record at a time, each ending the same way, dead-lettered
    // as handler_error and committed.
    const bus = createMemoryBus()
    bus.createTopic('in', 1)
    bus.createTopic('dlq', 1)
    bus.produce([
      { topic: 'in', key: 'a', value: 'v0' },
      { topic: 'in', key: 'b', value: 'v1' },
    ])
    let began = false
    let resume: () => void = () => {}
    const handler: BatchHandler = async (records, { signal }) => {
      began = true
      if (!signal.aborted)
        await new Promise<void>((r) => {
          resume = r
        })
      if (signal.aborted) throw new Error('aborted')
      return records.map(() => ({ kind: 'ok' as const }))
    }
    const runner = createMemoryTransport(bus).createRunner(
      handler,
      runnerConfig('stop-guard', 10),
      createLogger({ level: 'silent' }),
      createMetrics('stop-guard'),
    )
    await runner.start()
    await until(async () => began, 'the handler under way')
    const stopped = runner.stop()
    resume()
    await stopped
    expect(bus.read('dlq', 0, 0, 10)).toEqual([])
    expect(bus.committed('stop-guard', 'in', 0)).toBe(0)
  })
})

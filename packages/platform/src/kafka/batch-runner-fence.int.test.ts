import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import { createLogger } from '../logger.ts'
import { redisAlignmentExchange } from '../redis/alignment-exchange.ts'
import { closeRedis, createRedis } from '../redis-client.ts'
import type { BatchRunnerConfig } from './batch-runner.ts'
import { probeRunner, quietKafka, randomName, testCleanups, until, waitFor } from './int-test-support.ts'
import { createTopicsWithLeaders } from './kafka-client.ts'
import type { BatchHandler } from './records.ts'

// A partition leaving its end with a burst (more than aheadMs of event time) fences its member until the
// other members have told their points since (see the runner's fenceIn). The fence held every partition
// of the member, its live ones too, and another member busy with a long batch (which neither fetches nor
// bounds until it ends) kept it up until that batch ended or a session timeout passed: a live record on
// the fenced member's other partition waited 7.8 s behind an 8 s batch, 10 s (the session timeout)
// behind a 20 s one.

function redisUrl(): string {
  const provided = (inject as (key: string) => unknown)('redisUrl')
  return typeof provided === 'string' ? provided : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
}

const MIN = 60_000
const T0 = Date.UTC(2024, 0, 1)
/** A record's value: `name:minutes`, its event time T0 plus those minutes. */
const eventMs: NonNullable<BatchRunnerConfig['align']>['eventMs'] = (r) =>
  T0 + Number(String(r.value).split(':')[1]) * MIN

describe('batch runners of two members, a burst fencing one', () => {
  const { cleanups, connected } = testCleanups()

  /**
   * Two members (A, B) of a group on a topic of four partitions, two each, aligned through Redis; B's
   * handler waits on `gate` for a record named `slow`.
   */
  async function twoMembers(opts: { fenceWaitMs?: number }) {
    const name = randomName('fence')
    const admin = await connected(quietKafka(`${name}-admin`).admin())
    const topic = `${name}.in`
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: 4, replicationFactor: 1 }])
    cleanups.push(() => admin.deleteTopics({ topics: [topic] }))
    const producer = await connected(quietKafka(`${name}-producer`).producer())
    const redis: Redis = createRedis(redisUrl(), createLogger({ level: 'silent' }), 'fence-test')
    const key = `test:align:{${randomBytes(6).toString('hex')}}`
    cleanups.push(async () => {
      await redis.unlink(key)
      await closeRedis(redis)
    })
    let open: () => void = () => {}
    const gate = new Promise<void>((r) => {
      open = r
    })
    const owner = new Map<number, number>()
    /** Per member, the values it handled, in order. */
    const handled: string[][] = [[], []]
    let slowStarted = false
    let slowDone = false
    const handler =
      (member: number): BatchHandler =>
      async (records) => {
        for (const r of records) {
          owner.set(r.partition, member)
          handled[member]!.push(String(r.value))
        }
        if (records.some((r) => String(r.value).startsWith('slow'))) {
          slowStarted = true
          await gate
          slowDone = true
        }
        return records.map(() => ({ kind: 'ok' as const }))
      }
    const groupId = randomName('fence')
    const runners = [0, 1].map((member) => {
      const exchange = redisAlignmentExchange(redis, key, 30_000)
      return probeRunner(quietKafka(`${name}-${member}`), topic, groupId, handler(member), cleanups, {
        over: {
          partitionsConcurrency: 4,
          // Long: before the fix, the fence lasted as long as the other member's batch, or this.
          sessionTimeoutMs: 30_000,
          heartbeatIntervalMs: 500,
          align: {
            aheadMs: 5 * MIN,
            eventMs,
            exchange,
            ...(opts.fenceWaitMs !== undefined ? { fenceWaitMs: opts.fenceWaitMs } : {}),
          },
        },
      })
    })
    cleanups.push(async () => open()) // before the runners stop (newest first)
    await runners[0]!.start()
    await runners[0]!.joined()
    await runners[1]!.start()
    await runners[1]!.joined()
    const send = (partition: number, ...values: string[]) =>
      producer.send({ topic, messages: values.map((value) => ({ partition, value })) })
    // Records on every partition until each member has handled two partitions' for two rounds in a row.
    let settled = 0
    for (let round = 0; settled < 2; round++) {
      if (round > 40) throw new Error(`no even split: ${JSON.stringify([...owner])}`)
      owner.clear()
      const values = [0, 1, 2, 3].map((p) => `warm${round}-${p}:99`)
      for (let p = 0; p < 4; p++) await send(p, values[p]!)
      await waitFor(() => values.every((v) => handled.flat().includes(v)), `warm-up round ${round} handled`)
      const counts = [0, 1].map((m) => [...owner.values()].filter((o) => o === m).length)
      settled = owner.size === 4 && counts[0] === 2 && counts[1] === 2 ? settled + 1 : 0
    }
    const ofA = [...owner].filter(([, m]) => m === 0).map(([p]) => p)
    const ofB = [...owner].filter(([, m]) => m === 1).map(([p]) => p)
    return {
      topic,
      redis,
      key,
      send,
      handled,
      ofA,
      ofB,
      open,
      slowStarted: () => slowStarted,
      slowDone: () => slowDone,
    }
  }

  it("takes a live record on the fenced member's other partition within the burst's reach while the fence waits on a member in a long batch", async () => {
    // The fence waits as long as it may: the live partition is not held by it at all.
    const m = await twoMembers({ fenceWaitMs: 120_000 })
    await m.send(m.ofB[0]!, 'slow:100')
    await waitFor(() => m.slowStarted(), "B's long batch under way")
    // A burst on A's first partition (90 to 100 min: 10 min, more than aheadMs), then a live record on its
    // other partition within the burst's reach (its oldest record plus aheadMs).
    await m.send(m.ofA[0]!, 'burst1:90', 'burst2:100')
    await until(async () => {
      const field = await m.redis.hget(m.key, `${m.topic}/${m.ofA[0]}`)
      return field !== null && !field.includes('"at":null')
    }, "A's burst told (fenced)")
    await m.send(m.ofA[1]!, 'live:93')
    await waitFor(() => m.handled[0]!.includes('live:93'), "A's live record handled", 15_000)
    // B's batch still under way (the test opens it only now), A's burst still fenced.
    expect(m.slowDone()).toBe(false)
    expect(m.handled[0]!.filter((v) => v.startsWith('burst'))).toEqual([])
    m.open()
    await waitFor(() => m.handled[0]!.includes('burst2:100'), "A's burst handled once B's batch is over")
    expect(m.handled[0]!.slice(-3)).toEqual(['live:93', 'burst1:90', 'burst2:100'])
  })

  it('lets a fence lapse after a few fetch rounds, not a session timeout, while the other member is in a long batch', async () => {
    const m = await twoMembers({})
    await m.send(m.ofB[0]!, 'slow:100')
    await waitFor(() => m.slowStarted(), "B's long batch under way")
    // A live record past the burst's reach waits for the burst, fenced until the fence lapses.
    await m.send(m.ofA[0]!, 'burst1:90', 'burst2:100')
    await m.send(m.ofA[1]!, 'live:100')
    await waitFor(() => m.handled[0]!.includes('live:100'), "A's live record handled", 15_000)
    expect(m.handled[0]!.filter((v) => v.startsWith('burst')).sort()).toEqual(['burst1:90', 'burst2:100'])
    expect(m.slowDone()).toBe(false) // B's batch is still under way: the test opens it only now
    m.open()
  })
})

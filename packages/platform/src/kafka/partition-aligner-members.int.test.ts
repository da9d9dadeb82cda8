import { randomBytes } from 'node:crypto'
import { describe, expect, inject, it } from 'vitest'
import { TradepulseError } from '../errors.ts'
import { createLogger } from '../logger.ts'
import { redisAlignmentExchange } from '../redis/alignment-exchange.ts'
import { closeRedis, createRedis } from '../redis-client.ts'
import { probeRunner, quietKafka, randomName, testCleanups, waitFor } from './int-test-support.ts'
import { createTopicsWithLeaders } from './kafka-client.ts'
import type { BatchHandler } from './records.ts'

// Two members of a group catching up a backlog side by side, aligned through the Redis exchange. One
// partition holds an old record (0 min) right after a newer one (60 min): its member cannot take the
// 60 before the other's partition reaches 55, and that one's 30 was held back for the 0, so both
// stayed held for ever (each member's health degraded, never failed, and a restart did it again).

function redisUrl(): string {
  const provided = (inject as (key: string) => unknown)('redisUrl')
  return typeof provided === 'string' ? provided : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
}

const MIN = 60_000
const T0 = Date.UTC(2024, 0, 1)

describe('batch runners of two members aligning a backlog through Redis', () => {
  const { cleanups, connected } = testCleanups()

  it('takes every record when one partition holds an old record behind a newer one', async () => {
    const name = randomName('align-members')
    const admin = await connected(quietKafka(`${name}-admin`).admin())
    const topic = `${name}.in`
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: 2, replicationFactor: 1 }])
    cleanups.push(() => admin.deleteTopics({ topics: [topic] }))
    const minutes = [
      [60, 0, 61, 62],
      [30, 31, 32, 33, 58, 64, 70],
    ]
    const producer = await connected(quietKafka(`${name}-producer`).producer())
    await producer.send({
      topic,
      messages: minutes.flatMap((ms, partition) => ms.map((m) => ({ partition, value: String(m) }))),
    })

    const redis = createRedis(redisUrl(), createLogger({ level: 'silent' }), 'align-members-test')
    const key = `test:align:{${randomBytes(6).toString('hex')}}`
    cleanups.push(async () => {
      await redis.unlink(key)
      await closeRedis(redis)
    })

    // The first member to start reads both partitions alone until the second joins: its batch waits
    // for that rebalance and is given up, so that both members start the backlog at the same join.
    let gated = true
    let waiting = false
    const handled: string[][] = [[], []]
    const handler =
      (member: number): BatchHandler =>
      async (records, { signal }) => {
        if (gated) {
          waiting = true
          await new Promise((resolve) =>
            signal.aborted ? resolve(undefined) : signal.addEventListener('abort', resolve, { once: true }),
          )
          gated = false
          throw new TradepulseError('SHUTDOWN', 'given up at the rebalance', { retriable: true })
        }
        handled[member]!.push(...records.map((r) => `${r.partition}:${r.value}`))
        return records.map(() => ({ kind: 'ok' as const }))
      }
    const groupId = randomName('align-members')
    const runners = [0, 1].map((member) =>
      probeRunner(quietKafka(`${name}-${member}`), topic, groupId, handler(member), cleanups, {
        over: {
          partitionsConcurrency: 2,
          align: {
            aheadMs: 5 * MIN,
            eventMs: (r) => T0 + Number(r.value) * MIN,
            exchange: redisAlignmentExchange(redis, key, 6_000),
          },
        },
      }),
    )
    await runners[0]!.start()
    await waitFor(() => waiting, "the first member's batch waiting for the second member")
    await runners[1]!.start()

    const all = minutes.flatMap((ms, partition) => ms.map((m) => `${partition}:${m}`)).sort()
    await waitFor(
      () => handled.flat().length >= all.length || undefined,
      'every record handled by the two members',
    )
    expect(handled.flat().sort()).toEqual(all)
    // Each member read one partition, the other's records held back by its points.
    expect(handled.map((h) => new Set(h.map((v) => v.split(':')[0])).size)).toEqual([1, 1])
  })
})

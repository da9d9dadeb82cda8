import type { Kafka } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { TradepulseError } from '../errors.ts'
import {
  probeRunner,
  probeTopic,
  randomName,
  takeoverClients,
  takingOver,
  testCleanups,
  until,
  waitFor,
} from './int-test-support.ts'
import type { BatchHandler } from './records.ts'

// A handler part way through a long batch is told of a rebalance by its signal (HandlerContext.signal),
// as it is of a stop: the member gives its partitions up at the handler's next slice, not once the batch
// is done (which the group, and the member joining, waited for, up to the rebalance timeout).
describe('batch runner telling a long batch of a rebalance', () => {
  const { cleanups, connected } = testCleanups()

  const runner = (kafka: Kafka, topic: string, groupId: string, handler: BatchHandler) =>
    // The group would wait 10 minutes for the first member to rejoin, and its session outlasts the batch:
    // only the member itself ends the wait.
    probeRunner(kafka, topic, groupId, handler, cleanups, {
      rebalanceTimeoutMs: 600_000,
      over: { maxBatch: 1_000, sessionTimeoutMs: 45_000 },
    })

  it('ends a batch under way at its next slice when a member joins: the new member gets the partition and every record, nothing committed unfinished', async () => {
    const name = randomName('rebalance-signal')
    // The second member to join takes the partition.
    const { first: kafkaA, second: kafkaB } = takeoverClients(name)
    const admin = await connected(kafkaA.admin())
    const { topic, groupId, committed } = await probeTopic(admin, name, cleanups)

    // 600 records in one batch, scored a slice of 50 ms per record: half a minute whole.
    const values = Array.from({ length: 600 }, (_, i) => `v${i}`)
    const producer = await connected(kafkaA.producer())
    await producer.send({ topic, messages: values.map((value) => ({ value })) })

    // The first member scores its batch as the scorer does: a slice, then a look at its signal.
    let scoredByA = 0
    let batchesA = 0
    let endedA = false
    const reasons: unknown[] = []
    const first = runner(kafkaA, topic, groupId, async (records, { signal }) => {
      batchesA++
      for (let i = 0; i < records.length; i++) {
        await new Promise((r) => setTimeout(r, 50))
        scoredByA++
        if (signal.aborted) {
          reasons.push(signal.reason)
          endedA = true
          throw new TradepulseError('SHUTDOWN', 'scoring stopped', { retriable: true })
        }
      }
      endedA = true
      return records.map(() => ({ kind: 'ok' as const }))
    })
    await first.start()
    await waitFor(() => (scoredByA >= 5 ? true : undefined), 'the first member part way through its batch')

    // A second member joins: the group rebalances, and waits for the first member to rejoin.
    const byB = takingOver(committed)
    let scoredByAWhenBJoined: number | undefined
    const second = runner(kafkaB, topic, groupId, byB.handler)
    void second.joined().then(() => {
      scoredByAWhenBJoined = scoredByA
    })
    await second.start()
    // The group has the second member once the first rejoined: before, only once its batch was done.
    const atJoin = await waitFor(() => scoredByAWhenBJoined, 'the second member joining', 60_000)
    expect(atJoin).toBeLessThan(values.length)
    // Every record done by the second member, from the group's position the first left (none committed).
    await until(async () => (await committed()) === values.length, 'every record committed')
    expect(byB.committedAtFirstRead).toEqual([-1]) // none
    expect(byB.done).toEqual(values)
    // The first member's batch ended part way, told by its signal, and its work was never committed.
    await waitFor(() => (endedA ? true : undefined), "the first member's handler ending")
    expect(scoredByA).toBeLessThan(values.length)
    expect(batchesA).toBe(1)
    expect(reasons).toHaveLength(1)
    expect(reasons[0]).toMatchObject({ code: 'SHUTDOWN', retriable: true })
    expect((reasons[0] as Error).message).toMatch(/rebalancing/)
  })
})

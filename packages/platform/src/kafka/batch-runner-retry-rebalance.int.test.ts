import type { Kafka } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { TradepulseError } from '../errors.ts'
import {
  probeRunner,
  probeTopic,
  randomName,
  startJoining,
  takeoverClients,
  takingOver,
  testCleanups,
  until,
  waitFor,
} from './int-test-support.ts'
import type { BatchHandler } from './records.ts'

describe('batch runner retrying a stage through a fault at a rebalance', () => {
  const { cleanups, connected } = testCleanups()

  const runner = (
    kafka: Kafka,
    topic: string,
    groupId: string,
    handler: BatchHandler,
    rebalanceTimeoutMs?: number,
  ) => probeRunner(kafka, topic, groupId, handler, cleanups, { rebalanceTimeoutMs })

  it('gives the batch up at a rebalance instead of retrying the fault while the group waits, losing nothing', async () => {
    const name = randomName('retry-rebalance')
    // The second member to join takes the partition.
    const { first: kafkaA, second: kafkaB } = takeoverClients(name)
    const admin = await connected(kafkaA.admin())
    const { topic, groupId, committed } = await probeTopic(admin, name, cleanups)

    // The first member's stage fails with an infrastructure fault on every attempt once `faulting`
    // (Redis down, say), and the fault never clears while the test runs.
    let faulting = false
    let attempts = 0
    const doneByA: string[] = []
    const first = runner(
      kafkaA,
      topic,
      groupId,
      async (records) => {
        if (faulting) {
          attempts++
          throw new TradepulseError('INFRA_REDIS', 'Redis down (test)')
        }
        doneByA.push(...records.map((r) => r.value!.toString()))
        return records.map(() => ({ kind: 'ok' as const }))
      },
      // The group would wait 10 minutes for this member to rejoin: only the member itself can end the wait.
      600_000,
    )
    await first.start()
    const producer = await connected(kafkaA.producer())
    await producer.send({ topic, messages: [{ value: 'v0' }] })
    await until(async () => (await committed()) === 1, 'v0 committed')

    faulting = true
    await producer.send({ topic, messages: [{ value: 'v1' }, { value: 'v2' }] })
    await waitFor(
      () => (attempts >= 3 ? true : undefined),
      'the first member retrying v1 and v2 with backoff',
    )

    // A second member joins: the group rebalances, and the first member's heartbeats say so while its
    // stage retries.
    const byB = takingOver(committed)
    const second = runner(kafkaB, topic, groupId, byB.handler)
    await startJoining(second, "the second member joining while the first member's stage retries a fault")
    // The second member owns the partition now and reads what the first left unfinished, from where the
    // group's position was left (nothing committed past v0), while the first member's fault persists.
    await until(async () => (await committed()) === 3, 'v1 and v2 committed by the second member')
    expect(faulting).toBe(true)
    expect(doneByA).toEqual(['v0'])
    expect(byB.committedAtFirstRead).toEqual([1])
    expect(byB.done).toEqual(['v1', 'v2'])
  })
})

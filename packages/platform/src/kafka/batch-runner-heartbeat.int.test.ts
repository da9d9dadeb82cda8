import { describe, expect, it } from 'vitest'
import {
  probeRunner,
  probeTopic,
  quietKafka,
  randomName,
  startJoining,
  testCleanups,
  until,
  waitFor,
} from './int-test-support.ts'
import type { BatchHandler } from './records.ts'

describe('batch runner heartbeats while it waits on a deferred batch', () => {
  const kafka = quietKafka(randomName('heartbeat'))
  const { cleanups, connected } = testCleanups()

  const runner = (topic: string, groupId: string, handler: BatchHandler, rebalanceTimeoutMs?: number) =>
    probeRunner(kafka, topic, groupId, handler, cleanups, { rebalanceTimeoutMs })

  it('rejoins at a rebalance instead of holding the group until the deferred batch is done, losing nothing', async () => {
    const admin = await connected(kafka.admin())
    const { topic, groupId, committed } = await probeTopic(admin, randomName('heartbeat'), cleanups)

    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let holding = true
    const handled: string[] = []
    const handler: BatchHandler = async (records, ctx) => {
      const values = records.map((r) => r.value!.toString())
      handled.push(...values)
      // v0's batch finishes its effects only once released.
      if (holding && values.includes('v0') && ctx.defer) {
        holding = false
        ctx.defer(held.then(() => []))
      }
      return records.map(() => ({ kind: 'ok' as const }))
    }
    // The group would wait 10 minutes for this member to rejoin: only the member itself can end the wait.
    const first = runner(topic, groupId, handler, 600_000)
    // Released before the runners stop at the clean-up (clean-ups run last first): a stop waits for it.
    cleanups.push(async () => release())
    await first.start()
    const producer = await connected(kafka.producer())
    await producer.send({ topic, messages: [{ value: 'v0' }] })
    await waitFor(() => (handled.includes('v0') ? true : undefined), 'v0 handled')
    // v1's batch is handled and waits on v0's, heartbeating.
    await producer.send({ topic, messages: [{ value: 'v1' }] })
    await waitFor(() => (handled.includes('v1') ? true : undefined), 'v1 handled')

    // A second member joins: the group rebalances, and the first member's heartbeat says so.
    const second = runner(topic, groupId, handler)
    cleanups.push(async () => release())
    handled.length = 0
    await startJoining(second, 'the second member joining while the first has a deferred batch outstanding')
    // Whichever member owns the partition now reads both records again (nothing of the first member's
    // batches was marked done) and commits them, while the first member's deferred work is still held.
    await until(async () => (await committed()) === 2, 'both records committed')
    expect(handled).toEqual(['v0', 'v1'])
    release()
  })
})

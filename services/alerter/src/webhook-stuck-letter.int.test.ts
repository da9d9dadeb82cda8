import type { DeadLetter } from '@tradepulse/contracts'
import type { TradepulseProducer } from '@tradepulse/platform'
import { collectTopic, createTopics, randomName, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { testKafka } from '@tradepulse/testing/kafka'
import { afterEach, describe, expect, it } from 'vitest'
import { listenForWebhooks, sendDeskAlerts, testLane } from './kafka-set-up.ts'
import { notEnoughReplicas } from './test-kafka-faults.ts'
import { ALERT_ID_HEADER } from './webhook-signature.ts'

const DESK = 'tariff'

describe('a webhook dead letter refused for as long as the fault lasts (NOT_ENOUGH_REPLICAS on the dlq)', () => {
  const { kafkaBrokers } = testInfra()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('pauses its partition at uncommittedMax alerts taken after it, the other read on; resumed once written, none posted twice', async () => {
    const prefix = randomName('stuck-letter')
    const deskTopic = `${prefix}.alerts.desk.${DESK}.v1`
    const dlqTopic = `${prefix}.dlq`
    const groupId = `${prefix}.alerter.webhooks`
    await createTopics(kafkaBrokers, [
      { name: deskTopic, partitions: 2 },
      { name: dlqTopic, partitions: 1 },
    ])
    const producer = await testProducer(kafkaBrokers)
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    cleanups.push(
      () => producer.disconnect(),
      () => admin.disconnect(),
    )
    const dlq = await collectTopic(kafkaBrokers, dlqTopic)
    cleanups.push(dlq.stop)

    const posted: string[] = []
    const url = await listenForWebhooks(cleanups, (req, res) => {
      req.resume()
      req.on('end', () => {
        const id = String(req.headers[ALERT_ID_HEADER])
        posted.push(id)
        res.writeHead(id === 'a0' ? 410 : 204).end()
      })
    })
    // The dlq short of in-sync replicas while `down`: the letter of a0 (gone for good, 410) is retried for as
    // long as it lasts.
    const fault = { down: true, refused: 0 }
    const shortOfReplicas = (real: TradepulseProducer): TradepulseProducer => ({
      connect: () => real.connect(),
      disconnect: () => real.disconnect(),
      sendBatch: async (batch) => {
        if (!fault.down) return real.sendBatch(batch)
        fault.refused++
        throw notEnoughReplicas()
      },
    })
    const UNCOMMITTED_MAX = 5
    const { dispatcher, metrics } = testLane({
      kafkaBrokers,
      cleanups,
      target: { deskId: DESK, url, secret: 's', topic: deskTopic },
      groupId,
      dlqTopic,
      options: { uncommittedMax: UNCOMMITTED_MAX },
      wrapProducer: shortOfReplicas,
    })
    await dispatcher.start()
    const send = (ids: string[], partition: number) => sendDeskAlerts(producer, deskTopic, ids, partition)
    const ids = (letter: string, n: number) => Array.from({ length: n }, (_, i) => `${letter}${i}`)
    const count = (id: string) => posted.filter((p) => p === id).length
    const held = async () => (await metrics.webhookHeld.get()).values[0]?.value ?? 0
    const committed = async () => {
      const [t] = await admin.fetchOffsets({ groupId: `${groupId}.${DESK}`, topics: [deskTopic] })
      return (t?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((q) => Number(q.offset))
    }

    await send(ids('a', 12), 0)
    // Before: never paused; every alert of the partition was taken, each delivered and none committed.
    await waitFor(async () => (await held()) === 1 || count('a11') > 0, { what: 'paused, or all taken' })
    expect(await held()).toBe(1)
    // Taken: a0 and the 5 after it; the rest wait on Kafka.
    await waitFor(() => ids('a', 6).every((id) => count(id) === 1), { what: 'a0 to a5 posted' })
    expect(ids('a', 12).map(count)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    // The other partition reads on, its alerts committed.
    await send(ids('b', 4), 1)
    await waitFor(async () => (await committed())[1] === 4, { what: 'partition 1 committed' })
    expect(ids('b', 4).map(count)).toEqual([1, 1, 1, 1])
    expect(fault.refused).toBeGreaterThan(0)
    expect((await committed())[0]).toBe(-1)
    expect((await dispatcher.health()).detail).toContain(
      `desk ${DESK} reads no more of partition 0: ${UNCOMMITTED_MAX} alerts taken after its unfinished delivery at offset 0`,
    )
    expect(ids('a', 12).map(count)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0])

    fault.down = false
    await waitFor(async () => (await committed())[0] === 12, { what: 'partition 0 committed to its end' })
    // Read again from where the pause left it: each alert posted once, a0 dead-lettered.
    expect(ids('a', 12).map(count)).toEqual(Array(12).fill(1))
    await waitFor(() => dlq.messages.length >= 1, { what: 'the dead letter' })
    expect(dlq.messages.map((m) => (JSON.parse(m.value!.toString()) as DeadLetter).origin.offset)).toEqual([
      '0',
    ])
    expect(await held()).toBe(0)
    expect(await dispatcher.health()).toEqual({ status: 'ok', ready: true })
  })
})

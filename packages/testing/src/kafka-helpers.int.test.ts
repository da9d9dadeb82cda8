import type { Producer } from 'kafkajs'
import { afterEach, describe, expect, it } from 'vitest'
import { collectTopic, createTopics, groupCommittedToEnd, testKafka, testProducer } from './kafka-helpers.ts'
import { randomName } from './random-name.ts'
import { testInfra } from './test-env.ts'
import { waitFor } from './wait-for.ts'

const { kafkaBrokers } = testInfra()

describe('collectTopic', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {})
  })

  async function topicWithProducer(partitions = 1): Promise<{ topic: string; producer: Producer }> {
    const topic = randomName('collect')
    await createTopics(kafkaBrokers, [{ name: topic, partitions }])
    const producer = await testProducer(kafkaBrokers)
    cleanups.push(() => producer.disconnect())
    return { topic, producer }
  }

  async function collect(topic: string) {
    const collected = await collectTopic(kafkaBrokers, topic)
    cleanups.push(collected.stop)
    return collected
  }

  // It returned before its consumer had joined its group, let alone fetched: "nothing has arrived" held
  // at its return whatever the topic held, and a test asserting that proved nothing.
  it('holds, at its return, every record the topic held before it was called, on every partition', async () => {
    const { topic, producer } = await topicWithProducer(3)
    await producer.send({
      topic,
      messages: [0, 1, 2].flatMap((partition) => [
        { partition, key: `p${partition}-a`, value: 'a' },
        { partition, key: `p${partition}-b`, value: 'b' },
      ]),
    })
    const collected = await collect(topic)
    expect(collected.messages.map((m) => m.key).sort()).toEqual([
      'p0-a',
      'p0-b',
      'p1-a',
      'p1-b',
      'p2-a',
      'p2-b',
    ])
  })

  it('returns on an empty topic with nothing, and collects what is sent after', async () => {
    const { topic, producer } = await topicWithProducer(2)
    const collected = await collect(topic)
    expect(collected.messages).toEqual([])
    await producer.send({ topic, messages: [{ partition: 1, key: 'after', value: 'x' }] })
    const [m] = await waitFor(() => collected.messages.length > 0 && collected.messages, {
      what: 'the record sent after',
    })
    expect(m).toMatchObject({ topic, partition: 1, key: 'after', value: Buffer.from('x') })
  })

  it('returns with the committed records before a transaction left open, which it does not wait for', async () => {
    const { topic, producer } = await topicWithProducer()
    await producer.send({ topic, messages: [{ key: 'committed', value: 'x' }] })
    const transactional = testKafka(kafkaBrokers).producer({
      transactionalId: randomName('collect-tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    })
    await transactional.connect()
    cleanups.push(() => transactional.disconnect())
    const tx = await transactional.transaction()
    cleanups.push(() => tx.abort())
    await tx.send({ topic, messages: [{ key: 'open', value: 'y' }] })
    const collected = await collect(topic)
    expect(collected.messages.map((m) => m.key)).toEqual(['committed'])
    await tx.commit()
    await waitFor(() => collected.messages.length > 1, { what: 'the record of the committed transaction' })
    expect(collected.messages.map((m) => m.key)).toEqual(['committed', 'open'])
  })

  // A header given twice came as one string of its values joined with commas: two headers `a` and `b`
  // looked like one header `a,b`, and a test could not tell which a worker wrote.
  it('keeps a header given twice as the list of its values, and one given once as its value', async () => {
    const { topic, producer } = await topicWithProducer()
    await producer.send({
      topic,
      messages: [{ key: 'k', value: 'v', headers: { twice: ['a', 'b'], once: 'a,b', empty: '' } }],
    })
    const collected = await collect(topic)
    const [m] = await waitFor(() => collected.messages.length > 0 && collected.messages, {
      what: 'the record',
    })
    expect(m!.headers).toEqual({ twice: ['a', 'b'], once: 'a,b', empty: '' })
  })

  // An absence asserted right after a write proves nothing until the collector has read that far.
  it('has read, once caughtUp() resolves, every record written before it was called', async () => {
    const { topic, producer } = await topicWithProducer(2)
    const collected = await collect(topic)
    for (let round = 0; round < 5; round++) {
      await producer.send({
        topic,
        messages: [0, 1].map((partition) => ({ partition, key: `${round}-${partition}`, value: 'x' })),
      })
      await collected.caughtUp()
      expect(collected.messages).toHaveLength(2 * (round + 1))
    }
  })
})

describe('groupCommittedToEnd', () => {
  it('is true only once the group has committed every partition that holds records to its end', async () => {
    const topic = randomName('committed')
    await createTopics(kafkaBrokers, [{ name: topic, partitions: 2 }])
    const producer = await testProducer(kafkaBrokers)
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    try {
      await producer.send({
        topic,
        messages: [
          { partition: 0, value: 'a' },
          { partition: 0, value: 'b' },
        ],
      })
      const groupId = randomName('committed-group')
      expect(await groupCommittedToEnd(kafkaBrokers, groupId, [topic])).toBe(false)
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }] })
      expect(await groupCommittedToEnd(kafkaBrokers, groupId, [topic])).toBe(false)
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '2' }] })
      // Partition 1 holds nothing: nothing to commit there.
      expect(await groupCommittedToEnd(kafkaBrokers, groupId, [topic])).toBe(true)
    } finally {
      await admin.disconnect()
      await producer.disconnect()
    }
  })
})

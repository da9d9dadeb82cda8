import type { Socket } from 'node:net'
import { type Admin, Kafka, logLevel } from 'kafkajs'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../logger.ts'
import { tcpProxy } from '../net-test-support.ts'
import { kafkaBrokers, randomName, waitFor } from './int-test-support.ts'
import { createTopicsWithLeaders } from './kafka-client.ts'
import { createKafkaTransport } from './kafka-transport.ts'

/**
 * A TCP proxy to the broker, given to the client as its bootstrap address: while down it closes every
 * connection at once, as an unreachable Kafka looks to kafkajs (the broker's metadata names the broker's
 * own address, so once up only the bootstrap goes through here).
 */
async function bootstrapProxy(target: string): Promise<{
  address: string
  up: boolean
  stalled: boolean
  open(): number
  release(): void
  close(): Promise<void>
}> {
  const [host, port] = [
    target.slice(0, target.lastIndexOf(':')),
    Number(target.slice(target.lastIndexOf(':') + 1)),
  ]
  const clients = new Set<Socket>()
  const state = { up: false, stalled: false }
  // While stalled, a connection is accepted but held (nothing passes) until release(): a connect under way.
  const held: (() => void)[] = []
  const proxy = await tcpProxy({ host, port }, (client, upstream) => {
    if (!state.up) {
      client.destroy()
      return
    }
    clients.add(client)
    client.on('close', () => clients.delete(client))
    const forward = () => client.pipe(upstream).pipe(client)
    if (state.stalled) held.push(forward)
    else forward()
  })
  return Object.assign(state, {
    address: `${proxy.host}:${proxy.port}`,
    /** Client connections open through the proxy (held ones included). */
    open: () => clients.size,
    release: () => {
      state.stalled = false
      for (const go of held.splice(0)) go()
    },
    close: proxy.close,
  })
}

describe('Kafka publisher after Kafka was unreachable at its first send', () => {
  const brokers = kafkaBrokers()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {})
  })

  async function withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = new Kafka({ clientId: 'publisher-test', brokers, logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    try {
      return await work(admin)
    } finally {
      await admin.disconnect()
    }
  }

  it('connects again at the next send once Kafka is back, and the record arrives', async () => {
    const topic = `${randomName('publisher-reconnect')}.out`
    await withAdmin((admin) =>
      createTopicsWithLeaders(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }]),
    )
    cleanups.push(() => withAdmin((admin) => admin.deleteTopics({ topics: [topic] })))
    const proxy = await bootstrapProxy(brokers[0]!)
    cleanups.push(() => proxy.close())

    const transport = createKafkaTransport(
      { brokers: [proxy.address], clientId: randomName('publisher') },
      createLogger({ level: 'silent' }),
    )
    const publisher = transport.createPublisher()
    cleanups.push(() => publisher.close())

    // Down for longer than kafkajs's connect retries (createKafka's): the first send fails.
    await expect(publisher.send([{ topic, key: 'k', value: 'while down' }])).rejects.toThrow()

    proxy.up = true
    await publisher.send([{ topic, key: 'k', value: 'after' }])

    const got: string[] = []
    const consumer = new Kafka({ clientId: 'publisher-test', brokers, logLevel: logLevel.NOTHING }).consumer({
      groupId: randomName('publisher-test'),
      maxWaitTimeInMs: 50,
    })
    cleanups.push(() => consumer.disconnect())
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        got.push(String(message.value))
      },
    })
    await waitFor(() => (got.length > 0 ? true : undefined), 'the record sent after Kafka came back')
    expect(got).toEqual(['after'])
  })

  it('leaves no connection open when closed while its first connect is under way', async () => {
    const topic = `${randomName('publisher-close')}.out`
    const proxy = await bootstrapProxy(brokers[0]!)
    cleanups.push(() => proxy.close())
    proxy.up = true
    proxy.stalled = true
    const transport = createKafkaTransport(
      { brokers: [proxy.address], clientId: randomName('publisher') },
      createLogger({ level: 'silent' }),
    )
    const publisher = transport.createPublisher()
    let outcome = 'pending'
    const sent = publisher.send([{ topic, key: 'k', value: 'v' }])
    sent.then(
      () => (outcome = 'sent'),
      (err: Error) => (outcome = err.message),
    )
    await waitFor(() => (proxy.open() > 0 ? true : undefined), 'the first connect reaching the proxy')
    // The close does not wait out the connect, which the proxy holds (kafkajs's disconnect would, until
    // its connection timeout gave up on it: the send would have failed by then).
    await publisher.close()
    expect(outcome).toBe('pending')
    // The connect goes through after the close: the connection it opened is closed again, and the send
    // waiting on it fails as closed (retriable), sending nothing.
    proxy.release()
    await waitFor(() => (outcome === 'pending' ? undefined : true), 'the send to settle')
    expect(outcome).toBe('the publisher is closed')
    await waitFor(() => (proxy.open() === 0 ? true : undefined), 'every connection through the proxy closed')
  })
})

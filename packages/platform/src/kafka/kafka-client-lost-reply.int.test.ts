import { connect as netConnect } from 'node:net'
import type { ISocketFactory } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { tcpProxy } from '../net-test-support.ts'
import { quietKafka, randomName, testCleanups, until, waitFor } from './int-test-support.ts'
import { createProducer, createTopicsWithLeaders } from './kafka-client.ts'

describe('createProducer on Kafka, a produce reply lost after the broker wrote the record', () => {
  const { cleanups, connected } = testCleanups()

  it('writes the next record for the partition: not taken by the broker for the lost one, acknowledged and dropped', async () => {
    const name = randomName('lost-reply')
    const topic = `${name}.out`
    const admin = await connected(quietKafka(`${name}-admin`).admin())
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }])
    cleanups.push(() => admin.deleteTopics({ topics: [topic] }))
    const written = async () => Number((await admin.fetchTopicOffsets(topic))[0]!.high)

    // Every connection of the producer goes through a proxy in front of its broker. From the first
    // request carrying the marker on, while `losing`: that one reaches the broker, its reply never comes
    // back, and its connection drops once the broker wrote it; the retries of it are dropped before they
    // reach the broker, until kafkajs gives the send up.
    const marker = `marker-${name}`
    let losing = true
    let lost = false
    const proxies = new Map<number, number>()
    for (const b of (await admin.describeCluster()).brokers) {
      const proxy = await tcpProxy({ host: b.host, port: b.port }, (client, upstream) => {
        let holding = false
        client.on('data', (d: Buffer) => {
          if (!losing || !d.includes(marker)) return void upstream.write(d)
          if (lost) return void client.destroy()
          lost = true
          holding = true
          upstream.write(d)
          until(async () => (await written()) > 0, 'the marked record written').then(
            () => client.destroy(),
            () => client.destroy(),
          )
        })
        upstream.on('data', (d: Buffer) => {
          if (!holding) client.write(d)
        })
      })
      cleanups.push(() => proxy.close())
      proxies.set(b.port, proxy.port)
    }
    const throughProxy: ISocketFactory = ({ port, onConnect }) => {
      const socket = netConnect({ host: '127.0.0.1', port: proxies.get(port) ?? port }, onConnect)
      socket.setKeepAlive(true, 60_000)
      return socket
    }
    const producer = await connected(
      createProducer(quietKafka(`${name}-producer`, { socketFactory: throughProxy })),
    )
    // One record for key K each time: the same partition, one record per request.
    const send = (value: string) =>
      producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages: [{ key: 'K', value }] }] })

    await expect(send(`${marker} old`)).rejects.toThrow()
    expect(lost).toBe(true)
    expect(await written()).toBe(1)
    losing = false
    await send('new')
    await send('last')

    const values: string[] = []
    const consumer = await connected(quietKafka(`${name}-reader`).consumer({ groupId: randomName('group') }))
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(String(message.value))
      },
    })
    await waitFor(() => values.includes('last'), 'the last record read')
    expect(values).toEqual([`${marker} old`, 'new', 'last'])
  })
})

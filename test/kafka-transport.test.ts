import { createKafkaTransport, createLogger } from '@tradepulse/platform'
import { describeTransportConformance } from '@tradepulse/platform/conformance'
import { randomName, testInfra, testKafka, testProducer } from '@tradepulse/testing'

describeTransportConformance('Kafka', async () => {
  const { kafkaBrokers } = testInfra()
  const producer = await testProducer(kafkaBrokers)
  return {
    // Names the run's clean-up knows as its own, so a broker kept up for development is left tidy.
    name: randomName,
    transport: createKafkaTransport(
      { brokers: kafkaBrokers, clientId: 'conformance' },
      createLogger({ level: 'silent' }),
    ),
    env: {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
    },
    produce: async (records) => {
      for (const r of records)
        await producer.send({ topic: r.topic, messages: [{ key: r.key, value: r.value }] })
    },
    read: async (topic) => {
      const admin = testKafka(kafkaBrokers).admin()
      await admin.connect()
      const offsets = await admin.fetchTopicOffsets(topic)
      await admin.disconnect()
      const total = offsets.reduce((a, o) => a + Number(o.high), 0)
      const out: { key: string | null; value: string; partition: number }[] = []
      if (total === 0) return out
      const consumer = testKafka(kafkaBrokers).consumer({
        groupId: `read-${Date.now()}-${Math.random()}`,
        maxWaitTimeInMs: 20,
      })
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      await new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ partition, message }) => {
            out.push({
              key: message.key?.toString() ?? null,
              value: message.value?.toString() ?? '',
              partition,
            })
            if (out.length >= total) resolve()
          },
        })
      })
      await consumer.disconnect()
      return out.sort((a, b) => a.partition - b.partition)
    },
    close: () => producer.disconnect(),
  }
})

import type { TopicSpec } from '@tradepulse/contracts'
import type { Transport } from '../bus/transport.ts'
import type { Logger } from '../logger.ts'
import { createBatchRunner } from './batch-runner.ts'
import { createKafka, createProducer, ensureTopics, type KafkaClientConfig } from './kafka-client.ts'
import { createProduceQueue } from './produce.ts'

/** The Kafka transport: one client per worker, one idempotent producer per runner. */
export function createKafkaTransport(cfg: KafkaClientConfig, log: Logger): Transport {
  const kafka = createKafka(cfg, log)
  return {
    kind: 'kafka',
    createRunner: (handler, runnerCfg, runnerLog, metrics) =>
      createBatchRunner(kafka, createProducer(kafka, runnerLog), handler, runnerCfg, runnerLog, metrics),
    createPublisher() {
      const producer = createProducer(kafka, log)
      const queue = createProduceQueue(producer)
      let connected: Promise<void> | undefined
      let closed: Promise<void> | undefined
      return {
        async send(records) {
          if (records.length === 0) return
          connected ??= producer.connect()
          await connected
          await queue.send(records)
        },
        close() {
          closed ??= connected ? producer.disconnect().catch(() => {}) : Promise.resolve()
          return closed
        },
      }
    },
    async ensureTopics(specs: TopicSpec[]) {
      const admin = kafka.admin()
      await admin.connect()
      try {
        return await ensureTopics(admin, specs)
      } finally {
        await admin.disconnect()
      }
    },
    async missingTopics(names) {
      const admin = kafka.admin()
      await admin.connect()
      try {
        const existing = new Set(await admin.listTopics())
        return names.filter((n) => !existing.has(n))
      } finally {
        await admin.disconnect()
      }
    },
  }
}

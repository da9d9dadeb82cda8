import type { TopicSpec } from '@tradepulse/contracts'
import type { Transport } from '../bus/transport.ts'
import { TradepulseError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { createBatchRunner } from './batch-runner.ts'
import {
  createKafka,
  createProducer,
  ensureTopics,
  type KafkaClientConfig,
  type TradepulseProducer,
  timestampTypeDrift,
  topicSettingsDrift,
} from './kafka-client.ts'
import { createProduceQueue } from './produce.ts'

export interface KafkaTransportOptions {
  /**
   * Wraps each runner's producer, to watch what it sends (ingest releases the dedup claim of a headline
   * Kafka refuses for good: services/ingest/src/refused-headlines.ts).
   */
  wrapRunnerProducer?: (producer: TradepulseProducer) => TradepulseProducer
}

/** The Kafka transport: one client per worker, one idempotent producer per runner. */
export function createKafkaTransport(
  cfg: KafkaClientConfig,
  log: Logger,
  options: KafkaTransportOptions = {},
): Transport {
  const kafka = createKafka(cfg, log)
  const wrap = options.wrapRunnerProducer ?? ((producer: TradepulseProducer) => producer)
  return {
    kind: 'kafka',
    createRunner: (handler, runnerCfg, runnerLog, metrics) =>
      createBatchRunner(
        kafka,
        wrap(createProducer(kafka, runnerLog)),
        handler,
        runnerCfg,
        runnerLog,
        metrics,
      ),
    createPublisher() {
      const producer = createProducer(kafka, log)
      const queue = createProduceQueue(producer)
      // Connected at the first send. A failed connect (Kafka unreachable for longer than kafkajs's retries)
      // is forgotten, so the next send connects again: kept, it would fail every later send for the life
      // of the process, Kafka back or not. Closing disconnects after any connect, a failed one too (it may
      // have failed after reaching a broker, in initProducerId), and no send connects after it. A close
      // while a connect is under way does not wait for it (kafkajs's disconnect would, for up to its
      // connection timeouts, longer than a shutdown deadline): it disconnects once the connect settles,
      // so the connection that connect opens is not left open, and the send waiting on it fails.
      let connected: Promise<void> | undefined
      let connecting = false
      let tried = false
      let closed: Promise<void> | undefined
      const disconnect = () => producer.disconnect().catch(() => {})
      return {
        async send(records) {
          if (records.length === 0) return
          // Retriable: a batch whose output this is must be read again (by the next worker), not dead-lettered.
          const shut = () => new TradepulseError('SHUTDOWN', 'the publisher is closed', { retriable: true })
          if (closed) throw shut()
          tried = true
          if (!connected) {
            connecting = true
            connected = producer.connect().then(
              () => {
                connecting = false
              },
              (err: unknown) => {
                connecting = false
                connected = undefined
                throw err
              },
            )
          }
          await connected
          if (closed) throw shut() // closed while connecting
          await queue.send(records)
        },
        close() {
          if (closed) return closed
          if (tried && connecting && connected) {
            void connected.then(disconnect, disconnect)
            closed = Promise.resolve()
          } else closed = tried ? disconnect().then(() => {}) : Promise.resolve()
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
    async timestampTypeDrift(specs) {
      const admin = kafka.admin()
      await admin.connect()
      try {
        return await timestampTypeDrift(admin, specs)
      } finally {
        await admin.disconnect()
      }
    },
    async topicSettingsDrift(specs) {
      const admin = kafka.admin()
      await admin.connect()
      try {
        return await topicSettingsDrift(admin, specs)
      } finally {
        await admin.disconnect()
      }
    },
  }
}

import type { TradepulseProducer } from '@tradepulse/platform'
import { type BaseConfig, createOffsetCommitter, createProduceQueue, type Logger } from '@tradepulse/platform'
import type { Consumer, Kafka } from 'kafkajs'

/** The floor's consumer, with the fetch and group settings every worker's batch runner uses. */
export function passthroughConsumer(
  kafka: Kafka,
  config: Pick<
    BaseConfig,
    | 'KAFKA_SESSION_TIMEOUT_MS'
    | 'KAFKA_HEARTBEAT_INTERVAL_MS'
    | 'KAFKA_FETCH_MAX_WAIT_MS'
    | 'KAFKA_FETCH_MIN_BYTES'
    | 'KAFKA_MAX_BYTES_PER_PARTITION'
  >,
  groupId: string,
): Consumer {
  return kafka.consumer({
    groupId,
    sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS,
    heartbeatInterval: config.KAFKA_HEARTBEAT_INTERVAL_MS,
    maxWaitTimeInMs: config.KAFKA_FETCH_MAX_WAIT_MS,
    minBytes: config.KAFKA_FETCH_MIN_BYTES,
    maxBytesPerPartition: config.KAFKA_MAX_BYTES_PER_PARTITION,
    allowAutoTopicCreation: false,
  })
}

/**
 * The no-work floor of the benchmarks: consume `input`, produce the same key and value to `output`,
 * with the workers' consumer settings, producer, produce queue and commit discipline (resolve after the
 * ack, commit on the offset committer's timer). Returns a stop that makes the last commit and disconnects.
 */
export async function runPassthrough(
  consumer: Consumer,
  producer: TradepulseProducer,
  config: Pick<BaseConfig, 'KAFKA_PARTITIONS_CONCURRENCY' | 'KAFKA_MAX_BATCH' | 'KAFKA_COMMIT_INTERVAL_MS'>,
  input: string,
  output: string,
  log: Logger,
): Promise<() => Promise<void>> {
  const queue = createProduceQueue(producer)
  const committer =
    config.KAFKA_COMMIT_INTERVAL_MS > 0
      ? createOffsetCommitter(consumer, config.KAFKA_COMMIT_INTERVAL_MS, log)
      : undefined
  await producer.connect()
  await consumer.connect()
  await consumer.subscribe({ topic: input, fromBeginning: true })
  await consumer.run({
    autoCommit: committer === undefined,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: config.KAFKA_PARTITIONS_CONCURRENCY,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      for (let i = 0; i < batch.messages.length; i += config.KAFKA_MAX_BATCH) {
        const chunk = batch.messages.slice(i, i + config.KAFKA_MAX_BATCH)
        await queue.send(
          chunk.map((m) => ({ topic: output, key: m.key?.toString() ?? null, value: m.value ?? '' })),
        )
        const last = chunk[chunk.length - 1]!.offset
        resolveOffset(last)
        committer?.done(batch.topic, batch.partition, last)
        await heartbeat()
      }
    },
  })
  committer?.start()
  return async () => {
    committer?.stop()
    await committer?.flush()
    await consumer.disconnect().catch(() => {})
    await producer.disconnect().catch(() => {})
  }
}

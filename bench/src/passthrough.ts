import { type BaseConfig, produceAll } from '@tradepulse/platform'
import type { Consumer, Producer } from 'kafkajs'

/**
 * The no-work floor of the benchmarks: consume `input`, produce the same key and value to `output`,
 * with the workers' consumer settings, producer and commit discipline (resolve after the ack).
 */
export async function runPassthrough(
  consumer: Consumer,
  producer: Producer,
  config: Pick<BaseConfig, 'KAFKA_PARTITIONS_CONCURRENCY' | 'KAFKA_MAX_BATCH'>,
  input: string,
  output: string,
): Promise<void> {
  await producer.connect()
  await consumer.connect()
  await consumer.subscribe({ topic: input, fromBeginning: true })
  await consumer.run({
    autoCommit: true,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: config.KAFKA_PARTITIONS_CONCURRENCY,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
      for (let i = 0; i < batch.messages.length; i += config.KAFKA_MAX_BATCH) {
        const chunk = batch.messages.slice(i, i + config.KAFKA_MAX_BATCH)
        await produceAll(
          producer,
          chunk.map((m) => ({ topic: output, key: m.key?.toString() ?? null, value: m.value ?? '' })),
        )
        resolveOffset(chunk[chunk.length - 1]!.offset)
        await heartbeat()
        await commitOffsetsIfNecessary()
      }
    },
  })
}

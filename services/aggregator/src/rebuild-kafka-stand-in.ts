// A kafkajs stand-in for the rebuild's unit tests: one partition, replayed from offset 0 up to the end
// the test sets, and a consumer that hands its eachBatch to the test, which feeds it the fetches it
// wants (a rejoin's re-fetch, a pass cut where it likes). A test file mocks platform's createKafka with
// `standInKafka(state)` (vi.mock's factory may import this module) and calls `fetched` to hand a fetch.
import type { ScoredHeadline } from '@tradepulse/contracts'
import type { EachBatchPayload, KafkaMessage } from 'kafkajs'

export const STAND_IN_TOPIC = 'headlines.scored.v1'

/** What the stand-in and its test share: the consumer's eachBatch once run, the partition's end. */
export interface StandInState {
  eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined
  /** The partition's end offset, as the broker tells it now. */
  high: number
}

/** platform's createKafka, as the rebuild calls it. */
export function standInKafka(state: StandInState) {
  return () => ({
    admin: () => ({
      connect: async () => {},
      disconnect: async () => {},
      fetchTopicOffsetsByTimestamp: async () => [{ partition: 0, offset: '0' }],
      fetchTopicOffsets: async () => [
        { partition: 0, offset: String(state.high), high: String(state.high), low: '0' },
      ],
      setOffsets: async () => {},
      deleteGroups: async () => [],
    }),
    consumer: () => ({
      events: { CRASH: 'consumer.crash' },
      on: () => () => {},
      connect: async () => {},
      subscribe: async () => {},
      run: async (config: { eachBatch: (payload: EachBatchPayload) => Promise<void> }) => {
        state.eachBatch = config.eachBatch
      },
      disconnect: async () => {},
    }),
  })
}

/**
 * Hands the rebuild the fetch of offsets [from, to) of `series` (offset i holds series[i], its Kafka
 * timestamp `timestampMs`); the offsets it resolved.
 */
export async function fetched(
  state: StandInState,
  series: readonly ScoredHeadline[],
  timestampMs: number,
  from: number,
  to: number,
): Promise<string[]> {
  const message = (offset: number): KafkaMessage => ({
    offset: String(offset),
    key: Buffer.from(series[offset]!.id),
    value: Buffer.from(JSON.stringify(series[offset])),
    timestamp: String(timestampMs),
    attributes: 0,
    headers: {},
  })
  const resolved: string[] = []
  await state.eachBatch!({
    batch: {
      topic: STAND_IN_TOPIC,
      partition: 0,
      highWatermark: String(state.high),
      messages: Array.from({ length: to - from }, (_, i) => message(from + i)),
    },
    resolveOffset: (offset: string) => resolved.push(offset),
    heartbeat: async () => {},
    isRunning: () => true,
    pause: () => () => {},
  } as unknown as EachBatchPayload)
  return resolved
}

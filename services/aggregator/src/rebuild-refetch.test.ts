// The rebuild's throwaway group commits no offset, and kafkajs fetches from the committed offsets after
// every join (a new OffsetManager at each group sync): once its consumer rejoins (a crash kafkajs restarts
// from, a coordinator move, a session timeout while Redis was down), the rebuild is given again what it
// applied since it started. Here kafkajs is a stand-in that hands eachBatch the fetches a rejoin makes.
import { createLogger, createMemoryIndicatorStore } from '@tradepulse/platform'
import { waitFor } from '@tradepulse/testing'
import type { EachBatchPayload, KafkaMessage } from 'kafkajs'
import { describe, expect, it, vi } from 'vitest'
import { rebuildIndicators } from './rebuild.ts'
import { HOUR_MS, scoredSeries } from './scored-fixtures.ts'

const TOPIC = 'headlines.scored.v1'
const T0 = Date.parse('2026-03-02T00:00:00Z')
const HIGH = 30

const kafka = vi.hoisted(() => ({
  eachBatch: undefined as ((payload: EachBatchPayload) => Promise<void>) | undefined,
}))

vi.mock('@tradepulse/platform', async (importOriginal) => ({
  ...(await importOriginal<typeof import('@tradepulse/platform')>()),
  // One partition, offsets 0 to HIGH - 1, replayed from 0; the consumer hands its eachBatch to the test.
  createKafka: () => ({
    admin: () => ({
      connect: async () => {},
      disconnect: async () => {},
      fetchTopicOffsetsByTimestamp: async () => [{ partition: 0, offset: '0' }],
      fetchTopicOffsets: async () => [{ partition: 0, offset: String(HIGH), high: String(HIGH), low: '0' }],
      setOffsets: async () => {},
      deleteGroups: async () => [],
    }),
    consumer: () => ({
      events: { CRASH: 'consumer.crash' },
      on: () => () => {},
      connect: async () => {},
      subscribe: async () => {},
      run: async (config: { eachBatch: (payload: EachBatchPayload) => Promise<void> }) => {
        kafka.eachBatch = config.eachBatch
      },
      disconnect: async () => {},
    }),
  }),
}))

describe('the rebuild, given again records it applied (its consumer rejoined)', () => {
  const series = scoredSeries(HIGH, { startMs: T0, spanMs: HOUR_MS, idPrefix: 'refetch' })
  const message = (offset: number): KafkaMessage => ({
    offset: String(offset),
    key: Buffer.from(series[offset]!.id),
    value: Buffer.from(JSON.stringify(series[offset])),
    timestamp: String(T0 + HOUR_MS),
    attributes: 0,
    headers: {},
  })
  /** The fetch of offsets [from, to), handed to the rebuild; the offsets it resolved. */
  async function fetched(from: number, to: number): Promise<string[]> {
    const resolved: string[] = []
    const messages = Array.from({ length: to - from }, (_, i) => message(from + i))
    await kafka.eachBatch!({
      batch: { topic: TOPIC, partition: 0, highWatermark: String(HIGH), messages },
      resolveOffset: (offset: string) => resolved.push(offset),
      heartbeat: async () => {},
      isRunning: () => true,
      pause: () => () => {},
    } as unknown as EachBatchPayload)
    return resolved
  }

  it('resolves a fetch it applied already, so that kafkajs fetches on from there, and completes', async () => {
    const rebuilt = rebuildIndicators({
      brokers: ['stand-in:9092'],
      topic: TOPIC,
      sinceMs: 0,
      store: createMemoryIndicatorStore({ config: { graceMs: 600_000 } }),
      log: createLogger({ level: 'silent' }),
      graceMs: 600_000,
    })
    await waitFor(() => kafka.eachBatch !== undefined, { what: 'the replay running' })
    expect(await fetched(0, 10)).toEqual(['9'])
    // Rejoined: kafkajs fetches from the group's offsets, the replay's start, again. Before, a fetch all
    // below what was applied returned unresolved: kafkajs fetched the same offset again, for ever.
    expect(await fetched(0, 10)).toEqual(['9'])
    // One part applied, the rest not: what was applied is resolved before the rest is taken.
    expect(await fetched(0, 20)).toEqual(['9', '19'])
    expect(await fetched(20, HIGH)).toEqual([String(HIGH - 1)])
    await expect(rebuilt).resolves.toMatchObject({ records: HIGH, headlines: HIGH, invalid: 0 })
  })
})

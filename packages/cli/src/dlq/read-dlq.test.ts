import { type Kafka, KafkaJSProtocolError } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { readRanges, readTopicRanges } from './read-dlq.ts'

describe('readRanges', () => {
  // kafkajs's fetchTopicOffsets gives up at once on NOT_LEADER_FOR_PARTITION (a dlq topic the workers
  // had just created, a leader moving): `dlq list` failed with "This server is not the leader for that
  // topic-partition".
  it('asks again, on a fresh client, when a partition has no leader yet', async () => {
    const made = { clients: 0, connected: 0 }
    let failures = [
      new KafkaJSProtocolError(
        Object.assign(new Error('This server is not the leader for that topic-partition'), {
          type: 'NOT_LEADER_FOR_PARTITION',
        }),
      ),
    ]
    const kafka = {
      admin() {
        made.clients++
        return {
          connect: async () => void made.connected++,
          disconnect: async () => void made.connected--,
          fetchTopicOffsets: async (topic: string) => {
            const [failure, ...rest] = failures
            failures = rest
            if (failure) throw failure
            expect(topic).toBe('dlq')
            return [
              { partition: 1, offset: '4', high: '4', low: '0' },
              { partition: 0, offset: '9', high: '9', low: '2' },
            ]
          },
          fetchTopicOffsetsByTimestamp: async () => [
            { partition: 0, offset: '5' },
            { partition: 1, offset: '4' },
          ],
        }
      },
    }
    expect(await readRanges(kafka, 'dlq', 1_000)).toEqual([
      { partition: 0, start: 5, end: 9 },
      { partition: 1, start: 4, end: 4 },
    ])
    expect(made).toEqual({ clients: 2, connected: 0 })
  })
})

describe('readTopicRanges', () => {
  // The join crashed before run() returned (a coordinator still loading): a seek made then threw kafkajs's
  // "consumer#run must be called first", and the command died of that in place of the crash's own error.
  it('fails with the consumer crash, not with a seek the crash made impossible', async () => {
    const listeners = new Map<string, (e: unknown) => void>()
    let crashed = false
    const kafka = {
      consumer: () => ({
        events: { END_BATCH_PROCESS: 'end', CRASH: 'crash', GROUP_JOIN: 'join' },
        on: (event: string, fn: (e: unknown) => void) => void listeners.set(event, fn),
        connect: async () => {},
        subscribe: async () => {},
        // As kafkajs: a join that fails crashes the consumer, drops its group and returns from run().
        run: async () => {
          crashed = true
          listeners.get('crash')?.({
            payload: { error: new Error('The group coordinator is not available'), restart: true },
          })
        },
        seek: () => {
          if (crashed)
            throw new Error('Consumer group was not initialized, consumer#run must be called first')
        },
        disconnect: async () => {},
      }),
    } as unknown as Kafka
    await expect(
      readTopicRanges(kafka, 'dlq', [{ partition: 0, start: 0, end: 5 }], 'g', async () => {}),
    ).rejects.toThrow('The group coordinator is not available')
  })
})

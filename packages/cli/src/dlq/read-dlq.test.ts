import type { Kafka } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { readTopicRanges } from './read-dlq.ts'

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

import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'

// patches/kafkajs@2.2.4.patch replaces kafkajs's grouping of a produce request's messages by partition
// (quadratic: it copied a partition's array for every message) with one that appends in place.
const require = createRequire(import.meta.url)
type Message = { key: string; value: string }
const group: (args: {
  topic: string
  partitionMetadata: { partitionId: number }[]
  messages: Message[]
  partitioner: (args: { message: Message }) => number
}) => Record<string, Message[]> = require('kafkajs/src/producer/groupMessagesPerPartition.js')

describe('kafkajs grouping of messages by partition (patched)', () => {
  const partitionMetadata = [{ partitionId: 0 }, { partitionId: 1 }, { partitionId: 2 }]

  it('keeps every message, in order within its partition', () => {
    const messages = Array.from({ length: 30_000 }, (_, i) => ({ key: `k${i}`, value: String(i) }))
    const grouped = group({
      topic: 't',
      partitionMetadata,
      messages,
      partitioner: ({ message }) => Number(message.value) % 3,
    })
    expect(Object.keys(grouped).sort()).toEqual(['0', '1', '2'])
    for (const p of [0, 1, 2]) {
      const values = grouped[p]!.map((m) => Number(m.value))
      expect(values).toEqual(messages.map((_, i) => i).filter((i) => i % 3 === p))
    }
  })

  it('gives nothing for a topic without partitions', () => {
    expect(
      group({
        topic: 't',
        partitionMetadata: [],
        messages: [{ key: 'a', value: 'b' }],
        partitioner: () => 0,
      }),
    ).toEqual({})
  })

  it('is the patched version', async () => {
    const { readFileSync } = await import('node:fs')
    const source = readFileSync(require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js'), 'utf8')
    expect(source).toContain('Tradepulse patch')
  })
})

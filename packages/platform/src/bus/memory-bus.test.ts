import { describe, expect, it } from 'vitest'
import { createMemoryBus } from './memory-bus.ts'

describe('memory bus', () => {
  it('refuses unknown topics, as Kafka does with auto-creation off', () => {
    expect(() => createMemoryBus().produce([{ topic: 'nope', key: null, value: 'x' }])).toThrow(
      /unknown topic nope/,
    )
  })
  it('keeps offsets monotonic when old records fall off the front', () => {
    const bus = createMemoryBus({ maxRecordsPerPartition: 2 })
    bus.createTopic('t', 1)
    bus.produce(['a', 'b', 'c'].map((v) => ({ topic: 't', key: 'k', value: v })))
    expect(bus.endOffset('t', 0)).toBe(3)
    expect(bus.read('t', 0, 0, 10).map((r) => [r.offset, String(r.value)])).toEqual([
      [1, 'b'],
      [2, 'c'],
    ])
  })
  it('wakes a waiting reader on produce', async () => {
    const bus = createMemoryBus()
    bus.createTopic('t', 1)
    const waited = bus.waitForData(5_000)
    bus.produce([{ topic: 't', key: null, value: 'x' }])
    await waited
    expect(bus.endOffset('t', 0)).toBe(1)
  })
})

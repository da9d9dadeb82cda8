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
  it('drops what every group has consumed, but for the last few, when asked to (keepConsumed)', () => {
    const bus = createMemoryBus({ keepConsumed: 10 })
    bus.createTopic('t', 1)
    bus.join('slow', 't')
    bus.produce(Array.from({ length: 3_000 }, (_, i) => ({ topic: 't', key: 'k', value: String(i) })))
    bus.commit('fast', 't', 0, 3_000)
    // The slow group, which joined before its first commit, holds everything it has not committed past.
    expect(bus.read('t', 0, 0, 1)[0]?.offset).toBe(0)
    bus.commit('slow', 't', 0, 500)
    expect(bus.read('t', 0, 0, 1)[0]?.offset).toBe(0)
    bus.commit('slow', 't', 0, 2_500)
    const first = bus.read('t', 0, 0, 1)[0]!.offset
    expect(first).toBe(2_490)
    // Offsets and ends stay as they were; a read from the start gets what is left.
    expect(bus.endOffset('t', 0)).toBe(3_000)
    expect(bus.read('t', 0, 2_995, 10).map((r) => String(r.value))).toEqual([
      '2995',
      '2996',
      '2997',
      '2998',
      '2999',
    ])
    // Without the option nothing consumed is dropped.
    const keepAll = createMemoryBus()
    keepAll.createTopic('t', 1)
    keepAll.produce(Array.from({ length: 3_000 }, (_, i) => ({ topic: 't', key: 'k', value: String(i) })))
    keepAll.commit('g', 't', 0, 3_000)
    expect(keepAll.read('t', 0, 0, 1)[0]?.offset).toBe(0)
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

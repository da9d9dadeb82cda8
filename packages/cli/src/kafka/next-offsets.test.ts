import { EventEmitter } from 'node:events'
import { describe, expect, it, vi } from 'vitest'
import { createNextOffsets, type JoiningConsumer } from './next-offsets.ts'

/** A consumer whose joins the test makes, recording its seeks. */
function joiningConsumer() {
  const events = new EventEmitter()
  const seeks: { topic: string; partition: number; offset: string }[] = []
  const consumer = {
    events: { GROUP_JOIN: 'join' },
    on: (event: string, listener: () => void) => events.on(event, listener),
    seek: (to: { topic: string; partition: number; offset: string }) => void seeks.push(to),
  } as unknown as JoiningConsumer
  return {
    consumer,
    seeks,
    join: (memberAssignment?: Record<string, number[]>) =>
      events.emit('join', memberAssignment ? { payload: { memberAssignment } } : {}),
  }
}

const start = () =>
  new Map([
    [
      'alerts',
      new Map([
        [0, 5],
        [1, 2],
      ]),
    ],
    ['dlq', new Map([[0, 7]])],
  ])

describe('createNextOffsets', () => {
  it('seeks each partition of each topic to its next offset at every join, as far as it has moved on', () => {
    const next = createNextOffsets(start())
    const { consumer, seeks, join } = joiningConsumer()
    next.seekAtEachJoin(consumer)
    expect(seeks).toEqual([])
    join()
    expect(seeks).toEqual([
      { topic: 'alerts', partition: 0, offset: '5' },
      { topic: 'alerts', partition: 1, offset: '2' },
      { topic: 'dlq', partition: 0, offset: '7' },
    ])
    next.advance('alerts', 0, 6)
    next.advance('dlq', 0, 9)
    seeks.length = 0
    join()
    expect(seeks).toEqual([
      { topic: 'alerts', partition: 0, offset: '6' },
      { topic: 'alerts', partition: 1, offset: '2' },
      { topic: 'dlq', partition: 0, offset: '9' },
    ])
  })

  it('seeks only the partitions `only` keeps', () => {
    const next = createNextOffsets(start())
    const { consumer, seeks, join } = joiningConsumer()
    next.seekAtEachJoin(consumer, (topic, partition) => topic === 'alerts' && partition === 1)
    join()
    expect(seeks).toEqual([{ topic: 'alerts', partition: 1, offset: '2' }])
  })

  it("takes no record below its partition's next offset (fetched again after a rejoin), and each from it on", () => {
    const next = createNextOffsets(start())
    expect([4, 5, 6].map((o) => next.takes('alerts', 0, o))).toEqual([false, true, true])
    next.advance('alerts', 0, 6)
    expect([5, 6].map((o) => next.takes('alerts', 0, o))).toEqual([false, true])
    // Other partitions and topics keep their own.
    expect([next.takes('alerts', 1, 2), next.takes('dlq', 0, 6)]).toEqual([true, false])
  })

  it('moves a partition on, never back; one not known starts at 0, taking every record, and is sought once moved on', () => {
    const next = createNextOffsets(start())
    next.advance('alerts', 0, 9)
    next.advance('alerts', 0, 7)
    expect(next.of('alerts', 0)).toBe(9)
    expect([next.of('alerts', 3), next.of('headlines', 0), next.takes('headlines', 0, 0)]).toEqual([
      0,
      0,
      true,
    ])
    const { consumer, seeks, join } = joiningConsumer()
    next.seekAtEachJoin(consumer, (topic) => topic === 'headlines')
    join()
    expect(seeks).toEqual([])
    next.advance('headlines', 0, 4)
    join()
    expect(seeks).toEqual([{ topic: 'headlines', partition: 0, offset: '4' }])
    expect(next.takes('headlines', 0, 3)).toBe(false)
  })

  it('keeps its own copy of the starting offsets', () => {
    const offsets = start()
    const next = createNextOffsets(offsets)
    next.advance('alerts', 0, 8)
    expect(offsets.get('alerts')?.get(0)).toBe(5)
  })

  // Read from where a new group subscribed to new records starts, a partition added while it ran had each
  // record written to it before kafkajs's metadata had it left out.
  it('seeks each partition a join assigns and not known (added since the start, kept by `only`) to offset 0', () => {
    const next = createNextOffsets(start())
    const { consumer, seeks, join } = joiningConsumer()
    next.seekAtEachJoin(consumer, (topic, partition) => !(topic === 'alerts' && partition === 3))
    join({ alerts: [0, 1, 2, 3], headlines: [0] })
    expect(seeks).toEqual([
      { topic: 'alerts', partition: 0, offset: '5' },
      { topic: 'alerts', partition: 1, offset: '2' },
      { topic: 'dlq', partition: 0, offset: '7' },
      { topic: 'alerts', partition: 2, offset: '0' },
      { topic: 'headlines', partition: 0, offset: '0' },
    ])
    // Known once a record of it is taken: sought to its next offset from then on.
    next.advance('alerts', 2, 3)
    seeks.length = 0
    join({ alerts: [2] })
    expect(seeks).toContainEqual({ topic: 'alerts', partition: 2, offset: '3' })
    expect(seeks).not.toContainEqual({ topic: 'alerts', partition: 2, offset: '0' })
  })

  // The new topic's offsets start from 0 again: below the old next offsets, none of its records was taken.
  it('moves a partition whose end is below its next offset (its topic made again) back to its start, once asked on a record not taken', async () => {
    const asked: string[] = []
    const told: string[] = []
    const sought: { topic: string; partition: number; offset: string }[] = []
    let ends = [
      { partition: 0, low: '0', high: '2' },
      { partition: 1, low: '0', high: '9' },
    ]
    const next = createNextOffsets(start(), {
      ends: async (topic) => {
        asked.push(topic)
        return ends
      },
      consumer: { seek: (to) => void sought.push(to) },
      rewound: (topic, partition, was, now) => void told.push(`${topic}[${partition}] ${was} -> ${now}`),
    })
    expect(next.takes('alerts', 0, 5)).toBe(true)
    expect(asked).toEqual([])
    expect(next.takes('alerts', 0, 0)).toBe(false)
    expect(next.takes('alerts', 0, 1)).toBe(false) // one question at a time
    await vi.waitFor(() => expect(told).toEqual(['alerts[0] 5 -> 0']))
    expect(asked).toEqual(['alerts'])
    expect(sought).toEqual([{ topic: 'alerts', partition: 0, offset: '0' }])
    expect([next.of('alerts', 0), next.of('alerts', 1), next.takes('alerts', 0, 0)]).toEqual([0, 2, true])
    // A record fetched again after a rejoin: the end is past the next offset, nothing moves.
    ends = [{ partition: 1, low: '0', high: '9' }]
    expect(next.takes('alerts', 1, 1)).toBe(false)
    await vi.waitFor(() => expect(asked).toEqual(['alerts', 'alerts']))
    expect([told.length, sought.length, next.of('alerts', 1)]).toEqual([1, 1, 2])
  })
})

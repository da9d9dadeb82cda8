import { describe, expect, it } from 'vitest'
import { alignmentWarnings, carryPoints, createPartitionAligner } from './partition-aligner.ts'

const MIN = 60_000

/** An aligner of three partitions a, b, c with records (ends at 100, nothing taken). */
function threeBehind(aheadMs = 5 * MIN) {
  const a = createPartitionAligner(aheadMs)
  for (const k of ['a', 'b', 'c']) {
    a.seen(k, 100)
    a.advanced(k, 0)
  }
  return a
}

/** Partitions a and b, six hours of records each, one a minute (b's from the second minute), none taken. */
function sixHoursEach(a: ReturnType<typeof createPartitionAligner>): Map<string, number[]> {
  const hours = (from: number) => Array.from({ length: 360 }, (_, i) => (from + i) * MIN)
  const times = new Map([
    ['a', hours(0)],
    ['b', hours(2)],
  ])
  for (const [k, ts] of times) {
    a.seen(k, ts.length)
    a.advanced(k, 0)
  }
  return times
}

describe('createPartitionAligner', () => {
  it('puts no bound on a partition when no other one has records left', () => {
    const a = createPartitionAligner(5 * MIN)
    a.seen('a', 10)
    a.seen('b', 10)
    a.advanced('b', 10, 50 * MIN) // b is at its end: it holds nobody back
    expect(a.boundFor('a')).toBe(Number.POSITIVE_INFINITY)
    a.seen('b', 12) // two more records written to b
    expect(a.boundFor('a')).toBe(55 * MIN)
  })

  it('bounds a partition by the slowest other partition with records, plus the reach', () => {
    const a = threeBehind()
    a.advanced('a', 10, 30 * MIN)
    a.advanced('b', 10, 12 * MIN)
    a.advanced('c', 10, 20 * MIN)
    expect(a.boundFor('a')).toBe(17 * MIN)
    expect(a.boundFor('b')).toBe(25 * MIN)
    expect(a.boundFor('c')).toBe(17 * MIN)
    a.advanced('b', 100, 14 * MIN) // b reaches its end
    expect(a.boundFor('a')).toBe(25 * MIN)
  })

  it('takes nothing from anyone while a partition with records has given none', () => {
    const a = threeBehind()
    a.advanced('a', 5, 1 * MIN)
    a.advanced('b', 5, 2 * MIN)
    expect(a.boundFor('a')).toBe(Number.NEGATIVE_INFINITY) // c: records, nothing taken yet
  })

  it("uses a held partition's next record, and releases it once the others come within reach", () => {
    const a = threeBehind()
    const resumed: string[] = []
    a.advanced('a', 10, 40 * MIN)
    a.hold('a', 41 * MIN, () => resumed.push('a'))
    a.advanced('b', 10, 20 * MIN)
    a.advanced('c', 10, 30 * MIN)
    expect(a.held()).toBe(1)
    expect(a.boundFor('c')).toBe(25 * MIN) // b's progress, not a's
    a.release()
    expect(resumed).toEqual([]) // 41 > 20 + 5
    a.advanced('b', 20, 36 * MIN)
    a.release()
    expect(resumed).toEqual([]) // c at 30: 41 > 35
    a.advanced('c', 20, 36 * MIN)
    a.release()
    expect(resumed).toEqual(['a'])
    expect(a.held()).toBe(0)
  })

  it('always releases the held partition whose next record is oldest once all are held', () => {
    const a = threeBehind()
    const resumed: string[] = []
    a.hold('a', 50 * MIN, () => resumed.push('a'))
    a.hold('b', 10 * MIN, () => resumed.push('b'))
    a.hold('c', 30 * MIN, () => resumed.push('c'))
    a.release()
    expect(resumed).toEqual(['b'])
  })

  it('treats an expected partition as one with records until its end is known', () => {
    const a = createPartitionAligner(5 * MIN)
    a.expect('a')
    a.expect('b')
    a.expect('c')
    expect(a.boundFor('a')).toBe(Number.NEGATIVE_INFINITY)
    const resumed: string[] = []
    a.hold('a', 1 * MIN, () => resumed.push('a'))
    a.seen('b', 7) // answered: b is at its end, c has records
    a.advanced('b', 7)
    a.seen('c', 50)
    a.advanced('c', 20)
    a.release()
    expect(resumed).toEqual([]) // c has records and has given none
    a.advanced('c', 30, 3 * MIN)
    a.release()
    expect(resumed).toEqual(['a'])
  })

  it("takes an expected partition's end and position from the offsets answer, unless a fetch told them first", () => {
    const a = createPartitionAligner(5 * MIN)
    for (const k of ['a', 'b', 'c']) a.expect(k)
    a.ends('a', 40, 40) // at its end: holds nobody back
    a.ends('b', 90, 10) // records left from 10 on, nothing taken yet
    expect(a.points()).toEqual(
      new Map([
        ['a', null],
        ['b', Number.NEGATIVE_INFINITY],
        ['c', Number.NEGATIVE_INFINITY],
      ]),
    )
    // c's batch is being handled before its answer comes (a request retried): the answer changes
    // neither its batch nor its position, only a higher end counts.
    a.seen('c', 50)
    a.fetching('c', 3 * MIN, false, 1 * MIN)
    a.ends('c', 60, 0)
    expect(a.points().get('c')).toBe(1 * MIN)
    expect(a.boundFor('b')).toBe(3 * MIN + 5 * MIN) // c's reach
    a.advanced('c', 50, 3 * MIN, 1 * MIN)
    a.applied('c', 50)
    expect(a.points().get('c')).toBe(3 * MIN) // 50 taken of 60: records left, its progress
    a.ends('b', 95, 5) // a second answer moves no position back
    a.advanced('b', 20, 2 * MIN, 1 * MIN)
    a.applied('b', 20)
    expect(a.points().get('b')).toBe(2 * MIN)
  })

  it('resumes everything held and forgets all on reset', () => {
    const a = threeBehind()
    const resumed: string[] = []
    a.hold('a', 50 * MIN, () => resumed.push('a'))
    a.hold('c', 60 * MIN, () => resumed.push('c'))
    a.reset()
    expect(resumed.sort()).toEqual(['a', 'c'])
    expect(a.held()).toBe(0)
    expect(a.boundFor('a')).toBe(Number.POSITIVE_INFINITY)
  })

  it('never moves a position or the progress back', () => {
    const a = threeBehind()
    a.advanced('b', 50, 20 * MIN)
    a.advanced('b', 40, 10 * MIN)
    a.advanced('c', 100, 0) // c at its end
    expect(a.boundFor('a')).toBe(25 * MIN)
    a.seen('b', 50) // an older high watermark does not lower the end
    expect(a.boundFor('a')).toBe(25 * MIN)
  })

  it('knows when a partition is the only one', () => {
    const a = createPartitionAligner(5 * MIN)
    expect(a.alone('a')).toBe(true)
    a.seen('a', 10)
    expect(a.alone('a')).toBe(true)
    a.expect('b')
    expect(a.alone('a')).toBe(false)
    expect(a.alone('b')).toBe(false)
  })

  it('rewinds a partition read again: its progress unknown, its hold let go', () => {
    const a = threeBehind()
    const resumed: string[] = []
    a.advanced('a', 50, 30 * MIN)
    a.advanced('b', 50, 31 * MIN)
    a.advanced('c', 50, 32 * MIN)
    a.hold('b', 40 * MIN, () => resumed.push('b'))
    a.rewind('b', 20)
    expect(resumed).toEqual(['b'])
    expect(a.held()).toBe(0)
    expect(a.boundFor('a')).toBe(Number.NEGATIVE_INFINITY) // b has records and nothing known taken
    a.advanced('b', 60, 25 * MIN)
    expect(a.boundFor('a')).toBe(30 * MIN)
  })

  it('bounds by the reach of the other batches of the same fetch, and ignores one that reaches its end', () => {
    const a = threeBehind()
    a.advanced('a', 10, 10 * MIN)
    a.advanced('b', 10, 10 * MIN)
    a.advanced('c', 100, 10 * MIN) // c at its end
    a.fetching('a', 200 * MIN, false)
    a.fetching('b', 90 * MIN, false)
    expect(a.boundFor('a')).toBe(95 * MIN) // b will reach 90 in this fetch, merged in order
    expect(a.boundFor('b')).toBe(205 * MIN)
    a.fetching('b', 90 * MIN, true) // b's batch takes it to its end: it holds nobody back
    expect(a.boundFor('a')).toBe(Number.POSITIVE_INFINITY)
    a.fetched('b')
    expect(a.boundFor('a')).toBe(15 * MIN) // back to what was taken from b
  })

  it('releases only once no batch is being handled, all within two reaches of the oldest together', () => {
    const a = createPartitionAligner(5 * MIN, { together: true })
    for (const k of ['a', 'b', 'c']) {
      a.seen(k, 100)
      a.advanced(k, 10, 0)
    }
    const resumed: string[] = []
    a.hold('a', 4 * MIN, () => resumed.push('a'))
    a.hold('b', 9 * MIN, () => resumed.push('b')) // past a's bound, within two reaches of the oldest
    a.hold('c', 15 * MIN, () => resumed.push('c')) // past 4 + 2 × 5
    a.fetching('c', 30 * MIN, false)
    a.release()
    expect(resumed).toEqual([]) // c's batch is under way
    a.fetched('c')
    a.release()
    expect(resumed).toEqual(['a', 'b'])
  })
  it('takes one fetch holding every partition whole a step of the reach at a time (written per partition)', () => {
    // A worker restarted with a backlog: one fetch holds all of both partitions' records, hours of
    // them. Taken whole, a worker writing per partition wrote a's six hours before b's existed, and a
    // live consumer of its output counted b's late.
    const a = createPartitionAligner(MIN, { stepWithinFetch: true })
    const times = sixHoursEach(a)
    const taken = new Map([...times.keys()].map((k) => [k, 0]))
    const steps: number[][] = []
    let resumed: string[] = [...times.keys()]
    for (let round = 0; round < 1000 && resumed.length > 0; round++) {
      const fetch = resumed
      resumed = []
      for (const k of fetch) {
        const ts = times.get(k)!.slice(taken.get(k)!)
        a.fetching(k, Math.max(...ts), true, Math.min(...ts), ts)
      }
      const step: number[] = []
      for (const k of fetch) {
        const ts = times.get(k)!.slice(taken.get(k)!)
        const n = a.cut(k)
        step.push(...ts.slice(0, n))
        const at = taken.get(k)! + n
        taken.set(k, at)
        a.advanced(
          k,
          at,
          n > 0 ? Math.max(...ts.slice(0, n)) : undefined,
          n > 0 ? Math.min(...ts.slice(0, n)) : undefined,
        )
        if (n < ts.length) a.hold(k, ts[n]!, () => resumed.push(k), { times: ts.slice(n) })
      }
      a.release()
      if (step.length > 0) steps.push(step)
    }
    // The first step: up to the oldest record plus the reach, a's 0 and 1 only.
    expect(steps[0]).toEqual([0, MIN])
    expect(Object.fromEntries(taken)).toEqual({ a: 360, b: 360 })
    // No step spans more than the reach, nor goes back more than the reach behind one before it.
    let newest = Number.NEGATIVE_INFINITY
    for (const step of steps) {
      expect(Math.max(...step) - Math.min(...step)).toBeLessThanOrEqual(MIN)
      expect(Math.min(...step)).toBeGreaterThanOrEqual(newest - MIN)
      newest = Math.max(newest, ...step)
    }
    expect(a.forced()).toBe(0)
  })

  it('takes such a fetch whole for a worker that merges what a fetch takes in event-time order', () => {
    // The aggregator and the alerter: a step per reach would cost them a fetch round per minute of a
    // backlog's event time, for nothing.
    const a = createPartitionAligner(MIN)
    const times = sixHoursEach(a)
    for (const [k, ts] of times) a.fetching(k, Math.max(...ts), true, Math.min(...ts), ts)
    expect([...times.keys()].map((k) => a.cut(k))).toEqual([360, 360])
  })
})

describe('createPartitionAligner with partitions out of event-time order', () => {
  const m = (...xs: number[]) => xs.map((x) => x * MIN)

  it('holds a partition at the oldest record it leaves, not the first one', () => {
    const a = threeBehind()
    a.advanced('a', 10, 10 * MIN)
    a.applied('a', 10)
    a.advanced('b', 10, 20 * MIN)
    a.advanced('c', 10, 20 * MIN)
    a.hold('a', 60 * MIN, () => {}, { times: m(60, 12, 61), remainderMs: 61 * MIN })
    // b and c may not run past a's 12, which a still has to give (not its next record's 60): fetched
    // with a's 60 and 12, they are merged in event-time order with them.
    expect(a.boundFor('b')).toBe(17 * MIN)
    // Another member's records are not merged with a's: the 12 comes late behind a's 60 whatever that
    // member does, and it is held back for no older than what a's 60 needs.
    expect(a.points().get('a')).toBe(55 * MIN)
    a.hold('a', 60 * MIN, () => {}, { times: m(60, 57, 61), remainderMs: 61 * MIN })
    expect(a.points().get('a')).toBe(57 * MIN)
  })

  it('cuts the batches of one fetch at one time, leaving no record more than the reach behind what is taken', () => {
    const a = threeBehind()
    a.advanced('c', 100, 0) // c at its end
    a.fetching('a', 60 * MIN, false, 10 * MIN, m(10, 60, 12))
    a.fetching('b', 30 * MIN, false, 11 * MIN, m(11, 13, 30))
    // b may not take 30: a leaves its 12 (behind its 60), 18 min older. Taken one by one against each
    // other's reach, a would take 10 and b all three, and a's 12 would come late.
    expect(a.cut('a')).toBe(1)
    expect(a.cut('b')).toBe(2)
    // A batch cut already keeps its cut; one fetched after it is cut against what it took and left.
    a.fetching('c', 40 * MIN, true, 12 * MIN, m(14, 40))
    expect(a.cut('a')).toBe(1)
    expect(a.cut('c')).toBe(1)
  })

  it("takes a batch's records out of order whole when nothing else bounds them", () => {
    const a = threeBehind()
    a.advanced('b', 100, 0)
    a.advanced('c', 100, 0)
    a.fetching('a', 60 * MIN, true, 0, m(40, 100, 0, 50))
    expect(a.cut('a')).toBe(4) // merged in event-time order by the caller: nothing late
    a.fetching('a', 60 * MIN, false, 0, m(40, 100, 0, 50))
    expect(a.cut('a')).toBe(0) // 100 is past 50 + 5, what may follow; 40 would leave 0 behind
  })

  it('resumes together the held partitions that can take their records together', () => {
    const a = threeBehind()
    const resumed: string[] = []
    a.advanced('c', 100, 0)
    // a must give 60 before 12; b has 30 between them. Each alone can take nothing.
    a.hold('a', 60 * MIN, () => resumed.push('a'), { times: m(60, 12) })
    a.hold('b', 30 * MIN, () => resumed.push('b'), { times: m(30) })
    expect(a.boundFor('a')).toBeLessThan(60 * MIN)
    expect(a.boundFor('b')).toBeLessThan(30 * MIN)
    a.release()
    expect(resumed).toEqual(['a', 'b'])
    a.fetching('a', 60 * MIN, true, 12 * MIN, m(60, 12))
    a.fetching('b', 30 * MIN, true, 30 * MIN, m(30))
    expect([a.cut('a'), a.cut('b')]).toEqual([2, 1])
    expect(a.forced()).toBe(0)
  })

  it('when stuck, lets the held partitions take the least that leaves none of their records behind', () => {
    const a = threeBehind()
    const resumed: string[] = []
    a.advanced('c', 100, 0)
    // a must give 60 before 12; b has 30 and more to fetch (no older than 30, as far as is known).
    a.hold('a', 60 * MIN, () => resumed.push('a'), { times: m(60, 12) })
    a.hold('b', 30 * MIN, () => resumed.push('b'), { times: m(30), remainderMs: 30 * MIN })
    a.release()
    expect(resumed).toEqual(['a', 'b'])
    expect(a.forced()).toBe(1)
    a.fetching('a', 60 * MIN, true, 12 * MIN, m(60, 12))
    a.fetching('b', 45 * MIN, false, 30 * MIN, m(30, 45))
    expect([a.cut('a'), a.cut('b')]).toEqual([2, 2]) // up to 60, a's 12 and b's 30 with it
    a.advanced('a', 100, 60 * MIN, 12 * MIN)
    a.fetching('b', 80 * MIN, false, 70 * MIN, m(70, 80))
    expect(a.cut('b')).toBe(2) // no longer forced: a is at its end
  })

  it('does not force a step while a partition that is not held still has records to fetch', () => {
    const a = threeBehind()
    const resumed: string[] = []
    a.advanced('c', 10, 5 * MIN) // c has records left, not held
    a.hold('a', 60 * MIN, () => resumed.push('a'), { times: m(60, 12) })
    a.hold('b', 30 * MIN, () => resumed.push('b'), { times: m(30), remainderMs: 30 * MIN })
    a.release()
    expect(resumed).toEqual([])
    expect(a.forced()).toBe(0)
  })

  it('forces a step once the partitions it resumed together, handled apart, take nothing (fewer handled at once than assigned)', () => {
    // Fewer partitions handled at once than assigned: those resumed together are handled one by one,
    // each bounded by the other's held records. An indicator partition in order per key, not per
    // partition (its last record 40 minutes older than its first), and a scored one.
    const a = createPartitionAligner(MIN, { together: true })
    const m = (...xs: number[]) => xs.map((x) => x * MIN)
    const records = new Map([
      ['ind', m(157.3, 157.3, 156.4, 157.3, 116.6)],
      ['scored', m(117.8, 118.5)],
    ])
    const taken = new Map([...records.keys()].map((k) => [k, 0]))
    const waiting: string[] = []
    /** One batch of `key`, the rest of its records, handled alone. */
    const handle = (key: string) => {
      const times = records.get(key)!.slice(taken.get(key)!)
      a.fetching(key, Math.max(...times), true, Math.min(...times), times)
      const n = a.cut(key)
      const took = times.slice(0, n)
      const at = taken.get(key)! + n
      a.advanced(key, at, n > 0 ? Math.max(...took) : undefined, n > 0 ? Math.min(...took) : undefined)
      taken.set(key, at)
      if (n < times.length) a.hold(key, times[n]!, () => waiting.push(key), { times: times.slice(n) })
      a.release()
    }
    for (const [k, times] of records) {
      a.seen(k, times.length)
      a.advanced(k, 0)
    }
    handle('ind')
    handle('scored')
    for (let i = 0; i < 50 && waiting.length > 0; i++) handle(waiting.shift()!)
    expect(Object.fromEntries(taken)).toEqual({ ind: 5, scored: 2 })
    expect(a.held()).toBe(0)
    expect(a.forced()).toBe(1) // the least step that leaves none of their records behind: up to 157.3
  })
})

describe('createPartitionAligner across members (points and remote)', () => {
  it("tells another member each partition's oldest record not yet applied, else its next held one, else its progress", () => {
    const a = createPartitionAligner(5 * MIN)
    a.expect('a')
    expect(a.points()).toEqual(new Map([['a', Number.NEGATIVE_INFINITY]])) // end unknown, nothing taken
    a.seen('a', 100)
    a.advanced('a', 0)
    expect(a.points().get('a')).toBe(Number.NEGATIVE_INFINITY) // records left, none taken
    a.advanced('a', 30, 20 * MIN, 12 * MIN) // taken, not applied: its oldest
    a.advanced('a', 60, 28 * MIN, 19 * MIN)
    expect(a.points().get('a')).toBe(12 * MIN)
    a.applied('a', 30)
    expect(a.points().get('a')).toBe(19 * MIN)
    a.applied('a', 60)
    expect(a.points().get('a')).toBe(28 * MIN) // all applied, records left: the newest taken
    a.hold('a', 33 * MIN, () => {})
    expect(a.points().get('a')).toBe(33 * MIN) // the next record
    a.release() // nobody else: released at once
    expect(a.held()).toBe(0)
    a.advanced('a', 100, 40 * MIN, 33 * MIN) // taken to the end
    expect(a.points().get('a')).toBe(33 * MIN) // at its end, still applying
    a.applied('a', 100)
    expect(a.points().get('a')).toBeNull() // at its end, all applied: holds nobody
  })

  it("tells a batch's oldest record while it is being handled, not a progress it does not have yet", () => {
    const a = createPartitionAligner(5 * MIN)
    a.seen('a', 0) // empty at the assignment: at its end
    expect(a.points().get('a')).toBeNull()
    a.seen('a', 30) // live records came
    a.fetching('a', 12 * MIN, true, 10 * MIN)
    expect(a.points().get('a')).toBe(10 * MIN) // not −∞: nothing taken yet
    a.advanced('a', 30, 12 * MIN, 10 * MIN)
    expect(a.points().get('a')).toBe(10 * MIN) // taken, not applied
    a.applied('a', 30)
    expect(a.points().get('a')).toBeNull()
    a.seen('a', 40)
    a.fetching('a', undefined, true) // no event times: its progress, as before
    expect(a.points().get('a')).toBe(12 * MIN)
  })

  it('counts an applied step told before the step itself (chunks applied before the batch ends)', () => {
    const a = createPartitionAligner(5 * MIN)
    a.seen('a', 100)
    a.advanced('a', 0)
    a.applied('a', 50)
    a.advanced('a', 50, 20 * MIN, 10 * MIN)
    expect(a.points().get('a')).toBe(20 * MIN)
    a.applied('zz', 10) // not a partition of this member: ignored, not created
    expect([...a.points().keys()]).toEqual(['a'])
  })

  it("bounds its own partitions by the other members' points, never by a point of a partition it reads", () => {
    const a = threeBehind()
    for (const k of ['a', 'b', 'c']) a.advanced(k, 10, 30 * MIN)
    expect(a.boundFor('a')).toBe(35 * MIN)
    a.remote(
      new Map([
        ['x', 12 * MIN],
        ['b', 1 * MIN], // stale: b is this member's now
      ]),
    )
    expect(a.boundFor('a')).toBe(17 * MIN)
    expect(a.alone('a')).toBe(false)
    a.remote(new Map([['x', Number.NEGATIVE_INFINITY]])) // unknown: holds everything
    expect(a.boundFor('a')).toBe(Number.NEGATIVE_INFINITY)
    a.remote(new Map())
    expect(a.boundFor('a')).toBe(35 * MIN)
  })

  it('releases a held partition only once the other members come within reach, and keeps their points over a reset', () => {
    const a = createPartitionAligner(5 * MIN)
    const resumed: string[] = []
    a.seen('a', 100)
    a.advanced('a', 10, 20 * MIN)
    a.remote(new Map([['x', 10 * MIN]]))
    a.hold('a', 21 * MIN, () => resumed.push('a'))
    a.release()
    expect(resumed).toEqual([]) // 21 > 10 + 5
    a.remote(new Map([['x', 17 * MIN]]))
    a.release()
    expect(resumed).toEqual(['a'])
    a.reset()
    a.seen('a', 100)
    expect(a.boundFor('a')).toBe(22 * MIN)
  })

  it('keeps telling the record a partition was held at once it is let go, until it takes something', () => {
    const a = createPartitionAligner(5 * MIN)
    a.seen('a', 100)
    a.advanced('a', 10, 20 * MIN)
    a.applied('a', 10)
    a.remote(new Map([['x', 10 * MIN]]))
    a.hold('a', 8 * 60 * MIN, () => {}) // the next record is 8 h on
    expect(a.oldestHeld()).toBe(8 * 60 * MIN)
    a.remote(new Map([['x', 8 * 60 * MIN]]))
    a.release()
    expect(a.held()).toBe(0)
    expect(a.oldestHeld()).toBe(Number.POSITIVE_INFINITY)
    // Not its progress (20 min): a member reading that would hold itself back for nothing.
    expect(a.points().get('a')).toBe(8 * 60 * MIN)
    a.advanced('a', 20, 8 * 60 * MIN + 3 * MIN, 8 * 60 * MIN)
    a.applied('a', 20)
    expect(a.points().get('a')).toBe(8 * 60 * MIN + 3 * MIN)
  })

  it('tells records more than the reach older than the first one left as no older than the first less the reach', () => {
    const m = (...xs: number[]) => xs.map((x) => x * MIN)
    const a = createPartitionAligner(5 * MIN)
    a.seen('a', 100)
    a.seen('b', 100)
    a.advanced('a', 10, 20 * MIN)
    a.applied('a', 10)
    a.advanced('b', 10, 20 * MIN)
    a.applied('b', 10)
    a.remote(new Map([['x', 10 * MIN]]))
    // An old record (0) right after a newer one (60): taken with it or after it, never before.
    a.fetching('a', 61 * MIN, false, 0, m(60, 0, 61))
    expect(a.points().get('a')).toBe(55 * MIN) // being handled
    expect(a.cut('a')).toBe(0)
    a.hold('a', 60 * MIN, () => {}, { times: m(60, 0, 61), remainderMs: 61 * MIN })
    a.fetched('a')
    expect(a.points().get('a')).toBe(55 * MIN) // held
    expect(a.boundFor('b')).toBe(5 * MIN) // this member's own partitions are merged with it: the 0 still counts
    a.remote(new Map([['x', 56 * MIN]]))
    a.advanced('b', 100, 30 * MIN) // b at its end
    a.release()
    expect(a.held()).toBe(0)
    expect(a.points().get('a')).toBe(55 * MIN) // let go, not fetched yet
  })

  it("when the least step passes another member's point, forces one to the first held record, leaving behind only what is late behind it", () => {
    const m = (...xs: number[]) => xs.map((x) => x * MIN)
    const a = createPartitionAligner(5 * MIN)
    const resumed: string[] = []
    a.seen('a', 100)
    a.advanced('a', 0)
    a.remote(new Map([['x', 54 * MIN]]))
    // Taking 60 (and the 0 with it) leaves the 1 behind; taking all needs x at 95.
    a.hold('a', 60 * MIN, () => resumed.push('a'), { times: m(60, 0, 100, 1) })
    a.release()
    expect(resumed).toEqual([]) // 60 > 54 + 5
    expect(a.points().get('a')).toBe(55 * MIN)
    a.remote(new Map([['x', 56 * MIN]]))
    a.release()
    expect(resumed).toEqual(['a'])
    expect(a.forced()).toBe(1)
    a.fetching('a', 100 * MIN, true, 0, m(60, 0, 100, 1))
    expect(a.cut('a')).toBe(2) // 60 and 0; the 1 is late behind the 60 whenever it is taken
  })

  it('forgets what was taken and not applied when a partition is read again', () => {
    const a = createPartitionAligner(5 * MIN)
    a.seen('a', 100)
    a.advanced('a', 40, 20 * MIN, 5 * MIN)
    a.rewind('a', 10)
    expect(a.points().get('a')).toBe(Number.NEGATIVE_INFINITY) // progress unknown again
    a.advanced('a', 40, 20 * MIN, 8 * MIN)
    expect(a.points().get('a')).toBe(8 * MIN)
  })
})

describe('carryPoints', () => {
  const own = new Set(['t/0'])

  it("takes the other members' fresh points, drops those that hold nobody, and never its own partitions'", () => {
    const theirs = new Map<string, number | null>([
      ['t/0', 1], // this member's now: a field left from before the assignment
      ['t/1', 50],
      ['t/2', null],
    ])
    expect(carryPoints(new Map([['t/2', 40]]), theirs, own)).toEqual(new Map([['t/1', 50]]))
  })

  it('keeps the last point of a partition whose member stopped writing (dead, or cut off from the store)', () => {
    const carried = new Map([
      ['t/1', 50],
      ['t/3', 70],
      ['t/0', 10],
    ])
    expect(carryPoints(carried, new Map([['t/3', 90]]), own)).toEqual(
      new Map([
        ['t/1', 50],
        ['t/3', 90],
      ]),
    )
  })
})

describe('alignmentWarnings', () => {
  const MB = 1024 * 1024
  const base = { partitions: ['t/0', 't/1', 't/2'], maxBytesPerPartition: 8 * MB, groupId: 'g' }

  it('has nothing to say about one member whose partitions fit in one fetch from one broker', () => {
    const leaders = new Map([
      ['t/0', 1],
      ['t/1', 1],
      ['t/2', 1],
    ])
    expect(alignmentWarnings({ ...base, leaders, members: 1 })).toEqual([])
    expect(alignmentWarnings({ ...base, partitions: ['t/0'], maxBytesPerPartition: 100 * MB })).toEqual([])
  })

  it('names KAFKA_MAX_BYTES_PER_PARTITION and a value that fits when the shares exceed a fetch response', () => {
    const [w, ...rest] = alignmentWarnings({ ...base, maxBytesPerPartition: 20 * MB })
    expect(rest).toEqual([])
    expect(w?.fields).toEqual({ partitions: 3, maxBytesPerPartition: 20 * MB })
    expect(w?.msg).toMatch(/lower KAFKA_MAX_BYTES_PER_PARTITION to 19223893 or less/)
    // 19223893 bytes each fits: 3 × 19223893 ≤ 57671680.
    expect(alignmentWarnings({ ...base, maxBytesPerPartition: 19_223_893 })).toEqual([])
  })

  it('has nothing to say without a backlog to catch up, however it is set', () => {
    const leaders = new Map([
      ['t/0', 1],
      ['t/1', 2],
    ])
    const setting = { ...base, maxBytesPerPartition: 20 * MB, partitionsConcurrency: 1, leaders, members: 2 }
    expect(alignmentWarnings({ ...setting, backlog: false })).toEqual([])
    expect(alignmentWarnings({ ...setting, backlog: true })).toHaveLength(4)
    expect(alignmentWarnings(setting)).toHaveLength(4)
  })

  it('names KAFKA_PARTITIONS_CONCURRENCY when fewer partitions are handled at once than are assigned', () => {
    const [w, ...rest] = alignmentWarnings({ ...base, partitionsConcurrency: 2 })
    expect(rest).toEqual([])
    expect(w?.fields).toEqual({ partitions: 3, partitionsConcurrency: 2 })
    expect(w?.msg).toMatch(/set KAFKA_PARTITIONS_CONCURRENCY to 3/)
    expect(alignmentWarnings({ ...base, partitionsConcurrency: 3 })).toEqual([])
  })

  it('tells partitions led by several brokers, counting only the assigned ones', () => {
    const leaders = new Map([
      ['t/0', 1],
      ['t/1', 2],
      ['t/2', 1],
      ['t/9', 3], // not assigned here
    ])
    const [w] = alignmentWarnings({ ...base, leaders })
    expect(w?.fields).toEqual({ partitions: 3, leaders: [1, 2] })
    expect(w?.msg).toMatch(/led by 2 brokers/)
    expect(alignmentWarnings({ ...base, leaders: new Map([['t/0', 1]]) })).toEqual([])
  })

  it('tells a group of several members that alignment holds within one member only', () => {
    const [w] = alignmentWarnings({ ...base, members: 2 })
    expect(w?.fields).toEqual({ groupId: 'g', members: 2 })
    expect(w?.msg).toMatch(/2 members share consumer group g: .*catch up with one member/)
  })
})

import { describe, expect, it } from 'vitest'
import { carryPoints, createPartitionAligner } from './partition-aligner.ts'

const MIN = 60_000
const AHEAD = 5 * MIN

/**
 * One member of a consumer group reading one partition as the batch runner does: each fetch (up to
 * `fetchMax` records) is told (`fetching`) and cut; what is taken is applied at once (in event-time
 * order, into the store the members share) and the rest held, the partition paused until released.
 */
function member(key: string, minutes: readonly number[], fetchMax: number, store: Store) {
  const times = minutes.map((m) => m * MIN)
  const aligner = createPartitionAligner(AHEAD, { together: true })
  let position = 0
  let paused = false
  let carried = new Map<string, number>()
  aligner.expect(key)
  aligner.ends(key, times.length, 0)
  aligner.release()
  const hold = (left: number[], atEnd: boolean, newestMs: number) => {
    paused = true
    aligner.hold(key, left[0]!, () => (paused = false), {
      times: left,
      ...(atEnd ? {} : { remainderMs: newestMs }),
    })
    aligner.release()
  }
  return {
    aligner,
    done: () => position >= times.length,
    /** One fetch, if the partition is not paused and has records left. */
    fetch() {
      if (paused || position >= times.length) return
      const batch = times.slice(position, position + fetchMax)
      const atEnd = position + batch.length >= times.length
      const newestMs = Math.max(...batch)
      aligner.seen(key, times.length)
      aligner.fetching(key, newestMs, atEnd, Math.min(...batch), batch)
      const count = aligner.cut(key)
      if (count === 0) {
        hold(batch, atEnd, newestMs)
        aligner.fetched(key) // the batch is over, nothing of it taken
        aligner.release()
        return
      }
      const taken = batch.slice(0, count)
      store.apply(key, taken)
      position += count
      aligner.advanced(key, position, Math.max(...taken), Math.min(...taken))
      aligner.applied(key, position)
      if (count < batch.length) hold(batch.slice(count), atEnd, newestMs)
      else aligner.release()
    },
    /** A swap through the exchange: the other member's points, as the runner bounds by them. */
    swap(theirs: ReadonlyMap<string, number | null>) {
      carried = carryPoints(carried, theirs, new Set([key]))
      aligner.remote(carried)
      aligner.release()
    },
  }
}

/** The store both members apply to: a record more than AHEAD behind the newest applied before it is late. */
type Store = ReturnType<typeof sharedStore>
function sharedStore() {
  let newest = Number.NEGATIVE_INFINITY
  const late: string[] = []
  return {
    late,
    apply(key: string, taken: number[]) {
      for (const t of [...taken].sort((x, y) => x - y)) {
        if (t < newest - AHEAD) late.push(`${key}@${t / MIN}`)
        newest = Math.max(newest, t)
      }
    },
  }
}

/** Runs two members fetch by fetch, swapping points after each round, until both are done or 100 rounds. */
function catchUp(a: readonly number[], b: readonly number[], fetchMax = 10) {
  const store = sharedStore()
  const members = [member('t/0', a, fetchMax, store), member('t/1', b, fetchMax, store)] as const
  const [ma, mb] = members
  const swap = () => {
    const pointsA = ma.aligner.points()
    ma.swap(mb.aligner.points())
    mb.swap(pointsA)
  }
  swap() // at the assignment: each partition's progress unknown (−∞), it holds the other member back
  for (let round = 0; round < 100 && !(ma.done() && mb.done()); round++) {
    for (const m of members) m.fetch()
    swap()
  }
  return { done: ma.done() && mb.done(), late: store.late, held: [ma, mb].map((m) => m.aligner.held()) }
}

describe('createPartitionAligner, two members catching up side by side', () => {
  it('takes every record when a held partition leaves an old record behind a newer one', () => {
    // A re-sent old article (0) right after a newer one (60): A cannot take 60 before B reaches 55, and
    // B's 30 must not wait for A's 0, which comes after 60 and is late behind it whatever B does.
    const run = catchUp([60, 0, 61, 62], [30, 31, 32, 33, 58, 64, 70])
    expect(run).toMatchObject({ done: true, held: [0, 0] })
    expect(run.late).toEqual(['t/0@0'])
  })

  it('takes every record when the first step a held partition can take leaves an old record behind', () => {
    // Taking A's 60 (and the 0 with it) leaves the 1 behind, more than the reach older: alone, A could
    // take nothing before B reached 95. It steps to its first record once B is within reach of it.
    const run = catchUp([60, 0, 100, 1], [30, 40, 50, 70, 80, 90, 95, 110])
    expect(run).toMatchObject({ done: true, held: [0, 0] })
    expect(run.late).toEqual(['t/0@0', 't/0@1'])
  })

  it('takes every record in fetches smaller than the backlog, none late but those behind a newer one', () => {
    const a = [10, 20, 30, 40, 50, 60, 0, 61, 62, 63, 70, 80, 2, 90]
    const b = Array.from({ length: 40 }, (_, i) => 5 + 2.5 * i)
    const run = catchUp(a, b, 3)
    expect(run).toMatchObject({ done: true, held: [0, 0] })
    expect(run.late).toEqual(['t/0@0', 't/0@2'])
  })
})

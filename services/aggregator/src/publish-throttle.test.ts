import type { IndicatorUpdate } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import { createPublishThrottle } from './publish-throttle.ts'

const update = (mean: number, volume: number): IndicatorUpdate => ({
  key: 'k',
  dimension: 'tariff',
  scope: { kind: 'global', id: 'all' },
  asOf: new Date(0).toISOString(),
  mean: { '1h': mean },
  volume: { '1h': volume },
  buzz: 0,
  momentum: 0,
  diffusion: 0,
  count: volume,
  updatedAt: new Date(0).toISOString(),
})
/** n headlines of one value on key k, the newest of them entered at `enteredMs`. */
const one = (value: number, n = 1, enteredMs = 0) =>
  new Map([['k', { n, sumW: n, sumWX: n * value, enteredMs }]])

describe('createPublishThrottle', () => {
  const options = { intervalMs: 1_000, largeChange: 0.2, burstFactor: 1, shortLabel: '1h' }

  it('publishes a key at most once per interval, and its last change on the trailing edge', () => {
    const t = createPublishThrottle(options)
    expect(t.offer(one(0.1, 1, 5), 0)).toEqual([{ key: 'k', trigger: 'interval', enteredMs: 5 }])
    t.published('k', update(0.1, 100))
    // Held back: the trailing edge publishes them, with the newest entry time among them.
    expect(t.offer(one(0.1, 1, 900), 300)).toEqual([])
    expect(t.offer(one(0.1, 1, 400), 900)).toEqual([])
    expect(t.due(999)).toEqual([])
    expect(t.due(1_000)).toEqual([{ key: 'k', trigger: 'trailing', enteredMs: 900 }])
    expect(t.due(2_500)).toEqual([]) // clean and aged out: forgotten
    expect(t.size()).toBe(0)
    expect(t.offer(one(0.1, 1, 2_600), 2_600)).toEqual([{ key: 'k', trigger: 'interval', enteredMs: 2_600 }])
  })

  it('publishes at once on a large change of the mean or a burst of volume', () => {
    const t = createPublishThrottle(options)
    t.offer(one(0), 0)
    t.published('k', update(0, 4))
    // Four headlines at -0.9 against a window of four at 0: the mean moves by 0.45.
    expect(t.offer(one(-0.9, 4, 90), 100)).toEqual([{ key: 'k', trigger: 'large_change', enteredMs: 90 }])
    t.published('k', update(-0.45, 8))
    // The pending headline (entered at 190) and the burst that publishes it (entered at 150).
    expect(t.offer(one(-0.45, 1, 190), 200)).toEqual([])
    expect(t.offer(one(-0.45, 9, 150), 300)).toEqual([{ key: 'k', trigger: 'large_change', enteredMs: 190 }])
  })

  it('hands a retracted key to the trailing edge', () => {
    const t = createPublishThrottle(options)
    const picked = t.offer(one(0, 1, 7), 0)
    t.retract(picked)
    expect(t.due(1_000)).toEqual([{ key: 'k', trigger: 'trailing', enteredMs: 7 }])
    expect(t.drain(1_100)).toEqual([])
  })

  it('hands a retracted key to the trailing edge though the edge dropped its entry while its send was slow', () => {
    const t = createPublishThrottle(options)
    const picked = t.offer(one(0, 1, 7), 0)
    // The send takes longer than an interval: the trailing edge finds the key clean and aged out.
    expect(t.due(2_500)).toEqual([])
    expect(t.size()).toBe(0)
    t.retract(picked) // the send failed: pending again, due at the next tick
    expect(t.due(2_600)).toEqual([{ key: 'k', trigger: 'trailing', enteredMs: 7 }])
  })

  it('publishes what an interval pick finds still pending with it, and drains every pending key on stop', () => {
    const t = createPublishThrottle(options)
    t.offer(one(0, 1, 0), 0)
    t.published('k', update(0, 100))
    t.offer(one(0, 1, 800), 500) // pending; the trailing edge has not run by the next batch
    expect(t.offer(one(0, 1, 600), 1_200)).toEqual([{ key: 'k', trigger: 'interval', enteredMs: 800 }])
    t.offer(one(0, 1, 1_300), 1_300)
    expect(t.drain(1_400)).toEqual([{ key: 'k', trigger: 'trailing', enteredMs: 1_300 }])
    expect(t.drain(1_500)).toEqual([])
  })

  it("hands a pending key's dirty mark to whichever pick publishes it, back on a retract, the newest kept", async () => {
    const t = createPublishThrottle(options)
    const stamps = async (picked: { marks?: Promise<number | undefined>[] }[]) =>
      Promise.all(picked[0]?.marks ?? [])
    t.offer(one(0), 0)
    t.published('k', update(0, 100))
    expect(t.offer(one(0), 100)).toEqual([]) // pending: the batch marks it
    t.marking(['k', 'other'], Promise.resolve(new Map([['k', 11]])))
    const trailing = t.due(1_000)
    expect(await stamps(trailing)).toEqual([11])
    // Its send failed: pending again with its mark, which the next pick takes.
    t.retract(trailing)
    const again = t.due(1_000)
    expect(await stamps(again)).toEqual([11])
    expect(await stamps(t.due(3_000))).toEqual([]) // published: nothing left to settle
    // A mark that could not be written leaves the one before it; an interval pick takes it too.
    t.offer(one(0), 3_100)
    expect(t.offer(one(0), 3_200)).toEqual([])
    t.marking(['k'], Promise.resolve(new Map([['k', 12]])))
    expect(t.offer(one(0), 3_300)).toEqual([])
    t.marking(['k'], Promise.reject(new Error('Redis down')))
    expect(await stamps(t.offer(one(0), 4_200))).toEqual([12])
  })

  it('publishes with a key the trace of its newest headline by entry time that carried one, whichever pick or edge publishes it', () => {
    const t = createPublishThrottle(options)
    const tp = (n: number) => `00-${String(n).padStart(32, '0')}-${'1'.repeat(16)}-01`
    /** One headline on key k entered at `enteredMs`, with trace n (none when undefined). */
    const traced = (enteredMs: number, n?: number) =>
      new Map([
        [
          'k',
          {
            n: 1,
            sumW: 1,
            sumWX: 0,
            enteredMs,
            ...(n === undefined ? {} : { trace: { traceparent: tp(n), enteredMs } }),
          },
        ],
      ])
    const traceOfPick = (picked: { trace?: { traceparent: string } }[]) => picked[0]?.trace?.traceparent
    expect(traceOfPick(t.offer(traced(5, 1), 0))).toBe(tp(1))
    t.published('k', update(0, 100))
    // Held back: 2 entered at 900, then 3 at 400 (came later, entered earlier), then one without a
    // trace at 950: the trailing edge carries 2, the newest that had one (its ingestedAt 950).
    t.offer(traced(900, 2), 100)
    t.offer(traced(400, 3), 200)
    t.offer(traced(950), 300)
    const trailing = t.due(1_000)
    expect(trailing).toMatchObject([{ trigger: 'trailing', enteredMs: 950 }])
    expect(traceOfPick(trailing)).toBe(tp(2))
    // Its send failed: pending again with its trace, due at once; the next batch takes it, and on a tie
    // of entry times the later headline's trace goes.
    t.retract(trailing)
    const again = t.offer(traced(900, 4), 1_100)
    expect(again).toMatchObject([{ trigger: 'interval', enteredMs: 950 }])
    expect(traceOfPick(again)).toBe(tp(4))
    // An interval pick takes what is still pending with it; none of them traced: none.
    expect(t.offer(traced(3_000), 3_000)).toEqual([{ key: 'k', trigger: 'interval', enteredMs: 3_000 }])
    t.offer(traced(3_100, 5), 3_100)
    expect(traceOfPick(t.offer(traced(3_000), 4_100))).toBe(tp(5))
  })
})

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
const one = (value: number, n = 1) => new Map([['k', { n, sumW: n, sumWX: n * value }]])

describe('createPublishThrottle', () => {
  const options = { intervalMs: 1_000, largeChange: 0.2, burstFactor: 1, shortLabel: '1h' }

  it('publishes a key at most once per interval, and its last change on the trailing edge', () => {
    const t = createPublishThrottle(options)
    expect(t.offer(one(0.1), 0)).toEqual([{ key: 'k', trigger: 'interval' }])
    t.published('k', update(0.1, 100))
    expect(t.offer(one(0.1), 300)).toEqual([])
    expect(t.offer(one(0.1), 900)).toEqual([])
    expect(t.due(999)).toEqual([])
    expect(t.due(1_000)).toEqual(['k'])
    expect(t.due(2_500)).toEqual([]) // clean and aged out: forgotten
    expect(t.size()).toBe(0)
    expect(t.offer(one(0.1), 2_600)).toEqual([{ key: 'k', trigger: 'interval' }])
  })

  it('publishes at once on a large change of the mean or a burst of volume', () => {
    const t = createPublishThrottle(options)
    t.offer(one(0), 0)
    t.published('k', update(0, 4))
    // Four headlines at -0.9 against a window of four at 0: the mean moves by 0.45.
    expect(t.offer(one(-0.9, 4), 100)).toEqual([{ key: 'k', trigger: 'large_change' }])
    t.published('k', update(-0.45, 8))
    expect(t.offer(one(-0.45, 1), 200)).toEqual([])
    expect(t.offer(one(-0.45, 9), 300)).toEqual([{ key: 'k', trigger: 'large_change' }])
  })

  it('hands a retracted key to the trailing edge', () => {
    const t = createPublishThrottle(options)
    t.offer(one(0), 0)
    t.retract(['k'])
    expect(t.due(1_000)).toEqual(['k'])
    expect(t.drain(1_100)).toEqual([])
  })
})

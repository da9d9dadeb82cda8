import type { Contribution } from '@tradepulse/indicators'
import { describe, expect, it } from 'vitest'
import { createEventTimeMerger } from './event-time-merger.ts'

const MIN = 60_000
const c = (id: string, eventMs: number): Contribution => ({
  dimension: 'market',
  scope: { kind: 'global', id: 'all' },
  headlineId: id,
  eventMs,
  value: 0,
  weight: 1,
  sign: 0,
})
const times = (rounds: Contribution[][]) => rounds.map((r) => r.map((x) => x.eventMs / MIN).sort((a, b) => a - b))

describe('createEventTimeMerger', () => {
  it('holds a partition that runs ahead until the others catch up, then applies in event-time order', async () => {
    const rounds: Contribution[][] = []
    const merger = createEventTimeMerger(async (round) => void rounds.push(round), { graceMs: 10 * MIN })
    // Partition a's batch spans two hours; b has said it is at minute 0.
    await merger.submit([c('b0', 0)], 'b')
    const a = merger.submit([c('a1', 1 * MIN), c('a2', 30 * MIN), c('a3', 120 * MIN)], 'a')
    await new Promise((r) => setTimeout(r, 20))
    expect(times(rounds)).toEqual([[0], [1]]) // up to b's progress + half the grace
    const b = merger.submit([c('b1', 20 * MIN), c('b2', 40 * MIN), c('b3', 110 * MIN)], 'b')
    await Promise.all([a, b])
    // a's last headline is more than half a grace past b's progress: it waits for b's next batch, or
    // (here) for b to go idle.
    expect(times(rounds)).toEqual([[0], [1], [20, 30, 40, 110], [120]])
  })

  it('stops waiting for a source that has gone idle', async () => {
    const rounds: Contribution[][] = []
    const merger = createEventTimeMerger(async (round) => void rounds.push(round), { graceMs: 10 * MIN, idleMs: 30 })
    await merger.submit([c('b0', 0)], 'b')
    const started = Date.now()
    await merger.submit([c('a1', 100 * MIN)], 'a')
    expect(Date.now() - started).toBeGreaterThanOrEqual(25)
    expect(times(rounds)).toEqual([[0], [100]])
  })

  it('rejects only the submissions of a failed round; the rest go on', async () => {
    let fail = true
    const merger = createEventTimeMerger(
      async (round) => {
        if (fail && round.some((x) => x.headlineId === 'bad')) {
          fail = false
          throw new Error('redis down')
        }
      },
      { graceMs: 10 * MIN },
    )
    const bad = merger.submit([c('bad', 5)], 'a')
    const good = merger.submit([c('good', 6)], 'b')
    await expect(bad).rejects.toThrow('redis down')
    await expect(good).resolves.toBeUndefined()
    await expect(merger.submit([c('bad', 5)], 'a')).resolves.toBeUndefined()
  })
})

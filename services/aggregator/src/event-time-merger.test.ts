import type { Contribution } from '@tradepulse/indicators'
import { describe, expect, it } from 'vitest'
import { createEventTimeMerger } from './event-time-merger.ts'

const c = (id: string, eventMs: number): Contribution => ({
  dimension: 'market',
  scope: { kind: 'global', id: 'all' },
  headlineId: id,
  eventMs,
  value: 0,
  weight: 1,
  sign: 0,
})

describe('createEventTimeMerger', () => {
  it('merges concurrent submissions into rounds in event-time order', async () => {
    const rounds: number[][] = []
    const merger = createEventTimeMerger(async (round) => {
      rounds.push(round.map((x) => x.eventMs).sort((a, b) => a - b))
      await new Promise((r) => setTimeout(r, 5))
    })
    // Two partitions' batches over the same hours, submitted together.
    const a = merger.submit([c('a1', 10), c('a2', 30), c('a3', 50)])
    const b = merger.submit([c('b1', 20), c('b2', 40), c('b3', 60)])
    await Promise.all([a, b])
    // First round: only a is pending (b arrives while it applies), so a goes whole; then b.
    expect(rounds.flat().sort((x, y) => x - y)).toEqual([10, 20, 30, 40, 50, 60])
    const later = createEventTimeMerger(async (round) => {
      rounds.push(round.map((x) => x.eventMs).sort((x, y) => x - y))
    })
    rounds.length = 0
    const gate = later.submit([c('z', 0)]) // holds the pump for one tick, so the next two merge
    const p1 = later.submit([c('p1', 10), c('p2', 50), c('p3', 90)])
    const p2 = later.submit([c('q1', 20), c('q2', 40)])
    await Promise.all([gate, p1, p2])
    expect(rounds).toEqual([[0], [10, 20, 40], [50, 90]])
  })

  it('rejects only the submissions of a failed round; the rest go on', async () => {
    let fail = true
    const merger = createEventTimeMerger(async (round) => {
      if (fail && round.some((x) => x.headlineId === 'bad')) {
        fail = false
        throw new Error('redis down')
      }
    })
    const bad = merger.submit([c('bad', 5)])
    const good = merger.submit([c('good', 100)])
    await expect(bad).rejects.toThrow('redis down')
    await expect(good).resolves.toBeUndefined()
    await expect(merger.submit([c('bad', 5)])).resolves.toBeUndefined()
  })
})

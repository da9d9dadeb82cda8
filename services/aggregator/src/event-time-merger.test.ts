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
const times = (rounds: Contribution[][]) =>
  rounds.map((r) => r.map((x) => x.eventMs / MIN).sort((a, b) => a - b))

describe('createEventTimeMerger', () => {
  it('holds a partition that runs ahead while another is still parsing, then merges by event time', async () => {
    const rounds: Contribution[][] = []
    const merger = createEventTimeMerger(async (round) => void rounds.push(round), { graceMs: 10 * MIN })
    merger.begin('a')
    merger.begin('b') // b's handler has started but not submitted yet
    const a = merger.submit([c('a1', 1 * MIN), c('a2', 30 * MIN), c('a3', 120 * MIN)], 'a')
    await new Promise((r) => setTimeout(r, 20))
    expect(rounds).toEqual([])
    const b = merger.submit([c('b1', 20 * MIN), c('b2', 40 * MIN), c('b3', 110 * MIN)], 'b')
    await Promise.all([a, b])
    // Up to b's progress + half the grace, then a's remainder once b is done.
    expect(times(rounds)).toEqual([[1, 20, 30, 40, 110], [120]])
  })

  it('joins submissions of the same turn into one round', async () => {
    const rounds: Contribution[][] = []
    const merger = createEventTimeMerger(async (round) => void rounds.push(round), { graceMs: 10 * MIN })
    await Promise.all([merger.submit([c('a', 90 * MIN)], 'a'), merger.submit([c('b', 0)], 'b')])
    expect(times(rounds)).toEqual([[0], [90]])
  })

  it('rejects only the submissions of a failed round; the rest go on once the failed one is retried', async () => {
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
    const good = merger.submit([c('good', 6 * MIN)], 'b')
    await expect(bad).rejects.toThrow('redis down')
    const retry = merger.submit([c('bad', 5)], 'a', merger.begin('a'))
    await expect(good).resolves.toBeUndefined()
    await expect(retry).resolves.toBeUndefined()
  })

  it("holds the others at a failed source's oldest event until its retry begins, or failedHoldMs passes", async () => {
    const applied: string[] = []
    let fail = true
    const merger = createEventTimeMerger(
      async (round) => {
        if (fail && round.some((x) => x.headlineId === 'a1')) {
          fail = false
          throw new Error('redis down')
        }
        for (const x of round) applied.push(x.headlineId)
      },
      { graceMs: 10 * MIN, failedHoldMs: 200 },
    )
    const a = merger.submit([c('a1', 0), c('a2', 50 * MIN)], 'a', merger.begin('a'))
    await expect(a).rejects.toThrow('redis down')
    // b runs far ahead of a's failed batch: held at a's oldest event plus half the grace.
    const b = merger.submit([c('b1', 4 * MIN), c('b2', 40 * MIN)], 'b', merger.begin('b'))
    await new Promise((r) => setTimeout(r, 50))
    expect(applied).toEqual(['b1'])
    // a's retry: merged with b's rest (a round is applied in event-time order by the store).
    await merger.submit([c('a1', 0), c('a2', 50 * MIN)], 'a', merger.begin('a'))
    await b
    expect(applied[0]).toBe('b1')
    expect(applied.slice(1, 3).sort()).toEqual(['a1', 'b2'])
    expect(applied[3]).toBe('a2')

    // A failed source that never comes back (its partition went to another member): let go after 200 ms.
    fail = true
    await expect(merger.submit([c('a1', 60 * MIN)], 'a', merger.begin('a'))).rejects.toThrow('redis down')
    const t = Date.now()
    await merger.submit([c('b3', 120 * MIN)], 'b', merger.begin('b'))
    expect(Date.now() - t).toBeGreaterThanOrEqual(150)
    expect(applied.at(-1)).toBe('b3')
  })

  it("rejects a failed source's later submissions too, so they are not applied before its retry", async () => {
    const applied: string[] = []
    let fail = true
    const merger = createEventTimeMerger(
      async (round) => {
        if (fail && round.some((x) => x.headlineId === 'first')) {
          fail = false
          throw new Error('redis down')
        }
        for (const x of round) applied.push(x.headlineId)
      },
      { graceMs: 10 * MIN },
    )
    const first = merger.submit([c('first', 0)], 'a')
    const second = merger.submit([c('second', 60 * MIN)], 'a')
    const other = merger.submit([c('other', 1 * MIN)], 'b')
    await expect(first).rejects.toThrow('redis down')
    await expect(second).rejects.toThrow('redis down')
    await expect(other).rejects.toThrow('redis down') // it shared the failed round
    expect(applied).toEqual([])
    // Both retried (each a new begin, as the runner's retries are).
    await Promise.all([
      merger.submit([c('first', 0)], 'a', merger.begin('a')),
      merger.submit([c('other', 1 * MIN)], 'b', merger.begin('b')),
    ])
    await merger.submit([c('second', 60 * MIN)], 'a', merger.begin('a'))
    expect(applied).toEqual(['first', 'other', 'second'])
  })

  it('rejects at once a submission begun before a round of its source failed', async () => {
    let fail = true
    const applied: string[] = []
    const merger = createEventTimeMerger(
      async (round) => {
        if (fail && round.some((x) => x.headlineId === 'n')) {
          fail = false
          throw new Error('redis down')
        }
        for (const x of round) applied.push(x.headlineId)
      },
      { graceMs: 10 * MIN },
    )
    const n = merger.submit([c('n', 0)], 'a', merger.begin('a'))
    const next = merger.begin('a') // the next batch of the partition, parsing while n is applied
    await expect(n).rejects.toThrow('redis down')
    await expect(merger.submit([c('n+1', 60 * MIN)], 'a', next)).rejects.toThrow('failed since')
    expect(applied).toEqual([])
    // Begun after the failure: goes on.
    await merger.submit([c('n', 0)], 'a', merger.begin('a'))
    expect(applied).toEqual(['n'])
  })

  it('keeps holding others back while a source parses its next batch after the last one was applied', async () => {
    const rounds: Contribution[][] = []
    const merger = createEventTimeMerger(async (round) => void rounds.push(round), { graceMs: 10 * MIN })
    const first = merger.submit([c('a1', 0)], 'a', merger.begin('a'))
    const parsing = merger.begin('a') // a's next batch: begun while the first is being applied
    await first
    const b = merger.submit([c('b1', 1 * MIN), c('b2', 120 * MIN)], 'b', merger.begin('b'))
    await new Promise((r) => setTimeout(r, 20))
    // Only up to a's progress (0) + half the grace: b2 waits for a.
    expect(times(rounds)).toEqual([[0], [1]])
    await merger.submit([c('a2', 100 * MIN)], 'a', parsing)
    await b
    expect(times(rounds)).toEqual([[0], [1], [100], [120]])
  })
})

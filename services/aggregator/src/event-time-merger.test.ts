import type { Scope } from '@tradepulse/contracts'
import type { Contribution } from '@tradepulse/indicators'
import { TradepulseError } from '@tradepulse/platform'
import { describe, expect, it, vi } from 'vitest'
import { createEventTimeMerger, RefusedHeadlinesError } from './event-time-merger.ts'

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

/** A merger whose first round holding `id` fails (Redis down); `applied` lists what it applied, in order. */
function failingOnce(id: string) {
  const applied: string[] = []
  let fail = true
  const merger = createEventTimeMerger(
    async (round) => {
      if (fail && round.some((x) => x.headlineId === id)) {
        fail = false
        throw new TradepulseError('INFRA_REDIS', 'redis down')
      }
      for (const x of round) applied.push(x.headlineId)
    },
    { graceMs: 10 * MIN },
  )
  return { merger, applied }
}

/**
 * A merger whose store refuses for good any round holding a headline `refused` names (WRONGTYPE on a
 * scope key of its own), and fails once with a fault to retry on the `retryOn`-th call; `applied` lists
 * what it applied, in order.
 */
function refusing(refused: (id: string) => boolean, retryOn?: number) {
  const applied: string[] = []
  let calls = 0
  const merger = createEventTimeMerger(
    async (round) => {
      if (++calls === retryOn) throw new TradepulseError('INFRA_REDIS', 'Connection is closed.')
      const bad = round.find((x) => refused(x.headlineId))
      if (bad) throw new TradepulseError('INFRA_REDIS', `WRONGTYPE (${bad.headlineId})`, { retriable: false })
      for (const x of round) applied.push(x.headlineId)
    },
    { graceMs: 10 * MIN },
  )
  return { merger, applied, calls: () => calls }
}

/**
 * Runs `act` with the merger's scheduling (setImmediate) on a fake clock, then runs what it scheduled to
 * its end: the merger's pump, which applies whatever rounds it may. Checks that `act` did schedule it
 * (else "nothing applied yet" would say nothing), and that nothing is left scheduled after. Returns what
 * `act` returned, wrapped (a submission's promise is not awaited here).
 */
async function pumped<T>(act: () => T): Promise<{ value: T }> {
  vi.useFakeTimers({ toFake: ['setImmediate', 'clearImmediate'] })
  try {
    const value = act()
    expect(vi.getTimerCount(), 'the merger scheduled its pump').toBeGreaterThan(0)
    await vi.runAllTimersAsync()
    expect(vi.getTimerCount(), 'nothing left scheduled').toBe(0)
    return { value }
  } finally {
    vi.useRealTimers()
  }
}

describe('createEventTimeMerger', () => {
  it('holds a partition that runs ahead while another is still parsing, then merges by event time', async () => {
    const rounds: Contribution[][] = []
    const merger = createEventTimeMerger(async (round) => void rounds.push(round), { graceMs: 10 * MIN })
    merger.begin('a')
    merger.begin('b') // b's handler has started but not submitted yet
    const { value: a } = await pumped(() =>
      merger.submit([c('a1', 1 * MIN), c('a2', 30 * MIN), c('a3', 120 * MIN)], 'a'),
    )
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

  it("resolves each submission with what its rounds folded of its own headlines, not another source's", async () => {
    const rounds: Contribution[][] = []
    const region = (id: string): Scope => ({ kind: 'region', id })
    // The store folds every contribution of a headline whose id ends in x (as if beyond the cap).
    const merger = createEventTimeMerger(
      async (round) => {
        rounds.push(round)
        return round
          .filter((x) => x.headlineId.endsWith('x'))
          .map(({ dimension, headlineId }) => ({ dimension, scope: region(headlineId), headlineId }))
      },
      { graceMs: 10 * MIN },
    )
    merger.begin('a')
    merger.begin('b')
    const a = merger.submit([c('a1', 1 * MIN), c('a2x', 2 * MIN), c('a3x', 60 * MIN)], 'a')
    const b = merger.submit([c('b1x', 1 * MIN), c('b2', 3 * MIN)], 'b')
    const [fa, fb] = await Promise.all([a, b])
    expect(times(rounds)).toEqual([[1, 1, 2, 3], [60]]) // a's two rounds, b's one shared with a's first
    expect(fa.map((f) => f.headlineId)).toEqual(['a2x', 'a3x'])
    expect(fb).toEqual([{ dimension: 'market', scope: region('b1x'), headlineId: 'b1x' }])
    expect(await merger.submit([c('c1', 5 * MIN)], 'c')).toEqual([])
  })

  it('rejects every pending submission when a round fails; each goes on when retried', async () => {
    const { merger, applied } = failingOnce('bad')
    const bad = merger.submit([c('bad', 5)], 'a')
    const good = merger.submit([c('good', 6 * MIN)], 'b')
    await expect(bad).rejects.toThrow('redis down')
    await expect(good).rejects.toThrow('redis down') // pending when a's round failed
    expect(applied).toEqual([])
    await Promise.all([merger.submit([c('bad', 5)], 'a'), merger.submit([c('good', 6 * MIN)], 'b')])
    expect(applied).toEqual(['bad', 'good'])
  })

  it("rejects the other sources' pending submissions too, so none is applied ahead of the failed one's retry", async () => {
    const { merger, applied } = failingOnce('a1')
    // a's round (up to 25 min) fails while b's records (30-40 min) wait for it.
    const a = merger.submit([c('a1', 0), c('a2', 20 * MIN)], 'a', merger.begin('a'))
    const b = merger.submit([c('b1', 30 * MIN), c('b2', 40 * MIN)], 'b', merger.begin('b'))
    await expect(a).rejects.toThrow('redis down')
    await expect(b).rejects.toThrow('redis down')
    expect(applied).toEqual([])
    // Both read again: merged in event-time order, none late.
    await Promise.all([
      merger.submit([c('a1', 0), c('a2', 20 * MIN)], 'a', merger.begin('a')),
      merger.submit([c('b1', 30 * MIN), c('b2', 40 * MIN)], 'b', merger.begin('b')),
    ])
    expect(applied).toEqual(['a1', 'a2', 'b1', 'b2'])
  })

  it("rejects a failed source's later submissions too, so they are not applied before its retry", async () => {
    const { merger, applied } = failingOnce('first')
    const first = merger.submit([c('first', 0)], 'a')
    const second = merger.submit([c('second', 60 * MIN)], 'a')
    const other = merger.submit([c('other', 1 * MIN)], 'b')
    await expect(first).rejects.toThrow('redis down')
    await expect(second).rejects.toThrow('redis down')
    await expect(other).rejects.toThrow('redis down') // it shared the failed round
    expect(applied).toEqual([])
    await merger.submit([c('first', 0)], 'a')
    await merger.submit([c('second', 60 * MIN)], 'a')
    expect(applied).toEqual(['first', 'second'])
  })

  it('rejects at once a submission begun before a round of its source failed', async () => {
    const { merger, applied } = failingOnce('n')
    // Another partition's batch, in two parts: the first submitted, the second still parsing.
    const other = merger.begin('b')
    merger.begin('b')
    const o1 = merger.submit([c('o1', 1 * MIN)], 'b', other)
    const n = merger.submit([c('n', 0)], 'a', merger.begin('a'))
    const next = merger.begin('a') // the next batch of the partition, parsing while n is applied
    await expect(n).rejects.toThrow('redis down')
    await expect(o1).rejects.toThrow('redis down')
    await expect(merger.submit([c('n+1', 60 * MIN)], 'a', next)).rejects.toThrow('failed since')
    // A source only parsing when another's round failed: refused too, as a fault to retry (the runner
    // reads the batch again whole), not as a bug (which it would isolate record by record).
    await expect(merger.submit([c('o2', 2 * MIN)], 'b', other)).rejects.toMatchObject({
      message: expect.stringMatching(/failed since/),
      retriable: true,
    })
    await merger.submit([], 'b') // the batch's own begin ends
    expect(applied).toEqual([])
    // Begun after the failure: goes on.
    await merger.submit([c('n', 0)], 'a', merger.begin('a'))
    expect(applied).toEqual(['n'])
  })

  it('leaves out a headline the store refuses alone for good, applies the rest of the round in event-time order, and rejects only the submission holding it, once done', async () => {
    const { merger, applied } = refusing((id) => id === 'a2')
    const tokenA = merger.begin('a')
    const a = merger.submit([c('a1', 0), c('a2', 2 * MIN), c('a3', 30 * MIN)], 'a', tokenA)
    const b = merger.submit([c('b1', 1 * MIN), c('b2', 3 * MIN), c('b3', 31 * MIN)], 'b', merger.begin('b'))
    const next = merger.begin('a') // a's next batch, parsing meanwhile
    // Before, b was rejected with a2's error (and a2's round-mate dead-lettered with it).
    await expect(b).resolves.toEqual([])
    const err = await a.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RefusedHeadlinesError)
    expect(err).toMatchObject({ code: 'INFRA_REDIS', retriable: false })
    expect((err as RefusedHeadlinesError).refused).toEqual([
      { headlineId: 'a2', err: expect.objectContaining({ message: 'WRONGTYPE (a2)' }) },
    ])
    // In event-time order, but for a2: nothing is late that the round would not have made late.
    expect(applied).toEqual(['a1', 'b1', 'b2', 'a3', 'b3'])
    // Not a failure of a's: its next batch goes on.
    await merger.submit([c('a4', 40 * MIN)], 'a', next)
    expect(applied.at(-1)).toBe('a4')
  })

  it('fails every source in flight when a fault to retry comes while it looks for the refused headline', async () => {
    const { merger, applied } = refusing((id) => id === 'a2', 2)
    const a = merger.submit([c('a1', 0), c('a2', 2 * MIN)], 'a', merger.begin('a'))
    const b = merger.submit([c('b1', 1 * MIN)], 'b', merger.begin('b'))
    await expect(a).rejects.toMatchObject({ message: 'Connection is closed.', retriable: true })
    await expect(b).rejects.toMatchObject({ message: 'Connection is closed.', retriable: true })
    expect(applied).toEqual([])
  })

  it("fails every source in flight with the round's error when more than a few headlines are refused alone (a key every headline writes: nobody's own)", async () => {
    const { merger, applied, calls } = refusing(() => true)
    const many = Array.from({ length: 200 }, (_, i) => c(`a${i}`, i * 1_000))
    const a = merger.submit(many, 'a', merger.begin('a'))
    const b = merger.submit([c('b1', 1 * MIN)], 'b', merger.begin('b'))
    await expect(a).rejects.toMatchObject({ message: 'WRONGTYPE (a0)', retriable: false })
    await expect(b).rejects.toMatchObject({ message: 'WRONGTYPE (a0)' })
    expect(applied).toEqual([])
    expect(calls()).toBeLessThan(100) // given up after a few, not one call per headline
  })

  it('keeps holding others back while a source parses its next batch after the last one was applied', async () => {
    const rounds: Contribution[][] = []
    const merger = createEventTimeMerger(async (round) => void rounds.push(round), { graceMs: 10 * MIN })
    const first = merger.submit([c('a1', 0)], 'a', merger.begin('a'))
    const parsing = merger.begin('a') // a's next batch: begun while the first is being applied
    await first
    const { value: b } = await pumped(() =>
      merger.submit([c('b1', 1 * MIN), c('b2', 120 * MIN)], 'b', merger.begin('b')),
    )
    // Only up to a's progress (0) + half the grace: b2 waits for a.
    expect(times(rounds)).toEqual([[0], [1]])
    await merger.submit([c('a2', 100 * MIN)], 'a', parsing)
    await b
    expect(times(rounds)).toEqual([[0], [1], [100], [120]])
  })

  it("holds everyone at the oldest event a source's parts still to come hold, not its newest submitted", async () => {
    const rounds: Contribution[][] = []
    const merger = createEventTimeMerger(async (round) => void rounds.push(round), { graceMs: 10 * MIN })
    // a's batch in two parts: the first up to 60 min, the second with a record at 5 min.
    const batch = merger.begin('a')
    merger.begin('a')
    const {
      value: [a1, b],
    } = await pumped(() => [
      merger.submit([c('a1', 0), c('a2', 60 * MIN)], 'a', batch, 5 * MIN),
      merger.submit([c('b1', 50 * MIN)], 'b', merger.begin('b')),
    ])
    expect(times(rounds)).toEqual([[0]]) // up to 5 + 5 min: b1 and a2 wait for a's second part
    merger.begin('a')
    const a2 = merger.submit([c('a3', 5 * MIN), c('a4', 61 * MIN)], 'a', batch)
    await merger.submit([], 'a') // the batch's own begin ends
    await Promise.all([a1, a2, b])
    expect(times(rounds).flat()).toEqual([0, 5, 50, 60, 61])
  })

  it('applies what is pending in rounds of at most maxRound contributions, oldest first, across sources', async () => {
    const rounds: Contribution[][] = []
    const merger = createEventTimeMerger(async (round) => void rounds.push(round), {
      graceMs: 10 * MIN,
      maxRound: 3,
    })
    // Catching up: parts pile up while a round is applied, and the next round would take them all.
    await Promise.all([
      merger.submit([c('a1', 1 * MIN), c('a2', 4 * MIN), c('a3', 6 * MIN), c('a4', 8 * MIN)], 'a'),
      merger.submit([c('b1', 2 * MIN), c('b2', 3 * MIN), c('b3', 5 * MIN), c('b4', 7 * MIN)], 'b'),
    ])
    expect(times(rounds)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8],
    ])
  })

  it("keeps a headline's contributions (one event time) in one round past maxRound", async () => {
    const rounds: Contribution[][] = []
    const merger = createEventTimeMerger(async (round) => void rounds.push(round), {
      graceMs: 10 * MIN,
      maxRound: 2,
    })
    const own = (id: string, eventMs: number, n: number) => Array.from({ length: n }, () => c(id, eventMs))
    await merger.submit([...own('h1', 1 * MIN, 1), ...own('h2', 2 * MIN, 3), ...own('h3', 3 * MIN, 2)], 'a')
    expect(rounds.map((r) => r.map((x) => x.headlineId))).toEqual([
      ['h1', 'h2', 'h2', 'h2'],
      ['h3', 'h3'],
    ])
  })

  it('takes no more than 16,000 contributions into one round by default', async () => {
    const sizes: number[] = []
    const merger = createEventTimeMerger(async (round) => void sizes.push(round.length), {
      graceMs: 10 * MIN,
    })
    const many = (source: string, from: number) =>
      Array.from({ length: 20_000 }, (_, i) => c(`${source}${i}`, from + 2 * i))
    await Promise.all([merger.submit(many('a', 0), 'a'), merger.submit(many('b', 1), 'b')])
    expect(sizes).toEqual([16_000, 16_000, 8_000])
  })
})

describe('event-time merger: progress and giving up', () => {
  it("tells each submission, after every round it was in, its first contribution's time not applied yet, before the next round", async () => {
    const events: string[] = []
    const merger = createEventTimeMerger(
      async (round) => {
        events.push(`apply ${round.map((x) => x.eventMs / MIN).join(',')}`)
        await new Promise<void>((r) => setImmediate(r))
      },
      { graceMs: 10 * MIN, maxRound: 2, afterRound: () => events.push('after') },
    )
    merger.begin('p0')
    await merger.submit(
      [c('a', 1 * MIN), c('b', 2 * MIN), c('c', 3 * MIN)],
      'p0',
      undefined,
      undefined,
      (ms) => events.push(`next ${ms / MIN}`),
    )
    expect(events).toEqual(['apply 1,2', 'next 3', 'after', 'apply 3', 'next Infinity', 'after'])
  })

  it('gives up every source in flight once the round under way is applied: nothing more applied, later submissions of them reject', async () => {
    const applied: number[] = []
    const reason = new TradepulseError('SHUTDOWN', 'stopping', { retriable: true })
    let release: (() => void) | undefined
    const merger = createEventTimeMerger(
      async (round) => {
        if (!release) await new Promise<void>((r) => (release = r))
        for (const x of round) applied.push(x.eventMs / MIN)
      },
      { graceMs: 10 * MIN, maxRound: 1 },
    )
    const token0 = merger.begin('p0')
    const token1 = merger.begin('p1')
    merger.begin('p1') // a second part of p1, still being parsed
    const a = merger.submit([c('a', 1 * MIN), c('b', 2 * MIN)], 'p0', token0)
    const b = merger.submit([c('x', 1.5 * MIN)], 'p1', token1)
    a.catch(() => {})
    b.catch(() => {})
    await vi.waitFor(() => expect(release).toBeDefined())
    merger.giveUp(reason)
    release!()
    await expect(a).rejects.toBe(reason)
    await expect(b).rejects.toBe(reason)
    expect(applied).toEqual([1]) // the round under way, and no other
    await expect(merger.submit([c('y', 2.5 * MIN)], 'p1', token1)).rejects.toMatchObject({
      code: 'INFRA_DEPENDENCY',
    })
    expect(applied).toEqual([1])
    // Batches begun after it are applied as usual.
    merger.begin('p0')
    await merger.submit([c('z', 3 * MIN)], 'p0', undefined)
    expect(applied).toEqual([1, 3])
  })

  it('gives up at once when no round is under way', async () => {
    const merger = createEventTimeMerger(async () => {}, { graceMs: 10 * MIN })
    const reason = new Error('stop')
    const token = merger.begin('p0')
    merger.giveUp(reason)
    await expect(merger.submit([c('a', MIN)], 'p0', token)).rejects.toMatchObject({
      code: 'INFRA_DEPENDENCY',
    })
  })
})

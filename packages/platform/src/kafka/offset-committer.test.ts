import type { Consumer } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../logger.ts'
import { createOffsetCommitter } from './offset-committer.ts'

type Position = { topic: string; partition: number; offset: string }

function fakeConsumer(failures = 0) {
  const commits: Position[][] = []
  let left = failures
  const consumer = {
    events: { GROUP_JOIN: 'join', REBALANCING: 'rebalancing' },
    on: () => {},
    commitOffsets: async (positions: Position[]) => {
      if (left-- > 0) throw new Error('rebalance in progress')
      commits.push(positions)
    },
  } as unknown as Consumer
  return { consumer, commits }
}
const silent = createLogger({ level: 'silent' })

describe('offset committer', () => {
  it('commits the next offset to read, the latest per partition, and nothing when nothing is new', async () => {
    const f = fakeConsumer()
    const c = createOffsetCommitter(f.consumer, 1_000, silent)
    c.done('in', 0, '4')
    c.done('in', 0, '9')
    c.done('in', 0, '7') // a stale batch never moves the position back
    c.done('in', 1, '99999999999999999')
    await c.flush()
    await c.flush()
    expect(f.commits).toEqual([
      [
        { topic: 'in', partition: 0, offset: '10' },
        { topic: 'in', partition: 1, offset: '100000000000000000' },
      ],
    ])
  })

  it('keeps a failed commit for the next flush, unless something newer replaced it', async () => {
    const f = fakeConsumer(1)
    const c = createOffsetCommitter(f.consumer, 1_000, silent)
    c.done('in', 0, '4')
    c.done('in', 1, '7')
    const failing = c.flush()
    await Promise.resolve() // the commit is out
    c.done('in', 0, '5') // finished while the commit is out
    await failing
    await c.flush()
    expect(f.commits).toEqual([
      [
        { topic: 'in', partition: 0, offset: '6' },
        { topic: 'in', partition: 1, offset: '8' },
      ],
    ])
  })

  it('forgets what is not committed at a new assignment, including a commit that fails meanwhile', async () => {
    const f = fakeConsumer(1)
    const c = createOffsetCommitter(f.consumer, 1_000, silent)
    c.done('in', 0, '4')
    const failing = c.flush()
    await Promise.resolve() // the commit is out
    c.forget()
    await failing
    await c.flush()
    expect(f.commits).toEqual([])
    c.done('in', 2, '0')
    c.done('in', 0, '2') // a new assignment starts from wherever the group's offset is
    await c.flush()
    expect(f.commits).toEqual([
      [
        { topic: 'in', partition: 2, offset: '1' },
        { topic: 'in', partition: 0, offset: '3' },
      ],
    ])
  })
})

/** kafkajs's commit failure as its retrier raises it: the protocol error (with its `type`) as the cause. */
function refused(type: string): Error {
  const protocol = Object.assign(new Error(`refused: ${type}`), { type, retriable: false })
  return Object.assign(new Error(protocol.message), { name: 'KafkaJSNonRetriableError', cause: protocol })
}

function failingConsumer(errors: Error[]) {
  const listeners = new Map<string, () => void>()
  const consumer = {
    events: { GROUP_JOIN: 'join', REBALANCING: 'rebalancing' },
    on: (event: string, fn: () => void) => listeners.set(event, fn),
    commitOffsets: async () => {
      const err = errors.shift()
      if (err) throw err
    },
  } as unknown as Consumer
  return { consumer, join: () => listeners.get('join')!() }
}

describe('offset committer refused because the group no longer has this member', () => {
  it.each(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS'])(
    'keeps %s as memberLost (the protocol error itself) and tells onLost once, until the next join',
    async (type) => {
      const f = failingConsumer([refused(type), refused(type)])
      const told: Error[] = []
      const c = createOffsetCommitter(f.consumer, 1_000, silent, undefined, (err) => told.push(err))
      c.done('in', 0, '4')
      await c.flush()
      expect((c.memberLost() as { type?: string } | undefined)?.type).toBe(type)
      await c.flush() // refused again: told once only
      expect(told).toHaveLength(1)
      expect(told[0]).toBe(c.memberLost())
      f.join()
      expect(c.memberLost()).toBeUndefined()
      expect(c.failing()).toBeUndefined()
    },
  )

  it('takes no other failure for a lost member, and ignores a refusal of the assignment before', async () => {
    const f = failingConsumer([new Error('connection closed'), refused('ILLEGAL_GENERATION')])
    const told: Error[] = []
    const c = createOffsetCommitter(f.consumer, 1_000, silent, undefined, (err) => told.push(err))
    c.done('in', 0, '4')
    await c.flush()
    expect(c.memberLost()).toBeUndefined()
    const late = c.flush()
    await Promise.resolve() // the commit is out
    f.join() // a new assignment: the refusal answers the generation before
    await late
    expect(c.memberLost()).toBeUndefined()
    expect(told).toEqual([])
  })
})

describe('offset committer failing', () => {
  it('tells since when commits have not gone through and why, until one does', async () => {
    const closed = new Error('connection closed')
    const f = failingConsumer([closed, closed])
    const c = createOffsetCommitter(f.consumer, 1_000, silent)
    expect(c.failing()).toBeUndefined()
    c.done('in', 0, '4')
    const before = performance.now()
    await c.flush()
    const first = c.failing()
    expect(first?.err).toBe(closed)
    expect(first!.sinceMs).toBeGreaterThanOrEqual(before)
    await c.flush() // failing again: since the first attempt still
    expect(c.failing()?.sinceMs).toBe(first!.sinceMs)
    await c.flush() // goes through
    expect(c.failing()).toBeUndefined()
  })

  it('commits offsets below those marked done before once the partition is reset (the topic made again)', async () => {
    const f = fakeConsumer()
    const c = createOffsetCommitter(f.consumer, 1_000, silent)
    c.done('in', 0, '34')
    c.done('in', 1, '24')
    await c.flush()
    c.done('in', 1, '30') // not committed yet as the partition is reset: dropped with it
    c.reset('in', 1)
    c.done('in', 1, '4')
    c.done('in', 0, '4') // partition 0 was not reset: still never moves back
    await c.flush()
    expect(f.commits).toEqual([
      [
        { topic: 'in', partition: 0, offset: '35' },
        { topic: 'in', partition: 1, offset: '25' },
      ],
      [{ topic: 'in', partition: 1, offset: '5' }],
    ])
  })

  it('does not put back a failed commit made before the partition was reset', async () => {
    const commits: Position[][] = []
    let fail: (err: Error) => void = () => {}
    const failing = new Promise<void>((_, reject) => {
      fail = reject
    })
    let calls = 0
    const consumer = {
      events: { GROUP_JOIN: 'join', REBALANCING: 'rebalancing' },
      on: () => {},
      commitOffsets: (positions: Position[]) => {
        if (calls++ === 0) return failing
        commits.push(positions)
        return Promise.resolve()
      },
    } as unknown as Consumer
    const c = createOffsetCommitter(consumer, 1_000, silent)
    c.done('in', 0, '34')
    const first = c.flush() // under way as the topic is made again
    c.reset('in', 0)
    c.done('in', 0, '1')
    fail(new Error('coordinator not available'))
    await first
    await c.flush()
    expect(commits).toEqual([[{ topic: 'in', partition: 0, offset: '2' }]])
  })
})

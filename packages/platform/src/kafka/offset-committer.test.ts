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

import type { InRecord } from '@tradepulse/platform'
import { describe, expect, it } from 'vitest'
import { createCatchUp } from './catch-up.ts'

const rec = (partition: number, offset: number) => ({ partition, offset: String(offset) }) as InRecord

describe('catch-up', () => {
  it('is ready once every partition that held records at the start has been read to its end', async () => {
    const c = createCatchUp()
    expect(await c.health()).toMatchObject({ ready: false, detail: /ends/ })
    c.handled([rec(0, 4)]) // records may come before the ends are known
    c.setEnds([
      { partition: 0, low: 0, high: 5 },
      { partition: 1, low: 3, high: 7 },
      { partition: 2, low: 9, high: 9 }, // empty: nothing to read
    ])
    expect(await c.health()).toMatchObject({ ready: false, detail: /1 partition/ })
    c.handled([rec(1, 5)])
    expect(c.caughtUp).toBe(false)
    c.handled([rec(1, 6)])
    expect(await c.health()).toEqual({ status: 'ok', ready: true })
  })

  it('is ready at once on an empty topic, and stays ready', async () => {
    const c = createCatchUp()
    c.setEnds([{ partition: 0, low: 0, high: 0 }])
    expect(c.caughtUp).toBe(true)
    c.setEnds([{ partition: 0, low: 0, high: 10 }])
    expect((await c.health()).ready).toBe(true)
  })

  it("counts a partition read when the group's commits reach its end (a group that resumes)", async () => {
    const c = createCatchUp()
    c.setEnds([
      { partition: 0, low: 0, high: 5 },
      { partition: 1, low: 0, high: 7 },
    ])
    c.committed([
      { partition: 0, offset: 5 },
      { partition: 1, offset: -1 }, // none committed
    ])
    expect(await c.health()).toMatchObject({ ready: false, detail: /1 partition/ })
    c.committed([{ partition: 1, offset: 7 }])
    expect(c.caughtUp).toBe(true)
  })

  it("counts a partition read when the consumer's position reaches its end, past a transaction marker no record shows", async () => {
    const c = createCatchUp()
    c.setEnds([
      { partition: 0, low: 0, high: 2 }, // an alert and its transaction's commit marker
      { partition: 1, low: 0, high: 2 }, // an aborted alert and its abort marker
    ])
    c.handled([rec(0, 0)])
    expect(await c.health()).toMatchObject({ ready: false, detail: /2 partition/ })
    c.position(0, 2)
    expect(await c.health()).toMatchObject({ ready: false, detail: /1 partition/ })
    c.position(1, 1)
    expect(c.caughtUp).toBe(false)
    c.position(1, 2)
    expect(c.caughtUp).toBe(true)
  })

  it('tells those waiting once, when caught up', () => {
    const c = createCatchUp()
    const told: string[] = []
    c.onCaughtUp(() => told.push('first'))
    const stop = c.onCaughtUp(() => told.push('gone'))
    stop()
    c.setEnds([{ partition: 0, low: 0, high: 2 }])
    c.handled([rec(0, 0)])
    expect(told).toEqual([])
    c.handled([rec(0, 1)])
    c.handled([rec(0, 2)])
    expect(told).toEqual(['first'])
    c.onCaughtUp(() => told.push('later'))
    expect(told).toEqual(['first', 'later'])
  })

  it('tells those waiting for the ends once, when they are set, before any is told of the catch-up', () => {
    const c = createCatchUp()
    const told: string[] = []
    c.onEndsKnown(() => told.push(`ends (caught up: ${c.caughtUp})`))
    const stop = c.onEndsKnown(() => told.push('gone'))
    stop()
    c.onCaughtUp(() => told.push('caught up'))
    expect(told).toEqual([])
    c.setEnds([{ partition: 0, low: 0, high: 0 }]) // empty: caught up at once
    expect(told).toEqual(['ends (caught up: false)', 'caught up'])
    c.setEnds([{ partition: 0, low: 0, high: 0 }])
    c.onEndsKnown(() => told.push('later'))
    expect(told).toEqual(['ends (caught up: false)', 'caught up', 'later'])
  })

  it("tells a record written after the start: at or past its partition's end then, or in a partition added since", () => {
    const c = createCatchUp()
    expect(c.isNews(0, 100)).toBe(false) // the ends not yet known
    c.setEnds([
      { partition: 0, low: 0, high: 5 },
      { partition: 1, low: 7, high: 7 }, // empty at the start, records deleted before it
    ])
    expect([c.isNews(0, 4), c.isNews(0, 5), c.isNews(1, 6), c.isNews(1, 7), c.isNews(2, 0)]).toEqual([
      false,
      true,
      false,
      true,
      true,
    ])
  })
})

import type { InRecord } from '@tradepulse/platform'
import { describe, expect, it } from 'vitest'
import { createStandIns, type StandIn } from './stand-ins.ts'

const standIn = (offset: number, bytes = 10, partition = 0): StandIn => ({
  origin: `raw/${partition}/${offset}`,
  record: { offset: String(offset), value: Buffer.alloc(bytes) } as InRecord,
  out: { topic: 'headlines', key: 'x', value: 'x'.repeat(bytes) },
})

describe('createStandIns', () => {
  it('finds the stand-ins by their holder, and forgets them by id', () => {
    const s = createStandIns()
    s.add('x', 'raw/0/1', [standIn(2), standIn(3)])
    s.add('y', 'raw/0/4', [standIn(5)])
    expect(s.of('raw/0/1')).toEqual({ id: 'x', standIns: [standIn(2), standIn(3)] })
    s.forget('x')
    expect(s.of('raw/0/1')).toBeUndefined()
    expect(s.of('raw/0/4')?.id).toBe('y')
    expect(s.size).toBe(1)
  })

  it('replaces the stand-ins of an id noted again (its batch handled again, or by another holder)', () => {
    const s = createStandIns()
    s.add('x', 'raw/0/1', [standIn(2)])
    s.add('x', 'raw/1/7', [standIn(8, 10, 1)])
    expect(s.of('raw/0/1')).toBeUndefined()
    expect(s.of('raw/1/7')?.standIns.map((i) => i.origin)).toEqual(['raw/1/8'])
    expect(s.size).toBe(1)
  })

  it('lets the oldest go past its bounds on ids and bytes, never the one just noted', () => {
    const byIds = createStandIns({ maxIds: 2 })
    for (const id of ['a', 'b', 'c']) byIds.add(id, `raw/0/${id}`, [standIn(1)])
    expect(['a', 'b', 'c'].map((id) => byIds.of(`raw/0/${id}`)?.id)).toEqual([undefined, 'b', 'c'])

    // Each stand-in counts its record's value and its headline's: 200 bytes here.
    const byBytes = createStandIns({ maxBytes: 450 })
    for (const id of ['a', 'b', 'c']) byBytes.add(id, `raw/0/${id}`, [standIn(1, 100)])
    expect(['a', 'b', 'c'].map((id) => byBytes.of(`raw/0/${id}`)?.id)).toEqual([undefined, 'b', 'c'])
    byBytes.add('big', 'raw/0/big', [standIn(1, 1_000)])
    expect(byBytes.size).toBe(1)
    expect(byBytes.of('raw/0/big')?.id).toBe('big')
    // Forgotten, its bytes no longer count.
    byBytes.forget('big')
    byBytes.add('d', 'raw/0/d', [standIn(1, 100)])
    byBytes.add('e', 'raw/0/e', [standIn(1, 100)])
    expect(byBytes.size).toBe(2)
  })

  it('adds a later chunk’s stand-ins of the same holder after the earlier ones, one of the same record replaced', () => {
    const s = createStandIns()
    s.add('x', 'raw/0/1', [standIn(2)])
    s.add('x', 'raw/0/1', [standIn(5), standIn(6)])
    // The later chunk handled again (a retry of its handler): its records once each, the bytes counted once.
    s.add('x', 'raw/0/1', [standIn(5, 10), standIn(6, 10)])
    expect(s.of('raw/0/1')?.standIns.map((i) => i.origin)).toEqual(['raw/0/2', 'raw/0/5', 'raw/0/6'])
    const bounded = createStandIns({ maxBytes: 650 })
    bounded.add('x', 'raw/0/1', [standIn(2, 100), standIn(3, 100)])
    for (let i = 0; i < 5; i++) bounded.add('x', 'raw/0/1', [standIn(3, 100)])
    bounded.add('y', 'raw/0/9', [standIn(10, 100)])
    // 400 bytes of x's and 200 of y's: both kept (had the replaced ones counted, x would have gone).
    expect([bounded.of('raw/0/1')?.id, bounded.of('raw/0/9')?.id]).toEqual(['x', 'y'])
  })

  it('knows the holder of each claim until its headline is acknowledged, and the refusals told', async () => {
    const s = createStandIns({ maxHolders: 2 })
    s.claimed('x', 'raw/0/1')
    s.claimed('y', 'raw/0/2')
    s.add('x', 'raw/0/1', [standIn(3)])
    expect([s.holderOf('x'), s.holderOf('y')]).toEqual(['raw/0/1', 'raw/0/2'])
    s.acknowledged('x')
    expect([s.holderOf('x'), s.of('raw/0/1'), s.size]).toEqual([undefined, undefined, 0])
    // The oldest holders go past the bound.
    s.claimed('z', 'raw/0/4')
    s.claimed('w', 'raw/0/5')
    expect([s.holderOf('y'), s.holderOf('z'), s.holderOf('w')]).toEqual([undefined, 'raw/0/4', 'raw/0/5'])
    const release = Promise.resolve('released')
    expect(s.refusedBy('raw/0/4')).toBeUndefined()
    s.refused('raw/0/4', release)
    expect(s.refusedBy('raw/0/4')).toBe(release)
  })
})

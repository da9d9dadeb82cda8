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
})

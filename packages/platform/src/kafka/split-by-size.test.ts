import { describe, expect, it } from 'vitest'
import { splitBySize } from './produce.ts'

const rec = (value: string, key: string | null = null) => ({ topic: 't', key, value })

describe('splitBySize', () => {
  it('cuts consecutive records into parts of at most the given bytes, keeping order', () => {
    const records = ['aaaa', 'bbbb', 'cc', 'dddddd', 'e'].map((v) => rec(v))
    expect(splitBySize(records, 8).map((p) => p.map((r) => r.value))).toEqual([
      ['aaaa', 'bbbb'],
      ['cc', 'dddddd'],
      ['e'],
    ])
  })

  it('counts keys and headers, and sends a record larger than the limit alone', () => {
    const records = [rec('xx', 'kk'), { ...rec('y'), headers: { h: 'vvv' } }, rec('z'.repeat(20))]
    expect(splitBySize(records, 5).map((p) => p.length)).toEqual([1, 1, 1])
    expect(splitBySize([], 5)).toEqual([])
  })
})

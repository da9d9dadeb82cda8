import { describe, expect, it } from 'vitest'
import {
  HEADER_FRAMING_BYTES,
  headerBytes,
  RECORD_FRAMING_BYTES,
  recordBytes,
  splitBySize,
} from './produce.ts'

const rec = (value: string, key: string | null = null) => ({ topic: 't', key, value })
/** The bytes of a record whose key and value take `n` bytes, without headers. */
const sized = (n: number) => RECORD_FRAMING_BYTES + n

describe('splitBySize', () => {
  it('cuts consecutive records into parts of at most the given bytes, keeping order', () => {
    const records = ['aaaa', 'bbbb', 'cc', 'dddddd', 'e'].map((v) => rec(v))
    expect(splitBySize(records, sized(4) + sized(4)).map((p) => p.map((r) => r.value))).toEqual([
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

  it("counts each record's framing and each header value's, so empty ones are not free", () => {
    // 10,000 empty records take 400 KB in a batch; a thousand empty headers, 10 KB.
    const empty = Array.from({ length: 10_000 }, () => rec(''))
    expect(splitBySize(empty, 512 * 1024)).toHaveLength(1)
    expect(splitBySize(empty, 100 * 1024).map((p) => p.length)).toEqual([2560, 2560, 2560, 2320])
    const headers = { '': new Array<string>(1000).fill('') }
    expect(headerBytes('', headers[''])).toBe(1000 * HEADER_FRAMING_BYTES)
    expect(recordBytes({ key: 'k', value: 'v', headers: { ...headers, name: Buffer.from('ab') } })).toBe(
      RECORD_FRAMING_BYTES + 2 + 1000 * HEADER_FRAMING_BYTES + 4 + 2 + HEADER_FRAMING_BYTES,
    )
  })
})

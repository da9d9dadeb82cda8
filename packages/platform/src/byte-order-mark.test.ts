import { describe, expect, it } from 'vitest'
import { skipBom } from './byte-order-mark.ts'

describe('skipBom', () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf])
  it('skips one UTF-8 byte-order mark at the very start, as a view of the same bytes', () => {
    const bytes = Buffer.concat([bom, Buffer.from('{"a":1}')])
    const out = skipBom(bytes)
    expect(out.toString()).toBe('{"a":1}')
    expect(out.buffer).toBe(bytes.buffer)
    expect(skipBom(bom)).toHaveLength(0)
  })
  it('leaves a second mark, one after other bytes, a part of one, and no input as they are', () => {
    expect(skipBom(Buffer.concat([bom, bom, Buffer.from('x')])).toString()).toBe('\ufeffx')
    expect(skipBom(Buffer.from(' \ufeffx')).toString()).toBe(' \ufeffx')
    expect(skipBom(bom.subarray(0, 2))).toEqual(bom.subarray(0, 2))
    expect(skipBom(Buffer.alloc(0))).toHaveLength(0)
  })
})

import { compress } from 'snappyjs'
import { describe, expect, it } from 'vitest'
import { snappyCodec, snappyDecompress } from './snappy-codec.ts'

const text = (n: number) =>
  Buffer.from('US raises tariffs on steel; China halts rare earth exports. '.repeat(n))

/** xerial's framing, as Java producers (snappy-java) write it. */
function xerial(blocks: Buffer[]): Buffer {
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])
  return Buffer.concat([
    header,
    ...blocks.flatMap((b) => {
      const size = Buffer.alloc(4)
      size.writeUInt32BE(b.length)
      return [size, b]
    }),
  ])
}

describe('Snappy codec', () => {
  it('round-trips a batch through compress and decompress', async () => {
    const codec = snappyCodec()
    const compressed = await codec.compress({ buffer: text(100) })
    expect(compressed.length).toBeLessThan(text(100).length)
    expect(await codec.decompress(compressed)).toEqual(text(100))
  })

  it('reads xerial-framed blocks, as Java producers write them', () => {
    expect(snappyDecompress(xerial([compress(text(3)), compress(text(5))]))).toEqual(
      Buffer.concat([text(3), text(5)]),
    )
  })

  it('refuses a stream that inflates past the bound, raw or framed, before allocating it', () => {
    expect(() => snappyDecompress(compress(text(100)), 1_000)).toThrow(/over the .* allowed/)
    expect(() => snappyDecompress(xerial([compress(text(10)), compress(text(10))]), text(15).length)).toThrow(
      /over the .* allowed/,
    )
    // A header claiming 4 GB and nothing behind it.
    expect(() => snappyDecompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))).toThrow()
  })

  it('refuses a truncated framed stream', () => {
    const framed = xerial([compress(text(3))])
    expect(() => snappyDecompress(framed.subarray(0, framed.length - 2))).toThrow(/runs past the end/)
  })

  it('refuses corrupt raw streams at once, never looping or filling in', () => {
    // A 4-byte literal length with its top bit set (snappyjs 0.7 looped on it for ever).
    expect(() => snappyDecompress(Buffer.from([0x10, 0xfc, 0x00, 0x00, 0x00, 0x80]))).toThrow(/Snappy/)
    // States 64 bytes, holds a 4-byte literal (snappyjs gave 60 zero bytes besides).
    expect(() => snappyDecompress(Buffer.from([0x40, 0x0c, 0x61, 0x62, 0x63, 0x64]))).toThrow(
      /ends at 4 of its stated 64/,
    )
    // A copy from before the start, and one past the stated length.
    expect(() => snappyDecompress(Buffer.from([0x08, 0x05, 0x01]))).toThrow(/before the start/)
    expect(() => snappyDecompress(Buffer.from([0x02, 0x00, 0x61, 0x05, 0x01]))).toThrow(
      /past the stated length/,
    )
    // Every cut of a real stream throws rather than hangs.
    const whole = compress(text(20))
    for (let n = 1; n < whole.length; n++)
      expect(() => snappyDecompress(whole.subarray(0, n))).toThrow(/Snappy/)
  })
})

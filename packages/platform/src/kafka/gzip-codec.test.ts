import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { gzipCodec } from './gzip-codec.ts'

describe('GZIP codec', () => {
  it('inflates what it deflated', async () => {
    const codec = gzipCodec()()
    const text = Buffer.from('headline '.repeat(1000))
    expect((await codec.decompress(await codec.compress({ buffer: text }))).equals(text)).toBe(true)
  })

  it('refuses a batch that inflates past its bound, naming it', async () => {
    // 4 MB of zeros deflate to about 4 KB: a bomb in small.
    const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024))
    await expect(gzipCodec(1024 * 1024)().decompress(bomb)).rejects.toThrow(
      'GZIP: batch inflates to more than the 1048576 bytes allowed',
    )
  })

  it('passes a corrupt stream on as the error it is', async () => {
    await expect(gzipCodec()().decompress(Buffer.from('not gzip'))).rejects.toThrow(/incorrect header check/)
  })
})

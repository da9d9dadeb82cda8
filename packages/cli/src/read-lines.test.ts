import { PassThrough, Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { readLines } from './read-lines.ts'

async function all(chunks: (string | Buffer)[]): Promise<string[]> {
  const out: string[] = []
  for await (const line of readLines(Readable.from(chunks))) out.push(line)
  return out
}

describe('readLines', () => {
  it('splits at "\\n" only, dropping one "\\r" before it, and keeps U+2028, U+2029 and other "\\r"s', async () => {
    expect(await all(['a\u2028b\u2029c\r\n', 'd\re\r\r\n\nlast'])).toEqual([
      'a\u2028b\u2029c',
      'd\re\r',
      '',
      'last',
    ])
  })
  it('gives no line after a final "\\n", and none for no input', async () => {
    expect(await all(['one\ntwo\n'])).toEqual(['one', 'two'])
    expect(await all([])).toEqual([])
  })
  it('joins lines and UTF-8 characters cut across chunks', async () => {
    const text = 'Zölle \u2028 steigen\r\n中国 exports\n'
    const bytes = Buffer.from(text)
    const oneByteChunks = [...bytes].map((b) => Buffer.from([b]))
    expect(await all(oneByteChunks)).toEqual(['Zölle \u2028 steigen', '中国 exports'])
    expect(await all(['Zö', 'lle\r', '\nx'])).toEqual(['Zölle', 'x'])
  })
  it('yields a line as soon as it is complete, before the input ends', async () => {
    const input = new PassThrough()
    const lines = readLines(input)
    input.write('first\nsec')
    expect(await lines.next()).toEqual({ done: false, value: 'first' })
    input.end('ond\n')
    expect(await lines.next()).toEqual({ done: false, value: 'second' })
    expect(await lines.next()).toEqual({ done: true, value: undefined })
  })
  it('closes the input when the reader stops early', async () => {
    const input = new PassThrough()
    input.write('a\nb\n')
    for await (const line of readLines(input)) {
      expect(line).toBe('a')
      break
    }
    expect(input.destroyed).toBe(true)
  })
})

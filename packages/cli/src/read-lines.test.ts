import { PassThrough, Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { type ByteLine, MAX_LINE_BYTES, readByteLines, readLines, type TextLine } from './read-lines.ts'

async function all(chunks: (string | Buffer)[], maxBytes?: number): Promise<TextLine[]> {
  const out: TextLine[] = []
  for await (const line of readLines(Readable.from(chunks), maxBytes)) out.push(line)
  return out
}
const texts = async (chunks: (string | Buffer)[]) =>
  (await all(chunks)).map((l) => ('text' in l ? l.text : `!${l.error}`))

/** `total` bytes of "a" in chunks of 64 KiB, each a new buffer (as a stream gives them), then `after`. */
async function* longLine(total: number, after: string, sample?: () => void): AsyncGenerator<Buffer> {
  const size = 64 * 1024
  for (let sent = 0; sent < total; sent += size) {
    sample?.()
    yield Buffer.alloc(Math.min(size, total - sent), 'a')
  }
  yield Buffer.from(after)
}

describe('readLines', () => {
  it('ends a line at LF, CRLF (one line end) or a lone CR, and keeps U+2028 and U+2029 inside a line', async () => {
    expect(await texts(['a\u2028b\u2029c\r\n', 'd\re\r\r\n\nlast'])).toEqual([
      'a\u2028b\u2029c',
      'd',
      'e',
      '',
      '',
      'last',
    ])
  })
  it('reads a file of CR line ends (old Mac style) line by line, numbered, where it was one line', async () => {
    expect(
      await all(['{"id":"a"}\r\r{"id":"b"}\r', Buffer.from([0xff]), Buffer.from('\r{"id":"c"}\r')]),
    ).toEqual([
      { line: 1, text: '{"id":"a"}' },
      { line: 2, text: '' },
      { line: 3, text: '{"id":"b"}' },
      { line: 4, problem: 'invalid_utf8', error: 'line is not valid UTF-8' },
      { line: 5, text: '{"id":"c"}' },
    ])
    expect(await all(['a\r', 'x'.repeat(11), '\rb'], 10)).toEqual([
      { line: 1, text: 'a' },
      { line: 2, problem: 'too_large', error: 'line is 11 bytes; limit 10' },
      { line: 3, text: 'b' },
    ])
  })
  it('takes a CRLF cut across chunks as one line end, and a CR at the end of a chunk before anything else as one', async () => {
    expect(await texts(['a\r', '\nb\r', 'c\r', '\r\n', 'd\r', '', '\n', 'e\r'])).toEqual([
      'a',
      'b',
      'c',
      '',
      'd',
      'e',
    ])
    // One byte a chunk: every CR is at the end of its chunk.
    const text = 'one\r\ntwo\rthree\n\rfour\r\r\nfive'
    expect(await texts([...Buffer.from(text)].map((b) => Buffer.from([b])))).toEqual(text.split(/\r\n|\r|\n/))
  })
  it('gives a line ended by a CR as soon as the CR is read, and skips an LF that comes next as its line end', async () => {
    const input = new PassThrough()
    const lines = readLines(input)
    input.write('first\r')
    expect(await lines.next()).toEqual({ done: false, value: { line: 1, text: 'first' } })
    input.write('\nsecond\r')
    expect(await lines.next()).toEqual({ done: false, value: { line: 2, text: 'second' } })
    input.end('third')
    expect(await lines.next()).toEqual({ done: false, value: { line: 3, text: 'third' } })
    expect(await lines.next()).toEqual({ done: true, value: undefined })
  })
  it('splits a large chunk of many line ends of one kind and one of the other in linear time', async () => {
    const n = 400_000
    const line = 'x'.repeat(99)
    for (const [many, one] of [
      ['\n', '\r'],
      ['\r', '\n'],
    ]) {
      const started = performance.now()
      let count = 0
      for await (const _ of readLines(Readable.from([Buffer.from(`${`${line}${many}`.repeat(n)}y${one}`)])))
        count++
      expect(count).toBe(n + 1)
      // Under a second; searching on from each line end for the next CR (or LF), n² / 2 steps, takes minutes.
      expect(performance.now() - started).toBeLessThan(10_000)
    }
  }, 30_000)
  it('drops one UTF-8 byte-order mark at the start of each line, wherever the chunks are cut, and no other', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf])
    expect(await all([Buffer.concat([bom, Buffer.from('{"a":1}\r\nb\n')])])).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 2, text: 'b' },
    ])
    // Cut inside the mark, one byte a chunk.
    expect(await texts([bom.subarray(0, 1), bom.subarray(1, 2), bom.subarray(2), 'x\n'])).toEqual(['x'])
    // One at the start of a later line, as files joined with `cat` leave it, after any line end, cut or
    // not; only one a line, and only at its start: a second one, or one after other text, stays.
    expect(
      await texts([
        Buffer.concat([bom, bom, Buffer.from('x\n'), bom, Buffer.from('y\r'), bom, Buffer.from('z\r\n')]),
        bom.subarray(0, 2),
        Buffer.concat([bom.subarray(2), Buffer.from('w\n'), bom, Buffer.from('v ')]),
        bom,
      ]),
    ).toEqual(['\ufeffx', 'y', 'z', 'w', 'v \ufeff'])
    expect(await texts([' \ufeffx\n\ufeff\ufeff'])).toEqual([' \ufeffx', '\ufeff'])
    // A mark alone is a blank first line.
    expect(await all([bom])).toEqual([{ line: 1, text: '' }])
  })
  it('numbers the lines from 1, counting blank ones', async () => {
    expect(await all(['x\n\ny'])).toEqual([
      { line: 1, text: 'x' },
      { line: 2, text: '' },
      { line: 3, text: 'y' },
    ])
  })
  it('gives no line after a final "\\n", and none for no input', async () => {
    expect(await texts(['one\ntwo\n'])).toEqual(['one', 'two'])
    expect(await texts([])).toEqual([])
  })
  it('joins lines and UTF-8 characters cut across chunks', async () => {
    const text = 'Zölle \u2028 steigen\r\n中国 exports\n'
    const bytes = Buffer.from(text)
    const oneByteChunks = [...bytes].map((b) => Buffer.from([b]))
    expect(await texts(oneByteChunks)).toEqual(['Zölle \u2028 steigen', '中国 exports'])
    expect(await texts(['Zö', 'lle\r', '\nx'])).toEqual(['Zölle', 'x'])
  })
  it('gives a line that is not valid UTF-8 as a problem, not with U+FFFD in place of its bytes', async () => {
    const bad = Buffer.concat([
      Buffer.from('{"headline":"US tariffs on '),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(' steel"}'),
    ])
    const cafe = Buffer.from([0x63, 0x61, 0x66, 0xe9]) // "caf" and a Latin-1 é
    // A character cut across chunks is still good; a truncated one at a line's end is not.
    const euro = Buffer.from('€ ok\n')
    expect(
      await all([
        Buffer.from('first\n'),
        bad,
        Buffer.from('\r\n'),
        cafe,
        Buffer.from('\n'),
        euro.subarray(0, 1),
        euro.subarray(1),
        Buffer.from([0xe2, 0x82]),
      ]),
    ).toEqual([
      { line: 1, text: 'first' },
      { line: 2, problem: 'invalid_utf8', error: 'line is not valid UTF-8' },
      { line: 3, problem: 'invalid_utf8', error: 'line is not valid UTF-8' },
      { line: 4, text: '€ ok' },
      { line: 5, problem: 'invalid_utf8', error: 'line is not valid UTF-8' },
    ])
  })
  it('gives a line past the limit as too long, with its size, and the lines around it whole', async () => {
    expect(await all(['a\n', 'x'.repeat(5), 'y'.repeat(6), '\nb\n', 'c'.repeat(10), '\n'], 10)).toEqual([
      { line: 1, text: 'a' },
      { line: 2, problem: 'too_large', error: 'line is 11 bytes; limit 10' },
      { line: 3, text: 'b' },
      { line: 4, text: 'c'.repeat(10) },
    ])
  })
  it('reads a line of hundreds of MB in bounded memory, and goes on after it', async () => {
    const before = process.memoryUsage()
    let peak = 0
    const sample = () => {
      const m = process.memoryUsage()
      peak = Math.max(peak, m.heapUsed - before.heapUsed + m.arrayBuffers - before.arrayBuffers)
    }
    const input = (async function* () {
      yield Buffer.from('{"id":"a"}\n{"id":"big","headline":"')
      yield* longLine(600_000_000, '"}\n{"id":"c"}\n', sample)
    })()
    const lines: TextLine[] = []
    for await (const l of readLines(input)) lines.push(l)
    expect(lines).toEqual([
      { line: 1, text: '{"id":"a"}' },
      {
        line: 2,
        problem: 'too_large',
        error: `line is ${600_000_000 + 26} bytes; limit ${MAX_LINE_BYTES}`,
      },
      { line: 3, text: '{"id":"c"}' },
    ])
    // The line itself would be 600 MB; what is held is its first 2 MiB and the garbage of a few chunks.
    expect(peak).toBeLessThan(200_000_000)
  })
  it('yields a line as soon as it is complete, before the input ends', async () => {
    const input = new PassThrough()
    const lines = readLines(input)
    input.write('first\nsec')
    expect(await lines.next()).toEqual({ done: false, value: { line: 1, text: 'first' } })
    input.end('ond\n')
    expect(await lines.next()).toEqual({ done: false, value: { line: 2, text: 'second' } })
    expect(await lines.next()).toEqual({ done: true, value: undefined })
  })
  it('closes the input when the reader stops early', async () => {
    const input = new PassThrough()
    input.write('a\nb\n')
    for await (const line of readLines(input)) {
      expect(line).toEqual({ line: 1, text: 'a' })
      break
    }
    expect(input.destroyed).toBe(true)
  })
})

describe('readByteLines', () => {
  it('gives each line as bytes, the first ones of a cut line, with its size, its line end and the quotes cut', async () => {
    const lines = []
    for await (const l of readByteLines(Readable.from(['ab\r\n', '"x"', 'y""z"\r\n', 'end']), 4))
      lines.push(l)
    expect(lines).toEqual([
      { line: 1, bytes: Buffer.from('ab'), size: 2, cut: false, end: '\r\n', quotesCut: 0 },
      { line: 2, bytes: Buffer.from('"x"y'), size: 8, cut: true, end: '\r\n', quotesCut: 3 },
      { line: 3, bytes: Buffer.from('end'), size: 3, cut: false, end: '', quotesCut: 0 },
    ])
  })
  it('gives each line end as read, a CRLF cut across chunks too; with eagerCr a CR ending a chunk at once', async () => {
    const ends = async (eagerCr: boolean) => {
      const out: [string, string][] = []
      const chunks = ['a\r', '\nb\r', 'c\r', '', 'd\n\r', '\r\n\r']
      for await (const l of readByteLines(Readable.from(chunks), 10, { eagerCr }))
        out.push([String(l.bytes), l.end])
      return out
    }
    expect(await ends(false)).toEqual([
      ['a', '\r\n'],
      ['b', '\r'],
      ['c', '\r'],
      ['d', '\n'],
      ['', '\r'],
      ['', '\r\n'],
      ['', '\r'],
    ])
    expect(await ends(true)).toEqual([
      ['a', '\r'],
      ['b', '\r'],
      ['c', '\r'],
      ['d', '\n'],
      ['', '\r'],
      ['', '\r\n'],
      ['', '\r'],
    ])
  })
  it('with eagerCr a function, gives at once only the lines ended by a CR at the end of a chunk it says', async () => {
    // Each chunk is read only when asked for: a line given before the next is read was given at once.
    let pulled = 0
    async function* chunks() {
      for (const c of ['a\r', '\n"b\r', '\nc\r', '\nd']) {
        pulled++
        yield c
      }
    }
    const asked: [number, string, string][] = []
    const given: [number, string, string, number][] = []
    const eagerCr = (l: ByteLine) => {
      asked.push([l.line, String(l.bytes), l.end])
      return !String(l.bytes).startsWith('"')
    }
    for await (const l of readByteLines(chunks(), 10, { eagerCr }))
      given.push([l.line, String(l.bytes), l.end, pulled])
    expect(given).toEqual([
      [1, 'a', '\r', 1],
      // Held: the next chunk tells its line end, a CRLF.
      [2, '"b', '\r\n', 3],
      // Given at once: the LF that comes next is skipped, no line of its own.
      [3, 'c', '\r', 3],
      [4, 'd', '', 4],
    ])
    expect(asked).toEqual([
      [1, 'a', '\r'],
      [2, '"b', '\r'],
      [3, 'c', '\r'],
    ])
  })
})

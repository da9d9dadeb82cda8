import { once } from 'node:events'
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import { describe, expect, it } from 'vitest'
import { MAX_LINE_BYTES } from '../read-lines.ts'
import { type ReplayRow, readReplayRows } from './read-rows.ts'

const dir = mkdtempSync(join(tmpdir(), 'replay-'))
async function rows(name: string, text: string | Buffer, source?: string): Promise<ReplayRow[]> {
  const file = join(dir, name)
  writeFileSync(file, text)
  const out: ReplayRow[] = []
  for await (const r of readReplayRows(file, source ? { source } : {})) out.push(r)
  return out
}

describe('readReplayRows', () => {
  it('reads a date,headline CSV with quoted commas and reports a bad row by line', async () => {
    const r = await rows(
      'a.csv',
      'date,headline\n2018-03-20,"Tariffs, again"\nnot-a-date,Something\n2018-03-21,\n',
      'reuters',
    )
    expect(r).toEqual([
      {
        line: 2,
        raw: { headline: 'Tariffs, again', source: 'reuters', publishedAt: '2018-03-20T00:00:00.000Z' },
      },
      { line: 3, error: 'unreadable date "not-a-date"' },
      { line: 4, error: 'empty headline' },
    ])
  })
  it('takes a description column as the body', async () => {
    const r = await rows(
      'c.csv',
      'time,headline,description\n"7:51 PM ET Fri, 17 July 2020",Chips rally,"Shares rose."\n',
    )
    expect(r[0]).toEqual({
      line: 2,
      raw: { headline: 'Chips rally', publishedAt: '2020-07-17T23:51:00.000Z', body: 'Shares rose.' },
    })
  })
  it('refuses a CSV without a headline column', async () => {
    await expect(rows('b.csv', 'date,title\n2018-03-20,x\n')).rejects.toThrow(/no "headline" column/)
  })
  it('skips a CSV row with a stray quote, reported by line with the reason, and goes on', async () => {
    const r = await rows(
      'quotes.csv',
      [
        'date,headline',
        '2020-01-01,Steel tariffs rise',
        '2020-01-02,Trump says "tariffs" are great',
        '2020-01-03,"Chips rally, again"',
        '2020-01-04,Ports say "no" and "never"',
        '2020-01-05,Copper falls',
        '',
      ].join('\n'),
    )
    expect(r).toEqual([
      { line: 2, raw: { headline: 'Steel tariffs rise', publishedAt: '2020-01-01T00:00:00.000Z' } },
      { line: 3, error: expect.stringMatching(/^Invalid Opening Quote: .*line 3/) },
      { line: 4, raw: { headline: 'Chips rally, again', publishedAt: '2020-01-03T00:00:00.000Z' } },
      { line: 5, error: expect.stringMatching(/^Invalid Opening Quote/) },
      { line: 6, raw: { headline: 'Copper falls', publishedAt: '2020-01-05T00:00:00.000Z' } },
    ])
  })
  it('reports an unclosed quote by the line it opens on, keeping the rows before it', async () => {
    for (const eol of ['\n', '\r\n']) {
      for (const end of [eol, '']) {
        const r = await rows(
          'unclosed.csv',
          [
            'date,headline',
            '2020-01-01,Steel tariffs rise',
            '',
            '2020-01-02,"Ports close',
            '2020-01-03,Copper',
          ].join(eol) + end,
        )
        expect(r).toEqual([
          { line: 2, raw: { headline: 'Steel tariffs rise', publishedAt: '2020-01-01T00:00:00.000Z' } },
          { line: 4, error: expect.stringMatching(/^Quote Not Closed/) },
        ])
      }
    }
  })
  it('reports a quoted field that runs on past later quotes once, by the line it opens on, with the lines it took', async () => {
    const r = await rows(
      'runs-on.csv',
      'date,headline\n2020-01-01,"Ports close\n2020-01-02,Copper\n2020-01-03,"Chips" rally\n2020-01-04,Steel\n',
    )
    expect(r).toEqual([
      {
        line: 2,
        error: expect.stringMatching(
          /^Invalid Closing Quote: .* \(a quoted field runs from line 2 to line 5,/,
        ),
      },
    ])
  })
  it('refuses a CSV whose header line cannot be read', async () => {
    await expect(rows('h1.csv', 'date,head"line\n2020-01-01,x\n2020-01-02,y\n')).rejects.toThrow(
      /header.*Invalid Opening Quote/,
    )
    await expect(rows('h2.csv', 'date,"headline\n2020-01-01,x\n')).rejects.toThrow(/header.*Quote Not Closed/)
  })
  it('keeps an NDJSON line whose strings hold raw U+2028 or U+2029 whole', async () => {
    const lines = [
      JSON.stringify({ id: 'g', headline: 'US\u2028raises tariffs' }),
      'nope',
      JSON.stringify({ id: 'h', headline: 'Ports\u2029reopen' }),
    ]
    expect(lines[0]).toContain('\u2028')
    const r = await rows('seps.ndjson', `${lines.join('\r\n')}\r\n`)
    expect(r).toEqual([
      { line: 1, raw: { id: 'g', headline: 'US\u2028raises tariffs' } },
      { line: 2, error: expect.stringMatching(/^invalid JSON/) },
      { line: 3, raw: { id: 'h', headline: 'Ports\u2029reopen' } },
    ])
  })
  it('takes a UTF-8 byte-order mark at the start of an NDJSON or CSV file, and names the lines as before', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf])
    expect(
      await rows('bom.ndjson', Buffer.concat([bom, Buffer.from('{"headline":"a"}\r\nnope\r\n')])),
    ).toEqual([
      { line: 1, raw: { headline: 'a' } },
      { line: 2, error: expect.stringMatching(/^invalid JSON/) },
    ])
    // Exactly one: a second mark is the first line's text, which is not JSON.
    expect(await rows('bom2.ndjson', Buffer.concat([bom, bom, Buffer.from('{"headline":"a"}\n')]))).toEqual([
      { line: 1, error: expect.stringMatching(/^invalid JSON/) },
    ])
    expect(
      await rows(
        'bom.csv',
        Buffer.concat([bom, Buffer.from('date,headline\r\n2020-01-01,Copper\r\nx,Steel\r\n')]),
      ),
    ).toEqual([
      { line: 2, raw: { headline: 'Copper', publishedAt: '2020-01-01T00:00:00.000Z' } },
      { line: 3, error: 'unreadable date "x"' },
    ])
  })
  it('reads NDJSON objects as they are and reports lines that are not objects', async () => {
    const r = await rows('d.ndjson', '{"headline":"a"}\n\nnope\n[1]\n{"headline":""}\n')
    expect(r).toEqual([
      { line: 1, raw: { headline: 'a' } },
      { line: 3, error: expect.stringMatching(/^invalid JSON/) },
      { line: 4, error: 'not a JSON object' },
      { line: 5, raw: { headline: '' } },
    ])
  })

  it('skips an NDJSON line that is not valid UTF-8, naming it, instead of sending U+FFFD', async () => {
    const r = await rows(
      'latin1.ndjson',
      Buffer.concat([
        Buffer.from('{"id":"a","headline":"Tariffs rise"}\n{"id":"b","headline":"caf'),
        Buffer.from([0xe9]),
        Buffer.from('"}\r\n{"id":"c","headline":"Café \u2028 reopens"}\n'),
      ]),
    )
    expect(r).toEqual([
      { line: 1, raw: { id: 'a', headline: 'Tariffs rise' } },
      { line: 2, error: 'line is not valid UTF-8' },
      { line: 3, raw: { id: 'c', headline: 'Café \u2028 reopens' } },
    ])
  })
  it('skips a CSV row with a line that is not valid UTF-8, naming the line, in CSV and CRLF files alike', async () => {
    for (const eol of ['\n', '\r\n']) {
      const r = await rows(
        'latin1.csv',
        Buffer.concat([
          Buffer.from(
            ['date,headline', '2020-01-01,"Steel', 'tariffs rise"', '2020-01-02,"Caf'].join(eol) + eol,
          ),
          Buffer.from([0xe9, 0x20]),
          Buffer.from(['reopens"', '2020-01-03,Café exports', '2020-01-04,caf'].join(eol)),
          Buffer.from([0xe9]),
          Buffer.from(`${eol}2020-01-05,Copper${eol}`),
        ]),
      )
      expect(r, JSON.stringify(eol)).toEqual([
        {
          line: expect.any(Number),
          raw: { headline: `Steel${eol}tariffs rise`, publishedAt: '2020-01-01T00:00:00.000Z' },
        },
        { line: 5, error: 'line is not valid UTF-8' },
        {
          line: expect.any(Number),
          raw: { headline: 'Café exports', publishedAt: '2020-01-03T00:00:00.000Z' },
        },
        { line: 7, error: 'line is not valid UTF-8' },
        { line: expect.any(Number), raw: { headline: 'Copper', publishedAt: '2020-01-05T00:00:00.000Z' } },
      ])
    }
  })
  it('refuses a CSV whose header line is not valid UTF-8', async () => {
    await expect(
      rows('h3.csv', Buffer.from([0x64, 0x61, 0x74, 0x65, 0xe9, 0x2c, 0x68, 0x0a])),
    ).rejects.toThrow(/h3\.csv: the header line cannot be read: line is not valid UTF-8 \(line 1\)/)
  })

  /**
   * The rows of a file of `before`, a line of `bytes` "a"s between `prefix` and `suffix` (written as a
   * stream, never held whole), and `after`; the file is deleted after.
   */
  async function withLongLine(
    name: string,
    before: string,
    long: { prefix: string; bytes: number; suffix: string },
    after: string,
  ) {
    const file = join(dir, name)
    const out = createWriteStream(file)
    out.write(before)
    out.write(long.prefix)
    const chunk = Buffer.alloc(1024 * 1024, 'a')
    for (let left = long.bytes; left > 0; left -= chunk.length) {
      if (!out.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) await once(out, 'drain')
    }
    out.end(`${long.suffix}${after}`)
    await finished(out)
    const rows: ReplayRow[] = []
    try {
      for await (const r of readReplayRows(file)) rows.push(r)
    } finally {
      rmSync(file)
    }
    return rows
  }
  it('skips an NDJSON line past the limit, naming it and its size, and reads the lines around it', async () => {
    const r = await withLongLine(
      'long.ndjson',
      '{"id":"a","headline":"Tariffs rise"}\n',
      { prefix: '{"id":"big","headline":"', bytes: 40_000_000, suffix: '"}\n' },
      '{"id":"c","headline":"EU lifts duties"}\n',
    )
    expect(r).toEqual([
      { line: 1, raw: { id: 'a', headline: 'Tariffs rise' } },
      { line: 2, error: `line is ${40_000_026} bytes; limit ${MAX_LINE_BYTES}` },
      { line: 3, raw: { id: 'c', headline: 'EU lifts duties' } },
    ])
  })
  it('skips a CSV line past the limit, naming it, and the rows after it parse as before, quoted or not', async () => {
    // The long line opens a quoted field it does not close, the next line closes it: one record, skipped.
    const r = await withLongLine(
      'long.csv',
      'date,headline\n2020-01-01,Tariffs rise\n',
      { prefix: '2020-01-02,"', bytes: 5_000_000, suffix: '"" and more' },
      '\nstill the quoted field"\n2020-01-03,"Chips, again"\n2020-01-04,Copper\n',
    )
    expect(r).toEqual([
      { line: 2, raw: { headline: 'Tariffs rise', publishedAt: '2020-01-01T00:00:00.000Z' } },
      { line: 3, error: `line is ${12 + 5_000_000 + 11} bytes; limit ${MAX_LINE_BYTES}` },
      { line: 5, raw: { headline: 'Chips, again', publishedAt: '2020-01-03T00:00:00.000Z' } },
      { line: 6, raw: { headline: 'Copper', publishedAt: '2020-01-04T00:00:00.000Z' } },
    ])
    // Here the quoted field closes in the bytes dropped: the quote is put back, the next rows are rows.
    const closed = await withLongLine(
      'long-closed.csv',
      'date,headline\n',
      { prefix: '2020-01-02,"', bytes: 5_000_000, suffix: '",more' },
      '\n2020-01-03,Copper\n',
    )
    expect(closed).toEqual([
      { line: 2, error: `line is ${12 + 5_000_000 + 6} bytes; limit ${MAX_LINE_BYTES}` },
      { line: 3, raw: { headline: 'Copper', publishedAt: '2020-01-03T00:00:00.000Z' } },
    ])
  })
})

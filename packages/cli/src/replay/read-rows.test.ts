import { once } from 'node:events'
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from '@tradepulse/ingest'
import { waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { MAX_LINE_BYTES } from '../read-lines.ts'
import { checkCsvHeader, type ReplayInput, type ReplayRow, readReplayRows } from './read-rows.ts'

/**
 * Numbers in [0, 1) from `seed`, the same every run (mulberry32: exact in 32-bit integer steps, where a
 * linear congruential step on doubles lost precision past 2^53 and cycled after ~10,000 values).
 */
function seededRandom(seed: number): () => number {
  let state = seed | 0
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const dir = mkdtempSync(join(tmpdir(), 'replay-'))
async function rows(
  name: string,
  text: string | Buffer,
  source?: string,
  limits?: IngestLimits,
): Promise<ReplayRow[]> {
  const file = join(dir, name)
  writeFileSync(file, text)
  const out: ReplayRow[] = []
  for await (const r of readReplayRows(file, {
    ...(source ? { source } : {}),
    ...(limits ? { limits } : {}),
  }))
    out.push(r)
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
  it('skips a CSV row of more fields than the header has columns, naming its line and both counts, where the rest was dropped', async () => {
    // An unquoted comma in a headline: "US raises tariffs" went out, ", China responds" dropped unseen.
    const r = await rows(
      'extra.csv',
      'date,headline\n2018-03-20,US raises tariffs, China responds\n2018-03-21,Steel rallies\n2018-03-22,"Quoted, kept",\n2018-03-23\n',
    )
    expect(r).toEqual([
      {
        line: 2,
        error:
          '3 fields where the header has 2 columns (date, headline): a field holding a comma must be quoted',
      },
      { line: 3, raw: { headline: 'Steel rallies', publishedAt: '2018-03-21T00:00:00.000Z' } },
      {
        line: 4,
        error:
          '3 fields where the header has 2 columns (date, headline): a field holding a comma must be quoted',
      },
      // Fewer fields: no headline, as before.
      { line: 5, error: 'empty headline' },
    ])
  })
  it("refuses a source for NDJSON, which it stamps on no row, a pipe's (told by content) too", async () => {
    // Dropped unseen: every row went out without it.
    for (const name of ['feed.ndjson', 'feed-from-a-pipe'])
      await expect(rows(name, '{"headline":"Steel tariffs rise"}\n', 'reuters'), name).rejects.toThrow(
        `${join(dir, name)}: --source stamps CSV rows; this file is NDJSON: give each line its own "source" instead`,
      )
    expect(await rows('feed-without-source.ndjson', '{"headline":"Steel tariffs rise"}\n')).toEqual([
      { line: 1, raw: { headline: 'Steel tariffs rise' } },
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
  it('names the physical line each record starts on, in LF, CRLF and CR files, with CR, LF or CRLF inside quoted fields', async () => {
    // csv-parse counts each CR and LF inside a quoted field as a line, and names a record by its last
    // line: an error named line 9 of a CRLF file where the record started on line 4.
    for (const eol of ['\n', '\r\n', '\r']) {
      for (const inner of ['\n', '\r\n', '\r']) {
        const records = [
          'date,headline',
          `2020-01-01,"Steel${inner}tariffs rise"`,
          `bad,"Ports${inner}close"`,
          '',
          '2020-01-02,',
          'x,"e"f"',
          `2020-01-03,"Chips${inner}rally${inner}"`,
          `2020-01-04,"Ports${inner}say "no" twice"`,
          '',
          '',
          `"2020-01-05${inner}x"y",z`,
          '2020-01-06,Copper',
          `2020-01-07,"Ports${inner}close`,
          '2020-01-08,Zinc',
        ]
        // The physical line (lines end at LF, CRLF or a lone CR, as for every other count of lines) each
        // record starts on.
        const starts: number[] = []
        let line = 1
        for (const r of records) {
          starts.push(line)
          line += (r + eol).split(/\r\n|\r|\n/).length - 1
        }
        const last = line - 1
        const at = (i: number, breaks = 0) => starts[i]! + breaks
        const r = await rows('physical.csv', records.join(eol) + eol)
        const label = JSON.stringify([eol, inner])
        expect(r, label).toEqual([
          {
            line: starts[1],
            raw: { headline: `Steel${inner}tariffs rise`, publishedAt: '2020-01-01T00:00:00.000Z' },
          },
          { line: starts[2], error: 'unreadable date "bad"' },
          { line: starts[4], error: 'empty headline' },
          {
            line: starts[5],
            error: `Invalid Closing Quote: got "f" at line ${starts[5]} instead of delimiter, record delimiter, trimable character (if activated) or comment`,
          },
          {
            line: starts[6],
            raw: { headline: `Chips${inner}rally`, publishedAt: '2020-01-03T00:00:00.000Z' },
          },
          {
            line: starts[7],
            error: `Invalid Closing Quote: got "n" at line ${at(7, 1)} instead of delimiter, record delimiter, trimable character (if activated) or comment (a quoted field runs from line ${starts[7]} to line ${at(7, 1)}, taking in the rows between)`,
          },
          {
            line: starts[10],
            error: `Invalid Closing Quote: got "y" at line ${at(10, 1)} instead of delimiter, record delimiter, trimable character (if activated) or comment (a quoted field runs from line ${starts[10]} to line ${at(10, 1)}, taking in the rows between)`,
          },
          { line: starts[11], raw: { headline: 'Copper', publishedAt: '2020-01-06T00:00:00.000Z' } },
          {
            line: starts[12],
            error: `Quote Not Closed: the parsing is finished with an opening quote at line ${last} (a quoted field runs from line ${starts[12]} to line ${last}, taking in the rows between)`,
          },
        ])
      }
    }
  })
  it('names the physical lines of bad records deep in a long CRLF file of quoted line breaks, in file order', async () => {
    const rowsOf = Array.from({ length: 6_000 }, (_, i) =>
      i % 1_000 === 999 ? `2020-01-01,"Ports ${i}\r\nsay "no" again"` : `2020-01-01,"Steel ${i}\r\nrises"`,
    )
    const r = await rows('long-crlf.csv', `date,headline\r\n${rowsOf.join('\r\n')}\r\n`)
    expect(r).toHaveLength(6_000)
    // Row i starts on line 2 + 2i: each takes two lines.
    r.forEach((row, i) => {
      expect(row.line).toBe(2 + 2 * i)
    })
    expect(r[999]).toEqual({
      line: 2_000,
      error: `Invalid Closing Quote: got "n" at line 2001 instead of delimiter, record delimiter, trimable character (if activated) or comment (a quoted field runs from line 2000 to line 2001, taking in the rows between)`,
    })
  })
  it('reads a CSV of CR line ends (old Mac style) row by row, named by line, where it was one line', async () => {
    const r = await rows(
      'mac.csv',
      'date,headline\r2020-01-01,Steel tariffs rise\r\rbad,Copper\r2020-01-03,"Ports\rclose"\r2020-01-04,"Chips"x"\r2020-01-05,Zinc',
    )
    expect(r).toEqual([
      { line: 2, raw: { headline: 'Steel tariffs rise', publishedAt: '2020-01-01T00:00:00.000Z' } },
      { line: 4, error: 'unreadable date "bad"' },
      // A CR inside a quoted field is the field's, as an LF or CRLF is.
      { line: 5, raw: { headline: 'Ports\rclose', publishedAt: '2020-01-03T00:00:00.000Z' } },
      { line: 7, error: expect.stringMatching(/^Invalid Closing Quote: got "x" at line 7 /) },
      { line: 8, raw: { headline: 'Zinc', publishedAt: '2020-01-05T00:00:00.000Z' } },
    ])
    // Larger than a line may be: the file was refused whole (its header line past the limit).
    const big = Array.from({ length: 60_000 }, (_, i) => `2020-01-01,Headline ${i} on tariffs`)
    const all = await rows('mac-big.csv', `date,headline\r${big.join('\r')}\r`)
    expect(all).toHaveLength(60_000)
    expect(all[59_999]).toEqual({
      line: 60_001,
      raw: { headline: 'Headline 59999 on tariffs', publishedAt: '2020-01-01T00:00:00.000Z' },
    })
  })
  it('reads a CSV of mixed line ends (an LF file and a CR file joined) row by row, where rows ran together', async () => {
    // csv-parse took the first line end it met as the only one: "Copper falls\r2020-01-03" was sent as
    // a headline and "Ports reopen" was lost without a word.
    const r = await rows(
      'mixed.csv',
      'date,headline\n2020-01-01,Steel\n2020-01-02,Copper falls\r2020-01-03,Ports reopen\r\n2020-01-04,"Zinc\nrallies"\r2020-01-05,Tin',
    )
    expect(r).toEqual([
      { line: 2, raw: { headline: 'Steel', publishedAt: '2020-01-01T00:00:00.000Z' } },
      { line: 3, raw: { headline: 'Copper falls', publishedAt: '2020-01-02T00:00:00.000Z' } },
      { line: 4, raw: { headline: 'Ports reopen', publishedAt: '2020-01-03T00:00:00.000Z' } },
      { line: 5, raw: { headline: 'Zinc\nrallies', publishedAt: '2020-01-04T00:00:00.000Z' } },
      { line: 7, raw: { headline: 'Tin', publishedAt: '2020-01-05T00:00:00.000Z' } },
    ])
  })
  it('reads an NDJSON file of CR line ends line by line, where it was one invalid line', async () => {
    const r = await rows('mac.ndjson', '{"headline":"a"}\r\rnope\r\n{"headline":"b"}\r')
    expect(r).toEqual([
      { line: 1, raw: { headline: 'a' } },
      { line: 3, error: expect.stringMatching(/^invalid JSON/) },
      { line: 4, raw: { headline: 'b' } },
    ])
  })
  it('tells NDJSON from CSV by the first character when the name says neither (a pipe: /dev/fd/63)', async () => {
    const ndjson = await rows('feed', '\ufeff\n  {"headline":"a"}\nnope\n')
    expect(ndjson).toEqual([
      { line: 2, raw: { headline: 'a' } },
      { line: 3, error: expect.stringMatching(/^invalid JSON/) },
    ])
    expect(await rows('feed-csv', 'date,headline\n2018-03-20,b\n')).toEqual([
      { line: 2, raw: { headline: 'b', publishedAt: '2018-03-20T00:00:00.000Z' } },
    ])
    // A name that says CSV is read as CSV whatever it holds.
    await expect(rows('named.csv', '{"headline":"a"}\n')).rejects.toThrow(/header line cannot be read/)
  })
  it('refuses a CSV of a header only without a headline column (checked at the header, not the first row)', async () => {
    await expect(rows('header-only.csv', 'date,title\n')).rejects.toThrow(
      `${join(dir, 'header-only.csv')}: no "headline" column (columns: date, title)`,
    )
    expect(await rows('header-only-ok.csv', 'date,headline\n')).toEqual([])
  })
  it('refuses a CSV naming a column it reads twice, where csv-parse kept the last silently', async () => {
    // "date,headline,headline" sent each row's second headline, the first dropped unseen.
    for (const [header, column] of [
      ['date,headline,headline', 'headline'],
      ['date,headline,description,description', 'description'],
      ['date,headline,date', 'date'],
    ] as const)
      await expect(rows('twice.csv', `${header}\n2020-01-02,a,b,c\n`), header).rejects.toThrow(
        `${join(dir, 'twice.csv')}: the "${column}" column is named more than once (columns: ${header.split(',').join(', ')}); which to read no one can tell`,
      )
    // A column it does not read may come twice (a time column it does not use among them).
    expect(await rows('twice-ok.csv', 'publishedAt,headline,date,date,x,x\n2020-01-02,a,b,c,d,e\n')).toEqual([
      { line: 2, raw: { headline: 'a', publishedAt: '2020-01-02T00:00:00.000Z' } },
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
    // Files joined with `cat`: one at the start of a later line is skipped too (it was invalid JSON);
    // one after other text stays.
    expect(
      await rows(
        'cat.ndjson',
        Buffer.concat([
          Buffer.from('{"headline":"a"}\n'),
          bom,
          Buffer.from('{"headline":"b"}\r'),
          bom,
          Buffer.from('{"headline":"c"}\r\n '),
          bom,
          Buffer.from('{"headline":"d"}\n'),
        ]),
      ),
    ).toEqual([
      { line: 1, raw: { headline: 'a' } },
      { line: 2, raw: { headline: 'b' } },
      { line: 3, raw: { headline: 'c' } },
      { line: 4, error: expect.stringMatching(/^invalid JSON/) },
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
    // CSV files joined with `cat`: the second one's mark, at the start of its header line, is skipped
    // (the repeated header is a bad row, named by its line, as without a mark), and so is one before a
    // row, also a quoted one (its quote was an Invalid Opening Quote); one after other text stays text.
    expect(
      await rows(
        'cat.csv',
        Buffer.concat([
          Buffer.from('date,headline\n2020-01-01,Copper\n'),
          bom,
          Buffer.from('date,headline\r\n'),
          bom,
          Buffer.from('2020-01-02,Steel\r\n'),
          bom,
          Buffer.from('"2020-01-03",Zinc\r'),
          bom,
          Buffer.from('2020-01-04,Tin \ufeffrallies\n 2020-01-05,Lead\n'),
        ]),
      ),
    ).toEqual([
      { line: 2, raw: { headline: 'Copper', publishedAt: '2020-01-01T00:00:00.000Z' } },
      { line: 3, error: 'unreadable date "date"' },
      { line: 4, raw: { headline: 'Steel', publishedAt: '2020-01-02T00:00:00.000Z' } },
      { line: 5, raw: { headline: 'Zinc', publishedAt: '2020-01-03T00:00:00.000Z' } },
      { line: 6, raw: { headline: 'Tin \ufeffrallies', publishedAt: '2020-01-04T00:00:00.000Z' } },
      { line: 7, raw: { headline: 'Lead', publishedAt: '2020-01-05T00:00:00.000Z' } },
    ])
  })
  it('names the lines after a line of a byte-order mark only that follows a lone CR, in a file and on a pipe', async () => {
    // Files joined with `cat`, the first ending in a lone CR, the second an empty one with a mark (or
    // blank lines of one). The mark skipped, the CR before it and the LF after it reached csv-parse as
    // one CRLF: one line end where the file has two. The record before was named by the line after it,
    // an error csv-parse reported after them one line early, and a line that is not valid UTF-8 there
    // was sent with U+FFFD (its record placed on the next line, with no bad line) and named at the end.
    const bom = Buffer.from([0xef, 0xbb, 0xbf])
    const csv = Buffer.concat([
      Buffer.from('date,headline\r2020-01-01,Copper\r'),
      bom,
      Buffer.from('\n\n2020-13-45,Steel\r'),
      bom,
      Buffer.from('\nx,"e"f"\n2020-01-02,Tin \xff\r', 'latin1'),
      bom,
      Buffer.from('\r'),
      bom,
      Buffer.from('\n2020-01-03,Lead\r'),
      bom,
      Buffer.from('\n'),
    ])
    const expected = [
      { line: 2, raw: { headline: 'Copper', publishedAt: '2020-01-01T00:00:00.000Z' } },
      { line: 5, error: 'date "2020-13-45" names no real time: there is no month 13' },
      {
        line: 7,
        error:
          'Invalid Closing Quote: got "f" at line 7 instead of delimiter, record delimiter, trimable character (if activated) or comment',
      },
      { line: 8, error: 'line is not valid UTF-8' },
      { line: 11, raw: { headline: 'Lead', publishedAt: '2020-01-03T00:00:00.000Z' } },
    ]
    expect(await rows('cat-cr.csv', csv)).toEqual(expected)
    // A pipe, cut after every byte.
    const bytes = [...csv].map((b) => Buffer.from([b]))
    const got: ReplayRow[] = []
    const input = { format: 'csv' as const, bytes: pipeOf(bytes, { ends: true }).input.bytes, live: true }
    for await (const r of readReplayRows('feed.csv', { input })) got.push(r)
    expect(got).toEqual(expected)
  })
  it('names every line as the same lines ended by LF without marks name it, whatever their line ends and marks', async () => {
    // Random CSV of rows good and bad, blank lines and lines of a mark only, each with a mark or not and
    // ended by LF, CRLF or a lone CR, read from a file and from a pipe cut anywhere: every row is the one
    // read from the same lines ended by LF, without marks. Not given: a lone CR then an empty line
    // without a mark ended by LF, which is a CRLF.
    const random = seededRandom(11)
    const pick = <T>(of: readonly T[]) => of[Math.floor(random() * of.length)]!
    const contents = [
      '2020-01-01,Copper',
      '2020-13-45,Steel',
      '',
      '2020-01-02,',
      '"a"x,Zinc',
      'x,"e"f"',
      'date,headline',
    ]
    const ends = ['\n', '\r\n', '\r']
    const read = async (bytes: Buffer, cut: boolean) => {
      const chunks: Buffer[] = []
      for (let at = 0; at < bytes.length; ) {
        const size = cut ? 1 + Math.floor(random() * 8) : bytes.length
        chunks.push(bytes.subarray(at, at + size))
        at += size
      }
      const got: ReplayRow[] = []
      const input = { format: 'csv' as const, bytes: pipeOf(chunks, { ends: true }).input.bytes, live: cut }
      for await (const r of readReplayRows('feed.csv', { input })) got.push(r)
      return got
    }
    for (let n = 0; n < 400; n++) {
      const lines = ['date,headline']
      for (let i = 1 + Math.floor(random() * 8); i > 0; i--) lines.push(pick(contents))
      const marks = lines.map(() => random() < 0.5)
      const lineEnds = lines.map(() => pick(ends))
      if (
        lines.some(
          (l, i) => i > 0 && lineEnds[i - 1] === '\r' && l === '' && !marks[i] && lineEnds[i] === '\n',
        )
      )
        continue
      const csv = lines.map((l, i) => (marks[i] ? '\ufeff' : '') + l + lineEnds[i]).join('')
      const plain = await read(Buffer.from(lines.map((l) => `${l}\n`).join('')), false)
      expect(await read(Buffer.from(csv), false), JSON.stringify(csv)).toEqual(plain)
      expect(await read(Buffer.from(csv), true), JSON.stringify(csv)).toEqual(plain)
    }
  })
  it('skips a published time before 2000, saying so, where year 1 was "unreadable" and 1999 went out first, stamped with its send time by ingest', async () => {
    const why =
      "before 2000: ingest takes such a time for a producer's zero time (0001-01-01, 1970-01-01) and gives the headline the time it was sent instead, ahead of every row sent after it"
    expect(
      await rows(
        'zero.csv',
        'date,headline\n0001-01-01T00:00:00Z,Zero time\n1999-12-31T23:59:59Z,Last of 1999\n2000-01-01,First of 2000\n1-Jan-70,Epoch\n',
      ),
    ).toEqual([
      { line: 2, error: `date "0001-01-01T00:00:00Z" is 0001-01-01T00:00:00.000Z, ${why}` },
      { line: 3, error: `date "1999-12-31T23:59:59Z" is 1999-12-31T23:59:59.000Z, ${why}` },
      { line: 4, raw: { headline: 'First of 2000', publishedAt: '2000-01-01T00:00:00.000Z' } },
      { line: 5, error: `date "1-Jan-70" is 1970-01-01T00:00:00.000Z, ${why}` },
    ])
    expect(
      await rows(
        'zero.ndjson',
        '{"headline":"Zero time","publishedAt":"0001-01-01T00:00:00Z"}\n{"headline":"Now","publishedAt":"2020-07-17T19:51:00Z"}\n{"headline":"No time"}\n',
      ),
    ).toEqual([
      { line: 1, error: `publishedAt "0001-01-01T00:00:00Z", ${why}` },
      { line: 2, raw: { headline: 'Now', publishedAt: '2020-07-17T19:51:00Z' } },
      { line: 3, raw: { headline: 'No time' } },
    ])
  })
  it('reads NDJSON objects as they are and reports lines that are not objects', async () => {
    const r = await rows('d.ndjson', '{"headline":"a"}\n\nnope\n[1]\n{"headline":""}\n')
    expect(r).toEqual([
      { line: 1, raw: { headline: 'a' } },
      { line: 3, error: expect.stringMatching(/^invalid JSON/) },
      { line: 4, error: 'not a JSON object' },
      { line: 5, error: 'headline: Too small: expected string to have >=1 characters (schema_invalid)' },
    ])
  })

  it('skips an NDJSON row ingest would dead-letter, naming the line and why, and sends the others as read', async () => {
    // Checked for JSON syntax and shape only, these went out, counted good (exit 0), and ingest
    // dead-lettered every one as schema_invalid. What ingest takes and changes (a headline cut and flagged,
    // a url dropped, a publishedAt too far ahead replaced, fields it ignores, null as absent) is sent as read.
    const good = [
      { id: 'a', headline: 'US raises tariffs on steel', publishedAt: '2026-03-02T10:00:00Z' },
      { id: 'b', headline: `Tariffs ${'x'.repeat(2_000)}`, body: null, url: 'ftp://example.com/a' },
      { headline: 'Chips rally', source: 'wire', publishedAt: '2999-01-01T00:00:00Z', extra: { n: 1 } },
    ]
    const r = await rows(
      'ingest.ndjson',
      [
        JSON.stringify(good[0]),
        '{"headline":"","publishedAt":"2026-03-02T10:00:00Z"}',
        '{"headline":"Steel","publishedAt":"2026-02-30T10:00:00Z"}',
        '{"headline":"Steel","publishedAt":"yesterday"}',
        JSON.stringify(good[1]),
        '{"headline":42}',
        '{"nohead":1}',
        JSON.stringify(good[2]),
        '{"headline":"---"}',
      ].join('\n'),
    )
    expect(r).toEqual([
      { line: 1, raw: good[0] },
      { line: 2, error: 'headline: Too small: expected string to have >=1 characters (schema_invalid)' },
      { line: 3, error: 'publishedAt: Invalid ISO datetime (schema_invalid)' },
      { line: 4, error: 'publishedAt: Invalid ISO datetime (schema_invalid)' },
      { line: 5, raw: good[1] },
      { line: 6, error: 'headline: Invalid input: expected string, received number (schema_invalid)' },
      { line: 7, error: 'headline: Invalid input: expected string, received undefined (schema_invalid)' },
      { line: 8, raw: good[2] },
      { line: 9, error: 'headline has no letter or digit after normalisation (empty_headline)' },
    ])
  })

  it("skips a row whose record is over ingest's limit, INGEST_MAX_RECORD_BYTES as given, NDJSON and CSV alike", async () => {
    const headline = `Tariffs ${'y'.repeat(70_000)}`
    const ndjson = JSON.stringify({ id: 'big', headline })
    const csv = `date,headline\n2020-01-01,${headline}\n`
    const csvBytes = JSON.stringify({ headline, publishedAt: '2020-01-01T00:00:00.000Z' }).length
    expect(await rows('big.ndjson', ndjson)).toEqual([
      { line: 1, error: `record is ${ndjson.length} bytes; the limit is 65536 (too_large)` },
    ])
    expect(await rows('big.csv', csv)).toEqual([
      { line: 2, error: `record is ${csvBytes} bytes; the limit is 65536 (too_large)` },
    ])
    const mib = { ...DEFAULT_INGEST_LIMITS, maxRecordBytes: 1_048_576 }
    expect(await rows('big.ndjson', ndjson, undefined, mib)).toEqual([
      { line: 1, raw: { id: 'big', headline } },
    ])
    expect(await rows('big.csv', csv, undefined, mib)).toEqual([
      { line: 2, raw: { headline, publishedAt: '2020-01-01T00:00:00.000Z' } },
    ])
  })

  it('skips a CSV row ingest would dead-letter, its headline only dashes or invisible, after its own checks', async () => {
    const r = await rows(
      'dashes.csv',
      'date,headline\n2020-01-01,---\n2020-01-02,\u200b\u2800\n2020-01-03,\nyesterday,---\n2020-01-04,Copper falls\n',
    )
    expect(r).toEqual([
      { line: 2, error: 'headline has no letter or digit after normalisation (empty_headline)' },
      { line: 3, error: 'headline has no letter or digit after normalisation (empty_headline)' },
      { line: 4, error: 'empty headline' },
      { line: 5, error: 'unreadable date "yesterday"' },
      { line: 6, raw: { headline: 'Copper falls', publishedAt: '2020-01-04T00:00:00.000Z' } },
    ])
  })

  it('skips an NDJSON line naming a key twice, at any depth, naming the key, where JSON.parse kept the last', async () => {
    // Sent as JSON.parse read it, the first line went out as China's cut alone: a line ingest refuses
    // (schema_invalid) reached headlines.raw as one it takes, its sentiment the other way round.
    const r = await rows(
      'dup.ndjson',
      [
        '{"id":"dup-1","headline":"US raises tariffs on steel","headline":"China cuts tariffs on US soybeans"}',
        '{"id":"a","headline":"EU lifts duties","meta":{"tag":"x","tag":"y"}}',
        '{"id":"b","headline":"Steel tariffs rise","\u0069d":"c"}',
        '{"id":"d","headline":"Ports reopen","headlines":"headline"}',
      ].join('\n'),
    )
    const twice = (key: string) =>
      `${key}: key given more than once in one object (JSON.parse would keep the last silently; ingest refuses such a record: schema_invalid)`
    expect(r).toEqual([
      { line: 1, error: twice('headline') },
      { line: 2, error: twice('meta.tag') },
      { line: 3, error: twice('id') },
      { line: 4, raw: { id: 'd', headline: 'Ports reopen', headlines: 'headline' } },
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
          line: 2,
          raw: { headline: `Steel${eol}tariffs rise`, publishedAt: '2020-01-01T00:00:00.000Z' },
        },
        { line: 5, error: 'line is not valid UTF-8' },
        { line: 6, raw: { headline: 'Café exports', publishedAt: '2020-01-03T00:00:00.000Z' } },
        { line: 7, error: 'line is not valid UTF-8' },
        { line: 8, raw: { headline: 'Copper', publishedAt: '2020-01-05T00:00:00.000Z' } },
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

/**
 * A pipe's bytes: `chunks`, then (unless `ends`) nothing more, ever, as a live feed that has gone quiet.
 * `pulled` counts the chunks taken.
 */
function pipeOf(chunks: (string | Buffer)[], { ends = false } = {}) {
  const state = { pulled: 0, closed: false }
  async function* bytes(): AsyncGenerator<Buffer> {
    try {
      for (const c of chunks) {
        state.pulled++
        yield Buffer.isBuffer(c) ? c : Buffer.from(c)
      }
      if (!ends) await new Promise(() => {})
    } finally {
      state.closed = true
    }
  }
  return { input: { format: 'csv' as const, bytes: bytes() }, state }
}

async function text(bytes: AsyncIterable<Buffer>): Promise<string> {
  const out: Buffer[] = []
  for await (const b of bytes) out.push(b)
  return Buffer.concat(out).toString('utf8')
}

describe('checkCsvHeader (a pipe, before connecting)', () => {
  // A pipe's header was checked only as its rows were read, once connected to Kafka: with Kafka down a
  // CSV without a headline column was "cannot reach Kafka" (exit 69), not refused (78) as a file's is.
  it("refuses a header without a headline column, reading nothing past it (the pipe's rows may not come yet)", async () => {
    const { input, state } = pipeOf(['date,ti', 'tle\n'])
    await expect(checkCsvHeader('/dev/stdin', input)).rejects.toThrow(
      '/dev/stdin: no "headline" column (columns: date, title)',
    )
    expect(state.pulled).toBe(2)
  })
  it('takes a good header, read to its end only, and gives every byte back, then the rest as it comes', async () => {
    const chunks = [
      '\ufeff\r\n\n',
      'date,head',
      'line\r\n2020-01-01,Steel tariffs rise\n',
      '2020-01-02,Chips\n',
    ]
    const { input, state } = pipeOf(chunks, { ends: true })
    const checked = await checkCsvHeader('/dev/stdin', input)
    expect(state.pulled).toBe(3)
    expect(await text(checked.bytes)).toBe(chunks.join(''))
    expect(state).toEqual({ pulled: 4, closed: true })
    // A quiet pipe: the check does not wait for its rows.
    const quiet = pipeOf(['date,headline\n'])
    await checkCsvHeader('/dev/stdin', quiet.input)
    expect(quiet.state.pulled).toBe(1)
  })
  it('reads a quoted header field across its line breaks, as csv-parse does, and a quote inside a field as an error', async () => {
    const multi = pipeOf(['"da\nte","a ""q"",\r\nb",headline\n'])
    await expect(checkCsvHeader('/dev/stdin', multi.input)).resolves.toMatchObject({ format: 'csv' })
    const across = pipeOf(['"da\nte",title\n'])
    await expect(checkCsvHeader('/dev/stdin', across.input)).rejects.toThrow(
      'no "headline" column (columns: da\nte, title)',
    )
    const stray = pipeOf(['date,head"line\n'])
    await expect(checkCsvHeader('/dev/stdin', stray.input)).rejects.toThrow(
      /\/dev\/stdin: the header line cannot be read: Invalid Opening Quote/,
    )
  })
  it('refuses a header line that is not valid UTF-8, or past the limit (its size named, read to its end)', async () => {
    const bad = pipeOf([Buffer.from([0x64, 0xe9, 0x2c, 0x68, 0x0a])])
    await expect(checkCsvHeader('/dev/stdin', bad.input)).rejects.toThrow(
      '/dev/stdin: the header line cannot be read: line is not valid UTF-8 (line 1)',
    )
    const long = pipeOf(['headline,', 'a'.repeat(MAX_LINE_BYTES), 'aaaa\n2020-01-01,x\n'], { ends: true })
    await expect(checkCsvHeader('/dev/stdin', long.input)).rejects.toThrow(
      `/dev/stdin: the header line cannot be read: line is ${9 + MAX_LINE_BYTES + 4} bytes; limit ${MAX_LINE_BYTES} (line 1)`,
    )
  })
  it('takes a pipe that ends within its header, or gives nothing', async () => {
    const ended = pipeOf(['date,headline'], { ends: true })
    expect(await text((await checkCsvHeader('/dev/stdin', ended.input)).bytes)).toBe('date,headline')
    const empty = pipeOf([], { ends: true })
    expect(await text((await checkCsvHeader('/dev/stdin', empty.input)).bytes)).toBe('')
  })
})

/** A live pipe: what is written is read as it comes; the reader waits for more until `end`. */
function livePipe(format: 'csv' | 'ndjson') {
  const queue: Buffer[] = []
  let wake: (() => void) | undefined
  let ended = false
  async function* bytes(): AsyncGenerator<Buffer> {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!
      if (ended) return
      await new Promise<void>((r) => {
        wake = r
      })
    }
  }
  const poke = () => {
    wake?.()
    wake = undefined
  }
  return {
    input: { format, bytes: bytes(), live: true },
    write: (text: string) => {
      queue.push(Buffer.from(text))
      poke()
    },
    end: () => {
      ended = true
      poke()
    },
  }
}

describe('readReplayRows on a live pipe', () => {
  /** The rows read so far, read in the background as they come. */
  function reading(input: ReplayInput) {
    const got: ReplayRow[] = []
    const done = (async () => {
      for await (const r of readReplayRows('/dev/stdin', { input })) got.push(r)
    })()
    return { got, done }
  }
  const row = (line: number, headline: string) => ({
    line,
    raw: { headline, publishedAt: expect.any(String) },
  })

  it('gives a CSV row as soon as its line end comes, the writer still writing', async () => {
    const pipe = livePipe('csv')
    const { got, done } = reading(pipe.input)
    pipe.write('date,headline\n2020-01-01,Steel tariffs rise\n')
    await waitFor(() => got.length >= 1, { timeoutMs: 2_000, what: 'the first row' })
    pipe.write('2020-01-02,"Ports reopen, again"\r\n')
    await waitFor(() => got.length >= 2, { timeoutMs: 2_000, what: 'the second row' })
    pipe.write('2020-01-03,"Chips\nrally"\n')
    await waitFor(() => got.length >= 3, { timeoutMs: 2_000, what: 'a row with a quoted line break' })
    // A bad row is named as soon as it is read too, not with the next good one.
    pipe.write('2020-01-04,Copper "falls"\n')
    await waitFor(() => got.length >= 4, { timeoutMs: 2_000, what: 'a bad row' })
    pipe.write('2020-01-05,Rare earths')
    pipe.end()
    await done
    expect(got).toEqual([
      row(2, 'Steel tariffs rise'),
      row(3, 'Ports reopen, again'),
      row(4, 'Chips\nrally'),
      { line: 6, error: expect.stringMatching(/^Invalid Opening Quote/) },
      row(7, 'Rare earths'),
    ])
  })
  it('reads a live CSV as it reads the same bytes from a file, however its writer cut them, bad quotes and all', async () => {
    // A live CSV is given a record of its own at each pause after a record (csv-parse reads the last one
    // only once it has bytes past its line end): given inside a quoted field, it would be field text.
    // Random CSV of quotes, commas, line ends of every kind and blank lines, cut anywhere: every chunk
    // boundary a pause.
    const random = seededRandom(7)
    const pick = <T>(of: readonly T[]) => of[Math.floor(random() * of.length)]!
    const pieces = ['a', 'b c', ',', '"', '""', '\n', '\r\n', '\r', '\ufeffé', '\ufeff', 'é']
    for (let n = 0; n < 500; n++) {
      let text = pick(['headline,x\n', 'x,headline\r\n', '\n"head\nline",headline\n'])
      for (let i = Math.floor(random() * 60); i > 0; i--) text += pick(pieces)
      const bytes = Buffer.from(text)
      const chunks: Buffer[] = []
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(random() * 12)
        chunks.push(bytes.subarray(at, at + size))
        at += size
      }
      const read = async (live: boolean) => {
        const got: ReplayRow[] = []
        const input = { format: 'csv' as const, bytes: pipeOf(chunks, { ends: true }).input.bytes, live }
        try {
          for await (const r of readReplayRows('feed.csv', { input })) got.push(r)
        } catch (err) {
          got.push({ line: 0, error: (err as Error).message })
        }
        return got
      }
      expect(await read(true), JSON.stringify(text)).toEqual(await read(false))
    }
  })
  it('gives a CSV row ended by a lone CR as soon as the CR comes, and an LF after it ends no other line', async () => {
    // A CR at the end of what came may be the first half of a CRLF: the row waited for the next chunk
    // (the next row of a live feed, or the end of the pipe) to tell.
    const pipe = livePipe('csv')
    const { got, done } = reading(pipe.input)
    pipe.write('date,headline\r2020-01-01,Steel tariffs rise\r')
    await waitFor(() => got.length >= 1, { timeoutMs: 2_000, what: 'a row ended by a CR' })
    // It was the first half of a CRLF: the LF is its line end's, no blank line of its own.
    pipe.write('\n2020-01-02,Ports reopen\r')
    await waitFor(() => got.length >= 2, { timeoutMs: 2_000, what: 'the second row' })
    // Inside a quoted field the CR waits for what follows: a CRLF there stays one, as in a file.
    pipe.write('2020-01-03,"Chips\r')
    pipe.write('\nrally"\r')
    await waitFor(() => got.length >= 3, { timeoutMs: 2_000, what: 'a row with a quoted CRLF' })
    // A bad row is named at once too, by its line.
    pipe.write('x,Copper\r')
    await waitFor(() => got.length >= 4, { timeoutMs: 2_000, what: 'a bad row' })
    pipe.write('\n2020-01-04,Zinc\r\n')
    await waitFor(() => got.length >= 5, { timeoutMs: 2_000, what: 'a row ended by a CRLF' })
    pipe.end()
    await done
    expect(got).toEqual([
      row(2, 'Steel tariffs rise'),
      row(3, 'Ports reopen'),
      row(4, 'Chips\r\nrally'),
      { line: 6, error: 'unreadable date "x"' },
      row(7, 'Zinc'),
    ])
  })
  it('gives an NDJSON line ended by a lone CR as soon as the CR comes, and an LF after it ends no other line', async () => {
    const pipe = livePipe('ndjson')
    const { got, done } = reading(pipe.input)
    pipe.write('{"headline":"Steel tariffs rise"}\r')
    await waitFor(() => got.length >= 1, { timeoutMs: 2_000, what: 'a line ended by a CR' })
    pipe.write('\n{"headline":"Ports reopen"}\r')
    await waitFor(() => got.length >= 2, { timeoutMs: 2_000, what: 'the second line' })
    pipe.end()
    await done
    expect(got).toEqual([
      { line: 1, raw: { headline: 'Steel tariffs rise' } },
      { line: 2, raw: { headline: 'Ports reopen' } },
    ])
  })
  it('gives an NDJSON line as soon as its line end comes, the writer still writing', async () => {
    const pipe = livePipe('ndjson')
    const { got, done } = reading(pipe.input)
    pipe.write('{"headline":"Steel tariffs rise"}\n')
    await waitFor(() => got.length >= 1, { timeoutMs: 2_000, what: 'the first line' })
    pipe.write('{"headline":"Ports reopen"}\r\n')
    await waitFor(() => got.length >= 2, { timeoutMs: 2_000, what: 'the second line' })
    pipe.end()
    await done
    expect(got).toEqual([
      { line: 1, raw: { headline: 'Steel tariffs rise' } },
      { line: 2, raw: { headline: 'Ports reopen' } },
    ])
  })
})

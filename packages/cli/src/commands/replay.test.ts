import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { OutRecord } from '@tradepulse/platform'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MAX_REPLAY_RECORD_BYTES, type ReplayFileOptions, replayFile } from './replay.ts'

const dir = mkdtempSync(join(tmpdir(), 'replay-file-'))

/** Replays a file into an array, with what it wrote to stderr. */
async function replay(
  name: string,
  text: string,
  batch = 10,
  more: Partial<Pick<ReplayFileOptions, 'limit' | 'order'>> = {},
) {
  const file = join(dir, name)
  writeFileSync(file, text)
  const produced: OutRecord[][] = []
  let stderr = ''
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk)
    return true
  })
  const summary = await replayFile(
    file,
    { ratePerS: 'max', batch, ...more },
    async (records) => {
      produced.push(records)
    },
    'raw.topic',
  )
  vi.restoreAllMocks()
  return { summary, produced, stderr }
}

describe('replayFile', () => {
  afterEach(() => vi.restoreAllMocks())

  it('skips an NDJSON row whose record would be larger than 1 MB, by line, and produces the rest', async () => {
    const big = JSON.stringify({ id: 'big', headline: 'x'.repeat(1_100_000) })
    const lines = [
      JSON.stringify({ id: 'a', headline: 'Steel tariffs rise' }),
      big,
      JSON.stringify({ id: 'c', headline: 'Copper falls' }),
    ]
    const { summary, produced, stderr } = await replay('big.ndjson', `${lines.join('\n')}\n`)
    // Keys and sizes only: a failure message with the 1 MB value in it would be of no use.
    expect(produced.flat().map((r) => [r.key, String(r.value).length])).toEqual([
      ['a', lines[0]!.length],
      ['c', lines[2]!.length],
    ])
    expect(summary).toMatchObject({ produced: 2, skipped: 1, skippedLines: [2] })
    expect(stderr).toMatch(new RegExp(`big\\.ndjson:2: skipped: record is ${big.length + 3} bytes`))
  })
  it('keeps a record at the size limit and skips one a byte over it', async () => {
    // The record's value and key: {"headline":"…","id":"k"} plus the key "k".
    const fill = (n: number) =>
      'y'.repeat(MAX_REPLAY_RECORD_BYTES - '{"id":"k","headline":""}'.length - 1 + n)
    const lines = [
      JSON.stringify({ id: 'k', headline: fill(0) }),
      JSON.stringify({ id: 'k', headline: fill(1) }),
    ]
    const { summary, produced } = await replay('edge.ndjson', lines.join('\n'))
    expect(produced.flat().map((r) => String(r.value).length)).toEqual([MAX_REPLAY_RECORD_BYTES - 1])
    expect(summary).toMatchObject({ produced: 1, skipped: 1, skippedLines: [2] })
  })
  it('skips a CSV row with a large body or a stray quote, by line, and produces the rest in order', async () => {
    const { summary, produced, stderr } = await replay(
      'big.csv',
      [
        'date,headline,description',
        '2020-01-01,Steel tariffs rise,Mills react.',
        `2020-01-02,Ports reopen,${'z'.repeat(1_100_000)}`,
        '2020-01-03,Trump says "tariffs" are great,',
        '2020-01-04,Copper falls,',
        '',
      ].join('\n'),
      1,
    )
    expect(produced.flat().map((r) => JSON.parse(String(r.value)).headline)).toEqual([
      'Steel tariffs rise',
      'Copper falls',
    ])
    expect(summary).toMatchObject({ produced: 2, skipped: 2, skippedLines: [3, 4] })
    expect(stderr).toMatch(/big\.csv:3: skipped: record is \d+ bytes/)
    expect(stderr).toMatch(/big\.csv:4: skipped: Invalid Opening Quote/)
  })

  // Newest first, like cnbc_2017_2020.csv and guardian_2017_2020.csv: sent in file order, time would run
  // back years and live workers would count nearly every headline late.
  const newestFirst = [
    'time,headline',
    '"7:51 PM ET Fri, 17 July 2020",Chips rally',
    '"7:33 PM ET Fri, 17 July 2020",Steel tariffs rise',
    '"7:33 PM ET Fri, 17 July 2020",Ports reopen',
    'yesterday,Unreadable time',
    '"9:05 AM ET Mon, 4 Dec 2017",Copper falls',
    '"11:00 PM ET Sun, 3 Dec 2017",Rare earths squeeze',
    '',
  ].join('\n')
  const sent = (produced: OutRecord[][]) =>
    produced.flat().map((r) => {
      const v = JSON.parse(String(r.value)) as { headline: string; publishedAt?: string }
      return `${v.publishedAt ?? '-'} ${v.headline}`
    })

  it('sends a newest-first file oldest first, rows of one time in file order, bad rows reported by line', async () => {
    const { summary, produced, stderr } = await replay('newest-first.csv', newestFirst, 2)
    expect(sent(produced)).toEqual([
      '2017-12-04T04:00:00.000Z Rare earths squeeze',
      '2017-12-04T14:05:00.000Z Copper falls',
      '2020-07-17T23:33:00.000Z Steel tariffs rise',
      '2020-07-17T23:33:00.000Z Ports reopen',
      '2020-07-17T23:51:00.000Z Chips rally',
    ])
    expect(summary).toMatchObject({ produced: 5, skipped: 1, skippedLines: [5], behind: 0 })
    expect(stderr).toMatch(/newest-first\.csv:5: skipped: unreadable time "yesterday"/)
    expect(stderr).not.toMatch(/warning/)
  })
  it('takes the oldest rows of a file for --limit', async () => {
    const { summary, produced } = await replay('limit.csv', newestFirst, 10, { limit: 3 })
    expect(sent(produced)).toEqual([
      '2017-12-04T04:00:00.000Z Rare earths squeeze',
      '2017-12-04T14:05:00.000Z Copper falls',
      '2020-07-17T23:33:00.000Z Steel tariffs rise',
    ])
    expect(summary).toMatchObject({ produced: 3, skipped: 1 })
  })
  it('sends NDJSON rows without a time last, in file order (ingest gives them their entry time)', async () => {
    const lines = [
      { id: 'a', headline: 'No time one' },
      { id: 'b', headline: 'Late', publishedAt: '2020-03-02T10:00:00+01:00' },
      { id: 'c', headline: 'No time two' },
      { id: 'd', headline: 'Early', publishedAt: '2020-03-02T08:00:00Z' },
    ]
    const { produced } = await replay('untimed.ndjson', lines.map((l) => JSON.stringify(l)).join('\n'))
    expect(produced.flat().map((r) => r.key)).toEqual(['d', 'b', 'a', 'c'])
  })
  it('sends a pipe as it comes and warns once where its time runs back more than the grace', async () => {
    const { summary, produced, stderr } = await replay('piped.csv', newestFirst, 10, { order: 'file' })
    expect(sent(produced).map((s) => s.split(' ').slice(1).join(' '))).toEqual([
      'Chips rally',
      'Steel tariffs rise',
      'Ports reopen',
      'Copper falls',
      'Rare earths squeeze',
    ])
    // 18 min back (7:51 to 7:33 PM) is past the 10 min grace; Dec 2017 runs back further still.
    expect(summary.behind).toBe(4)
    expect(stderr.match(/warning/g)).toHaveLength(1)
    expect(stderr).toMatch(
      /piped\.csv:3: warning: time runs backwards, 2020-07-17T23:33:00\.000Z after 2020-07-17T23:51:00\.000Z: .*grace \(10 min\)/,
    )
  })
})

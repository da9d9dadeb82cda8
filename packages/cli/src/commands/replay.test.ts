import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { OutRecord } from '@tradepulse/platform'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MAX_REPLAY_RECORD_BYTES, replayFile } from './replay.ts'

const dir = mkdtempSync(join(tmpdir(), 'replay-file-'))

/** Replays a file into an array, with what it wrote to stderr. */
async function replay(name: string, text: string, batch = 10) {
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
    { ratePerS: 'max', batch },
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
})

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type ReplayRow, readReplayRows } from './read-rows.ts'

const dir = mkdtempSync(join(tmpdir(), 'replay-'))
async function rows(name: string, text: string, source?: string): Promise<ReplayRow[]> {
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
  it('reads NDJSON objects as they are and reports lines that are not objects', async () => {
    const r = await rows('d.ndjson', '{"headline":"a"}\n\nnope\n[1]\n{"headline":""}\n')
    expect(r).toEqual([
      { line: 1, raw: { headline: 'a' } },
      { line: 3, error: expect.stringMatching(/^invalid JSON/) },
      { line: 4, error: 'not a JSON object' },
      { line: 5, raw: { headline: '' } },
    ])
  })
})

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readNewsRecords } from '../shared-data.ts'
import { newsSplitOf } from './sample-news.ts'

/** A CSV file of `text` in a fresh temporary directory. */
function csvFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'news-')), name)
  writeFileSync(file, text)
  return file
}

describe('readNewsRecords', () => {
  it('numbers records, not lines, and collapses the line breaks quoted inside a headline', () => {
    const file = csvFile(
      'stream.csv',
      'time,headline\n18-Jul-20,First headline\n7-Oct-18,"Live blog\n  Second, with a comma"\n7-Oct-18,Third\n',
    )
    expect(readNewsRecords('guardian', file)).toEqual([
      { record: 1, headline: 'First headline' },
      { record: 2, headline: 'Live blog Second, with a comma' },
      { record: 3, headline: 'Third' },
    ])
  })

  it('is undefined when the stream is absent, and names a file without a headline column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'news-'))
    expect(readNewsRecords('cnbc', join(dir, 'absent.csv'))).toBeUndefined()
    const bad = csvFile('bad.csv', 'time,title\n1,x\n')
    expect(() => readNewsRecords('cnbc', bad)).toThrow(/bad\.csv: no headline or text column/)
  })

  it('reads the text column of the tweet set, whose other column (its own labels) it ignores', () => {
    const file = csvFile(
      'tweets.csv',
      'text,label\nChina cuts tariffs https://t.co/x,positive\n"Two, lines\nhere",neutral\n',
    )
    expect(readNewsRecords('twitter', file)).toEqual([
      { record: 1, headline: 'China cuts tariffs https://t.co/x' },
      { record: 2, headline: 'Two, lines here' },
    ])
  })
})

describe('newsSplitOf', () => {
  it('splits each source by its own hash, about half held out, the same on every call', () => {
    const splits = Array.from({ length: 2000 }, (_, i) => newsSplitOf('guardian', i + 1))
    const test = splits.filter((s) => s === 'test').length
    expect(test).toBeGreaterThan(900)
    expect(test).toBeLessThan(1100)
    expect(Array.from({ length: 2000 }, (_, i) => newsSplitOf('guardian', i + 1))).toEqual(splits)
    const other = Array.from({ length: 2000 }, (_, i) => newsSplitOf('cnbc', i + 1))
    expect(other).not.toEqual(splits)
  })
})

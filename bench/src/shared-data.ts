import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseCsv } from './eval/csv.ts'

export const REPO_ROOT = join(import.meta.dirname, '..', '..')
/**
 * Third-party evaluation and replay data beside the project (../shared/data). Read in place, never
 * copied into the repository; every reader skips with a message when it is absent.
 */
export const SHARED_DATA = join(REPO_ROOT, '..', 'shared', 'data')
export const REUTERS_STREAM = join(SHARED_DATA, 'streams', 'reuters_2018_2020.csv')

/**
 * The Reuters stream's rows with their 1-based file line numbers (one record per line; the labels in
 * bench/eval refer to these line numbers), or undefined when the file is absent.
 */
export function readReutersRows(): { line: number; headline: string }[] | undefined {
  if (!existsSync(REUTERS_STREAM)) return undefined
  const lines = readFileSync(REUTERS_STREAM, 'utf8').split('\n')
  const rows: { line: number; headline: string }[] = []
  for (let i = 1; i < lines.length; i++) {
    const text = lines[i]
    if (!text) continue
    const parsed = parseCsv(text)[0]
    if (parsed?.length === 2 && parsed[1]) rows.push({ line: i + 1, headline: parsed[1] })
  }
  return rows
}

/**
 * The other headline sources labelled in bench/eval/news-labels.csv (see bench/eval/README.md): the
 * CNBC and Guardian streams, and the finance-news tweets of the MIT-licensed Twitter set (its `text`
 * column; its own market labels are not ours and are not read here).
 */
export const NEWS_STREAMS = {
  cnbc: join(SHARED_DATA, 'streams', 'cnbc_2017_2020.csv'),
  guardian: join(SHARED_DATA, 'streams', 'guardian_2017_2020.csv'),
  twitter: join(SHARED_DATA, 'labeled', 'twitter_fin_news_train.csv'),
} as const
export type NewsSource = keyof typeof NEWS_STREAMS

/**
 * A news stream's headlines by 1-based record number (records, not file lines: these files quote
 * fields with line breaks inside), or undefined when the file is absent.
 */
export function readNewsRecords(
  source: NewsSource,
  file: string = NEWS_STREAMS[source],
): { record: number; headline: string }[] | undefined {
  if (!existsSync(file)) return undefined
  const [header, ...records] = parseCsv(readFileSync(file, 'utf8'))
  const col = header
    ? header.includes('headline')
      ? header.indexOf('headline')
      : header.indexOf('text')
    : -1
  if (col < 0) throw new Error(`${file}: no headline or text column`)
  return records.map((r, i) => ({ record: i + 1, headline: (r[col] ?? '').replaceAll(/\s+/g, ' ').trim() }))
}

import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { parse } from 'csv-parse'
import { parseStreamTime } from './stream-times.ts'

/** One replayable row: the raw headline object to produce, or why the row was skipped. */
export type ReplayRow = { line: number; raw: Record<string, unknown> } | { line: number; error: string }

const TIME_COLUMNS = ['publishedAt', 'time', 'date', 'datetime', 'timestamp']

/**
 * Reads NDJSON (one raw headline object per line; validated by ingest, not here) or CSV with a
 * headline column and a date or time column (the shapes of ../shared/data/streams; a `description`
 * column becomes the body). Rows that cannot be read at all are reported with their line number.
 */
export async function* readReplayRows(
  file: string,
  opts: { source?: string } = {},
): AsyncGenerator<ReplayRow> {
  if (/\.(nd)?jsonl?$/i.test(file) || /\.ndjson$/i.test(file)) {
    const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY })
    let line = 0
    for await (const text of rl) {
      line++
      if (text.trim() === '') continue
      try {
        const raw = JSON.parse(text) as unknown
        if (!raw || typeof raw !== 'object' || Array.isArray(raw)) yield { line, error: 'not a JSON object' }
        else yield { line, raw: raw as Record<string, unknown> }
      } catch (err) {
        yield { line, error: `invalid JSON: ${(err as Error).message}` }
      }
    }
    return
  }
  const parser = createReadStream(file).pipe(
    parse({ columns: true, bom: true, relax_column_count: true, skip_empty_lines: true, info: true }),
  )
  let timeColumn: string | undefined
  let checked = false
  for await (const { record, info } of parser as AsyncIterable<{
    record: Record<string, string>
    info: { lines: number }
  }>) {
    if (!checked) {
      checked = true
      const cols = Object.keys(record)
      if (!cols.includes('headline'))
        throw new Error(`${file}: no "headline" column (columns: ${cols.join(', ')})`)
      timeColumn = TIME_COLUMNS.find((c) => cols.includes(c))
    }
    const headline = record.headline?.trim()
    if (!headline) {
      yield { line: info.lines, error: 'empty headline' }
      continue
    }
    const raw: Record<string, unknown> = { headline }
    if (opts.source) raw.source = opts.source
    if (timeColumn) {
      const at = parseStreamTime(record[timeColumn] ?? '')
      if (!at) {
        yield { line: info.lines, error: `unreadable ${timeColumn} ${JSON.stringify(record[timeColumn])}` }
        continue
      }
      raw.publishedAt = at
    }
    if (record.description?.trim()) raw.body = record.description.trim()
    yield { line: info.lines, raw }
  }
}

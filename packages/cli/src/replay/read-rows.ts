import { createReadStream } from 'node:fs'
import { type CsvError, parse } from 'csv-parse'
import { readLines } from '../read-lines.ts'
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
    let line = 0
    for await (const text of readLines(createReadStream(file))) {
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
  let timeColumn: string | undefined
  let checked = false
  const useColumns = (cols: string[]) => {
    if (checked) return
    checked = true
    if (!cols.includes('headline'))
      throw new Error(`${file}: no "headline" column (columns: ${cols.join(', ')})`)
    timeColumn = TIME_COLUMNS.find((c) => cols.includes(c))
  }
  // Records csv-parse could not read, by their first line, in file order: they are given out before the
  // first record that comes after them (csv-parse reports them while it parses, ahead of the reader).
  const unreadable: { line: number; error: string }[] = []
  let last: { row: { line: number; error: string }; reason: string; to: number } | undefined
  const parser = createReadStream(file).pipe(
    parse({
      columns: true,
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
      raw: true,
      skip_records_with_error: true,
      on_skip: (err, raw) => {
        if (!err) return
        const at = err as CsvError & { lines: number; columns: { name: string }[] | boolean }
        if (!Array.isArray(at.columns))
          throw new Error(`${file}: the header line cannot be read: ${err.message}`)
        useColumns(at.columns.map((c) => c.name))
        const line = firstLineOf(at.lines, raw ?? '')
        // One report per record, with its first error: a record with stray quotes can raise several,
        // and its row is still queued then (no record after it has been read yet).
        if (last?.row.line === line) last.to = at.lines
        else {
          last = { row: { line, error: '' }, reason: err.message, to: at.lines }
          unreadable.push(last.row)
        }
        last.row.error =
          last.to > line
            ? `${last.reason} (a quoted field runs from line ${line} to line ${last.to}, taking in the rows between)`
            : last.reason
      },
    }),
  )
  for await (const { record, info } of parser as AsyncIterable<{
    record: Record<string, string>
    info: { lines: number }
  }>) {
    while (unreadable.length > 0 && unreadable[0]!.line < info.lines) yield unreadable.shift()!
    useColumns(Object.keys(record))
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
  yield* unreadable
}

/**
 * The first line of a record csv-parse skipped, from the line it reports the error on and the record's
 * text up to there (`raw`). A quoted field may run over many lines (an unclosed quote takes the rest of
 * the file), so that line can be far past the record's start. csv-parse counts each "\r" or "\n" read
 * inside a record as a line once the next character is read, so the last character is not counted yet;
 * line breaks before the record (blank lines it skipped) are not part of the record.
 */
function firstLineOf(errorLine: number, raw: string): number {
  const breaks =
    raw
      .replace(/^[\r\n]+/, '')
      .slice(0, -1)
      .match(/[\r\n]/g)?.length ?? 0
  return errorLine - breaks
}

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

// Our label files joined to the streams they point into: bench/eval/reuters-labels.csv (Reuters, by
// file line) and bench/eval/news-labels.csv (CNBC and Guardian, by record). A row whose headline no
// longer matches its SHA-1 prefix is counted as mismatched and left out.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { NEWS_STREAMS, type NewsSource, REUTERS_STREAM, readNewsRecords } from '../shared-data.ts'
import { readCsv } from './csv.ts'

export const REUTERS_LABELS_FILE = join(import.meta.dirname, '..', '..', 'eval', 'reuters-labels.csv')
export const NEWS_LABELS_FILE = join(import.meta.dirname, '..', '..', 'eval', 'news-labels.csv')

/** First 8 hex digits of the SHA-1 of a headline: how the label files check their rows still match. */
export function headlineSha8(headline: string): string {
  return createHash('sha1').update(headline).digest('hex').slice(0, 8)
}

export interface LabelledRow {
  /** Where the row is: the Reuters file line ("1234") or source and record ("guardian:56"). */
  ref: string
  /** `reuters`, `cnbc` or `guardian`. */
  source: string
  /** `dev` (looked at while building the scorer) or `test` (held out). */
  split: string
  headline: string
  tariff: string
  supply: string
  /** Which draw the row came from (see bench/eval/README.md). */
  draw: string
}

export interface Labels {
  rows: LabelledRow[]
  mismatched: number
}

/** The Reuters labels, or null when the stream or the labels file is absent. */
export function loadReutersLabels(): Labels | null {
  if (!existsSync(REUTERS_STREAM) || !existsSync(REUTERS_LABELS_FILE)) return null
  // The stream has one record per line (checked when the labels were drawn), so line n is record n-1.
  const lines = readFileSync(REUTERS_STREAM, 'utf8').split('\n')
  return joinStream(
    readCsv(REUTERS_LABELS_FILE),
    'reuters',
    (r) => {
      const raw = lines[Number(r.line) - 1]
      return raw === undefined ? undefined : headlineOfLine(raw)
    },
    (r) => r.line ?? '',
  )
}

/** The CNBC and Guardian labels, or null when a stream or the labels file is absent. */
export function loadNewsLabels(): Labels | null {
  if (!existsSync(NEWS_LABELS_FILE)) return null
  const streams = new Map<string, Map<number, string>>()
  for (const source of Object.keys(NEWS_STREAMS) as NewsSource[]) {
    const records = readNewsRecords(source)
    if (!records) return null
    streams.set(source, new Map(records.map((r) => [r.record, r.headline])))
  }
  return joinStream(
    readCsv(NEWS_LABELS_FILE),
    undefined,
    (r) => streams.get(r.source ?? '')?.get(Number(r.record)),
    (r) => `${r.source}:${r.record}`,
  )
}

function joinStream(
  labels: Record<string, string>[],
  source: string | undefined,
  headlineOf: (r: Record<string, string>) => string | undefined,
  refOf: (r: Record<string, string>) => string,
): Labels {
  const rows: LabelledRow[] = []
  let mismatched = 0
  for (const r of labels) {
    const headline = headlineOf(r)
    if (headline === undefined || headlineSha8(headline) !== r.headline_sha1_8) {
      mismatched++
      continue
    }
    rows.push({
      ref: refOf(r),
      source: source ?? r.source ?? '',
      split: r.split ?? '',
      headline,
      tariff: r.tariff ?? '',
      supply: r.supply_chain ?? '',
      draw: r.draw ?? '',
    })
  }
  return { rows, mismatched }
}

/** The headline field of one Reuters stream line (`date,headline`, the headline maybe quoted). */
function headlineOfLine(raw: string): string | undefined {
  const comma = raw.indexOf(',')
  if (comma < 0) return undefined
  let h = raw.slice(comma + 1).replace(/\r$/, '')
  if (h.startsWith('"') && h.endsWith('"')) h = h.slice(1, -1).replaceAll('""', '"')
  return h
}

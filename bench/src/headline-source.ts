import { REUTERS_STREAM, readReutersRows } from './shared-data.ts'

/**
 * Headline texts for load: the Reuters stream from ../shared/data when present (third-party, read in
 * place, never copied), else synthetic headlines built from a few templates, with a warning: figures
 * on those are not comparable with figures on the stream, and a checkout without ../shared beside it
 * (a worktree elsewhere, say) would otherwise give such figures without a word.
 */
export function loadHeadlineTexts(
  max = 30_000,
  // For tests: the stream's rows (null: absent) and where the warning goes.
  given: { rows?: { headline: string }[] | null; warn?: (line: string) => void } = {},
): { texts: string[]; source: string } {
  const rows = given.rows === undefined ? readReutersRows() : given.rows
  const warn = given.warn ?? ((line: string) => process.stderr.write(line))
  if (rows) {
    const texts = rows.slice(0, max).map((r) => r.headline)
    return { texts, source: 'reuters_2018_2020.csv' }
  }
  warn(
    `WARNING: ${REUTERS_STREAM} not found: synthetic headlines instead; these figures are not comparable with runs on the Reuters stream\n`,
  )
  const subjects = ['US', 'China', 'EU', 'Japan', 'Mexico', 'Canada', 'India']
  const verbs = [
    'raises tariffs on',
    'cuts duties on',
    'halts exports of',
    'resumes shipments of',
    'weighs curbs on',
  ]
  const goods = ['steel', 'rare earths', 'chips', 'soybeans', 'autos', 'magnets', 'aluminium']
  const texts: string[] = []
  for (let i = 0; texts.length < max; i++) {
    texts.push(`${subjects[i % 7]} ${verbs[(i >> 3) % 5]} ${goods[(i >> 6) % 7]} (${i})`)
  }
  return { texts, source: 'synthetic' }
}

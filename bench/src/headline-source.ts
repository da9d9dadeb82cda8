import { readReutersRows } from './shared-data.ts'

/**
 * Headline texts for load: the Reuters stream from ../shared/data when present (third-party, read in
 * place, never copied), else synthetic headlines built from a few templates.
 */
export function loadHeadlineTexts(max = 30_000): { texts: string[]; source: string } {
  const rows = readReutersRows()
  if (rows) {
    const texts = rows.slice(0, max).map((r) => r.headline)
    return { texts, source: 'reuters_2018_2020.csv' }
  }
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

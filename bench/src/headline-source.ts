import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const REUTERS = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'shared',
  'data',
  'streams',
  'reuters_2018_2020.csv',
)

/**
 * Headline texts for load: the Reuters stream from ../shared/data when present (third-party, read in
 * place, never copied), else synthetic headlines built from a few templates.
 */
export function loadHeadlineTexts(max = 30_000): { texts: string[]; source: string } {
  if (existsSync(REUTERS)) {
    const lines = readFileSync(REUTERS, 'utf8').split('\n').slice(1)
    const texts: string[] = []
    for (const line of lines) {
      const comma = line.indexOf(',')
      if (comma < 0) continue
      let t = line.slice(comma + 1).trim()
      if (t.startsWith('"') && t.endsWith('"')) t = t.slice(1, -1).replaceAll('""', '"')
      if (t) texts.push(t)
      if (texts.length >= max) break
    }
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

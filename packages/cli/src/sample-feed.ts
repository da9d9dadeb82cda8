import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { RawHeadline } from '@tradepulse/contracts'

export const SAMPLE_FEED_FILE = join(import.meta.dirname, '..', 'sample', 'sample-feed.ndjson')

/** The bundled sample feed (written by us, fictional): raw headlines in published order. */
export function loadSampleFeed(
  file = SAMPLE_FEED_FILE,
): (RawHeadline & { id: string; publishedAt: string })[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((line, i) => {
      const parsed = RawHeadline.safeParse(JSON.parse(line))
      if (!parsed.success || !parsed.data.id || !parsed.data.publishedAt) {
        throw new Error(`${file}:${i + 1}: not a raw headline with id and publishedAt`)
      }
      return parsed.data as RawHeadline & { id: string; publishedAt: string }
    })
}

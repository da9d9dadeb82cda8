import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { renderConfigTable, updateConfigSection } from './config-docs.ts'

describe('README configuration table', () => {
  it('matches the zod config schemas (run `pnpm docs:config` after changing a schema)', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8')
    expect(updateConfigSection(readme)).toBe(readme)
  })
  it('lists shared and worker-specific variables with defaults', () => {
    const table = renderConfigTable()
    expect(table).toMatch(/\| `KAFKA_BROKERS` \| `\["127.0.0.1:9092"\]` \| all \|/)
    expect(table).toMatch(/\| `INGEST_DEDUP_WINDOW_MS` \| `86400000` \| ingest \|/)
  })
})

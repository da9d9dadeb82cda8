import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DECLARED_VARIABLES } from '@tradepulse/platform'
import { describe, expect, it } from 'vitest'
import {
  CONFIG_BEGIN,
  CONFIG_END,
  DECLARED_VARIABLES_FILE,
  declaredVariables,
  renderConfigTable,
  renderDeclaredVariables,
  updateConfigSection,
  writeConfigSection,
  writeDeclaredVariables,
} from './config-docs.ts'

describe('README configuration table', () => {
  it('matches the zod config schemas (run `pnpm docs:config` after changing a schema)', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8')
    expect(updateConfigSection(readme)).toBe(readme)
  })
  it('lists shared and worker-specific variables with defaults', () => {
    const table = renderConfigTable()
    expect(table).toMatch(/\| `KAFKA_BROKERS` \| `\["127.0.0.1:9092"\]` \| all \|/)
    expect(table).toMatch(/\| `INGEST_DEDUP_WINDOW_MS` \| `86400000` \(at least 1000\) \| ingest \|/)
  })
  it('shows the values a variable takes where they are not the usual ones the README states for all', () => {
    const cell = (name: string) =>
      renderConfigTable()
        .split('\n')
        .find((l) => l.startsWith(`| \`${name}\` |`))
        ?.split(' | ')[1]
    // GATEWAY_RECENT_ALERTS took 1 to 100000 while the table said nothing, and the README said counts
    // are at most 2147483647.
    expect(cell('GATEWAY_RECENT_ALERTS')).toBe('`1000` (1 to 100000)')
    expect(cell('GATEWAY_STREAM_HEARTBEAT_MS')).toBe('`15000` (1000 to 300000)')
    expect(cell('KAFKA_SESSION_TIMEOUT_MS')).toBe('`10000` (at least 1000)')
    expect(cell('AGGREGATOR_PUBLISH_LARGE_CHANGE')).toBe('`0.2` (above 0, at most 2)')
    // No default: the range alone.
    expect(cell('HTTP_PORT')).toBe('(0 to 65535)')
    // The usual range (from 0 or 1 up to 2147483647, or 8386597699200000 for a duration that sets no
    // timer) goes unsaid, beside a worker's own default too.
    expect(cell('KAFKA_MAX_BATCH')).toBe('`2000` (aggregator: `100000`)')
    expect(cell('REDIS_TIMEOUT_MS')).toBe('`5000`')
    expect(cell('ALERTER_MAX_EVENT_AGE_MS')).toBe('`0`')
    expect(cell('REDIS_URL')).toBe('`"redis://127.0.0.1:6379"`')
    // Every count is within the usual bound or says its own: none is shown unbounded.
    expect(renderConfigTable()).not.toContain('9007199254740991')
  })
  it("gives a worker's own description of a shared variable beside the common one, as its own default", () => {
    const row = (name: string) =>
      renderConfigTable()
        .split('\n')
        .find((l) => l.startsWith(`| \`${name}\` |`))
    expect(row('KAFKA_PARTITIONS_CONCURRENCY')).toMatch(
      // Ingest, the scorer and the aggregator give their own (all partitions at once), now the most common;
      // the alerter its own too (its 12 input partitions), with the same description.
      /\| `6` \(alerter: `12`, gateway: `3`\) \| all \| partitions handled at once \(set it to the partitions one worker is assigned\); gateway: partitions handled at once per worker: .* \|$/,
    )
    expect(row('KAFKA_MAX_BYTES_PER_PARTITION')).toMatch(
      /\| fetch size per partition; aggregator: fetch size per partition \(a scored headline is about 1 KB; .*\) \|$/,
    )
    // One description for all: shown once.
    expect(row('KAFKA_BROKERS')).not.toMatch(/; (ingest|scorer|aggregator|alerter|gateway)(, \w+)*: /)
  })
  it('says "unchanged" and leaves the file alone when the table is up to date', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'config-docs-')), 'README.md')
    writeFileSync(file, `# x\n${CONFIG_BEGIN}\nold table\n${CONFIG_END}\n`)
    expect(writeConfigSection(file)).toBe('updated')
    const written = readFileSync(file, 'utf8')
    expect(written).toContain(renderConfigTable())
    expect(writeConfigSection(file)).toBe('unchanged')
    expect(readFileSync(file, 'utf8')).toBe(written)
  })
})

describe("platform's DECLARED_VARIABLES", () => {
  it("is every variable of every worker's schema in the registry, sorted (run `pnpm docs:config` after changing a schema)", () => {
    expect(readFileSync(DECLARED_VARIABLES_FILE, 'utf8')).toBe(renderDeclaredVariables())
    expect(DECLARED_VARIABLES).toEqual(declaredVariables())
    expect(DECLARED_VARIABLES.length).toBeGreaterThan(50)
    expect(DECLARED_VARIABLES).toContain('INGEST_DEFAULT_SOURCE')
    expect(DECLARED_VARIABLES).toContain('KAFKA_BROKERS')
  })
  it('says "unchanged" and leaves the file alone when it is up to date', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'declared-variables-')), 'declared-variables.ts')
    writeFileSync(file, 'export const DECLARED_VARIABLES: readonly string[] = []\n')
    expect(writeDeclaredVariables(file)).toBe('updated')
    expect(readFileSync(file, 'utf8')).toBe(renderDeclaredVariables())
    expect(writeDeclaredVariables(file)).toBe('unchanged')
  })
})

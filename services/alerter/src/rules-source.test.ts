import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '@tradepulse/platform'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createAlerterMetrics } from './alerter-metrics.ts'
import { createRulesSource } from './rules-source.ts'

const open = (file: string) =>
  createRulesSource({
    file,
    debounceMs: 10,
    log: createLogger({ level: 'silent' }),
    metrics: createAlerterMetrics(new Registry()),
  })

describe('rules source at start', () => {
  it('names the variable, the file and why it cannot be read, with no field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'))
    expect(() => open(join(dir, 'missing.yaml'))).toThrow(
      `ALERTER_RULES_FILE (${join(dir, 'missing.yaml')}): cannot read it: no such file`,
    )
    expect(() => open(dir)).toThrow(/cannot read it: a directory, not a file$/)
  })

  it('names the field of an invalid rule', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rules-')), 'rules.yaml')
    writeFileSync(file, 'version: "1"\nrules:\n  - id: Bad Id\n    kind: headline_shock\n')
    expect(() => open(file)).toThrow(/ALERTER_RULES_FILE \(.*\): rules\[0\]\.id: /)
  })
})

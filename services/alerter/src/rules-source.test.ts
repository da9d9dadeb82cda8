import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCapturingLogger, createLogger } from '@tradepulse/platform'
import { waitFor } from '@tradepulse/testing'
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

describe('rules source reload with a check', () => {
  it('refuses a reload the check refuses: the running rules stay, with an error line and the invalid count', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rules-')), 'rules.yaml')
    const rule = (id: string) =>
      `  - id: ${id}\n    kind: headline_shock\n    dimensions: [tariff]\n    threshold: 0.5\n    severity: info\n`
    writeFileSync(file, `version: "1"\nrules:\n${rule('keep_me')}${rule('other')}`)
    const { log, lines } = createCapturingLogger()
    const registry = new Registry()
    const source = createRulesSource({
      file,
      debounceMs: 10,
      log,
      metrics: createAlerterMetrics(registry),
      check: (ruleSet) =>
        ruleSet.rules.some((r) => r.id === 'keep_me') ? [] : [{ path: '', message: 'keep_me is gone' }],
    })
    const before = source.current().rulesVersion
    writeFileSync(file, `version: "2"\nrules:\n${rule('other')}`)
    expect(source.reload('test')).toEqual({
      result: 'invalid',
      errors: [{ path: '', message: 'keep_me is gone' }],
    })
    expect(source.current().rulesVersion).toBe(before)
    expect(lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual([
      'rules file refused, the running rules stay in force: keep_me is gone',
    ])
    expect(await registry.getSingleMetricAsString('tradepulse_alerter_rules_reloads_total')).toMatch(
      /result="invalid"} 1/,
    )
    // A file the check takes is taken.
    writeFileSync(file, `version: "3"\nrules:\n${rule('keep_me')}`)
    expect(source.reload('test')).toMatchObject({ result: 'ok', rules: 1 })
  })
})

describe('rules source reload and the metrics of removed rules', () => {
  const rule = (id: string, severity = 'info') =>
    `  - id: ${id}\n    kind: headline_shock\n    dimensions: [tariff]\n    threshold: 0.5\n    severity: ${severity}\n`
  /** The tradepulse_alerts_total lines of the metrics text. */
  const alertLines = async (registry: Registry) =>
    (await registry.metrics()).split('\n').filter((l) => l.startsWith('tradepulse_alerts_total{'))

  it('drops the alert series of rules a reload removes, keeps those in force, and counts a rule brought back from 0', async () => {
    const suffix = Math.random().toString(36).slice(2, 8)
    const [a, b, c] = [`a_${suffix}`, `b_${suffix}`, `c_${suffix}`]
    const file = join(mkdtempSync(join(tmpdir(), 'rules-')), 'rules.yaml')
    writeFileSync(file, `version: "1"\nrules:\n${rule(a)}${rule(b, 'critical')}`)
    const registry = new Registry()
    const metrics = createAlerterMetrics(registry)
    const source = createRulesSource({
      file,
      debounceMs: 10,
      log: createLogger({ level: 'silent' }),
      metrics,
    })
    // Alerts of both rules, counted as the handler counts them.
    metrics.alerts.inc({ rule: a, severity: 'info' }, 3)
    metrics.alerts.inc({ rule: b, severity: 'critical' }, 2)
    expect(await alertLines(registry)).toEqual([
      `tradepulse_alerts_total{rule="${a}",severity="info"} 3`,
      `tradepulse_alerts_total{rule="${b}",severity="critical"} 2`,
    ])

    writeFileSync(file, `version: "2"\nrules:\n${rule(a)}`)
    expect(source.reload('test')).toMatchObject({ result: 'ok', rules: 1 })
    expect(await alertLines(registry)).toEqual([`tradepulse_alerts_total{rule="${a}",severity="info"} 3`])

    // An alert of b counted after its reload (a batch begun under the old rules) makes its series again;
    // the next reload without b drops it again, whatever else it changes.
    metrics.alerts.inc({ rule: b, severity: 'critical' })
    writeFileSync(file, `version: "3"\nrules:\n${rule(a)}${rule(c)}`)
    expect(source.reload('test')).toMatchObject({ result: 'ok', rules: 2 })
    expect(await alertLines(registry)).toEqual([`tradepulse_alerts_total{rule="${a}",severity="info"} 3`])

    // b back (at another severity): its alerts count from 0; a, still in force, is untouched.
    writeFileSync(file, `version: "4"\nrules:\n${rule(a)}${rule(b, 'warning')}`)
    expect(source.reload('test')).toMatchObject({ result: 'ok', rules: 2 })
    metrics.alerts.inc({ rule: b, severity: 'warning' })
    expect(await alertLines(registry)).toEqual([
      `tradepulse_alerts_total{rule="${a}",severity="info"} 3`,
      `tradepulse_alerts_total{rule="${b}",severity="warning"} 1`,
    ])
  })
})

describe('rules source watching its file', () => {
  const rule = (id: string) =>
    `  - id: ${id}\n    kind: headline_shock\n    dimensions: [tariff]\n    threshold: 0.5\n    severity: info\n`

  it('reloads a file written in place or renamed over', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rules-')), 'rules.yaml')
    writeFileSync(file, `version: "1"\nrules:\n${rule('first')}`)
    const source = open(file)
    source.watch()
    try {
      writeFileSync(`${file}.tmp`, `version: "2"\nrules:\n${rule('first')}${rule('second')}`)
      renameSync(`${file}.tmp`, file)
      await waitFor(() => source.current().rules.length === 2, { what: 'the renamed file', timeoutMs: 5_000 })
    } finally {
      source.close()
    }
  })

  it('reloads a file mounted as Kubernetes mounts a ConfigMap, when the mount swaps its data directory', async () => {
    // dir/rules.yaml -> ..data/rules.yaml, ..data -> ..v1; an update writes ..v2, points ..data_tmp at it and
    // renames ..data_tmp over ..data: no event names rules.yaml.
    const dir = mkdtempSync(join(tmpdir(), 'rules-configmap-'))
    mkdirSync(join(dir, '..v1'))
    writeFileSync(join(dir, '..v1', 'rules.yaml'), `version: "1"\nrules:\n${rule('first')}`)
    symlinkSync('..v1', join(dir, '..data'))
    symlinkSync(join('..data', 'rules.yaml'), join(dir, 'rules.yaml'))
    const source = open(join(dir, 'rules.yaml'))
    source.watch()
    try {
      expect(source.current().rules.map((r) => r.id)).toEqual(['first'])
      mkdirSync(join(dir, '..v2'))
      writeFileSync(
        join(dir, '..v2', 'rules.yaml'),
        `version: "2"\nrules:\n${rule('first')}${rule('second')}`,
      )
      symlinkSync('..v2', join(dir, '..data_tmp'))
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
      await waitFor(() => source.current().rules.length === 2, {
        what: 'the rules of the swapped data directory',
        timeoutMs: 5_000,
      })
      expect(source.current().rules.map((r) => r.id)).toEqual(['first', 'second'])
    } finally {
      source.close()
    }
  })

  it('does not reload for other files of its directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'))
    const file = join(dir, 'rules.yaml')
    writeFileSync(file, `version: "1"\nrules:\n${rule('first')}`)
    const registry = new Registry()
    const source = createRulesSource({
      file,
      debounceMs: 10,
      log: createLogger({ level: 'silent' }),
      metrics: createAlerterMetrics(registry),
    })
    source.watch()
    try {
      writeFileSync(join(dir, 'other.yaml'), 'x: 1\n')
      // Then a change of its own, which must be the only reload counted.
      writeFileSync(file, `version: "2"\nrules:\n${rule('first')}${rule('second')}`)
      await waitFor(() => source.current().rules.length === 2, { what: 'the reload', timeoutMs: 5_000 })
      const reloads = await registry.getSingleMetricAsString('tradepulse_alerter_rules_reloads_total')
      expect(reloads).toMatch(/result="ok"} 1/)
      expect(reloads).not.toMatch(/result="unchanged"} [1-9]/)
    } finally {
      source.close()
    }
  })
})

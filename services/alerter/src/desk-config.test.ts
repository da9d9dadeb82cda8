import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Desk, DeskRuleFacts, RuleSet } from '@tradepulse/alerting'
import { afterEach, describe, expect, it } from 'vitest'
import { desksRefusingRules, loadDeskConfig } from './desk-config.ts'
import { scenarioDesks } from './scenario-fixtures.ts'

/** Rules as the desks check reads them: critical tariff rules (the scenario's risk desk takes critical only). */
const criticalRules = (...ids: string[]): DeskRuleFacts[] =>
  ids.map((id) => ({ id, dimensions: ['tariff'], severity: 'critical' }))

describe('loadDeskConfig', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  /** A desks file holding `text`. */
  const desksFile = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'desks-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'desks.yaml'), text)
    return join(dir, 'desks.yaml')
  }
  const refusal = (file: string, env: Record<string, string>, webhooks = true, rules?: DeskRuleFacts[]) => {
    try {
      loadDeskConfig(file, env, webhooks, rules)
    } catch (err) {
      return err as Error & { code?: string }
    }
    throw new Error('accepted')
  }

  it('refuses a webhook URL with credentials in it, naming the desk and its line, never the password', () => {
    // Taken, every alert's POST failed (fetch sends no such request), and the warning and the dead letter
    // quoted the URL whole, fetch's own message again: the password twice in each. The desks schema refuses
    // it now, so it is refused whether webhooks are on or not, and by every reader of the file.
    const file = desksFile(scenarioDesks('https://desk:hook-pw-1@hooks.example/tariff', 'TARIFF_SECRET'))
    const line = scenarioDesks().split('\n').indexOf('    minSeverity: info') + 3
    const expected = `ALERTER_DESKS_FILE (${file}): desks[0].webhook.url: desk "tariff" has credentials in its URL (user:password@), which fetch never sends, so every POST would fail (take them out: the webhook is signed with its secretEnv; a token the endpoint needs goes in its path) (line ${line})`
    for (const [env, enabled] of [
      [{ TARIFF_SECRET: 's' }, true],
      [{}, true],
      [{}, false],
    ] as const) {
      const err = refusal(file, env, enabled)
      expect(err.code).toBe('CONFIG_INVALID')
      expect(err.message).toBe(expected)
      expect(err.message).not.toContain('hook-pw-1')
    }
    expect(
      loadDeskConfig(
        desksFile(scenarioDesks('https://hooks.example/t0k3n', 'TARIFF_SECRET')),
        { TARIFF_SECRET: 's' },
        true,
      ).webhooks,
    ).toEqual([{ deskId: 'tariff', url: 'https://hooks.example/t0k3n', secret: 's' }])
  })

  it('refuses a desk naming a rule the rules file does not have, in one line with the desk, the rule and its line', () => {
    // Taken, the desk silently got no alert of that rule (a typo, a rule renamed in the rules file).
    const text = scenarioDesks().replace(
      '    minSeverity: critical\n',
      '    minSeverity: critical\n    rules: [export_curb, export_crub]\n',
    )
    const file = desksFile(text)
    const line = text.split('\n').indexOf('    rules: [export_curb, export_crub]') + 1
    const err = refusal(file, {}, false, criticalRules('tariff_down', 'export_curb'))
    expect(err.code).toBe('CONFIG_INVALID')
    expect(err.message).toBe(
      `ALERTER_DESKS_FILE (${file}): desks[2].rules[1]: desk "risk" names rule "export_crub", which the rules file does not have, so the desk would get nothing of it (its rules: tariff_down, export_curb) (line ${line})`,
    )
    expect(
      loadDeskConfig(file, {}, false, criticalRules('export_crub', 'export_curb')).desks[2]!.rules,
    ).toEqual(['export_curb', 'export_crub'])
  })
})

describe('desksRefusingRules', () => {
  const desks = [
    { id: 'tariff', rules: ['tariff_up', 'tariff_down'], dimensions: ['tariff'], minSeverity: 'warning' },
    { id: 'risk', dimensions: ['tariff'], minSeverity: 'critical' },
  ] as Desk[]
  const ruleSet = (...rules: DeskRuleFacts[]) =>
    ({ version: '2', rulesVersion: '2+abc', rules }) as unknown as RuleSet
  const tariff = (id: string, severity: DeskRuleFacts['severity'] = 'warning'): DeskRuleFacts => ({
    id,
    dimensions: ['tariff'],
    severity,
  })

  it('refuses a reloaded rule set without a rule a desk names, naming the desks file, the desk and the rule', () => {
    expect(desksRefusingRules('/etc/desks.yaml', desks, ruleSet(tariff('tariff_up')))).toEqual([
      {
        path: '',
        message:
          'ALERTER_DESKS_FILE (/etc/desks.yaml) desks[0].rules[1]: desk "tariff" names rule "tariff_down", which the rules file does not have, so the desk would get nothing of it (its rules: tariff_up); the desks file is read at start only: keep the rule, or change both files and restart',
      },
    ])
    expect(
      desksRefusingRules('/etc/desks.yaml', desks, ruleSet(tariff('tariff_down'), tariff('tariff_up'))),
    ).toEqual([])
  })

  it("refuses one whose named rule no longer reaches the desk: its severity below the desk's minimum", () => {
    expect(
      desksRefusingRules(
        '/etc/desks.yaml',
        desks,
        ruleSet(tariff('tariff_down'), tariff('tariff_up', 'info')),
      ),
    ).toEqual([
      {
        path: '',
        message: expect.stringMatching(
          /^ALERTER_DESKS_FILE \(\/etc\/desks\.yaml\) desks\[0\]\.rules\[0\]: desk "tariff" names rule "tariff_up", whose alerts are info, below the desk's minSeverity warning, so the desk would get nothing of it; /,
        ),
      },
    ])
  })
})

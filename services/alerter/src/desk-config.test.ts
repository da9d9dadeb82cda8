import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Desk, type DeskRuleFacts, MAX_SECRET_ENV_CHARS, type RuleSet } from '@tradepulse/alerting'
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

  it('refuses at load a secretEnv longer than MAX_SECRET_ENV_CHARS, naming the desk, the field and its line, webhooks on or off', () => {
    const name = `TARIFF_${'S'.repeat(MAX_SECRET_ENV_CHARS - 6)}`
    const file = desksFile(scenarioDesks('https://hooks.example/tariff', name))
    const line = scenarioDesks().split('\n').indexOf('    minSeverity: info') + 4
    for (const enabled of [true, false]) {
      const err = refusal(file, { [name]: 'a-secret-of-24-bytes-ok!' }, enabled)
      expect(err.code).toBe('CONFIG_INVALID')
      expect(err.message).toBe(
        `ALERTER_DESKS_FILE (${file}): desks[0].webhook.secretEnv: desk "tariff" names a variable of ${MAX_SECRET_ENV_CHARS + 1} characters, and a secretEnv is at most ${MAX_SECRET_ENV_CHARS} (line ${line})`,
      )
    }
    const longest = name.slice(1)
    const taken = loadDeskConfig(
      desksFile(scenarioDesks('https://hooks.example/tariff', longest)),
      { [longest]: 'a-secret-of-24-bytes-ok!' },
      true,
    )
    expect(taken.webhooks).toEqual([
      { deskId: 'tariff', url: 'https://hooks.example/tariff', secret: 'a-secret-of-24-bytes-ok!' },
    ])
  })

  /** The tariff desk of the scenario with a webhook signed with TARIFF_SECRET, and the line of its secretEnv. */
  const hooked = () => {
    const text = scenarioDesks('https://hooks.example/tariff', 'TARIFF_SECRET')
    return { file: desksFile(text), line: text.split('\n').indexOf('      secretEnv: TARIFF_SECRET') + 1 }
  }

  it.each([
    ['white space only', '  \t\n ', 'which holds only white space'],
    ['a no-break space', '\u00a0', 'which holds only white space'],
    ['empty', '', 'which is set but empty'],
  ])(
    'refuses a webhook secret set to %s, naming the desk, the variable and its line, never the value',
    (_, secret, what) => {
      // Taken, every alert was signed with a blank HMAC key: a signature anyone could compute, so a receiver
      // checking it took forged alerts for ours. An empty one was said to be "not set".
      const { file, line } = hooked()
      const err = refusal(file, { TARIFF_SECRET: secret })
      expect(err.code).toBe('CONFIG_INVALID')
      expect(err.message).toBe(
        `ALERTER_DESKS_FILE (${file}): desks[0].webhook.secretEnv: desk "tariff" signs its webhook with TARIFF_SECRET, ${what}: anyone can sign with that, so its signatures would prove nothing (set it to a random secret of at least 16 bytes, or ALERTER_WEBHOOKS_ENABLED=false) (line ${line})`,
      )
      expect(err.message.split('\n')).toHaveLength(1)
      // Webhooks off, the secret is not read.
      expect(loadDeskConfig(file, { TARIFF_SECRET: secret }, false).webhooks).toEqual([])
    },
  )

  it('refuses a webhook secret variable that is not set, naming its line as the other desk errors do', () => {
    const { file, line } = hooked()
    expect(refusal(file, {}).message).toBe(
      `ALERTER_DESKS_FILE (${file}): desks[0].webhook.secretEnv: desk "tariff" signs its webhook with TARIFF_SECRET, which is not set (set it, or ALERTER_WEBHOOKS_ENABLED=false) (line ${line})`,
    )
  })

  it('takes a webhook secret under 16 bytes with a warning naming the desk, the variable and its line, never the value', () => {
    const { file, line } = hooked()
    const short = loadDeskConfig(file, { TARIFF_SECRET: 'hunter2-pw' }, true)
    expect(short.webhooks).toEqual([
      { deskId: 'tariff', url: 'https://hooks.example/tariff', secret: 'hunter2-pw' },
    ])
    expect(short.warnings).toEqual([
      `ALERTER_DESKS_FILE (${file}): desks[0].webhook.secretEnv: desk "tariff" signs its webhook with TARIFF_SECRET, which holds 10 bytes, under the 16 a secret should have: a secret that short can be guessed, and its alerts' signatures forged (use a random one, e.g. openssl rand -hex 32) (line ${line})`,
    ])
    expect(short.warnings.join()).not.toContain('hunter2')
    // Counted in UTF-8 bytes, as the HMAC key is: 5 characters of 3 bytes each are 15.
    expect(loadDeskConfig(file, { TARIFF_SECRET: '€€€€€' }, true).warnings[0]).toContain(
      'which holds 15 bytes',
    )
    for (const secret of ['0123456789abcdef', '€€€€€€'])
      expect(loadDeskConfig(file, { TARIFF_SECRET: secret }, true).warnings).toEqual([])
  })

  it('takes a plain http webhook URL to another machine with a warning naming the desk, its origin and line, never its path', () => {
    // Taken silently: the receiver's token in the path and every alert crossed the network in clear.
    const secret = 'a-secret-of-24-bytes-ok!'
    const load = (url: string) =>
      loadDeskConfig(desksFile(scenarioDesks(url, 'TARIFF_SECRET')), { TARIFF_SECRET: secret }, true)
    const line = scenarioDesks().split('\n').indexOf('    minSeverity: info') + 3
    for (const [url, origin] of [
      ['http://10.0.0.5/hooks/T000/B000/s3cr3t-t0k3n', 'http://10.0.0.5'],
      ['http://10.0.0.5:8080/hooks/T000/B000/s3cr3t-t0k3n?k=s3cr3t-t0k3n', 'http://10.0.0.5:8080'],
      ['http://hooks.example/s3cr3t-t0k3n', 'http://hooks.example'],
      ['http://localhost.hooks.example/s3cr3t-t0k3n', 'http://localhost.hooks.example'],
      ['http://[2001:db8::1]:81/s3cr3t-t0k3n', 'http://[2001:db8::1]:81'],
    ] as const) {
      const taken = load(url)
      expect(taken.webhooks, url).toEqual([{ deskId: 'tariff', url, secret }])
      expect(taken.warnings, url).toEqual([
        `ALERTER_DESKS_FILE (${dirs.at(-1)}/desks.yaml): desks[0].webhook.url: desk "tariff" sends its webhook to ${origin} over plain http: its URL (a token in its path with it) and every alert cross the network unencrypted, readable and changeable on the way (use https) (line ${line})`,
      ])
      expect(taken.warnings.join(), url).not.toContain('s3cr3t')
    }
    // https anywhere, plain http to this machine: no warning.
    for (const url of [
      'https://10.0.0.5/hooks/s3cr3t-t0k3n',
      'https://hooks.example/s3cr3t-t0k3n',
      'http://127.0.0.1:8080/hook',
      'http://127.1.2.3/hook',
      'http://localhost:8080/hook',
      'http://LOCALHOST/hook',
      'http://[::1]:8080/hook',
      'http://[::ffff:127.0.0.1]/hook',
    ])
      expect(load(url).warnings, url).toEqual([])
    // Webhooks off, nothing is sent: no warning.
    expect(
      loadDeskConfig(desksFile(scenarioDesks('http://10.0.0.5/hooks/s3cr3t', 'TARIFF_SECRET')), {}, false)
        .warnings,
    ).toEqual([])
  })

  it("names the variable, the file and why it cannot be read, in the rules file's form", () => {
    // It said `ENOENT: no such file or directory, open '…'`, the path twice, where the rules file says why.
    const missing = join(desksFile('version: "1"\ndesks: []\n'), '..', 'missing.yaml')
    const err = refusal(missing, {})
    expect(err.code).toBe('CONFIG_INVALID')
    expect(err.message).toBe(`ALERTER_DESKS_FILE (${missing}): cannot read it: no such file`)
    const dir = join(missing, '..')
    expect(refusal(dir, {}).message).toBe(
      `ALERTER_DESKS_FILE (${dir}): cannot read it: a directory, not a file`,
    )
  })

  it('refuses a desk listing a dimension or a rule twice, naming the desk, the value and its line', () => {
    // Taken silently; most likely a slip for another value the desk then never got.
    const text = scenarioDesks()
      .replace(
        '    dimensions: [supplyChain, tariff]\n',
        '    dimensions: [supplyChain, tariff, supplyChain]\n',
      )
      .replace(
        '    minSeverity: critical\n',
        '    minSeverity: critical\n    rules:\n      - export_curb\n      - export_curb\n',
      )
    const file = desksFile(text)
    const lines = text.split('\n')
    const err = refusal(file, {}, false, criticalRules('export_curb'))
    expect(err.message).toBe(
      `ALERTER_DESKS_FILE (${file}): desks[1].dimensions[2]: desk "supply" lists dimension "supplyChain" twice (first at desks[1].dimensions[0]): list each dimension once (line ${lines.indexOf('    dimensions: [supplyChain, tariff, supplyChain]') + 1}); desks[2].rules[1]: desk "risk" lists rule "export_curb" twice (first at desks[2].rules[0]): list each rule once (line ${lines.lastIndexOf('      - export_curb') + 1})`,
    )
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

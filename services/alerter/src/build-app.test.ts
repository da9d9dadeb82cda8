import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  BaseConfig,
  createCapturingLogger,
  createMemoryBus,
  createMemoryTransport,
  type LogLine,
  loadConfig,
  takeUnknownVariables,
} from '@tradepulse/platform'
import { spawnWorker } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { buildAlerterApp } from './build-app.ts'
import { AlerterConfig } from './config.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'

const rule = (id: string) =>
  `  - id: ${id}\n    kind: headline_shock\n    dimensions: [tariff]\n    threshold: 0.5\n    severity: info\n`
const rulesOf = (...ids: string[]) => `version: "1"\nrules:\n${ids.map(rule).join('')}`
const DESKS = 'version: "1"\ndesks:\n  - id: tariff\n    rules: [tariff_up, tariff_down]\n'

/** The alerter built (not started) on an in-memory bus and store, over a rules and a desks file. */
function build(rules: string, desks: string, webhooks?: { env: Record<string, string> }) {
  const dir = mkdtempSync(join(tmpdir(), 'alerter-app-'))
  writeFileSync(join(dir, 'rules.yaml'), rules)
  writeFileSync(join(dir, 'desks.yaml'), desks)
  const config = loadConfig(AlerterConfig, {
    KAFKA_BROKERS: '127.0.0.1:1',
    REDIS_URL: 'redis://127.0.0.1:1',
    HTTP_PORT: '0',
    ALERTER_RULES_FILE: join(dir, 'rules.yaml'),
    ALERTER_DESKS_FILE: join(dir, 'desks.yaml'),
    ALERTER_WEBHOOKS_ENABLED: webhooks ? 'true' : 'false',
    ...webhooks?.env,
  })
  const { log, lines } = createCapturingLogger<LogLine & { level: number }>()
  const make = () =>
    buildAlerterApp(config, {
      log,
      transport: createMemoryTransport(createMemoryBus()),
      store: createMemoryAlertStore({ dedupWindowMs: 60_000, clock: { now: () => Date.now() } }),
      ...(webhooks ? { env: webhooks.env } : {}),
    })
  return { dir, config, lines, make }
}

/**
 * The alerter's main run as a process over the rules and desks files of `config` (and `env`), at addresses
 * that answer nothing, logging warnings and worse.
 */
function spawnMain(
  config: Pick<AlerterConfig, 'ALERTER_RULES_FILE' | 'ALERTER_DESKS_FILE'>,
  env: Record<string, string> = {},
) {
  return spawnWorker('services/alerter/src/main.ts', {
    KAFKA_BROKERS: '127.0.0.1:1',
    REDIS_URL: 'redis://127.0.0.1:1',
    HTTP_PORT: '0',
    ALERTER_RULES_FILE: config.ALERTER_RULES_FILE,
    ALERTER_DESKS_FILE: config.ALERTER_DESKS_FILE,
    LOG_LEVEL: 'warn',
    ...env,
  })
}

describe('the alerter app on desks naming rules', () => {
  it('refuses at start a desks file naming a rule the rules file does not have', () => {
    const { config, make } = build(rulesOf('tariff_up'), DESKS)
    expect(make).toThrow(
      `ALERTER_DESKS_FILE (${config.ALERTER_DESKS_FILE}): desks[0].rules[1]: desk "tariff" names rule "tariff_down", which the rules file does not have, so the desk would get nothing of it (its rules: tariff_up) (line 4)`,
    )
  })

  it('refuses a rules reload that drops a rule a desk names; the running rules stay', () => {
    const { config, lines, make } = build(rulesOf('tariff_up', 'tariff_down'), DESKS)
    const app = make()
    const before = app.rules.current().rulesVersion
    writeFileSync(config.ALERTER_RULES_FILE, rulesOf('tariff_up', 'tariff_surge'))
    expect(app.reloadRules()).toMatchObject({ result: 'invalid' })
    expect(app.rules.current().rulesVersion).toBe(before)
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([
      `rules file refused, the running rules stay in force: ALERTER_DESKS_FILE (${config.ALERTER_DESKS_FILE}) desks[0].rules[1]: desk "tariff" names rule "tariff_down", which the rules file does not have, so the desk would get nothing of it (its rules: tariff_up, tariff_surge); the desks file is read at start only: keep the rule, or change both files and restart`,
    ])
    // A rules file keeping both is taken.
    writeFileSync(config.ALERTER_RULES_FILE, rulesOf('tariff_down', 'tariff_up', 'tariff_surge'))
    expect(app.reloadRules()).toMatchObject({ result: 'ok', rules: 3 })
  })
})

describe('the alerter process (its main) on a desks file naming an unknown rule', () => {
  it('exits 78 with one line naming the desk, the rule and its line, before connecting to anything', async () => {
    // The addresses answer nothing: the files are refused before any connection is tried.
    const { config } = build(rulesOf('tariff_up'), DESKS)
    const worker = spawnMain(config)
    const { code } = await worker.exited
    expect(code, worker.output()).toBe(78)
    expect(worker.output()).toBe(
      `tradepulse: ALERTER_DESKS_FILE (${config.ALERTER_DESKS_FILE}): desks[0].rules[1]: desk "tariff" names rule "tariff_down", which the rules file does not have, so the desk would get nothing of it (its rules: tariff_up) (line 4)\n`,
    )
  })
})

const HOOKED_DESKS = `version: "1"
desks:
  - id: tariff
    webhook:
      url: https://hooks.example/tariff
      secretEnv: TARIFF_SECRET
`

describe('the alerter on a desk webhook secret', () => {
  it('warns at start, in one line naming the desk, the variable and its line, of a secret under 16 bytes', () => {
    const { config, lines, make } = build(rulesOf('tariff_up'), HOOKED_DESKS, {
      env: { TARIFF_SECRET: 'pw-1234' },
    })
    make()
    const warnings = lines.filter((l) => l.level === 40)
    expect(warnings.map((l) => l.msg)).toEqual([
      `ALERTER_DESKS_FILE (${config.ALERTER_DESKS_FILE}): desks[0].webhook.secretEnv: desk "tariff" signs its webhook with TARIFF_SECRET, which holds 7 bytes, under the 16 a secret should have: a secret that short can be guessed, and its alerts' signatures forged (use a random one, e.g. openssl rand -hex 32) (line 6)`,
    ])
    expect(JSON.stringify(lines)).not.toContain('pw-1234')
    const long = build(rulesOf('tariff_up'), HOOKED_DESKS, { env: { TARIFF_SECRET: 'x'.repeat(32) } })
    long.make()
    expect(long.lines.filter((l) => l.level >= 40)).toEqual([])
  })

  it('exits 78 at start with one line naming the desk, the variable and its line for a white-space secret, never the value', async () => {
    // Taken, its alerts were signed with a blank HMAC key: signatures anyone could forge.
    const { config } = build(rulesOf('tariff_up'), HOOKED_DESKS)
    const worker = spawnMain(config, { TARIFF_SECRET: ' \t ' })
    const { code } = await worker.exited
    expect(code, worker.output()).toBe(78)
    expect(worker.output()).toBe(
      `tradepulse: ALERTER_DESKS_FILE (${config.ALERTER_DESKS_FILE}): desks[0].webhook.secretEnv: desk "tariff" signs its webhook with TARIFF_SECRET, which holds only white space: anyone can sign with that, so its signatures would prove nothing (set it to a random secret of at least 16 bytes, or ALERTER_WEBHOOKS_ENABLED=false) (line 6)\n`,
    )
  })
})

describe('the alerter and the unknown variables', () => {
  it("takes the variables the desks file names as declared: a secret named like a worker's variable is not warned of", () => {
    // ALERTER_TARIFF_KEY has the alerter's prefix and no SECRET in it: the worker warned at start
    // "unknown variable ALERTER_TARIFF_KEY (no worker reads it)" of the variable it reads its secret from.
    takeUnknownVariables()
    const desks = HOOKED_DESKS.replace('TARIFF_SECRET', 'ALERTER_TARIFF_KEY')
    const { make } = build(rulesOf('tariff_up'), desks, {
      env: { ALERTER_TARIFF_KEY: 'x'.repeat(32), ALERTER_PAGER: 'x' },
    })
    make()
    // A misspelt variable beside it is still warned of.
    expect(takeUnknownVariables().map((u) => u.line)).toEqual([
      'unknown variable ALERTER_PAGER (no worker reads it)',
    ])
    // A configuration loaded later in the process (`tradepulse start` loads each worker's) knows it too.
    loadConfig(BaseConfig, { ALERTER_TARIFF_KEY: 'x'.repeat(32), ALERTER_OTHER_KEY: 'x' })
    expect(takeUnknownVariables().map((u) => u.line)).toEqual([
      'unknown variable ALERTER_OTHER_KEY (no worker reads it)',
    ])
  })

  it('declares them with webhooks off too (the variable is set for when they are on)', () => {
    takeUnknownVariables()
    const desks = HOOKED_DESKS.replace('TARIFF_SECRET', 'ALERTER_EMEA_HMAC')
    const dir = mkdtempSync(join(tmpdir(), 'alerter-app-'))
    writeFileSync(join(dir, 'rules.yaml'), rulesOf('tariff_up'))
    writeFileSync(join(dir, 'desks.yaml'), desks)
    const config = loadConfig(AlerterConfig, {
      KAFKA_BROKERS: '127.0.0.1:1',
      REDIS_URL: 'redis://127.0.0.1:1',
      ALERTER_RULES_FILE: join(dir, 'rules.yaml'),
      ALERTER_DESKS_FILE: join(dir, 'desks.yaml'),
      ALERTER_WEBHOOKS_ENABLED: 'false',
      ALERTER_EMEA_HMAC: 'x'.repeat(32),
    })
    buildAlerterApp(config, {
      log: createCapturingLogger().log,
      transport: createMemoryTransport(createMemoryBus()),
      store: createMemoryAlertStore({ dedupWindowMs: 60_000, clock: { now: () => Date.now() } }),
    })
    expect(takeUnknownVariables()).toEqual([])
  })
})

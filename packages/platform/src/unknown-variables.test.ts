import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { BaseConfig, loadConfig } from './config.ts'
import { DECLARED_VARIABLES } from './declared-variables.ts'
import {
  closestDeclared,
  declareVariables,
  editDistance,
  NOT_WORKER_VARIABLES,
  secretEnvNames,
  takeUnknownVariables,
  unknownVariableWarnings,
} from './unknown-variables.ts'

const ROOT = join(import.meta.dirname, '..', '..', '..')

const lines = (env: Record<string, string>) => unknownVariableWarnings(env).map((u) => u.line)

describe('unknownVariableWarnings', () => {
  it('names a misspelt variable with the declared one it probably meant', () => {
    expect(
      unknownVariableWarnings({
        GATEWAY_MAX_STREAM: '50',
        AGGREGATOR_GRACE: '60000',
        SCORER_WATCHLIST: 'x.yaml',
        ALERTER_DEDUP_WINDOW_MSS: '1',
        INGEST_MAX_RECROD_BYTES: '1',
        TRADEPULSE_TOPIC_PERFIX: 'a.',
        SHUTDOWN_DEADLINE: '1',
      }),
    ).toEqual([
      {
        name: 'AGGREGATOR_GRACE',
        suggestion: 'AGGREGATOR_GRACE_MS',
        line: 'unknown variable AGGREGATOR_GRACE (did you mean AGGREGATOR_GRACE_MS?)',
      },
      {
        name: 'ALERTER_DEDUP_WINDOW_MSS',
        suggestion: 'ALERTER_DEDUP_WINDOW_MS',
        line: 'unknown variable ALERTER_DEDUP_WINDOW_MSS (did you mean ALERTER_DEDUP_WINDOW_MS?)',
      },
      {
        name: 'GATEWAY_MAX_STREAM',
        suggestion: 'GATEWAY_MAX_STREAMS',
        line: 'unknown variable GATEWAY_MAX_STREAM (did you mean GATEWAY_MAX_STREAMS?)',
      },
      {
        name: 'INGEST_MAX_RECROD_BYTES',
        suggestion: 'INGEST_MAX_RECORD_BYTES',
        line: 'unknown variable INGEST_MAX_RECROD_BYTES (did you mean INGEST_MAX_RECORD_BYTES?)',
      },
      {
        name: 'SCORER_WATCHLIST',
        suggestion: 'SCORER_WATCHLIST_FILE',
        line: 'unknown variable SCORER_WATCHLIST (did you mean SCORER_WATCHLIST_FILE?)',
      },
      {
        name: 'SHUTDOWN_DEADLINE',
        suggestion: 'SHUTDOWN_DEADLINE_MS',
        line: 'unknown variable SHUTDOWN_DEADLINE (did you mean SHUTDOWN_DEADLINE_MS?)',
      },
      {
        name: 'TRADEPULSE_TOPIC_PERFIX',
        suggestion: 'TRADEPULSE_TOPIC_PREFIX',
        line: 'unknown variable TRADEPULSE_TOPIC_PERFIX (did you mean TRADEPULSE_TOPIC_PREFIX?)',
      },
    ])
  })

  it('names one with no declared variable close without a guess', () => {
    expect(lines({ GATEWAY_COLOUR: 'blue', ALERTER_PAGER: 'x' })).toEqual([
      'unknown variable ALERTER_PAGER (no worker reads it)',
      'unknown variable GATEWAY_COLOUR (no worker reads it)',
    ])
  })

  it("knows every worker's variables: one worker's set for all does not warn in another", () => {
    const env = Object.fromEntries(DECLARED_VARIABLES.map((n) => [n, '1']))
    expect(lines(env)).toEqual([])
  })

  it('leaves alone variables of other prefixes, unset ones, and values (never shown)', () => {
    expect(
      lines({
        PATH: '/bin',
        NODE_ENV: 'production',
        NODE_OPTIONS: '--max-old-space-size=512',
        BENCH_PIPELINE_RATE: '5',
        TP_INFRA_DIR: '/tmp/x',
        CI: 'true',
        GATEWAY_MAX_STREAM: '',
        ALERTER_RULE: '  ',
        gateway_max_stream: '5',
      }),
    ).toEqual([])
    expect(lines({ GATEWAY_MAX_STREAM: 'hunter2' }).join()).not.toContain('hunter2')
  })

  it('warns under prefixes other software shares (KAFKA_, REDIS_, HTTP_, LOG_) only of a near miss', () => {
    expect(
      lines({
        // The Kafka images read every KAFKA_* as a broker setting; Kafka's scripts read these.
        KAFKA_NODE_ID: '1',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092',
        KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://kafka:9092',
        KAFKA_HEAP_OPTS: '-Xmx1G',
        KAFKA_OPTS: '-Dx=y',
        KAFKA_HOME: '/opt/kafka',
        KAFKA_CFG_NODE_ID: '1',
        KAFKA_BROKER_ID: '1',
        REDIS_VERSION: '7.4.0',
        REDIS_TLS_URL: 'rediss://h:6380',
        REDIS_HOST: 'redis',
        REDIS_PASSWORD: 'pw',
        HTTP_PROXY: 'http://proxy:3128',
        HTTPS_PROXY: 'http://proxy:3128',
        LOG_FORMAT: 'json',
        LOG_DIR: '/var/log',
      }),
    ).toEqual([])
    expect(
      lines({ KAFKA_BROKER: 'k:9092', REDIS_ULR: 'redis://r:6379', LOG_LEVL: 'debug', HTTP_PROT: '9400' }),
    ).toEqual([
      'unknown variable HTTP_PROT (did you mean HTTP_PORT?)',
      'unknown variable KAFKA_BROKER (did you mean KAFKA_BROKERS?)',
      'unknown variable LOG_LEVL (did you mean LOG_LEVEL?)',
      'unknown variable REDIS_ULR (did you mean REDIS_URL?)',
    ])
  })

  it("leaves alone Kubernetes service links, webhook secrets and the project's own tooling's variables", () => {
    expect(
      lines({
        // A Service named gateway (or kafka, redis) puts these in every pod of its namespace.
        GATEWAY_SERVICE_HOST: '10.96.0.5',
        GATEWAY_SERVICE_PORT: '9400',
        GATEWAY_SERVICE_PORT_HTTP: '9400',
        GATEWAY_PORT: 'tcp://10.96.0.5:9400',
        GATEWAY_PORT_9400_TCP: 'tcp://10.96.0.5:9400',
        GATEWAY_PORT_9400_TCP_PROTO: 'tcp',
        GATEWAY_PORT_9400_TCP_PORT: '9400',
        GATEWAY_PORT_9400_TCP_ADDR: '10.96.0.5',
        KAFKA_PORT: 'tcp://10.96.0.7:9092',
        REDIS_PORT: 'tcp://10.96.0.8:6379',
        REDIS_SERVICE_HOST: '10.96.0.8',
        // The desks file names its webhooks' key variables (webhook.secretEnv), any name it likes.
        TRADEPULSE_WEBHOOK_SECRET_TARIFF: 'k',
        ALERTER_DESK_SECRET: 'k',
        ...Object.fromEntries(NOT_WORKER_VARIABLES.map((n) => [n, '1'])),
      }),
    ).toEqual([])
    // A port given as a number is no service link: a wrong name for HTTP_PORT.
    expect(lines({ GATEWAY_PORT: '9400' })).toEqual(['unknown variable GATEWAY_PORT (no worker reads it)'])
  })

  it('does not warn of any variable the README, docker-compose, the Dockerfile, .ci, scripts, the test harness or the desks file set', () => {
    const files = [
      'README.md',
      'docker-compose.yml',
      'Dockerfile',
      '.ci/run',
      ...readdirSync(join(ROOT, 'scripts'), { recursive: true, encoding: 'utf8' }).map((f) => `scripts/${f}`),
      ...readdirSync(join(ROOT, 'packages/testing/src')).map((f) => `packages/testing/src/${f}`),
      'packages/alerting/rules/desks.yaml',
    ]
    const names = new Set<string>()
    for (const file of files) {
      let text: string
      try {
        text = readFileSync(join(ROOT, file), 'utf8')
      } catch {
        continue // a directory
      }
      // The README shows warnings as they are logged, a misspelt name in them on purpose.
      text = text.replace(/unknown variable [A-Z0-9_]+(?: \(did you mean [A-Z0-9_]+\?\))?/g, '')
      for (const m of text.matchAll(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b/g)) names.add(m[0])
    }
    // Sanity: the scan sees what it must.
    for (const n of ['GATEWAY_HOST_PORTS', 'KAFKA_HOST_PORT', 'TRADEPULSE_TEST_RUN', 'KAFKA_NODE_ID'])
      expect(names, n).toContain(n)
    expect(lines(Object.fromEntries([...names].map((n) => [n, 'x'])))).toEqual([])
  })
})

describe('secretEnvNames', () => {
  it("finds the shipped desks file's webhook secret variables, and no word of its comments", () => {
    const text = readFileSync(join(ROOT, 'packages/alerting/rules/desks.yaml'), 'utf8')
    expect(secretEnvNames(text)).toEqual([
      'TRADEPULSE_WEBHOOK_SECRET_TARIFF',
      'TRADEPULSE_WEBHOOK_SECRET_SUPPLY_CHAIN',
    ])
  })
  it('takes a name only whole, in upper case, as the desks schema does', () => {
    expect(
      secretEnvNames('secretEnv: desk_key\nsecretEnv: DESK_Key\n"secretEnv":"A_1" secretEnv:\tB'),
    ).toEqual(['A_1', 'B'])
  })
  it('takes no name longer than the desks schema allows (128 characters: the alerter refuses the file)', () => {
    const longest = `K${'_'.repeat(127)}`
    expect(
      secretEnvNames(`secretEnv: ${longest}\nsecretEnv: ${longest}X\nsecretEnv: ${'A'.repeat(1_000_000)}`),
    ).toEqual([longest])
  })
})

describe('closestDeclared and editDistance', () => {
  it('counts a swap of two neighbours as one edit', () => {
    expect(editDistance('RECROD', 'RECORD')).toBe(1)
    expect(editDistance('', 'ABC')).toBe(3)
    expect(editDistance('KAFKA_BROKER', 'KAFKA_BROKERS')).toBe(1)
  })
  it('takes the closest, and a name with a part more or less at its end', () => {
    const declared = ['GATEWAY_MAX_STREAMS', 'GATEWAY_MAX_STREAMS_PER_CLIENT', 'AGGREGATOR_GRACE_MS']
    expect(closestDeclared('GATEWAY_MAX_STREAMS_PER_CLIEN', declared)).toBe('GATEWAY_MAX_STREAMS_PER_CLIENT')
    expect(closestDeclared('GATEWAY_MAX_STREAMS_TOTAL', declared)).toBe('GATEWAY_MAX_STREAMS')
    expect(closestDeclared('AGGREGATOR_GRACE', declared)).toBe('AGGREGATOR_GRACE_MS')
    expect(closestDeclared('AGGREGATOR_GRACE', declared, true)).toBeUndefined()
    expect(closestDeclared('GATEWAY_FOO', declared)).toBeUndefined()
  })
})

describe('loadConfig and the unknown variables', () => {
  it('notes each unknown variable once per process, whatever the configurations loaded', () => {
    takeUnknownVariables()
    const env = { GATEWAY_MAX_STREAM: '5', AGGREGATOR_GRACE_MS: '1000', KAFKA_HEAP_OPTS: '-Xmx1G' }
    loadConfig(BaseConfig, env)
    loadConfig(BaseConfig.pick({ LOG_LEVEL: true }), env)
    expect(takeUnknownVariables().map((u) => u.line)).toEqual([
      'unknown variable GATEWAY_MAX_STREAM (did you mean GATEWAY_MAX_STREAMS?)',
    ])
    loadConfig(BaseConfig, env)
    expect(takeUnknownVariables()).toEqual([])
  })
  it('knows the variables a file the process loaded names (declareVariables), noted before or after', () => {
    // The desks file names its webhooks' secret variables as it likes: ALERTER_EMEA_KEY was warned of
    // as unknown by the alerter that reads it.
    takeUnknownVariables()
    const env = { ALERTER_EMEA_KEY: 'k', ALERTER_APAC_KEY: 'k', ALERTER_PAGER: 'x' }
    loadConfig(BaseConfig, env)
    declareVariables(['ALERTER_EMEA_KEY', 'ALERTER_APAC_KEY'])
    loadConfig(BaseConfig, env)
    expect(takeUnknownVariables().map((u) => u.line)).toEqual([
      'unknown variable ALERTER_PAGER (no worker reads it)',
    ])
  })
  it('knows in every worker the secret variables the desks file ALERTER_DESKS_FILE names, however named', () => {
    // One env file for every worker: the alerter signs with ALERTER_TARIFF_KEY (its desks file names it),
    // and the scorer, ingest, aggregator and gateway, which do not read that file, warned at start
    // "unknown variable ALERTER_TARIFF_KEY (no worker reads it)".
    const dir = mkdtempSync(join(tmpdir(), 'unknown-variables-'))
    const yaml = join(dir, 'desks.yaml')
    writeFileSync(
      yaml,
      `version: "1"
desks:
  - id: tariff
    webhook:
      url: https://hooks.example.com/t
      secretEnv: ALERTER_TARIFF_KEY
  - id: emea
    webhook: { url: "https://hooks.example.com/e", secretEnv: "GATEWAY_EMEA_HMAC" }
  - id: apac
    webhook:
      url: https://hooks.example.com/a
      'secretEnv': 'INGEST_APAC_TOKEN' # quoted
`,
    )
    takeUnknownVariables()
    loadConfig(BaseConfig, {
      ALERTER_DESKS_FILE: yaml,
      ALERTER_TARIFF_KEY: 'k',
      GATEWAY_EMEA_HMAC: 'k',
      INGEST_APAC_TOKEN: 'k',
      ALERTER_PAGE_URL: 'x',
    })
    // A misspelt variable beside them is still warned of.
    expect(takeUnknownVariables().map((u) => u.line)).toEqual([
      'unknown variable ALERTER_PAGE_URL (no worker reads it)',
    ])
    // A JSON desks file alike.
    const json = join(dir, 'desks.json')
    writeFileSync(
      json,
      JSON.stringify({
        version: '1',
        desks: [{ id: 'fx', webhook: { url: 'https://hooks.example.com/f', secretEnv: 'SCORER_FX_KEY' } }],
      }),
    )
    loadConfig(BaseConfig, { ALERTER_DESKS_FILE: json, SCORER_FX_KEY: 'k' })
    expect(takeUnknownVariables()).toEqual([])
  })
  it('warns as before when ALERTER_DESKS_FILE is not set, or names no file it can read (never a refusal)', () => {
    takeUnknownVariables()
    loadConfig(BaseConfig, { SCORER_NL_KEY: 'k' })
    const dir = mkdtempSync(join(tmpdir(), 'unknown-variables-'))
    loadConfig(BaseConfig, { ALERTER_DESKS_FILE: join(dir, 'missing.yaml'), SCORER_BE_KEY: 'k' })
    loadConfig(BaseConfig, { ALERTER_DESKS_FILE: dir, SCORER_LU_KEY: 'k' })
    expect(takeUnknownVariables().map((u) => u.line)).toEqual([
      'unknown variable SCORER_NL_KEY (no worker reads it)',
      'unknown variable SCORER_BE_KEY (no worker reads it)',
      'unknown variable SCORER_LU_KEY (no worker reads it)',
    ])
  })
  it("knows the loaded schema's own variables, and notes nothing for a configuration refused", () => {
    takeUnknownVariables()
    loadConfig(z.object({ ...BaseConfig.shape, GATEWAY_NEW_SETTING: z.string() }), {
      GATEWAY_NEW_SETTING: 'x',
    })
    expect(takeUnknownVariables()).toEqual([])
    expect(() => loadConfig(BaseConfig, { HTTP_PORT: 'x', INGEST_TYPO: '1' })).toThrow(/HTTP_PORT/)
    expect(takeUnknownVariables()).toEqual([])
  })
})

import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryBus } from './bus/memory-bus.ts'
import { createMemoryTransport } from './bus/memory-transport.ts'
import { BaseConfig, loadConfig } from './config.ts'
import { TradepulseError } from './errors.ts'
import { createKafkaWorker, type KafkaWorkerSpec } from './kafka-worker.ts'
import { EXIT_CONFIG } from './lifecycle.ts'
import { createCapturingLogger } from './logger.ts'

const index = fileURLToPath(new URL('./index.ts', import.meta.url))

// A worker's main as every service writes it (loadConfig, createKafkaWorker, runUntilSignal, exitOnFatal),
// on the in-memory bus: what is checked is the start, not the bus.
const main = `
  import { BaseConfig, createKafkaWorker, createLogger, createMemoryBus, createMemoryTransport, exitOnFatal, loadConfig, runUntilSignal } from ${JSON.stringify(index)}
  try {
    const config = loadConfig(BaseConfig, process.env)
    const log = createLogger({ level: config.LOG_LEVEL, pretty: false, name: 'probe' })
    const bus = createMemoryBus()
    bus.createTopic('in', 1)
    const app = createKafkaWorker({ worker: 'probe', config, log, inputTopics: ['in'], dlqTopic: 'in', defaultHttpPort: 0, handler: async (rs) => rs.map(() => ({ kind: 'ok' })), transport: createMemoryTransport(bus) })
    await runUntilSignal(app, log, config.SHUTDOWN_DEADLINE_MS).catch((err) => exitOnFatal(err, log))
  } catch (err) {
    exitOnFatal(err)
  }
`

/**
 * Runs the worker with `env` until it exits; once it says it started, it is sent SIGTERM (a worker that
 * started must still stop cleanly, exit 0). Resolves with its exit code and output.
 */
function runWorker(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', main], {
    env: { PATH: process.env.PATH ?? '', LOG_PRETTY: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  let signalled = false
  const take = (d: Buffer) => {
    output += d
    if (!signalled && output.includes('probe started')) {
      signalled = true
      child.kill('SIGTERM')
    }
  }
  child.stdout.on('data', take)
  child.stderr.on('data', take)
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(killer)
      resolve({ code, output })
    }),
  )
}

/** An in-memory bus with the topic `in` (one partition). */
function memoryBusWithIn() {
  const bus = createMemoryBus()
  bus.createTopic('in', 1)
  return bus
}

/**
 * A worker on `bus` (a fresh one by default) reading `in` and dead-lettering to it, handling every record
 * ok, with `spec` over that.
 */
function memoryWorker(
  spec: Pick<KafkaWorkerSpec, 'worker' | 'config' | 'log'> & Partial<KafkaWorkerSpec>,
  bus = memoryBusWithIn(),
) {
  return createKafkaWorker({
    inputTopics: ['in'],
    dlqTopic: 'in',
    defaultHttpPort: 0,
    handler: async (rs) => rs.map(() => ({ kind: 'ok' as const })),
    transport: createMemoryTransport(bus),
    ...spec,
  })
}

/** The lines of `output` that name `variable`. */
const naming = (output: string, variable: string) => output.split('\n').filter((l) => l.includes(variable))

describe('a worker that cannot start as configured', () => {
  let taken: Server | undefined
  afterEach(async () => {
    await new Promise((r) => (taken ? taken.close(r) : r(undefined)))
    taken = undefined
  })

  it('exits 78 with one line naming HTTP_PORT when the port is in use', async () => {
    taken = createServer()
    const port = await new Promise<number>((resolve) =>
      taken!.listen(0, '127.0.0.1', () => resolve((taken!.address() as { port: number }).port)),
    )
    const { code, output } = await runWorker({ HTTP_PORT: String(port) })
    expect(code, output).toBe(EXIT_CONFIG)
    expect(naming(output, 'HTTP_PORT'), output).toEqual([
      `tradepulse: invalid configuration: HTTP_PORT=${port}: the port is in use on 127.0.0.1 (listen EADDRINUSE: address already in use 127.0.0.1:${port}); set HTTP_PORT to a free port, or 0 for any`,
    ])
  })

  it('exits 78 with one line naming HTTP_HOST when the host cannot be looked up, not blaming Redis', async () => {
    const { code, output } = await runWorker({ HTTP_HOST: 'not a host!', HTTP_PORT: '0' })
    expect(code, output).toBe(EXIT_CONFIG)
    expect(output).not.toMatch(/Redis|REDIS_URL/)
    expect(naming(output, 'HTTP_HOST'), output).toEqual([
      expect.stringMatching(
        /^tradepulse: invalid configuration: HTTP_HOST="not a host!": the host cannot be looked up \(getaddrinfo (ENOTFOUND|EAI_AGAIN) not a host!\)/,
      ),
    ])
  })

  it('exits 78 naming SHUTDOWN_DEADLINE_MS past the longest timer, where its stop "exceeded" it at once', async () => {
    const { code, output } = await runWorker({ HTTP_PORT: '0', SHUTDOWN_DEADLINE_MS: '3000000000' })
    expect(output).not.toContain('graceful stop exceeded its deadline')
    expect(code, output).toBe(EXIT_CONFIG)
    expect(naming(output, 'SHUTDOWN_DEADLINE_MS')).toEqual([
      '  SHUTDOWN_DEADLINE_MS: at most 2147483647 ms (about 24.8 days), the longest timer Node keeps (got "3000000000")',
    ])
  })

  it('starts and stops cleanly when nothing is wrong', async () => {
    const { code, output } = await runWorker({ HTTP_PORT: '0' })
    expect(output).toContain('stopped cleanly')
    expect(code, output).toBe(0)
  })
})

describe('a worker started with variables that look like ours but that no worker reads', () => {
  it('warns of each once at its start, naming the declared variable it probably meant, and still starts', async () => {
    // Before: GATEWAY_MAX_STREAM (for GATEWAY_MAX_STREAMS) was ignored without a word.
    const { code, output } = await runWorker({
      HTTP_PORT: '0',
      GATEWAY_MAX_STREAM: '50',
      AGGREGATOR_GRACE: '60000',
      // Another worker's variable, set for all, and a Kafka image's: no warning.
      AGGREGATOR_MAX_AHEAD_MS: '1000',
      KAFKA_HEAP_OPTS: '-Xmx1G',
    })
    expect(code, output).toBe(0)
    const warned = output
      .split('\n')
      .filter((l) => l.includes('unknown variable'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; variable: string; suggestion?: string })
    expect(warned, output).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'unknown variable AGGREGATOR_GRACE (did you mean AGGREGATOR_GRACE_MS?)',
        variable: 'AGGREGATOR_GRACE',
        suggestion: 'AGGREGATOR_GRACE_MS',
      }),
      expect.objectContaining({
        level: 40,
        msg: 'unknown variable GATEWAY_MAX_STREAM (did you mean GATEWAY_MAX_STREAMS?)',
        variable: 'GATEWAY_MAX_STREAM',
        suggestion: 'GATEWAY_MAX_STREAMS',
      }),
    ])
    expect(naming(output, 'AGGREGATOR_MAX_AHEAD_MS'), output).toEqual([])
    expect(naming(output, 'KAFKA_HEAP_OPTS'), output).toEqual([])
    expect(output).toContain('stopped cleanly')
  })

  it("knows the webhook secret variables of the alerter's desks file, in the alerter's environment", async () => {
    // One env file for every worker: ALERTER_TARIFF_KEY, which the alerter signs the tariff desk's
    // webhook with (ALERTER_DESKS_FILE names it), was warned of at the start of every other worker as
    // "unknown variable ALERTER_TARIFF_KEY (no worker reads it)".
    const dir = mkdtempSync(join(tmpdir(), 'kafka-worker-'))
    const desks = join(dir, 'desks.yaml')
    writeFileSync(
      desks,
      'version: "1"\ndesks:\n  - id: tariff\n    webhook:\n      url: https://hooks.example.com/t\n      secretEnv: ALERTER_TARIFF_KEY\n',
    )
    const { code, output } = await runWorker({
      HTTP_PORT: '0',
      ALERTER_DESKS_FILE: desks,
      ALERTER_TARIFF_KEY: 'x'.repeat(32),
      ALERTER_PAGER: 'x',
    })
    expect(code, output).toBe(0)
    expect(naming(output, 'ALERTER_TARIFF_KEY'), output).toEqual([])
    expect(naming(output, 'ALERTER_PAGER'), output).toHaveLength(1)
    expect(output).toContain('stopped cleanly')
  })

  it('says it once in a process that runs several workers (the embedded default)', async () => {
    const env = { HTTP_PORT: '0', INGEST_MAX_RECORD_BYTE: '1000' }
    const bus = memoryBusWithIn()
    const { log, lines } = createCapturingLogger()
    const apps = ['ingest', 'scorer'].map((worker) =>
      memoryWorker({ worker, config: loadConfig(BaseConfig, env), log }, bus),
    )
    try {
      for (const app of apps) await app.start()
      expect(lines.filter((l) => String(l.msg).startsWith('unknown variable'))).toEqual([
        expect.objectContaining({
          level: 40,
          msg: 'unknown variable INGEST_MAX_RECORD_BYTE (did you mean INGEST_MAX_RECORD_BYTES?)',
        }),
      ])
    } finally {
      for (const app of apps) await app.stop()
    }
  })
})

// The same main on Kafka (the transport from KAFKA_BROKERS), creating its topics at start.
const kafkaMain = `
  import { BaseConfig, createKafkaWorker, createLogger, exitOnFatal, loadConfig, runUntilSignal } from ${JSON.stringify(index)}
  try {
    const config = loadConfig(BaseConfig, process.env)
    const log = createLogger({ level: config.LOG_LEVEL, pretty: false, name: 'probe' })
    const app = createKafkaWorker({ worker: 'probe', config, log, inputTopics: ['probe.in'], dlqTopic: 'probe.in', defaultHttpPort: 0, handler: async (rs) => rs.map(() => ({ kind: 'ok' })), ensureTopics: [{ name: 'probe.in', partitions: 1, config: {} }] })
    await runUntilSignal(app, log, config.SHUTDOWN_DEADLINE_MS).catch((err) => exitOnFatal(err, log))
  } catch (err) {
    exitOnFatal(err)
  }
`

describe('a worker stopped while it is still starting', () => {
  it('stops at once on SIGTERM while Kafka cannot be reached yet, exit 0, not waiting out its connection retries', async () => {
    // Before: the stop waited for the start, which gave up on Kafka only after kafkajs's retries
    // (about 12 s), and the worker then exited 69 for a Kafka it had been told to stop waiting for
    // (or 1 at SHUTDOWN_DEADLINE_MS, "graceful stop exceeded its deadline", with a shorter one).
    const child = spawn(process.execPath, ['--input-type=module', '-e', kafkaMain], {
      env: {
        PATH: process.env.PATH ?? '',
        LOG_PRETTY: 'false',
        HTTP_PORT: '0',
        KAFKA_BROKERS: '127.0.0.1:1',
        SHUTDOWN_DEADLINE_MS: '60000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    let signalled = false
    const take = (d: Buffer) => {
      output += d
      // Listening, then trying Kafka: the start is under way.
      if (!signalled && output.includes('health and metrics listening') && output.includes('ECONNREFUSED')) {
        signalled = true
        child.kill('SIGTERM')
      }
    }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    const killer = setTimeout(() => child.kill('SIGKILL'), 40_000)
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    clearTimeout(killer)
    expect(signalled, output).toBe(true)
    expect(output).not.toMatch(/cannot reach Kafka|exceeded its deadline/)
    expect(output).toContain('stopped cleanly')
    expect(code, output).toBe(0)
  }, 45_000)
})

describe("a worker's health server", () => {
  it('answers a route or a health check that throws with no error text, the error in the worker log', async () => {
    const { log, lines } = createCapturingLogger()
    const leak = 'connect ECONNREFUSED 10.20.30.40:6379'
    const app = memoryWorker({
      worker: 'probe',
      config: loadConfig(BaseConfig, { HTTP_PORT: '0' }),
      log,
      healthChecks: {
        broken: async () => {
          throw new Error(leak)
        },
      },
      routes: [
        (req) => {
          if (req.url === '/boom') throw new Error(leak)
          return false
        },
      ],
    })
    await app.start()
    try {
      const url = (path: string) => `http://127.0.0.1:${app.httpPort()}${path}`
      const boom = await fetch(url('/boom'))
      const body = (await boom.json()) as { requestId: string }
      expect([boom.status, body]).toEqual([
        500,
        { error: 'internal', message: 'internal error', requestId: expect.any(String) },
      ])
      expect(lines.find((l) => l.msg === 'request failed')).toMatchObject({
        requestId: body.requestId,
        path: '/boom',
        err: { message: leak },
      })
      for (let i = 0; i < 3; i++) {
        const readyz = await fetch(url('/readyz'))
        const text = await readyz.text()
        expect(text).not.toContain('10.20.30.40')
        expect(JSON.parse(text).checks.broken).toEqual({
          status: 'failed',
          detail: 'the check threw: unexpected error',
        })
      }
      // Once, not at every probe.
      expect(lines.filter((l) => l.msg === 'health check broken: the check threw: unexpected error')).toEqual(
        [expect.objectContaining({ level: 40, err: expect.objectContaining({ message: leak }) })],
      )
    } finally {
      await app.stop()
    }
  })
})

describe('a worker with a failure of its own that it cannot recover from (fatal)', () => {
  const probe = (fatal: Promise<Error>) =>
    memoryWorker({
      worker: 'probe',
      config: loadConfig(BaseConfig, { HTTP_PORT: '0' }),
      log: createCapturingLogger().log,
      fatal: [fatal],
    })
  const refusal = new TradepulseError('CONFIG_INVALID', 'Redis at … (REDIS_URL) refused its database 99')

  it('fails its start with it when it comes first (a Redis database refused at the first connection)', async () => {
    // The start went on, and the worker retried every batch on a Redis client closed for good.
    const app = probe(Promise.resolve(refusal))
    try {
      await expect(app.start()).rejects.toBe(refusal)
      // No step further: the consumer was never started.
      expect(await app.runner.health()).toMatchObject({ detail: 'not running' })
    } finally {
      await app.stop()
    }
  })

  it('reports it through failed() once started, for whoever runs the worker to stop it', async () => {
    let fail: (err: Error) => void = () => {}
    const app = probe(new Promise<Error>((resolve) => (fail = resolve)))
    try {
      await app.start()
      fail(refusal)
      expect(await app.failed?.()).toBe(refusal)
    } finally {
      await app.stop()
    }
  })
})

import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { KAFKA_LISTENER_NOT_TLS, KAFKA_LISTENER_TLS, normalizeError, TradepulseError } from './errors.ts'
import { KafkaClockError } from './kafka/produce.ts'
import { describeInfraFailure, exitCodeForSignal, runUntilSignal } from './lifecycle.ts'
import { createCapturingLogger, createLogger } from './logger.ts'

const kafkaError = (name: string, message: string, cause?: Error) =>
  Object.assign(new Error(message, cause ? { cause } : {}), { name })

describe('describeInfraFailure', () => {
  it('names Kafka, its address and KAFKA_BROKERS when no broker can be reached', () => {
    const refused = Object.assign(
      kafkaError('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED 127.0.0.1:9'),
      { code: 'ECONNREFUSED' },
    )
    const err = kafkaError('KafkaJSNonRetriableError', refused.message, refused)
    expect(describeInfraFailure(err, { KAFKA_BROKERS: '127.0.0.1:9' })).toBe(
      'cannot reach Kafka at 127.0.0.1:9 (KAFKA_BROKERS): Connection error: connect ECONNREFUSED 127.0.0.1:9; start it (pnpm infra:up) or set KAFKA_BROKERS',
    )
    // Unset: the address every worker then uses.
    expect(describeInfraFailure(err, {})).toMatch(
      /^cannot reach Kafka at 127\.0\.0\.1:9092 \(KAFKA_BROKERS\)/,
    )
  })

  it('says what failed, with a hint, for a Kafka error other than an unreachable broker', () => {
    const err = kafkaError('KafkaJSProtocolError', 'This server does not host this topic-partition')
    expect(describeInfraFailure(err, { KAFKA_BROKERS: 'k:9092' })).toBe(
      'Kafka at k:9092 (KAFKA_BROKERS) failed: This server does not host this topic-partition; create the topics with `tradepulse topics create`',
    )
  })

  it('names the TLS setting to check for a handshake that failed, by the socket code kafkajs keeps, never "cannot reach"', () => {
    const tlsFailure = (code: string, message: string) => {
      const conn = Object.assign(kafkaError('KafkaJSConnectionError', `Connection error: ${message}`), {
        code,
      })
      return kafkaError('KafkaJSNumberOfRetriesExceeded', conn.message, conn)
    }
    const env = { KAFKA_BROKERS: 'k:9093' }
    for (const code of [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'CERT_HAS_EXPIRED',
      'ERR_TLS_CERT_ALTNAME_INVALID',
    ])
      expect(describeInfraFailure(tlsFailure(code, 'x'), env)).toBe(
        `Kafka at k:9093 (KAFKA_BROKERS): the broker's TLS certificate did not verify (${code}: Connection error: x); set KAFKA_SSL_CA_FILE to the CA that signed the brokers' certificates (unset: the system's CAs), check that the certificate names the host of KAFKA_BROKERS; KAFKA_SSL_REJECT_UNAUTHORIZED=false trusts any broker (tests only)`,
      )
    for (const code of [KAFKA_LISTENER_NOT_TLS, 'ERR_SSL_WRONG_VERSION_NUMBER'])
      expect(describeInfraFailure(tlsFailure(code, 'x'), env)).toBe(
        `Kafka at k:9093 (KAFKA_BROKERS) does not speak TLS there (${code}), and KAFKA_SSL is on: point KAFKA_BROKERS at the brokers' SSL or SASL_SSL listener, or unset KAFKA_SSL for a PLAINTEXT or SASL_PLAINTEXT one`,
      )
    expect(describeInfraFailure(tlsFailure(KAFKA_LISTENER_TLS, 'x'), env)).toMatch(
      /^Kafka at k:9093 \(KAFKA_BROKERS\) answered with TLS, and KAFKA_SSL is off: set KAFKA_SSL=true/,
    )
    expect(
      describeInfraFailure(
        tlsFailure('ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE', 'tls alert bad certificate'),
        env,
      ),
    ).toMatch(
      /^Kafka at k:9093 \(KAFKA_BROKERS\): the TLS handshake failed \(ERR_SSL_SSL\/TLS_ALERT_BAD_CERTIFICATE: .*check KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE/,
    )
    // A reset with no TLS code is still an outage.
    expect(describeInfraFailure(tlsFailure('ECONNRESET', 'read ECONNRESET'), env)).toMatch(
      /^cannot reach Kafka at k:9093/,
    )
  })

  it('names the SASL variables for refused credentials, at the start or while running', () => {
    const sasl = kafkaError(
      'KafkaJSSASLAuthenticationError',
      'SASL SCRAM SHA512 authentication failed: invalid credentials',
    )
    const line =
      'Kafka at k:9092 (KAFKA_BROKERS) refused the credentials: SASL SCRAM SHA512 authentication failed: invalid credentials; check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (and KAFKA_SASL_MECHANISM, the one the listener takes)'
    expect(
      describeInfraFailure(kafkaError('KafkaJSNonRetriableError', sasl.message, sasl), {
        KAFKA_BROKERS: 'k:9092',
      }),
    ).toBe(line)
    const running = new TradepulseError('KAFKA_AUTH', 'Kafka refused the credentials … for 30000 ms', {
      cause: normalizeError(sasl),
    })
    expect(describeInfraFailure(running, { KAFKA_BROKERS: 'k:9092' })).toBe(line)
  })

  it('names Redis and REDIS_URL with its credentials hidden', () => {
    const err = new TradepulseError('INFRA_REDIS', 'connect ECONNREFUSED 10.0.0.5:6379')
    const line = describeInfraFailure(err, { REDIS_URL: 'redis://user:s3cr#t@10.0.0.5:6379' })
    expect(line).toBe(
      'cannot reach Redis at redis://[redacted]@10.0.0.5:6379 (REDIS_URL): connect ECONNREFUSED 10.0.0.5:6379; start it (pnpm infra:up) or set REDIS_URL',
    )
    // ioredis fails a command while disconnected without the socket's error: still unreachable.
    const maxRetries = Object.assign(new Error('Reached the max retries per request limit (which is 2).'), {
      name: 'MaxRetriesPerRequestError',
    })
    expect(describeInfraFailure(maxRetries, {})).toMatch(
      /^cannot reach Redis at redis:\/\/127\.0\.0\.1:6379 \(REDIS_URL\): Reached the max retries/,
    )
  })

  it("names the host of a socket or lookup error by its own name, and Redis only when it is REDIS_URL's", () => {
    const lookup = (hostname: string) =>
      Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
        code: 'ENOTFOUND',
        syscall: 'getaddrinfo',
        hostname,
      })
    expect(describeInfraFailure(lookup('not a host!'), { REDIS_URL: 'redis://127.0.0.1:16379' })).toBe(
      'cannot reach not a host!: getaddrinfo ENOTFOUND not a host!',
    )
    expect(describeInfraFailure(lookup('redis.internal'), { REDIS_URL: 'redis://redis.internal:6379' })).toBe(
      'cannot reach Redis at redis://redis.internal:6379 (REDIS_URL): getaddrinfo ENOTFOUND redis.internal; start it (pnpm infra:up) or set REDIS_URL',
    )
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:80'), {
      code: 'ECONNREFUSED',
      address: '10.1.2.3',
      port: 80,
    })
    expect(describeInfraFailure(refused, {})).toBe('cannot reach 10.1.2.3: connect ECONNREFUSED 10.1.2.3:80')
  })

  it('gives the outermost TradepulseError that says what happened in its own words, not the innermost message', () => {
    // The line gave the innermost message of any chain: a produce refused for this host's clock exited
    // with kafkajs's "The timestamp of the message is out of acceptable range", where the KafkaClockError
    // that wraps it names the clock and the cure (the CLI re-wrapped that one error to say so).
    const refused = new KafkaJSNonRetriableError(
      new KafkaJSProtocolError(
        Object.assign(new Error('The timestamp of the message is out of acceptable range'), {
          type: 'INVALID_TIMESTAMP',
        }),
      ),
    )
    const clock = new KafkaClockError(0, ['t.raw'], refused)
    const env = { KAFKA_BROKERS: 'k:9092' }
    const line = `Kafka at k:9092 (KAFKA_BROKERS) failed: ${clock.message}`
    expect(describeInfraFailure(clock, env)).toBe(line)
    // Wrappers that say nothing of their own leave it the one to speak: one repeating its message (a
    // fault made retriable, normalizeError), one with its code's default message.
    const repeated = new TradepulseError('INFRA_KAFKA', clock.message, { cause: clock, retriable: true })
    expect(describeInfraFailure(repeated, env)).toBe(line)
    expect(describeInfraFailure(new TradepulseError('INFRA_KAFKA', undefined, { cause: clock }), env)).toBe(
      line,
    )
    // Of two that say it in their own words, the outermost, which says the more.
    const outer = `this host's clock, refused for 300 ms: ${clock.message}`
    const failed = new TradepulseError('INFRA_KAFKA', outer, { cause: clock })
    expect(describeInfraFailure(failed, env)).toBe(
      `Kafka at k:9092 (KAFKA_BROKERS) failed: ${failed.message}`,
    )
    // Whether Redis was reached is still judged by the client's own error: its words under ours.
    const gone = Object.assign(new Error('Reached the max retries per request limit (which is 2).'), {
      name: 'MaxRetriesPerRequestError',
    })
    const stopped = new TradepulseError('INFRA_REDIS', 'the indicator store gave up on a round', {
      cause: gone,
    })
    expect(describeInfraFailure(stopped, { REDIS_URL: 'redis://r:6379' })).toBe(
      'cannot reach Redis at redis://r:6379 (REDIS_URL): the indicator store gave up on a round; start it (pnpm infra:up) or set REDIS_URL',
    )
  })

  it('leaves other errors alone', () => {
    expect(describeInfraFailure(new Error('undefined is not a function'), {})).toBeUndefined()
    expect(describeInfraFailure(new TradepulseError('CONFIG_INVALID', 'x'), {})).toBeUndefined()
    expect(describeInfraFailure('a string', {})).toBeUndefined()
  })
})

describe('exitCodeForSignal', () => {
  it('is 128 + the signal number, as a shell reports a command the signal ended', () => {
    expect(exitCodeForSignal('SIGINT')).toBe(130)
    expect(exitCodeForSignal('SIGTERM')).toBe(143)
    expect(exitCodeForSignal('SIGHUP')).toBe(129)
  })
})

describe('runUntilSignal', () => {
  const silent = createLogger({ level: 'silent' })

  it('stops the app and rejects with its error when it fails for good while running', async () => {
    const error = new TradepulseError(
      'CONFIG_INVALID',
      'invalid configuration: KAFKA_SESSION_TIMEOUT_MS=1 refused',
    )
    let fail: (err: Error) => void = () => {}
    const calls: string[] = []
    const app = {
      start: async () => void calls.push('start'),
      stop: async () => void calls.push('stop'),
      health: async () => ({ status: 'ok' as const, ready: true, checks: {} }),
      failed: () =>
        new Promise<Error>((r) => {
          fail = r
        }),
    }
    const running = runUntilSignal(app, silent, 1_000)
    let settled = false
    running.catch(() => {}).finally(() => (settled = true))
    await new Promise((r) => setImmediate(r))
    expect(calls).toEqual(['start'])
    expect(settled).toBe(false)
    fail(error)
    await expect(running).rejects.toBe(error)
    expect(calls).toEqual(['start', 'stop'])
  })

  it('rejects after the deadline when the stop hangs', async () => {
    const error = new Error('gone for good')
    const app = {
      start: async () => {},
      stop: () => new Promise<void>(() => {}),
      health: async () => ({ status: 'ok' as const, ready: true, checks: {} }),
      failed: async () => error,
    }
    await expect(runUntilSignal(app, silent, 50)).rejects.toBe(error)
  })

  it("names the stop's step under way in the line a deadline passing writes", async () => {
    // The line said only that the deadline passed: not which step (a Kafka disconnect, Redis) held it.
    const error = new Error('gone for good')
    const { log, lines } = createCapturingLogger<{ level: number; msg: string; step?: string }>()
    const app = {
      start: async () => {},
      stop: () => new Promise<void>(() => {}),
      stopStep: () => 'disconnecting the Kafka consumer (leaving group g)',
      health: async () => ({ status: 'ok' as const, ready: true, checks: {} }),
      failed: async () => error,
    }
    await expect(runUntilSignal(app, log, 50)).rejects.toBe(error)
    expect(lines.filter((l) => l.level >= 50)).toEqual([
      expect.objectContaining({
        msg: 'graceful stop exceeded its deadline (still disconnecting the Kafka consumer (leaving group g))',
        step: 'disconnecting the Kafka consumer (leaving group g)',
      }),
    ])
  })

  it('exits 1 with an error line when the stop a signal asked for hangs on nothing that keeps the process alive', async () => {
    // The deadline's timer was unref'd: with the stop waiting on a promise nothing would settle (and the
    // consumer's sockets closed), the process ran out of work and exited 0 after "stopping", with no
    // line: to its supervisor a clean stop, whatever the stop had left undone.
    const dir = mkdtempSync(join(tmpdir(), 'tp-lifecycle-'))
    const script = join(dir, 'hang.mjs')
    writeFileSync(
      script,
      `import { runUntilSignal } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'lifecycle.ts')).href)}
import { createLogger } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'logger.ts')).href)}
let keep
const app = {
  start: async () => { keep = setInterval(() => {}, 1000) },
  stop: async () => { clearInterval(keep); await new Promise(() => {}) },
  health: async () => ({ status: 'ok', ready: true, checks: {} }),
}
setTimeout(() => process.kill(process.pid, 'SIGTERM'), 100)
await runUntilSignal(app, createLogger({ level: 'info', pretty: false }), 300)
`,
    )
    try {
      const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 10_000 })
      expect(r.stderr).toContain('graceful stop exceeded its deadline; exiting')
      expect(r.status).toBe(1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 15_000)

  it("exits at once on a second signal with that signal's code: 143 for SIGTERM, 130 for SIGINT", async () => {
    // A second signal exited 130 whatever it was: a supervisor's second SIGTERM read as a Ctrl-C.
    const dir = mkdtempSync(join(tmpdir(), 'tp-lifecycle-'))
    const script = join(dir, 'second-signal.mjs')
    writeFileSync(
      script,
      `import { runUntilSignal } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'lifecycle.ts')).href)}
import { createLogger } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'logger.ts')).href)}
let keep
const app = {
  start: async () => { keep = setInterval(() => {}, 1000); process.stdout.write('started\\n') },
  // A stop that never ends: only the second signal (or the deadline, an hour off) ends the process.
  stop: () => new Promise(() => {}),
  health: async () => ({ status: 'ok', ready: true, checks: {} }),
}
await runUntilSignal(app, createLogger({ level: 'info', pretty: false }), 3_600_000)
`,
    )
    const secondSignal = (first: NodeJS.Signals, second: NodeJS.Signals) =>
      new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] })
        let stderr = ''
        let sent = 0
        child.stdout.on('data', (d: Buffer) => {
          if (sent === 0 && d.toString().includes('started')) {
            sent = 1
            child.kill(first)
          }
        })
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString()
          if (sent === 1 && stderr.includes('"stopping"')) {
            sent = 2
            child.kill(second)
          }
        })
        child.on('error', reject)
        child.on('close', (code) => resolve({ code, stderr }))
      })
    try {
      const cases: [NodeJS.Signals, NodeJS.Signals, number][] = [
        ['SIGTERM', 'SIGTERM', 143],
        ['SIGINT', 'SIGINT', 130],
        ['SIGINT', 'SIGTERM', 143],
        ['SIGTERM', 'SIGINT', 130],
      ]
      for (const [first, second, code] of cases) {
        const r = await secondSignal(first, second)
        expect(r.stderr).toContain('second signal: exiting now')
        expect([first, second, r.code]).toEqual([first, second, code])
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)

  it('resolves once started for an app that cannot fail while running', async () => {
    const app = {
      start: async () => {},
      stop: async () => {},
      health: async () => ({ status: 'ok' as const, ready: true, checks: {} }),
    }
    await expect(runUntilSignal(app, silent, 50)).resolves.toBeUndefined()
  })
})

import { execFile } from 'node:child_process'
import { type AddressInfo, createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const MAIN = join(import.meta.dirname, '..', 'main.ts')
const NO_KAFKA = '127.0.0.1:1'
const NO_REDIS = 'redis://desk:pa55word@127.0.0.1:1'

/** Runs the CLI with only the given environment (and PATH); resolves with its exit code and output. */
function cli(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    )
  })
}

/** One line on stderr, no stack trace. */
function expectOneLine(stderr: string, pattern: RegExp) {
  expect(stderr.trimEnd().split('\n'), stderr).toHaveLength(1)
  expect(stderr.trimEnd()).toMatch(pattern)
  expect(stderr).not.toMatch(/^\s+at /m)
}

describe('tradepulse start refuses before it starts, prints or plays anything', { timeout: 60_000 }, () => {
  it('start refuses a bad --http-port, --speed or LOG_LEVEL in one line (exit 78)', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['start', '--http-port', 'abc'], {}, /^tradepulse: --http-port: a port from 0 to 65535 .*got "abc"$/],
      [['start', '--speed', 'fast'], {}, /^tradepulse: --speed: a positive number or "max", got "fast"$/],
      [
        ['start'],
        { LOG_LEVEL: 'loud' },
        /^tradepulse: invalid configuration:\n {2}LOG_LEVEL: .*\(got "loud"\)$/,
      ],
    ]
    const runs = await Promise.all(cases.map(([args, env]) => cli(args, env)))
    runs.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(78)
      expect(r.stderr.trimEnd()).toMatch(cases[i]![2])
      expect(r.stderr).not.toMatch(/^\s+at /m)
    })
  })

  it('start refuses, before printing or playing anything, one of KAFKA_BROKERS / REDIS_URL alone, a subset of workers, a bad variable (exit 78)', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['start'], { KAFKA_BROKERS: NO_KAFKA }, /^tradepulse: REDIS_URL is not set but KAFKA_BROKERS is: /],
      [['start'], { KAFKA_BROKERS: 'nohost' }, /^tradepulse: REDIS_URL is not set but KAFKA_BROKERS is: /],
      [
        ['start'],
        { REDIS_URL: NO_REDIS, KAFKA_BROKERS: ' ' },
        /^tradepulse: KAFKA_BROKERS is not set but REDIS_URL is: /,
      ],
      [
        ['start', '--workers', 'alerter'],
        {},
        /^tradepulse: --workers: the embedded default runs every worker /,
      ],
      [
        ['start'],
        { AGGREGATOR_GRACE_MS: 'soon' },
        /^tradepulse: invalid configuration:\n {2}AGGREGATOR_GRACE_MS: /,
      ],
      [
        ['start'],
        { ALERTER_RULES_FILE: 'nonexist.yaml' },
        /^tradepulse: ALERTER_RULES_FILE: cannot read nonexist\.yaml \(no such file\)$/,
      ],
    ]
    const runs = await Promise.all(cases.map(([args, env]) => cli(args, env)))
    runs.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(78)
      expect(r.stderr.trimEnd()).toMatch(cases[i]![2])
      expect(r.stderr).not.toMatch(/Embedded mode|Playing/)
      expect(r.stdout).toBe('')
    })
  })

  it('start --follow names --http-port when the port is taken, before the banner (exit 78)', async () => {
    const busy = createServer()
    const port = await new Promise<number>((resolve) =>
      busy.listen(0, '127.0.0.1', () => resolve((busy.address() as AddressInfo).port)),
    )
    try {
      const r = await cli(['start', '--follow', '--http-port', String(port)])
      expect(r.code, r.stderr).toBe(78)
      expectOneLine(
        r.stderr,
        new RegExp(`^tradepulse: --http-port: port ${port} on 127\\.0\\.0\\.1 is in use`),
      )
    } finally {
      busy.close()
    }
  })
})

// Helpers of the CLI's process tests: the CLI run as a child process with only the environment given.
import { execFile, spawn } from 'node:child_process'
import { join } from 'node:path'
import { expect } from 'vitest'

export const MAIN = join(import.meta.dirname, 'main.ts')
// Nothing listens on port 1: connecting is refused at once.
export const NO_KAFKA = '127.0.0.1:1'
export const NO_REDIS = 'redis://desk:pa55word@127.0.0.1:1'

/** Runs the CLI with only the given environment (and PATH); resolves with its exit code and output. */
export function cli(args: string[], env: Record<string, string> = {}) {
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

/**
 * The CLI spawned with only `env` (and PATH), its output gathered as it comes (`output.out`, `output.err`);
 * `exited` resolves with its exit code and signal. stdin is a pipe with `stdin: true`, else ended at once.
 */
export function spawnCli(args: string[], env: Record<string, string> = {}, { stdin = false } = {}) {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
  if (!stdin) child.stdin.end()
  const output = { out: '', err: '' }
  child.stdout.on('data', (d) => {
    output.out += d
  })
  child.stderr.on('data', (d) => {
    output.err += d
  })
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (code, signal) => resolve([code, signal])),
  )
  return { child, output, exited }
}

/** One line on stderr: no stack trace, no JSON log lines. */
export function expectOneLine(stderr: string, pattern: RegExp) {
  expect(stderr.trimEnd().split('\n'), stderr).toHaveLength(1)
  expect(stderr.trimEnd()).toMatch(pattern)
  expect(stderr).not.toMatch(/^\s+at |"level":/m)
}

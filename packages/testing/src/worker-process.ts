import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { REPO_ROOT } from './local-kafka.ts'

export type WorkerProcess = {
  child: ChildProcess
  /** Everything the process wrote to stderr (logs) and stdout so far. */
  output(): string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Runs a worker's main (a path relative to the repository root) as a child process with the given env. */
export function spawnWorker(main: string, env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, [join(REPO_ROOT, main)], {
    env: { PATH: process.env.PATH ?? '', LOG_PRETTY: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout?.on('data', (d) => {
    out += d
  })
  child.stderr?.on('data', (d) => {
    out += d
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, output: () => out, exited }
}

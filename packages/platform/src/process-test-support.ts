// Test support: child processes whose output a test reads (platform's own tests and @tradepulse/testing's).
import { type ChildProcess, spawn } from 'node:child_process'

export type WorkerProcess = {
  child: ChildProcess
  /** Everything the process wrote to stderr (logs) and stdout so far. */
  output(): string
  /** Its exit once it has exited, else undefined. */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** A spawned process whose stdout and stderr are collected together, with its exit. */
export function watched(child: ChildProcess): WorkerProcess {
  let out = ''
  child.stdout?.on('data', (d) => {
    out += d
  })
  child.stderr?.on('data', (d) => {
    out += d
  })
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal }
      resolve(exit)
    }),
  )
  return { child, output: () => out, exit: () => exit, exited }
}

/**
 * Runs an ES module given as its source text (`node --input-type=module -e`) as a child process with
 * exactly the given env (nothing of this process's): a probe worker written inside a test.
 */
export function spawnModule(source: string, env: Record<string, string>): WorkerProcess {
  return watched(
    spawn(process.execPath, ['--input-type=module', '-e', source], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  )
}

/**
 * Waits for the process to exit and gives its exit code; past `timeoutMs` it is killed and the error
 * carries everything it wrote.
 */
export async function exitCodeOf(p: WorkerProcess, timeoutMs = 60_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the process did not exit within ${timeoutMs} ms; its output:\n${p.output()}`)),
      timeoutMs,
    )
  })
  try {
    return (await Promise.race([p.exited, timedOut])).code
  } finally {
    clearTimeout(timer)
    if (p.exit() === undefined) p.child.kill('SIGKILL')
  }
}

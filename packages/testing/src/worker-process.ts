import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { type WorkerProcess, watched } from '@tradepulse/platform/process-test-support'
import { REPO_ROOT } from './local-kafka.ts'

export { exitCodeOf, spawnModule, type WorkerProcess } from '@tradepulse/platform/process-test-support'

/** Runs a worker's main (a path relative to the repository root) as a child process with the given env. */
export function spawnWorker(main: string, env: Record<string, string>): WorkerProcess {
  return watched(
    spawn(process.execPath, [join(REPO_ROOT, main)], {
      env: { PATH: process.env.PATH ?? '', LOG_PRETTY: 'false', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  )
}

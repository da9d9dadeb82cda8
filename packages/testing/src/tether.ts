// A server (the local Kafka broker, redis-server) tied to the life of the process that starts it. Neither
// server watches its parent: started as a plain child, it outlived a parent killed outright (SIGKILL of
// `tradepulse start --local-infra`'s keeper, of a test run) with parent PID 1, and its temporary data
// stayed in /tmp. This module, run as the server's parent, reads a pipe from the starting process, which
// the kernel closes however that process ends: at its end the server is sent SIGTERM (SIGKILL 15 s later),
// and once the server has exited the directories named with --rm are removed. Signals sent to this process
// (a stop) go on to the server; this process exits with the server's code (128 + a signal's number).
import { type ChildProcess, spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import type { Socket } from 'node:net'
import { constants } from 'node:os'

/**
 * Spawns `command args` tethered to this process (through this module, whose pid the child has): it is
 * stopped when this process ends however it ends, and the directories in `remove` are deleted once it has
 * exited. Its stdout and stderr go to `output` (a file descriptor, or 'ignore'). The pipe the tether reads
 * holds neither this process's event loop nor its exit.
 */
export function spawnTethered(
  command: string,
  args: string[],
  remove: string[],
  output: number | 'ignore',
): ChildProcess {
  const child = spawn(
    process.execPath,
    [import.meta.filename, ...remove.flatMap((dir) => ['--rm', dir]), '--', command, ...args],
    { stdio: ['pipe', output, output] },
  )
  ;(child.stdin as Socket | null)?.unref()
  child.once('exit', () => child.stdin?.destroy())
  return child
}

/** How long a server has to stop after SIGTERM before it is killed. */
const GRACE_MS = 15_000

function tether(argv: string[]): void {
  const remove: string[] = []
  while (argv[0] === '--rm' && argv.length > 1) remove.push(argv.splice(0, 2)[1]!)
  if (argv[0] === '--') argv.shift()
  const [command, ...args] = argv
  if (!command) {
    process.stderr.write('usage: tether.ts [--rm dir]... -- command [args...]\n')
    process.exit(2)
  }
  const server = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] })
  let killer: NodeJS.Timeout | undefined
  const stop = (signal: NodeJS.Signals) => {
    if (server.exitCode !== null || server.signalCode !== null) return
    server.kill(signal)
    killer ??= setTimeout(() => server.kill('SIGKILL'), GRACE_MS)
  }
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => stop(signal))
  // The pipe's end: the starting process is gone (or let go of it).
  const parentGone = () => stop('SIGTERM')
  process.stdin.on('end', parentGone).on('close', parentGone).on('error', parentGone).resume()
  server.once('error', (err) => {
    process.stderr.write(`tether: could not run ${command}: ${err.message}\n`)
    for (const dir of remove) rmSync(dir, { recursive: true, force: true })
    process.exit(127)
  })
  server.once('exit', (code, signal) => {
    clearTimeout(killer)
    for (const dir of remove) rmSync(dir, { recursive: true, force: true })
    process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0))
  })
}

if (import.meta.main) tether(process.argv.slice(2))

// The Kafka broker and Redis server of `tradepulse start --local-infra`, kept by a process of their own: this
// module, run as a child of the CLI's. They were children of the CLI itself, stopped by its stop alone, so
// a CLI that ended any other way (a second Ctrl-C while the broker was still starting, which exits at once;
// SIGKILL; a test's timeout) left them running with parent PID 1. The keeper's only tie to the CLI is the
// IPC channel, which closes however the CLI ends: the keeper then stops them (once up, if still starting)
// and exits. It runs in a process group of its own, as do the servers it starts: a Ctrl-C at the terminal
// reaches the CLI alone, which stops its workers before it asks for this stop, where the broker and Redis
// took the Ctrl-C at the same moment and went away under the workers' last commits.
import { fork } from 'node:child_process'
import { type Infra, startInfra } from '@tradepulse/testing/infra'

/** The keeper's one message: the infrastructure up (its addresses), or why it could not start. */
type Started = { up: Omit<Infra, 'stop'> } | { failed: string }

/**
 * Starts the local infrastructure (startInfra, as from an environment without KAFKA_BROKERS and
 * REDIS_URL) in a keeper process: once it is up, its addresses and a `stop` that stops it and waits for
 * the keeper to exit. A start that fails rejects with startInfra's own error message.
 */
export function startKeptInfra(env: Record<string, string | undefined>): Promise<Infra> {
  const keeper = fork(import.meta.filename, [], {
    env: { ...env, KAFKA_BROKERS: '', REDIS_URL: '' },
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const exited = new Promise<void>((resolve) => keeper.once('exit', () => resolve()))
  return new Promise<Infra>((resolve, reject) => {
    keeper.once('error', reject)
    keeper.once('exit', (code, signal) =>
      reject(new Error(`the process starting the local Kafka and Redis ended (${signal ?? `exit ${code}`})`)),
    )
    keeper.once('message', (m: Started) => {
      if ('failed' in m) {
        reject(new Error(m.failed))
        return
      }
      resolve({
        ...m.up,
        stop: async () => {
          if (keeper.connected) keeper.disconnect()
          await exited
        },
      })
    })
  })
}

/** The keeper: starts the infrastructure, says so, and stops it when the CLI is gone or disconnects. */
async function keep(): Promise<void> {
  const starting = startInfra(process.env)
  let stopping: Promise<void> | undefined
  // Once up, if it is still starting (a start that fails leaves nothing running).
  const stop = () =>
    (stopping ??= starting
      .then((infra) => infra.stop())
      .catch(() => {})
      .finally(() => process.exit(0)))
  // The end of the channel (the CLI's stop, or the CLI gone), or a signal sent to the keeper itself.
  process.once('disconnect', () => void stop())
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void stop())
  let started: Started
  try {
    const { kafkaBrokers, redisUrl, source } = await starting
    started = { up: { kafkaBrokers, redisUrl, source } }
  } catch (err) {
    started = { failed: (err as Error).message }
  }
  // The failure once sent: exiting at once could lose the message.
  if (process.connected) process.send?.(started, () => 'failed' in started && process.exit(1))
  else if ('failed' in started) process.exit(1)
}

if (import.meta.main) await keep()

// Shared by the Redis tests, the services' included (@tradepulse/platform/redis-test-support); not part of
// the package's surface.
import { spawn } from 'node:child_process'
import type { Redis } from 'ioredis'
import { createLogger } from './logger.ts'
import { closedPort } from './net-test-support.ts'
import { createRedis } from './redis-client.ts'

/** One connection as CLIENT LIST gives it: its fields by name (id, name, flags, cmd…), as text. */
export type ClientInfo = Record<string, string>

/**
 * The connection named `name` (createRedis's name, CLIENT SETNAME) among those of the server `redis` is
 * connected to, as CLIENT LIST gives it; none if no connection has that name.
 */
export async function clientNamed(redis: Redis, name: string): Promise<ClientInfo | undefined> {
  return String(await redis.client('LIST'))
    .split('\n')
    .map(
      (line) =>
        Object.fromEntries(
          line
            .trim()
            .split(' ')
            .map((field) => {
              const at = field.indexOf('=')
              return [field.slice(0, at), field.slice(at + 1)]
            }),
        ) as ClientInfo,
    )
    .find((c) => c.name === name)
}

/** Polls `check` until it returns true (tests wait for outcomes, never for fixed times). */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      if (await check()) return
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${what} not met within ${timeoutMs} ms (last: ${String(last)})`)
}

/**
 * A redis-server of a test's own, on `port` or a free one, with `databases` databases (16 by default) and
 * `password` asked of every client (none by default); stopped in the clean-ups.
 */
export async function ownRedis(
  cleanups: (() => Promise<unknown>)[],
  opts: { databases?: number; password?: string; port?: number } = {},
): Promise<{ port: number; stop(): Promise<void> }> {
  const at = opts.port ?? (await closedPort())
  const args = ['--port', String(at), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
  args.push('--databases', String(opts.databases ?? 16))
  if (opts.password !== undefined) args.push('--requirepass', opts.password)
  const child = spawn('redis-server', args, { stdio: 'ignore' })
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGTERM')
    await exited
  }
  cleanups.push(stop)
  const auth = opts.password === undefined ? '' : `:${opts.password}@`
  const probe = createRedis(`redis://${auth}127.0.0.1:${at}`, createLogger({ level: 'silent' }), 'probe', {
    timeoutMs: 500,
  })
  try {
    await until(async () => (await probe.ping()) === 'PONG', `redis-server on port ${at}`)
  } finally {
    probe.disconnect()
  }
  return { port: at, stop }
}

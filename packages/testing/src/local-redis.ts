import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from './free-port.ts'
import { spawnTethered } from './tether.ts'
import { waitFor } from './wait-for.ts'

export type LocalRedis = { url: string; port: number; pid: number; stop(): Promise<void> }

/**
 * Starts `redis-server` on a free port with no persistence, for an isolated test run; `databases` sets
 * how many databases it has (16 by default), for a test of a database it refuses.
 */
export async function startLocalRedis(
  options: {
    port?: number
    /** Leave the server running after this process exits (pnpm infra:up). */
    detached?: boolean
    databases?: number
    /** Told the server's pid as soon as it is spawned, before it answers (as startLocalKafka's). */
    onSpawn?: (pid: number) => void
  } = {},
): Promise<LocalRedis> {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
  } catch {
    throw new Error('local Redis needs `redis-server` on PATH (Debian: apt-get install redis-server)')
  }
  const port = options.port ?? (await freePort())
  const dir = mkdtempSync(join(tmpdir(), 'tradepulse-redis-'))
  const args = [
    ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    ...(options.databases === undefined ? [] : ['--databases', String(options.databases)]),
  ]
  // Detached, it outlives this process (pnpm infra:up); otherwise it stops, and its directory goes, when
  // this process ends, even killed outright (tether.ts).
  const child: ChildProcess = options.detached
    ? spawn('redis-server', args, { stdio: 'ignore', detached: true })
    : spawnTethered('redis-server', args, [dir], 'ignore')
  if (options.detached) child.unref()
  if (child.pid) options.onSpawn?.(child.pid)
  const url = `redis://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 15_000
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on('error', () => {}) // readiness probe: failures are expected until the server listens
    try {
      await client.connect()
      await client.ping()
      client.disconnect()
      break
    } catch (err) {
      client.disconnect()
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop()
        throw new Error(`redis-server on port ${port} did not start: ${String(err)}`)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return { url, port, pid: child.pid ?? -1, stop }
}

type Checked = { ready: boolean; checks: Record<string, { status: string; detail?: string }> }

/**
 * Stops a worker's own `server` and starts an empty one on its port (what a Redis restarted without
 * persistence looks like to its clients: they reconnect to it), then waits until the worker's health
 * reports the loss (its `redisState` check degraded): the new server, and that health reading.
 */
export async function restartEmptyUntilReported<H extends Checked>(
  server: LocalRedis,
  health: () => Promise<H>,
): Promise<{ server: LocalRedis; health: H }> {
  await server.stop()
  const next = await startLocalRedis({ port: server.port })
  const reported = await waitFor(
    async () => {
      const h = await health()
      return h.checks.redisState?.status === 'degraded' && h
    },
    { what: 'the loss of Redis data to be reported' },
  ).catch(async (err: unknown) => {
    await next.stop()
    throw err
  })
  return { server: next, health: reported }
}

import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from './free-port.ts'
import type { InfraState } from './infra-cli.ts'
import { alive } from './infra-cli.ts'
import { createTopics, listTopicNames } from './kafka-helpers.ts'
import { REPO_ROOT } from './local-kafka.ts'
import { commandLine, descendants } from './processes.ts'
import { randomName } from './random-name.ts'
import { waitFor } from './wait-for.ts'

const run = promisify(execFile)
const CLI = join(REPO_ROOT, 'packages', 'testing', 'src', 'infra-cli.ts')

async function killAndWait(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL')
  while (alive(pid)) await new Promise((r) => setTimeout(r, 50))
}

// A second stack of its own (own state dir and ports), never the one `pnpm infra:up` keeps for the team.
describe('pnpm infra:up after one of the two processes died (a second, real stack)', async () => {
  mkdirSync('/tmp/infra-fix', { recursive: true })
  const dir = mkdtempSync('/tmp/infra-fix/stack-')
  const env = {
    ...process.env,
    TP_INFRA_DIR: dir,
    TP_KAFKA_PORT: String(await freePort()),
    TP_REDIS_PORT: String(await freePort()),
  }
  const infra = (cmd: 'up' | 'down') => run(process.execPath, [CLI, cmd], { env, cwd: REPO_ROOT })
  const state = () => JSON.parse(readFileSync(join(dir, 'infra.json'), 'utf8')) as InfraState
  afterAll(async () => {
    await infra('down').catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })

  it('restarts only the dead one, on its port: the live broker, its pid and its topics survive', async () => {
    await infra('up')
    const first = state()
    const brokers = first.kafkaBrokers.split(',')
    const topic = randomName('infra-up')
    await createTopics(brokers, [{ name: topic }])

    // Redis died (the README sends users to `pnpm infra:up` when it is unreachable).
    await killAndWait(first.redisPid)
    const again = await infra('up')
    expect(again.stdout).toContain(`export KAFKA_BROKERS=${first.kafkaBrokers}`)
    expect(again.stdout).toContain(`export REDIS_URL=${first.redisUrl}`)
    const second = state()
    expect(second.kafkaPid).toBe(first.kafkaPid)
    expect(alive(first.kafkaPid)).toBe(true)
    expect(second.redisPid).not.toBe(first.redisPid)
    expect(second.redisUrl).toBe(first.redisUrl)
    expect(await listTopicNames(brokers)).toContain(topic)
    expect(readFileSync(join(first.dataDir, 'broker.log'), 'utf8')).not.toContain('all log dirs')
    const redis = new Redis(second.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0 })
    try {
      await redis.connect()
      expect(await redis.ping()).toBe('PONG')
    } finally {
      redis.disconnect()
    }

    // Kafka died: a new broker on the same port, Redis kept.
    await killAndWait(second.kafkaPid)
    await infra('up')
    const third = state()
    expect(third.redisPid).toBe(second.redisPid)
    expect(third.kafkaPid).not.toBe(second.kafkaPid)
    expect(third.kafkaBrokers).toBe(first.kafkaBrokers)
    expect(alive(third.kafkaPid)).toBe(true)
  })
})

describe('pnpm infra:down after pnpm infra:up was killed while it started (a second, real stack)', async () => {
  mkdirSync('/tmp/infra-fix', { recursive: true })
  const dir = mkdtempSync('/tmp/infra-fix/killed-')
  const env = {
    ...process.env,
    TP_INFRA_DIR: dir,
    TP_KAFKA_PORT: String(await freePort()),
    TP_REDIS_PORT: String(await freePort()),
  }
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  // The state file was written once both servers were ready: an up killed before (Ctrl-C while the
  // broker started, a terminal closed) left them running detached, and down found "nothing to stop".
  it('stops the servers the killed start had spawned, whatever it had got to', {
    timeout: 180_000,
  }, async () => {
    const starting = spawn(process.execPath, [CLI, 'up'], { env, cwd: REPO_ROOT, stdio: 'ignore' })
    const exited = new Promise((r) => starting.once('exit', r))
    let servers: { pid: number; comm: string }[] = []
    try {
      servers = await waitFor(
        () => {
          const under = descendants(starting.pid!)
          const broker = under.find((p) => p.comm === 'java' && commandLine(p.pid).includes('kafka.Kafka'))
          const redis = under.find((p) => p.comm === 'redis-server')
          return broker && redis && [broker, redis]
        },
        { timeoutMs: 120_000, intervalMs: 20, what: 'infra:up to spawn the broker and the Redis server' },
      )
      starting.kill('SIGKILL')
      await exited
      expect(servers.every((p) => alive(p.pid))).toBe(true)
      await run(process.execPath, [CLI, 'down'], { env, cwd: REPO_ROOT })
      await waitFor(() => !servers.some((p) => alive(p.pid)), {
        timeoutMs: 30_000,
        what: `infra:down to stop ${servers.map((p) => `${p.comm} ${p.pid}`).join(' and ')}`,
      })
      expect(existsSync(join(dir, 'infra.json'))).toBe(false)
    } finally {
      starting.kill('SIGKILL')
      for (const p of servers) if (alive(p.pid)) process.kill(p.pid, 'SIGKILL')
    }
  })
})

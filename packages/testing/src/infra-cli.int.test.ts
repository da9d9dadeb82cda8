import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from './free-port.ts'
import type { InfraState } from './infra-cli.ts'
import { alive } from './infra-cli.ts'
import { createTopics, listTopicNames } from './kafka-helpers.ts'
import { REPO_ROOT } from './local-kafka.ts'
import { randomName } from './random-name.ts'

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

// `pnpm infra:up` starts a local Kafka broker and Redis server for development and leaves them running;
// `pnpm infra:down` stops them. State lives in .local/infra.json (TP_INFRA_DIR moves .local, for a second
// stack; TP_KAFKA_PORT and TP_REDIS_PORT choose the ports of a new stack).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT, startLocalKafka } from './local-kafka.ts'
import { startLocalRedis } from './local-redis.ts'

export type InfraState = {
  /** 0 while infra:up has not spawned it yet. */
  kafkaPid: number
  /** 0 while infra:up has not spawned it yet. */
  redisPid: number
  kafkaBrokers: string
  redisUrl: string
  dataDir: string
}

/** What `up` does with each process: keep the recorded one (alive), or start one. */
export type UpPlan = { kafka: 'keep' | 'start'; redis: 'keep' | 'start' }

/**
 * A recorded process still alive is kept, whatever became of the other: starting Kafka again would
 * format and wipe the data dir under the live broker, and Redis holds the workers' state. Only the dead
 * one is started, on its recorded port, so the exported addresses stay right.
 */
export function planUp(state: InfraState | undefined, alive: (pid: number) => boolean): UpPlan {
  if (!state) return { kafka: 'start', redis: 'start' }
  return {
    kafka: alive(state.kafkaPid) ? 'keep' : 'start',
    redis: alive(state.redisPid) ? 'keep' : 'start',
  }
}

/**
 * Whether a process with this pid exists (signal 0 tests without signalling). 0 and below name no process
 * (kill(0) would test this process's own group, as alive): a pid infra:up has not recorded yet.
 */
export function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function printExports(s: InfraState): void {
  process.stdout.write(`export KAFKA_BROKERS=${s.kafkaBrokers}\nexport REDIS_URL=${s.redisUrl}\n`)
}

async function up(dir: string): Promise<void> {
  const stateFile = join(dir, 'infra.json')
  const old = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as InfraState) : undefined
  const plan = planUp(old, alive)
  if (old && plan.kafka === 'keep' && plan.redis === 'keep') {
    process.stderr.write('local Kafka and Redis already running\n')
    printExports(old)
    return
  }
  const dataDir = old?.dataDir ?? join(dir, 'kafka')
  // A process restarted alone goes back on the port its live partner's users were given.
  const kafkaPort = old
    ? Number(old.kafkaBrokers.split(':').at(-1))
    : Number(process.env.TP_KAFKA_PORT ?? 19092)
  const redisPort = old ? Number(new URL(old.redisUrl).port) : Number(process.env.TP_REDIS_PORT ?? 16379)
  // Recorded before anything starts, and again as each server is spawned: an up killed part way (or a
  // server failing to start while the other runs) leaves detached servers that infra:down finds here.
  // Before, the file was written once both were ready, and infra:down found "nothing to stop".
  const s: InfraState = {
    kafkaPid: plan.kafka === 'keep' ? old!.kafkaPid : 0,
    redisPid: plan.redis === 'keep' ? old!.redisPid : 0,
    kafkaBrokers: old?.kafkaBrokers ?? `127.0.0.1:${kafkaPort}`,
    redisUrl: old?.redisUrl ?? `redis://127.0.0.1:${redisPort}`,
    dataDir,
  }
  mkdirSync(dir, { recursive: true })
  const record = () => writeFileSync(stateFile, JSON.stringify(s, null, 2))
  record()
  const [kafka, redis] = await Promise.all([
    plan.kafka === 'start'
      ? startLocalKafka({
          dataDir,
          keepData: true,
          detached: true,
          port: kafkaPort,
          onSpawn: (pid) => {
            s.kafkaPid = pid
            record()
          },
        })
      : undefined,
    plan.redis === 'start'
      ? startLocalRedis({
          detached: true,
          port: redisPort,
          onSpawn: (pid) => {
            s.redisPid = pid
            record()
          },
        })
      : undefined,
  ])
  const kafkaNote = kafka
    ? `started, pid ${s.kafkaPid}, log ${kafka.logFile}`
    : `kept running, pid ${s.kafkaPid}`
  const redisNote = redis ? `started, pid ${s.redisPid}` : `kept running, pid ${s.redisPid}`
  process.stderr.write(`local Kafka (${kafkaNote}) and Redis (${redisNote}) are up\n`)
  printExports(s)
}

async function down(dir: string): Promise<void> {
  const stateFile = join(dir, 'infra.json')
  if (!existsSync(stateFile)) {
    process.stderr.write(`nothing to stop (no ${stateFile})\n`)
    return
  }
  const s = JSON.parse(readFileSync(stateFile, 'utf8')) as InfraState
  for (const pid of [s.kafkaPid, s.redisPid]) if (alive(pid)) process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + 20_000
  while ((alive(s.kafkaPid) || alive(s.redisPid)) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200))
  for (const pid of [s.kafkaPid, s.redisPid]) if (alive(pid)) process.kill(pid, 'SIGKILL')
  rmSync(s.dataDir, { recursive: true, force: true })
  rmSync(stateFile, { force: true })
  process.stderr.write('local Kafka and Redis stopped, data wiped\n')
}

if (import.meta.main) {
  const dir = process.env.TP_INFRA_DIR || join(REPO_ROOT, '.local')
  const cmd = process.argv[2]
  if (cmd === 'up') {
    await up(dir)
    process.exit(0)
  } else if (cmd === 'down') {
    await down(dir)
  } else {
    process.stderr.write('usage: pnpm infra:up | pnpm infra:down\n')
    process.exit(2)
  }
}

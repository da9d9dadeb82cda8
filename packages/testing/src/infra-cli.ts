// `pnpm infra:up` starts a local Kafka broker and Redis server for development and leaves them running;
// `pnpm infra:down` stops them. State lives in .local/infra.json.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT, startLocalKafka } from './local-kafka.ts'
import { startLocalRedis } from './local-redis.ts'

const STATE = join(REPO_ROOT, '.local', 'infra.json')
type State = { kafkaPid: number; redisPid: number; kafkaBrokers: string; redisUrl: string; dataDir: string }

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function printExports(s: State): void {
  process.stdout.write(`export KAFKA_BROKERS=${s.kafkaBrokers}\nexport REDIS_URL=${s.redisUrl}\n`)
}

const cmd = process.argv[2]
if (cmd === 'up') {
  if (existsSync(STATE)) {
    const s = JSON.parse(readFileSync(STATE, 'utf8')) as State
    if (alive(s.kafkaPid) && alive(s.redisPid)) {
      process.stderr.write('local Kafka and Redis already running\n')
      printExports(s)
      process.exit(0)
    }
  }
  const dataDir = join(REPO_ROOT, '.local', 'kafka')
  const kafkaPort = Number(process.env.TP_KAFKA_PORT ?? 19092)
  const redisPort = Number(process.env.TP_REDIS_PORT ?? 16379)
  const [kafka, redis] = await Promise.all([
    startLocalKafka({ dataDir, keepData: true, detached: true, port: kafkaPort }),
    startLocalRedis({ detached: true, port: redisPort }),
  ])
  const s: State = {
    kafkaPid: kafka.pid,
    redisPid: redis.pid,
    kafkaBrokers: kafka.brokers.join(','),
    redisUrl: redis.url,
    dataDir,
  }
  mkdirSync(join(REPO_ROOT, '.local'), { recursive: true })
  writeFileSync(STATE, JSON.stringify(s, null, 2))
  process.stderr.write(
    `local Kafka (pid ${s.kafkaPid}, log ${kafka.logFile}) and Redis (pid ${s.redisPid}) are up\n`,
  )
  printExports(s)
  process.exit(0)
} else if (cmd === 'down') {
  if (!existsSync(STATE)) {
    process.stderr.write('nothing to stop (no .local/infra.json)\n')
    process.exit(0)
  }
  const s = JSON.parse(readFileSync(STATE, 'utf8')) as State
  for (const pid of [s.kafkaPid, s.redisPid]) if (alive(pid)) process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + 20_000
  while ((alive(s.kafkaPid) || alive(s.redisPid)) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200))
  for (const pid of [s.kafkaPid, s.redisPid]) if (alive(pid)) process.kill(pid, 'SIGKILL')
  rmSync(s.dataDir, { recursive: true, force: true })
  rmSync(STATE, { force: true })
  process.stderr.write('local Kafka and Redis stopped, data wiped\n')
} else {
  process.stderr.write('usage: pnpm infra:up | pnpm infra:down\n')
  process.exit(2)
}

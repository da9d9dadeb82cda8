import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { alive } from './infra-cli.ts'
import { descendants } from './processes.ts'
import { waitFor } from './wait-for.ts'

const onPath = (command: string) => {
  try {
    execFileSync('which', [command], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

// What `tradepulse start --local-infra`'s keeper (and the int project's global setup) does: starts a
// broker and a Redis server with startLocalKafka and startLocalRedis, then keeps them.
const KEEPER = `
const { startLocalKafka } = await import(${JSON.stringify(join(import.meta.dirname, 'local-kafka.ts'))})
const { startLocalRedis } = await import(${JSON.stringify(join(import.meta.dirname, 'local-redis.ts'))})
const [kafka, redis] = await Promise.all([startLocalKafka({ heapMb: 256 }), startLocalRedis()])
process.stdout.write(JSON.stringify({ dataDir: kafka.dataDir, redisUrl: redis.url }) + '\\n')
setInterval(() => {}, 60_000)
`

describe('local Kafka and Redis servers whose starting process is killed outright', () => {
  it.skipIf(!onPath('java') || !onPath('redis-server'))(
    'stop when it is killed by SIGKILL, and their temporary data goes with them',
    { timeout: 180_000 },
    async () => {
      // Plain children of the process that started them: killed outright, it left both running with
      // parent PID 1 (and the broker's data in /tmp), as with SIGKILL of start --local-infra's keeper.
      const keeper = spawn(process.execPath, ['--input-type=module', '-e', KEEPER], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      let err = ''
      keeper.stdout.on('data', (d) => {
        out += d
      })
      keeper.stderr.on('data', (d) => {
        err += d
      })
      const exited = new Promise((r) => keeper.once('exit', r))
      let servers: { pid: number; comm: string }[] = []
      try {
        const up = await waitFor(() => out.includes('\n') && JSON.parse(out), {
          what: `the keeper's servers up (stderr: ${err})`,
          timeoutMs: 150_000,
        })
        servers = descendants(keeper.pid!).filter((p) => ['java', 'redis-server'].includes(p.comm))
        expect(servers.map((p) => p.comm).sort(), JSON.stringify(descendants(keeper.pid!))).toEqual([
          'java',
          'redis-server',
        ])
        expect(existsSync(up.dataDir)).toBe(true)

        keeper.kill('SIGKILL')
        await exited
        await waitFor(() => !servers.some((p) => alive(p.pid)), {
          what: 'the broker and the Redis server to stop after their keeper was killed',
          timeoutMs: 40_000,
        })
        await waitFor(() => !existsSync(up.dataDir), { what: `${up.dataDir} removed` })
      } finally {
        keeper.kill('SIGKILL')
        for (const p of servers) if (alive(p.pid)) process.kill(p.pid, 'SIGKILL')
      }
    },
  )
})

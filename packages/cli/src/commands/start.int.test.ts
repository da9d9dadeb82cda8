import { type ChildProcess, execFileSync } from 'node:child_process'
import { stripVTControlCharacters } from 'node:util'
import { randomName, testInfra, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { spawnCli } from '../test-helpers.ts'

/** `tradepulse start ...` spawned with only `env` (and PATH). */
function startCli(args: string[], env: Record<string, string>) {
  return spawnCli(['start', ...args], env)
}

/** The processes `child` has started, by command name. */
function childProcesses(child: ChildProcess): Map<string, number> {
  let listing = ''
  try {
    listing = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(child.pid)]).toString()
  } catch {
    // none: ps exits 1
  }
  return new Map(
    listing
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [pid, comm] = line.trim().split(/\s+/)
        return [comm!, Number(pid)]
      }),
  )
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const onPath = (command: string) => {
  try {
    execFileSync('which', [command], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

describe('tradepulse start on a signal during its startup, on Kafka and Redis', { timeout: 60_000 }, () => {
  it('stops the workers that started, starts no more, and exits 0 with one line saying so', async () => {
    const { kafkaBrokers, redisUrl } = testInfra()
    const { child, output, exited } = startCli(['--no-sample'], {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      TRADEPULSE_TOPIC_PREFIX: `${randomName('start-signal')}.`,
      REDIS_KEY_PREFIX: randomName('start-signal'),
      // The workers' own lines: which started, which stopped.
      LOG_LEVEL: 'info',
    })
    // The first worker (ingest) is starting: creating the topics, joining its group, the others to come.
    await waitFor(() => /health and metrics listening/.test(output.err), {
      what: 'the first worker starting',
      timeoutMs: 60_000,
    })
    child.kill('SIGINT')
    expect(await exited, output.err).toEqual([0, null])
    expect(output.err).toContain('tradepulse: stopped by SIGINT during startup\n')
    expect(output.err).not.toMatch(/^Running /m)
    // Each worker that started has stopped, and the one starting at the signal was stopped where it was
    // (it ends its start at the current step: "stopped while starting"); the rest never started.
    const lines = stripVTControlCharacters(output.err)
    const started = [...lines.matchAll(/: (\w+) started$/gm)].map((m) => m[1])
    const stopped = [...lines.matchAll(/: (\w+) stopped$/gm)].map((m) => m[1])
    const cut = [...lines.matchAll(/: (\w+) stopped while starting$/gm)].map((m) => m[1])
    expect(started.length + cut.length, lines).toBeGreaterThan(0)
    expect(started.length + cut.length, lines).toBeLessThan(5)
    expect(stopped, lines).toEqual(expect.arrayContaining([...started, ...cut]))
  })

  it.skipIf(!onPath('java') || !onPath('redis-server'))(
    'with --local-infra, stops the local broker and Redis server while they start, and exits 0 with one line saying so',
    async () => {
      const { child, output, exited } = startCli(['--local-infra', '--no-sample'], {
        // The local broker (jars) and redis-server: child processes of the CLI's.
        TRADEPULSE_NO_DOCKER: '1',
        TRADEPULSE_TOPIC_PREFIX: `${randomName('start-signal')}.`,
      })
      const started = await waitFor(
        () => {
          const running = childProcesses(child)
          return running.has('java') && running.has('redis-server') && running
        },
        { what: 'the local broker and Redis server starting', timeoutMs: 60_000 },
      )
      child.kill('SIGINT')
      expect(await exited, output.err).toEqual([0, null])
      expect(output.err).toContain('tradepulse: stopped by SIGINT during startup\n')
      expect(output.err).not.toMatch(/^Running /m)
      expect([...started.values()].filter(alive), output.err).toEqual([])
    },
  )
})

import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runningBroker, startLocalKafka } from './local-kafka.ts'

describe('startLocalKafka on a data dir a broker still runs on', () => {
  const cleanups: (() => void)[] = []
  afterEach(() => {
    for (const c of cleanups.splice(0)) c()
  })
  function dataDirWithLogs(): string {
    const dir = mkdtempSync(join(tmpdir(), 'local-kafka-test-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    mkdirSync(join(dir, 'logs'))
    writeFileSync(join(dir, 'logs', 'segment'), 'data')
    return dir
  }
  /** A stand-in broker process: its command line names the data dir's server.properties, as the real one's does. */
  function fakeBroker(dir: string): number {
    const child = spawn(
      process.execPath,
      ['-e', 'setTimeout(() => {}, 60_000)', join(dir, 'server.properties')],
      {
        stdio: 'ignore',
      },
    )
    cleanups.push(() => child.kill('SIGKILL'))
    return child.pid!
  }

  it('refuses, naming the pid and pnpm infra:down, and leaves the data alone', async () => {
    const dir = dataDirWithLogs()
    const pid = fakeBroker(dir)
    writeFileSync(join(dir, 'broker.pid'), String(pid))
    expect(runningBroker(dir)).toBe(pid)
    await expect(startLocalKafka({ dataDir: dir, keepData: true })).rejects.toThrow(
      `a Kafka broker (pid ${pid}) is still running on ${dir}; stop it first (pnpm infra:down)`,
    )
    expect(existsSync(join(dir, 'logs', 'segment'))).toBe(true)
  })
  it('counts no broker for a missing pid file, a dead pid, or a live process that is not this dir’s broker', () => {
    const dir = dataDirWithLogs()
    expect(runningBroker(dir)).toBeUndefined()
    writeFileSync(join(dir, 'broker.pid'), '999999999')
    expect(runningBroker(dir)).toBeUndefined()
    if (existsSync('/proc/self/cmdline')) {
      writeFileSync(join(dir, 'broker.pid'), String(process.pid)) // alive, but not a broker on this dir
      expect(runningBroker(dir)).toBeUndefined()
    }
  })
})

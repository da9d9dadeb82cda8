import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { alive } from './infra-cli.ts'
import { spawnTethered } from './tether.ts'
import { waitFor } from './wait-for.ts'

// A stand-in server: writes its pid to a file, says which signal stopped it, exits 3 on its own if told.
const SERVER = `
const fs = require('node:fs')
fs.writeFileSync(process.argv[1], String(process.pid))
process.on('SIGTERM', () => { fs.writeFileSync(process.argv[1] + '.signal', 'SIGTERM'); process.exit(0) })
if (process.argv[2] === 'exit3') setTimeout(() => process.exit(3), 50)
else setInterval(() => {}, 60_000)
`

describe('a server spawned tethered', () => {
  const cleanups: (() => void)[] = []
  afterEach(() => {
    for (const c of cleanups.splice(0)) c()
  })
  function scratch(): string {
    const dir = mkdtempSync(join(tmpdir(), 'tether-test-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    return dir
  }
  // The pid once written: the file exists, empty, between its creation and the write, and Number('') is 0
  // (a value to waitFor; alive(0) is false, so "the server stopped" held at once).
  const serverPid = (file: string) =>
    waitFor(() => (existsSync(file) && Number(readFileSync(file, 'utf8'))) || undefined, {
      what: 'the server up',
    })

  it('is sent SIGTERM when the process that started it is killed by SIGKILL, and its directory is removed', async () => {
    const dir = scratch()
    const data = mkdtempSync(join(tmpdir(), 'tether-data-'))
    cleanups.push(() => rmSync(data, { recursive: true, force: true }))
    const pidFile = join(dir, 'server.pid')
    const starter = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { spawnTethered } = await import(${JSON.stringify(join(import.meta.dirname, 'tether.ts'))})
         spawnTethered(process.execPath, ['-e', ${JSON.stringify(SERVER)}, ${JSON.stringify(pidFile)}], [${JSON.stringify(data)}], 'ignore')
         setInterval(() => {}, 60_000)`,
      ],
      { stdio: 'ignore' },
    )
    const pid = await serverPid(pidFile)
    cleanups.push(() => alive(pid) && process.kill(pid, 'SIGKILL'))
    starter.kill('SIGKILL')
    await waitFor(() => !alive(pid), { what: 'the server stopped after its starter was killed' })
    expect(readFileSync(`${pidFile}.signal`, 'utf8')).toBe('SIGTERM')
    await waitFor(() => !existsSync(data), { what: `${data} removed` })
  })

  it('passes a stop on to the server and exits as it does; the directory goes once it has exited', async () => {
    const dir = scratch()
    const data = mkdtempSync(join(tmpdir(), 'tether-data-'))
    const pidFile = join(dir, 'server.pid')
    const child = spawnTethered(process.execPath, ['-e', SERVER, pidFile], [data], 'ignore')
    const exited = new Promise((r) => child.once('exit', (code, signal) => r([code, signal])))
    const pid = await serverPid(pidFile)
    expect(pid).not.toBe(child.pid)
    child.kill('SIGTERM')
    expect(await exited).toEqual([0, null])
    expect(readFileSync(`${pidFile}.signal`, 'utf8')).toBe('SIGTERM')
    expect(alive(pid)).toBe(false)
    expect(existsSync(data)).toBe(false)
  })

  it('exits with the code of a server that ends on its own', async () => {
    const pidFile = join(scratch(), 'server.pid')
    const child = spawnTethered(process.execPath, ['-e', SERVER, pidFile, 'exit3'], [], 'ignore')
    expect(await new Promise((r) => child.once('exit', (code, signal) => r([code, signal])))).toEqual([
      3,
      null,
    ])
  })
})

import { spawn, spawnSync } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import type { KafkaWorker } from '@tradepulse/platform'
import { createLogger } from '@tradepulse/platform'
import { waitFor } from '@tradepulse/testing'
import type { Infra } from '@tradepulse/testing/infra'
import { describe, expect, it } from 'vitest'
import { kafkaRun } from './start.ts'
import { createStartSignals } from './start-signals.ts'

/** A promise and its resolve. */
function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** Whether `p` has settled after the pending callbacks have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false
  void p.then(
    () => {
      done = true
    },
    () => {
      done = true
    },
  )
  await new Promise((r) => setImmediate(r))
  return done
}

describe('createStartSignals', () => {
  function listen({ terminal = false } = {}) {
    const from = new EventEmitter()
    const written: string[] = []
    const exits: number[] = []
    const signals = createStartSignals({
      from,
      out: { write: (line: string) => written.push(line) > 0 },
      exit: (code) => {
        exits.push(code)
      },
      terminal,
    })
    return { from, written, exits, signals }
  }

  it('before anything has started, a signal says so in one line and exits 0', () => {
    const { from, written, exits } = listen()
    from.emit('SIGTERM', 'SIGTERM')
    expect(written).toEqual(['tradepulse: stopped by SIGTERM during startup\n'])
    expect(exits).toEqual([0])
  })

  it("during the startup, a signal says so once and calls the run's stop with it, a second one the stop again with its own", () => {
    const { from, written, exits, signals } = listen()
    const stops: string[] = []
    signals.stopWith((signal) => stops.push(signal))
    from.emit('SIGINT', 'SIGINT')
    from.emit('SIGTERM', 'SIGTERM')
    expect(written).toEqual(['tradepulse: stopped by SIGINT during startup\n'])
    expect(stops).toEqual(['SIGINT', 'SIGTERM'])
    expect(exits).toEqual([])
  })

  it('in a terminal, takes SIGHUP (the terminal hanging up) as it takes SIGINT and SIGTERM, from the first moment', () => {
    // SIGHUP was left to its default until the workers were built: a terminal closed during the startup
    // killed the process there.
    const { from, written, signals } = listen({ terminal: true })
    const stops: string[] = []
    signals.stopWith((signal) => stops.push(signal))
    expect(signals.hangupStops).toBe(true)
    signals.holdHangups()
    from.emit('SIGHUP', 'SIGHUP')
    from.emit('SIGHUP', 'SIGHUP')
    expect(written).toEqual(['tradepulse: stopped by SIGHUP during startup\n'])
    expect(stops).toEqual(['SIGHUP', 'SIGHUP'])
    signals.release()
    expect(from.listenerCount('SIGHUP')).toBe(0)
  })

  it('outside a terminal, leaves SIGHUP to its default but while held, when it says there is nothing to reload yet', () => {
    const { from, written, exits, signals } = listen()
    let stops = 0
    signals.stopWith(() => stops++)
    expect(signals.hangupStops).toBe(false)
    expect(from.listenerCount('SIGHUP')).toBe(0)
    const unhold = signals.holdHangups()
    from.emit('SIGHUP', 'SIGHUP')
    expect(written).toEqual([
      'SIGHUP during startup: nothing to reload yet; the alerter reads its rules as it starts\n',
    ])
    expect([stops, exits]).toEqual([0, []])
    unhold()
    expect(from.listenerCount('SIGHUP')).toBe(0)
    // Still the startup's first stop: its line comes with it.
    from.emit('SIGTERM', 'SIGTERM')
    expect(written.at(-1)).toBe('tradepulse: stopped by SIGTERM during startup\n')
    signals.holdHangups()
    signals.release()
    expect(from.listenerCount('SIGHUP')).toBe(0)
  })

  it('once running, a signal calls the stop alone; released, it is left to others', () => {
    const { from, written, signals } = listen()
    let stops = 0
    signals.stopWith(() => stops++)
    signals.running()
    from.emit('SIGINT', 'SIGINT')
    expect([written, stops]).toEqual([[], 1])
    signals.release()
    expect(from.listenerCount('SIGINT') + from.listenerCount('SIGTERM')).toBe(0)
  })
})

describe('kafkaRun: a stop during the startup', () => {
  const log = createLogger({ level: 'silent' })

  function run() {
    const exits: number[] = []
    const r = kafkaRun(log, 60_000, ((code: number) => {
      exits.push(code)
    }) as (code: number) => never)
    return { r, exits }
  }

  function worker(name: string, stopped: string[]): KafkaWorker {
    return { stop: async () => void stopped.push(name) } as unknown as KafkaWorker
  }

  it('stops the workers built so far, in reverse, then exits 0', async () => {
    const { r, exits } = run()
    const stopped: string[] = []
    r.apps.push(worker('ingest', stopped), worker('scorer', stopped))
    await r.interrupt('SIGINT')
    expect(stopped).toEqual(['scorer', 'ingest'])
    expect(exits).toEqual([0])
  })

  it('names a failed stop by what failed, and a stop past the deadline by the step still under way', async () => {
    // The failed stop's line was 'stop failed' alone, and the deadline's named no worker nor step.
    const lines: string[] = []
    const logged = createLogger(
      { level: 'error' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk))
          done()
        },
      }),
    )
    const exits: number[] = []
    const run = kafkaRun(logged, 200, ((code: number) => {
      exits.push(code)
    }) as (code: number) => never)
    const kafkaDown = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), {
      name: 'KafkaJSConnectionError',
    })
    run.apps.push(
      {
        stop: () => new Promise<void>(() => {}),
        stopStep: () => 'disconnecting the Kafka consumer',
      } as unknown as KafkaWorker,
      { stop: async () => Promise.reject(kafkaDown) } as unknown as KafkaWorker,
    )
    void run.stopAll(0)
    await waitFor(() => exits.length > 0)
    const msgs = lines.map((l) => JSON.parse(l).msg as string)
    expect(msgs[0]).toMatch(/^stop failed: cannot reach Kafka at .*KAFKA_BROKERS/)
    expect(msgs[1]).toBe(
      'graceful stop exceeded its deadline; exiting (still disconnecting the Kafka consumer)',
    )
    expect(exits).toEqual([1])
  })

  it("exits at once on a second signal while it stops, with that signal's code: 143 for SIGTERM, 130 for SIGINT", async () => {
    // It exited 130 whatever the second signal was: a supervisor's second SIGTERM read as a Ctrl-C.
    for (const [first, second, code] of [
      ['SIGTERM', 'SIGTERM', 143],
      ['SIGINT', 'SIGINT', 130],
      ['SIGINT', 'SIGTERM', 143],
      ['SIGHUP', 'SIGHUP', 129],
    ] as const) {
      const { r, exits } = run()
      const stopping = deferred<void>()
      r.apps.push({ stop: () => stopping.promise } as unknown as KafkaWorker)
      const stop = r.interrupt(first)
      void r.interrupt(second)
      expect([first, second, exits]).toEqual([first, second, [code]])
      stopping.resolve()
      await stop
    }
  })

  it('lets a stop already under way exit on its own when asked to stop again (the end of the sample, a failed worker)', async () => {
    const { r, exits } = run()
    const stopping = deferred<void>()
    r.apps.push({ stop: () => stopping.promise } as unknown as KafkaWorker)
    const first = r.stopAll(0)
    const again = r.stopAll(1)
    expect(exits).toEqual([])
    stopping.resolve()
    await first
    expect(exits).toEqual([0])
    expect(await settled(again)).toBe(false)
  })

  it('stops the local infrastructure still starting once it is up, and only then exits', async () => {
    const { r, exits } = run()
    const starting = deferred<Infra>()
    let infraStops = 0
    const up = r.step(r.startInfra(starting.promise))
    const stop = r.stopAll(0)
    expect(await settled(stop)).toBe(false)
    expect(exits).toEqual([])
    starting.resolve({
      kafkaBrokers: ['127.0.0.1:1'],
      redisUrl: 'redis://127.0.0.1:1',
      source: 'local',
      stop: async () => {
        infraStops++
      },
    })
    await stop
    expect([infraStops, exits]).toEqual([1, [0]])
    // The startup goes no further: its step neither resolves nor rejects.
    expect(await settled(up)).toBe(false)
  })

  it('exits 1 with an error line when a stop hangs on nothing that keeps the process alive', () => {
    // The deadline's timer was unref'd, as runUntilSignal's was (lifecycle.ts): with a worker's stop
    // waiting on a promise nothing would settle and nothing else holding the process, it ran out of work
    // and ended before the deadline, with no line and a code that was not 1, taken for a clean stop.
    const dir = mkdtempSync(join(tmpdir(), 'tp-start-stop-'))
    const script = join(dir, 'hang.mjs')
    const url = (file: string) => JSON.stringify(pathToFileURL(join(import.meta.dirname, file)).href)
    writeFileSync(
      script,
      `import { kafkaRun } from ${url('start.ts')}
const log = { error: (_, msg) => process.stderr.write(msg + '\\n') }
const run = kafkaRun(log, 300)
let keep = setInterval(() => {}, 1000)
run.apps.push({ stop: async () => { clearInterval(keep); await new Promise(() => {}) } })
void run.interrupt('SIGTERM')
`,
    )
    try {
      const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 })
      expect(r.stderr).toContain('graceful stop exceeded its deadline; exiting')
      expect(r.status).toBe(1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)

  it("stops gracefully on a terminal's SIGHUP without the alerter, as on SIGTERM", async () => {
    // reloadRulesOnHangup returned early without an app that has rules: `start --workers
    // scorer,aggregator` in a terminal took the hangup by SIGHUP's default, killed at once, no worker stopped.
    const dir = mkdtempSync(join(tmpdir(), 'tp-start-hup-'))
    const script = join(dir, 'hup.mjs')
    const url = (file: string) => JSON.stringify(pathToFileURL(join(import.meta.dirname, file)).href)
    writeFileSync(
      script,
      `import { kafkaRun } from ${url('start.ts')}
import { reloadRulesOnHangup } from ${url('../reload-on-hangup.ts')}
const log = { error: (_, msg) => process.stderr.write(msg + '\\n') }
const run = kafkaRun(log, 10000)
const keep = setInterval(() => {}, 1000)
const worker = (name) => ({ stop: async () => { process.stderr.write(name + ' stopped\\n'); clearInterval(keep) } })
run.apps.push(worker('scorer'), worker('aggregator'))
reloadRulesOnHangup(run.apps, { terminal: true, stop: () => void run.interrupt('SIGHUP') })
process.stderr.write('ready\\n')
`,
    )
    try {
      const child = spawn(process.execPath, [script], { stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (d) => {
        stderr += d
      })
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.once('exit', (code, signal) => resolve([code, signal])),
      )
      await waitFor(() => stderr.includes('ready\n'), { timeoutMs: 20_000, what: 'the run to listen' })
      child.kill('SIGHUP')
      expect(await exited, stderr).toEqual([0, null])
      expect(stderr).toBe('ready\naggregator stopped\nscorer stopped\n')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)

  it('lets a step through before any stop, its failure too', async () => {
    const { r } = run()
    expect(await r.step(Promise.resolve(7))).toBe(7)
    await expect(r.step(Promise.reject(new Error('unreachable')))).rejects.toThrow('unreachable')
  })

  it('goes no step further once a stop is under way, whether the step succeeds or fails', async () => {
    const { r } = run()
    const ok = deferred<number>()
    const failing = deferred<number>()
    const steps = [r.step(ok.promise), r.step(failing.promise.then(() => Promise.reject(new Error('x'))))]
    await r.stopAll(0)
    ok.resolve(1)
    failing.resolve(1)
    for (const step of steps) expect(await settled(step)).toBe(false)
  })
})

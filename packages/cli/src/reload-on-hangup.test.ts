import { PassThrough } from 'node:stream'
import type { KafkaWorker } from '@tradepulse/platform'
import { afterEach, describe, expect, it } from 'vitest'
import { reloadRulesOnHangup } from './reload-on-hangup.ts'

// A stand-in for the alerter: counts its reloads. SIGHUP is emitted on the process object, which runs
// the listeners without a real signal.
function alerterStandIn() {
  const app = {
    reloads: 0,
    reloadRules() {
      app.reloads++
      return { result: 'ok', rulesVersion: 'v-test' }
    },
  }
  return app
}

describe('reloadRulesOnHangup', () => {
  const undo: (() => void)[] = []
  afterEach(() => {
    for (const u of undo.splice(0)) u()
  })

  /** Listens with an alerter stand-in, sends one SIGHUP, and reports what came of it. */
  function hangUp(terminal: boolean) {
    const app = alerterStandIn()
    const out = new PassThrough()
    let stopped = 0
    undo.push(reloadRulesOnHangup([app as unknown as KafkaWorker], { out, terminal, stop: () => stopped++ }))
    process.emit('SIGHUP', 'SIGHUP')
    return { reloads: app.reloads, stopped, written: out.read() as Buffer | null }
  }

  it('outside a terminal, reloads the rules of every app that has them and says so', () => {
    const r = hangUp(false)
    expect(r.reloads).toBe(1)
    expect(r.stopped).toBe(0)
    expect(String(r.written)).toBe('SIGHUP: rules ok (v-test)\n')
  })

  it('in a terminal, stops the run instead: the hangup is the terminal going away', () => {
    const r = hangUp(true)
    expect(r.stopped).toBe(1)
    expect(r.reloads).toBe(0)
    expect(r.written).toBeNull()
  })

  it('leaves SIGHUP alone outside a terminal without an app that has rules', () => {
    const before = process.listenerCount('SIGHUP')
    undo.push(reloadRulesOnHangup([{} as KafkaWorker], { terminal: false }))
    expect(process.listenerCount('SIGHUP')).toBe(before)
  })

  it('in a terminal, stops the run without an app that has rules too', () => {
    // It returned early without one: a terminal's hangup of `start --workers scorer,aggregator` was
    // SIGHUP's default, the process killed with no worker stopped.
    let stopped = 0
    undo.push(reloadRulesOnHangup([{} as KafkaWorker], { terminal: true, stop: () => stopped++ }))
    process.emit('SIGHUP', 'SIGHUP')
    expect(stopped).toBe(1)
  })

  it('stops listening when told to', () => {
    const app = alerterStandIn()
    const off = reloadRulesOnHangup([app as unknown as KafkaWorker], {
      out: new PassThrough(),
      terminal: false,
    })
    off()
    process.emit('SIGHUP', 'SIGHUP')
    expect(app.reloads).toBe(0)
  })
})

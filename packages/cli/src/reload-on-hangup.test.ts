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

  it('outside a terminal, reloads the rules of every app that has them and says so', () => {
    const app = alerterStandIn()
    const out = new PassThrough()
    let stopped = 0
    undo.push(
      reloadRulesOnHangup([app as unknown as KafkaWorker], { out, terminal: false, stop: () => stopped++ }),
    )
    process.emit('SIGHUP', 'SIGHUP')
    expect(app.reloads).toBe(1)
    expect(stopped).toBe(0)
    expect(String(out.read())).toBe('SIGHUP: rules ok (v-test)\n')
  })

  it('in a terminal, stops the run instead: the hangup is the terminal going away', () => {
    const app = alerterStandIn()
    const out = new PassThrough()
    let stopped = 0
    undo.push(
      reloadRulesOnHangup([app as unknown as KafkaWorker], { out, terminal: true, stop: () => stopped++ }),
    )
    process.emit('SIGHUP', 'SIGHUP')
    expect(stopped).toBe(1)
    expect(app.reloads).toBe(0)
    expect(out.read()).toBeNull()
  })

  it('leaves SIGHUP alone without an app that has rules', () => {
    const before = process.listenerCount('SIGHUP')
    undo.push(reloadRulesOnHangup([{} as KafkaWorker], { terminal: false }))
    expect(process.listenerCount('SIGHUP')).toBe(before)
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

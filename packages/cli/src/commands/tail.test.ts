import { EventEmitter } from 'node:events'
import { formatPair } from '@tradepulse/alerting'
import type { Alert } from '@tradepulse/contracts'
import { testAlert } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { closeOnSignals, formatAlert, ruleColumnWidth, ruleIdsOf } from './tail.ts'

const alert = (over: Partial<Alert>) => testAlert('a1', over)

describe('formatAlert', () => {
  it('shows the detection time, or with time: published the headline time (a played feed)', () => {
    // Detected long after its headline's time, as an alert of a played feed is.
    const played = alert({ detectedAt: '2026-12-05T10:00:00.012Z' })
    expect(formatAlert(played)).toMatch(/^2026-12-05 10:00:00 {2}CRIT/)
    expect(formatAlert(played, { time: 'published' })).toMatch(/^2026-03-02 14:30:00 {2}CRIT/)
  })

  it('shows enough decimals to tell a value from its threshold', () => {
    expect(formatPair(0.8049, 0.8)).toEqual(['0.805', '0.8'])
    expect(formatPair(-0.80004, -0.8)).toEqual(['-0.8', '-0.8'])
    expect(formatPair(0.5512, 0.5)).toEqual(['0.55', '0.5'])
    expect(formatAlert(alert({ value: 0.8049, threshold: 0.8, direction: 'up' }))).toContain(
      '▲ tariff 0.805 vs 0.8',
    )
  })

  it('keeps the columns aligned with rule ids longer than 24 characters', () => {
    const ids = ruleIdsOf()
    // The default rules have ids past the old 24-character column.
    expect(Math.max(...ids.map((id) => id.length))).toBeGreaterThan(24)
    const width = ruleColumnWidth(ids)
    const lines = ids.map((rule) => formatAlert(alert({ rule }), { ruleWidth: width }).split('\n')[0]!)
    const scopeAt = new Set(lines.map((l) => l.indexOf('region:CN')))
    expect(scopeAt.size).toBe(1)
    // An id past 40 characters is cut, not let out of its column.
    const long = formatAlert(alert({ rule: 'x'.repeat(60) }), {
      ruleWidth: ruleColumnWidth(['x'.repeat(60)]),
    })
    expect(long).toContain(`${'x'.repeat(39)}…  region:CN`)
  })

  it("escapes control characters a producer put in an alert's text (an alert on the topic is anyone's)", () => {
    const esc = '\x1b]0;pwned\x07\x1b[2J'
    const shown = formatAlert(
      alert({
        rule: `r${esc}`,
        scope: { kind: 'region', id: `CN${esc}` },
        message: `m${esc}`,
        evidence: [{ headlineId: 'h', headline: `h${esc}`, score: -0.8, cues: [`c${esc}`] }],
      }),
    )
    expect(shown).not.toContain('\x1b')
    expect(shown).not.toContain('\x07')
    // Scope, message, headline and cue whole; the rule cut to its column.
    expect(shown.match(/\\u001b\]0;pwned\\u0007\\u001b\[2J/g)).toHaveLength(4)
    expect(shown).toContain('r\\u001b]0;pwned\\u0007')
  })
})

describe('closeOnSignals', () => {
  function tailing() {
    const from = new EventEmitter()
    const exits: number[] = []
    let closes = 0
    let closed: () => void = () => {}
    closeOnSignals(
      () => {
        closes++
        return new Promise<void>((r) => {
          closed = r
        })
      },
      { from, exit: (code) => void exits.push(code) },
    )
    return { from, exits, closes: () => closes, close: () => closed() }
  }

  it('closes the consumer on a signal and exits 0 once it is closed', async () => {
    const { from, exits, closes, close } = tailing()
    from.emit('SIGTERM', 'SIGTERM')
    expect([closes(), exits]).toEqual([1, []])
    close()
    await new Promise((r) => setImmediate(r))
    expect(exits).toEqual([0])
  })

  it("exits at once on a second signal while closing, with that signal's code: 143 for SIGTERM, 130 for SIGINT", () => {
    // It exited 130 whatever the second signal was: a supervisor's second SIGTERM read as a Ctrl-C.
    for (const [first, second, code] of [
      ['SIGTERM', 'SIGTERM', 143],
      ['SIGINT', 'SIGINT', 130],
      ['SIGINT', 'SIGTERM', 143],
    ] as const) {
      const { from, exits, closes } = tailing()
      from.emit(first, first)
      from.emit(second, second)
      expect([first, second, closes(), exits]).toEqual([first, second, 1, [code]])
    }
  })
})

import { describe, expect, it } from 'vitest'
import { type HysteresisEntry, stepHysteresis } from './hysteresis.ts'

const up = { side: 'up' as const, line: 3, hysteresis: 1 }
const down = { side: 'down' as const, line: -0.5, hysteresis: 0.1 }

/** Runs values through one line, returning which ones fired. */
function fires(line: typeof up | typeof down, values: number[]): boolean[] {
  let entry: HysteresisEntry | undefined
  return values.map((v, i) => {
    const step = stepHysteresis(entry, v, i, line)
    if ('stale' in step) throw new Error('unexpected stale step')
    entry = step.next
    return step.fire
  })
}

describe('stepHysteresis', () => {
  it('up: fires at ≥ line, re-arms only below line − hysteresis', () => {
    expect(fires(up, [2, 3, 4, 2.5, 2, 3, 1.9, 3])).toEqual([
      false,
      true,
      false,
      false,
      false,
      false,
      false,
      true,
    ])
  })

  it('down: fires at ≤ line, re-arms only above line + hysteresis', () => {
    expect(fires(down, [-0.5, -0.45, -0.41, -0.39, -0.6])).toEqual([true, false, false, false, true])
  })

  it('re-arms as soon as the value is back across the line when the hysteresis is 0', () => {
    expect(fires({ ...up, hysteresis: 0 }, [3, 2.99, 3])).toEqual([true, false, true])
  })

  it('treats an older update as stale and an equal one as current', () => {
    const prev = { armed: true, lastValue: 0, asOfMs: 10 }
    expect(stepHysteresis(prev, 5, 9, up)).toEqual({ fire: false, stale: true })
    expect(stepHysteresis(prev, 5, 10, up)).toEqual({
      fire: true,
      next: { armed: false, lastValue: 5, asOfMs: 10 },
    })
  })

  it('treats an update at the same asOf behind fewer headlines as stale: the older reading, published last', () => {
    const prev = { armed: false, lastValue: -0.6, asOfMs: 10, count: 21 }
    const down = { side: 'down' as const, line: -0.5, hysteresis: 0.15 }
    // Read before a late headline was applied (20), after the reading with it (21): no re-arm.
    expect(stepHysteresis(prev, -0.2, 10, down, 20)).toEqual({ fire: false, stale: true })
    expect(stepHysteresis(prev, -0.2, 10, down, 21)).toEqual({
      fire: false,
      next: { armed: true, lastValue: -0.2, asOfMs: 10, count: 21 },
    })
    // Without counts (an entry written before they were kept), the same asOf is current.
    expect(stepHysteresis({ armed: false, lastValue: -0.6, asOfMs: 10 }, -0.2, 10, down, 20)).toMatchObject({
      next: { armed: true },
    })
    expect(stepHysteresis(prev, -0.2, 10, down)).toMatchObject({ next: { armed: true } })
  })

  it('re-arms a disarmed line first when what it read during a silence is back past the band', () => {
    const prev = { armed: false, lastValue: -0.62, asOfMs: 10, count: 4 }
    // This update reads -0.42: inside the band, so on its own it neither fires nor re-arms.
    expect(stepHysteresis(prev, -0.42, 20, down, 5)).toMatchObject({ fire: false, next: { armed: false } })
    // The silence before it took the value back above -0.4: re-armed, and this value is not past the line.
    expect(stepHysteresis(prev, -0.42, 20, down, 5, { lo: -0.01, hi: 0 })).toEqual({
      fire: false,
      next: { armed: true, lastValue: -0.42, asOfMs: 20, count: 5 },
    })
    // Re-armed by the silence and past the line now: fires.
    expect(stepHysteresis(prev, -0.7, 20, down, 8, { lo: -0.01, hi: 0 })).toMatchObject({ fire: true })
    // Only a range wholly back past the band counts (a bound reaching into it is not known to be back).
    expect(stepHysteresis(prev, -0.7, 20, down, 8, { lo: -0.45, hi: 0 })).toMatchObject({ fire: false })
    // Up lines mirror it; a stale update stays stale.
    const upPrev = { armed: false, lastValue: 3.5, asOfMs: 10, count: 4 }
    expect(stepHysteresis(upPrev, 3.2, 20, up, 9, { lo: Number.NEGATIVE_INFINITY, hi: 0 })).toMatchObject({
      fire: true,
    })
    expect(stepHysteresis(upPrev, 3.2, 20, up, 9, { lo: 1.5, hi: 2.5 })).toMatchObject({ fire: false })
    expect(stepHysteresis(prev, -0.7, 9, down, 8, { lo: 0, hi: 0 })).toEqual({ fire: false, stale: true })
  })
})

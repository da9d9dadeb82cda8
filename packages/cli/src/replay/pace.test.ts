import { afterEach, describe, expect, it, vi } from 'vitest'
import { createPacer, type PaceClock } from './pace.ts'

/** A clock that moves only when slept on (by `late` ms more than asked) or moved by the test. */
function testClock(late = 0): PaceClock & { t: number; slept: number[] } {
  const clock: PaceClock & { t: number; slept: number[] } = {
    t: 0,
    slept: [],
    now: () => clock.t,
    sleep: async (ms) => {
      clock.slept.push(ms)
      clock.t += ms + late
    },
  }
  return clock
}

describe('createPacer', () => {
  it('sends the first batch at once and each next one when the rows before have had their time', async () => {
    const clock = testClock()
    const pace = createPacer(10, clock)
    const sentAt: number[] = []
    for (const rows of [1, 1, 2, 1]) {
      await pace(rows)
      sentAt.push(clock.t)
    }
    // 10 a second: 100 ms a row.
    expect(sentAt).toEqual([0, 100, 200, 400])
  })
  it('starts again after a quiet spell, never sending the rows of the spell faster than the rate', async () => {
    // Paced from the first send, the five rows that came after 10 s went at once: their time was past.
    const clock = testClock()
    const pace = createPacer(10, clock)
    await pace(1)
    clock.t = 10_000
    const sentAt: number[] = []
    for (let i = 0; i < 5; i++) {
      await pace(1)
      sentAt.push(clock.t)
    }
    expect(sentAt).toEqual([10_000, 10_100, 10_200, 10_300, 10_400])
  })
  it('starts again after a send that took longer than its time, not sending the next ones faster', async () => {
    const clock = testClock()
    const pace = createPacer(10, clock)
    await pace(1)
    clock.t += 350 // the send took 350 ms of the 100 ms its row had
    const sentAt: number[] = []
    for (let i = 0; i < 3; i++) {
      await pace(1)
      sentAt.push(clock.t)
    }
    expect(sentAt).toEqual([350, 450, 550])
  })
  it('keeps the schedule when its timer fires late or a send takes part of its time, so the rate holds', async () => {
    const clock = testClock(3)
    const pace = createPacer(20, clock)
    const sentAt: number[] = []
    for (let i = 0; i < 5; i++) {
      await pace(1)
      sentAt.push(clock.t)
      clock.t += 10 // the send
    }
    // 50 ms a row from the first: each wait is what is left of it, the timer 3 ms late each time.
    expect(sentAt).toEqual([0, 53, 103, 153, 203])
    expect(clock.slept).toEqual([40, 37, 37, 37])
  })
  it('never waits longer than the batch before took, on a clock that runs back', async () => {
    // 1000 rows a second in batches of 500, the clock set back an hour before the fourth: it waited
    // 3,600,500 ms for it, the hour and its 500 ms.
    const clock = testClock()
    const pace = createPacer(1_000, clock)
    for (let i = 0; i < 6; i++) {
      if (i === 3) clock.t -= 3_600_000
      await pace(500)
    }
    expect(clock.slept).toEqual([500, 500, 500, 500, 500])
  })
})

describe('createPacer on its own clock', () => {
  afterEach(() => {
    vi.useRealTimers()
  })
  it('paces by the monotonic clock, whichever way the wall clock is set', async () => {
    vi.useFakeTimers()
    // Imported afresh under the fake timers, so that a clock the module took at load is the fake one too.
    vi.resetModules()
    const { createPacer: freshPacer } = await import('./pace.ts')
    const pace = freshPacer(1_000) // batches of 500 rows: 500 ms each
    let sent = 0
    const send = () => pace(500).then(() => sent++)
    await send()
    // The host's clock set back an hour (an NTP step, a VM snapshot restored), then on two hours: Date
    // moves, performance.now does not. Each batch still waits its 500 ms, no more (on Date.now it waited
    // the hour) and no less (on Date.now it went at once, two hours "due").
    for (const [i, step] of [-3_600_000, 7_200_000].entries()) {
      vi.setSystemTime(Date.now() + step)
      const next = send()
      await vi.advanceTimersByTimeAsync(499)
      expect(sent, `batch ${i + 2} before its time`).toBe(i + 1)
      await vi.advanceTimersByTimeAsync(1)
      expect(sent, `batch ${i + 2} at its time`).toBe(i + 2)
      await next
    }
  })
})

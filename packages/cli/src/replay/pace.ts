/** The clock a pacer reads and waits on (the real one by default; a test's own). */
export type PaceClock = { now: () => number; sleep: (ms: number) => Promise<void> }

/**
 * The process's monotonic clock, never the wall clock: Date.now moves with the host's time (an NTP step,
 * a VM restored from a snapshot, an operator's `date -s`), and a pacer on it set back an hour waited an
 * hour before its next batch, a live pipe's rows held all that time.
 */
const realClock: PaceClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}

/**
 * Paces a replay's sends at `perS` rows a second at most, over any stretch of time: called before each
 * batch is sent with its number of rows, it waits until the batch's time, and a batch of n rows takes
 * n / perS seconds of the schedule from when it goes. A batch ready before its time waits for it, the
 * schedule kept as it was (a timer that fires late, or a send that takes part of its time, is not added
 * to the next); one ready only after it (a pipe gone quiet, a send that took longer than its time) goes at
 * once, and the schedule starts again from then. The time not used is never made up: paced from the
 * first send, a live feed's rows after a quiet spell all went at once, as many as "should" have gone
 * during it. No batch waits longer than the time of the batch before it, whatever the clock says (a
 * clock of a test, or one that runs back, would otherwise hold the next batch for as long as it ran back).
 */
export function createPacer(perS: number, clock: PaceClock = realClock): (rows: number) => Promise<void> {
  // When the next batch may go; none is waited for before the first.
  let due = Number.NEGATIVE_INFINITY
  // The time the batch before took of the schedule: the longest a batch may wait.
  let last = 0
  return async (rows) => {
    const now = clock.now()
    const start = Math.max(now, Math.min(due, now + last))
    last = (rows / perS) * 1_000
    due = start + last
    if (start > now) await clock.sleep(start - now)
  }
}

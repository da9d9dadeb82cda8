import type { Contribution } from './contributions.ts'

/**
 * A namespace's born time: the event time from which its indicators' state is known. Buzz is a z-score
 * of the last hour's volume against a week of hourly buckets, and a bucket from before the state
 * existed is not a zero but unknown: after Redis lost its data (or on a first deployment) every scope
 * with a steady volume read its whole volume as a spike (z = volume / minBuzzSd: a steady 6 an hour read
 * 6, and stayed above the rules' 3 for about 12 hours, above their re-arm for 36). readBuzz leaves the
 * buckets before it out of the baseline, and gives no reading until minBuzzBaselineMs of buckets are known.
 *
 * One per namespace, not per indicator: a scope that first appears in a namespace born long before keeps
 * its zeros, which are real (the namespace's other scopes were being counted), and its first burst is a
 * spike, which is news. The stores set it when absent, at each apply (a loss that takes it takes the
 * state with it, and the next apply sets it again; a rebuild's fresh namespace gets its replay's first
 * events), and read it with each state (a state read without one is not yet born: buzz has no reading).
 *
 * State written before born times existed has none: a store's first apply in a namespace that holds
 * indicator state but no born time sets it to 0 (the whole baseline counts, as it did then), rather than
 * to its events' time, which would leave every upgraded deployment without buzz for hours and with a
 * young baseline for a week (the Redis store's adoptOlderState; the memory store's state never outlives
 * its born time).
 */

/**
 * The born time an apply of these runs gives a namespace that has none: for each run, its earliest event,
 * or its newest minus the grace when that is later (a run is one arrival: an older straggler in it is late
 * in any indicator that got newer events with it, and must not date the namespace back by hours); the
 * earliest over the runs. Undefined when every run is empty. A later born time only leaves more of the
 * baseline out; an earlier one would count as zeros buckets nothing was applied to.
 */
export function bornCandidateMs(
  runs: readonly (readonly Pick<Contribution, 'eventMs'>[])[],
  graceMs: number,
): number | undefined {
  let born: number | undefined
  for (const run of runs) {
    if (run.length === 0) continue
    let lo = Number.POSITIVE_INFINITY
    let hi = Number.NEGATIVE_INFINITY
    for (const c of run) {
      if (c.eventMs < lo) lo = c.eventMs
      if (c.eventMs > hi) hi = c.eventMs
    }
    const earliest = Math.max(lo, hi - graceMs)
    if (born === undefined || earliest < born) born = earliest
  }
  return born
}

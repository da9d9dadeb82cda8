/**
 * How far, at most, a record came ahead of one after it in event time: the largest amount by which a time
 * exceeds one later in the list (0 for a list in order). What event-time alignment bounds.
 */
export function runAhead(times: readonly number[]): number {
  let worst = 0
  let oldestAfter = Number.POSITIVE_INFINITY
  for (let i = times.length - 1; i >= 0; i--) {
    worst = Math.max(worst, (times[i] as number) - oldestAfter)
    oldestAfter = Math.min(oldestAfter, times[i] as number)
  }
  return worst
}

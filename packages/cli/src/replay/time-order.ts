import { DEFAULT_INDICATOR_CONFIG } from '@tradepulse/indicators'

/**
 * How far a piped feed's time may run back before replay warns: the aggregator's default grace
 * (AGGREGATOR_GRACE_MS). A headline further behind the newest its indicator holds is counted late and
 * never applied.
 */
export const BACKWARDS_WARN_MS = DEFAULT_INDICATOR_CONFIG.graceMs

/** The event time of a raw headline in ms, or undefined when it has none (ingest takes its entry time). */
export function eventTimeMs(raw: Record<string, unknown>): number | undefined {
  if (typeof raw.publishedAt !== 'string') return undefined
  const ms = Date.parse(raw.publishedAt)
  return Number.isNaN(ms) ? undefined : ms
}

/**
 * The items sorted by event time, oldest first. The sort is stable: items of one time keep their file
 * order. Items without a time go last, in file order: ingest gives them their entry time, which is
 * after any time a file holds.
 */
export function inTimeOrder<T extends { ms: number | undefined }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => {
    if (a.ms === undefined || b.ms === undefined) return a.ms === b.ms ? 0 : a.ms === undefined ? 1 : -1
    return a.ms - b.ms
  })
}

/**
 * Watches the times of a feed read as it comes: `see` answers whether a time is more than `thresholdMs`
 * behind the newest seen before it (time running backwards), and the newest time then.
 */
export function backwardsWatch(thresholdMs: number = BACKWARDS_WARN_MS): {
  see(ms: number | undefined): { ms: number; behindOf: number } | undefined
} {
  let newest = Number.NEGATIVE_INFINITY
  return {
    see(ms) {
      if (ms === undefined) return undefined
      if (ms < newest - thresholdMs) return { ms, behindOf: newest }
      if (ms > newest) newest = ms
      return undefined
    },
  }
}

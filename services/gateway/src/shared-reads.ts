/**
 * Most results kept for sharing at once, the oldest let go first past it: a reader asking for a new key at
 * every request (a fixed `asOf` that changes each time) would otherwise hold a window's worth of answers.
 */
export const MAX_SHARED = 64

export type SharedReadsOptions = {
  /**
   * How long a read's result is shared with callers asking the same, from the read's start, in ms (0:
   * never). A caller is never answered with a read begun longer than this before it asked.
   */
  windowMs: number
  /** Reads in flight at once, the shared ones counted once: one more is refused (read gives undefined). */
  maxInFlight: number
  /** A monotonic clock in ms (performance.now when absent). */
  clock?: () => number
}

type Shared = { startedMs: number; result: Promise<unknown> }

/**
 * Reads of a store shared between callers: a caller asking with the key of a read begun less than
 * `windowMs` ago is given that read's result (in flight or just finished) instead of reading again, and at
 * most `maxInFlight` reads run at once. So readers polling the same answer (a dashboard's tabs, a script)
 * cost one read per key per window, and no number of them or slowness of the store runs more than
 * `maxInFlight` reads on it. A failed read is shared only while in flight: the next caller reads again.
 */
export function createSharedReads(options: SharedReadsOptions) {
  const clock = options.clock ?? (() => performance.now())
  const shared = new Map<string, Shared>()
  let inFlight = 0
  return {
    /** Reads running now. */
    get inFlight() {
      return inFlight
    },
    /**
     * `read()`'s result, or that of a read with the same `key` begun less than windowMs ago (no key:
     * never shared); undefined when maxInFlight reads are running and a new one would be needed (busy).
     */
    read<T>(key: string | undefined, read: () => Promise<T>): Promise<T> | undefined {
      const t = clock()
      const earlier = key === undefined ? undefined : shared.get(key)
      if (earlier && t - earlier.startedMs < options.windowMs) return earlier.result as Promise<T>
      if (inFlight >= options.maxInFlight) return undefined
      inFlight++
      const result = (async () => {
        try {
          return await read()
        } finally {
          inFlight--
        }
      })()
      if (key === undefined || options.windowMs <= 0) return result
      const entry: Shared = { startedMs: t, result }
      // Re-inserted, so that the map's order is the reads' start order (the oldest first to go).
      shared.delete(key)
      shared.set(key, entry)
      if (shared.size > MAX_SHARED) shared.delete(shared.keys().next().value!)
      const forget = () => {
        if (shared.get(key) === entry) shared.delete(key)
      }
      setTimeout(forget, options.windowMs).unref()
      result.catch(forget)
      return result
    },
  }
}

export type SharedReads = ReturnType<typeof createSharedReads>

/**
 * Per-key mutual exclusion: `run(keys, work)` starts `work` once every run called before it that holds
 * any of the same keys has settled, and holds them until `work` settles. Runs over disjoint keys go at
 * once. Runs of one key go in the order `run` was called (every run takes its place synchronously, so
 * there is no deadlock however the key sets overlap: a run waits only for runs called before it).
 *
 * `onWait` is called for each run that has to wait. Memory: one entry per key held or waited for; a
 * key's entry goes when its last run settles.
 *
 * No timeout of its own, on purpose. A run is the aggregator's publish of some keys, from the read in
 * Redis to Kafka's acknowledgement: freeing its keys while it is still under way would let a later
 * publish read and send before it, and its older reading land last, the very race the lock is for. Its
 * time is bounded where it is spent: Redis commands by REDIS_TIMEOUT_MS, a send by the producer's
 * retries (5, backoff up to 3 s) and request timeout; a wait is the runs before it. And a send that
 * hangs holds every later send of the worker's one producer (one request in flight, in order), locked
 * or not, so a timeout here would free nothing. What a hang needs is to be seen: the aggregator's
 * indicatorPublish health check counts a send under way as unpublished (publish-health.ts).
 */
export function createKeyLocks(onWait?: () => void) {
  const tails = new Map<string, Promise<void>>()
  return {
    async run<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
      const own = [...new Set(keys)]
      const before: Promise<void>[] = []
      let release = () => {}
      const done = new Promise<void>((resolve) => {
        release = resolve
      })
      for (const key of own) {
        const tail = tails.get(key)
        if (tail) before.push(tail)
        tails.set(key, done)
      }
      try {
        if (before.length > 0) {
          onWait?.()
          await Promise.all(before)
        }
        return await work()
      } finally {
        release()
        for (const key of own) if (tails.get(key) === done) tails.delete(key)
      }
    },
    /** Keys held or waited for (for tests). */
    size: () => tails.size,
  }
}
export type KeyLocks = ReturnType<typeof createKeyLocks>

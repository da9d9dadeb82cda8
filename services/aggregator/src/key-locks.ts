/**
 * Per-key mutual exclusion: `run(keys, work)` starts `work` once every run called before it that holds
 * any of the same keys has settled, and holds them until `work` settles. Runs over disjoint keys go at
 * once. Runs of one key go in the order `run` was called (every run takes its place synchronously, so
 * there is no deadlock however the key sets overlap: a run waits only for runs called before it).
 *
 * `onWait` is called for each run that has to wait. Memory: one entry per key held or waited for; a
 * key's entry goes when its last run settles.
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

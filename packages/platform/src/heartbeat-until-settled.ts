export type HeartbeatUntilSettledOptions = {
  /** Unref each lap's timer, so that the wait alone does not keep the process alive. */
  unref?: boolean
}

/**
 * Waits for `promise`, calling `beat` every `intervalMs` until it settles. Resolves undefined once the
 * promise fulfils; rejects with its reason once it rejects. `beat` returning anything but undefined gives
 * the wait up with that value (a stop, a rebalance); `beat` throwing rejects the wait. What a beat
 * returns or throws wins over the promise settling during that beat; the promise settling wins over a
 * lap's timer firing with it.
 *
 * The promise gets one reaction for the whole wait. `while (!settled) await Promise.race([promise,
 * sleep(ms)])` left one more on it each lap (312 bytes), freed only when it settled: a deferred batch
 * retrying its output through a day-long Kafka outage held ~9 MB per waiting partition.
 */
export async function heartbeatUntilSettled<S>(
  promise: PromiseLike<unknown>,
  intervalMs: number,
  beat: () => Promise<S | undefined> | S | undefined,
  { unref = false }: HeartbeatUntilSettledOptions = {},
): Promise<S | undefined> {
  let outcome: { ok: true } | { ok: false; err: unknown } | undefined
  // The lap under way's resolver: replaced each lap, so that the one reaction wakes whichever is waiting.
  let wake: (() => void) | undefined
  void promise.then(
    () => {
      outcome = { ok: true }
      wake?.()
    },
    (err: unknown) => {
      outcome = { ok: false, err }
      wake?.()
    },
  )
  let timer: NodeJS.Timeout | undefined
  try {
    for (;;) {
      if (outcome === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve
          timer = setTimeout(resolve, intervalMs)
          if (unref) timer.unref()
        })
        clearTimeout(timer)
        wake = undefined
      }
      if (outcome?.ok) return undefined
      if (outcome) throw outcome.err
      const stop = await beat()
      if (stop !== undefined) return stop
    }
  } finally {
    clearTimeout(timer)
    wake = undefined
  }
}

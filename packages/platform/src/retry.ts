import { normalizeError, type TradepulseError } from './errors.ts'

export type RetryOptions = {
  baseMs: number
  maxMs: number
  /** Give up after this many attempts (Infinity: until `shouldStop` says so). */
  maxAttempts?: number
  /**
   * Checked before every attempt, after a failed one (before onRetry) and during waits; true ends the
   * retry with `stopped`.
   */
  shouldStop?: () => boolean
  /** Called while waiting between attempts (for example to heartbeat), at most every `tickMs`. */
  onWait?: () => Promise<void> | void
  tickMs?: number
  /** Called for each retriable fault that is to be retried: never for one met once `shouldStop` holds. */
  onRetry?: (err: TradepulseError, attempt: number, delayMs: number) => void
  random?: () => number
}

export type RetryResult<T> =
  | { ok: true; value: T; attempts: number }
  | { ok: false; stopped: true; attempts: number }

/** Full-jitter exponential backoff: a random delay in [0.5, 1] × min(max, base·2^attempt). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30))
  return Math.round(ceiling * (0.5 + random() * 0.5))
}

/**
 * Runs `fn` until it succeeds. Retriable faults are retried with backoff and jitter; anything that is
 * not retriable (bad input, a bug) is thrown at once, never retried.
 */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions,
): Promise<RetryResult<T>> {
  const maxAttempts = opts.maxAttempts ?? Number.POSITIVE_INFINITY
  for (let attempt = 0; ; attempt++) {
    if (opts.shouldStop?.()) return { ok: false, stopped: true, attempts: attempt }
    try {
      return { ok: true, value: await fn(attempt), attempts: attempt + 1 }
    } catch (raw) {
      const err = normalizeError(raw)
      if (!err.retriable || attempt + 1 >= maxAttempts) throw err
      // Stopping (or, for a batch, its group rebalancing): a fault met as the work ended (a handler giving
      // its batch up with a retriable SHUTDOWN between slices) is no fault to retry, and onRetry (a
      // warning, a retry counted) must not tell it as one.
      if (opts.shouldStop?.()) return { ok: false, stopped: true, attempts: attempt + 1 }
      const delay = backoffDelay(attempt, opts.baseMs, opts.maxMs, opts.random)
      opts.onRetry?.(err, attempt + 1, delay)
      if (!(await waitUnlessStopped(delay, opts))) return { ok: false, stopped: true, attempts: attempt + 1 }
    }
  }
}

/**
 * Waits `ms`, or less once `shouldStop` says so (false then): it is checked before each tick of at most
 * `tickMs` (default 1 s), and `onWait` is called after each. retry's wait between attempts.
 */
export async function waitUnlessStopped(
  ms: number,
  { shouldStop, tickMs = 1_000, onWait }: Pick<RetryOptions, 'shouldStop' | 'tickMs' | 'onWait'> = {},
): Promise<boolean> {
  // Measured by the monotonic clock: the wall clock set back (an NTP step, a VM resumed) held the
  // retry, and the partition, paused for as long as the step after the fault had cleared.
  const until = performance.now() + ms
  while (performance.now() < until) {
    if (shouldStop?.()) return false
    await new Promise((r) => setTimeout(r, Math.min(tickMs, Math.max(0, until - performance.now()))))
    await onWait?.()
  }
  return true
}

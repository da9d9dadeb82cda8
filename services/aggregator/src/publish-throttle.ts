import type { IndicatorUpdate } from '@tradepulse/contracts'

/**
 * What one batch brought to one indicator key: headlines, Σ weight and Σ weight·value, the newest
 * pipeline entry time (ms) among those headlines (-Infinity when none carried one), and the trace
 * context of the newest of them that carried a valid one (absent when none did).
 */
export type KeyActivity = { n: number; sumW: number; sumWX: number; enteredMs: number; trace?: HeadlineTrace }

/**
 * A headline's W3C trace context (its record's valid `traceparent`) and its entry time (ms; -Infinity
 * when it has none): an indicator update carries the newest, by entry time, of those of the headlines
 * it is published for (the later one on a tie).
 */
export type HeadlineTrace = { traceparent: string; enteredMs: number }

/** The newer of two traces by entry time, `b` on a tie (b is the later headline). */
export const newerTrace = (a: HeadlineTrace | undefined, b: HeadlineTrace | undefined) =>
  !b ? a : !a || b.enteredMs >= a.enteredMs ? b : a

/**
 * A key picked to publish, why, and the newest entry time and trace of the activity it publishes;
 * `marks`: the stamps of the dirty marks (see dirty-keys.ts) that publishing it settles, once known.
 */
export type PickedKey = {
  key: string
  trigger: PublishTrigger
  enteredMs: number
  trace?: HeadlineTrace
  marks?: Promise<number | undefined>[]
}

/** `recovered`: a key another member (or an earlier run of this one) held back and never published. */
export type PublishTrigger = 'interval' | 'large_change' | 'trailing' | 'recovered'

export type PublishThrottleOptions = {
  /** At most one update per key in this time, except on a large change. 0: publish every batch. */
  intervalMs: number
  /** Estimated shift of the short mean (sentiment units) that publishes at once. */
  largeChange: number
  /** Headlines since the last publish, as a multiple of the short window's volume (at least 10), that publish at once; 0: off. */
  burstFactor: number
  /** Half-life label of IndicatorUpdate.mean (and, when present, volume window) the shift is judged on. */
  shortLabel: string
}

type Entry = {
  /** When the key was last picked to publish: ms of the clock the calls pass (a monotonic one). */
  lastMs: number
  /** The last published mean and volume (the large-change baseline); unset until its read returns. */
  baseMean?: number
  baseVolume?: number
  /** Activity since the last publish that is not on the topic yet; unset when clean. */
  pending?: KeyActivity
  /**
   * The stamp of the dirty mark that holds the pending activity in the store (the newest: a key's
   * stamps only grow, and a mark covers the older ones it replaced), while it is being written.
   */
  mark?: Promise<number | undefined>
}

/** The entry's mark, taken to go with a pick of it. */
function takeMark(e: Entry | undefined): Pick<PickedKey, 'marks'> {
  const mark = e?.mark
  if (e) e.mark = undefined
  return mark ? { marks: [mark] } : {}
}

/** The largest of some stamps (a key's newest mark). */
const newest = async (marks: readonly Promise<number | undefined>[]): Promise<number | undefined> => {
  let max: number | undefined
  for (const s of await Promise.all(marks)) if (s !== undefined && (max === undefined || s > max)) max = s
  return max
}

/** The trace of an activity or pick, as a property to spread (none when absent). */
const traceOf = (trace: HeadlineTrace | undefined): { trace?: HeadlineTrace } => (trace ? { trace } : {})

const merge = (a: KeyActivity | undefined, b: KeyActivity): KeyActivity =>
  a
    ? {
        n: a.n + b.n,
        sumW: a.sumW + b.sumW,
        sumWX: a.sumWX + b.sumWX,
        enteredMs: Math.max(a.enteredMs, b.enteredMs),
        ...traceOf(newerTrace(a.trace, b.trace)),
      }
    : { ...b }

/**
 * Per-key throttle of the indicators topic. Deterministic and cheap: the decision uses only the time
 * passed in, what the key's batches brought, and the last values published for it, so it costs no
 * Redis read; only the keys it picks are read back. The time is a monotonic clock's (performance.now in
 * the worker): on the wall clock, one set back by an hour left every key published in the last interval
 * pending, and due skipping it, for that hour.
 *
 * A key publishes when its interval has passed since its last publish, or at once when the activity
 * since then is estimated to move the short mean by `largeChange`, or is a burst (`burstFactor` times the
 * short window's volume, 1 by default: the volume doubles within an interval).
 * Otherwise it is marked pending and the trailing edge (`due`) publishes it when the interval has passed,
 * so the last change of a key is never held back for more than one interval.
 *
 * Memory: an entry that is clean and older than the interval is deleted by `due`; it would decide exactly
 * like a missing one. So the map holds only keys touched within the last interval.
 */
export function createPublishThrottle(options: PublishThrottleOptions) {
  const entries = new Map<string, Entry>()

  function isLarge(e: Entry, p: KeyActivity): boolean {
    if (e.baseMean === undefined || e.baseVolume === undefined) return false
    const base = Math.max(1, e.baseVolume)
    if (options.burstFactor > 0 && p.n >= Math.max(10, options.burstFactor * base)) return true
    if (p.sumW <= 0) return false
    // Moving the mean from m0 towards the batch's mean, weighted against what is already in the window.
    const shift = (Math.abs(p.sumWX / p.sumW - e.baseMean) * p.sumW) / (p.sumW + base)
    return shift >= options.largeChange
  }

  return {
    /** The keys of one batch to publish now, with why; the others become pending. */
    offer(activity: ReadonlyMap<string, KeyActivity>, nowMs: number): PickedKey[] {
      const out: PickedKey[] = []
      for (const [key, a] of activity) {
        const e = entries.get(key)
        if (!e || nowMs - e.lastMs >= options.intervalMs) {
          // Activity still pending from before (its trailing edge not yet run) goes out with this one.
          const enteredMs = Math.max(e?.pending?.enteredMs ?? Number.NEGATIVE_INFINITY, a.enteredMs)
          const trace = traceOf(newerTrace(e?.pending?.trace, a.trace))
          const marks = takeMark(e)
          entries.set(key, { ...e, lastMs: nowMs, pending: undefined })
          out.push({ key, trigger: 'interval', enteredMs, ...trace, ...marks })
          continue
        }
        const pending = merge(e.pending, a)
        if (isLarge(e, pending)) {
          e.lastMs = nowMs
          e.pending = undefined
          out.push({
            key,
            trigger: 'large_change',
            enteredMs: pending.enteredMs,
            ...traceOf(pending.trace),
            ...takeMark(e),
          })
        } else {
          e.pending = pending
        }
      }
      return out
    },

    /**
     * The stamps of the dirty marks just written for keys `offer` left pending (each key's own, from
     * `stamps`): a later pick of the key takes it. A failed write leaves the key's previous mark.
     */
    marking(keys: readonly string[], stamps: Promise<ReadonlyMap<string, number>>): void {
      for (const key of keys) {
        const e = entries.get(key)
        if (!e?.pending) continue
        const before = e.mark
        e.mark = stamps.then(
          (m) => m.get(key) ?? before,
          () => before,
        )
      }
    },

    /** The values published for a key: the baseline of its large-change rule. */
    published(key: string, update: IndicatorUpdate): void {
      const e = entries.get(key)
      if (!e) return
      e.baseMean = update.mean[options.shortLabel]
      e.baseVolume = update.volume[options.shortLabel] ?? Math.max(0, ...Object.values(update.volume))
    },

    /**
     * Keys picked to publish that were not (their read or produce failed): pending again, and due at
     * once, as nothing went out (the trailing edge's next tick takes them).
     */
    retract(picked: readonly PickedKey[]): void {
      for (const { key, enteredMs, trace, marks } of picked) {
        // An entry the trailing edge dropped while its send was under way (clean and aged out by then, a
        // send slower than an interval) is made again: else nothing would be pending in the process and
        // the key would wait for another member to recover its mark.
        let e = entries.get(key)
        if (!e) {
          e = { lastMs: Number.NEGATIVE_INFINITY }
          entries.set(key, e)
        }
        e.pending = merge(e.pending, { n: 0, sumW: 0, sumWX: 0, enteredMs, ...traceOf(trace) })
        e.lastMs = Number.NEGATIVE_INFINITY
        // A mark written since the pick is newer than the pick's, and covers it.
        if (!e.mark && marks?.length) e.mark = newest(marks)
      }
    },

    /** Pending keys whose interval has passed (the trailing edge); drops clean entries that have aged out. */
    due(nowMs: number): PickedKey[] {
      const out: PickedKey[] = []
      for (const [key, e] of entries) {
        if (nowMs - e.lastMs < options.intervalMs) continue
        if (e.pending) {
          const { enteredMs, trace } = e.pending
          out.push({ key, trigger: 'trailing', enteredMs, ...traceOf(trace), ...takeMark(e) })
          e.lastMs = nowMs
          e.pending = undefined
        } else {
          entries.delete(key)
        }
      }
      return out
    },

    /** Every pending key, whatever its interval (for a final flush on stop). */
    drain(nowMs: number): PickedKey[] {
      const out: PickedKey[] = []
      for (const [key, e] of entries) {
        if (!e.pending) continue
        const { enteredMs, trace } = e.pending
        out.push({ key, trigger: 'trailing', enteredMs, ...traceOf(trace), ...takeMark(e) })
        e.lastMs = nowMs
        e.pending = undefined
      }
      return out
    },

    size: () => entries.size,
  }
}
export type PublishThrottle = ReturnType<typeof createPublishThrottle>

import type { Contribution } from '@tradepulse/indicators'

export type EventTimeMergerOptions = {
  /** The store's grace period, ms of event time. */
  graceMs: number
  /** A source (partition) that has submitted nothing for this long no longer holds the others back. */
  idleMs?: number
  /** Wall clock, for idleness. */
  now?: () => number
}

export type EventTimeMerger = {
  /**
   * Resolves once every contribution given has been applied, in event-time order with what the other
   * sources (partitions) submit; rejects if a round holding some of them failed.
   */
  submit(contributions: readonly Contribution[], source: string): Promise<void>
}

type Pending = {
  source: string
  items: Contribution[]
  /** items[0 .. next) have been handed to a round. */
  next: number
  resolve: () => void
  reject: (err: unknown) => void
}

type SourceState = { progressMs: number; lastSubmitMs: number; pending: number }

/**
 * Applies what several sources (the partitions a worker consumes at once) submit in event-time order
 * across them, so one partition racing ahead does not make another's headlines late.
 *
 * The store judges lateness per indicator against the newest event it has applied. Live, every
 * partition's batch spans a few seconds and this changes nothing. Catching up a backlog, each
 * partition's batch spans hours; applied one after another, a second partition's batch would be late
 * behind the first. So a round applies only contributions up to
 *
 *     bound = min over active sources of their progress (newest event submitted) + grace / 2
 *
 * and holds the rest until the slower sources submit more. A source that has been silent for `idleMs`
 * and has nothing pending is inactive (caught up, idle or revoked) and holds nobody back; so a hold
 * lasts at most `idleMs`, and a worker whose partitions outnumber its concurrent batches degrades to
 * those pauses rather than stalling. The half grace leaves room for disorder within a partition.
 *
 * Rounds run one at a time. A failing round rejects only the submissions that had contributions in it
 * (the runner retries them whole; the store's idempotence absorbs what was applied already).
 */
export function createEventTimeMerger(
  apply: (round: Contribution[]) => Promise<void>,
  options: EventTimeMergerOptions,
): EventTimeMerger {
  const now = options.now ?? Date.now
  const idleMs = options.idleMs ?? 500
  const pending: Pending[] = []
  const sources = new Map<string, SourceState>()
  let pumping = false
  let wake: ReturnType<typeof setTimeout> | undefined

  const remove = (p: Pending) => {
    const i = pending.indexOf(p)
    if (i >= 0) pending.splice(i, 1)
    const s = sources.get(p.source)
    if (s) s.pending--
  }

  /** The newest event time a round may apply now, and when an idle source will stop holding it back. */
  function bound(at: number): { upTo: number; recheckAt?: number } {
    let w = Number.POSITIVE_INFINITY
    let recheckAt: number | undefined
    for (const [id, s] of sources) {
      const idleAt = s.lastSubmitMs + idleMs
      if (s.pending === 0 && at >= idleAt) {
        sources.delete(id) // forgotten: submitting again makes it active again
        continue
      }
      if (s.progressMs < w) w = s.progressMs
      if (s.pending === 0) recheckAt = Math.min(recheckAt ?? idleAt, idleAt)
    }
    return { upTo: w + options.graceMs / 2, ...(recheckAt === undefined ? {} : { recheckAt }) }
  }

  async function pump(): Promise<void> {
    if (pumping) return
    pumping = true
    try {
      while (pending.length > 0) {
        const { upTo, recheckAt } = bound(now())
        const round: Contribution[] = []
        const members: Pending[] = []
        for (const p of pending) {
          const from = p.next
          while (p.next < p.items.length && p.items[p.next]!.eventMs <= upTo) round.push(p.items[p.next++]!)
          if (p.next > from) members.push(p)
        }
        if (round.length === 0) {
          // Held back by a slower source: wait for its next submission, or for it to go idle.
          if (recheckAt !== undefined && !wake) {
            wake = setTimeout(
              () => {
                wake = undefined
                void pump()
              },
              Math.max(1, recheckAt - now()),
            )
          }
          return
        }
        try {
          await apply(round)
        } catch (err) {
          for (const p of members) {
            remove(p)
            p.reject(err)
          }
          continue
        }
        for (const p of members) {
          if (p.next === p.items.length) {
            remove(p)
            p.resolve()
          }
        }
      }
    } finally {
      pumping = false
    }
  }

  return {
    submit(contributions, source) {
      const at = now()
      let s = sources.get(source)
      if (!s) {
        s = { progressMs: Number.NEGATIVE_INFINITY, lastSubmitMs: at, pending: 0 }
        sources.set(source, s)
      }
      s.lastSubmitMs = at
      if (contributions.length === 0) {
        void pump() // its silence may have been holding others back
        return Promise.resolve()
      }
      const items = [...contributions].sort((a, b) => a.eventMs - b.eventMs)
      const newest = items[items.length - 1]!.eventMs
      if (newest > s.progressMs) s.progressMs = newest
      s.pending++
      return new Promise<void>((resolve, reject) => {
        pending.push({ source, items, next: 0, resolve, reject })
        if (wake) {
          clearTimeout(wake)
          wake = undefined
        }
        void pump()
      })
    },
  }
}

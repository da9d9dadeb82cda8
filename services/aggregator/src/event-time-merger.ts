import type { Contribution } from '@tradepulse/indicators'

export type EventTimeMerger = {
  /**
   * Resolves once every contribution given has been applied, merged by event time with the other
   * submissions pending at the same moment; rejects if a round holding some of them failed.
   */
  submit(contributions: readonly Contribution[]): Promise<void>
}

type Pending = {
  items: Contribution[]
  /** items[0 .. next) have been handed to a round. */
  next: number
  maxMs: number
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * Applies concurrent submissions (the batch runner handles several partitions at once) in rounds, in
 * event-time order across them. Each round applies, from every pending submission, the contributions
 * no newer than the smallest of their newest event times: so one round completes at least one
 * submission, and the others' remainders are all newer than anything applied so far.
 *
 * Why: the store judges lateness per indicator against the newest event it has applied. When the
 * worker catches up a backlog, each partition's batch spans minutes or hours of event time; applied
 * one after another, a second partition's batch would be late behind the first. Merged, the store sees
 * the same order a single partition would have given. Only skew beyond what is in flight at once
 * (one fetch per partition) still reaches the store, and the grace covers it.
 *
 * Rounds run one at a time; a failing round rejects only the submissions that had contributions in
 * it (the runner retries them whole, and the store's idempotence absorbs what was already applied).
 */
export function createEventTimeMerger(apply: (round: Contribution[]) => Promise<void>): EventTimeMerger {
  const pending: Pending[] = []
  let pumping = false

  const remove = (p: Pending) => {
    const i = pending.indexOf(p)
    if (i >= 0) pending.splice(i, 1)
  }

  async function pump(): Promise<void> {
    if (pumping) return
    pumping = true
    try {
      while (pending.length > 0) {
        let upTo = Number.POSITIVE_INFINITY
        for (const p of pending) if (p.maxMs < upTo) upTo = p.maxMs
        const round: Contribution[] = []
        const members: Pending[] = []
        for (const p of pending) {
          const from = p.next
          while (p.next < p.items.length && p.items[p.next]!.eventMs <= upTo) round.push(p.items[p.next++]!)
          if (p.next > from) members.push(p)
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
    submit(contributions) {
      if (contributions.length === 0) return Promise.resolve()
      const items = [...contributions].sort((a, b) => a.eventMs - b.eventMs)
      return new Promise<void>((resolve, reject) => {
        pending.push({ items, next: 0, maxMs: items[items.length - 1]!.eventMs, resolve, reject })
        void pump()
      })
    },
  }
}

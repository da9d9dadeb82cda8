import type { Contribution, FoldedContribution } from '@tradepulse/indicators'
import { normalizeError, TradepulseError } from '@tradepulse/platform'

/**
 * What the store said of a headline's contributions in a round (the contributions it folded into their
 * kind's `other` scope, and any other per-headline note the caller's `apply` gives), handed back to the
 * submission that brought the headline.
 */
export type HeadlineNote = { headlineId: string }

export type EventTimeMerger<N extends HeadlineNote = FoldedContribution> = {
  /**
   * Marks a source (a partition) as in flight: until its submission is done, nothing newer than half a
   * grace past its progress is applied. Call it first thing in the handler, before parsing.
   */
  begin(source: string): number
  /**
   * Resolves once every contribution given has been applied, in event-time order with what the other
   * in-flight sources submit, with the notes `apply` resolved with for this submission's headlines (by
   * default the contributions the store folded into their kind's `other` scope); rejects if a
   * round holding some of them failed (with a RefusedHeadlinesError, once the others are applied, when
   * the store refused some of its headlines alone for good), or, given the token its
   * `begin` returned, at once if a round of the source failed since that `begin` (a batch handled while
   * the one before was still being applied must not be applied after that one failed: it would make
   * the failed one's headlines late when they come again). Ends the begin's flight. `restOldestMs`: the
   * oldest event the source's submissions still to come (its begins still open) may hold, when known
   * (a batch submitted in parts, its records not in event-time order): until its next submission
   * nothing newer than half a grace past it is applied, of this source or another.
   */
  submit(
    contributions: readonly Contribution[],
    source: string,
    token?: number,
    restOldestMs?: number,
    progress?: SubmissionProgress,
  ): Promise<N[]>
  /**
   * Gives up every source in flight, with `reason` (the worker stopping, its group rebalancing): once the
   * round under way (if any) is applied, every pending submission rejects with it, nothing more of them
   * is applied, and every later one begun before this rejects, as after a failed round (what they have
   * pending could make the others' records late when they come again). The rounds applied so far stay
   * applied, and `afterRound` has been told of each.
   */
  giveUp(reason: unknown): void
}

/**
 * Told after each round that applied some of a submission's contributions (and none of its headlines was
 * refused): the event time of its first contribution not applied yet, Infinity once all are. Every
 * contribution before it in event-time order is applied, and none at that time or later.
 */
export type SubmissionProgress = (nextMs: number) => void

/**
 * A submission some of whose headlines the store refused for good, each tried alone (see findRefused);
 * the rest of it was applied. `refused`: each such headline with what applying it alone threw.
 */
export class RefusedHeadlinesError extends TradepulseError {
  readonly refused: readonly { headlineId: string; err: unknown }[]
  constructor(refused: readonly { headlineId: string; err: unknown }[]) {
    const first = normalizeError(refused[0]?.err)
    super(
      first.code,
      `${refused.length} headline(s) refused when applied alone (${refused[0]?.headlineId}: ${first.message}); the others were applied`,
      { cause: refused[0]?.err, retriable: false },
    )
    this.refused = refused
  }
}

/** At most this many headlines of a failed round are found refused; past it, no headline's own fault. */
const MAX_REFUSED = 16

/**
 * The most contributions one round holds (but for ties of event time). The store builds a round's calls
 * in one go, without a turn of the event loop (several µs a contribution): catching up, the parts a
 * handler submitted while Redis applied the round before all joined the next one, up to 80,000
 * contributions (18,000 headlines), and the event loop stood still for 0.3-1 s (0.7-1 s on a loaded
 * machine), /healthz and /metrics unanswered. Smaller rounds cost Redis more calls per headline (one
 * per scope and round): `pnpm bench indicators` made 64-78 apply calls at 16,000 where it made 32-39,
 * at no fewer headlines per second (109-122 at 8,000).
 */
const MAX_ROUND = 16_000

/** A submission with items in a round: items[from .. p.next) are its share. */
type Member<N> = { p: Pending<N>; from: number }

type Pending<N> = {
  source: string
  items: Contribution[]
  /** items[0 .. next) have been handed to a round. */
  next: number
  /** What the rounds applied so far noted of items[0 .. next). */
  folded: N[]
  /** Its headlines a failed round found refused (findRefused): it rejects with them once done. */
  refused: { headlineId: string; err: unknown }[]
  progress: SubmissionProgress | undefined
  resolve: (folded: N[]) => void
  reject: (err: unknown) => void
}

/**
 * Applies what the partitions a worker handles at once submit in event-time order across them, so a
 * partition whose batch runs ahead does not make another's headlines late.
 *
 * The store judges lateness per indicator against the newest event it has applied. Live, each batch
 * spans seconds and this changes nothing. Catching up a backlog, each partition's batch spans hours;
 * applied one after another, a second partition's batch would be late behind the first. So a round
 * applies only contributions up to
 *
 *     bound = min over in-flight sources of their progress + grace / 2
 *
 * where a source's progress is the newest event it has submitted, and minus infinity while it is in
 * flight but still parsing; while more of its submissions are to come and it told the oldest event
 * they hold (a batch in parts whose records are not in event-time order), that if older. The slowest
 * source always releases all it has, so the rounds that follow one another complete at least one
 * submission (or one held back by the parts a source still has to come, which its next submission, not
 * waiting on the round, releases): no timers, no deadlock. A round holds at most `maxRound`
 * contributions (MAX_ROUND), the oldest of those the bound releases, and the next round goes on from
 * there (roundBound). Rounds start on the next turn of the event loop, so
 * the handlers of one fetch (kafkajs hands them out together) join the same round.
 *
 * The merge spans one fetch: kafkajs fetches the next data only when every batch of the last fetch is
 * done. Across fetches, partitions whose fetches cover different stretches of event time (catching up
 * hours of backlog, a sparse partition's megabyte spans far more time than a dense one's) would drift
 * apart by more than the grace. The batch runner's event-time alignment (BatchRunnerConfig.align, from
 * build-app.ts) holds them within half a grace of each other by pausing the one that runs ahead, and
 * the rebuild does the same with its own consumer (both through createPartitionAligner).
 *
 * Rounds run one at a time. A round failing for a fault to retry (Redis restarting, a timeout) fails
 * every source in flight: it rejects every pending submission, and every later one begun before the
 * failure (the runner reads each batch again from its first record, in order; the store's idempotence
 * absorbs what was applied already). Rejecting only the failed round's sources would let the others
 * apply what they had pending, which may reach far past the failed ones' oldest records, and make those
 * late when they come again. A round failing for a fault retrying cannot mend is bisected by headline
 * in event-time order (findRefused): the headlines refused alone are left out, everything else is
 * applied in order, and only the submissions holding a refused headline reject, once done, with a
 * RefusedHeadlinesError (not a failure of their source: its later submissions go on). Before, every
 * source in flight was rejected with the error and handled one record at a time, and a healthy record
 * of another partition sharing a round with the refused one was dead-lettered with its error. Past
 * MAX_REFUSED headlines (a key every headline writes) the round fails every source in flight as before.
 * A source may have several submissions pending: the handler submits a large batch in parts, parsing
 * one while the one before is being applied.
 */
export function createEventTimeMerger<N extends HeadlineNote = FoldedContribution>(
  apply: (round: Contribution[]) => Promise<readonly N[] | undefined>,
  options: {
    graceMs: number
    /** The most contributions a round holds, but for ties of event time (default MAX_ROUND); see pump. */
    maxRound?: number
    /**
     * Called after each round is applied and its submissions told of their progress, before the next
     * round starts (the aggregator records what was applied here: see AppliedTracker).
     */
    afterRound?: () => void
  },
): EventTimeMerger<N> {
  const pending: Pending<N>[] = []
  const maxRound = Math.max(1, options.maxRound ?? MAX_ROUND)
  /** In-flight sources: progress, or −∞ while begun but not submitted. */
  const inFlight = new Map<string, number>()
  /** Begins not yet submitted, per source: a source parsing stays in flight. */
  const open = new Map<string, number>()
  /** Per source, the oldest event its submissions still to come may hold (submit's restOldestMs). */
  const rest = new Map<string, number>()
  /** Failed rounds per source: the token of `begin`. */
  const failures = new Map<string, number>()
  const close = (source: string) => {
    const n = (open.get(source) ?? 0) - 1
    if (n > 0) open.set(source, n)
    else open.delete(source)
  }
  /** A source with nothing pending and nothing being parsed holds no one back any more. */
  const endFlightIfIdle = (source: string) => {
    if (!open.has(source)) rest.delete(source) // nothing more to come
    if (!pending.some((q) => q.source === source) && !open.has(source)) inFlight.delete(source)
  }
  let pumping = false
  let scheduled = false
  /** giveUp's, while a round is under way: every source in flight fails once it is applied. */
  let givingUp: { reason: unknown } | undefined

  const schedule = () => {
    if (scheduled) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
      void pump()
    })
  }

  const finish = (p: Pending<N>) => {
    const i = pending.indexOf(p)
    if (i >= 0) pending.splice(i, 1)
    endFlightIfIdle(p.source)
  }

  async function pump(): Promise<void> {
    if (pumping) return
    pumping = true
    try {
      for (;;) {
        if (givingUp) {
          const { reason } = givingUp
          givingUp = undefined
          failAll(reason)
        }
        if (pending.length === 0) break
        let w = Number.POSITIVE_INFINITY
        for (const [source, progress] of inFlight) w = Math.min(w, progress, rest.get(source) ?? w)
        const upTo = roundBound(pending, w + options.graceMs / 2, maxRound)
        const round: Contribution[] = []
        const members: Member<N>[] = []
        for (const p of pending) {
          const from = p.next
          while (p.next < p.items.length && p.items[p.next]!.eventMs <= upTo) round.push(p.items[p.next++]!)
          if (p.next > from) members.push({ p, from })
        }
        if (round.length === 0) return // a source still parsing holds the rest; its submit pumps again
        let folded: readonly N[] | undefined
        try {
          folded = await apply(round)
        } catch (err) {
          const found = normalizeError(err).retriable ? undefined : await findRefused(round, err)
          if (!found) {
            failAll(err)
            continue
          }
          if ('retry' in found) {
            failAll(found.retry)
            continue
          }
          folded = found.notes
          refuse(found.refused, members)
        }
        if (folded && folded.length > 0) attribute(folded, members)
        for (const { p } of members)
          if (p.progress && p.refused.length === 0)
            p.progress(p.next < p.items.length ? p.items[p.next]!.eventMs : Number.POSITIVE_INFINITY)
        options.afterRound?.()
        for (const { p } of members) {
          if (p.next === p.items.length) {
            finish(p)
            if (p.refused.length > 0) p.reject(new RefusedHeadlinesError(p.refused))
            else p.resolve(p.folded)
          }
        }
      }
    } finally {
      pumping = false
    }
  }

  /**
   * Every source in flight goes: applied before the failed ones come again, what the others have pending
   * could make those late (see above). (A source with something pending is in flight too.)
   */
  function failAll(err: unknown): void {
    for (const source of inFlight.keys()) failures.set(source, (failures.get(source) ?? 0) + 1)
    for (const p of [...pending]) {
      finish(p)
      p.reject(err)
    }
  }

  /**
   * A round failed for a fault retrying cannot mend: a headline's own, most likely (a Redis WRONGTYPE on
   * a scope key only it names, a script's error on a damaged field, a bug its contributions trigger).
   * Found by bisecting the round by headline, in event-time order (left half first, so what is applied
   * is applied in the order the round would have been: nothing comes late that the round would not have
   * made late): a part that fails is halved, a headline that fails alone is refused, with its error, and
   * every other part is applied. Resolves with the refused headlines and the notes of what was applied;
   * `retry` for a fault to retry on the way; undefined past MAX_REFUSED headlines (a key every
   * headline writes, say: nobody's own), for the round to fail every source in flight as before.
   */
  async function findRefused(
    round: readonly Contribution[],
    roundErr: unknown,
  ): Promise<{ notes: N[]; refused: Map<string, unknown> } | { retry: unknown } | undefined> {
    const byHeadline = new Map<string, Contribution[]>()
    for (const c of [...round].sort((a, b) => a.eventMs - b.eventMs)) {
      const own = byHeadline.get(c.headlineId)
      if (own) own.push(c)
      else byHeadline.set(c.headlineId, [c])
    }
    const notes: N[] = []
    const refused = new Map<string, unknown>()
    let retry: { err: unknown } | undefined
    /** Applies `part` (known to fail with `failed.err`, if given); false once the search is given up. */
    const bisect = async (part: Contribution[][], failed?: { err: unknown }): Promise<boolean> => {
      let err = failed?.err
      if (!failed) {
        try {
          const got = await apply(part.flat())
          if (got) for (const n of got) notes.push(n)
          return true
        } catch (e) {
          if (normalizeError(e).retriable) {
            retry = { err: e }
            return false
          }
          err = e
        }
      }
      if (part.length === 1) {
        refused.set(part[0]![0]!.headlineId, err)
        return refused.size <= MAX_REFUSED
      }
      const half = part.length >> 1
      return (await bisect(part.slice(0, half))) && (await bisect(part.slice(half)))
    }
    const found = await bisect([...byHeadline.values()], { err: roundErr })
    if (retry) return { retry: retry.err }
    return found ? { notes, refused } : undefined
  }

  /** Gives each member the refused headlines among those it handed to the round. */
  function refuse(refused: ReadonlyMap<string, unknown>, members: readonly Member<N>[]): void {
    eachHeadline(members, (p, id) => {
      if (refused.has(id)) p.refused.push({ headlineId: id, err: refused.get(id) })
    })
  }

  return {
    begin(source) {
      if (!inFlight.has(source)) inFlight.set(source, Number.NEGATIVE_INFINITY)
      open.set(source, (open.get(source) ?? 0) + 1)
      return failures.get(source) ?? 0
    },
    giveUp(reason) {
      if (pumping) givingUp ??= { reason }
      else failAll(reason)
    },
    submit(contributions, source, token, restOldestMs, progress) {
      close(source)
      if (restOldestMs !== undefined && open.has(source)) rest.set(source, restOldestMs)
      else rest.delete(source)
      if (token !== undefined && token !== (failures.get(source) ?? 0)) {
        endFlightIfIdle(source)
        schedule() // it may have been holding others back
        // Retriable: the runner reads the batch again whole (not record by record, as for a bug).
        return Promise.reject(
          new TradepulseError(
            'INFRA_DEPENDENCY',
            `an earlier merged round failed since this batch of ${source} began`,
          ),
        )
      }
      if (contributions.length === 0) {
        endFlightIfIdle(source)
        schedule() // it may have been holding others back
        return Promise.resolve([])
      }
      const items = [...contributions].sort((a, b) => a.eventMs - b.eventMs)
      const newest = items[items.length - 1]!.eventMs
      inFlight.set(source, Math.max(inFlight.get(source) ?? Number.NEGATIVE_INFINITY, newest))
      return new Promise<N[]>((resolve, reject) => {
        pending.push({ source, items, next: 0, folded: [], refused: [], progress, resolve, reject })
        schedule()
      })
    },
  }
}

/**
 * The bound of the next round: `upTo`, or, when more than `max` contributions pending are at or before
 * it, the event time of the max-th of them in event-time order (every contribution at that time goes
 * in: a headline's contributions, one event time, are never cut apart). The round is then the oldest
 * part of what it would have been, in the same order, and the next round takes the rest: a round holds
 * what happens to be pending when it starts, so where rounds end changes nothing applied (each is
 * applied after the one before, in event-time runs, as one call would apply them).
 */
function roundBound<N>(pending: readonly Pending<N>[], upTo: number, max: number): number {
  let total = 0
  for (const p of pending) {
    total += countUpTo(p.items, p.next, upTo)
    if (total > max) break
  }
  if (total <= max) return upTo
  // The max-th contribution at or before upTo, merging the pending submissions (each in event-time order).
  const at = pending.map((p) => p.next)
  let bound = upTo
  for (let n = 0; n < max; n++) {
    let k = -1
    for (let j = 0; j < pending.length; j++) {
      const item = pending[j]!.items[at[j]!]
      if (item && item.eventMs <= upTo && (k < 0 || item.eventMs < pending[k]!.items[at[k]!]!.eventMs)) k = j
    }
    if (k < 0) return upTo
    bound = pending[k]!.items[at[k]!]!.eventMs
    at[k] = at[k]! + 1
  }
  return bound
}

/** How many of items[from..] (in event-time order) are at or before `upTo`. */
function countUpTo(items: readonly Contribution[], from: number, upTo: number): number {
  let lo = from
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (items[mid]!.eventMs <= upTo) lo = mid + 1
    else hi = mid
  }
  return lo - from
}

/** Gives each member of a round the notes of the headlines it handed to the round. */
function attribute<N extends HeadlineNote>(folded: readonly N[], members: readonly Member<N>[]): void {
  const byHeadline = new Map<string, N[]>()
  for (const f of folded) {
    const list = byHeadline.get(f.headlineId)
    if (list) list.push(f)
    else byHeadline.set(f.headlineId, [f])
  }
  eachHeadline(members, (p, id) => {
    const list = byHeadline.get(id)
    if (list) for (const f of list) p.folded.push(f)
  })
}

/** Calls `visit` once for each headline each member of a round handed to it (a headline's contributions are several items). */
function eachHeadline<N>(
  members: readonly Member<N>[],
  visit: (p: Pending<N>, headlineId: string) => void,
): void {
  for (const { p, from } of members) {
    const seen = new Set<string>()
    for (let i = from; i < p.next; i++) {
      const id = p.items[i]!.headlineId
      if (seen.has(id)) continue
      seen.add(id)
      visit(p, id)
    }
  }
}

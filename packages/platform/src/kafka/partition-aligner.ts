/**
 * Keeps the partitions one consumer reads within `aheadMs` of each other in event time while they
 * catch up a backlog. Pure bookkeeping: the caller pauses and resumes.
 *
 * Why: an indicator store judges a headline late against the newest event it has applied. Kafka
 * fetches partitions in step by bytes, not by event time, so over hours of backlog a partition whose
 * records are sparse in time runs hours ahead of a dense one, and the dense one's headlines come late.
 *
 * How: the caller tells the event times of a partition's fetched records (`fetching`), asks `cut` how
 * many to take (a first part, in offset order), and pauses the partition at the rest (`hold`), leaving
 * them unresolved to be fetched again on resume. The partitions of one fetch are cut at one event time
 * T, each taking its records up to the first one newer than T: the largest T at which nothing taken is
 * more than `aheadMs` newer than anything left, whether left in a batch of this fetch (a partition's
 * records are not in event-time order: a record left may be older than the first one left), a held
 * partition's records (its point is the oldest of them, not its next one), the newest event taken from
 * a partition with records still to fetch, or a batch's newest record when more records follow it
 * (those still to fetch are taken to be no older). So no record fetched and left is late when it
 * is taken (the caller merges what one fetch takes in event-time order). Nor does one fetch of several
 * partitions take more than `aheadMs` past their oldest record (its partition's point, see `points`),
 * even when it holds all of their records: a worker writing per partition writes them one after
 * another, and a consumer of its output could read one partition's hours before the others' exist
 * (unless only a step past that would leave no record more than `aheadMs` behind). A partition at its end
 * (everything up to its last high watermark taken) holds nobody back, so live traffic, where every
 * partition is at its end after each fetch, is not held (unless one fetch's records of several
 * partitions span more than `aheadMs`: then for a fetch round). Once the batches under way are done,
 * `release` resumes, together, the held partitions that would take something if they were fetched
 * together, so they are fetched and merged together. When none would, and nothing else is to be
 * fetched (every cut either leaves a record more than `aheadMs` behind what is taken, or takes more
 * than `aheadMs` past the newest record fetched of a partition with more to fetch), it lets the held
 * partitions take the least that leaves none of their fetched records behind (`forced` counts these
 * steps): only records not fetched yet may then come late, those more than `aheadMs` older than what
 * was fetched before them in their partition. It forces that step too after a release cycle that took
 * nothing (the partitions it resumed all came back held, every partition with records left held since
 * anything was taken): with fewer partitions handled at once than assigned, those resumed together are
 * handled apart, each bounded by the others' held records, and resuming them again would hold them all
 * for ever. Records of the partitions not held then may come late too.
 *
 * Across the members of a consumer group (the caller swaps `points` for `remote` through a store they
 * share): another member's partitions are not merged with these, so each tells the oldest event it may
 * still apply in time, and these take no further than the oldest such point plus `aheadMs`. Members
 * catching up side by side leapfrog `aheadMs` at a time. A record left more than `aheadMs` older than
 * the first one left of its partition is not waited for: this member takes it with or after that
 * first one, so it is late behind it unless no other member has applied anything newer meanwhile, and
 * holding the others back for it left two members each waiting on the other for ever (one's first
 * record past the other's point plus `aheadMs`, the other's past this old record's). When the held
 * partitions can take nothing within the other members' points even so (their least step would leave
 * such an old record behind), `release` forces a step to their oldest first record.
 */
export type PartitionAligner = {
  /**
   * `key` is assigned but its end is not known yet: until `ends` or `seen` tells it, it counts as a
   * partition with records and nothing taken, so the others take nothing (a partition fetched first must
   * not run ahead of one fetched later). The caller learns the ends at once (one offsets request) and
   * calls `release`.
   */
  expect(key: string): void
  /** A fetch of `key` showed the partition's end (its high watermark: the next offset to be written). */
  seen(key: string, highWatermark: number): void
  /**
   * The offsets request's answer for an expected `key`: its end and the group's position in it. A
   * partition a fetch has told of meanwhile keeps what the fetch told (the answer may come late, after
   * retries); only a higher end is taken from it.
   */
  ends(key: string, highWatermark: number, position: number): void
  /**
   * A batch of `key` is being handled whose newest record is at `reachMs` (undefined: none has an
   * event time), reaching the partition's end or not. The partitions of one fetch are handled
   * together and merged in event-time order, so each may take records up to the others' reach rather
   * than their progress before the fetch, and one whose batch reaches its end holds nobody back (live
   * feeds whose times differ by more than the reach are not held). `oldestMs`, its oldest record,
   * is the partition's point for other members meanwhile (see `points`). `times`: the event times of the
   * batch's records in offset order (undefined: none), cut together with the other batches of the fetch
   * (see `cut`); the records after them (unless `toEnd`) are then taken to be no older than `reachMs`.
   */
  fetching(
    key: string,
    reachMs: number | undefined,
    toEnd?: boolean,
    oldestMs?: number,
    times?: readonly (number | undefined)[],
  ): void
  /** The batch of `key` being handled is over (done or given up). */
  fetched(key: string): void
  /**
   * Records of `key` before offset `position` are taken; `newestMs` and `oldestMs` are the newest and
   * oldest event times among those of this step. Taken is not yet applied (see `applied`).
   */
  advanced(key: string, position: number, newestMs?: number, oldestMs?: number): void
  /** What was taken of `key` before offset `position` is applied (its output done): see `points`. */
  applied(key: string, position: number): void
  /**
   * For other members of the consumer group (see `remote`): per partition of this one, the oldest event
   * time it may still apply in time, or null when it holds nobody back (at its end, with nothing taken
   * and not yet applied). Another member may apply up to that plus `aheadMs`; unlike this member's own
   * partitions, which are merged together per fetch, another member's are not, so the point is the
   * oldest record taken and not yet applied, else the oldest held record, else the oldest record of a
   * batch being handled, else (with records left to fetch) the newest taken, or the oldest record it
   * was last held with if that is newer. A held record or one of a batch is told no older than
   * `aheadMs` before the first of them (in offset order), which this member takes first: an older one
   * comes late behind it anyway (see the type's doc).
   */
  points(): Map<string, number | null>
  /**
   * The points of the partitions other members read (see `points`; −∞: unknown, holds everyone back).
   * Replaces the previous ones; a partition this member reads itself is taken from its own state.
   */
  remote(points: ReadonlyMap<string, number>): void
  /**
   * The partitions `keys` take nothing until a later call leaves them out (the runner's fence: another
   * member may have records behind everything of theirs). Replaces the previous ones. Their records
   * bound this member's other partitions as a held partition's do (their oldest plus `aheadMs`), so
   * those go on taking what they would with these held, never more than `aheadMs` past them.
   */
  fence(keys: ReadonlySet<string>): void
  /**
   * `key` is read again from `position` (a seek back after a failure): what was taken since is not
   * applied after all, so its progress is unknown until its next batch, and a hold of it is let go.
   */
  rewind(key: string, position: number): void
  /**
   * The newest event time a record of `key` may have to be taken now; +∞ when nothing holds it back.
   * (Unlike `cut`, it does not look into the batches of the same fetch: their records are taken to be
   * in event-time order.)
   */
  boundFor(key: string): number
  /**
   * How many of the records of `key` told of by `fetching` (with `times`) to take now: the records up to
   * the first one newer than the fetch's cut (see above). All of them when `fetching` told no times.
   */
  cut(key: string): number
  /**
   * `key` is paused, its next record at `firstMs`; `resume` is called once the others catch up.
   * `untaken`: the event times of the fetched records left (from the one at `firstMs` on; undefined:
   * none), and, unless they reach the partition's end, `remainderMs`, the newest event time fetched
   * (the records still to fetch are taken to be no older). Without it the records left are taken to be
   * no older than `firstMs`.
   */
  hold(
    key: string,
    firstMs: number,
    resume: () => void,
    untaken?: { times: readonly (number | undefined)[]; remainderMs?: number },
  ): void
  /**
   * Steps `release` let the held partitions take past the newest record fetched of a partition with more
   * to fetch (plus `aheadMs`), there being no other way on (see above).
   */
  forced(): number
  /** The partitions the last forced step let take (those held then); empty before any. */
  lastForced(): readonly string[]
  /**
   * Resumes every held partition that is within reach of the others now, once no batch told of by
   * `fetching` is still being handled: the partitions resumed together are fetched together, and so may
   * take up to each other's reach.
   */
  release(): void
  /**
   * A new assignment: resumes every held partition and forgets everything of its own partitions (the
   * other members' points stay until the next `remote`).
   */
  reset(): void
  /** Partitions held now. */
  held(): number
  /** The oldest next record of a held partition; +∞ when none is held. */
  oldestHeld(): number
  /** No partition but `key` is known: its progress holds nobody back. */
  alone(key: string): boolean
}

type PartitionState = {
  /** The next offset to be written, as last seen; +∞ while unknown (see expect). */
  high: number
  /** The next offset to be taken. */
  position: number
  /** Newest event time taken. */
  progressMs: number
  /** The batch being handled: its newest and oldest event times, and whether it reaches the partition's end. */
  flight?: {
    reachMs: number
    toEnd: boolean
    oldestMs?: number
    times?: readonly (number | undefined)[]
    /** Its cut, once decided (for every batch of the fetch at once: see `cut`). */
    cut?: number
  }
  /**
   * `oldestMs`: the oldest of the records left (the partition's point for this member's own partitions;
   * other members are told `pointLeft`); `times`, `remainderMs`: see hold.
   */
  held?: {
    firstMs: number
    oldestMs: number
    times: readonly (number | undefined)[]
    remainderMs?: number
    resume: () => void
  }
  /** The oldest and the first record left, from a hold since let go and not yet fetched (see `points`). */
  next?: { oldestMs: number; firstMs: number }
  /** Taken up to here and applied (`applied`). */
  applied: number
  /** Steps taken and not yet applied: where each ends, and its oldest event time. */
  pending: { position: number; oldestMs: number }[]
}

/**
 * `stepWithinFetch`: for a worker that writes what it takes per partition, one partition after another
 * (the scorer, ingest): one fetch of several partitions is taken at most `aheadMs` past their oldest
 * point at a time, even when it holds everything (see `cut`). A worker that merges what one fetch takes
 * in event-time order (the aggregator, the alerter) needs no such steps, and each would cost it a fetch
 * round per `aheadMs` of event time.
 *
 * `together`: for a caller that tells `fetching` (the live runner). Resumed partitions are fetched
 * together and each may then take up to the others' reach, so rather than resuming each partition as
 * soon as it is within reach (which leaves them taking turns, a reach's worth of event time per fetch),
 * `release` resumes at once every held partition up to two reaches past the oldest point of those
 * with records. Which are resumed decides only how much a fetch takes, never what is safe to take:
 * `boundFor` decides that.
 */
export function createPartitionAligner(
  aheadMs: number,
  options: { together?: boolean; stepWithinFetch?: boolean } = {},
): PartitionAligner {
  const parts = new Map<string, PartitionState>()
  /** Other members' partitions (see `remote`). */
  let remotes: ReadonlyMap<string, number> = new Map()
  /** This member's partitions that take nothing for now (see `fence`). */
  let fenced: ReadonlySet<string> = new Set()
  const stateOf = (key: string): PartitionState => {
    let s = parts.get(key)
    if (!s) {
      s = { high: 0, position: 0, progressMs: Number.NEGATIVE_INFINITY, applied: 0, pending: [] }
      parts.set(key, s)
    }
    return s
  }
  /** Where a partition holds the others back (its oldest record still to take); undefined: nowhere. */
  const pointOf = (s: PartitionState): number | undefined => {
    if (s.position >= s.high) return undefined
    if (s.held) return s.held.oldestMs
    if (s.flight) return s.flight.toEnd ? undefined : Math.max(s.progressMs, s.flight.reachMs)
    return s.next?.oldestMs ?? s.progressMs
  }
  const boundFor = (key: string): number => {
    if (fenced.has(key)) return Number.NEGATIVE_INFINITY
    let w = Number.POSITIVE_INFINITY
    for (const [k, s] of parts) {
      const at = k === key ? undefined : pointOf(s)
      if (at !== undefined && at < w) w = at
    }
    for (const [k, at] of remotes) if (at < w && k !== key && !parts.has(k)) w = at
    return w + aheadMs
  }
  /**
   * The point other members are told for records left in a partition, `oldestMs` the oldest and
   * `firstMs` the first (in offset order; undefined: none with an event time): no lower than `aheadMs`
   * before the first. This member takes the first record before, or with, any other, and another
   * member's records are not merged with these: a record more than `aheadMs` older than it comes late
   * behind it whatever the other members do, and holding them back for it (below what the first needs
   * to be taken at all) leaves both members waiting on each other for ever.
   */
  const pointLeft = (oldestMs: number, firstMs: number | undefined): number =>
    firstMs === undefined ? oldestMs : Math.max(oldestMs, firstMs - aheadMs)
  /** A step `release` let go past the others' records (see the type's doc): records up to here may be taken. */
  let forcedMs: number | undefined
  let forcedSteps = 0
  let forcedKeys: readonly string[] = []
  /**
   * Since a step (of any partition) last took something: the partitions held, those `release` resumed
   * and not held again since, and whether it resumed any. A release cycle that took nothing: `release`
   * resumed partitions since, all of them came back held having taken nothing, and every partition with
   * records left has been held. Nothing has changed for a fetch to take more, and resuming again holds
   * them all for ever: with fewer partitions handled at once than assigned, those resumed together are
   * handled apart, each bounded by the others' held records, and one not held is always waiting.
   */
  const heldSinceTaken = new Set<string>()
  const awaiting = new Set<string>()
  let resumedSinceTaken = false
  const cycled = (): boolean => {
    if (!resumedSinceTaken || awaiting.size > 0) return false
    for (const [k, s] of parts) if (s.position < s.high && !heldSinceTaken.has(k)) return false
    return true
  }
  const taking = () => {
    heldSinceTaken.clear()
    awaiting.clear()
    resumedSinceTaken = false
  }
  return {
    expect(key) {
      stateOf(key).high = Number.POSITIVE_INFINITY
    },
    seen(key, highWatermark) {
      const s = stateOf(key)
      if (s.high === Number.POSITIVE_INFINITY || highWatermark > s.high) s.high = highWatermark
    },
    ends(key, highWatermark, position) {
      const s = stateOf(key)
      if (s.high !== Number.POSITIVE_INFINITY) {
        if (highWatermark > s.high) s.high = highWatermark
        return
      }
      s.high = highWatermark
      if (position > s.position) s.position = position
      if (position > s.applied) s.applied = position // what comes before the group's position is done
    },
    fetching(key, reachMs, toEnd, oldestMs, times) {
      stateOf(key).flight = {
        reachMs: reachMs ?? Number.NEGATIVE_INFINITY,
        toEnd: toEnd === true,
        ...(oldestMs !== undefined ? { oldestMs } : {}),
        ...(times !== undefined ? { times } : {}),
      }
    },
    fetched(key) {
      delete stateOf(key).flight
    },
    advanced(key, position, newestMs, oldestMs) {
      const s = stateOf(key)
      delete s.flight
      delete s.next
      if (position > s.position) {
        s.position = position
        forcedMs = undefined // (a forced step stands until something is taken: see heldSinceTaken)
        taking()
      }
      if (newestMs !== undefined && newestMs > s.progressMs) s.progressMs = newestMs
      if (position > s.applied)
        s.pending.push({ position, oldestMs: oldestMs ?? newestMs ?? Number.POSITIVE_INFINITY })
    },
    applied(key, position) {
      const s = parts.get(key) // a partition of an earlier assignment is no longer this member's
      if (!s) return
      if (position > s.applied) s.applied = position
      s.pending = s.pending.filter((q) => q.position > s.applied)
    },
    points() {
      const out = new Map<string, number | null>()
      for (const [key, s] of parts) {
        let at = Number.POSITIVE_INFINITY
        for (const q of s.pending) at = Math.min(at, q.oldestMs)
        if (s.held) at = Math.min(at, pointLeft(s.held.oldestMs, s.held.firstMs))
        // A batch being handled: its records are the next ones (a partition's first batch has no
        // progress yet, and must not hold the other members back meanwhile).
        else if (s.flight?.oldestMs !== undefined)
          at = Math.min(at, pointLeft(s.flight.oldestMs, s.flight.times?.find(timed)))
        // Let go and not fetched yet, its oldest record left is still the one it was held with.
        else if (s.position < s.high || s.flight)
          at = Math.min(at, s.next ? pointLeft(s.next.oldestMs, s.next.firstMs) : s.progressMs)
        out.set(key, at === Number.POSITIVE_INFINITY ? null : at)
      }
      return out
    },
    remote(points) {
      remotes = points
    },
    fence(keys) {
      fenced = new Set(keys)
    },
    rewind(key, position) {
      const s = stateOf(key)
      s.position = position
      taking() // read again: what it takes may differ
      s.applied = position // the links before the failed one were applied; nothing after
      s.pending = []
      delete s.next
      s.progressMs = Number.NEGATIVE_INFINITY
      delete s.flight
      const held = s.held
      s.held = undefined
      held?.resume()
    },
    boundFor,
    cut(key) {
      const own = parts.get(key)?.flight
      if (own?.cut !== undefined) return own.cut
      // The batches of this fetch not cut yet are cut together; those cut already (their records are
      // being handled) take what they took and leave what they left.
      const flights = new Map<string, readonly (number | undefined)[]>()
      let upper = Number.POSITIVE_INFINITY
      let takenMs = Number.NEGATIVE_INFINITY
      for (const [k, s] of parts) {
        const f = s.flight
        if (f?.times && !s.held && f.cut === undefined && fenced.has(k)) {
          // Fenced: takes only the records without an event time first in line (as at a cut at −∞), and
          // the others take no further than its oldest record plus aheadMs (as a held partition's).
          let n = 0
          while (n < f.times.length && !timed(f.times[n])) n++
          f.cut = n
          for (const t of f.times) if (timed(t)) upper = Math.min(upper, t)
        } else if (f?.times && !s.held) {
          if (f.cut === undefined) flights.set(k, f.times)
          else
            for (let i = 0; i < f.times.length; i++) {
              const t = f.times[i]
              if (!timed(t)) continue
              if (i < f.cut) takenMs = Math.max(takenMs, t)
              else upper = Math.min(upper, t)
            }
          // The records still to fetch after the batch are no older than its reach.
          if (!f.toEnd && s.position < s.high)
            upper = Math.min(upper, f.reachMs > Number.NEGATIVE_INFINITY ? f.reachMs : s.progressMs)
        } else {
          const at = pointOf(s)
          if (at !== undefined) upper = Math.min(upper, at)
        }
      }
      for (const [k, at] of remotes) if (!parts.has(k)) upper = Math.min(upper, at)
      // Batches of several partitions in one fetch are each written apart by a worker that writes per
      // partition, one after another: one step spans no more than `aheadMs` past their oldest point,
      // even when the fetch holds everything (see `jointCut`'s `spanMs`).
      let spanMs = Number.POSITIVE_INFINITY
      if (options.stepWithinFetch && flights.size > 1)
        for (const times of flights.values()) {
          let oldest = Number.POSITIVE_INFINITY
          for (const t of times) if (timed(t) && t < oldest) oldest = t
          if (oldest < Number.POSITIVE_INFINITY)
            spanMs = Math.min(spanMs, pointLeft(oldest, times.find(timed)))
        }
      const { cuts } = jointCut(flights, upper + aheadMs, aheadMs, takenMs, {
        ...(forcedMs !== undefined ? { forcedMs } : {}),
        ...(spanMs < Number.POSITIVE_INFINITY ? { spanMs: spanMs + aheadMs } : {}),
      })
      for (const [k, n] of cuts) parts.get(k)!.flight!.cut = n
      return own?.cut ?? 0
    },
    hold(key, firstMs, resume, untaken) {
      const times = untaken?.times ?? [firstMs]
      let oldestMs = firstMs
      for (const t of times) if (timed(t) && t < oldestMs) oldestMs = t
      const remainderMs = untaken ? untaken.remainderMs : firstMs
      heldSinceTaken.add(key)
      awaiting.delete(key)
      stateOf(key).held = {
        firstMs,
        oldestMs,
        times,
        ...(remainderMs !== undefined ? { remainderMs } : {}),
        resume,
      }
    },
    release() {
      let oldest = Number.POSITIVE_INFINITY
      for (const s of parts.values()) {
        if (s.flight) return
        if (s.position < s.high) oldest = Math.min(oldest, s.held?.oldestMs ?? s.progressMs)
      }
      let remoteMin = Number.POSITIVE_INFINITY
      for (const [k, at] of remotes) if (!parts.has(k)) remoteMin = Math.min(remoteMin, at)
      // A fenced partition stays held, and bounds the others as another member's point would.
      for (const [k, s] of parts)
        if (s.held && fenced.has(k)) remoteMin = Math.min(remoteMin, s.held.oldestMs)
      oldest = Math.min(oldest, remoteMin)
      // As if the held partitions were fetched together: those that would take something then.
      const flights = new Map<string, readonly (number | undefined)[]>()
      let upper = remoteMin
      let others = false // a partition with records left that is not held: it will be fetched and move
      for (const [key, s] of parts) {
        if (s.held && fenced.has(key)) continue
        if (s.held) {
          flights.set(key, s.held.times)
          if (s.held.remainderMs !== undefined) upper = Math.min(upper, s.held.remainderMs)
        } else {
          const at = pointOf(s)
          if (at !== undefined) {
            upper = Math.min(upper, at)
            others = true
          }
        }
      }
      if (flights.size === 0) return
      let { cuts } = jointCut(flights, upper + aheadMs, aheadMs, Number.NEGATIVE_INFINITY)
      // A release cycle took nothing (see heldSinceTaken): resuming these again would take nothing again.
      const cycle = cycled()
      if (!cycle && [...cuts.values()].some((n) => n > 0)) forcedMs = undefined
      else {
        // Stuck: every cut leaves a record more than aheadMs behind what is taken, or takes more than
        // aheadMs past the newest record fetched of a partition with more to fetch; and no partition but
        // the held ones is to be fetched, or a release cycle took nothing. The held partitions take the
        // least that leaves none of their records behind (not past another member's point): only records
        // still to fetch, or those of the partitions not held, may then come late.
        if (others && !cycle) return
        let relaxed = jointCut(flights, remoteMin + aheadMs, aheadMs, Number.NEGATIVE_INFINITY, {
          least: true,
        })
        if (![...relaxed.cuts.values()].some((n) => n > 0)) {
          // That step is past another member's point (which it must not pass: that member's records
          // would come late). Then they take up to their oldest first record, if within the points:
          // what that leaves behind more than aheadMs older is older than its own partition's first
          // record less aheadMs, which `points` does not hold the other members back for. (Without
          // this step, such a record, here and in the other members' points, kept both waiting.)
          let firstMs = Number.POSITIVE_INFINITY
          for (const [k, s] of parts)
            if (s.held && !fenced.has(k)) firstMs = Math.min(firstMs, s.held.firstMs)
          if (firstMs > remoteMin + aheadMs) return // another member's partitions hold these
          relaxed = jointCut(flights, Number.NEGATIVE_INFINITY, aheadMs, Number.NEGATIVE_INFINITY, {
            forcedMs: firstMs,
          })
        }
        forcedMs = relaxed.at
        forcedSteps++
        forcedKeys = [...flights.keys()]
        cuts = relaxed.cuts
      }
      for (const [key, s] of parts) {
        if (!s.held || fenced.has(key)) continue
        // In `together` mode the ones near the oldest come along.
        const near = options.together === true && s.held.firstMs <= oldest + 2 * aheadMs
        if ((cuts.get(key) ?? 0) > 0 || near) {
          const { resume } = s.held
          s.next = { oldestMs: s.held.oldestMs, firstMs: s.held.firstMs }
          s.held = undefined
          awaiting.add(key)
          resumedSinceTaken = true
          resume()
        }
      }
    },
    reset() {
      forcedMs = undefined
      fenced = new Set()
      taking()
      const held = [...parts.values()].flatMap((s) => (s.held ? [s.held.resume] : []))
      parts.clear()
      for (const resume of held) resume()
    },
    held: () => [...parts.values()].filter((s) => s.held).length,
    oldestHeld: () =>
      Math.min(...[...parts.values()].map((s) => s.held?.firstMs ?? Number.POSITIVE_INFINITY)),
    forced: () => forcedSteps,
    lastForced: () => forcedKeys,
    alone: (key) => remotes.size === 0 && (parts.size === 0 || (parts.size === 1 && parts.has(key))),
  }
}

const timed = (t: number | undefined): t is number => t !== undefined && !Number.isNaN(t)

/**
 * The cut of the partitions of one fetch (see PartitionAligner): per partition, how many of its records
 * (`times`, in offset order; undefined: no event time, taken along) to take, all up to the first one
 * newer than one event time T. T is the largest at which the newest record taken is at most `upper`
 * and at most `aheadMs` newer than every record left, and `takenMs` (taken already by batches cut
 * before) is at most `aheadMs` newer than every record left too; −∞ (nothing but untimed records first
 * in line) when there is none. `forcedMs`: T is at least this. `least`: the smallest such T at which
 * some partition takes something, rather than the largest. `spanMs`: T is at most this if some such T
 * takes something (a fetch that holds every partition's whole backlog is taken a step at a time, each
 * written before the next is fetched, rather than a partition's hours at once before the others').
 */
function jointCut(
  flights: ReadonlyMap<string, readonly (number | undefined)[]>,
  upper: number,
  aheadMs: number,
  takenMs: number,
  options: { forcedMs?: number; least?: boolean; spanMs?: number } = {},
): { cuts: Map<string, number>; at: number } {
  const lists = [...flights].map(([key, times]) => {
    const oldestFrom = new Array<number>(times.length + 1)
    oldestFrom[times.length] = Number.POSITIVE_INFINITY
    for (let i = times.length - 1; i >= 0; i--) {
      const t = times[i]
      oldestFrom[i] = timed(t) ? Math.min(t, oldestFrom[i + 1]!) : oldestFrom[i + 1]!
    }
    return { key, times, oldestFrom, at: 0 }
  })
  const cutAt = (times: readonly (number | undefined)[], from: number, t: number) => {
    let i = from
    for (; i < times.length; i++) {
      const ms = times[i]
      if (timed(ms) && ms > t) break
    }
    return i
  }
  const candidates = [...new Set(lists.flatMap((l) => l.times.filter(timed)))].sort((x, y) => x - y)
  let best = Number.NEGATIVE_INFINITY
  /** The largest T within `spanMs` at which something is taken. */
  let within: number | undefined
  let taking = false
  for (const t of candidates) {
    if (t > upper) break // the records it would take are newer than upper
    let moved = false
    for (const l of lists) {
      const at = cutAt(l.times, l.at, t)
      if (at > l.at) moved = true
      l.at = at
    }
    if (moved) taking = true
    // A cut moves at t only past a record at t: the newest taken is t.
    let left = Number.POSITIVE_INFINITY
    for (const l of lists) left = Math.min(left, l.oldestFrom[l.at]!)
    if (Math.max(t, takenMs) <= left + aheadMs) {
      best = t
      if (options.spanMs !== undefined && t <= options.spanMs && taking) within = t
      if (options.least && moved) break
    }
  }
  // Within the span where that takes something; else (records out of order, a step within the span
  // would leave one behind) as before.
  if (within !== undefined) best = within
  const at = options.forcedMs !== undefined && options.forcedMs > best ? options.forcedMs : best
  return { cuts: new Map(lists.map((l) => [l.key, cutAt(l.times, 0, at)])), at }
}

/**
 * The runners warn of the steps an aligner forced (see `forced`) at most this often, ms; each is counted
 * (tradepulse_align_forced_total).
 */
export const ALIGN_FORCED_WARN_EVERY_MS = 60_000

/**
 * What a runner does with the steps its aligner forced: counts each (tradepulse_align_forced_total) and
 * warns, naming the partitions and the steps since the last warning, once per ALIGN_FORCED_WARN_EVERY_MS
 * at most: a catch-up that forces one every fetch round would otherwise write a line per round.
 */
export function forcedStepReporter(
  counter: { inc(n: number): void },
  warn: (fields: { partitions: readonly string[]; steps: number; everyMs: number }, message: string) => void,
  message: string,
): (partitions: readonly string[], steps: number) => void {
  let unwarned = 0
  let warnedAt = Number.NEGATIVE_INFINITY
  return (partitions, steps) => {
    counter.inc(steps)
    unwarned += steps
    const now = performance.now()
    if (now - warnedAt < ALIGN_FORCED_WARN_EVERY_MS) return
    warnedAt = now
    warn({ partitions, steps: unwarned, everyMs: ALIGN_FORCED_WARN_EVERY_MS }, message)
    unwarned = 0
  }
}

/** Kafka's default fetch.max.bytes: the most a broker puts in one fetch response. */
export const BROKER_FETCH_MAX_BYTES = 57_671_680

/** What a consumer learns of its assignment that decides whether alignment can work (see alignmentWarnings). */
export type AlignmentSetting = {
  /** The partitions assigned to this member, `topic/partition`. */
  partitions: readonly string[]
  maxBytesPerPartition: number
  /** Partitions handled at once (KAFKA_PARTITIONS_CONCURRENCY), where known. */
  partitionsConcurrency?: number
  /** The leader broker of each assigned partition, where known. */
  leaders?: ReadonlyMap<string, number>
  /** Members of the consumer group, where known. */
  members?: number
  groupId: string
  /**
   * Whether there is a backlog to catch up at this assignment (a partition of this member's or another's
   * with records the group has not read; true where unknown). Alignment only ever holds a backlog, so
   * without one there is nothing to warn of: a worker starting on empty or read topics says nothing.
   */
  backlog?: boolean
}

/**
 * The reasons event-time alignment cannot hold at an assignment, as log lines naming what to change
 * (empty when it can). Alignment keeps one member's partitions together, and only those fetched
 * together may take up to each other's reach:
 * - the partitions' fetch shares must fit in one broker fetch response (fetch.max.bytes), or they
 *   arrive in different fetches and take turns, half a grace at a time;
 * - kafkajs fetches each broker's partitions separately, so partitions led by different brokers take
 *   turns the same way;
 * - a runner given no exchange (BatchRunnerConfig.align.exchange) does not align other members'
 *   partitions with its own at all, so a backlog caught up by several members can make records late.
 */
export function alignmentWarnings(s: AlignmentSetting): { msg: string; fields: Record<string, unknown> }[] {
  const out: { msg: string; fields: Record<string, unknown> }[] = []
  if (s.backlog === false) return out
  const n = s.partitions.length
  if (n > 1 && n * s.maxBytesPerPartition > BROKER_FETCH_MAX_BYTES) {
    out.push({
      fields: { partitions: n, maxBytesPerPartition: s.maxBytesPerPartition },
      msg: `the partitions' fetch shares exceed a broker's default fetch response (${BROKER_FETCH_MAX_BYTES} bytes): catching up in event time will be slow; lower KAFKA_MAX_BYTES_PER_PARTITION to ${Math.floor(BROKER_FETCH_MAX_BYTES / n)} or less`,
    })
  }
  if (s.partitionsConcurrency !== undefined && n > s.partitionsConcurrency) {
    out.push({
      fields: { partitions: n, partitionsConcurrency: s.partitionsConcurrency },
      msg: `${n} partitions are assigned but only ${s.partitionsConcurrency} are handled at once: catching up a backlog in event time, they will take turns, slowly, and partitions resumed together are handled apart, so the aligner may have to force steps (records can come late); set KAFKA_PARTITIONS_CONCURRENCY to ${n}`,
    })
  }
  const leaders = new Set(s.partitions.flatMap((p) => (s.leaders?.has(p) ? [s.leaders.get(p)] : [])))
  if (leaders.size > 1) {
    out.push({
      fields: { partitions: n, leaders: [...leaders].sort() },
      msg: `the partitions are led by ${leaders.size} brokers, and kafkajs fetches from each apart: catching up a backlog in event time will advance about half a grace per fetch round (nothing comes late, but it is slow)`,
    })
  }
  if (s.members !== undefined && s.members > 1) {
    out.push({
      fields: { groupId: s.groupId, members: s.members },
      msg: `${s.members} members share consumer group ${s.groupId}: event-time alignment holds one member's partitions together, not the group's, so a backlog caught up by several members can make records late; catch up with one member, then scale out`,
    })
  }
  return out
}

/**
 * The other members' points to bound by, after a swap: `carried` (the last ones, this assignment) updated
 * with `theirs` (fresh fields; null: holds nobody, so dropped), leaving out this member's own partitions.
 * A partition whose field went missing keeps its last point: its member stopped writing (dead, or cut
 * off from the store) and applies nothing more, so the point is still a bound, and the partition comes
 * back at the next assignment, which starts afresh.
 */
export function carryPoints(
  carried: ReadonlyMap<string, number>,
  theirs: ReadonlyMap<string, number | null>,
  own: ReadonlySet<string>,
): Map<string, number> {
  const out = new Map<string, number>()
  for (const [k, at] of carried) if (!own.has(k) && !theirs.has(k)) out.set(k, at)
  for (const [k, at] of theirs) if (at !== null && !own.has(k)) out.set(k, at)
  return out
}

/**
 * How the members of a consumer group tell each other their partitions' points (PartitionAligner's
 * `points` and `remote`), through a store they share: `swap` writes this member's points and returns
 * the other members' fresh ones (null: holds nobody back). The aggregator's is in Redis.
 */
export type AlignmentExchange = {
  /**
   * `stamps`, when given, tells `seenAgoMs` with this member's points and is filled with the store's
   * clock at this write (`now`) and, per other member with a fresh field, what its latest write told
   * (`members`): see the runner's fence. An exchange that cannot tell leaves it as it is.
   */
  swap(
    member: string,
    own: ReadonlyMap<string, number | null>,
    stamps?: SwapStamps,
  ): Promise<Map<string, number | null>>
}

/** What a swap tells of when the members wrote (AlignmentExchange.swap). */
export type SwapStamps = {
  /**
   * Given: how long before the store's stamp the fetches this member's points tell of began (written
   * with its points; null: unknown, none told yet). Undefined: not told.
   */
  seenAgoMs?: number | null
  /** Answered: the store's clock at this write. */
  now?: number
  /** Answered: per other member with a fresh field, what its latest write told. */
  members: Map<string, SwapMember>
}

/**
 * Another member's latest write: its stamp (`ts`), since when its points tell what Kafka held (`seenAt`,
 * by the store's clock; −∞: unknown; undefined: a member that does not tell it, of an earlier version),
 * and whether it told a point for every partition it wrote (none at its end).
 */
export type SwapMember = { ts: number; seenAt?: number; bounding: boolean }

/**
 * Keeps the partitions one consumer reads within `aheadMs` of each other in event time while they
 * catch up a backlog. Pure bookkeeping: the caller pauses and resumes.
 *
 * Why: an indicator store judges a headline late against the newest event it has applied. Kafka
 * fetches partitions in step by bytes, not by event time, so over hours of backlog a partition whose
 * records are sparse in time runs hours ahead of a dense one, and the dense one's headlines come late.
 *
 * How: before taking a partition's fetched records, the caller asks `boundFor` it, takes the records
 * up to the first one newer than the bound, and pauses the partition there (`hold`), leaving the rest
 * unresolved to be fetched again on resume. The bound is the oldest point among the other partitions
 * that still have records (a held one's next record, the newest record of a batch of it being handled
 * in the same fetch, else the newest event taken from it), plus `aheadMs`. A partition at its end
 * (everything up to its last high watermark taken) holds nobody back, so live traffic, where every
 * partition is at its end after each fetch, is never held. Once the batches under way are done,
 * `release` resumes every held partition the others have come within reach of, together, so they are
 * fetched and merged together. The held partition with the oldest next record is always within reach
 * of the others once they are all held, so some partition always moves.
 *
 * Across the members of a consumer group (the caller swaps `points` for `remote` through a store they
 * share): another member's partitions are not merged with these, so each tells the oldest event it may
 * still apply, and these take no further than the oldest such point plus `aheadMs`. Members catching up
 * side by side leapfrog `aheadMs` at a time.
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
   * is the partition's point for other members meanwhile (see `points`).
   */
  fetching(key: string, reachMs: number | undefined, toEnd?: boolean, oldestMs?: number): void
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
   * time it may still apply, or null when it holds nobody back (at its end, with nothing taken and
   * not yet applied). Another member may apply up to that plus `aheadMs`; unlike this member's own
   * partitions, which are merged together per fetch, another member's are not, so the point is the
   * oldest record taken and not yet applied, else the next held record, else the oldest record of a
   * batch being handled, else (with records left to fetch) the newest taken, or the record it was
   * last held at if that is newer.
   */
  points(): Map<string, number | null>
  /**
   * The points of the partitions other members read (see `points`; −∞: unknown, holds everyone back).
   * Replaces the previous ones; a partition this member reads itself is taken from its own state.
   */
  remote(points: ReadonlyMap<string, number>): void
  /**
   * `key` is read again from `position` (a seek back after a failure): what was taken since is not
   * applied after all, so its progress is unknown until its next batch, and a hold of it is let go.
   */
  rewind(key: string, position: number): void
  /** The newest event time a record of `key` may have to be taken now; +∞ when nothing holds it back. */
  boundFor(key: string): number
  /** `key` is paused, its next record at `firstMs`; `resume` is called once the others catch up. */
  hold(key: string, firstMs: number, resume: () => void): void
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
  flight?: { reachMs: number; toEnd: boolean; oldestMs?: number }
  held?: { firstMs: number; resume: () => void }
  /** The next record's event time, from a hold since let go and not yet fetched (see `points`). */
  nextMs?: number
  /** Taken up to here and applied (`applied`). */
  applied: number
  /** Steps taken and not yet applied: where each ends, and its oldest event time. */
  pending: { position: number; oldestMs: number }[]
}

/**
 * `together`: for a caller that tells `fetching` (the live runner). Resumed partitions are fetched
 * together and each may then take up to the others' reach, so rather than resuming each partition as
 * soon as it is within reach (which leaves them taking turns, a reach's worth of event time per fetch),
 * `release` resumes at once every held partition up to two reaches past the oldest point of those
 * with records. Which are resumed decides only how much a fetch takes, never what is safe to take:
 * `boundFor` decides that.
 */
export function createPartitionAligner(
  aheadMs: number,
  options: { together?: boolean } = {},
): PartitionAligner {
  const parts = new Map<string, PartitionState>()
  /** Other members' partitions (see `remote`). */
  let remotes: ReadonlyMap<string, number> = new Map()
  const stateOf = (key: string): PartitionState => {
    let s = parts.get(key)
    if (!s) {
      s = { high: 0, position: 0, progressMs: Number.NEGATIVE_INFINITY, applied: 0, pending: [] }
      parts.set(key, s)
    }
    return s
  }
  const boundFor = (key: string): number => {
    let w = Number.POSITIVE_INFINITY
    for (const [k, s] of parts) {
      if (k === key || s.position >= s.high || (s.flight?.toEnd && !s.held)) continue
      const at = s.held?.firstMs ?? Math.max(s.progressMs, s.flight?.reachMs ?? Number.NEGATIVE_INFINITY)
      if (at < w) w = at
    }
    for (const [k, at] of remotes) if (at < w && k !== key && !parts.has(k)) w = at
    return w + aheadMs
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
    fetching(key, reachMs, toEnd, oldestMs) {
      stateOf(key).flight = {
        reachMs: reachMs ?? Number.NEGATIVE_INFINITY,
        toEnd: toEnd === true,
        ...(oldestMs !== undefined ? { oldestMs } : {}),
      }
    },
    fetched(key) {
      delete stateOf(key).flight
    },
    advanced(key, position, newestMs, oldestMs) {
      const s = stateOf(key)
      delete s.flight
      delete s.nextMs
      if (position > s.position) s.position = position
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
        if (s.held) at = Math.min(at, s.held.firstMs)
        // A batch being handled: its records are the next ones (a partition's first batch has no
        // progress yet, and must not hold the other members back meanwhile).
        else if (s.flight?.oldestMs !== undefined) at = Math.min(at, s.flight.oldestMs)
        // Let go and not fetched yet, its next record is still the one it was held at.
        else if (s.position < s.high || s.flight)
          at = Math.min(at, Math.max(s.progressMs, s.nextMs ?? Number.NEGATIVE_INFINITY))
        out.set(key, at === Number.POSITIVE_INFINITY ? null : at)
      }
      return out
    },
    remote(points) {
      remotes = points
    },
    rewind(key, position) {
      const s = stateOf(key)
      s.position = position
      s.applied = position // the links before the failed one were applied; nothing after
      s.pending = []
      delete s.nextMs
      s.progressMs = Number.NEGATIVE_INFINITY
      delete s.flight
      const held = s.held
      s.held = undefined
      held?.resume()
    },
    boundFor,
    hold(key, firstMs, resume) {
      stateOf(key).held = { firstMs, resume }
    },
    release() {
      let oldest = Number.POSITIVE_INFINITY
      for (const s of parts.values()) {
        if (s.flight) return
        if (s.position < s.high) oldest = Math.min(oldest, s.held?.firstMs ?? s.progressMs)
      }
      for (const [k, at] of remotes) if (!parts.has(k)) oldest = Math.min(oldest, at)
      // Partitions that can take something now; in `together` mode the ones near them come along.
      let useful = false
      for (const [key, s] of parts) if (s.held && s.held.firstMs <= boundFor(key)) useful = true
      if (!useful) return
      for (const [key, s] of parts) {
        const within = options.together ? Math.max(oldest + 2 * aheadMs, boundFor(key)) : boundFor(key)
        if (s.held && s.held.firstMs <= within) {
          const { resume } = s.held
          s.nextMs = s.held.firstMs
          s.held = undefined
          resume()
        }
      }
    },
    reset() {
      const held = [...parts.values()].flatMap((s) => (s.held ? [s.held.resume] : []))
      parts.clear()
      for (const resume of held) resume()
    },
    held: () => [...parts.values()].filter((s) => s.held).length,
    oldestHeld: () =>
      Math.min(...[...parts.values()].map((s) => s.held?.firstMs ?? Number.POSITIVE_INFINITY)),
    alone: (key) => remotes.size === 0 && (parts.size === 0 || (parts.size === 1 && parts.has(key))),
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
      msg: `${n} partitions are assigned but only ${s.partitionsConcurrency} are handled at once: catching up a backlog in event time, they will take turns (nothing comes late, but it is slow); set KAFKA_PARTITIONS_CONCURRENCY to ${n}`,
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
  swap(member: string, own: ReadonlyMap<string, number | null>): Promise<Map<string, number | null>>
}

import type { Contribution } from './contributions.ts'
import type { ResolvedIndicatorConfig } from './indicator-config.ts'

export type BucketCounts = { n: number; pos: number; neg: number }

/**
 * The state of one indicator (one dimension in one scope). The Redis adapter stores exactly this in a
 * hash plus a sorted set, and its Lua script does exactly what `applyContributions` does.
 */
export type IndicatorState = {
  /** Newest event time applied (epoch ms): the reference time of the decayed sums; null when empty. */
  refMs: number | null
  /** Per half-life (config order, shortest first): Σ w·2^(−(ref−t)/h) and Σ w·x·2^(−(ref−t)/h). */
  sumW: number[]
  sumWX: number[]
  /** Headlines applied and contributions rejected as late, over the key's lifetime. */
  count: number
  late: number
  /** Wall-clock ms of the last apply (IndicatorUpdate.updatedAt). */
  updatedMs: number
  /** Bucket index floor(eventMs / fineBucketMs) → headline counts; kept for fineRetentionMs. */
  fine: Map<number, BucketCounts>
  /** Bucket index floor(eventMs / coarseBucketMs) → headline count; kept for coarseRetentionMs. */
  coarse: Map<number, number>
  /**
   * Applied headline id → event ms, and late one → the reference time it was judged late at (past its
   * event by more than the grace: so a remembered time past the contribution's own event says "late");
   * kept for dedupRetentionMs behind refMs (a redelivery within it is a duplicate, or late again).
   */
  ids: Map<string, number>
}

export type ApplyOutcome = {
  applied: number
  duplicates: number
  late: number
  /** Contributions whose id the state remembers as late, or that came late earlier in the batch. */
  lateAgain: number
  /** The late contributions themselves (never dropped silently). */
  lateContributions: Contribution[]
  /** The contributions counted in lateAgain; absent when none was. */
  lateAgainContributions?: Contribution[]
  /** The contributions counted in duplicates; absent when none was. */
  duplicateContributions?: Contribution[]
  /**
   * The reference time the state held when it was one no apply could have written (see
   * applyContributions), replaced by the batch's newest event; absent when it was whole.
   */
  damagedRefMs?: number
  /**
   * Each other value the apply read holding one no apply could have written (storedFieldOk), by its Redis
   * hash field, taken as absent (0) and so repaired; absent when none was.
   */
  damagedFields?: { field: string; stored: string }[]
}

export function createIndicatorState(config: ResolvedIndicatorConfig): IndicatorState {
  return {
    refMs: null,
    sumW: config.halfLives.map(() => 0),
    sumWX: config.halfLives.map(() => 0),
    count: 0,
    late: 0,
    updatedMs: 0,
    fine: new Map(),
    coarse: new Map(),
    ids: new Map(),
  }
}

/**
 * Whether a stored reference time (an indicator's newest applied event) is one no apply could have
 * written: not a finite number, or past `limitMs`, the newest a store may keep (its clock plus its
 * maxRefAheadMs: see refLimitOf). The one test of it, for the apply (which resets such a time, with the
 * batch's events as plausible too: applyContributions) and every read (which leaves such an indicator
 * out: its asOf would be that time, and its values decayed against it). lua/applyScope-8.lua and
 * lua/applyScopeSums-8.lua make the same test.
 */
export function isDamagedRef(refMs: number, limitMs: number): boolean {
  return !(Number.isFinite(refMs) && refMs <= limitMs)
}

/**
 * Whether an id the state remembers at `storedMs` was judged late (remembered at the reference time it was
 * judged late at, which is past its event by more than the grace) rather than applied (remembered at its
 * own event time). lua/applyScope-8.lua makes the same test.
 */
export function isRememberedLate(storedMs: number, eventMs: number): boolean {
  return storedMs > eventMs
}

/**
 * Whether a value read from an indicator's state, by its Redis hash field, is one an apply could have
 * written: a counter (cnt, late, a bucket's n, p, m or c) a whole number ≥ 0, a weight sum (w<j>) a
 * finite number ≥ 0, another sum (x<j>) a finite number. lua/applyScope-8.lua and
 * lua/applyScopeSums-8.lua make the same test (their `stored`).
 */
export function storedFieldOk(field: string, value: number): boolean {
  if (!Number.isFinite(value)) return false
  const head = field[0]
  if (head === 'x') return true
  if (value < 0) return false
  return head === 'w' || Number.isInteger(value)
}

/**
 * Takes each value the apply reads (the counters and sums, and the buckets of the contributions whose
 * ids the state does not hold) that storedFieldOk refuses as absent: sets it to 0, in place, and returns
 * it by field and value, in the order lua/applyScope-8.lua reads the fields (cnt, late, w1, x1, …, then
 * each bucket's n, p, m and c as the contributions first reach it).
 */
function repairFields(
  state: IndicatorState,
  contributions: readonly Contribution[],
  config: ResolvedIndicatorConfig,
): { field: string; stored: string }[] {
  const damaged: { field: string; stored: string }[] = []
  const check = (field: string, value: number): number => {
    if (storedFieldOk(field, value)) return value
    damaged.push({ field, stored: String(value) })
    return 0
  }
  state.count = check('cnt', state.count)
  state.late = check('late', state.late)
  for (let j = 0; j < config.halfLives.length; j++) {
    state.sumW[j] = check(`w${j + 1}`, state.sumW[j]!)
    state.sumWX[j] = check(`x${j + 1}`, state.sumWX[j]!)
  }
  const fineSeen = new Set<number>()
  const coarseSeen = new Set<number>()
  for (const c of contributions) {
    if (state.ids.has(c.headlineId)) continue
    const fi = Math.floor(c.eventMs / config.fineBucketMs)
    const b = state.fine.get(fi)
    if (!fineSeen.has(fi) && b) {
      b.n = check(`n${fi}`, b.n)
      b.pos = check(`p${fi}`, b.pos)
      b.neg = check(`m${fi}`, b.neg)
    }
    fineSeen.add(fi)
    const ci = Math.floor(c.eventMs / config.coarseBucketMs)
    const n = state.coarse.get(ci)
    if (!coarseSeen.has(ci) && n !== undefined) state.coarse.set(ci, check(`c${ci}`, n))
    coarseSeen.add(ci)
  }
  return damaged
}

/**
 * Applies one batch of contributions to one indicator's state, in place.
 *
 * The batch counts as arriving at once: the new reference time is the newest of the state's and the
 * batch's event times, and a contribution older than that minus the grace is late, whatever its
 * position in the batch. Sums are kept against the moving reference time, so the result does not
 * depend on arrival order (up to floating-point rounding): on a newer reference every sum is decayed
 * by 2^(−Δ/h), and each contribution adds w·2^(−(ref−t)/h).
 *
 * A contribution whose headline id the state holds changes nothing: a duplicate when the id was applied,
 * late again (lateAgain) when it was judged late (isRememberedLate), as is a second copy in the batch of
 * one applied or judged late in it. A late headline given again (a redelivery, or an apply made again
 * after its answer was lost) so stays late: counted as a duplicate, it passed for one that had moved the
 * indicator.
 *
 * A reference time no apply could have written is damaged: one that is not a finite number, or one past
 * both `refLimitMs` and the batch's newest event (the caller's bound on a plausible time: the stores
 * pass their clock plus their maxRefAheadMs). Every later contribution would be late against it until
 * the key expired, so the state is applied as if it had none, as a field that reads as no number always
 * was: the batch's newest event becomes the reference time, even when every contribution is a
 * duplicate; the sums, buckets and counters are kept as they stand, read against it from now on. The
 * ids remembered past the bound can only have been remembered at the damaged time (late ones, never
 * applied): they are forgotten after the batch is judged, or no trim would ever reach them. Reported in
 * `damagedRefMs`.
 *
 * Every other value the apply reads (the count, the late count, the sums, and the buckets of the
 * contributions whose ids the state does not hold) holding one no apply could have written
 * (storedFieldOk: NaN, Infinity, a count of 2.5, a weight sum below 0) is damaged too: added to, it stayed
 * so, and every read withheld the indicator while each apply kept its key alive. It is taken as absent
 * (0), before anything else, whatever the batch turns out to hold (repairFields), and reported in
 * `damagedFields`.
 *
 * Mirrors lua/applyScope-8.lua (per dimension) operation for operation; keep them in step (one test runs both).
 */
export function applyContributions(
  state: IndicatorState,
  contributions: readonly Contribution[],
  nowMs: number,
  config: ResolvedIndicatorConfig,
  refLimitMs = Number.MAX_VALUE,
): ApplyOutcome {
  const outcome: ApplyOutcome = { applied: 0, duplicates: 0, late: 0, lateAgain: 0, lateContributions: [] }
  if (contributions.length === 0) return outcome
  let batchMax = Number.NEGATIVE_INFINITY
  for (const c of contributions) if (c.eventMs > batchMax) batchMax = c.eventMs
  // The batch's own events are plausible whatever the clock says: the caller bounded them already.
  const limit = Math.max(batchMax, refLimitMs)
  let oldRef = state.refMs
  if (oldRef !== null && isDamagedRef(oldRef, limit)) {
    outcome.damagedRefMs = oldRef
    oldRef = null
  }
  const damagedFields = repairFields(state, contributions, config)
  if (damagedFields.length > 0) outcome.damagedFields = damagedFields
  const newRef = oldRef !== null && oldRef > batchMax ? oldRef : batchMax
  const lateBefore = newRef - config.graceMs

  const hl = config.halfLives
  const addW = hl.map(() => 0)
  const addWX = hl.map(() => 0)
  const applied: Contribution[] = []
  const lateAgain: Contribution[] = []
  const duplicates: Contribution[] = []
  // What each id of the batch came to (true: late), so a second copy is judged as the first was.
  const seen = new Map<string, boolean>()
  for (const c of contributions) {
    const stored = state.ids.get(c.headlineId)
    const wasLate = stored !== undefined ? isRememberedLate(stored, c.eventMs) : seen.get(c.headlineId)
    if (wasLate === true) {
      lateAgain.push(c)
    } else if (wasLate === false) {
      duplicates.push(c)
    } else if (c.eventMs < lateBefore) {
      outcome.late++
      outcome.lateContributions.push(c)
      seen.set(c.headlineId, true)
    } else {
      seen.set(c.headlineId, false)
      applied.push(c)
      for (let j = 0; j < hl.length; j++) {
        const f = 2 ** (-(newRef - c.eventMs) / hl[j]!.ms)
        addW[j] = addW[j]! + c.weight * f
        addWX[j] = addWX[j]! + c.weight * c.value * f
      }
    }
  }
  outcome.lateAgain = lateAgain.length
  outcome.duplicates = duplicates.length
  if (lateAgain.length > 0) outcome.lateAgainContributions = lateAgain
  if (duplicates.length > 0) outcome.duplicateContributions = duplicates
  state.late += outcome.late
  if (outcome.damagedRefMs !== undefined) {
    for (const [id, t] of state.ids) if (t > limit) state.ids.delete(id)
  }
  // A late id is remembered like an applied one, at the reference time (its own is past the cutoff
  // already), so a redelivery within the dedup retention is known: late again, not counted late twice,
  // nor taken for a headline that moved the indicator.
  for (const c of outcome.lateContributions) state.ids.set(c.headlineId, newRef)
  outcome.applied = applied.length
  if (applied.length === 0) {
    if (outcome.damagedRefMs !== undefined) state.refMs = newRef
    return outcome
  }

  for (let j = 0; j < hl.length; j++) {
    const d = oldRef !== null && newRef > oldRef ? 2 ** (-(newRef - oldRef) / hl[j]!.ms) : 1
    state.sumW[j] = state.sumW[j]! * d + addW[j]!
    state.sumWX[j] = state.sumWX[j]! * d + addWX[j]!
  }
  // Trim when the reference time enters a new coarse bucket, against that bucket's start: the kept set
  // then depends only on the newest event, not on arrival order, and a store trims once an hour of
  // event time rather than on every write (at most one coarse bucket's worth of fine buckets extra).
  // Every write is at t ≥ ref − grace, inside the retention, so trimming before writing is safe.
  const cb = config.coarseBucketMs
  if (oldRef !== null && Math.floor(newRef / cb) > Math.floor(oldRef / cb)) {
    const edge = Math.floor(newRef / cb) * cb
    const fineLow = Math.floor((edge - config.fineRetentionMs) / config.fineBucketMs)
    for (const idx of state.fine.keys()) if (idx < fineLow) state.fine.delete(idx)
    const coarseLow = Math.floor((edge - config.coarseRetentionMs) / cb)
    for (const idx of state.coarse.keys()) if (idx < coarseLow) state.coarse.delete(idx)
  }
  const idsBefore = newRef - config.dedupRetentionMs
  for (const [id, t] of state.ids) if (t < idsBefore) state.ids.delete(id)

  for (const c of applied) {
    const f = Math.floor(c.eventMs / config.fineBucketMs)
    const b = state.fine.get(f) ?? { n: 0, pos: 0, neg: 0 }
    b.n++
    if (c.sign > 0) b.pos++
    else if (c.sign < 0) b.neg++
    state.fine.set(f, b)
    const k = Math.floor(c.eventMs / config.coarseBucketMs)
    state.coarse.set(k, (state.coarse.get(k) ?? 0) + 1)
    state.ids.set(c.headlineId, c.eventMs)
  }
  state.refMs = newRef
  state.count += applied.length
  state.updatedMs = nowMs
  return outcome
}

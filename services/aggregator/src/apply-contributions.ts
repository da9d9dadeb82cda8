import { cutForLog, LIMITS } from '@tradepulse/contracts'
import {
  type ApplyBatchResult,
  type Contribution,
  type DamagedField,
  type DamagedReference,
  type FoldedContribution,
  type IndicatorStore,
  indicatorKey,
  type LateContribution,
} from '@tradepulse/indicators'
import { type Logger, normalizeError } from '@tradepulse/platform'
import type { AggregatorMetrics } from './aggregator-metrics.ts'

const LATE_SAMPLE = 5
const DAMAGED_SAMPLE = 5
/** Most headline ids an UnansweredHeadlines holds: the oldest go first (a batch handled elsewhere since). */
const MAX_UNANSWERED = 100_000

/**
 * The headlines of applies that failed for a fault to retry (a reply that timed out, a connection closed
 * part way through a pipeline), whose effects Redis may hold though nobody heard them: the apply made
 * again finds what the first applied as duplicates, and what it judged late as late again, and
 * applyInRuns counts those as the lost answer would have. Forgotten once an apply holding them is
 * answered; at most `max` (the oldest forgotten first: a batch never handled again here, its partition
 * moved to another member, costs no more than that). Only where faults coincide is a count wrong: a
 * headline of such an apply that Redis held before it (a second record of one applied earlier) counts as
 * applied, not as a duplicate.
 */
export type UnansweredHeadlines = {
  has(headlineId: string): boolean
  add(contributions: readonly Contribution[]): void
  forget(contributions: readonly Contribution[]): void
}

export function createUnansweredHeadlines(max = MAX_UNANSWERED): UnansweredHeadlines {
  const ids = new Set<string>()
  return {
    has: (headlineId) => ids.has(headlineId),
    add(contributions) {
      for (const c of contributions) {
        if (ids.has(c.headlineId)) continue
        ids.add(c.headlineId)
        if (ids.size > max) ids.delete(ids.values().next().value!)
      }
    },
    forget(contributions) {
      if (ids.size === 0) return
      for (const c of contributions) ids.delete(c.headlineId)
    },
  }
}

/**
 * Cuts contributions into runs, in event-time order, each spanning at most `graceMs`.
 *
 * The store takes one applyBatch as one arrival: a contribution older than the batch's newest event
 * minus the grace is late, even when nothing newer had been applied before. A live batch spans
 * seconds, but a backlog batch (a restart, a rebuild) spans hours; applied whole, its older part would
 * be late. Applied as runs in event-time order, each run is judged only against what came before it,
 * as if the headlines had arrived one by one in order.
 */
export function eventTimeRuns(contributions: readonly Contribution[], graceMs: number): Contribution[][] {
  if (contributions.length === 0) return []
  const sorted = [...contributions].sort((a, b) => a.eventMs - b.eventMs)
  const runs: Contribution[][] = []
  let run: Contribution[] = []
  let runStart = sorted[0]!.eventMs
  for (const c of sorted) {
    if (c.eventMs - runStart > graceMs) {
      runs.push(run)
      run = []
      runStart = c.eventMs
    }
    run.push(c)
  }
  runs.push(run)
  return runs
}

export type ApplyDeps = {
  log: Logger
  metrics: AggregatorMetrics
  graceMs: number
  /**
   * Whether a headline id is one of a redelivered record, applied before (see AppliedOffsets): its late
   * contributions are counted as duplicates, not late. None when absent (the rebuild).
   */
  redelivered?: (headlineId: string) => boolean
  /**
   * The headlines of this caller's applies that failed (see UnansweredHeadlines): an apply of them is
   * added to it when it fails, taken out of it when it is answered. None when absent: every known
   * headline counts as a duplicate.
   */
  unanswered?: UnansweredHeadlines
  /**
   * Where the late contributions the store did not apply go: those judged late now (but those of
   * redelivered records, which count as duplicates and may have moved the indicator when first applied),
   * and every one the store found judged late before (lateAgain), redelivered or not: they moved no
   * indicator, so the aggregator gives an update neither their entry time nor their trace, nor publishes
   * a key for them alone.
   */
  late?: LateContribution[]
}

/**
 * Applies contributions run by run (see eventTimeRuns), reporting each. The runs go to the store in
 * one applyRuns call (one round trip on Redis for all of them), applied in order as if one by one; the
 * apply histogram times that call. Resolves with the contributions the store folded into their kind's
 * `other` scope (ApplyBatchResult.folded), of every run. The indicators whose reference time the store
 * found damaged and reset, of every run, are counted and logged at error in one line.
 *
 * An apply whose answer was lost may have run: its headlines go into `deps.unanswered` when it fails,
 * and when Redis answered a run again after a reconnection (ApplyBatchResult.reconnected) every headline
 * of the call may be its own first run's. Such a headline's duplicates count as applied and its late
 * again contributions as late (and are logged), as the lost answer had them: before, after a lost answer,
 * the batch's applied contributions were counted as duplicates, and its late ones as well.
 */
export async function applyInRuns(
  store: IndicatorStore,
  contributions: readonly Contribution[],
  deps: ApplyDeps,
): Promise<FoldedContribution[]> {
  const runs = eventTimeRuns(contributions, deps.graceMs)
  if (runs.length === 0) return []
  const stopTimer = deps.metrics.applySeconds.startTimer()
  let results: ApplyBatchResult[]
  try {
    results = await store.applyRuns(runs)
  } catch (err) {
    // A fault to retry (a reply that timed out, a connection closed) may have come after Redis ran the
    // calls. A refusal (a script's error, WRONGTYPE) is Redis's answer: the apply made again in parts
    // (findRefused) or record by record meets what it refused, not what it applied.
    if (normalizeError(err).retriable) deps.unanswered?.add(contributions)
    throw err
  }
  stopTimer()
  const folded: FoldedContribution[] = []
  const damaged: DamagedReference[] = []
  const fields: DamagedField[] = []
  const unanswered = deps.unanswered
  for (const r of results) {
    // Whether the first answer about a headline may be lost: never for a redelivered record's (applied
    // before by whoever answered it), always when Redis answered again after a reconnection.
    const own = (headlineId: string) =>
      !deps.redelivered?.(headlineId) && (r.reconnected === true || unanswered?.has(headlineId) === true)
    report(store, r, deps, own)
    if (r.folded) for (const f of r.folded) folded.push(f)
    if (r.damagedRefs) for (const d of r.damagedRefs) damaged.push(d)
    if (r.damagedFields) for (const d of r.damagedFields) fields.push(d)
  }
  unanswered?.forget(contributions)
  reportDamaged(store, damaged, deps)
  reportDamagedFields(store, fields, deps)
  return folded
}

/**
 * Fields of indicator states that held a value no apply could have written (NaN, Infinity, a count of
 * 2.5, a weight sum below 0), which the store took as 0 and wrote back: until then every reader withheld
 * the indicator (invalid_state) while each apply renewed its key. Each is repaired once, so counted and
 * logged once.
 */
function reportDamagedFields(store: IndicatorStore, fields: readonly DamagedField[], deps: ApplyDeps): void {
  if (fields.length === 0) return
  deps.metrics.fieldsInvalid.inc(fields.length)
  deps.log.error(
    {
      fields: fields.length,
      sample: fields.slice(0, DAMAGED_SAMPLE).map(({ dimension, scope, field, stored }) => ({
        key: cutForLog(indicatorKey(dimension, scope), LIMITS.maxIndicatorKeyChars),
        field,
        stored: cutForLog(stored, 64),
      })),
      namespace: store.namespace,
    },
    'indicator states held values no apply could have written (Redis edited or damaged); taken as 0 and written back',
  )
}

/**
 * Indicators whose stored newest event time no apply could have written (Redis edited by hand or
 * damaged: 1e15 ms, a time in the year 9999; or this member's clock far behind the one that wrote it),
 * which the store reset to the newest headline applied to them. Against such a time every later
 * headline was late until the key expired, silently but for the late count: the indicator stopped
 * moving. Each is reset once (its time is whole after), so each is counted and logged once; the stream
 * goes on, and nothing is dead-lettered, as no record is to blame.
 */
function reportDamaged(store: IndicatorStore, damaged: readonly DamagedReference[], deps: ApplyDeps): void {
  if (damaged.length === 0) return
  deps.metrics.refsInvalid.inc(damaged.length)
  deps.log.error(
    {
      indicators: damaged.length,
      sample: damaged.slice(0, DAMAGED_SAMPLE).map(({ dimension, scope, stored, refMs }) => ({
        key: cutForLog(indicatorKey(dimension, scope), LIMITS.maxIndicatorKeyChars),
        ref: cutForLog(stored, 64),
        resetTo: new Date(refMs).toISOString(),
      })),
      namespace: store.namespace,
    },
    "indicator states held a newest event time no headline could have given them (Redis edited or damaged, or this member's clock behind the others'); reset to the newest headline applied to them",
  )
}

/**
 * Accounts for one applied batch: applied and duplicate counts, and every late contribution counted by
 * dimension and logged at warn with a sample of its headlines (never silent), but those of redelivered
 * records: applied before, they count as duplicates (and as redelivered). A contribution the store found
 * judged late before (lateAgain) was counted late then: a duplicate now, unless its first answer may be
 * lost (`own`), when it is counted late as that answer would have been, as `own` duplicates are counted
 * applied.
 */
function report(
  store: IndicatorStore,
  r: ApplyBatchResult,
  deps: ApplyDeps,
  own: (headlineId: string) => boolean,
): void {
  let applied = r.applied
  let duplicates = r.duplicates
  for (const c of r.duplicateContributions ?? []) {
    if (!own(c.headlineId)) continue
    applied++
    duplicates--
  }
  deps.metrics.applied.inc(applied)
  let again = 0
  let late = 0
  const byDimension = new Map<string, number>()
  const headlines = new Map<string, number>()
  const countLate = (c: LateContribution) => {
    late++
    byDimension.set(c.dimension, (byDimension.get(c.dimension) ?? 0) + 1)
    headlines.set(c.headlineId, c.eventMs)
  }
  for (const c of r.lateContributions) {
    if (deps.redelivered?.(c.headlineId)) {
      again++
      continue
    }
    deps.late?.push(c)
    countLate(c)
  }
  for (const c of r.lateAgainContributions ?? []) {
    deps.late?.push(c)
    if (own(c.headlineId)) countLate(c)
    else duplicates++
  }
  if (again > 0) {
    duplicates += again
    deps.metrics.redelivered.inc(again)
  }
  if (duplicates > 0) deps.metrics.duplicates.inc(duplicates)
  if (late === 0) return
  for (const [dimension, n] of byDimension) deps.metrics.late.inc({ dimension }, n)
  deps.log.warn(
    {
      lateContributions: late,
      lateHeadlines: headlines.size,
      sample: [...headlines]
        .slice(0, LATE_SAMPLE)
        .map(([id, ms]) => ({ id, publishedAt: new Date(ms).toISOString() })),
      namespace: store.namespace,
    },
    'late headlines: older than the grace period behind their indicators; counted, not applied',
  )
}

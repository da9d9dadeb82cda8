import type { Dimension, IndicatorUpdate, Scope, ScopeKind } from '@tradepulse/contracts'
import type { Contribution } from './contributions.ts'

export type LateContribution = Pick<Contribution, 'dimension' | 'scope' | 'headlineId' | 'eventMs'>

/** A contribution whose headline the indicator already held as applied (a duplicate), by the key it went to. */
export type DuplicateContribution = Pick<Contribution, 'dimension' | 'scope' | 'headlineId'>

/** A contribution to a scope beyond its kind's cap, by the scope it named (see foldRareScopes). */
export type FoldedContribution = Pick<Contribution, 'dimension' | 'scope' | 'headlineId'>

/**
 * An indicator whose stored reference time (its newest applied event) no apply could have written: not
 * a finite number, or further past the store's clock than its maxRefAheadMs and past every event applied
 * with it (Redis edited by hand or damaged). Against it every later headline was late until the key
 * expired; the apply reset it to the newest event applied to the indicator (see applyContributions).
 */
export type DamagedReference = Pick<Contribution, 'dimension' | 'scope'> & {
  /** The reference time as the store held it (Redis's text, at most 64 characters). */
  stored: string
  /** What it was reset to: the newest event time applied to the indicator in that batch. */
  refMs: number
}

/**
 * Why a read left an indicator out (WithheldIndicator). `damaged_ref`: its stored reference time is
 * damaged (isDamagedRef: not a finite number, or further past the store's clock than its maxRefAheadMs;
 * Redis edited by hand or damaged), so its values are decayed sums against that time and its update's
 * asOf would be that time (the year 9999, say); the next apply to the indicator resets the time
 * (DamagedReference) and it reads again. `invalid_state`: the update its state reads as breaks the strict
 * IndicatorUpdate contract (indicatorUpdateProblem: a field that is not a number, or not one an apply
 * writes, reads as NaN, Infinity, a count of 2.5 or `invalid time (…)`), so it would be given with nulls
 * (JSON's NaN) or numbers no apply wrote; the next apply that reads the field repairs it (DamagedField:
 * the counters and sums, and the buckets of its headlines), and one no apply reads (upd, an older bucket)
 * stays so until it is written again or the key expires (a rebuild rewrites every key).
 */
export type WithheldReason = 'damaged_ref' | 'invalid_state'

/**
 * An indicator a read left out, and why (WithheldReason): none of its state is given to a reader, who
 * would act on it, and the state is left as it is. Every store makes the same checks on every read
 * (readStoredIndicator), so every reader (the gateway, the aggregator, the CLI) leaves out the same.
 */
export type WithheldIndicator = Pick<Contribution, 'dimension' | 'scope'> & {
  /** The reference time as the store holds it (Redis's text, at most 64 characters; '' when none). */
  stored: string
} & (
    | { reason: 'damaged_ref' }
    | {
        reason: 'invalid_state'
        /** What the contract says of the update, naming the fields (`count: Invalid input: …`). */
        problem: string
      }
  )

/**
 * A field of an indicator's state (as its Redis hash names it: cnt, late, w<j>, x<j>, n/p/m<fine bucket>,
 * c<coarse bucket>) that an apply read holding a value no apply could have written: not a finite number;
 * for a count (cnt, late, a bucket's), not a whole number ≥ 0; for a weight sum (w<j>), below 0 (Redis
 * edited by hand or damaged). Added to, it stayed so (NaN + 1 is NaN) and every read withheld the
 * indicator (invalid_state) for as long as applies kept its key alive; the apply takes it as absent (0),
 * as a field that reads as no number always was, and writes it back repaired (see applyContributions).
 */
export type DamagedField = Pick<Contribution, 'dimension' | 'scope'> & {
  /** The field, as the Redis hash names it. */
  field: string
  /** Its value as the store held it (Redis's text, at most 64 characters). */
  stored: string
}

/**
 * Counts are of contributions (one headline in one indicator), summed over the batch's keys. Each
 * contribution is counted once, in one of applied, duplicates, late and lateAgain, by what the indicator
 * held of its headline id: nothing (applied, or late when older than the grace behind the indicator's
 * newest event), the id as applied (a duplicate), or the id as judged late (lateAgain). A second copy
 * within the batch is judged by what the first came to.
 *
 * An apply made again after its answer was lost (a reply that timed out, a connection closed before it
 * came) meets its own first run's effects: what that run applied is reported as duplicates, what it judged
 * late as lateAgain. Only the caller knows that the first answer was lost: it can count those as that
 * answer would have, by headline (duplicateContributions, lateAgainContributions; see `reconnected`).
 */
export type ApplyBatchResult = {
  applied: number
  duplicates: number
  late: number
  /**
   * Contributions whose headline id the indicator remembers as late (judged late before, never applied:
   * a redelivery of a late headline, or an apply made again after its answer was lost): late again, not
   * applied, and not counted in `late` nor in the indicator's late count a second time. Before, they were
   * duplicates, and a caller took them for headlines that had moved the indicator.
   */
  lateAgain: number
  /** Each late contribution: not applied, reported so the caller can count and log it. */
  lateContributions: LateContribution[]
  /** Each contribution counted in lateAgain; absent when none was. */
  lateAgainContributions?: LateContribution[]
  /** Each contribution counted in duplicates, in no particular order; absent when none was. */
  duplicateContributions?: DuplicateContribution[]
  /**
   * Set when the store's connection to Redis was replaced while the call was in flight: Redis may then have
   * run some of its scripts twice (ioredis sends again what a closed connection left unanswered) and
   * answered for the second run, which finds what the first applied as duplicates and what it judged late
   * as lateAgain. Only the Redis store sets it; absent otherwise.
   */
  reconnected?: true
  /**
   * Each contribution whose scope was not admitted (beyond its kind's cap): applied to the kind's
   * `other` scope instead, once per headline, dimension and kind, so the caller can publish `other`
   * rather than a key nothing was applied to. Absent when none was.
   */
  folded?: FoldedContribution[]
  /** Each indicator whose reference time was damaged and reset by this batch; absent when none was. */
  damagedRefs?: DamagedReference[]
  /** Each field of an indicator's state this batch found damaged and repaired; absent when none was. */
  damagedFields?: DamagedField[]
}

export type TopBy = 'momentum' | 'buzz'

/**
 * The port the aggregator (writes) and the gateway, alerter and CLI (reads) use. One conformance suite
 * runs against every adapter. A store works in one namespace (a key prefix); a rebuild replays Kafka
 * into a fresh namespace, then activates it for readers and clears the old one.
 */
export type IndicatorStore = {
  readonly namespace: string
  /**
   * Applies contributions from any number of headlines, atomically per indicator and idempotently:
   * an applied headline id changes nothing the second time. Sets the namespace's born time when it has
   * none (bornCandidateMs of the batch; namespace-born.ts), which get and top read buzz against; a store's
   * first apply in a namespace holding indicator state but no born time (written before born times
   * existed) sets it to 0 instead.
   */
  applyBatch(contributions: readonly Contribution[]): Promise<ApplyBatchResult>
  /**
   * Applies runs in order, each exactly as its own applyBatch (each run one arrival), in as few round
   * trips as the adapter can (Redis: two, however many runs); one result per run. On failure any prefix
   * of the runs may have been applied: retry them all (idempotence absorbs the rest).
   */
  applyRuns(runs: readonly (readonly Contribution[])[]): Promise<ApplyBatchResult[]>
  /**
   * The indicator at event time asOfMs, or at its newest applied event when that is later (its asOf
   * says which: never before a headline its values hold), or undefined when nothing was applied to it
   * (or it expired), or when its reference time is damaged or its update breaks the IndicatorUpdate
   * contract: then it is pushed onto `withheld` when given (WithheldIndicator, with the reason), so the
   * reader can say so. Its buzz reads against the namespace's born time (readBuzz: 0 while less than
   * minBuzzBaselineMs of the baseline is known since, or while the namespace has none).
   */
  get(
    dimension: Dimension,
    scope: Scope,
    asOfMs: number,
    withheld?: WithheldIndicator[],
  ): Promise<IndicatorUpdate | undefined>
  /**
   * The n scopes of a kind with the largest buzz, or the largest |momentum| (both directions are
   * news), ties by scope id. The folded `other` scope is left out, and so is each scope that get would
   * withhold (pushed onto `withheld` when given, as by get): the n are ranked among the others.
   */
  top(
    dimension: Dimension,
    scopeKind: ScopeKind,
    by: TopBy,
    n: number,
    asOfMs: number,
    withheld?: WithheldIndicator[],
  ): Promise<IndicatorUpdate[]>
  /** The same store in another namespace (same client, same config). */
  withNamespace(namespace: string): IndicatorStore
  /**
   * Raises the namespace's event-time watermark (shared by every aggregator member) to `ms` when it is
   * lower, and returns the watermark: the asOf of the updates a member publishes, so one indicator's
   * updates never go back in event time when members that have read different amounts publish them
   * (the alerter ignores an update older than the last it evaluated). A stored one that is damaged (as a
   * damaged ref: isDamagedRef against the store's clock plus its maxRefAheadMs) is replaced by `ms`.
   */
  advanceWatermark(ms: number): Promise<number>
  /**
   * The namespace's event-time watermark without raising it (readers), or undefined when none is set or
   * the one set is damaged (as advanceWatermark judges it).
   */
  watermark(): Promise<number | undefined>
  /** The namespace readers should use, if one was activated. */
  activeNamespace(): Promise<string | undefined>
  activateNamespace(namespace: string): Promise<void>
  /** Deletes every indicator of this namespace, and its born time; returns how many storage keys went. */
  clear(): Promise<number>
}

import {
  type Clock,
  contractProblem,
  cutForLog,
  IndicatorUpdate,
  LIMITS,
  ScoredIndicatorInput,
  systemClock,
  type TopicCatalogue,
} from '@tradepulse/contracts'
import {
  type Contribution,
  foldRareScopes,
  type IndicatorStore,
  indicatorKey,
  type LateContribution,
  readIndicatorKey,
  scopeTag,
  type WithheldIndicator,
} from '@tradepulse/indicators'
import {
  type BatchHandler,
  type InRecord,
  isKafkaAclRefusal,
  kafkaTlsCode,
  type Logger,
  loopSlices,
  normalizeError,
  type Outcome,
  type OutRecord,
  parseJsonRecord,
  publishedAtMs,
  SLICE_MS,
  sendFindingRefused,
  validTraceparent,
} from '@tradepulse/platform'
import type { AggregatorMetrics } from './aggregator-metrics.ts'
import {
  type AppliedClaim,
  type AppliedOffsets,
  type AppliedRange,
  type AppliedTracker,
  createAppliedTracker,
  type HandledRange,
  isRedelivery,
  memoryAppliedOffsets,
  type TrackedPart,
  trackedPart,
  trackRecord,
} from './applied-offsets.ts'
import { applyInRuns, createUnansweredHeadlines } from './apply-contributions.ts'
import { DEFAULT_MAX_AHEAD_MS, DEFAULT_PUBLISH_FAILING_MS } from './config.ts'
import { type ClaimedMark, type DirtyKeys, type DirtyMark, memoryDirtyKeys } from './dirty-keys.ts'
import { contributionsAt, placeEventTime, recordNowMs } from './event-time-bound.ts'
import { createEventTimeMerger, RefusedHeadlinesError } from './event-time-merger.ts'
import { createKeyLocks } from './key-locks.ts'
import { monotonicClock } from './monotonic-clock.ts'
import { createPublishHealth } from './publish-health.ts'
import {
  createPublishThrottle,
  type HeadlineTrace,
  type KeyActivity,
  newerTrace,
  type PickedKey,
  type PublishThrottleOptions,
  type PublishTrigger,
} from './publish-throttle.ts'

export type AggregatorDeps = {
  topics: TopicCatalogue
  /** The store in the configured namespace; writes go to whichever namespace is active (see below). */
  store: IndicatorStore
  log: Logger
  metrics: AggregatorMetrics
  publish: PublishThrottleOptions
  /** The store's grace period: rounds are applied in event-time runs no longer than this. */
  graceMs: number
  /** The wall clock: the bound of the event-time watermark (maxAheadMs), and a record's "now" (recordNowMs). */
  clock?: Clock
  /**
   * The monotonic clock (default performance.now) that times what this member times for itself: the
   * throttle's intervals, its look for other members' marks, how long publishing has failed, how long ago
   * it recorded applied offsets, how long since it warned. On the wall clock, one set back (an NTP step,
   * a VM snapshot restored) held every key published in the last interval back for as long as the step.
   */
  monotonic?: Clock
  /**
   * Records parsed and submitted to the store as one part: a large batch (a backlog fetch) goes in
   * parts, the next parsed while the one before is being applied in Redis. Default 2,000.
   */
  partSize?: number
  /**
   * The longest the handler works through a batch's records without a turn of the event loop, in ms
   * (default SLICE_MS, see there). 0: a turn every TURN_CHECK_EVERY records (tests).
   */
  sliceMs?: number
  /** The most contributions one merged round holds (createEventTimeMerger's maxRound; tests). */
  maxRound?: number
  /**
   * The offsets the group has applied per input partition (Redis on Kafka; in memory by default), so a
   * headline given again after a crash counts as a duplicate, not late (see AppliedOffsets).
   */
  applied?: AppliedOffsets
  /**
   * How long `applied` keeps a range after its last record (redisAppliedOffsets' TTL, the indicators'
   * own): a range gone once that long has passed expired with the indicators, and is not reported as
   * lost. Never, by default (the memory adapter keeps its ranges).
   */
  appliedTtlMs?: number
  /**
   * Where the keys the throttle holds back are marked until published, so that a member killed before
   * its trailing edge loses no update (Redis on Kafka; in memory by default): see dirty-keys.ts.
   */
  dirty?: DirtyKeys
  /**
   * How old a dirty mark must be before this member publishes it as one nobody will (the member that
   * made it died or cannot reach Kafka). At least three publish intervals are used. Default 10 s.
   */
  recoverAfterMs?: number
  /**
   * How far past the wall clock the event-time watermark may go (default 30 s), and how far past its
   * record's time a headline is applied at: one stamped further ahead is applied at that bound (see
   * placeEventTime), so it moves no indicator's newest event, and no other headline's lateness, past it.
   */
  maxAheadMs?: number
  /**
   * Where indicator updates go (the worker's own producer, resolving once Kafka acknowledged them). Given,
   * every update goes through it, a batch's (before the batch completes) as much as the trailing edge's,
   * and one key's updates are read and sent one at a time, so they land on the topic in the order of
   * their readings (see createAggregator). Absent (the handler tested alone), a batch's updates are its
   * output, produced by the runner, and flushDue and flushAll are given where to send theirs: the two
   * go out with no order between them.
   */
  send?: SendUpdates
  /**
   * How long indicator updates may go unpublished for a Kafka fault (sends failing, or one under way)
   * before the `publishHealth` check is degraded and not ready (AGGREGATOR_PUBLISH_FAILING_MS; default 30 s).
   */
  publishFailingMs?: number
}

/** Produces indicator update records, resolving once they are acknowledged. */
export type SendUpdates = (records: OutRecord[]) => Promise<void>

/**
 * Kafka refusing the credentials, the ACL refusing this client, or TLS failing: the deployment's fault,
 * which the runner waits out for a bounded time and then stops the worker for, naming what to check. A
 * batch whose updates fail so fails, rather than hold them back (which would hide it).
 */
const deploymentFault = (err: unknown): boolean =>
  normalizeError(err).code === 'KAFKA_AUTH' || isKafkaAclRefusal(err) || kafkaTlsCode(err) !== undefined

/** Most held-back keys of other members one trailing tick takes over. */
const RECOVER_LIMIT = 1_000
/** How often a member looks for them (a trailing tick comes every quarter interval). */
const CLAIM_EVERY_MS = 1_000

/** A headlines.scored record → what indicators need of it (see ScoredIndicatorInput), or the dlq reason. */
export const parseScoredRecord = (value: Buffer | null) => parseJsonRecord(ScoredIndicatorInput, value)

/** A headlines.scored record's event time (its publishedAt) in ms, without parsing it (see publishedAtMs). */
export const scoredEventMs = publishedAtMs

/**
 * What is wrong with an indicator update about to be published, naming the field
 * (`scope.id: Too big: expected string to have <=64 characters`), or undefined when nothing is: the whole
 * strict IndicatorUpdate contract, by acceptsAs (about 0.5 µs an update, under half of JSON.stringify's
 * time on it), zod only to name the fields of one it refuses. The input's reader already bounds what a
 * headline can bring (its entity ids, the scope ids); what is left is what the store holds and gives
 * back: a scope applied by a member before the bound (a rolling deploy) and held back or read again, or
 * Redis state that is not numbers (edited by hand, or damaged).
 */
export const updateProblem: (update: IndicatorUpdate) => string | undefined = contractProblem(IndicatorUpdate)

/**
 * Adds one headline's contributions to the per-key activity the publish throttle weighs (headlines in
 * the order of their records: on a tie of entry times, the later one's trace is kept). A contribution
 * the store took as late (in `late`, by lateKey) moved nothing: it is left out, so neither its entry
 * time nor its trace goes on an update, and a key only late headlines came to is not published.
 */
function addActivity(
  out: Map<string, KeyActivity>,
  contributions: readonly Contribution[],
  enteredMs: number,
  trace: HeadlineTrace | undefined,
  late: ReadonlySet<string>,
): void {
  for (const c of contributions) {
    const k = indicatorKey(c.dimension, c.scope)
    if (late.size > 0 && late.has(lateKey(k, c.headlineId))) continue
    const a = out.get(k)
    if (a) {
      a.n++
      a.sumW += c.weight
      a.sumWX += c.weight * c.value
      if (enteredMs > a.enteredMs) a.enteredMs = enteredMs
      if (trace && trace === newerTrace(a.trace, trace)) a.trace = trace
    } else
      out.set(k, {
        n: 1,
        sumW: c.weight,
        sumWX: c.weight * c.value,
        enteredMs,
        ...(trace ? { trace } : {}),
      })
  }
}

/**
 * What the store said of a headline's contribution in a merged round: folded into its kind's `other`
 * scope (the scope it named), or not applied, late (in the key it was applied to, `other` for a folded
 * scope): judged late now, or found judged late before (lateAgain: a late headline given again, or an
 * apply made again after its answer was lost), whoever's record it is. A redelivered record's
 * contributions judged late now (past the hour of ids the store remembers, applied before) count as
 * duplicates and are not among these.
 */
type RoundNote = Pick<Contribution, 'dimension' | 'scope' | 'headlineId'> & { kind: 'folded' | 'late' }

/** The key of one headline's contribution to one indicator key (for the late ones). */
const lateKey = (key: string, headlineId: string) => `${key}\u0000${headlineId}`

/**
 * Per headline id, the scopes (scopeTag) the store folded its contributions from into their kind's
 * `other` scope; and, into `late`, the contributions it did not apply, as late (lateKey).
 */
function takeNotes(notes: readonly RoundNote[], into: Map<string, Set<string>>, late: Set<string>): void {
  for (const n of notes) {
    if (n.kind === 'late') {
      late.add(lateKey(indicatorKey(n.dimension, n.scope), n.headlineId))
      continue
    }
    let scopes = into.get(n.headlineId)
    if (!scopes) {
      scopes = new Set()
      into.set(n.headlineId, scopes)
    }
    scopes.add(scopeTag(n.scope))
  }
}

/** A headline's pipeline entry time in ms, -Infinity when it has none. */
const enteredMsOf = (ingestedAt: string | undefined): number =>
  ingestedAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(ingestedAt)

/**
 * headlines.scored → indicators in Redis, and throttled IndicatorUpdates on the compacted indicators
 * topic keyed by indicator key.
 *
 * Per batch: parse (bad records → dlq), map to contributions, apply them through the event-time merger
 * (so concurrent partitions reach the store in event-time order). On Kafka the handler returns once
 * every part is submitted and hands the rest to `ctx.defer`: the runner fetches and parses the next
 * batch while Redis applies the last parts, and commits a batch only once its work is done, so
 * everything committed is in Redis (elsewhere the handler waits for it). A large batch goes in parts of
 * `partSize` records: each part is submitted as soon as it is parsed, so Redis applies one part while
 * the next is parsed. A Redis fault throws a retriable
 * error; the runner retries the same batch, committing nothing, and the store's idempotence makes the
 * retry apply each headline once. A headline Redis refuses for good (WRONGTYPE on a scope key only it
 * names, a script's error on a damaged field) is left out of its merged round and the rest applied (see
 * createEventTimeMerger); its batch then fails with that reply, not retriable, once its parts are
 * applied: the runner handles it one record at a time, which dead-letters that record alone, the other
 * partitions' batches untouched.
 *
 * Stopping (ctx.signal aborted: the worker stopping, or its group rebalancing while the batch is
 * handled): the batch is handled to its end, every part applied, as before 58f555b (the runner
 * commits nothing of it). 58f555b ended it between merged rounds instead: with another member in the
 * group, a SIGTERM during a catch-up then lost headlines for good (thousands, counted late, not
 * applied, by the member given the partitions; most likely the group's event-time alignment had the
 * stopped member's partitions at the end of what it fetched, not of what it applied, so the other
 * member ran past them beyond the grace). A kill part way still leaves what the rounds applied recorded.
 *
 * Writes go to the ACTIVE namespace, read once per merged round: after a rebuild switches readers to a
 * fresh namespace, the very next round writes there (see rebuild.ts for why nothing is lost).
 *
 * Redeliveries: once a batch is applied, its offsets are recorded (AppliedOffsets), and after each
 * merged round, what the round left applied of the partitions it applied records of (the records up to
 * the first not applied, and a tail of those past it below the oldest event not applied yet: see
 * AppliedTracker); every batch reads its partition's applied range first. A record in it was applied before (the aggregator was
 * killed after applying it and before committing it, or its partition moved on to another member): the
 * store finds its headline id again, or, once the id is past the hour of ids it remembers, judges it
 * late. Such late contributions are counted as duplicates, not late, and not logged; the store applies
 * neither, so values, idempotence and order are the store's alone, and a record outside the range
 * (however old) is judged as before. A headline the store remembers as judged late (lateAgain: a late
 * headline given again, by a redelivery or another record) was counted late the first time: it counts as
 * a duplicate. After an apply whose answer was lost (a reply timed out, or Redis answered a call again
 * after a reconnection), the headlines it held count as that answer would have had them: applied for the
 * duplicates, late for the late again (see applyInRuns).
 *
 * The updates of keys the throttle picks are read back and sent (`deps.send`) before the batch
 * completes (in the deferred work, or before the handler returns), so they are acknowledged before the
 * offsets are committed. Pending keys go out on the trailing edge (`flushDue`), through the same `send`.
 * A batch that leaves keys pending marks them dirty in the store (DirtyKeys) before it completes, so its
 * offsets never commit while its update lives only in this process: a member killed before its trailing
 * edge leaves the marks, and the trailing edge of any member publishes marks that old (`recovered`). A
 * publish deletes the marks it settles, once Kafka acknowledged the update.
 *
 * Trace context: an update's record carries the `traceparent` header of the newest headline, by entry
 * time (ingestedAt, the later record on a tie), of those it is published for whose record carried a
 * valid one, as the scorer passes a headline's on (a dirty mark keeps it for whoever publishes it), so
 * an alert on the update traces back to that headline. None when none of them carried one: an earlier
 * update's headline did not move this one, and a new trace would lead nowhere. A headline the store
 * took as late in a key (older than the grace behind its newest event: not applied), now or before
 * (lateAgain: given again, or applied again after a lost answer), moved nothing there: it gives the key's
 * update neither its trace nor its ingestedAt, and a key only late headlines came to is not published (a
 * redelivered record's judged late now, past the ids the store remembers, counted as duplicates, still
 * publishes: the update it once caused may never have gone out). Before, a late headline given again
 * counted as a duplicate, and the update carried its trace and ingestedAt as if it had moved the key.
 *
 * Order per key: indicators.v1 is compacted, so a key's last record is what a restarted reader (the
 * alerter, a desk) takes for its value, and it must be the newest reading. Batches of several
 * partitions and the trailing edge publish the same keys concurrently, and a send can take long (a
 * leader moving, a fault retried): one key's publishes are therefore one at a time (KeyLocks), from the
 * read of the update to Kafka's acknowledgement of it, so a later publish reads the key after the
 * earlier one's record is on the topic. The wait is a produce round trip, and only where another
 * publish of the same key is under way (within one interval only a large change or a burst publishes a
 * key the trailing edge or another batch is publishing). Before this, a batch's updates were its output,
 * produced by the runner's producer after the batch's work, and the trailing edge's went through
 * another producer: a trailing update read before a batch's newer one could land after it, and a
 * batch's update whose produce was slow could land after the trailing edge's newer one, leaving an
 * older reading last on the topic (publish-order.int.test.ts).
 *
 * A batch whose updates cannot be sent (a Kafka fault) marks their keys dirty and completes: they are
 * pending again, and the trailing edge publishes them as it reads them then, as it does held-back
 * updates (its records are not read and applied again for an output that only needs sending). Each
 * such send is counted (tradepulse_indicator_publish_failures_total), and the `publishHealth` check is
 * degraded and not ready once updates have gone unpublished for `publishFailingMs`. Refused
 * credentials, an ACL's refusal or TLS failing fail the batch (the runner waits them out, then stops the
 * worker). When Kafka refuses a record (a request of several fails whole for it), the records are sent
 * again one at a time under the same locks, and only one refused alone is left out (sendUpdates): a
 * batch's updates never go to the runner's output, which would produce them outside the locks.
 *
 * Every update is checked against the strict IndicatorUpdate contract as it is read (updateProblem): one
 * that breaks it (a scope id over its bound that a member before the bound applied, Redis state that is
 * not numbers or times) is not published, as a key that does not exist is not, its marks settled; it is
 * counted (tradepulse_indicator_updates_invalid_total) and logged at error with the field. No input
 * record is to blame (an update sums many, and the trailing edge has none), so nothing is
 * dead-lettered, and the stream goes on: the input's own bad records (an entity id over its bound among
 * them) are dead-lettered by the reader. The state is left as it is (Redis is a cache, written only by
 * the apply scripts): its next change rewrites what they keep, and the key is published then. A held-back
 * mark naming no indicator key (readIndicatorKey) is likewise read as nothing, its mark cleared, counted
 * (tradepulse_indicator_marks_invalid_total) and logged at error. So is a key whose newest event time (its
 * ref) no apply could have written, which the store leaves unread (WithheldIndicator): its update would
 * carry that time as asOf (the year 9999 meets the contract) and values decayed against it. Counted
 * (tradepulse_indicator_updates_withheld_total) and logged at error; the next apply to it resets the ref
 * and publishes the key, as the apply moved it.
 *
 * Without `deps.send` (the handler tested alone) a batch's updates are its output, as before: the
 * runner produces them, and a publish deletes the marks it settles once it read the update for it.
 */
export function createAggregator(deps: AggregatorDeps) {
  const clock = deps.clock ?? systemClock
  const monotonic = deps.monotonic ?? monotonicClock
  const log = deps.log
  const out = deps.topics.indicators.name
  const throttle = createPublishThrottle(deps.publish)
  const namespaces = new Map<string, IndicatorStore>([[deps.store.namespace, deps.store]])
  const applied = deps.applied ?? memoryAppliedOffsets()
  const dirty = deps.dirty ?? memoryDirtyKeys(clock)
  const recoverAfterMs = Math.max(deps.recoverAfterMs ?? 10_000, 3 * deps.publish.intervalMs)
  /** Whether indicator updates reach Kafka (the worker's indicatorPublish health check). */
  const publishHealth = createPublishHealth({
    failingMs: deps.publishFailingMs ?? DEFAULT_PUBLISH_FAILING_MS,
    clock: monotonic,
    log,
  })
  /** One publish of a key at a time, from its read to its acknowledgement (see above). */
  const locks = createKeyLocks(() => deps.metrics.publishWaits.inc())
  /** Headline ids of redelivered records being applied, with how many of their parts are in flight. */
  const redelivered = new Map<string, number>()
  const isRedelivered = (headlineId: string) => redelivered.has(headlineId)
  /** Headlines of rounds whose apply failed, which Redis may hold though nobody heard (see applyInRuns). */
  const unanswered = createUnansweredHeadlines()
  const release = (ids: readonly string[]) => {
    for (const id of ids) {
      const n = (redelivered.get(id) ?? 0) - 1
      if (n > 0) redelivered.set(id, n)
      else redelivered.delete(id)
    }
  }
  /**
   * Newest event time this member applied so far, but never more than maxAheadMs past the wall clock
   * when applied: the asOf of published updates (the stream's own "now"), via the members' shared
   * watermark, or a key's newest event where another member is ahead. Headlines stamped further ahead
   * are applied at the bound past their record's time (placeEventTime), so no key's newest event goes
   * past it either (but for members whose clocks disagree).
   *
   * Why the bound: ingest accepts a publishedAt up to INGEST_MAX_FUTURE_MS past its entry time, so one
   * feed whose clock runs fast would otherwise pull every scope's asOf minutes into the future, decaying
   * their means and dropping their volume windows' oldest headlines. The bound never binds on event
   * time behind the wall clock (a replay or backfill of old news, a catch-up): those get the watermark
   * they always did, independent of the clock, so they stay deterministic.
   */
  let watermarkMs = Number.NEGATIVE_INFINITY
  const maxAheadMs = deps.maxAheadMs ?? DEFAULT_MAX_AHEAD_MS
  /** The furthest the watermark may go now. */
  const watermarkLimit = () => clock.now() + maxAheadMs
  let aheadWarnedMs = Number.NEGATIVE_INFINITY
  /**
   * The event time a record's headline is applied at (placeEventTime), without parsing it: what the
   * parts still to come of a batch, and the runner's alignment, are held at.
   */
  const eventMsOf = (record: Pick<InRecord, 'value' | 'timestamp'>, wallMs = clock.now()) => {
    const ms = scoredEventMs(record.value)
    return ms === undefined ? undefined : Math.min(ms, recordNowMs(record.timestamp, wallMs) + maxAheadMs)
  }
  /**
   * Counts the headlines of a part applied at the bound rather than at their own time; warns once a
   * minute. Their time is their record's, which the broker stamps (headlines.scored is a LogAppendTime
   * topic): a broker whose clock runs behind makes every live headline look ahead by as much, which
   * `recordBehindMs` (how far that time was behind this member's clock when read) tells apart from a
   * feed whose clock runs fast (live, about 0), unless the records are a backlog's (as old as it is).
   */
  const countAhead = (ahead: { headlineId: string; aheadMs: number; recordBehindMs: number }[]) => {
    if (ahead.length === 0) return
    deps.metrics.ahead.inc(ahead.length)
    const now = monotonic.now()
    if (now - aheadWarnedMs < 60_000) return
    aheadWarnedMs = now
    log.warn(
      {
        headlineId: ahead[0]!.headlineId,
        aheadMs: ahead[0]!.aheadMs + maxAheadMs,
        recordBehindMs: ahead[0]!.recordBehindMs,
        maxAheadMs,
        headlines: ahead.length,
      },
      "headlines stamped ahead of their Kafka record's time (a feed whose clock runs fast, or the broker's clock runs behind: recordBehindMs near aheadMs while live?): applied at most AGGREGATOR_MAX_AHEAD_MS past it, so they make no on-time headline late",
    )
  }

  async function activeStore(): Promise<IndicatorStore> {
    const ns = (await deps.store.activeNamespace()) ?? deps.store.namespace
    let store = namespaces.get(ns)
    if (!store) {
      store = deps.store.withNamespace(ns)
      namespaces.set(ns, store)
      log.info({ namespace: ns }, 'writing indicators to a newly activated namespace')
    }
    return store
  }

  const merger = createEventTimeMerger<RoundNote>(
    async (round) => {
      const store = await activeStore()
      const late: LateContribution[] = []
      const folded = await applyInRuns(store, round, {
        log,
        metrics: deps.metrics,
        graceMs: deps.graceMs,
        redelivered: isRedelivered,
        unanswered,
        late,
      })
      // Contributions are at most maxAheadMs past their record's time (placeEventTime); the wall clock
      // bounds the watermark too, should a record's time be ahead of this member's clock.
      const limit = watermarkLimit()
      for (const c of round) {
        const t = Math.min(c.eventMs, limit)
        if (t > watermarkMs) watermarkMs = t
      }
      const notes: RoundNote[] = []
      for (const { dimension, scope, headlineId } of folded)
        notes.push({ kind: 'folded', dimension, scope, headlineId })
      for (const { dimension, scope, headlineId } of late)
        notes.push({ kind: 'late', dimension, scope, headlineId })
      return notes
    },
    {
      graceMs: deps.graceMs,
      ...(deps.maxRound !== undefined ? { maxRound: deps.maxRound } : {}),
      afterRound: () => recordRounds(),
    },
  )

  /** Records of indicator updates, each with the pick it is for (`picks[i]`: `records[i]`'s). */
  type Updates = { records: OutRecord[]; picks: PickedKey[] }
  /** Counts the updates of these picks by trigger (once they are out). */
  const countUpdates = (picks: readonly PickedKey[]) => {
    const counts = new Map<PublishTrigger, number>()
    for (const { trigger } of picks) counts.set(trigger, (counts.get(trigger) ?? 0) + 1)
    for (const [trigger, n] of counts) deps.metrics.updates.inc({ trigger }, n)
  }

  /**
   * Reads the keys back and makes their records; a key that does not exist (expired, or cleared by a
   * rebuild's switch) is skipped. So is, reported, a key that names no indicator (readIndicatorKey: only
   * a held-back mark can bring one, Redis edited by hand or another program's key in the set) and one
   * whose update breaks the strict contract (updateProblem: a scope past its bound, state that is not
   * numbers or times), and one the store leaves unread for a damaged ref (reportWithheld). Their marks
   * are settled as a skipped key's are: reading them again gives the same.
   * Before, a key that named no indicator threw here, and a state whose time was none threw a RangeError
   * in readIndicator: the trailing edge failed at every tick with every key due with it, and a batch
   * was handled again for ever.
   */
  async function updatesFor(keys: PickedKey[]): Promise<Updates> {
    if (keys.length === 0) return { records: [], picks: [] }
    const store = await activeStore()
    // The members' shared watermark, not this one's alone: a member that has read less must not publish
    // an indicator at an older asOf than another member did (the alerter would drop it as stale). One
    // that has applied nothing yet (publishing keys another member held back) reads at it as it is, or,
    // with none, each key at its newest headline.
    const asOf = Number.isFinite(watermarkMs)
      ? await store.advanceWatermark(watermarkMs)
      : ((await store.watermark()) ?? Number.NEGATIVE_INFINITY)
    const unnamed: { key: string; problem: string }[] = []
    const withheld: WithheldIndicator[] = []
    const read = await Promise.all(
      keys.map(({ key }) => {
        const named = readIndicatorKey(key)
        if (!named.ok) {
          unnamed.push({ key, problem: named.problem })
          return undefined
        }
        const { dimension, scope } = named.target
        return store.get(dimension, scope, asOf, withheld)
      }),
    )
    // Never published malformed: left out as a key that does not exist is (its marks settled, as
    // reading it again gives the same), counted and logged at error below.
    const invalid: { key: string; problem: string }[] = []
    const updates = read.map((u, i): IndicatorUpdate | undefined => {
      if (!u) return undefined
      const { key, enteredMs } = keys[i]!
      const update: IndicatorUpdate = Number.isFinite(enteredMs)
        ? { ...u, ingestedAt: new Date(enteredMs).toISOString() }
        : u
      const problem = updateProblem(update)
      if (problem === undefined) return update
      invalid.push({ key, problem })
      return undefined
    })
    // A key another member has applied newer headlines to (before raising the watermark, which it does
    // when it publishes) reads at its newest event, not at asOf (see readIndicator): its asOf never
    // precedes a headline its values hold. The watermark is raised to it, so it stays at or past every
    // asOf published (what a member publishes next, and readers' asOf=latest, go no further back),
    // within the same bound as ever: a key holding a headline stamped further ahead is read at its own
    // time, which the watermark does not follow (no key's updates go back: each reads at its newest
    // event at least). Only updates that are published count: a damaged state's time moves nothing.
    let newest = asOf
    for (const u of updates) if (u && Date.parse(u.asOf) > newest) newest = Date.parse(u.asOf)
    newest = Math.min(newest, watermarkLimit())
    if (newest > asOf) await store.advanceWatermark(newest)
    const records: OutRecord[] = []
    const picks: PickedKey[] = []
    updates.forEach((update, i) => {
      if (!update) return
      const { key, trace } = keys[i]!
      throttle.published(key, update)
      picks.push(keys[i]!)
      // The trace context of the newest headline it is published for that carried one (as the scorer
      // passes a headline's on), so an alert on this update traces back to that headline.
      records.push({
        topic: out,
        key,
        value: JSON.stringify(update),
        ...(trace ? { headers: { traceparent: trace.traceparent } } : {}),
      })
    })
    // The store checks the contract on every read (readStoredIndicator) and withholds what breaks it
    // (invalid_state) with what the contract says: reported as invalid, as this check's own finds are; a
    // damaged ref (damaged_ref) as withheld.
    const damagedRefs: WithheldIndicator[] = []
    for (const w of withheld) {
      if (w.reason === 'invalid_state')
        invalid.push({ key: indicatorKey(w.dimension, w.scope), problem: w.problem })
      else damagedRefs.push(w)
    }
    reportUnnamed(unnamed)
    reportInvalid(invalid)
    reportWithheld(damagedRefs, store.namespace)
    return { records, picks }
  }

  /**
   * Keys the store left unread for a damaged ref (WithheldIndicator): their update's asOf would have been
   * that time (the year 9999, say), which the contract takes, and their values decayed against it. Not
   * published, their marks settled as a key that does not exist is (reading it again gives the same
   * until an apply): the next apply to the key repairs the ref (counted in
   * tradepulse_indicator_refs_invalid_total) and publishes it, as its batch moved it.
   */
  function reportWithheld(withheld: readonly WithheldIndicator[], namespace: string): void {
    if (withheld.length === 0) return
    deps.metrics.refsWithheld.inc(withheld.length)
    log.error(
      {
        updates: withheld.length,
        sample: withheld.slice(0, 5).map(({ dimension, scope, stored }) => ({
          key: cutForLog(indicatorKey(dimension, scope), LIMITS.maxIndicatorKeyChars),
          ref: stored,
        })),
        namespace,
      },
      "indicator updates not published: their indicator's newest event time (Redis field ref) is no time an apply could have written (Redis edited or damaged, or this member's clock behind the others'); the next apply to each repairs it and publishes it",
    )
  }

  /** Keys that name no indicator (held-back marks), each once: its mark is settled (cleared) after this. */
  function reportUnnamed(unnamed: readonly { key: string; problem: string }[]): void {
    if (unnamed.length === 0) return
    deps.metrics.invalidMarks.inc(unnamed.length)
    log.error(
      {
        marks: unnamed.length,
        sample: unnamed.slice(0, 5).map(({ key, problem }) => ({
          key: cutForLog(key, LIMITS.maxIndicatorKeyChars),
          problem,
        })),
      },
      'held-back indicator marks name no indicator key; cleared, nothing published for them',
    )
  }

  function reportInvalid(invalid: readonly { key: string; problem: string }[]): void {
    if (invalid.length === 0) return
    deps.metrics.invalid.inc(invalid.length)
    log.error(
      {
        updates: invalid.length,
        sample: invalid.slice(0, 5).map(({ key, problem }) => ({
          key: cutForLog(key, LIMITS.maxIndicatorKeyChars),
          problem: cutForLog(problem, 1_000),
        })),
        topic: out,
      },
      'indicator updates break the IndicatorUpdate contract; not published (the next change of their keys is read and checked again)',
    )
  }

  /**
   * What a publish came to: `records`, those on the topic (acknowledged; without a send, read and to be
   * produced by the runner), with `picks`, theirs; `failed`, the picks whose records Kafka did not take
   * for a fault (after the producer's retries), with the error. Picks of neither were settled too: a key
   * that does not exist, or an update Kafka refused as a record (counted and logged at error here).
   */
  type Published = Updates & { failed?: { err: unknown; picks: PickedKey[] } }

  /** Sends one publish's records, each attempt seen by the health check and a fault counted. */
  const tracked = (send: SendUpdates, records: OutRecord[]) =>
    publishHealth.track(
      () => send(records),
      (err) => deps.metrics.publishFailures.inc({ code: normalizeError(err).code }),
    )

  /**
   * Sends the records of a publish (under its keys' locks). When Kafka refuses a record (too large, say:
   * and a request of several records fails whole for one of them), those not acknowledged before the
   * refusal are sent again one at a time, still under the locks, so the others go out, in the order
   * read, and only a record refused alone is left out: not on the topic, counted
   * (tradepulse_indicator_updates_refused_total) and logged at error, its key's mark settled (sent again
   * it would be refused again, each tick). Before, the whole publish went back to the batch's output,
   * produced by the runner after the locks were released, and a batch's refused output dead-lettered its
   * last input and every update with it; on the trailing edge it was retried every tick, for ever, with
   * every key due with it.
   */
  async function sendUpdates(updates: Updates, send: SendUpdates): Promise<Published> {
    const { records, picks } = updates
    const { acknowledged, refused, fault } = await sendFindingRefused((rs) => tracked(send, rs), records)
    if (fault === undefined && refused.size === 0) return updates
    const sent: Updates = { records: [], picks: [] }
    const failed: PickedKey[] = []
    const refusedKeys: { key: string; refusal: string }[] = []
    records.forEach((r, i) => {
      const refusal = refused.get(r)
      if (refusal !== undefined) refusedKeys.push({ key: picks[i]!.key, refusal })
      else if (acknowledged.has(r)) {
        sent.records.push(r)
        sent.picks.push(picks[i]!)
      } else failed.push(picks[i]!)
    })
    reportRefused(refusedKeys)
    return fault === undefined ? sent : { ...sent, failed: { err: fault, picks: failed } }
  }

  function reportRefused(refused: readonly { key: string; refusal: string }[]): void {
    if (refused.length === 0) return
    const byRefusal = new Map<string, number>()
    for (const { refusal } of refused) byRefusal.set(refusal, (byRefusal.get(refusal) ?? 0) + 1)
    for (const [refusal, n] of byRefusal) deps.metrics.refused.inc({ refusal }, n)
    log.error(
      { updates: refused.length, sample: refused.slice(0, 5), topic: out },
      'Kafka refused indicator updates as records; they are not on the topic (the next update of their keys is sent as usual)',
    )
  }

  /**
   * Reads the picked keys and sends their records, holding the keys' locks from the read to the
   * acknowledgement, so no other publish of them reads or sends meanwhile. Resolves with what it came
   * to (Published: the caller decides what becomes of the picks Kafka did not take); a failed read
   * rejects, the keys pending again.
   */
  async function publishPicked(picked: PickedKey[], send: SendUpdates | undefined): Promise<Published> {
    try {
      return await locks.run(
        picked.map((p) => p.key),
        async () => {
          const updates = await updatesFor(picked)
          if (!send || updates.records.length === 0) return updates
          return sendUpdates(updates, send)
        },
      )
    } catch (err) {
      throttle.retract(picked)
      throw err
    }
  }

  /**
   * Deletes the dirty marks that publishing `picked` settled (each only if still at its stamp). A failure
   * costs nothing but a later publish of those keys again: warned, not retried.
   */
  async function settle(picked: readonly PickedKey[]): Promise<void> {
    const marks: DirtyMark[] = []
    for (const { key, marks: stamps } of picked) {
      if (!stamps) continue
      for (const stamp of await Promise.all(stamps)) if (stamp !== undefined) marks.push({ key, stamp })
    }
    if (marks.length === 0) return
    await dirty.clear(marks).catch((err: unknown) => {
      log.warn({ err, keys: marks.length }, 'could not clear the dirty marks of published indicator updates')
    })
  }

  /** The picks of `picked` but those of `failed` (the ones a publish settled). */
  const settled = (picked: readonly PickedKey[], failed: Published['failed']) => {
    if (!failed) return picked
    const left = new Set(failed.picks)
    return picked.filter((p) => !left.has(p))
  }

  async function trailing(picked: PickedKey[], send: SendUpdates): Promise<number> {
    const { records, picks, failed } = await publishPicked(picked, send)
    countUpdates(picks) // acknowledged
    if (failed) {
      throttle.retract(failed.picks) // not on the topic: the next tick publishes them (and counts them then)
      await settle(settled(picked, failed))
      throw failed.err
    }
    await settle(picked)
    return records.length
  }

  /** Per key, the trace of those that have one (for their dirty marks). */
  const tracesOf = (items: Iterable<{ key: string; trace?: HeadlineTrace | undefined }>) => {
    const out = new Map<string, HeadlineTrace>()
    for (const { key, trace } of items) if (trace) out.set(key, trace)
    return out
  }

  /**
   * A batch's picked keys whose updates could not be sent: pending again, and marked dirty before the
   * batch completes, so that the trailing edge (this member's, or any member's should this one die)
   * publishes them as it reads them then. Their marks are those of held-back keys (each key's newest
   * entry time); a mark that cannot be written fails the batch, which is then handled again.
   */
  async function holdBack(picked: readonly PickedKey[], err: unknown): Promise<void> {
    throttle.retract(picked)
    const keys = picked.map((p) => p.key)
    const marking = dirty.mark(keys, new Map(picked.map((p) => [p.key, p.enteredMs])), tracesOf(picked))
    throttle.marking(keys, marking)
    await marking
    log.warn(
      { err, keys: keys.length },
      'could not send indicator updates; held back for the trailing edge, which publishes them once Kafka takes them',
    )
  }

  let nextClaimMs = Number.NEGATIVE_INFINITY
  let claimFailing = false
  /** Marks old enough to take over, looked for once a second; a fault is warned once, not every tick. */
  async function claim(): Promise<ClaimedMark[]> {
    const now = monotonic.now()
    if (now < nextClaimMs) return []
    nextClaimMs = now + CLAIM_EVERY_MS
    try {
      const taken = await dirty.claimStale(recoverAfterMs, RECOVER_LIMIT)
      claimFailing = false
      return taken
    } catch (err) {
      if (!claimFailing)
        log.warn({ err }, 'could not look for held-back indicator updates to take over; retrying')
      claimFailing = true
      return []
    }
  }

  /**
   * The trailing edge: pending keys whose interval has passed, and the dirty marks old enough that the
   * member that made them will not publish them (taken over, restamped, so no other member takes them
   * too). A key that is both goes out once and settles both. A mark carries the newest entry time of
   * the headlines it held back, and the trace of the newest that carried one: the update's ingestedAt
   * and traceparent, as its own member would have given them (the newer of the two for a key that is
   * both).
   */
  async function due(): Promise<PickedKey[]> {
    const taken = await claim()
    const picked = throttle.due(monotonic.now())
    if (taken.length === 0) return picked
    const byKey = new Map(picked.map((p) => [p.key, p]))
    for (const { key, stamp, enteredMs = Number.NEGATIVE_INFINITY, trace } of taken) {
      const mark = Promise.resolve(stamp)
      const own = byKey.get(key)
      if (own) {
        own.marks = [...(own.marks ?? []), mark]
        if (enteredMs > own.enteredMs) own.enteredMs = enteredMs
        // This member's own on a tie (the newer, as far as anyone can tell).
        if (trace && (!own.trace || trace.enteredMs > own.trace.enteredMs)) own.trace = trace
      } else {
        const p: PickedKey = {
          key,
          trigger: 'recovered',
          enteredMs,
          ...(trace ? { trace } : {}),
          marks: [mark],
        }
        byKey.set(key, p)
        picked.push(p)
      }
    }
    log.info(
      { keys: taken.length, olderThanMs: recoverAfterMs },
      'publishing indicator updates held back and left unpublished (by a member that stopped, or one that cannot reach Kafka)',
    )
    return picked
  }

  const partSize = deps.partSize ?? 2_000
  const sliceMs = deps.sliceMs ?? SLICE_MS

  /**
   * Per partition (`topic/partition`), the last offset this member recorded as applied and Redis
   * acknowledged. A batch that then reads a range ending before it (or none) finds Redis without writes
   * it acknowledged: restarted from an older snapshot (RDB), failed over to a replica that lagged, or
   * flushed. The indicators lost the same writes, and Kafka will not give those headlines again (their
   * offsets are committed): said at error, with the offsets, once per loss (the batch's own record
   * follows). Before, a Redis restarted from a snapshot minutes old left the indicators without every
   * headline applied since, health ok, nothing logged: the state watch's marker came back with it.
   *
   * With it, the newest record timestamp of that batch (`maxTs`): a stored range ending before `to` whose
   * newest record is newer than it holds records appended after the ones this member recorded, at lower
   * offsets, so the partition's offsets began again (headlines.scored deleted and created again, its
   * first batch recorded by another member or by a batch of this one whose record landed after this read
   * was sent), and nothing was lost. What Redis lost is older: a snapshot, or a replica that lagged,
   * holds ranges written before this member's, of records at lower offsets of the same topic, stamped no
   * later (LogAppendTime: the broker's clock, as joinApplied assumes). Said at info, not counted. Before,
   * it was counted and said at error as a loss, telling the operator to rebuild for nothing.
   *
   * And when it was recorded (`atMs`, on the monotonic clock): a range gone once `appliedTtlMs` has
   * passed since expired with the indicators.
   */
  const recordedTo = new Map<string, { to: number; maxTs: number; atMs: number }>()
  const appliedTtlMs = deps.appliedTtlMs ?? Number.POSITIVE_INFINITY
  const recordApplied = (topic: string, partition: number, claim: AppliedClaim, source: string) =>
    applied.record(topic, partition, claim.range, claim.tail).then(
      () => {
        const range = claim.range
        if (range) recordedTo.set(source, { to: range.to, maxTs: range.maxTs, atMs: monotonic.now() })
      },
      (err: unknown) => {
        log.warn({ err, source }, 'could not record the offsets of an applied batch')
      },
    )

  /**
   * Per partition (`topic/partition`) with batches under way, what they have applied (AppliedTracker),
   * and the last write recording it. After each merged round, each partition the round applied records
   * of records what is applied now (recordRounds), sent before the next round's calls: Redis runs one
   * client's commands in order (the store and `applied` share the worker's client), so no round's apply
   * lands before the record of the rounds before it, and a member stopped or killed between two rounds
   * leaves recorded what it applied (a record applied past one that is not, at an event time at or
   * past the oldest not applied, is left out: within about a grace of the newest applied, its id is
   * one the store remembers). Killed within a round, the round's own records are not vouched for. Before, a
   * batch's offsets were recorded by part (2,000 records, hours of event time while catching up) once the
   * part and every one before it were applied: the rounds, in event-time order across parts and
   * partitions, had applied records of the parts after it, and the restart, given them again, counted
   * every one past the hour of ids the store remembers as late (thousands after one SIGTERM).
   */
  const trackers = new Map<string, { tracker: AppliedTracker; topic: string; partition: number }>()
  const touched = new Set<string>()
  const writing = new Map<string, Promise<void>>()
  const recordRounds = () => {
    for (const source of touched) {
      const t = trackers.get(source)
      const claim = t?.tracker.claim()
      if (!t || !claim || (!claim.range && !claim.tail)) continue
      writing.set(source, recordApplied(t.topic, t.partition, claim, source))
    }
    touched.clear()
  }
  const checkApplied = (
    source: string,
    known: { to: number; maxTs: number; atMs: number } | undefined,
    range: AppliedRange | undefined,
  ) => {
    if (known === undefined || (range !== undefined && range.to >= known.to)) return
    if (range === undefined && monotonic.now() - known.atMs >= appliedTtlMs) return // expired, not lost
    if (range !== undefined && range.maxTs > known.maxTs) {
      // Newer records at lower offsets: the partition's offsets began again (see recordedTo).
      recordedTo.delete(source)
      log.info(
        {
          source,
          recordedTo: known.to,
          recordedMaxTs: known.maxTs,
          storedTo: range.to,
          storedMaxTs: range.maxTs,
        },
        'applied offsets stored for this partition end before those this member recorded, but hold newer records: its offsets began again (headlines.scored created anew); nothing was lost',
      )
      return
    }
    // Once: a batch read before this one's record lands (catching up, deferred) finds the same gap.
    recordedTo.delete(source)
    deps.metrics.appliedLost.inc()
    log.error(
      { source, recordedTo: known.to, storedTo: range?.to ?? null },
      'Redis no longer holds applied offsets this member recorded there (restarted from an older snapshot, failed over to a replica that lagged, or flushed): the indicators miss the headlines applied since, which Kafka will not give again; run `tradepulse indicators rebuild` to restore them',
    )
  }
  const sendOf = (send: SendUpdates | undefined): SendUpdates => {
    if (!send) throw new Error('createAggregator: no send given for the trailing edge')
    return send
  }

  const handler: BatchHandler = async (records, ctx) => {
    const head = records[0]
    const source = head ? `${head.topic}/${head.partition}` : ''
    // Every record of a batch is handled once it is done: dead letters as much as applied headlines.
    let handled: HandledRange | undefined
    for (const r of records) {
      const offset = Number(r.offset)
      if (!handled) handled = { from: offset, to: offset, minTs: r.timestamp, maxTs: r.timestamp }
      else {
        handled.to = offset
        if (r.timestamp < handled.minTs) handled.minTs = r.timestamp
        if (r.timestamp > handled.maxTs) handled.maxTs = r.timestamp
      }
    }
    // What the merged rounds apply of the batch's parts, recorded after each round (recordRounds).
    let track = head ? trackers.get(source) : undefined
    if (head && !track) {
      track = { tracker: createAppliedTracker(), topic: head.topic, partition: head.partition }
      trackers.set(source, track)
    }
    track?.tracker.begin()
    const ownParts: TrackedPart[] = []
    let ended = false
    /** The batch's end, `ok` or not, for the tracker (once); resolves once its records are written. */
    const endTracked = async (ok: boolean) => {
      if (ended || !track) return
      ended = true
      await writing.get(source)
      track.tracker.end(ok, ownParts)
    }
    // What this member last recorded, taken before the read is sent: any record it acknowledged is in it.
    const known = recordedTo.get(source)
    const appliedRange = head ? applied.read(head.topic, head.partition) : undefined
    appliedRange?.catch(() => {}) // awaited below, after the merger knows the partition is in flight
    const outcomes: Outcome[] = new Array(records.length)
    // Each applied headline's contributions and entry time: the throttle's activity is built from them
    // once the store has said which scopes it folded into `other` (a scope beyond its kind's cap).
    const headlines: { own: Contribution[]; enteredMs: number; trace: HeadlineTrace | undefined }[] = []
    const folded = new Map<string, Set<string>>()
    const late = new Set<string>()
    const submitted: Promise<void>[] = []
    let failed: { err: unknown } | undefined
    let refused: RefusedHeadlinesError | undefined
    let lastOk = -1
    // The batch's own begin, ended once every part is submitted: between two parts (the next one being
    // parsed, the one before already applied) the partition stays in flight, so the others do not run
    // ahead of the parts still to come.
    const token = merger.begin(source)
    // A partition's records need not be in event-time order (ingest reorders them): after each part,
    // the oldest event of the parts still to come holds the merger, not the newest submitted.
    const restOldest: number[] = []
    // The batch's own slices of work between turns of the event loop (see SLICE_MS).
    const slices = loopSlices(sliceMs)
    if (records.length > partSize) {
      let oldest = Number.POSITIVE_INFINITY
      const wallMs = clock.now()
      for (let i = records.length - 1; i >= partSize; i--) {
        if (slices.due()) await slices.turn()
        oldest = Math.min(oldest, eventMsOf(records[i]!, wallMs) ?? Number.POSITIVE_INFINITY)
        if (i % partSize === 0) restOldest[i / partSize - 1] = oldest
      }
    }
    try {
      const range = await appliedRange
      checkApplied(source, known, range)
      for (let from = 0; from < records.length; from += partSize) {
        if (from > 0) await slices.turn()
        // After a failed part nothing more is submitted: the runner retries the whole batch, in order.
        if (failed) break
        merger.begin(source)
        const contributions: Contribution[] = []
        const again: string[] = []
        const ahead: { headlineId: string; aheadMs: number; recordBehindMs: number }[] = []
        const to = Math.min(records.length, from + partSize)
        const wallMs = clock.now()
        const part = trackedPart()
        try {
          for (let i = from; i < to; i++) {
            // Turns of the event loop within a part too: the partition stays in flight (its begin is
            // open), so the merger holds the others as it does between two parts.
            if (slices.due()) await slices.turn()
            const record = records[i]!
            const offset = Number(record.offset)
            const parsed = parseScoredRecord(record.value)
            if (!parsed.ok) {
              outcomes[i] = { kind: 'dlq', reason: parsed.reason, message: parsed.message }
              trackRecord(part, offset, record.timestamp, Number.NEGATIVE_INFINITY)
              continue
            }
            const nowMs = recordNowMs(record.timestamp, wallMs)
            const placed = placeEventTime(Date.parse(parsed.value.publishedAt), nowMs, {
              maxAheadMs,
              graceMs: deps.graceMs,
            })
            if (!placed.ok) {
              outcomes[i] = {
                kind: 'dlq',
                reason: placed.reason,
                message: placed.message,
                id: parsed.value.id,
              }
              trackRecord(part, offset, record.timestamp, Number.NEGATIVE_INFINITY)
              continue
            }
            const redelivery = isRedelivery(range, offset, record.timestamp, placed.eventMs)
            if (redelivery) again.push(parsed.value.id)
            if (placed.aheadMs > 0)
              ahead.push({
                headlineId: parsed.value.id,
                aheadMs: placed.aheadMs,
                recordBehindMs: wallMs - nowMs,
              })
            const own = contributionsAt(parsed.value, placed.eventMs)
            for (const c of own) contributions.push(c)
            trackRecord(
              part,
              offset,
              record.timestamp,
              redelivery || own.length === 0 ? Number.NEGATIVE_INFINITY : placed.eventMs,
            )
            const enteredMs = enteredMsOf(parsed.value.ingestedAt)
            // The record's trace context, when valid (a malformed one is not passed on).
            const traceparent = validTraceparent(record.headers.traceparent)
            headlines.push({ own, enteredMs, trace: traceparent ? { traceparent, enteredMs } : undefined })
            outcomes[i] = { kind: 'ok' }
            lastOk = i
          }
        } catch (err) {
          // A bug on some record (the runner isolates it): end the flight, or the source holds others forever.
          void merger.submit([], source).catch(() => {})
          throw err
        }
        countAhead(ahead)
        for (const id of again) redelivered.set(id, (redelivered.get(id) ?? 0) + 1)
        const rest = restOldest[from / partSize]
        if (track) {
          track.tracker.add(part)
          ownParts.push(part)
        }
        const done = merger
          .submit(
            contributions,
            source,
            token,
            rest !== undefined && Number.isFinite(rest) ? rest : undefined,
            (nextMs) => {
              part.nextMs = nextMs
              touched.add(source)
            },
          )
          .then((notes) => takeNotes(notes, folded, late))
        submitted.push(
          done
            .catch((err: unknown) => {
              // Headlines the store refused alone, the rest applied: the parts still to come go on, in
              // event-time order with the other partitions, and the batch fails once they are applied.
              if (err instanceof RefusedHeadlinesError) refused ??= err
              else failed ??= { err }
            })
            .finally(() => release(again)),
        )
      }
    } catch (err) {
      void endTracked(false)
      throw err
    } finally {
      void merger.submit([], source).catch(() => {})
    }
    // Every part settles before the batch counts as done: none may still be applied during a retry.
    const work = async (): Promise<OutRecord[]> => {
      await Promise.all(submitted)
      if (failed) throw failed.err
      // What Redis answered the first refused headline alone (WRONGTYPE on a key only it names, say): not
      // retriable, so the runner handles the batch one record at a time, which dead-letters that record
      // (its reply seen by the repeated-reply breaker) and finds the others applied.
      if (refused) throw refused.refused[0]!.err
      // Only now, with all of it applied. A failure to record loses no headline (only the knowledge
      // that these were applied, should they come again): warned, not retried.
      const recorded =
        head && handled ? recordApplied(head.topic, head.partition, { range: handled }, source) : undefined
      // What each headline changed: the keys the store applied it to, so a scope folded into `other`
      // offers `other` (a headline once per kind, as the store counts it), not its own key, which holds
      // nothing of it (read back, it may not even exist).
      const activity = new Map<string, KeyActivity>()
      for (const { own, enteredMs, trace } of headlines) {
        // Turns of the event loop here too (see SLICE_MS): what is weighed is this batch's own, and the
        // throttle is offered it below, as before.
        if (slices.due()) await slices.turn()
        const scopes = own.length > 0 ? folded.get(own[0]!.headlineId) : undefined
        addActivity(
          activity,
          scopes ? foldRareScopes(own, (scope) => !scopes.has(scopeTag(scope))) : own,
          enteredMs,
          trace,
          late,
        )
      }
      let out: Updates | undefined
      if (activity.size > 0) {
        const picked = throttle.offer(activity, monotonic.now())
        // The keys held back for the trailing edge: marked in the store before the batch completes, so
        // its offsets never commit while their update lives only in this process.
        const chosen = new Set(picked.map((p) => p.key))
        const held = [...activity.keys()].filter((k) => !chosen.has(k))
        // Each with its newest entry time and trace, for the ingestedAt and traceparent of whoever
        // publishes it should this member not.
        const marking =
          held.length > 0
            ? dirty.mark(
                held,
                new Map(held.map((k) => [k, activity.get(k)!.enteredMs])),
                tracesOf(held.map((k) => ({ key: k, trace: activity.get(k)!.trace }))),
              )
            : undefined
        if (marking) {
          marking.catch(() => {}) // awaited below, after the reads (which may fail first)
          throttle.marking(held, marking)
        }
        const published = await publishPicked(picked, deps.send)
        await marking
        const { failed } = published
        // Acknowledged (with deps.send), or handed to the batch's output (the runner produces it,
        // retrying a fault, before the batch counts as done), or refused as records (left out, counted).
        // Either way the marks they cover can go: not on the batch's way, as a mark left over costs a
        // publish again at most.
        countUpdates(published.picks)
        void settle(settled(picked, failed))
        if (!deps.send) out = published
        if (failed) {
          if (deploymentFault(failed.err)) {
            throttle.retract(failed.picks)
            throw failed.err // the runner waits it out, then stops the worker naming what to check
          }
          await holdBack(failed.picks, failed.err)
        }
      }
      await recorded
      return out?.records ?? []
    }
    // The batch's end for the tracker, once what it applied is recorded (a batch failing leaves its
    // records vouched for as far as its rounds applied them).
    const finish = async (): Promise<OutRecord[]> => {
      try {
        const out = await work()
        await endTracked(true)
        return out
      } catch (err) {
        await endTracked(false)
        throw err
      }
    }
    // A part failed before the last was parsed (a Redis fault, or another partition's round: the merger
    // fails every source in flight): the records not reached have no outcome, so the batch fails here,
    // once what was submitted settled, as retriable as its fault. Deferred, it handed the runner outcomes
    // with holes in them, which failed as a bug and stopped the consumer.
    if (ctx.defer && !failed && !refused) {
      // Catching up, the last merged round of a batch is applied while nothing is left to parse: the
      // runner fetches and parses the next batch meanwhile, and commits this one once `finish` is done.
      ctx.defer(finish())
      return outcomes
    }
    const updates = await finish()
    if (updates.length > 0) outcomes[lastOk] = { kind: 'ok', out: updates }
    return outcomes
  }

  return {
    handler,
    /**
     * Sends the records of pending keys whose interval has passed (the trailing edge), and of keys left
     * dirty long enough ago that no member will publish them otherwise, through `send` (by default
     * `deps.send`); keys whose read or send failed stay pending (dirty) for the next call. Resolves with
     * the records sent.
     */
    flushDue: async (send: SendUpdates | undefined = deps.send) => {
      const to = sendOf(send)
      return trailing(await due(), to)
    },
    /** The same for every pending key, whatever its interval (on stop). */
    flushAll: async (send: SendUpdates | undefined = deps.send) => {
      const to = sendOf(send)
      return trailing(throttle.drain(monotonic.now()), to)
    },
    watermarkMs: () => watermarkMs,
    /** Degraded and not ready while indicator updates have not reached Kafka for too long (publish-health.ts). */
    publishHealth: publishHealth.check,
    /** The event time a record's headline is applied at, for the runner's alignment (see placeEventTime). */
    eventMsOf: (record: Pick<InRecord, 'value' | 'timestamp'>) => eventMsOf(record),
  }
}
export type Aggregator = ReturnType<typeof createAggregator>

import type { Clock } from '@tradepulse/contracts'
import type { Contribution, IndicatorStore } from '@tradepulse/indicators'
import {
  createKafka,
  createPartitionAligner,
  type KafkaClientConfig,
  type Logger,
  normalizeError,
  retry,
  withLeaderRetry,
} from '@tradepulse/platform'
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs'
import { Registry } from 'prom-client'
import { parseScoredRecord } from './aggregator-handler.ts'
import { type AggregatorMetrics, createAggregatorMetrics } from './aggregator-metrics.ts'
import { applyInRuns, createUnansweredHeadlines } from './apply-contributions.ts'
import { DEFAULT_MAX_AHEAD_MS } from './config.ts'
import { contributionsAt, placeEventTime, recordNowMs } from './event-time-bound.ts'
import { createEventTimeMerger } from './event-time-merger.ts'
import { monotonicClock } from './monotonic-clock.ts'

export type RebuildOptions = {
  brokers: string[]
  /** TLS and SASL of the cluster (kafkaSecurity(config): KAFKA_SSL*, KAFKA_SASL*); none when absent. */
  security?: Pick<KafkaClientConfig, 'ssl' | 'sasl'>
  /** headlines.scored */
  topic: string
  /** Replay records appended at or after this time (Kafka record time, epoch ms). */
  sinceMs: number
  /** The store in the live configuration: the rebuild writes to `store.withNamespace(namespace)`. */
  store: IndicatorStore
  log: Logger
  /**
   * The log of the Kafka client itself (kafkajs: connections, retries, the group); default `log`. The CLI
   * passes one that is quiet unless LOG_LEVEL is debug, as for its other commands: a person is reading.
   */
  kafkaLog?: Logger
  /** The store's grace period (AGGREGATOR_GRACE_MS): the replay is applied in event-time runs no longer than this. */
  graceMs: number
  /** The fresh namespace; default `r<now in base 36>`. It is cleared before the replay starts. */
  namespace?: string
  metrics?: AggregatorMetrics
  /** Switch once a catch-up pass leaves at most this many new records behind (default 1,000). */
  switchLagRecords?: number
  /**
   * Or once a catch-up pass took at most this long (default a quarter of the grace): a busy live stream
   * may keep more records than switchLagRecords ahead, but a pass this short means they are only its
   * last moments, well inside the grace.
   */
  switchPassMs?: number
  /**
   * Give up after this many catch-up passes without either once a pass brings no fewer new records than
   * the one before (default 20; and after five times as many in any case): the replay is not catching
   * up with the live stream. Readers stay on the previous namespace, and the rebuild fails.
   */
  maxCatchUpPasses?: number
  /** Keep the previous namespace instead of clearing it after the switch. */
  keepPrevious?: boolean
  /** Records per applied unit (per partition batch). */
  chunkRecords?: number
  /** A partition's share of a fetch (default 1 MB). */
  fetchBytesPerPartition?: number
  clientId?: string
  /**
   * The throwaway consumer group is `<groupPrefix>.rebuild.<namespace>`; default `tradepulse.aggregator`.
   * The CLI passes the live aggregator's group (`defaultGroupId`), so a deployment whose Kafka ACLs
   * allow only its own prefix can rebuild.
   */
  groupPrefix?: string
  /**
   * The new namespace's watermark goes at most this far past the wall clock (AGGREGATOR_MAX_AHEAD_MS,
   * default 30 s), as the live worker's: a headline stamped further ahead moves no other scope. Pass the
   * live worker's setting (`eventTimeOptions(config)` gives it with graceMs), or the rebuilt namespace
   * is read at another event time than the live one would be.
   */
  maxAheadMs?: number
  /** Progress callback, for the CLI. */
  onProgress?: (p: { phase: string; applied: number; records: number }) => void
  /**
   * Stops the rebuild (the CLI's SIGINT and SIGTERM). Before readers are switched, the replay stops, the
   * new namespace's keys and the throwaway group are deleted, and the rebuild rejects with a
   * RebuildInterruptedError saying what went and what could not; the live namespace is never touched.
   * Once the switch is under way the new namespace is the live one: the rebuild finishes as without a
   * signal, since its last pass applies headlines the live worker wrote to the previous namespace only.
   */
  signal?: AbortSignal
  /**
   * Told as the rebuild starts (its namespace and group chosen, nothing written yet) and as it switches
   * readers: the CLI says from it what an exit that cannot wait for the cleanup leaves.
   */
  onStep?: (step: RebuildStep) => void
  /**
   * The monotonic clock (default performance.now) that times the catch-up passes and the elapsedMs.
   * On the wall clock, one set back during a pass (an NTP step, a VM snapshot restored) made the pass
   * negative, hence "short": readers were switched while the rebuild was far behind, and the headlines
   * it applied after were late there, and lost; one set forward made it give up. The wall clock
   * (Date.now) stays for what is compared with record and event times: the maxAheadMs bound.
   */
  monotonic?: Clock
}

export type RebuildStep = {
  step: 'started' | 'switching'
  namespace: string
  previous: string
  groupId: string
}

/** What an interrupted rebuild deleted, and what it could not (each with why). */
export type RebuildInterruption = {
  /** False when the signal came before the rebuild made anything (namespace, group): nothing to delete. */
  started: boolean
  namespace: string
  /** The live namespace, untouched: readers stay on it. */
  previous: string
  groupId: string
  /** Records applied to the new namespace before the stop. */
  records: number
  /** Keys of the new namespace deleted. */
  clearedKeys: number
  /** Why the new namespace's keys could not be deleted (they expire with their TTL). */
  namespaceLeft?: string
  /** Why the throwaway group could not be deleted (Kafka drops it after offsets.retention.minutes). */
  groupLeft?: string
}

/** A rebuild stopped by its signal before readers were switched, after its cleanup. */
export class RebuildInterruptedError extends Error {
  override readonly name = 'RebuildInterruptedError'
  readonly code = 'REBUILD_INTERRUPTED'
  readonly retriable = false
  readonly interruption: RebuildInterruption
  constructor(interruption: RebuildInterruption, options?: { cause?: unknown }) {
    super(interruptionText(interruption), options)
    this.interruption = interruption
  }
}

/**
 * "rebuild interrupted [by SIGINT] before readers were switched: deleted namespace r1 (88 keys) and consumer
 * group g; readers stay on namespace v1", naming what could not be deleted and why.
 */
export function interruptionText(i: RebuildInterruption, by?: string): string {
  const head = `rebuild interrupted${by ? ` by ${by}` : ''}`
  if (!i.started) return `${head} before it started: nothing made; readers stay on namespace ${i.previous}`
  const deleted: string[] = []
  const left: string[] = []
  if (i.namespaceLeft === undefined) deleted.push(`namespace ${i.namespace} (${i.clearedKeys} keys)`)
  else left.push(`namespace ${i.namespace}'s keys (${i.namespaceLeft}; they expire with their TTL)`)
  if (i.groupLeft === undefined) deleted.push(`consumer group ${i.groupId}`)
  else
    left.push(`consumer group ${i.groupId} (${i.groupLeft}; Kafka drops it after offsets.retention.minutes)`)
  const parts = [
    ...(deleted.length ? [`deleted ${deleted.join(' and ')}`] : []),
    ...(left.length ? [`could not delete ${left.join(' nor ')}`] : []),
    `readers stay on namespace ${i.previous}`,
  ]
  return `${head} before readers were switched: ${parts.join('; ')}`
}

export type RebuildResult = {
  namespace: string
  previous: string
  /** Records read and headlines among them that were valid. */
  records: number
  headlines: number
  invalid: number
  /** The throwaway consumer group it read with (deleted when it is done). */
  groupId: string
  startOffsets: Record<number, string>
  endOffsets: Record<number, string>
  clearedKeys: number
  elapsedMs: number
}

type Offsets = Map<number, number>
const toRecord = (o: Offsets) => Object.fromEntries([...o].map(([p, v]) => [p, String(v)]))

/**
 * Rebuilds the indicators from Kafka into a fresh namespace, then switches readers (and the live
 * aggregator) to it in one step (one SET of the active-namespace key), while the live aggregator runs.
 *
 * 1. Replay headlines.scored from the offsets of `sinceMs` (admin.fetchTopicOffsetsByTimestamp, set as
 *    the starting offsets of a throwaway consumer group) into the fresh namespace. Nobody reads or
 *    writes it yet. Concurrent partition batches go through the same event-time merger as the live
 *    worker, cut together so that nothing taken is more than half a grace newer than a record fetched
 *    and left (in any partition: a partition's records need not be in event-time order), and a
 *    partition that runs ahead in event time is paused until the others catch up (see the alignment
 *    below), so partitions replayed at different speeds, or out of order, do not make each other's
 *    headlines late; and each merged round is applied in event-time runs no longer than the grace
 *    (eventTimeRuns), so a replay batch spanning hours is judged as if its headlines had come one by
 *    one in order. The grace is the live one. What holds: no headline is late, and the rebuilt values
 *    equal an application of the same headlines one by one in event-time order, unless
 *      - its partition has, at a lower offset, a headline more than half a grace newer that the
 *        rebuild fetched before it (it sees a fetch ahead, 1 MB a partition, not the whole partition),
 *        or
 *      - the alignment got stuck (the partitions' fetched records interleave so that every cut leaves
 *        one behind or runs past what a partition has fetched; see createPartitionAligner) and let the
 *        held partitions take past what another partition had fetched: that partition's next records
 *        may then be late. Those late are counted and logged, as always. (A larger grace would also
 *    absorb partition skew, but it must then be the live worker's grace too, since dedup retention
 *    follows it; the merge gives the same result without widening what counts as on time.)
 * 2. Catch up: capture the topic's end offsets, consume up to them, repeat until a pass leaves only
 *    a few records behind or is short (the live stream's last few seconds; catchUpStep). A replay
 *    that does not get there gives up: readers stay where they are.
 * 3. Switch: raise the new namespace's event-time watermark (readers' asOf=latest) to the previous
 *    namespace's, or the newest headline applied if newer, then SET the active namespace (after the
 *    final catch-up the watermark is raised to the newest applied again). The live aggregator reads the
 *    active namespace at the start of every merged round, after its records were fetched, so:
 *      - any record it applied to the OLD namespace was fetched before the switch, hence has an offset
 *        below the end offsets captured right after the switch (step 4), and the rebuild applies it;
 *      - any record above those offsets is fetched after the switch, so the live worker writes it to
 *        the NEW namespace itself. A round that fails before the switch is retried whole and re-reads
 *        the namespace, so a half-written round cannot strand a record in the old namespace.
 * 4. Final catch-up to the end offsets captured after the switch. Records both sides apply are
 *    duplicates, and the store is idempotent (ids are checked before lateness), so nothing is applied
 *    twice. The live worker's newest headlines reach the new namespace while the rebuild applies the
 *    last pass; that pass spans only the seconds of step 2's final lag, well inside the grace, so none
 *    of its headlines is late. A live worker that lags behind writes headlines the rebuild already
 *    applied: duplicates again.
 * 5. Clear the previous namespace (its keys would expire anyway; a straggling pre-switch round that
 *    writes into it after the clear leaves keys that expire with their TTL).
 */
export async function rebuildIndicators(options: RebuildOptions): Promise<RebuildResult> {
  const monotonic = options.monotonic ?? monotonicClock
  const started = monotonic.now()
  const maxAheadMs = options.maxAheadMs ?? DEFAULT_MAX_AHEAD_MS
  const log = options.log.child({ component: 'rebuild' })
  const metrics = options.metrics ?? createAggregatorMetrics(new Registry())
  // Named by the wall time, not the monotonic clock, which starts again with every process.
  const namespace = options.namespace ?? `r${Date.now().toString(36)}`
  const previous = (await options.store.activeNamespace()) ?? options.store.namespace
  if (namespace === previous)
    throw new Error(`namespace ${namespace} is the active one; rebuild into a fresh one`)
  const target = options.store.withNamespace(namespace)
  const groupId = `${options.groupPrefix ?? 'tradepulse.aggregator'}.rebuild.${namespace}`
  const counts = { records: 0, headlines: 0, invalid: 0 }
  // From the SET that switches readers on, the new namespace is the live one: the signal no longer stops
  // the rebuild (its last pass applies headlines the live worker wrote to the previous namespace only),
  // and nothing deletes the namespace, even if the SET fails (it may have been applied, its reply lost).
  let switching = false
  /** Stopped by its signal before the switch: the replay stops, and what it made is deleted. */
  const abandoned = () => options.signal?.aborted === true && !switching
  const stopIfAbandoned = () => {
    if (abandoned()) throw STOPPED
  }
  if (abandoned())
    throw new RebuildInterruptedError({
      started: false,
      namespace,
      previous,
      groupId,
      records: 0,
      clearedKeys: 0,
    })
  options.onStep?.({ step: 'started', namespace, previous, groupId })

  const kafka = createKafka(
    { ...options.security, brokers: options.brokers, clientId: options.clientId ?? 'tradepulse-rebuild' },
    options.kafkaLog ? options.kafkaLog.child({ component: 'rebuild' }) : log,
  )
  const admin: Admin = kafka.admin()
  // What the rebuild makes from here on (the namespace's keys, the group) is deleted if it is interrupted.
  let consumer: Consumer | undefined
  let starts: Offsets = new Map()
  let end: Offsets = new Map()
  let giveUp: Error | undefined
  let failure: { err: unknown } | undefined
  try {
    await target.clear()
    await admin.connect()
    // The topic's offsets (its ends, and the replay's starts below) are asked again on a fresh client while
    // a partition has no leader (withLeaderRetry): kafkajs gives up at once on a leader that moved (a broker
    // restarted during a replay of hours), and the rebuild failed with it; after the switch, without its
    // last pass.
    const latest = async (): Promise<Offsets> =>
      new Map(
        (await withLeaderRetry(kafka, (a) => a.fetchTopicOffsets(options.topic))).map((p) => [
          p.partition,
          Number(p.high),
        ]),
      )

    starts = new Map(
      (
        await withLeaderRetry(kafka, (a) => a.fetchTopicOffsetsByTimestamp(options.topic, options.sinceMs))
      ).map((p) => [p.partition, Number(p.offset)]),
    )
    await admin.setOffsets({
      groupId,
      topic: options.topic,
      partitions: [...starts].map(([partition, offset]) => ({ partition, offset: String(offset) })),
    })
    stopIfAbandoned()
    // Next offset to apply per partition: everything below it is in the fresh namespace.
    const position: Offsets = new Map(starts)
    let crashed: Error | undefined

    // The store folds scopes beyond their kind's cap into `other` as it does live (the new namespace's
    // registries admit in the replay's order). The rebuild publishes nothing: what it folded is not needed.
    // A round retried after a fault counts what its lost answer would have (see applyInRuns).
    const unanswered = createUnansweredHeadlines()
    const merger = createEventTimeMerger(
      async (round) => {
        await retryRedis(
          () => applyInRuns(target, round, { log, metrics, graceMs: options.graceMs, unanswered }),
          log,
          abandoned,
        )
        return undefined
      },
      { graceMs: options.graceMs },
    )
    const chunk = options.chunkRecords ?? 2_000
    // 1 MB: every partition gets its share of a fetch (kafkajs caps a fetch at 10 MB).
    const reader = kafka.consumer({
      groupId,
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: options.fetchBytesPerPartition ?? 1 << 20,
    })
    consumer = reader
    reader.on(reader.events.CRASH, (e) => {
      if (crashFailsRebuild(e.payload)) crashed = e.payload.error
    })

    // Event-time alignment across partitions (createPartitionAligner, as in the live worker's runner).
    // kafkajs fetches partitions in lockstep by bytes, so over hours of backlog their event times drift
    // apart by a random walk; the merger only evens out one fetch. So the partitions of a fetch are cut
    // together (the aligner's cut): each takes its records up to one event time, chosen so that nothing
    // taken is more than half a grace newer than any record left, in this fetch or in a held partition
    // (a partition's records are not in event-time order); the rest is not resolved, the partition is
    // paused (fetched again on resume), and resumed once the others have caught up. Every partition's
    // start and end are known before the first fetch.
    const aligner = createPartitionAligner(options.graceMs / 2)
    for (const [p, end] of await latest()) aligner.seen(String(p), end)
    for (const [p, start] of starts) aligner.advanced(String(p), start)
    /**
     * The newest event time applied, at most maxAheadMs past the wall clock: the new namespace's
     * watermark (readers' asOf=latest) at the least.
     */
    let newestApplied = Number.NEGATIVE_INFINITY

    const eachBatch = async ({ batch, heartbeat, isRunning, pause, resolveOffset }: EachBatchPayload) => {
      const p = batch.partition
      const key = String(p)
      const high = Number(batch.highWatermark)
      aligner.seen(key, high)
      // A rejoin of the throwaway group restarts from its initial offsets (it commits none, and kafkajs
      // fetches from the committed offsets after every join): skip what was applied, and resolve it, so
      // that kafkajs fetches on from there. Unresolved, a fetch all below it was fetched again and again,
      // the partition never reached its goal, and the rebuild waited for ever.
      const from = position.get(p) ?? 0
      const records = batch.messages.filter((m) => Number(m.offset) >= from)
      if (records.length < batch.messages.length) resolveOffset(String(from - 1))
      if (records.length === 0) return
      const parsed = records.map((m) => parseScoredRecord(m.value))
      // Each headline at the event time the live worker applied it at (placeEventTime: at most
      // maxAheadMs past its record's time), which the record's timestamp makes the same now as then; one
      // stamped past the hard bound is invalid, as the live worker dead-lettered it.
      const wallMs = Date.now()
      const times = parsed.map((r, k) => {
        if (!r.ok) return undefined
        const placed = placeEventTime(
          Date.parse(r.value.publishedAt),
          recordNowMs(Number(records[k]!.timestamp), wallMs),
          { maxAheadMs, graceMs: options.graceMs },
        )
        if (!placed.ok) {
          parsed[k] = { ok: false, reason: placed.reason, message: placed.message }
          return undefined
        }
        return Number.isNaN(placed.eventMs) ? undefined : placed.eventMs
      })
      const newest = newestOf(times)
      const atEnd = Number(records[records.length - 1]!.offset) + 1 >= high
      // In flight in the merger from now: the other batches of this fetch are merged with this one.
      merger.begin(key)
      // The other batches of this fetch start in this turn: let them tell their records first. The batch
      // is cut whole (its chunks are applied one after another, in flight in the merger throughout).
      aligner.fetching(key, newest, atEnd, oldestOf(times), times)
      await new Promise((r) => setImmediate(r))
      const taken = Math.min(aligner.cut(key), records.length)
      const hold = () => {
        // The cut stops at a record with an event time, the first of those left.
        const untaken = times.slice(taken)
        aligner.hold(key, untaken[0]!, pause(), {
          times: untaken,
          ...(atEnd || newest === undefined ? {} : { remainderMs: newest }),
        })
        aligner.release()
      }
      // The headlines taken go to the merger in event-time order, a chunk at a time: the merger takes a
      // source's later submissions to be no older than its earlier ones (records in offset order are not).
      const headlines = Array.from({ length: taken }, (_, k) => k)
        .filter((k) => parsed[k]!.ok)
        .sort((x, y) => times[x]! - times[y]!)
      const chunks = Math.max(1, Math.ceil(headlines.length / chunk))
      for (let k = 1; k < chunks; k++) merger.begin(key)
      let submitted = 0
      try {
        if (taken === 0) {
          submitted++
          await merger.submit([], key)
          aligner.fetched(key)
          hold()
          return
        }
        for (let i = 0; i < chunks; i++) {
          const contributions: Contribution[] = []
          for (const k of headlines.slice(i * chunk, (i + 1) * chunk)) {
            const r = parsed[k]!
            if (r.ok) for (const c of contributionsAt(r.value, times[k]!)) contributions.push(c)
          }
          submitted++
          await merger.submit(contributions, key)
          if (!isRunning()) return // stopping: the records come again (the store is idempotent)
          await heartbeat()
        }
      } catch (err) {
        aligner.fetched(key) // read again: its batch holds nobody back meanwhile
        throw err
      } finally {
        // Chunks not submitted (a failure, a stop) no longer keep the partition in flight in the merger.
        for (; submitted < chunks; submitted++) void merger.submit([], key)
      }
      counts.records += taken
      counts.headlines += headlines.length
      counts.invalid += taken - headlines.length // the live worker sent these to the dlq
      const last = records[taken - 1]!.offset
      resolveOffset(last)
      position.set(p, Number(last) + 1)
      const takenTimes = times.slice(0, taken)
      newestApplied = Math.max(
        newestApplied,
        Math.min(newestOf(takenTimes) ?? Number.NEGATIVE_INFINITY, Date.now() + maxAheadMs),
      )
      aligner.advanced(key, Number(last) + 1, newestOf(takenTimes), oldestOf(takenTimes))
      if (taken < records.length) hold()
      else aligner.release()
    }

    const reached = async (goal: Offsets, phase: string) => {
      for (const [p, end] of goal) aligner.seen(String(p), end)
      for (;;) {
        stopIfAbandoned()
        if (crashed) throw normalizeError(crashed)
        if ([...goal].every(([p, end]) => (position.get(p) ?? 0) >= end)) return
        options.onProgress?.({ phase, applied: counts.headlines, records: counts.records })
        await new Promise((r) => setTimeout(r, 50))
      }
    }

    await reader.connect()
    await reader.subscribe({ topic: options.topic })
    await reader.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: starts.size,
      eachBatch,
    })
    log.info(
      { namespace, previous, sinceMs: options.sinceMs, starts: toRecord(starts) },
      'rebuild: replaying',
    )

    let goal = await latest()
    const when = catchUpOptions(options)
    let prevBehind: number | undefined
    for (let pass = 1; ; pass++) {
      const passStarted = monotonic.now()
      await reached(goal, pass === 1 ? 'replay' : 'catch-up')
      const next = await latest()
      const behind = [...next].reduce((sum, [p, high]) => sum + Math.max(0, high - (goal.get(p) ?? 0)), 0)
      goal = next
      const step = catchUpStep({ pass, behind, prevBehind, passMs: monotonic.now() - passStarted }, when)
      prevBehind = behind
      if (step === 'switch') break
      if (step === 'give-up') {
        giveUp = new Error(
          `rebuild: not catching up with the live stream (${behind} records arrived during catch-up pass ${pass}, no fewer than during the one before, and it took longer than ${when.switchPassMs} ms); readers stay on namespace ${previous}. Rebuild when the stream is quieter, or scale the rebuild's Redis`,
        )
        throw giveUp
      }
    }
    // Readers read as of the namespace's event-time watermark (asOf=latest): the new one gets the
    // previous one's, or the newest headline applied if that is newer, before anyone reads it (without,
    // they fell back to the clock, and a replay of past news read 0 until the live worker published).
    const watermark = Math.max(
      (await options.store.withNamespace(previous).watermark()) ?? Number.NEGATIVE_INFINITY,
      newestApplied,
    )
    if (Number.isFinite(watermark)) await target.advanceWatermark(watermark)
    stopIfAbandoned()
    switching = true
    options.onStep?.({ step: 'switching', namespace, previous, groupId })
    await options.store.activateNamespace(namespace)
    end = await latest()
    log.info({ namespace, end: toRecord(end) }, 'rebuild: switched readers; applying the last records')
    await reached(end, 'final')
    if (Number.isFinite(newestApplied)) await target.advanceWatermark(newestApplied)
  } catch (err) {
    failure = { err }
  }
  await consumer?.disconnect().catch(() => {})
  const groupLeft = await deleteGroup(admin, groupId)
  await admin.disconnect().catch(() => {})
  if (abandoned()) {
    // Nobody will read the half-built namespace: its keys go now rather than in a week (their TTL).
    const cleared = await clearUnlessActive(options.store, namespace).then(
      (n) => ({ clearedKeys: n }),
      (err: unknown) => ({ clearedKeys: 0, namespaceLeft: normalizeError(err).message }),
    )
    const interruption = { started: true, namespace, previous, groupId, records: counts.records, ...cleared }
    const err = new RebuildInterruptedError(
      groupLeft ? { ...interruption, groupLeft } : interruption,
      failure && failure.err !== STOPPED ? { cause: failure.err } : undefined,
    )
    log.info(err.interruption, 'rebuild: interrupted')
    throw err
  }
  if (failure) {
    // Failed before readers were switched (given up, Kafka or Redis gone for good, a bug): nobody reads
    // the half-built namespace, so its keys go now rather than at their TTL. Once the switch is under
    // way the new namespace is live and is kept.
    if (giveUp || !switching) await clearUnlessActive(options.store, namespace).catch(() => {})
    throw failure.err
  }
  let clearedKeys = 0
  if (!options.keepPrevious) clearedKeys = await options.store.withNamespace(previous).clear()
  const result: RebuildResult = {
    namespace,
    previous,
    ...counts,
    groupId,
    startOffsets: toRecord(starts),
    endOffsets: toRecord(end),
    clearedKeys,
    elapsedMs: monotonic.now() - started,
  }
  log.info(result, 'rebuild: done')
  return result
}

export type CatchUpOptions = { switchLagRecords: number; switchPassMs: number; maxPasses: number }

/** The catch-up thresholds of `options`, defaults filled (see RebuildOptions). */
export function catchUpOptions(
  options: Pick<RebuildOptions, 'switchLagRecords' | 'switchPassMs' | 'maxCatchUpPasses' | 'graceMs'>,
): CatchUpOptions {
  return {
    switchLagRecords: options.switchLagRecords ?? 1_000,
    switchPassMs: options.switchPassMs ?? options.graceMs / 4,
    maxPasses: options.maxCatchUpPasses ?? 20,
  }
}

/**
 * After a catch-up pass: switch readers when it left few records behind or was short (what the final
 * pass after the switch applies is then the live stream's last moments, well inside the grace). Go on
 * while passes shrink (the replay gains on the stream, if slowly); give up after maxPasses once one
 * brings no fewer records than the one before, and after five times maxPasses in any case. Switching
 * after a long pass would let the live worker write the newest headlines into the new namespace while
 * the rebuild still applies older ones, which would then be late there, and lost.
 */
export function catchUpStep(
  p: { pass: number; behind: number; prevBehind?: number | undefined; passMs: number },
  o: CatchUpOptions,
): 'switch' | 'continue' | 'give-up' {
  if (p.behind <= o.switchLagRecords || p.passMs <= o.switchPassMs) return 'switch'
  if (p.pass >= o.maxPasses * 5) return 'give-up'
  const gaining = p.prevBehind !== undefined && p.behind < p.prevBehind
  return p.pass >= o.maxPasses && !gaining ? 'give-up' : 'continue'
}

/**
 * Whether a consumer crash fails the rebuild. One kafkajs restarts the consumer after, for a fault that
 * passes (a broker blip), does not (the rebuild would stop half-way, maybe after readers were switched);
 * one it gives up on does, and so does one whose cause retrying cannot mend: kafkajs restarts after its
 * retries of eachBatch are spent whatever they were for, wrapping what was thrown, so the cause itself is
 * judged (a plain Error there is a bug), rather than have the rebuild wait for ever.
 */
export function crashFailsRebuild(payload: { error: Error; restart: boolean }): boolean {
  if (!payload.restart) return true
  const err = payload.error as Error & { cause?: unknown }
  const cause = err.name === 'KafkaJSNumberOfRetriesExceeded' && err.cause !== undefined ? err.cause : err
  return !normalizeError(cause).retriable
}

function oldestOf(times: readonly (number | undefined)[]): number | undefined {
  let at: number | undefined
  for (const t of times) if (t !== undefined && (at === undefined || t < at)) at = t
  return at
}

function newestOf(times: readonly (number | undefined)[]): number | undefined {
  let at: number | undefined
  for (const t of times) if (t !== undefined && (at === undefined || t > at)) at = t
  return at
}

/**
 * Redis faults during a rebuild wait and retry (the store is idempotent); bugs fail the rebuild. An
 * interrupted rebuild stops retrying (`shouldStop`): its namespace is deleted, unfinished.
 */
async function retryRedis(
  work: () => Promise<unknown>,
  log: Logger,
  shouldStop: () => boolean,
): Promise<void> {
  await retry(work, {
    baseMs: 100,
    maxMs: 5_000,
    shouldStop,
    onRetry: (err, attempt, delayMs) => log.warn({ err, attempt, delayMs }, 'rebuild: Redis fault; retrying'),
  })
}

/** Thrown inside the rebuild when its signal stops it before the switch; never leaves it. */
const STOPPED = new Error('rebuild: stopped by its signal')

/**
 * Deletes the throwaway group once its consumer has left it: undefined when it went (or was never made:
 * an interruption before the offsets were set), else why not.
 */
async function deleteGroup(admin: Pick<Admin, 'deleteGroups'>, groupId: string): Promise<string | undefined> {
  try {
    await admin.deleteGroups([groupId])
    return undefined
  } catch (err) {
    // kafkajs's KafkaJSDeleteGroupsError names each group's error (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP…).
    const groups = (err as { groups?: { error?: { type?: unknown } }[] }).groups
    const types = Array.isArray(groups) ? groups.map((g) => String(g.error?.type ?? 'UNKNOWN')) : []
    if (types.length > 0 && types.every((t) => t === 'GROUP_ID_NOT_FOUND')) return undefined
    return types.length > 0 ? types.join(', ') : normalizeError(err).message
  }
}

/**
 * Clears a namespace the rebuild made, unless readers were switched to it after all (by another rebuild
 * given the same name): the live indicators are never deleted.
 */
async function clearUnlessActive(store: IndicatorStore, namespace: string): Promise<number> {
  if ((await store.activeNamespace()) === namespace)
    throw new Error(`namespace ${namespace} is the active one now`)
  return store.withNamespace(namespace).clear()
}

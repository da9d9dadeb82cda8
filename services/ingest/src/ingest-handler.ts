import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Headline, TopicCatalogue } from '@tradepulse/contracts'
import {
  type BatchHandler,
  type ClaimAnswer,
  claimOrigin,
  type DedupStore,
  isClaimTaken,
  type Outcome,
  type OutRecord,
  traceContext,
} from '@tradepulse/platform'
import { type IngestLimits, parseRawRecord, type SurrogateField, type UrlProblem } from './parse-raw.ts'
import type { StandIn, StandIns } from './stand-ins.ts'
import { createUnansweredClaims } from './unanswered-claims.ts'

export type IngestHandlerDeps = {
  topics: TopicCatalogue
  /**
   * The dedup claims, which tell a headline's first claim from its record's re-claim, so the time counters
   * below count a headline once.
   */
  dedup: DedupStore
  /**
   * How many times the dedup store's connection has closed so far. ioredis sends a command left unanswered
   * by a closed connection again on the next one, so a claim call across a close may answer 'again' for
   * claims the lost first sending made: such a re-claim is counted (see below). Absent: never closes.
   */
  dedupConnectionCloses?: () => number
  limits: IngestLimits
  defaultSource: string
  /** How many headlines of a batch had their publishedAt replaced, being too far ahead (a metric). */
  onFuture?: (n: number) => void
  /** How many headlines of a batch had their publishedAt replaced, being before 2000 (a metric). */
  onPast?: (n: number) => void
  /** How many records of a batch had an implausible timestamp, the wall clock taken instead (a metric). */
  onImplausibleTimestamp?: (n: number) => void
  /** The headlines of a batch published without the url they were given, and why (a metric and a log line). */
  onUrlDropped?: (dropped: { id: string; problem: UrlProblem }[]) => void
  /** The headlines of a batch whose source was cut to its limit, and its length before (a metric and a log line). */
  onSourceCut?: (cut: { id: string; chars: number }[]) => void
  /** The headlines of a batch whose source or body had lone surrogates replaced, and which (a metric and a log line). */
  onSurrogatesReplaced?: (replaced: { id: string; fields: SurrogateField[] }[]) => void
  /** The wall clock, in ms (Date.now when absent). */
  now?: () => number
  /** A monotonic clock in ms, which times the parse's slices (performance.now when absent). */
  elapsedMs?: () => number
  /** INGEST_SLICE_MS when absent. */
  sliceMs?: number
  /**
   * Where a record dropped as a duplicate of a headline an earlier record of its batch claimed is noted,
   * to be published in that one's place should Kafka refuse it for good (watchRefusedHeadlines). Absent:
   * not noted (a bus that refuses nothing).
   */
  standIns?: StandIns
}

/**
 * The longest the handler parses without giving the event loop a turn, in ms. Parsing is synchronous, a
 * record of INGEST_MAX_RECORD_BYTES takes up to 10 ms a 64 KB (150 ms a megabyte) to normalise, and a
 * batch holds up to KAFKA_MAX_BATCH records (many more in a compressed fetch than its bytes say): parsed
 * in one go, 2,000 records of 60 KB in one gzip fetch held the loop 6.4 s, past a 6 s session timeout, so
 * the runner's heartbeats never went out and the member was evicted, its batch handled again.
 */
export const INGEST_SLICE_MS = 50

/**
 * headlines.raw → headlines. Parsing and normalising are pure; the only effect is one dedup claim per
 * valid record, all of a batch's claims in one Redis round trip.
 */
export function createIngestHandler(deps: IngestHandlerDeps): BatchHandler {
  const out = deps.topics.headlines.name
  const now = deps.now ?? Date.now
  const closes = deps.dedupConnectionCloses ?? (() => 0)
  const unanswered = createUnansweredClaims()
  const elapsedMs = deps.elapsedMs ?? (() => performance.now())
  const sliceMs = deps.sliceMs ?? INGEST_SLICE_MS
  return async (records) => {
    const outcomes: Outcome[] = new Array(records.length)
    const valid: {
      index: number
      headline: Headline
      origin: string
      future: boolean
      past: boolean
      implausible: boolean
      urlDropped: UrlProblem | undefined
      sourceCutFrom: number | undefined
      surrogatesReplaced: SurrogateField[] | undefined
    }[] = []
    const nowMs = now()
    let sliceStart = elapsedMs()
    for (let index = 0; index < records.length; index++) {
      if (index > 0 && elapsedMs() - sliceStart >= sliceMs) {
        // setImmediate's turn comes after the loop's timers and I/O: a heartbeat due is sent.
        await nextTurn()
        sliceStart = elapsedMs()
      }
      const r = records[index]!
      const parsed = parseRawRecord(r.value, r.timestamp, deps.limits, deps.defaultSource, nowMs)
      if (parsed.ok) {
        valid.push({
          index,
          headline: parsed.headline,
          origin: claimOrigin(r),
          future: parsed.futureMs !== undefined,
          past: parsed.pastMs !== undefined,
          implausible: parsed.implausibleTimestamp !== undefined,
          urlDropped: parsed.urlDropped,
          sourceCutFrom: parsed.sourceCutFrom,
          surrogatesReplaced: parsed.surrogatesReplaced,
        })
      } else outcomes[index] = { kind: 'dlq', reason: parsed.reason, message: parsed.message }
    }
    const closesBefore = closes()
    let answers: ClaimAnswer[]
    try {
      answers = await deps.dedup.claimHeadlines(valid.map((v) => ({ id: v.headline.id, origin: v.origin })))
    } catch (err) {
      // Redis may have made the claims before the call failed (a reply timed out or lost): retried, they
      // answer 'again', and are this process's first claims all the same, never counted.
      unanswered.remember(valid.map((v) => v.origin))
      throw err
    }
    const resent = closes() !== closesBefore
    const headlineOut = (v: (typeof valid)[number]): OutRecord => ({
      topic: out,
      key: v.headline.id,
      value: JSON.stringify(v.headline),
      // Trace context travels with the headline so an alert can be traced back to its raw record; only a
      // valid one (read from every value of its headers), as a producer's header of any size would
      // otherwise be copied onto the output.
      headers: traceContext(records[v.index]!),
    })
    const standIns = deps.standIns
    // Duplicates of a headline whose claim a record of this process holds, its headline not acknowledged
    // yet: of this batch, or of the chunk before (whose output is being published while this one is
    // handled). Each is a stand-in for that headline, to be published in its place should Kafka refuse it
    // for good; or, where that refusal has come already (its holder's claim released, or being released
    // now), the duplicate claims again once the release is done, and is published as any first claim.
    // One whose claim again is still a duplicate of that holder is sorted again: the release it waited for
    // failed (Redis timed out), and is tried again with the refused one's letter, which takes the stand-ins
    // noted by then, so it is a stand-in; or a retry of that letter read them while it waited, and it claims
    // again after that retry's release. Sorted in one turn with the answers: a refusal told meanwhile has
    // either seen these or is seen here.
    type Waited = { release: Promise<unknown>; failed: boolean }
    const sortDuplicates = (duplicates: { i: number; waited?: Waited }[]) => {
      const again: { i: number; release: Promise<unknown> }[] = []
      const noted = new Map<string, { holder: string; standIns: StandIn[] }>()
      for (const { i, waited } of duplicates) {
        const v = valid[i]!
        const holder = standIns!.holderOf(v.headline.id)
        if (holder === undefined || holder === v.origin) continue
        const release = standIns!.refusedBy(holder)
        if (release && release !== waited?.release) {
          again.push({ i, release })
          continue
        }
        // Released, and claimed since by another record (a stand-in of the refused one's): its duplicate.
        if (release && !waited?.failed) continue
        let n = noted.get(v.headline.id)
        if (!n) {
          n = { holder, standIns: [] }
          noted.set(v.headline.id, n)
        }
        n.standIns.push({ origin: v.origin, record: records[v.index]!, out: headlineOut(v) })
      }
      for (const [id, n] of noted) standIns!.add(id, n.holder, n.standIns)
      return again
    }
    let claimAgain: { i: number; release: Promise<unknown> }[] = []
    if (standIns) {
      const duplicates: { i: number }[] = []
      valid.forEach((v, i) => {
        if (isClaimTaken(answers[i]!)) standIns.claimed(v.headline.id, v.origin)
        else duplicates.push({ i })
      })
      claimAgain = sortDuplicates(duplicates)
    }
    while (claimAgain.length > 0) {
      const settled = await Promise.allSettled(claimAgain.map((c) => c.release))
      const again = claimAgain.map(({ i }) => ({ id: valid[i]!.headline.id, origin: valid[i]!.origin }))
      let second: ClaimAnswer[]
      try {
        second = await deps.dedup.claimHeadlines(again)
      } catch (err) {
        unanswered.remember(again.map((c) => c.origin))
        throw err
      }
      const duplicates: { i: number; waited: Waited }[] = []
      claimAgain.forEach(({ i, release }, k) => {
        answers[i] = second[k]!
        if (isClaimTaken(second[k]!)) standIns!.claimed(valid[i]!.headline.id, valid[i]!.origin)
        else duplicates.push({ i, waited: { release, failed: settled[k]!.status === 'rejected' } })
      })
      claimAgain = sortDuplicates(duplicates)
    }
    // Counted once the claims are answered, for the headlines this process claimed first: answered
    // 'first', or 'again' where the first claim's answer never came (the call failed, or its connection
    // closed and ioredis sent it again). A batch handled again after its claims were answered (given up
    // while its output was unacknowledged, or redelivered after a crash) re-claims ('again') and counts
    // none; a duplicate of another record counts none. Only where faults coincide is it not exact: such a
    // re-claim answered across a closed connection, or by the retry of a failed call, counts again; a first
    // claim whose process crashed before its answer counts nowhere.
    let future = 0
    let past = 0
    let implausible = 0
    const urlsDropped: { id: string; problem: UrlProblem }[] = []
    const sourcesCut: { id: string; chars: number }[] = []
    const surrogatesReplaced: { id: string; fields: SurrogateField[] }[] = []
    valid.forEach((v, i) => {
      const missed = unanswered.answered(v.origin)
      if (answers[i] !== 'first' && !(answers[i] === 'again' && (missed || resent))) return
      if (v.future) future++
      if (v.past) past++
      if (v.implausible) implausible++
      if (v.urlDropped) urlsDropped.push({ id: v.headline.id, problem: v.urlDropped })
      if (v.sourceCutFrom !== undefined) sourcesCut.push({ id: v.headline.id, chars: v.sourceCutFrom })
      if (v.surrogatesReplaced) surrogatesReplaced.push({ id: v.headline.id, fields: v.surrogatesReplaced })
    })
    if (future > 0) deps.onFuture?.(future)
    if (past > 0) deps.onPast?.(past)
    if (implausible > 0) deps.onImplausibleTimestamp?.(implausible)
    if (urlsDropped.length > 0) deps.onUrlDropped?.(urlsDropped)
    if (sourcesCut.length > 0) deps.onSourceCut?.(sourcesCut)
    if (surrogatesReplaced.length > 0) deps.onSurrogatesReplaced?.(surrogatesReplaced)
    valid.forEach((v, i) => {
      // A re-claim is published again: the earlier attempt's output may never have been sent.
      outcomes[v.index] = isClaimTaken(answers[i]!)
        ? { kind: 'ok', out: [headlineOut(v)] }
        : { kind: 'drop', reason: 'duplicate' }
    })
    return outcomes
  }
}

import {
  type AlertCandidate,
  type Desk,
  evaluateHeadline,
  evaluateIndicator,
  hysteresisKeysFor,
  isAtLeast,
  lineEntry,
  type RuleSet,
  routeAlert,
} from '@tradepulse/alerting'
import {
  type Alert,
  type Clock,
  type IndicatorUpdate,
  IndicatorUpdateReader,
  type Scope,
  ScoredHeadlineReader,
  systemClock,
  type TopicCatalogue,
} from '@tradepulse/contracts'
import {
  type BatchHandler,
  type DeadLetterReason,
  type InRecord,
  type Logger,
  loopSlices,
  normalizeError,
  type Outcome,
  type OutRecord,
  parseJsonRecord,
  SLICE_MS,
  sendFindingRefused,
} from '@tradepulse/platform'
import { alertProblem, invalidAlertMessage } from './alert-contract.ts'
import { alertRecords, traceparentFor } from './alert-records.ts'
import type {
  AlertClaim,
  AlertRelease,
  AlertStore,
  ClaimDecision,
  ClaimedAlert,
  HysteresisFields,
} from './alert-store.ts'
import type { AlerterMetrics } from './alerter-metrics.ts'
import type { HeadlineMemory } from './headline-memory.ts'

export type AlerterHandlerDeps = {
  topics: TopicCatalogue
  /**
   * The rules in force; read once per batch. A record of a failed attempt is decided again by the rules
   * (and detection time) of that attempt until it commits: see `pinned`.
   */
  rules: () => RuleSet
  desks: readonly Desk[]
  store: AlertStore
  memory: HeadlineMemory
  /**
   * Produces and waits for every acknowledgement (acks=all). On a failure, `acknowledgedBefore(err,
   * records)` gives the records Kafka acknowledged before it (produceAll and the Kafka publisher tell;
   * a publish that does not is taken to have written nothing).
   */
  publish: (records: OutRecord[]) => Promise<void>
  /**
   * The same, for these records alone: never in one request with records of other calls (a request
   * spanning several callers' records would blame one's refused record on the others). Used one record
   * at a time, after Kafka refused a record of a publish for good, to find which; `publish` when absent.
   */
  publishAlone?: (records: OutRecord[]) => Promise<void>
  log: Logger
  metrics: AlerterMetrics
  clock?: Clock
  /**
   * A headline published, or an indicator update about a time (asOf), longer ago than this (at detection)
   * raises no alert: suppressed as `stale` (an indicator line it crossed is left disarmed, as if it had
   * fired: evaluateIndicator's maxEventAgeMs). 0 or absent: off.
   */
  maxEventAgeMs?: number
  /**
   * How long the store keeps an indicator's hysteresis state (ALERTER_HYSTERESIS_TTL_MS): an indicator
   * update made and about a time both longer ago than this raises no alert and moves no line, as if its
   * state had expired (suppressed as `stale`: evaluateIndicator's forgetAfterMs), whatever maxEventAgeMs
   * says. The compacted indicators topic keeps every indicator's last update forever, and a consumer group
   * without offsets reads them all again. 0 or absent: off.
   */
  hysteresisTtlMs?: number
  /**
   * How long, in the event time of an indicator's updates, the hysteresis entries of lines the rules in
   * force do not list are kept (ALERTER_HYSTERESIS_PRUNE_GRACE_MS): those of another rules version
   * running beside this one (a rolling restart with a rules change, members reloaded at different times),
   * which that version rewrites at its updates, and which, deleted, re-armed and paged again once their
   * cooldown was over; those of a rule removed go once the indicator's updates are past them by this.
   * 0 or absent: deleted at the first read.
   */
  hysteresisPruneGraceMs?: number
  /**
   * How long the store remembers an alert id it sent (ALERTER_DEDUP_WINDOW_MS): a headline scored (its
   * record's timestamp, the broker's on the LogAppendTime headlines.scored, and its scoredAt) and published
   * longer ago than this raises no alert, suppressed as `stale` (evaluateHeadline's forgetAfterMs),
   * whatever maxEventAgeMs says. headlines.scored keeps 30 days, and a consumer group without offsets reads
   * it from its start: the alerts such a headline raised when it was scored are no longer remembered, and
   * would page the desks again under the same ids. A replay's headlines are scored as it runs. 0 or
   * absent: off.
   */
  dedupWindowMs?: number
  /**
   * The longest the handler works through a batch's records without a turn of the event loop, in ms
   * (default SLICE_MS, see there). 0: a turn every TURN_CHECK_EVERY records (tests).
   */
  sliceMs?: number
}

/** Most alert ids remembered as acknowledged and not yet confirmed (see `acknowledged`). */
const ACKNOWLEDGED_MAX = 100_000
/** Most input records whose evaluation is pinned between a failed attempt and its commit (see `pinned`). */
const PINNED_MAX = 100_000

/** What a record is decided by: the rules and the detection time. */
type DecidedBy = { ruleSet: RuleSet; nowMs: number }

const originOf = (r: InRecord) => `${r.topic}/${r.partition}/${r.offset}`

/** An alert whose records Kafka acknowledged, all or some, and that step 4 has not confirmed yet. */
type Acked = {
  /** The record that raised it. */
  origin: string
  /** The topics of its records acknowledged so far; undefined when all were. */
  topics?: ReadonlySet<string>
}

type Pending = {
  candidate: AlertCandidate
  traceparent: string
  eventMs: number
  origin: string
  /** Index of the record that raised it in the batch. */
  index: number
  /** The indicator key of the update that raised it (indicator rules). */
  indicator?: string
  /** The scored headline that raised it (headline rules). */
  headline?: string
  /** The desks it is routed to (routeAlert), as held in the outbox: set when it is held, or found there. */
  desks?: string[]
  /** In the record's outbox entry already (found there, or written by this attempt before its claim). */
  held?: boolean
  /**
   * Found in the record's outbox entry: claimed only as a resend (see AlertClaim.resendOnly), since the
   * attempt that held it may have failed before its claim ran.
   */
  resendOnly?: boolean
  /**
   * This attempt's own alert of the same event (same id, or same stream and event time), when held: what
   * is claimed instead if the held one turns out never to have been claimed ("unclaimed").
   */
  fallback?: Pending
}

/** "US", "rare earths", "overall": a scope as alert messages name it (packages/alerting's scopePhrase). */
const scopeName = (scope: Scope) =>
  scope.kind === 'global'
    ? 'overall'
    : scope.kind === 'commodity' || scope.kind === 'sector'
      ? scope.id.replaceAll('_', ' ')
      : scope.id

/** "on US, CN", "overall", "overall and on US". */
function scopesPhrase(scopes: readonly Scope[]): string {
  const named = scopes.filter((s) => s.kind !== 'global').map(scopeName)
  const on = named.length > 0 ? `on ${named.join(', ')}` : ''
  if (named.length === scopes.length) return on
  return on ? `overall and ${on}` : 'overall'
}

/**
 * The one copy a desk gets of the alerts one headline raised there (`page`, the carrier first: the most
 * severe): the carrier's alert (its id, rule, severity, scope, value), its message naming every scope
 * its rule fired on there (`Tariff escalation on US, CN: "…"`) and, after it, the desk's other alerts
 * of the headline, by rule (`; also tariff_escalation_headline (warning) on US, CN`). The Alert
 * contract has one scope and one rule per alert: the message is where the others are told. The id is
 * the carrier's, an alert of alerts.v1 (claimed, deduplicated and cooled down as any): a retry or a
 * redelivery decides the same alerts and so sends the same copy under the same id, and a replay sends
 * none. A copy that would break the contract (a message no bound allows) is the carrier's alert as is.
 */
function mergedCopy(page: readonly Pending[]): Alert {
  const carrier = page[0]!.candidate.alert
  const groups: {
    rule: string
    severity: Alert['severity']
    dimension: Alert['dimension']
    scopes: Scope[]
  }[] = []
  for (const p of page) {
    const a = p.candidate.alert
    let g = groups.find((x) => x.rule === a.rule && x.dimension === a.dimension)
    if (!g) {
      g = { rule: a.rule, severity: a.severity, dimension: a.dimension, scopes: [] }
      groups.push(g)
    }
    if (!g.scopes.some((s) => s.kind === a.scope.kind && s.id === a.scope.id)) g.scopes.push(a.scope)
  }
  const [own, ...others] = groups
  const single = ` ${carrier.scope.kind === 'global' ? 'overall' : `on ${scopeName(carrier.scope)}`}: `
  const at = carrier.message.indexOf(single)
  let message =
    own!.scopes.length === 1
      ? carrier.message
      : at >= 0
        ? `${carrier.message.slice(0, at)} ${scopesPhrase(own!.scopes)}: ${carrier.message.slice(at + single.length)}`
        : `${carrier.message} (${scopesPhrase(own!.scopes)})`
  for (const g of others) {
    const dimension = g.dimension === carrier.dimension ? '' : `, ${g.dimension}`
    message += `; also ${g.rule} (${g.severity}${dimension}) ${scopesPhrase(g.scopes)}`
  }
  const copy = { ...carrier, message }
  return alertProblem(copy) === undefined ? copy : carrier
}

/**
 * headlines.scored and indicators → alerts.v1 and alerts.desk.<id>.v1.
 *
 * Per batch, in this order, so that everything the runner commits is durable and nothing fires twice:
 * 1. evaluate (pure) against the rules in force at the start of the batch (a reload lands between batches),
 *    or, for a record of a failed attempt, the rules and detection time that attempt used;
 * 2. claim every candidate in Redis (dedup by alert id, then cooldown of its stream), in record order,
 *    so of two records raising one alert id, in this batch or a concurrent one, only the first sends it
 *    (steps 1 and 2 alternate when an indicator raises more than once in the batch: see below); each
 *    record's candidates are first held in its outbox entry (sent ahead of the claims, in their round
 *    trip: see `hold`), and a record whose entry an earlier attempt left raises those alerts again, as
 *    they were (see `withEarlier`);
 * 3. publish the claimed alerts and wait for Kafka's acknowledgement (an alert Kafka refuses for good, none
 *    of its records written, has its claim released and its record dead-lettered: see `refused`);
 * 4. mark them sent and write the hysteresis state the batch moved, then delete the batch's outbox entries
 *    (issued once the marks are written, not waited for: see AlertStore.commit).
 * Every alert an evaluation raises is checked against the strict Alert contract before step 2 (see
 * `contractual`): one that breaks it is never held, claimed or published, on alerts.v1 or any desk topic;
 * the record that raised it is dead-lettered (`output_invalid`), and the batch goes on.
 * A crash after 2 leaves claims unconfirmed: the redelivered records (same origin) claim them again
 * ("resend") and publish the same alert ids, at worst a second copy if the crash followed step 3. A
 * fault in step 4 (Redis), or in step 3 after Kafka acknowledged some of the alerts (the publish's first
 * requests), is retried by the runner with the same records in this process: the alerts (records) Kafka
 * acknowledged are remembered until step 4 is done, so their "resend" is confirmed, not published again.
 * A crash after 3 leaves the hysteresis unwritten: the redelivered update fires the same alert id, which
 * the sent mark recognises. The sent mark names the record the alert was sent for, so when that record
 * comes again (a crash, or a fault, after the mark and before the hysteresis was written) the claim says
 * "sent": the alert is not published again, its line stays disarmed as it fired, and step 4 is finished.
 * The handler publishes itself (rather than returning the alerts as `out`) because step 4 must follow
 * the acknowledgement.
 */
export function createAlerterHandler(deps: AlerterHandlerDeps): BatchHandler {
  const scoredTopic = deps.topics.scored.name
  const indicatorsTopic = deps.topics.indicators.name
  const alertsTopic = deps.topics.alerts.name
  const clock = deps.clock ?? systemClock
  const sliceMs = deps.sliceMs ?? SLICE_MS
  const deskTopics = new Map(deps.desks.map((d) => [d.id, deps.topics.deskAlerts(d.id).name]))
  const { metrics } = deps
  /**
   * From the alert's entry into the pipeline to now (its acknowledgement), clamped at 0 against clock skew
   * between the ingest and alerter hosts; the payload's latencyMs if its ingestedAt does not parse.
   */
  const latencyAtAck = (alert: Alert): number => {
    const entered = Date.parse(alert.ingestedAt)
    return Number.isFinite(entered) ? Math.max(0, clock.now() - entered) : alert.latencyMs
  }
  // Alerts Kafka acknowledged whose step 4 has not been done yet (a Redis fault in it, or a Kafka fault
  // in a later request of the same publish): a batch retried after that fault finds them here and does
  // not publish again what was acknowledged. Bounded: the oldest go first (the entries of a partition
  // revoked in the middle of a fault are never confirmed here).
  const acknowledged = new Map<string, Acked>()
  const remember = (alertId: string, acked: Acked) => {
    acknowledged.delete(alertId)
    acknowledged.set(alertId, acked)
    while (acknowledged.size > ACKNOWLEDGED_MAX)
      acknowledged.delete(acknowledged.keys().next().value as string)
  }
  const claimOf = (p: Pending): AlertClaim => ({
    stream: p.candidate.cooldownKey,
    alertId: p.candidate.alert.id,
    eventMs: p.eventMs,
    cooldownMs: p.candidate.cooldownMs,
    origin: p.origin,
    ...(p.resendOnly ? { resendOnly: true } : {}),
  })
  // The evaluation each input record of a failed attempt was decided by (the rules, and the time it was
  // detected at), pinned until a batch holding that record commits. Why: a claim (step 2) is made
  // before the publish (step 3) and stays in Redis, naming its record, for the dedup window; the retry
  // must raise exactly the alerts the failed attempt claimed, so that it publishes and confirms them. A
  // reload of the rules file between the fault and the retry (or a headline turning stale meanwhile)
  // would otherwise have the retry raise nothing for the record and commit, leaving its claims behind as
  // if sent: the alert id a duplicate and its stream cooling down around an alert that never went out.
  // Pinning keeps a retry in this process whole: the same alerts, and the same hysteresis moves, as the
  // failed attempt. A retry in another process (a crash, a rebalance after the fault) is decided by that
  // process's rules and clock; what keeps its claims from being orphaned is the outbox (`withEarlier`),
  // which covers this process's retries too. Bounded: the oldest pins go first (those of a partition
  // revoked in the middle of a fault are never released here).
  const pinned = new Map<string, DecidedBy>()
  const pin = (origin: string, evaluation: DecidedBy) => {
    pinned.set(origin, evaluation)
    while (pinned.size > PINNED_MAX) pinned.delete(pinned.keys().next().value as string)
  }
  const claimedAlertOf = (p: Pending): ClaimedAlert => {
    p.desks ??= routeAlert(p.candidate.alert, deps.desks)
    return {
      stream: p.candidate.cooldownKey,
      eventMs: p.eventMs,
      cooldownMs: p.candidate.cooldownMs,
      alert: p.candidate.alert,
      desks: p.desks,
      traceparent: p.traceparent,
      ...(p.headline !== undefined ? { headline: p.headline } : {}),
    }
  }
  // The outbox. A claim (step 2) names its record and stays in Redis for the dedup window; whatever
  // process handles that record next must send the alert claimed (or find it sent), or the alert id is a
  // duplicate and its stream cools down around an alert that never went out. A retry in another process
  // may not raise it by itself: the rules file was reloaded meanwhile, or the headline turned stale on its
  // clock. So every record's candidates are held in Redis, payload and desk routing, in an entry of that
  // record (ClaimedAlert[]), before they are claimed, and the entry is deleted once the batch commits
  // (after the sent marks). A record whose entry is found raises exactly the alerts held there, as they
  // were, whatever the rules and clock of this attempt say (each claimed again, as a resend only:
  // "resend" while its claim stands, "sent" if it was confirmed, "duplicate" or "cooldown" as first
  // decided), then whatever this attempt's own evaluation raises besides, decided against them as any
  // other candidate: a record is decided as it would be by this process from scratch, and the alerts
  // already claimed for it go out. An entry is written before its claims, so a fault (or a crash) between
  // the two leaves alerts held and never claimed: decided by nobody, sent by nobody. Those are not claimed
  // by the retry ("unclaimed"): its own evaluation decides the record, and its own alert of the same event
  // is claimed in their place; claimed afresh, they went out though the retry's rules (reloaded
  // meanwhile) no longer raised them, and took their ids and streams from the alerts those rules raise.
  // An alert held goes to the desks the attempt that claimed it routed it to, those this process serves.
  // Why this rather than releasing the claims a retry no longer raises (undoing the dedup mark, the
  // fired-set member and the old cooldown key): a claim does not say whether its alert went out (a crash
  // after Kafka's acknowledgement and before the sent mark leaves the same "p|" mark as a fault before
  // the publish), and releasing one that did go out frees its id for another alert (which consumers
  // deduplicating on the id would drop: lost) and its stream for a second page within the cooldown;
  // undoing a fire also needs a new script that rolls the old cooldown key back (which the fired set's
  // trim, and a previous version beside this one, may have moved on), and an index of the claims per
  // record all the same. The outbox leaves the claim script and every key it reads as they are (a
  // previous version beside this one decides as before, and ignores the entries, which expire), and at
  // worst repeats the alert once with its id, as a crash between publish and mark already could. (An
  // alert Kafka refuses for good is the exception: it is known not to have gone out, and its claim is
  // released; see the publish below.) Not covered: a claim made by a previous version (it holds no
  // entry), and an entry that no longer parses.
  const withEarlier = (
    earlier: readonly ClaimedAlert[] | undefined,
    own: Pending[],
    at: { origin: string; index: number; indicator?: string },
  ): Pending[] => {
    if (!earlier) return own
    // This evaluation's alert of the same event on the same stream is the held one, even under another id
    // (a reload changed the rule's cooldown, which the id's time bucket is made from): one alert an event.
    const eventOf = (stream: string, eventMs: number) => `${eventMs}|${stream}`
    const ownById = new Map(own.map((p) => [p.candidate.alert.id, p]))
    const ownByEvent = new Map(own.map((p) => [eventOf(p.candidate.cooldownKey, p.eventMs), p]))
    const out = earlier.map((e): Pending => {
      const mine = ownById.get(e.alert.id) ?? ownByEvent.get(eventOf(e.stream, e.eventMs))
      // The line it disarmed, when this evaluation raised it too (its claim's decision re-arms it below).
      const line = mine?.candidate.hysteresisKey
      return {
        candidate: {
          alert: e.alert,
          cooldownKey: e.stream,
          cooldownMs: e.cooldownMs,
          ...(line !== undefined ? { hysteresisKey: line } : {}),
        },
        traceparent: e.traceparent,
        eventMs: e.eventMs,
        origin: at.origin,
        index: at.index,
        ...(at.indicator !== undefined ? { indicator: at.indicator } : {}),
        ...(e.headline !== undefined ? { headline: e.headline } : {}),
        desks: e.desks,
        held: true,
        resendOnly: true,
        ...(mine ? { fallback: mine } : {}),
      }
    })
    const earlierIds = new Set(earlier.map((e) => e.alert.id))
    const earlierEvents = new Set(earlier.map((e) => eventOf(e.stream, e.eventMs)))
    for (const p of own)
      if (
        !earlierIds.has(p.candidate.alert.id) &&
        !earlierEvents.has(eventOf(p.candidate.cooldownKey, p.eventMs))
      )
        out.push(p)
    return out
  }
  return async (records: InRecord[]) => {
    const current: DecidedBy = { ruleSet: deps.rules(), nowMs: clock.now() }
    const origins = records.map(originOf)
    try {
      const outcomes = await handle(records, (origin) => pinned.get(origin) ?? current, current)
      for (const origin of origins) pinned.delete(origin)
      return outcomes
    } catch (err) {
      for (const origin of origins) if (!pinned.has(origin)) pin(origin, current)
      throw err
    }
  }

  async function handle(
    records: InRecord[],
    evaluationOf: (origin: string) => DecidedBy,
    current: DecidedBy,
  ): Promise<Outcome[]> {
    const outcomes: Outcome[] = records.map(() => ({ kind: 'ok' }))
    const pending: Pending[] = []
    // The headlines' own candidates, by record, joined with their outbox entries once those are read.
    const headlines: { origin: string; index: number; own: Pending[] }[] = []
    const updates: {
      update: IndicatorUpdate
      incoming: string | undefined
      origin: string
      index: number
    }[] = []
    let bounded = 0
    let stale = 0

    const dlq = (i: number, p: { reason: DeadLetterReason; message: string }) => {
      outcomes[i] = { kind: 'dlq', reason: p.reason, message: p.message }
    }
    // Alerts that break the strict Alert contract, by the index of the record that raised them.
    const invalid = new Map<number, string[]>()
    let invalidAlerts = 0
    /**
     * The candidates that meet the strict Alert contract (the same array when all do, as nearly always).
     * One that breaks it (an id, rule or version past its bound, a NaN) is
     * left out here, before it is held or claimed: it takes no alert id, cools no stream down (a valid alert
     * of the stream after it still fires) and goes to no topic, alerts.v1 or a desk's; a line it disarmed
     * stays disarmed, as for an alert that fired, so one crossing makes one dead letter, not one per update
     * while the value stays past the line. Every alert is raised by one record of the batch: that record is
     * dead-lettered as output_invalid (its other alerts still go out), the message naming the field, the
     * alert and the rules; the alerts are counted (tradepulse_alerts_invalid_total) and logged at error once
     * the batch is done. An alert held in an outbox entry needs no check: entries are read with the
     * contract's reader, which refuses what the strict schema would (an unknown field aside, dropped).
     */
    const contractual = (candidates: AlertCandidate[], index: number): AlertCandidate[] => {
      let kept = candidates
      for (let k = 0; k < candidates.length; k++) {
        const c = candidates[k]!
        const problem = alertProblem(c.alert)
        if (problem === undefined) {
          if (kept !== candidates) kept.push(c)
          continue
        }
        if (kept === candidates) kept = candidates.slice(0, k)
        invalidAlerts++
        const messages = invalid.get(index) ?? []
        messages.push(invalidAlertMessage(c.alert, problem))
        invalid.set(index, messages)
        const more = messages.length > 1 ? ` (and ${messages.length - 1} more of its alerts)` : ''
        dlq(index, { reason: 'output_invalid', message: `${messages[0]}${more}` })
      }
      return kept
    }
    // The batch's slices of work between turns of the event loop (see SLICE_MS).
    const slices = loopSlices(sliceMs)
    for (const [i, r] of records.entries()) {
      if (slices.due()) await slices.turn()
      const origin = originOf(r)
      const { ruleSet, nowMs } = evaluationOf(origin)
      if (r.topic === scoredTopic) {
        const p = parseJsonRecord(ScoredHeadlineReader, r.value)
        if (!p.ok) {
          dlq(i, p)
          continue
        }
        deps.memory.add(p.value)
        const ev = evaluateHeadline(ruleSet, p.value, nowMs, {
          maxEventAgeMs: deps.maxEventAgeMs ?? 0,
          forgetAfterMs: deps.dedupWindowMs ?? 0,
          recordMs: r.timestamp,
        })
        bounded += ev.dropped
        stale += ev.stale
        const own: Pending[] = []
        headlines.push({ origin, index: i, own })
        if (ev.candidates.length === 0) continue
        const candidates = contractual(ev.candidates, i)
        if (candidates.length === 0) continue
        // Made only for a record that raises something: a new trace costs random bytes.
        const traceparent = traceparentFor(r.headers.traceparent)
        const eventMs = Date.parse(p.value.publishedAt)
        for (const candidate of candidates)
          own.push({ candidate, traceparent, eventMs, origin, index: i, headline: p.value.id })
      } else if (r.topic === indicatorsTopic) {
        const p = parseJsonRecord(IndicatorUpdateReader, r.value)
        if (!p.ok) {
          dlq(i, p)
          continue
        }
        updates.push({ update: p.value, incoming: r.headers.traceparent, origin, index: i })
      } else {
        dlq(i, { reason: 'unknown_topic', message: `the alerter does not consume ${r.topic}` })
      }
    }

    // Indicator updates in record order: one indicator lives on one partition of the compacted topic, and
    // each of its updates in a batch sees the hysteresis state the previous one left, including what the
    // claim of an earlier crossing decided (a crossing the claim refuses leaves its line armed). So the
    // updates are evaluated in rounds: each round evaluates every indicator's updates up to and including
    // the next one that raises an alert, then claims those alerts (one auto-pipelined round trip), and the
    // next round goes on from there. One batch thus decides exactly as its updates one batch each would;
    // most batches take one round (a second only when one indicator raises twice in a batch).
    const hysteresis = new Map<string, HysteresisFields>()
    const decided: ClaimDecision[] = []
    // The records whose outbox entry this batch holds (found, or written before a claim): deleted at commit.
    const holding = new Set<string>()
    // Held before claimed (a crash between the two leaves an entry without its claim, never a claim
    // without an entry): the whole entry of each record with a candidate not held yet. A record's
    // candidates are claimed in one round, so the entry is whole. Issued, not awaited: the claims follow
    // in the same turn (claimAll), so one round trip carries both, the entries written first. Redis runs
    // one connection's commands in the order sent, and the alerter's client sends them in the order
    // issued (one auto-pipeline; a reconnection sends what is left of it in order, or fails it whole), so
    // a claim runs only after its record's entry is written, or after Redis refused to write it. That
    // refusal (OOM, READONLY, MISCONF) refuses the claim's writes too; the claims that fired anyway are
    // released (claimAll) before the batch fails.
    const hold = (claiming: readonly Pending[]): Promise<void> => {
      const entries = new Map<string, ClaimedAlert[]>()
      for (const p of claiming) if (!p.held) entries.set(p.origin, [])
      if (entries.size === 0) return Promise.resolve()
      for (const p of claiming) {
        const entry = entries.get(p.origin)
        if (!entry) continue
        entry.push(claimedAlertOf(p))
        p.held = true
        holding.add(p.origin)
      }
      return deps.store.holdClaims(entries)
    }
    /**
     * The store's decisions, one call per claim (issued together: still one auto-pipelined round trip). A
     * claim Redis refuses with a reply that is the same on every try (a WRONGTYPE on a key of its stream,
     * damaged by hand) makes its record the record's handler_error: handled alone, it fails again and is
     * dead-lettered, never to come back. The alerts claimed afresh in the same call ("fire", none published
     * yet: its other alerts on healthy streams, and those of other records) would then stay claimed and
     * unsent for the dedup window, their ids taken and their streams cooling down around alerts that never
     * went out. So they are released before the error is thrown; the records handled again claim them anew.
     * After a fault to retry (Redis down, a timeout) the claims stay, as before: the retry finds them.
     *
     * `held` is the hold of their entries (hold), issued just before them. If it fails, the claims that
     * fired are released too, whatever the failure, and its error thrown: an entry Redis refused to write
     * would leave them claims without an entry, and one written late (its reply timed out) keeps its
     * alerts for a retry, which finds them unclaimed (resend-only) and decides its own.
     */
    const claimAll = async (
      claims: readonly AlertClaim[],
      held: Promise<void> = Promise.resolve(),
    ): Promise<ClaimDecision[]> => {
      const holdFailed = held.then(
        () => undefined,
        (err: unknown) => ({ err }),
      )
      const settled = await Promise.allSettled(claims.map((c) => deps.store.claim([c])))
      const holdFailure = await holdFailed
      const errors = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
      const decisions = settled.map((r) => (r.status === 'fulfilled' ? r.value[0] : undefined))
      if (errors.length === 0 && !holdFailure) return decisions as ClaimDecision[]
      const fault = holdFailure ? undefined : errors.find((err) => normalizeError(err).retriable)
      if (fault !== undefined) throw fault
      const fresh = claims.filter((_, k) => decisions[k] === 'fire')
      if (fresh.length > 0)
        await deps.store
          .release(
            fresh.map(({ stream, alertId, eventMs, origin }) => ({ stream, alertId, eventMs, origin })),
          )
          .catch((err: unknown) =>
            deps.log.warn(
              { err, alerts: fresh.length },
              holdFailure
                ? 'could not release the alerts claimed beside an outbox entry Redis refused; they stay claimed, unsent'
                : 'could not release the alerts claimed beside a claim Redis refused; they stay claimed, unsent',
            ),
          )
      throw holdFailure ? holdFailure.err : errors[0]
    }
    const claimPending = async (from: number) => {
      const claiming = pending.slice(from)
      const held = hold(claiming)
      const decisions = await claimAll(claiming.map(claimOf), held)
      // A held alert this record holds no claim of: the attempt that held it failed before its claim ran,
      // so nothing was decided for it and it never went out. It is not sent; where this attempt raises the
      // same event itself, its own alert is decided instead (held first, replacing the held one in the
      // entry, in the round trip of its claim: a second round trip, only after such a failure).
      const instead: number[] = []
      const taken = new Set<Pending>()
      for (const [k, d] of decisions.entries()) {
        const own = claiming[k]!.fallback
        if (d !== 'unclaimed' || !own || taken.has(own)) continue
        taken.add(own)
        instead.push(k)
      }
      if (instead.length > 0) {
        for (const k of instead) claiming[k] = pending[from + k] = claiming[k]!.fallback!
        const heldAgain = hold(claiming)
        const again = await claimAll(
          instead.map((k) => claimOf(claiming[k]!)),
          heldAgain,
        )
        for (const [j, k] of instead.entries()) decisions[k] = again[j]!
      }
      decided.push(...decisions)
    }
    // The outbox entries of the batch's records, read in the round trip of the hysteresis read (both
    // issued in this turn: auto-pipelined together).
    let reading: Promise<Map<string, HysteresisFields>> | undefined
    if (updates.length > 0) {
      const requests = new Map<string, { fields: Set<string>; oldestMs: number }>()
      for (const { update, origin } of updates) {
        const r = requests.get(update.key) ?? { fields: new Set<string>(), oldestMs: Date.parse(update.asOf) }
        requests.set(update.key, r)
        for (const k of hysteresisKeysFor(evaluationOf(origin).ruleSet, update)) r.fields.add(k)
        r.oldestMs = Math.min(r.oldestMs, Date.parse(update.asOf))
      }
      // The fields these rules do not list may be another rules version's, running beside this one: kept
      // while their entries are within the grace of the indicator's oldest update in the batch, in event
      // time, so a late or replayed update deletes nothing newer than itself (read-hysteresis-2.lua).
      const graceMs = deps.hysteresisPruneGraceMs ?? 0
      reading = deps.store.readHysteresis(
        new Map(
          [...requests].map(([k, r]) => [
            k,
            { fields: [...r.fields], ...(graceMs > 0 ? { keepUnlistedSinceMs: r.oldestMs - graceMs } : {}) },
          ]),
        ),
      )
    }
    const [earlier, state] = await Promise.all([deps.store.claimedFor(records.map(originOf)), reading])
    for (const origin of earlier.keys()) holding.add(origin)
    for (const h of headlines) pending.push(...withEarlier(earlier.get(h.origin), h.own, h))
    // A record dead-lettered this time (a reader stricter than the one that claimed for it, a topic no
    // longer consumed) still has its claimed alerts sent: they were decided, and their claims would
    // otherwise hold their ids and streams for the dedup window. Its outcome stays the dead letter.
    const evaluated = new Set([...headlines.map((h) => h.origin), ...updates.map((u) => u.origin)])
    for (const [index, r] of records.entries()) {
      const origin = originOf(r)
      const held = earlier.get(origin)
      if (held && !evaluated.has(origin)) pending.push(...withEarlier(held, [], { origin, index }))
    }
    if (state) {
      let remaining = updates
      while (remaining.length > 0) {
        const from = pending.length
        const raised = new Set<string>()
        const later: typeof updates = []
        for (const u of remaining) {
          if (slices.due()) await slices.turn()
          const { update, incoming, origin, index } = u
          // This indicator raised an alert earlier in the round: its later updates wait for that claim.
          if (raised.has(update.key)) {
            later.push(u)
            continue
          }
          const fields = state.get(update.key) ?? {}
          const { ruleSet, nowMs } = evaluationOf(origin)
          const ev = evaluateIndicator(ruleSet, update, fields, nowMs, {
            // No scorerVersion given: the alert takes that of the first headline of its evidence (the
            // scope's, from memory), or "unknown" without evidence (after a restart), never that of the
            // newest headline of any scope (another scope's canary stamped alerts it had no part in).
            evidence: deps.memory.evidence,
            maxEventAgeMs: deps.maxEventAgeMs ?? 0,
            forgetAfterMs: deps.hysteresisTtlMs ?? 0,
          })
          bounded += ev.dropped
          stale += ev.stale
          if (Object.keys(ev.state).length > 0) {
            Object.assign(fields, ev.state)
            state.set(update.key, fields)
            hysteresis.set(update.key, { ...hysteresis.get(update.key), ...ev.state })
          }
          const before = earlier.get(origin)
          const candidates = contractual(ev.candidates, index)
          if (candidates.length === 0 && !before) continue
          raised.add(update.key)
          const own: Pending[] = []
          if (candidates.length > 0) {
            const traceparent = traceparentFor(incoming)
            const eventMs = Date.parse(update.asOf)
            for (const candidate of candidates)
              own.push({ candidate, traceparent, eventMs, origin, index, indicator: update.key })
          }
          pending.push(...withEarlier(before, own, { origin, index, indicator: update.key }))
        }
        // The headlines' alerts go with the first round (other rules, so other streams and ids).
        await claimPending(decided.length)
        for (let i = from; i < pending.length; i++) {
          const p = pending[i]!
          const d = decided[i]!
          // "sent" (sent for this very record, found again after step 4 marked it) did fire: stays disarmed.
          if (d !== 'cooldown' && d !== 'duplicate') continue
          // Not sent (held back by the cooldown, or another crossing in the time bucket of an alert already
          // out for another record): the line stays armed, so the alert is raised again once the cooldown is
          // over if the value is still past it (an alert waits at most a cooldown). The update that raised it
          // is the last of its indicator evaluated so far, so the entry is the one this crossing left.
          const field = p.candidate.hysteresisKey
          const fields = state.get(p.indicator!)
          const entry = field !== undefined ? lineEntry(fields?.[field]) : undefined
          if (!fields || field === undefined || !entry || entry.armed) continue
          const armed = { ...entry, armed: true }
          fields[field] = armed
          hysteresis.set(p.indicator!, { ...hysteresis.get(p.indicator!), [field]: armed })
        }
        remaining = later
      }
    }
    if (decided.length < pending.length) await claimPending(decided.length)

    // Back in record order (a record's alerts in the order it raised them), whatever round claimed them.
    const order = pending.map((_, i) => i).sort((a, b) => pending[a]!.index - pending[b]!.index)
    const decisions = order.map((i) => decided[i]!)
    const inOrder = order.map((i) => pending[i]!)
    const out: OutRecord[] = []
    const sent: { stream: string; alertId: string; origin: string }[] = []
    // The records of each alert in `out`, and the topics acknowledged before (an earlier, failed publish).
    const publishing: {
      alert: Alert
      origin: string
      /** Index of the record that raised it in the batch. */
      index: number
      stream: string
      eventMs: number
      records: OutRecord[]
      before?: ReadonlySet<string>
    }[] = []
    let duplicates = 0
    let cooled = 0
    // One headline pages a desk once, whatever it raised there: one rule on several scopes or dimensions
    // the desk watches ("US raises tariffs on Chinese goods": region:US and region:CN; an export curb's
    // tariff and supply-chain alerts), and several rules on one story (tariff_escalation_headline and
    // trade_measure_enacted). alerts.v1 has every alert; the desk gets one copy (see deskCopies).
    const sendable = (d: ClaimDecision) => d === 'fire' || d === 'resend' || d === 'sent'
    // As held: the routing of the attempt that claimed it, to the desks this process serves (their topics
    // are the ones it checked at start; a desk no longer in the desks file is no longer paged).
    const routed = inOrder.map((p, i) =>
      !sendable(decisions[i]!)
        ? []
        : p.desks
          ? p.desks.filter((desk) => deskTopics.has(desk))
          : routeAlert(p.candidate.alert, deps.desks),
    )
    // Each desk and headline's alerts that go out (by index in inOrder, in record order), the first the
    // carrier: the most severe, the first of those (rule file order, then dimensions, then scopes).
    // Alerts found "sent" (acknowledged in full by an earlier attempt, their copy out, nothing published
    // now) make a page apart: an alert of the headline that goes out beside them (a new one: a redelivery
    // whose reloaded rules or desks raise another rule, or route to another desk, on the same headline) was
    // not in the copy the desk got, so it carries a copy of its own; merged into a sent one, it would never
    // reach the desk. Partly acknowledged alerts ("resend" with the topics that went out) page as before:
    // a retry in this process raises what the failed attempt raised (pinned), so their page is the one
    // whose copy went out, or goes out now.
    const pageOf = (i: number, desk: string) =>
      `${desk}\u0000${inOrder[i]!.headline}${decisions[i] === 'sent' ? '\u0000sent' : ''}`
    const pages = new Map<string, number[]>()
    inOrder.forEach((p, i) => {
      if (p.headline === undefined) return
      for (const desk of routed[i]!) {
        const key = pageOf(i, desk)
        const page = pages.get(key)
        if (!page) pages.set(key, [i])
        else if (isAtLeast(inOrder[page[0]!]!.candidate.alert.severity, p.candidate.alert.severity))
          page.push(i)
        else page.unshift(i)
      }
    })
    let merged = 0
    /** The desks an alert goes to, each with its copy: the alert, or for a carrier, the merged copy. */
    const deskCopies = (i: number): { desk: string; alert: Alert }[] => {
      const p = inOrder[i]!
      const { alert } = p.candidate
      if (p.headline === undefined) return routed[i]!.map((desk) => ({ desk, alert }))
      const copies: { desk: string; alert: Alert }[] = []
      for (const desk of routed[i]!) {
        const page = pages.get(pageOf(i, desk))!
        if (page[0] !== i) {
          merged++
          continue
        }
        copies.push({ desk, alert: page.length === 1 ? alert : mergedCopy(page.map((k) => inOrder[k]!)) })
      }
      return copies
    }
    inOrder.forEach((p, i) => {
      const d = decisions[i]!
      const { alert } = p.candidate
      if (d === 'duplicate') duplicates++
      if (d === 'cooldown') cooled++
      if (d !== 'fire' && d !== 'resend' && d !== 'sent') return
      // A redelivery of a record whose alert was sent (not this process's retry of it) sends nothing new.
      if (d === 'sent' && acknowledged.get(alert.id)?.origin !== p.origin) duplicates++
      const desks = deskCopies(i)
      // "sent": acknowledged in full, only the confirmation (the hysteresis of step 4) may be left.
      const acked: Acked | undefined =
        d === 'sent' ? { origin: p.origin } : d === 'resend' ? acknowledged.get(alert.id) : undefined
      sent.push({ stream: p.candidate.cooldownKey, alertId: alert.id, origin: p.origin })
      // Published and acknowledged before a fault (in step 4, or in a later request of step 3): only its
      // confirmation is left, or the records of the topics not acknowledged yet.
      if (acked && !acked.topics) return
      const copies = [{ topic: alertsTopic, alert }]
      for (const c of desks) copies.push({ topic: deskTopics.get(c.desk)!, alert: c.alert })
      const wanted = acked?.topics ? copies.filter((c) => !acked.topics!.has(c.topic)) : copies
      // The topics that get the alert itself in one call (one JSON text), then each merged copy.
      const records = alertRecords(
        alert,
        wanted.filter((c) => c.alert === alert).map((c) => c.topic),
        p.traceparent,
      )
      for (const c of wanted)
        if (c.alert !== alert) records.push(...alertRecords(c.alert, [c.topic], p.traceparent))
      out.push(...records)
      publishing.push({
        alert,
        origin: p.origin,
        index: p.index,
        stream: p.candidate.cooldownKey,
        eventMs: p.eventMs,
        records,
        ...(acked?.topics ? { before: acked.topics } : {}),
      })
    })

    // An alert is counted (and its latency observed) once, when Kafka acknowledges its alerts.v1 record:
    // not while the batch is assembled, since a publish that fails is retried with the same alerts, and
    // not again on a retry that only sends the desk copies left (its alerts.v1 record is then absent).
    // Its latency is read off the clock now, at the acknowledgement, from its ingestedAt: not the payload's
    // latencyMs, which is as first decided (a failed attempt's detection time is pinned, and the outbox
    // keeps the payload held), so an alert an outage held an hour would report the milliseconds it took
    // to decide, and the dashboards no spike for the outage.
    const count = (a: (typeof publishing)[number], done?: ReadonlySet<OutRecord>) => {
      const record = a.records.find((r) => r.topic === alertsTopic)
      if (!record || (done && !done.has(record))) return
      metrics.alerts.inc({ rule: a.alert.rule, severity: a.alert.severity })
      metrics.latency.observe({ kind: a.alert.ruleKind }, latencyAtAck(a.alert) / 1_000)
    }
    // Records Kafka refused for good (too large for a topic, an invalid record), found one by one.
    const refused = new Map<OutRecord, string>()
    if (out.length > 0) {
      // Sending again what the refused request held can never succeed for the refused record, and its
      // error does not say which it was: each record not acknowledged is sent alone, to find out (those
      // of the failed request that some broker had written may come twice, with their ids).
      const found = await sendFindingRefused(deps.publish, out, deps.publishAlone ?? deps.publish)
      const done = found.acknowledged
      if (found.fault !== undefined) {
        // Part of it acknowledged (the requests before the one that failed): remembered, so the retry
        // publishes only the rest. Nothing is marked in Redis: the retry's claims are "resend" as before.
        if (done.size > 0)
          for (const a of publishing) {
            count(a, done)
            const topics = a.records.filter((r) => done.has(r)).map((r) => r.topic)
            if (topics.length === a.records.length) remember(a.alert.id, { origin: a.origin })
            else if (topics.length > 0)
              remember(a.alert.id, { origin: a.origin, topics: new Set([...(a.before ?? []), ...topics]) })
          }
        throw found.fault
      }
      for (const [r, refusal] of found.refused) refused.set(r, refusal)
      for (const a of publishing) count(a, refused.size > 0 ? done : undefined)
    }
    // An alert Kafka refused for good: if none of its records went out (now or in an earlier attempt), it
    // was not sent and never can be, so its claim is released (its id free, its stream no longer cooling
    // down around it) before the commit settles its outbox entry (a crash between the two finds the entry
    // unclaimed: a resend-only claim sends nothing); if some did, it was sent, and only the refused copies
    // are lost. Either way the record that raised it is dead-lettered, saying so, as any worker's record
    // whose output Kafka refuses is (output_refused), and the batch goes on.
    const releases: AlertRelease[] = []
    if (refused.size > 0)
      for (const a of publishing) {
        const lost = a.records.filter((r) => refused.has(r))
        if (lost.length === 0) continue
        const refusal = refused.get(lost[0]!)!
        const topics = lost.map((r) => r.topic).join(', ')
        const unsent = lost.length === a.records.length && !a.before?.size
        if (unsent)
          releases.push({ stream: a.stream, alertId: a.alert.id, eventMs: a.eventMs, origin: a.origin })
        const message = unsent
          ? `Kafka refused alert ${a.alert.id} (${refusal}) on ${topics}: not sent, its claim released`
          : `Kafka refused alert ${a.alert.id} (${refusal}) on ${topics}; its other records were sent`
        deps.log.error(
          { alertId: a.alert.id, rule: a.alert.rule, origin: a.origin, refusal, topics, sent: !unsent },
          'Kafka refused an alert for good; its record is dead-lettered',
        )
        if (outcomes[a.index]!.kind === 'ok') dlq(a.index, { reason: 'output_refused', message })
      }
    if (releases.length > 0) {
      const released = new Set(releases.map((r) => `${r.origin}\u0000${r.alertId}`))
      for (let i = sent.length - 1; i >= 0; i--)
        if (released.has(`${sent[i]!.origin}\u0000${sent[i]!.alertId}`)) sent.splice(i, 1)
      await deps.store.release(releases)
    }
    for (const { alertId, origin } of sent) remember(alertId, { origin })
    await deps.store.commit(sent, hysteresis, [...holding])
    for (const { alertId } of sent) acknowledged.delete(alertId)
    // Counted once the batch is done, as the alerts are: a retried batch decides its records again.
    if (bounded > 0) metrics.suppressed.inc({ reason: 'bound' }, bounded)
    if (stale > 0) metrics.suppressed.inc({ reason: 'stale' }, stale)
    if (duplicates) metrics.suppressed.inc({ reason: 'duplicate' }, duplicates)
    if (cooled) metrics.suppressed.inc({ reason: 'cooldown' }, cooled)
    if (merged) metrics.deskMerged.inc(merged)
    if (invalidAlerts > 0) reportInvalid(records, invalid, invalidAlerts)
    if (sent.length > 0)
      deps.log.debug({ alerts: sent.length, rulesVersion: current.ruleSet.rulesVersion }, 'alerts sent')
    return outcomes
  }

  /**
   * Alerts that broke the Alert contract (their records dead-lettered as they were found), counted and
   * named in one error line, once the batch is done: a retried batch decides its records again.
   */
  function reportInvalid(
    records: readonly InRecord[],
    invalid: ReadonlyMap<number, readonly string[]>,
    alerts: number,
  ): void {
    metrics.invalid.inc(alerts)
    deps.log.error(
      {
        alerts,
        sample: [...invalid]
          .slice(0, 5)
          .map(([index, messages]) => ({ origin: originOf(records[index]!), problem: messages[0] })),
      },
      'alerts break the Alert contract; not published (their records are dead-lettered as output_invalid)',
    )
  }
}

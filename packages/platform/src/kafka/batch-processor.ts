import { isUtf8 } from 'node:buffer'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { isKafkaAclRefusal, normalizeError, TradepulseError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { deadLetterRecord } from './dead-letter.ts'
import { kafkaErrorType, RECORD_REFUSALS } from './kafka-client.ts'
import { topLevelKeyCount } from './parse-record.ts'
import { kafkaClockError } from './produce.ts'
import type { BatchHandler, HandlerContext, InRecord, Outcome, OutRecord } from './records.ts'
import { createReplyBreaker } from './reply-breaker.ts'

export type BatchProcessorDeps = {
  handler: BatchHandler
  worker: string
  dlqTopic: string
  log: Logger
  metrics: Metrics
  signal: AbortSignal
  /** Produces records and resolves once every one is acknowledged. */
  produce: (records: OutRecord[]) => Promise<void>
  /**
   * The same, for these records alone: never in one request with another batch's (a request queue
   * merging several partitions' sends would blame one partition's refused record on the others).
   * Used to find which input's output Kafka refuses; `produce` when not given.
   */
  produceAlone?: (records: OutRecord[]) => Promise<void>
  /**
   * How many records in a row may fail on the same Redis reply to the same command and key (a key every
   * record writes holding the wrong type) before the batch fails with a RepeatedReplyError instead of
   * dead-lettering them (see createReplyBreaker); 0 or unset: never.
   */
  replyFailuresMax?: number
}

/** A handled batch whose output is not yet produced. */
export type PreparedBatch = {
  records: InRecord[]
  outcomes: Outcome[]
  out: OutRecord[]
  /** The index in `records` of the input each record of `out` comes from. */
  sources: number[]
  startedNs: bigint
}

/**
 * A produce fault that is not a refusal of a record, or a refusal of the deployment's credentials or ACL
 * met by the handler, as the runner's retries take it: retriable. Kafka's faults already are; one it will
 * not retry (a topic this worker may not write, one that does not exist) is the deployment's, waited out
 * with health degraded and the reason logged, rather than let kafkajs stop the consumer for good.
 */
function waitedOut(raw: unknown): TradepulseError {
  const err = normalizeError(raw)
  // Refused credentials keep their code: the runner waits them out for a bounded time only.
  return err.retriable
    ? err
    : new TradepulseError(err.code === 'KAFKA_AUTH' ? 'KAFKA_AUTH' : 'INFRA_KAFKA', err.message, {
        cause: raw,
        retriable: true,
      })
}

/**
 * What a handler that ended on its aborted `signal` threw, as a retriable error: the signal's reason when
 * it is a retriable TradepulseError (the runners' are), else a retriable SHUTDOWN wrapping what was thrown.
 */
function abortedError(signal: AbortSignal, raw: unknown): TradepulseError {
  const err = normalizeError(raw)
  if (err.retriable) return err
  const reason: unknown = signal.reason
  if (reason instanceof TradepulseError && reason.retriable) return reason
  return new TradepulseError('SHUTDOWN', `the batch was given up: ${err.message}`, {
    cause: raw,
    retriable: true,
  })
}

/**
 * A dead letter's message for a handler's failure: its code and the class of what was thrown, then what
 * it said ("INFRA_REDIS (ReplyError): WRONGTYPE Operation against a key…", "INTERNAL (TypeError): …").
 * Also for a handler that dead-letters a record its own code threw on (handler_error), in the same words.
 */
export function handlerErrorMessage(raw: unknown): string {
  const err = normalizeError(raw)
  const { cause } = err
  const thrown =
    cause instanceof Error && !(cause instanceof TradepulseError) && cause.name !== 'Error'
      ? ` (${cause.name})`
      : ''
  return `${err.code}${thrown}: ${err.message}`
}

/**
 * A handler that returned no outcome for a record (a hole in its array): a bug in it, named (worker,
 * handler, index, offset), not retried. Before, it surfaced as "Cannot read properties of undefined
 * (reading 'kind')".
 */
function missingOutcome(deps: BatchProcessorDeps, records: readonly InRecord[], i: number): TradepulseError {
  const rec = records[i]
  const name = deps.handler.name ? ` (${deps.handler.name})` : ''
  return new TradepulseError(
    'INTERNAL',
    `the ${deps.worker} handler${name} returned no outcome for record ${i} of ${records.length} (${rec?.topic}/${rec?.partition} offset ${rec?.offset}): a bug in the handler`,
  )
}

/** The most characters of a key or id a dlq line shows. */
const LOGGED_ID_CHARS = 200
/** A payload larger than this is not parsed again for its id on the dlq line. */
const ID_SCAN_MAX_BYTES = 64 * 1024

/**
 * What names a dead-lettered record on its log line besides its coordinates: its key (text, else base64),
 * and its id: the handler's, else the payload's top-level string `id` when the payload is a JSON object
 * that names it once (a record with "id" twice has no id anyone can trust).
 */
export function deadLetterIds(rec: InRecord, outcome: { id?: string }): { key?: string; id?: string } {
  const ids: { key?: string; id?: string } = {}
  if (rec.key && rec.key.length > 0)
    ids.key = isUtf8(rec.key)
      ? rec.key.toString('utf8', 0, LOGGED_ID_CHARS * 4).slice(0, LOGGED_ID_CHARS)
      : `base64:${rec.key.subarray(0, 150).toString('base64')}`
  let id = outcome.id
  const v = rec.value
  if (id === undefined && v && v.length <= ID_SCAN_MAX_BYTES && v[0] === 0x7b && isUtf8(v)) {
    const text = v.toString('utf8')
    try {
      const parsed = JSON.parse(text) as { id?: unknown }
      if (typeof parsed.id === 'string' && topLevelKeyCount(text, 'id') === 1) id = parsed.id
    } catch {
      // not JSON: no id to tell
    }
  }
  if (id !== undefined) ids.id = id.slice(0, LOGGED_ID_CHARS)
  return ids
}

/**
 * The Kafka error type when `err` (or an error it wraps) is a refusal of the record itself. Not Kafka
 * refusing the timestamps the producer stamped with this host's clock (KafkaClockError): every record is
 * refused alike, and dead-lettering (or, its letter refused too, skipping) each lost them for a clock.
 */
export function recordRefusal(err: unknown): string | undefined {
  if (kafkaClockError(err)) return undefined
  return kafkaErrorType(err, RECORD_REFUSALS)
}

/**
 * The longest a failed batch is handled again one record at a time with no turn of the event loop seen,
 * in ms (as the scorer's slices, SCORER_SLICE_MS): a handler that only computes resolves each call in
 * microtasks, and no timer (the runner's heartbeat) fired for the whole batch.
 */
const ISOLATION_SLICE_MS = 50

/** The event loop's turns seen by watchTurn, and when the last was seen (performance.now). */
let loopTurns = 0
let lastTurnMs = performance.now()
let turnWatched = false
/**
 * The count of the event loop's turns now, the next one to be seen: one setImmediate pending at a time
 * for every batch under way, run at the loop's next check phase.
 */
function watchTurn(): number {
  if (!turnWatched) {
    turnWatched = true
    // node:timers/promises' own, which a test's fake timers leave running.
    void nextTurn().then(() => {
      turnWatched = false
      loopTurns++
      lastTurnMs = performance.now()
    })
  }
  return loopTurns
}

/**
 * Handles batches the same way on every bus, in two stages: `prepare` runs the handler and turns
 * outcomes into output and dlq records; `publish` produces them, waits for the acknowledgements and
 * counts. A batch's offsets may be committed once its `publish` resolved. Each stage throws on a
 * fault to retry; retrying a stage repeats only that stage.
 */
export function createBatchStages(deps: BatchProcessorDeps): {
  /** `signal`: the handler's (HandlerContext.signal), the batch's own; `deps.signal` when not given. */
  prepare(records: InRecord[], defer?: HandlerContext['defer'], signal?: AbortSignal): Promise<PreparedBatch>
  publish(batch: PreparedBatch): Promise<void>
} {
  const { handler, log, metrics } = deps
  const breaker = createReplyBreaker(deps.replyFailuresMax ?? 0)

  async function handleWithIsolation(
    records: InRecord[],
    defer: HandlerContext['defer'] | undefined,
    signal: AbortSignal,
  ): Promise<Outcome[]> {
    const turnsAtCall = watchTurn()
    try {
      const outcomes = await handler(records, { signal, ...(defer ? { defer } : {}) })
      if (outcomes.some((o) => o.kind === 'ok')) breaker.passed()
      return outcomes
    } catch (raw) {
      // The batch given up (a stop, its group rebalancing): whatever the handler threw as it ended (an
      // AbortError, a fault of its own), no record is to blame. Handled one at a time, each would end the
      // same way and be dead-lettered (handler_error): a retriable error instead, which the retry, told
      // of the stop, does not retry, and nothing of the batch is produced or committed.
      if (signal.aborted) throw abortedError(signal, raw)
      const err = normalizeError(raw)
      if (err.retriable) throw err
      // Kafka refusing the credentials (KAFKA_AUTH) or the ACL refusing this client, in a call the
      // handler made (its own producer, an admin request): the deployment's fault, which would refuse
      // every record alike. Nothing is dead-lettered: the runner waits it out as it does the same
      // refusals of the output (refused credentials for a bounded time, then failed(): exit 69).
      if (err.code === 'KAFKA_AUTH' || isKafkaAclRefusal(raw)) throw waitedOut(raw)
      // A bug triggered by some record, or a fault retrying cannot mend (a Redis WRONGTYPE on its key):
      // find it by handling one at a time, so the others still pass and the partition never stalls on it.
      if (records.length === 1) {
        // Record after record failing on the same reply to the same key: no record's fault, but a key
        // they all write. Nothing of the batch is dead-lettered; the runner stops consuming.
        const repeated = breaker.failed(raw)
        if (repeated) throw repeated
        log.error({ err, offset: records[0]?.offset }, 'handler failed on a record; sending it to the dlq')
        return [{ kind: 'dlq', reason: 'handler_error', message: handlerErrorMessage(err) }]
      }
      // Before a record, the event loop gets a turn when none was seen during the call before it and
      // the last is ISOLATION_SLICE_MS old: a handler that only computes (the scorer: a fetch of 150 long
      // bodies, 12 s) held it for the whole batch, so no heartbeat went out, the member was evicted and
      // the next owner redid the batch the same way, for ever, and /healthz and /metrics went unanswered.
      // A call that awaited I/O had its turns, and the next record follows at once: a handler waiting for
      // the records to come again (the alerter's event-time gate, whose rounds start on a turn) gets them
      // before it goes on with other partitions, as before. A stop or a rebalance (the batch's signal) ends
      // it at the next record, where it waited for every one.
      let turnsBefore = turnsAtCall
      const outcomes: Outcome[] = []
      for (const r of records) {
        if (loopTurns === turnsBefore && performance.now() - lastTurnMs >= ISOLATION_SLICE_MS) {
          await nextTurn()
          lastTurnMs = performance.now()
        }
        if (signal.aborted) throw abortedError(signal, signal.reason)
        turnsBefore = watchTurn()
        outcomes.push(...(await handleWithIsolation([r], defer, signal)))
      }
      return outcomes
    }
  }

  async function prepare(
    records: InRecord[],
    defer?: HandlerContext['defer'],
    signal: AbortSignal = deps.signal,
  ): Promise<PreparedBatch> {
    const startedNs = process.hrtime.bigint()
    const outcomes = await handleWithIsolation(records, defer, signal)
    if (outcomes.length !== records.length) {
      throw new Error(`handler returned ${outcomes.length} outcomes for ${records.length} records`)
    }
    // By index, so a hole the handler left is found: find met it as undefined (a TypeError on .kind),
    // some passes over it.
    let retryOutcome: Extract<Outcome, { kind: 'retry' }> | undefined
    for (let i = 0; i < outcomes.length; i++) {
      const o = outcomes[i]
      if (o === undefined) throw missingOutcome(deps, records, i)
      if (o.kind === 'retry') retryOutcome ??= o
    }
    if (retryOutcome) {
      // Nothing of this batch is produced or committed; the runner backs off and handles it again.
      throw new TradepulseError('INFRA_DEPENDENCY', `handler asked to retry: ${retryOutcome.reason}`)
    }
    const out: OutRecord[] = []
    const sources: number[] = []
    const now = new Date()
    outcomes.forEach((o, i) => {
      if (o.kind === 'ok') {
        for (const r of o.out ?? []) {
          out.push(r)
          sources.push(i)
        }
      } else if (o.kind === 'dlq') {
        out.push(deadLetterRecord(deps.dlqTopic, deps.worker, records[i]!, o.reason, o.message, now))
        sources.push(i)
      }
    })
    return { records, outcomes, out, sources, startedNs }
  }

  /**
   * The batch's output produced input by input, after Kafka refused a record of it (too large, say):
   * an input whose own output is refused goes to the dlq in its place (reason output_refused), and the
   * others go through. A dead letter refused as well (which its size caps should prevent) is logged with
   * the record's coordinates and skipped, rather than stop the partition for ever. Outputs the failed
   * whole-batch request had already written may be written twice: consumers deduplicate by id.
   */
  async function produceEach(batch: PreparedBatch): Promise<{ outcomes: Outcome[]; sent: OutRecord[] }> {
    const { records, out, sources } = batch
    const outcomes = [...batch.outcomes]
    const sent: OutRecord[] = []
    const alone = deps.produceAlone ?? deps.produce
    const now = new Date()
    for (let from = 0; from < out.length; ) {
      const i = sources[from]!
      let to = from
      while (to < out.length && sources[to] === i) to++
      const own = out.slice(from, to)
      from = to
      try {
        await alone(own)
        sent.push(...own)
      } catch (raw) {
        const refusal = recordRefusal(raw)
        if (!refusal) throw waitedOut(raw)
        const rec = records[i]!
        const message = `Kafka refused its output (${refusal}): ${normalizeError(raw).message}`
        if (own.every((r) => r.topic === deps.dlqTopic)) {
          log.error(
            { topic: rec.topic, partition: rec.partition, offset: rec.offset, refusal },
            'Kafka refused the dead letter of a record; the record is skipped',
          )
          outcomes[i] = { kind: 'drop', reason: 'dlq_refused' }
          continue
        }
        outcomes[i] = { kind: 'dlq', reason: 'output_refused', message }
        const letter = deadLetterRecord(deps.dlqTopic, deps.worker, rec, 'output_refused', message, now)
        try {
          await alone([letter])
          sent.push(letter)
        } catch (raw2) {
          if (!recordRefusal(raw2)) throw waitedOut(raw2)
          log.error(
            { topic: rec.topic, partition: rec.partition, offset: rec.offset, refusal },
            'Kafka refused the output and the dead letter of a record; the record is skipped',
          )
          outcomes[i] = { kind: 'drop', reason: 'dlq_refused' }
        }
      }
    }
    return { outcomes, sent }
  }

  async function publish(batch: PreparedBatch): Promise<void> {
    const { startedNs } = batch
    let { outcomes, out } = batch
    if (out.length > 0) {
      try {
        await deps.produce(out)
      } catch (raw) {
        // Refused for good, a record's own fault: find it, input by input. Anything else is waited out.
        if (!recordRefusal(raw)) throw waitedOut(raw)
        ;({ outcomes, sent: out } = await produceEach(batch))
      }
    }
    // Counted per batch, not per record: label lookups are the costly part of a prom-client increment.
    const counts = new Map<string, number>()
    outcomes.forEach((o, i) => {
      if (o.kind === 'retry') return
      const k = o.kind === 'ok' ? 'ok\u0000' : `${o.kind}\u0000${o.reason}`
      counts.set(k, (counts.get(k) ?? 0) + 1)
      if (o.kind === 'dlq') {
        const rec = batch.records[i]!
        log.warn(
          {
            reason: o.reason,
            message: o.message,
            topic: rec.topic,
            partition: rec.partition,
            offset: rec.offset,
            ...deadLetterIds(rec, o),
          },
          'record sent to the dlq',
        )
      }
    })
    for (const [k, n] of counts) {
      const [outcome = '', reason = ''] = k.split('\u0000')
      metrics.outcomes.inc({ outcome, reason }, n)
      if (outcome === 'dlq') metrics.dlq.inc({ reason }, n)
    }
    countOut(metrics, out)
    metrics.handlerSeconds.observe(Number(process.hrtime.bigint() - startedNs) / 1e9)
  }

  return { prepare, publish }
}

/** Counts produced records per topic (per batch: label lookups are a prom-client increment's cost). */
export function countOut(metrics: Metrics, out: readonly OutRecord[]): void {
  const counts = new Map<string, number>()
  for (const r of out) counts.set(r.topic, (counts.get(r.topic) ?? 0) + 1)
  for (const [topic, n] of counts) metrics.messagesOut.inc({ topic }, n)
}

/** Both stages as one: resolves only when everything the batch caused is durable. */
export function createBatchProcessor(deps: BatchProcessorDeps): (records: InRecord[]) => Promise<void> {
  const stages = createBatchStages(deps)
  return async (records) => stages.publish(await stages.prepare(records))
}

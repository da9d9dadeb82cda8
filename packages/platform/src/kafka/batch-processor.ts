import { normalizeError, TradepulseError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { deadLetterRecord } from './dead-letter.ts'
import type { BatchHandler, HandlerContext, InRecord, Outcome, OutRecord } from './records.ts'

export type BatchProcessorDeps = {
  handler: BatchHandler
  worker: string
  dlqTopic: string
  log: Logger
  metrics: Metrics
  signal: AbortSignal
  /** Produces records and resolves once every one is acknowledged. */
  produce: (records: OutRecord[]) => Promise<void>
}

/** A handled batch whose output is not yet produced. */
export type PreparedBatch = { outcomes: Outcome[]; out: OutRecord[]; startedNs: bigint }

/**
 * Handles batches the same way on every bus, in two stages: `prepare` runs the handler and turns
 * outcomes into output and dlq records; `publish` produces them, waits for the acknowledgements and
 * counts. A batch's offsets may be committed once its `publish` resolved. Each stage throws on a
 * fault to retry; retrying a stage repeats only that stage.
 */
export function createBatchStages(deps: BatchProcessorDeps): {
  prepare(records: InRecord[], defer?: HandlerContext['defer']): Promise<PreparedBatch>
  publish(batch: PreparedBatch): Promise<void>
} {
  const { handler, log, metrics } = deps

  async function handleWithIsolation(
    records: InRecord[],
    defer?: HandlerContext['defer'],
  ): Promise<Outcome[]> {
    try {
      return await handler(records, { signal: deps.signal, ...(defer ? { defer } : {}) })
    } catch (raw) {
      const err = normalizeError(raw)
      if (err.retriable) throw err
      // A bug triggered by some record: find it by handling one at a time, so the others still pass.
      if (records.length === 1) {
        log.error({ err, offset: records[0]?.offset }, 'handler failed on a record; sending it to the dlq')
        return [{ kind: 'dlq', reason: 'handler_error', message: err.message }]
      }
      const outcomes: Outcome[] = []
      for (const r of records) outcomes.push(...(await handleWithIsolation([r], defer)))
      return outcomes
    }
  }

  async function prepare(records: InRecord[], defer?: HandlerContext['defer']): Promise<PreparedBatch> {
    const startedNs = process.hrtime.bigint()
    const outcomes = await handleWithIsolation(records, defer)
    if (outcomes.length !== records.length) {
      throw new Error(`handler returned ${outcomes.length} outcomes for ${records.length} records`)
    }
    const retryOutcome = outcomes.find((o) => o.kind === 'retry')
    if (retryOutcome) {
      // Nothing of this batch is produced or committed; the runner backs off and handles it again.
      throw new TradepulseError('INFRA_DEPENDENCY', `handler asked to retry: ${retryOutcome.reason}`)
    }
    const out: OutRecord[] = []
    const now = new Date()
    outcomes.forEach((o, i) => {
      if (o.kind === 'ok') {
        if (o.out) out.push(...o.out)
      } else if (o.kind === 'dlq') {
        out.push(deadLetterRecord(deps.dlqTopic, deps.worker, records[i]!, o.reason, o.message, now))
      }
    })
    return { outcomes, out, startedNs }
  }

  async function publish({ outcomes, out, startedNs }: PreparedBatch): Promise<void> {
    if (out.length > 0) await deps.produce(out)
    // Counted per batch, not per record: label lookups are the costly part of a prom-client increment.
    const counts = new Map<string, number>()
    for (const o of outcomes) {
      if (o.kind === 'retry') continue
      const k = o.kind === 'ok' ? 'ok\u0000' : `${o.kind}\u0000${o.reason}`
      counts.set(k, (counts.get(k) ?? 0) + 1)
      if (o.kind === 'dlq') log.warn({ reason: o.reason, message: o.message }, 'record sent to the dlq')
    }
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

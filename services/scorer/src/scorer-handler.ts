import { setImmediate as nextTurn } from 'node:timers/promises'
import { HeadlineReader, scoredHeadlineProblem, type TopicCatalogue } from '@tradepulse/contracts'
import {
  type BatchHandler,
  handlerErrorMessage,
  type InRecord,
  type Logger,
  type Outcome,
  parseJsonRecord,
  traceContext,
} from '@tradepulse/platform'
import type { Scorer } from '@tradepulse/scoring'
import { scoreHeadline } from './score-headline.ts'

/**
 * The longest the handler scores without giving the event loop a turn, in ms. Scoring is synchronous
 * and a batch can hold thousands of headlines (KAFKA_MAX_BATCH; a compressed fetch of long bodies, up
 * to 80 ms each): scored in one go, it held the loop for longer than the session timeout, so the runner's
 * heartbeats never went out, the member was evicted and the batch redone, again and again (150 such
 * headlines in one gzip batch: 36 scored in 78 s, some twice), and /healthz and /metrics went unanswered.
 */
export const SCORER_SLICE_MS = 50

/**
 * headlines → headlines.scored, keyed by headline id. No state: the scorer is pure and CPU-bound. A record
 * is read with the Headline contract, which holds its text to what ingest writes (contracts' TEXT_RULES):
 * one another producer wrote to the topic with a lone surrogate, a control character, a blank id or source,
 * or a headline with no letter or digit goes to the dlq as `schema_invalid`, naming the field and the rule
 * (`headline: holds a lone surrogate`), and the batch goes on. What it
 * writes is held to the strict ScoredHeadline contract first: a result that breaks it (a scorer bug: a NaN
 * or out-of-range score, a label not in its enum, a span outside the text) sends the headline to the dlq
 * as `output_invalid`, naming the field, rather than have every consumer dead-letter the record or, worse,
 * take a wrong number for a reading. The rest of the batch goes on. A scorer that throws on a headline (a
 * scorer bug: it is pure, so the headline is what sets it off) sends it to the dlq as `handler_error`, the
 * message starting with the error's code and class as the batch processor's do (`INTERNAL (TypeError): …`),
 * the error with its stack logged; the rest of the batch is scored in the same pass. Before, the throw
 * failed the whole call, and the batch processor handled the batch again one record at a time: each call
 * of one record scored without giving the event loop a turn, so a fetch of 150 long bodies (80 ms each)
 * held it for 12 s, past the session timeout, and the member was evicted and the batch redone, for ever.
 *
 * Its records carry no timestamp of their own: headlines.scored is a LogAppendTime topic (the catalogue),
 * so each is stamped by the broker as it is appended, and the aggregators' bound on a headline's time does
 * not rest on this host's clock (scoredAt, informative only, does).
 *
 * A batch is scored in slices of at most SCORER_SLICE_MS (the headline that ends a slice excepted), the
 * event loop getting a turn between them: the runner's heartbeat timer, the health server and the other
 * partitions' I/O run while a long batch is scored. The slice is the handler's, not a call's: a call that
 * comes while the slice is used up (the batch processor calling again at once, one record at a time)
 * gives the loop its turn before its first headline. A stop or a rebalance of the group (the batch's signal)
 * ends the batch at the next slice: it throws the signal's retriable SHUTDOWN, so nothing of the batch is produced or committed and its records
 * come again at the next start. Before, a stop waited for every batch under way to be scored whole (up to
 * KAFKA_MAX_BATCH headlines on each of KAFKA_PARTITIONS_CONCURRENCY partitions), past SHUTDOWN_DEADLINE_MS
 * on a backlog of long bodies: the process was then killed (exit 1) before its last commit.
 */
export function createScorerHandler(deps: {
  topics: TopicCatalogue
  scorer: Scorer
  now?: () => Date
  /** A monotonic clock in ms, which times the slices (performance.now when absent). */
  elapsedMs?: () => number
  /** SCORER_SLICE_MS when absent. */
  sliceMs?: number
  /** Where a scorer's throw is logged with its stack; not logged when absent. */
  log?: Logger
}): BatchHandler {
  const out = deps.topics.scored.name
  const now = deps.now ?? (() => new Date())
  const elapsedMs = deps.elapsedMs ?? (() => performance.now())
  const sliceMs = deps.sliceMs ?? SCORER_SLICE_MS

  const scoreRecord = (r: InRecord): Outcome => {
    const parsed = parseJsonRecord(HeadlineReader, r.value)
    if (!parsed.ok) return { kind: 'dlq', reason: parsed.reason, message: parsed.message }
    let scored: ReturnType<typeof scoreHeadline>
    try {
      scored = scoreHeadline(deps.scorer, parsed.value, now())
    } catch (err) {
      const { id } = parsed.value
      deps.log?.error(
        { err, topic: r.topic, partition: r.partition, offset: r.offset, id },
        'the scorer threw on a headline; sending it to the dlq',
      )
      return {
        kind: 'dlq',
        reason: 'handler_error',
        message: `${handlerErrorMessage(err)} (the scorer threw on this headline; nothing was written for it)`,
        id,
      }
    }
    const problem = scoredHeadlineProblem(scored)
    if (problem) {
      const version = typeof scored.scorerVersion === 'string' ? ` ${scored.scorerVersion.slice(0, 100)}` : ''
      return {
        kind: 'dlq',
        reason: 'output_invalid',
        message: `${problem} (the scorer${version} gave a result that breaks the ScoredHeadline contract; nothing was written for this headline)`,
        id: parsed.value.id,
      }
    }
    // Only a valid trace context is carried on (an unchecked header of any size would be copied), read
    // from every value Kafka gave: a record with two traceparents carries none, as W3C Trace Context asks.
    const headers = traceContext(r)
    return {
      kind: 'ok',
      out: [
        {
          topic: out,
          key: scored.id,
          value: JSON.stringify(scored),
          ...(headers ? { headers } : {}),
        },
      ],
    }
  }

  // Across calls: a call made at once after another (no turn of the loop between them) goes on with its
  // slice. After an idle spell it is used up, which costs one turn before the next batch's first headline.
  let sliceStart = elapsedMs()
  return async (records, { signal }) => {
    const outcomes = new Array<Outcome>(records.length)
    for (let i = 0; i < records.length; i++) {
      if (elapsedMs() - sliceStart >= sliceMs) {
        // setImmediate's turn comes after the loop's timers and I/O: a heartbeat due is sent.
        await nextTurn()
        // The runner's reason is a retriable SHUTDOWN naming a stop or a rebalance (05fee19): nothing of the
        // batch is produced or committed, and its records go to whoever has the partition next.
        signal.throwIfAborted()
        sliceStart = elapsedMs()
      }
      outcomes[i] = scoreRecord(records[i]!)
    }
    return outcomes
  }
}

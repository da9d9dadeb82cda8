import type { TopicSpec } from '@tradepulse/contracts'
import type { TradepulseError } from '../errors.ts'
import { faultReason } from '../fault-reason.ts'
import type { HealthStatus } from '../health.ts'
import { createBatchProcessor } from '../kafka/batch-processor.ts'
import type { BatchRunner } from '../kafka/batch-runner.ts'
import { createPartitionAligner, forcedStepReporter } from '../kafka/partition-aligner.ts'
import type { InRecord } from '../kafka/records.ts'
import { RepeatedReplyError } from '../kafka/reply-breaker.ts'
import { retry } from '../retry.ts'
import { createWarnThrottle } from '../warn-throttle.ts'
import type { MemoryBus } from './memory-bus.ts'
import type { Transport } from './transport.ts'

/**
 * Workers over the in-memory bus, with the same contract as Kafka: a batch is handled, its output
 * produced, and only then its offset committed; faults retry the same batch with backoff; a stopped
 * runner leaves uncommitted records for the next one in its group.
 */
export function createMemoryTransport(bus: MemoryBus): Transport {
  return {
    kind: 'memory',
    createPublisher: () => ({ send: async (records) => bus.produce(records), close: async () => {} }),
    async ensureTopics(specs: TopicSpec[]) {
      return specs.filter((s) => bus.createTopic(s.name, s.partitions)).map((s) => s.name)
    },
    async missingTopics(names) {
      return names.filter((n) => !bus.hasTopic(n))
    },
    // Its producers and consumers share one process, and so one clock: no record is stamped by another.
    timestampTypeDrift: async () => [],
    createRunner(handler, cfg, log, metrics): BatchRunner {
      const abort = new AbortController()
      let running = false
      let loop: Promise<void> | undefined
      let state: { status: HealthStatus; detail?: string } = { status: 'ok' }
      let failedResolve: (err: TradepulseError) => void = () => {}
      const failed = new Promise<TradepulseError>((r) => {
        failedResolve = r
      })
      // A lasting fault (Redis full, down) is retried every few seconds at most: its first warning whole,
      // then a count every 30 s and when it clears, not a stack trace on every attempt.
      const retryWarnings = createWarnThrottle(log)
      const process = createBatchProcessor({
        handler,
        worker: cfg.worker,
        dlqTopic: cfg.dlqTopic,
        log,
        metrics,
        signal: abort.signal,
        produce: async (out) => bus.produce(out),
        replyFailuresMax: cfg.redisReplyFailuresMax ?? 0,
      })

      /**
       * One pass hands each topic's pending records of every partition to the handler as one batch (as a
       * Kafka fetch across partitions would), so an event-time handler sees them together; each partition
       * is committed after the batch's output is produced. With `cfg.align`, as the Kafka runner does, a
       * pass cuts the partitions' records together at one event time (see `aligned`; the rest is read
       * again on the next pass) and hands them over in event-time order across partitions: a backlog
       * whose partitions cover event time unevenly, or whose partitions' records are out of event-time
       * order, is not applied out of order beyond the grace.
       */
      async function pass(): Promise<boolean> {
        let worked = false
        for (const topic of cfg.topics) {
          if (!running) return worked
          const partitions = bus.partitions(topic)
          const share = Math.max(1, Math.floor(cfg.maxBatch / partitions))
          const read: InRecord[][] = []
          for (let p = 0; p < partitions; p++) {
            read.push(
              bus
                .read(topic, p, bus.committed(cfg.groupId, topic, p), share)
                .map((r) => ({ ...r, topic, partition: p, offset: String(r.offset) })),
            )
          }
          const records = cfg.align ? aligned(topic, read, cfg.align) : read.flat()
          if (records.length === 0) continue
          worked = true
          metrics.messagesIn.inc({ topic }, records.length)
          const result = await retry(() => process(records), {
            baseMs: cfg.retryBaseMs,
            maxMs: cfg.retryMaxMs,
            tickMs: 50,
            shouldStop: () => !running,
            onRetry: (err, attempt, delayMs) => {
              state = { status: 'degraded', detail: `${err.code}: ${faultReason(err)} (attempt ${attempt})` }
              metrics.retries.inc({ code: err.code })
              retryWarnings.warn(topic, { err, attempt, delayMs }, 'infrastructure fault; retrying the batch')
            },
          })
          retryWarnings.clear(topic)
          if (!result.ok) return worked
          state = { status: 'ok' }
          const next = new Map<number, number>()
          for (const r of records) next.set(r.partition, Number(r.offset) + 1)
          for (const [p, offset] of next) {
            bus.commit(cfg.groupId, topic, p, offset)
            metrics.lag.set({ topic, partition: String(p) }, bus.endOffset(topic, p) - offset)
          }
        }
        return worked
      }

      /** Counts a pass's forced steps (tradepulse_align_forced_total) and warns of them once a minute at most. */
      const reportForced = forcedStepReporter(
        metrics.alignForced,
        (fields, message) => log.warn(fields, message),
        'event-time alignment forced a step: nothing else would take anything, so the partitions take the least that leaves none of their records read behind; records not read yet may come late (warned of once a minute at most; tradepulse_align_forced_total counts every one)',
      )

      /**
       * The records of one pass to take now (see `pass`): the partitions' reads are cut together by a
       * fresh PartitionAligner, as the Kafka runner cuts the batches of one fetch (see
       * createPartitionAligner): each partition takes its records up to the first one newer than one
       * event time, chosen so that nothing taken is more than `aheadMs` newer than any record read and
       * left (a partition's records need not be in event-time order: one left may be older than the
       * first one left), nor than the newest read of a partition with more to read (those still to read
       * are taken to be no older). Every partition is read again from its first record left on the next
       * pass, so a partition left behind is held at its oldest record left. When no cut takes anything,
       * the aligner's release decides the forced step: the partitions take the least that leaves none of
       * their records read behind (only records not read yet may then come late).
       */
      function aligned(topic: string, read: InRecord[][], align: NonNullable<typeof cfg.align>): InRecord[] {
        // As the Kafka runner's: a worker writing per partition takes one read of several partitions a step
        // of aheadMs at a time (stepWithinFetch), the rest read again on the next pass.
        const aligner = createPartitionAligner(
          align.aheadMs,
          align.stepWithinFetch ? { stepWithinFetch: true } : {},
        )
        // Each record's event time, read once (undefined: it never holds anything back).
        const times = read.map((rs) => rs.map((r) => align.eventMs(r)))
        const tell = read.map((rs, p) => {
          const key = String(p)
          const end = bus.endOffset(topic, p)
          aligner.expect(key)
          aligner.ends(key, end, rs[0] ? Number(rs[0].offset) : end)
          if (rs.length === 0) return undefined
          let newest: number | undefined
          let oldest: number | undefined
          for (const t of times[p]!) {
            if (t === undefined || Number.isNaN(t)) continue
            if (newest === undefined || t > newest) newest = t
            if (oldest === undefined || t < oldest) oldest = t
          }
          const atEnd = Number(rs[rs.length - 1]!.offset) + 1 >= end
          const fetching = () => aligner.fetching(key, newest, atEnd, oldest, times[p])
          fetching()
          return { key, newest, atEnd, fetching }
        })
        const cuts: number[] = tell.map((t, p) => (t ? Math.min(aligner.cut(t.key), read[p]!.length) : 0))
        if (!cuts.some((n) => n > 0) && tell.some((t) => t)) {
          // Stuck: hold every partition at what it leaves (all of its read), let release force a step,
          // and cut again the partitions it resumes.
          const resumed = new Set<number>()
          for (const [p, t] of tell.entries()) {
            if (!t) continue
            aligner.fetched(t.key)
            // A cut of nothing stops at a record with an event time, the first one read.
            aligner.hold(t.key, times[p]![0]!, () => resumed.add(p), {
              times: times[p]!,
              ...(!t.atEnd && t.newest !== undefined ? { remainderMs: t.newest } : {}),
            })
          }
          aligner.release()
          if (aligner.forced() > 0)
            reportForced(
              aligner.lastForced().map((p) => `${topic}/${p}`),
              aligner.forced(),
            )
          for (const p of resumed) tell[p]!.fetching()
          for (const p of resumed) cuts[p] = Math.min(aligner.cut(tell[p]!.key), read[p]!.length)
        }
        // In event-time order across partitions, each partition's own order kept (the handler takes a
        // large batch in parts, in the order given, as one source).
        const at = (p: number, i: number) => {
          const t = times[p]![i]
          return t === undefined || Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t
        }
        const out: InRecord[] = []
        const next = read.map(() => 0)
        for (;;) {
          let best = -1
          for (let p = 0; p < read.length; p++)
            if (next[p]! < cuts[p]! && (best < 0 || at(p, next[p]!) < at(best, next[best]!))) best = p
          if (best < 0) return out
          out.push(read[best]![next[best]!++]!)
        }
      }

      return {
        async start() {
          if (running) return
          for (const t of cfg.topics)
            if (!bus.hasTopic(t)) throw new Error(`unknown topic ${t}: create it first`)
          for (const t of cfg.topics) bus.join(cfg.groupId, t)
          running = true
          loop = (async () => {
            while (running) {
              try {
                if (!(await pass())) await bus.waitForData(100)
              } catch (err) {
                // Record after record failing on the same Redis reply to one key: stop, as the Kafka runner does.
                if (err instanceof RepeatedReplyError) {
                  state = {
                    status: 'failed',
                    detail: `stopped: ${err.count} records in a row failed on the same Redis reply`,
                  }
                  log.error({ err }, err.message)
                  failedResolve(err)
                  return
                }
                // A bug in the handler's contract (not a record's fault): report it and keep the loop alive.
                state = { status: 'failed', detail: `pass failed: ${faultReason(err)}` }
                log.error({ err }, 'memory runner pass failed')
                await new Promise((r) => setTimeout(r, cfg.retryMaxMs))
              }
            }
          })()
        },
        async stop() {
          running = false
          abort.abort()
          await loop
        },
        joined: async () => {},
        failed: () => failed,
        health: async () =>
          running
            ? { status: state.status, ready: state.status === 'ok', detail: state.detail }
            : { status: 'failed', ready: false, detail: 'not running' },
      }
    },
  }
}

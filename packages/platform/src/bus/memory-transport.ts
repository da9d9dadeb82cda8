import type { TopicSpec } from '@tradepulse/contracts'
import type { HealthStatus } from '../health.ts'
import { createBatchProcessor } from '../kafka/batch-processor.ts'
import type { BatchRunner } from '../kafka/batch-runner.ts'
import type { InRecord } from '../kafka/records.ts'
import { retry } from '../retry.ts'
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
    createRunner(handler, cfg, log, metrics): BatchRunner {
      const abort = new AbortController()
      let running = false
      let loop: Promise<void> | undefined
      let state: { status: HealthStatus; detail?: string } = { status: 'ok' }
      const process = createBatchProcessor({
        handler,
        worker: cfg.worker,
        dlqTopic: cfg.dlqTopic,
        log,
        metrics,
        signal: abort.signal,
        produce: async (out) => bus.produce(out),
      })

      /**
       * One pass hands each topic's pending records of every partition to the handler as one batch (as a
       * Kafka fetch across partitions would), so an event-time handler sees them together; each partition
       * is committed after the batch's output is produced. With `cfg.align`, as the Kafka runner does, a
       * pass takes from each partition only records up to the newest one read from the partition with
       * more left that is furthest behind, plus `aheadMs` (the rest is read again on the next pass), and
       * hands them over in event-time order across partitions: a backlog whose partitions cover event
       * time unevenly is not applied out of order beyond the grace.
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
              state = { status: 'degraded', detail: `${err.code}: ${err.message} (attempt ${attempt})` }
              metrics.retries.inc({ code: err.code })
              log.warn({ err, attempt, delayMs }, 'infrastructure fault; retrying the batch')
            },
          })
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

      /** The records of one pass within `aheadMs` of the partition furthest behind (see `pass`). */
      function aligned(topic: string, read: InRecord[][], align: NonNullable<typeof cfg.align>): InRecord[] {
        // Each record's event time, read once (−∞ without one: it never holds anything back).
        const times = read.map((rs) => rs.map((r) => align.eventMs(r) ?? Number.NEGATIVE_INFINITY))
        let bound = Number.POSITIVE_INFINITY
        for (const [p, rs] of read.entries()) {
          const last = rs[rs.length - 1]
          if (!last || Number(last.offset) + 1 >= bus.endOffset(topic, p)) continue // at its end
          bound = Math.min(
            bound,
            times[p]!.reduce((a, t) => Math.max(a, t), Number.NEGATIVE_INFINITY),
          )
        }
        bound += align.aheadMs
        const ends = times.map((ts) => {
          const over = ts.findIndex((t) => t > bound)
          return over < 0 ? ts.length : over
        })
        // In event-time order across partitions, each partition's own order kept (the handler takes a
        // large batch in parts, in the order given, as one source).
        const out: InRecord[] = []
        const next = read.map(() => 0)
        for (;;) {
          let best = -1
          for (let p = 0; p < read.length; p++)
            if (next[p]! < ends[p]! && (best < 0 || times[p]![next[p]!]! < times[best]![next[best]!]!))
              best = p
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
                // A bug in the handler's contract (not a record's fault): report it and keep the loop alive.
                state = { status: 'failed', detail: (err as Error).message }
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
        failed: () => new Promise<never>(() => {}),
        health: async () =>
          running
            ? { status: state.status, ready: state.status === 'ok', detail: state.detail }
            : { status: 'failed', ready: false, detail: 'not running' },
      }
    },
  }
}

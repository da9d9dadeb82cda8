import { type AdminSource, withLeaderRetry } from '@tradepulse/platform'
import type { Admin, Kafka } from 'kafkajs'
import { createNextOffsets } from '../kafka/next-offsets.ts'
import type { DlqRecord } from './dead-letters.ts'

/** The offsets of one partition to read: from `start` up to, not including, `end`. */
export type PartitionRange = { partition: number; start: number; end: number }

/**
 * Each partition of `topic` from its first record (or the first written at or after `sinceMs`) to its end
 * as it is now: a read of these ranges ends there, whatever is written meanwhile. Asked again on a fresh
 * client while a partition has no leader (withLeaderRetry): the workers create the dlq topic as they start,
 * and kafkajs fails both reads at once on a partition without a leader yet or one whose leader moved.
 */
export async function readRanges(
  kafka: AdminSource<
    Pick<Admin, 'connect' | 'disconnect' | 'fetchTopicOffsets' | 'fetchTopicOffsetsByTimestamp'>
  >,
  topic: string,
  sinceMs?: number,
): Promise<PartitionRange[]> {
  const { ends, since } = await withLeaderRetry(kafka, async (admin) => ({
    ends: await admin.fetchTopicOffsets(topic),
    // Kafka answers the end for a time past every record's: the partition then reads nothing.
    since: sinceMs === undefined ? [] : await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs),
  }))
  return ends
    .map((e) => {
      const end = Number(e.high)
      const from = since.find((s) => s.partition === e.partition)?.offset ?? e.low
      return { partition: e.partition, start: Math.min(Number(from), end), end }
    })
    .sort((a, b) => a.partition - b.partition)
}

/**
 * Reads `ranges` of `topic` once, handing each fetched batch's records (in offset order, within the range)
 * to `onRecords`, and returns once every partition has reached its end: records written after the ranges
 * were taken are not read, so the read ends on a busy topic too. A throwaway group (nothing committed),
 * which creates no topic. It fails, rather than waiting on, at a consumer crash (Kafka gone past the
 * client's retries) and at `onRecords`'s first error, after which nothing more is handed to it: a batch
 * kafkajs would fetch again is never handled twice.
 */
export async function readTopicRanges(
  kafka: Kafka,
  topic: string,
  ranges: readonly PartitionRange[],
  groupId: string,
  onRecords: (records: DlqRecord[]) => Promise<void>,
  opts: { maxWaitTimeInMs?: number } = {},
): Promise<void> {
  const end = new Map(ranges.map((r) => [r.partition, r.end]))
  // The next offset to hand over per partition.
  const next = createNextOffsets(new Map([[topic, new Map(ranges.map((r) => [r.partition, r.start]))]]))
  const pending = new Set(ranges.filter((r) => r.start < r.end).map((r) => r.partition))
  if (pending.size === 0) return
  let finish!: (err?: unknown) => void
  let failed = false
  const finished = new Promise<void>((resolve, reject) => {
    finish = (err) => {
      if (err === undefined) resolve()
      else {
        failed = true
        reject(err)
      }
    }
  })
  const advance = (partition: number, to: number) => {
    next.advance(topic, partition, to)
    if (next.of(topic, partition) >= (end.get(partition) ?? 0)) pending.delete(partition)
    if (pending.size === 0) finish()
  }
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: opts.maxWaitTimeInMs ?? 100,
    allowAutoTopicCreation: false,
  })
  // Also after a batch of control records or aborted ones only, which eachBatch is not given: its last
  // offset moves the partition on all the same.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic === topic && !failed) advance(payload.partition, Number(payload.lastOffset) + 1)
  })
  consumer.on(consumer.events.CRASH, ({ payload }) => finish(payload.error))
  // Only the partitions not read to their end yet: the others have nothing more to hand over.
  next.seekAtEachJoin(consumer, (_topic, partition) => pending.has(partition))
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        if (failed) return
        const p = batch.partition
        const to = end.get(p) ?? 0
        const records: DlqRecord[] = []
        for (const m of batch.messages) {
          const offset = Number(m.offset)
          if (!next.takes(topic, p, offset) || offset >= to) continue
          records.push({
            partition: p,
            offset: m.offset,
            timestamp: Number(m.timestamp),
            key: m.key ?? null,
            value: m.value ?? null,
            ...(m.headers ? { headers: m.headers } : {}),
          })
        }
        try {
          if (records.length > 0) await onRecords(records)
        } catch (err) {
          // Not thrown to kafkajs, which would fetch the batch again and hand it over a second time.
          finish(err)
          return
        }
        advance(p, Number(batch.lastOffset()) + 1)
        await heartbeat()
      },
    })
    await finished
  } finally {
    await consumer.disconnect().catch(() => {})
  }
}

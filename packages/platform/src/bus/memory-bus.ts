import type { OutRecord } from '../kafka/records.ts'

export type StoredRecord = {
  offset: number
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, string>
  timestamp: number
}

/** FNV-1a of the key bytes: the same key always lands on the same partition, so order per key holds. */
function partitionFor(key: string | null, partitions: number, counter: () => number): number {
  if (key === null) return counter() % partitions
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % partitions
}

/**
 * An in-process log with Kafka's guarantees that the workers rely on: topics of partitions, order per
 * key, offsets, committed offsets per consumer group, and waiting for new records. It keeps everything
 * it is given (bounded by `maxRecordsPerPartition`: older records are dropped from the front, as
 * retention would) and is meant for one process: the embedded default and tests.
 */
export function createMemoryBus(opts: { maxRecordsPerPartition?: number } = {}) {
  const maxRecords = opts.maxRecordsPerPartition ?? 1_000_000
  const topics = new Map<string, { partitions: StoredRecord[][]; base: number[] }>()
  const committed = new Map<string, number>()
  let roundRobin = 0
  let waiters: (() => void)[] = []

  // Waiters learn of new records and of commits (so "has everyone caught up?" needs no polling).
  function wake(): void {
    const list = waiters
    waiters = []
    for (const w of list) w()
  }

  function topic(name: string) {
    const t = topics.get(name)
    if (!t) throw new Error(`unknown topic ${name}: create it first`)
    return t
  }

  return {
    createTopic(name: string, partitions: number): boolean {
      if (topics.has(name)) return false
      topics.set(name, {
        partitions: Array.from({ length: partitions }, () => []),
        base: new Array(partitions).fill(0),
      })
      return true
    },
    hasTopic: (name: string) => topics.has(name),
    partitions: (name: string) => topic(name).partitions.length,
    /** Appends records; once it returns they are "acknowledged". */
    produce(records: OutRecord[]): void {
      const now = Date.now()
      for (const r of records) {
        const t = topic(r.topic)
        const p = partitionFor(r.key, t.partitions.length, () => roundRobin++)
        const log = t.partitions[p]!
        log.push({
          offset: t.base[p]! + log.length,
          key: r.key === null ? null : Buffer.from(r.key),
          value: typeof r.value === 'string' ? Buffer.from(r.value) : r.value,
          headers: r.headers ?? {},
          timestamp: r.timestamp ?? now,
        })
        if (log.length > maxRecords) {
          log.shift()
          t.base[p]!++
        }
      }
      wake()
    },
    /** Up to `max` records of one partition from `offset` on. */
    read(name: string, partition: number, offset: number, max: number): StoredRecord[] {
      const t = topic(name)
      const log = t.partitions[partition]!
      const from = Math.max(0, offset - t.base[partition]!)
      return log.slice(from, from + max)
    },
    endOffset(name: string, partition: number): number {
      const t = topic(name)
      return t.base[partition]! + t.partitions[partition]!.length
    },
    committed(group: string, name: string, partition: number): number {
      return committed.get(`${group}\u0000${name}\u0000${partition}`) ?? 0
    },
    commit(group: string, name: string, partition: number, nextOffset: number): void {
      committed.set(`${group}\u0000${name}\u0000${partition}`, nextOffset)
      wake()
    },
    /** Resolves at the next produce or commit, or after `timeoutMs`. */
    waitForData(timeoutMs: number): Promise<void> {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== done)
          resolve()
        }, timeoutMs)
        const done = () => {
          clearTimeout(timer)
          resolve()
        }
        waiters.push(done)
      })
    },
  }
}
export type MemoryBus = ReturnType<typeof createMemoryBus>

import { headersToStrings, type OutRecord } from '../kafka/records.ts'

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

/** Records dropped from the front of a partition at once, so that trimming is not a shift per record. */
const TRIM_CHUNK = 1_024

export type MemoryBusOptions = {
  /**
   * Most records a partition holds (1,000,000); older ones are dropped from the front, as retention
   * would, a few at a time (up to an eighth more, at most TRIM_CHUNK, may be held in between).
   */
  maxRecordsPerPartition?: number
  /**
   * When set, records every consumer group that joined the topic (or committed on it) has committed past
   * are dropped too, but for the last `keepConsumed` of them (in chunks of TRIM_CHUNK): a long run then
   * holds what is not consumed yet, not everything ever produced. A group that joins later finds them
   * gone, as after Kafka's retention.
   */
  keepConsumed?: number
}

/**
 * An in-process log with Kafka's guarantees that the workers rely on: topics of partitions, order per
 * key, offsets, committed offsets per consumer group, and waiting for new records. It keeps what it is
 * given within the bounds of MemoryBusOptions and is meant for one process: the embedded default and
 * tests.
 */
export function createMemoryBus(opts: MemoryBusOptions = {}) {
  const maxRecords = opts.maxRecordsPerPartition ?? 1_000_000
  const slack = Math.min(TRIM_CHUNK, Math.ceil(maxRecords / 8))
  const topics = new Map<string, { partitions: StoredRecord[][]; base: number[] }>()
  const committed = new Map<string, number>()
  /** Per `topic\0partition`: the groups reading it (keepConsumed), whose offsets are in `committed`. */
  const readers = new Map<string, Set<string>>()
  const readersOf = (key: string) => {
    const set = readers.get(key) ?? new Set<string>()
    readers.set(key, set)
    return set
  }
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

  function dropFront(t: { partitions: StoredRecord[][]; base: number[] }, p: number, n: number): void {
    t.partitions[p]!.splice(0, n)
    t.base[p]! += n
  }

  /** keepConsumed: drops what every group committed on the partition is past, but for the last few. */
  function trimConsumed(name: string, partition: number, keep: number): void {
    const key = `${name}\u0000${partition}`
    let min = Number.POSITIVE_INFINITY
    for (const group of readers.get(key) ?? [])
      min = Math.min(min, committed.get(`${group}\u0000${key}`) ?? 0)
    const t = topic(name)
    const n = Math.min(min - keep - t.base[partition]!, t.partitions[partition]!.length)
    if (n >= TRIM_CHUNK) dropFront(t, partition, n)
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
          headers: headersToStrings(r.headers),
          timestamp: r.timestamp ?? now,
        })
        if (log.length >= maxRecords + slack) dropFront(t, p, log.length - maxRecords)
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
    /**
     * A consumer group starts reading the topic: with keepConsumed, nothing it has not committed past is
     * dropped from now on, even before its first commit.
     */
    join(group: string, name: string): void {
      if (opts.keepConsumed === undefined) return
      for (let p = 0; p < topic(name).partitions.length; p++) readersOf(`${name}\u0000${p}`).add(group)
    },
    committed(group: string, name: string, partition: number): number {
      return committed.get(`${group}\u0000${name}\u0000${partition}`) ?? 0
    },
    commit(group: string, name: string, partition: number, nextOffset: number): void {
      committed.set(`${group}\u0000${name}\u0000${partition}`, nextOffset)
      if (opts.keepConsumed !== undefined) {
        readersOf(`${name}\u0000${partition}`).add(group)
        trimConsumed(name, partition, opts.keepConsumed)
      }
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

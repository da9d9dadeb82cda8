import type { Admin } from 'kafkajs'

/** What a member learns of its topics at an assignment (see readPartitionEnds). */
export type PartitionEnds = {
  /** Each assigned partition, `topic/partition`: its end (high watermark) and the group's position in it. */
  assigned: { key: string; high: number; position: number }[]
  /** The partitions of other members that still have records for the group (position before the end). */
  behind: Set<string>
}

/**
 * One offsets request per topic: every partition's end and the group's committed position in it (with
 * none committed, where the group starts: the end, or the beginning when `fromBeginning`). Throws what
 * the admin throws; the caller retries.
 */
export async function readPartitionEnds(
  admin: Pick<Admin, 'fetchTopicOffsets' | 'fetchOffsets'>,
  q: {
    groupId: string
    topics: readonly string[]
    fromBeginning: boolean
    assigned: Record<string, number[]>
  },
): Promise<PartitionEnds> {
  const out: PartitionEnds = { assigned: [], behind: new Set() }
  for (const topic of q.topics) {
    const ends = await admin.fetchTopicOffsets(topic)
    const [committed] = await admin.fetchOffsets({ groupId: q.groupId, topics: [topic] })
    for (const end of ends) {
      const p = end.partition
      const at = committed?.partitions.find((o) => o.partition === p)?.offset
      const high = Number(end.high)
      const position =
        at !== undefined && Number(at) >= 0 ? Number(at) : q.fromBeginning ? Number(end.low) : high
      const key = `${topic}/${p}`
      if (q.assigned[topic]?.includes(p)) out.assigned.push({ key, high, position })
      else if (position < high) out.behind.add(key)
    }
  }
  return out
}

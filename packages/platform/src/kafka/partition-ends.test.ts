import type { Admin } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { readPartitionEnds } from './partition-ends.ts'

type Ends = Record<string, { partition: number; low: number; high: number }[]>
type Committed = Record<string, Record<number, number>>

/** An admin answering from tables: each topic's partitions (low, high), and the group's offsets (-1: none). */
function fakeAdmin(ends: Ends, committed: Committed): Pick<Admin, 'fetchTopicOffsets' | 'fetchOffsets'> {
  return {
    fetchTopicOffsets: async (topic: string) =>
      (ends[topic] ?? []).map((e) => ({
        partition: e.partition,
        low: String(e.low),
        high: String(e.high),
        offset: String(e.high),
      })),
    fetchOffsets: (async ({ topics }: { topics: string[] }) =>
      topics.map((topic) => ({
        topic,
        partitions: (ends[topic] ?? []).map((e) => ({
          partition: e.partition,
          offset: String(committed[topic]?.[e.partition] ?? -1),
          metadata: null,
        })),
      }))) as unknown as Admin['fetchOffsets'],
  }
}

describe('readPartitionEnds', () => {
  const ends: Ends = {
    t: [
      { partition: 0, low: 0, high: 100 },
      { partition: 1, low: 20, high: 50 },
      { partition: 2, low: 0, high: 70 },
      { partition: 3, low: 0, high: 30 },
    ],
  }

  it("gives each assigned partition its end and the group's committed position in it", async () => {
    const got = await readPartitionEnds(fakeAdmin(ends, { t: { 0: 40, 1: 50 } }), {
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      assigned: { t: [0, 1, 2] },
    })
    expect(got.assigned).toEqual([
      { key: 't/0', high: 100, position: 40 },
      { key: 't/1', high: 50, position: 50 },
      { key: 't/2', high: 70, position: 0 }, // nothing committed: from the beginning
    ])
  })

  it('starts a partition with nothing committed at its end when not reading from the beginning', async () => {
    const got = await readPartitionEnds(fakeAdmin(ends, {}), {
      groupId: 'g',
      topics: ['t'],
      fromBeginning: false,
      assigned: { t: [1] },
    })
    expect(got.assigned).toEqual([{ key: 't/1', high: 50, position: 50 }])
    expect(got.behind).toEqual(new Set()) // the others start at their ends too
  })

  it("names the other members' partitions that still have records for the group", async () => {
    const got = await readPartitionEnds(fakeAdmin(ends, { t: { 2: 70, 3: 10 } }), {
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      assigned: { t: [0] },
    })
    // 1 starts at its low (20 < 50); 2 is done; 3 has records from 10.
    expect(got.behind).toEqual(new Set(['t/1', 't/3']))
  })

  it('throws what the admin throws (the caller retries)', async () => {
    const admin = {
      ...fakeAdmin(ends, {}),
      fetchTopicOffsets: async () => {
        throw new Error('broker unreachable')
      },
    }
    await expect(
      readPartitionEnds(admin, { groupId: 'g', topics: ['t'], fromBeginning: true, assigned: { t: [0] } }),
    ).rejects.toThrow('broker unreachable')
  })
})

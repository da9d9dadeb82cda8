import { AssignerProtocol, type Cluster, type Logger, PartitionAssigners } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { type OtherTopics, otherTopicsOf, reportingAssigner } from './group-assigner.ts'

const member = (memberId: string, topics: string[]) => ({
  memberId,
  memberMetadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
})

/** A cluster that knows `partitions` partitions of every topic: all the round-robin assigner asks of it. */
const config = (partitions: number) => ({
  groupId: 'g',
  logger: {} as Logger,
  cluster: {
    findTopicPartitionMetadata: () =>
      Array.from({ length: partitions }, (_, partitionId) => ({ partitionId })),
  } as unknown as Cluster,
})

describe('otherTopicsOf', () => {
  it('is empty when every member reads the leader topics, in whatever order', () => {
    const members = [member('a', ['raw', 'x']), member('b', ['x', 'raw']), member('c', ['raw', 'x', 'x'])]
    expect(otherTopicsOf(members, ['raw', 'x'])).toEqual([])
  })

  it('groups the members reading other topics (fewer, more or different ones) by their topics', () => {
    const members = [
      member('leader', ['raw']),
      member('scorer-1', ['headlines']),
      member('both', ['raw', 'headlines']),
      member('scorer-2', ['headlines']),
    ]
    expect(otherTopicsOf(members, ['raw'])).toEqual([
      { topics: ['headlines'], memberIds: ['scorer-1', 'scorer-2'] },
      { topics: ['headlines', 'raw'], memberIds: ['both'] },
    ])
  })

  it('leaves out a member whose metadata does not decode', () => {
    const members = [member('leader', ['raw']), { memberId: 'odd', memberMetadata: Buffer.from([0]) }]
    expect(otherTopicsOf(members, ['raw'])).toEqual([])
  })
})

describe('reportingAssigner', () => {
  it("is kafkajs's round-robin assigner (name, version, protocol, assignment) that tells the members reading other topics", async () => {
    const seen: OtherTopics[][] = []
    const ours = reportingAssigner((others) => seen.push(others))(config(5))
    const theirs = PartitionAssigners.roundRobin(config(5))
    expect([ours.name, ours.version]).toEqual([theirs.name, theirs.version])
    expect(ours.protocol({ topics: ['raw'] })).toEqual(theirs.protocol({ topics: ['raw'] }))

    const group = { members: [member('m-1', ['raw']), member('m-2', ['headlines'])], topics: ['raw'] }
    expect(await ours.assign(group)).toEqual(await theirs.assign(group))
    const alike = { members: [member('m-1', ['raw']), member('m-2', ['raw'])], topics: ['raw'] }
    expect(await ours.assign(alike)).toEqual(await theirs.assign(alike))
    expect(seen).toEqual([[{ topics: ['headlines'], memberIds: ['m-2'] }], []])
  })
})

import { AssignerProtocol, type GroupMember, type PartitionAssigner, PartitionAssigners } from 'kafkajs'

/** Members of a consumer group that subscribe to one set of topics other than the leader's. */
export type OtherTopics = { topics: string[]; memberIds: string[] }

/**
 * The members whose subscription (the topics in their join's metadata) differs from `topics`, the
 * leader's, grouped by their topics (sorted). A member whose metadata does not decode is left out: this
 * only reports, and must never stand in the way of an assignment.
 */
export function otherTopicsOf(members: GroupMember[], topics: string[]): OtherTopics[] {
  const own = [...new Set(topics)].sort().join('\n')
  const others = new Map<string, OtherTopics>()
  for (const { memberId, memberMetadata } of members) {
    let theirs: string[]
    try {
      theirs = [...new Set(AssignerProtocol.MemberMetadata.decode(memberMetadata)?.topics ?? [])].sort()
    } catch {
      continue
    }
    const key = theirs.join('\n')
    if (key === own) continue
    const entry = others.get(key) ?? { topics: theirs, memberIds: [] }
    entry.memberIds.push(memberId)
    others.set(key, entry)
  }
  return [...others.values()]
}

/**
 * kafkajs's round-robin assigner, its name, protocol and assignment unchanged (a member of a build
 * without it still joins the same group alongside), that tells `onAssign` at each assignment, which only
 * the group's leader makes, the members subscribing to other topics than the leader's. kafkajs's leader
 * spreads the partitions of its own topics over every member whatever each reads: a member drops those
 * of a topic it does not read, and the topics only the others read go to no one. The members are told
 * of it by kafkajs (received-unsubscribed-topics); the leader, by nothing but this.
 */
export function reportingAssigner(onAssign: (others: OtherTopics[]) => void): PartitionAssigner {
  return (config) => {
    const roundRobin = PartitionAssigners.roundRobin(config)
    return {
      name: roundRobin.name,
      version: roundRobin.version,
      protocol: (subscription) => roundRobin.protocol(subscription),
      async assign(group) {
        const assignment = await roundRobin.assign(group)
        onAssign(otherTopicsOf(group.members, group.topics))
        return assignment
      },
    }
  }
}

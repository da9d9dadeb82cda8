import { describe, expect, it } from 'vitest'
import { createCapturingLogger, type LogLine } from '../logger.ts'
import { probeRunner, quietKafka, randomName, testCleanups, until, waitFor } from './int-test-support.ts'
import { createTopicsWithLeaders } from './kafka-client.ts'
import type { BatchHandler } from './records.ts'

describe('batch runner in a consumer group another kind of worker shares', () => {
  const { cleanups, connected } = testCleanups()

  it('reports it (an error naming the group and the topics, health degraded, not ready) until it has the group to itself', async () => {
    // KAFKA_GROUP_ID in an env file two services share: an ingest and a scorer in one group. kafkajs's
    // leader (the first to join) spread its own topic's partitions over both; the scorer dropped those it
    // was given with a warning only, and its own topic went to no one: it stayed ok and ready throughout.
    const name = randomName('shared-group')
    const admin = await connected(quietKafka(`${name}-admin`).admin())
    const [rawTopic, headlinesTopic] = [`${name}.raw`, `${name}.headlines`]
    await createTopicsWithLeaders(admin, [
      { topic: rawTopic, numPartitions: 3, replicationFactor: 1 },
      { topic: headlinesTopic, numPartitions: 3, replicationFactor: 1 },
    ])
    cleanups.push(() => admin.deleteTopics({ topics: [rawTopic, headlinesTopic] }))
    const groupId = randomName('shared-group')
    const ok: BatchHandler = async (records) => records.map(() => ({ kind: 'ok' as const }))

    const ingest = probeRunner(quietKafka(`${name}-ingest`), rawTopic, groupId, ok, cleanups, {
      over: { worker: 'ingest' },
    })
    await ingest.start()
    await ingest.joined()

    const { log, lines } = createCapturingLogger()
    const scorerKafka = quietKafka(`${name}-scorer`)
    const scored: string[] = []
    const scoring: BatchHandler = async (records) => {
      scored.push(...records.map((r) => r.value!.toString()))
      return records.map(() => ({ kind: 'ok' as const }))
    }
    const scorer = probeRunner(scorerKafka, headlinesTopic, groupId, scoring, cleanups, {
      log,
      over: { worker: 'scorer' },
    })
    const producer = await connected(scorerKafka.producer())
    await producer.send({
      topic: headlinesTopic,
      messages: [0, 1, 2].map((partition) => ({ partition, value: `h${partition}` })),
    })
    await scorer.start()
    await scorer.joined()

    const reported = await waitFor(
      () => lines.find((l) => l.level === 50 && (l as LogLine & { groupId?: string }).groupId === groupId),
      'the shared group reported',
    )
    expect(reported).toMatchObject({ foreignTopics: [rawTopic], topics: [headlinesTopic] })
    expect(reported.msg).toContain(`another kind of worker shares consumer group ${groupId}: `)
    expect(reported.msg).toContain(`partitions of ${rawTopic}, which it does not read`)
    expect(await scorer.health()).toEqual({
      status: 'degraded',
      ready: false,
      detail:
        'another kind of worker shares the consumer group (KAFKA_GROUP_ID): given partitions of 1 topic(s) this worker does not read, which no one reads',
    })
    expect(scored).toEqual([])

    // The ingest gone, the scorer has the group, and its own topic, to itself.
    await ingest.stop()
    await waitFor(() => (scored.length === 3 ? true : undefined), "the scorer's own topic read")
    expect(scored.sort()).toEqual(['h0', 'h1', 'h2'])
    await until(async () => (await scorer.health()).status === 'ok', 'the scorer ok again')
    expect(await scorer.health()).toEqual({ status: 'ok', ready: true })
  })

  it("reports it on the group's leader too (an error naming the members' topics, health degraded, not ready) until the others are gone", async () => {
    // The leader assigns the partitions of its own topics only, over every member: it stayed ok and ready
    // while those it gave the scorer went unread (the scorer drops them) and the scorer's topic went to no one.
    const name = randomName('shared-leader')
    const admin = await connected(quietKafka(`${name}-admin`).admin())
    const [rawTopic, headlinesTopic] = [`${name}.raw`, `${name}.headlines`]
    await createTopicsWithLeaders(admin, [
      { topic: rawTopic, numPartitions: 4, replicationFactor: 1 },
      { topic: headlinesTopic, numPartitions: 2, replicationFactor: 1 },
    ])
    cleanups.push(() => admin.deleteTopics({ topics: [rawTopic, headlinesTopic] }))
    const groupId = randomName('shared-leader')
    const ok: BatchHandler = async (records) => records.map(() => ({ kind: 'ok' as const }))
    const runnerOf = (worker: string, topic: string) => {
      const { log, lines } = createCapturingLogger()
      const runner = probeRunner(quietKafka(`${name}-${worker}`), topic, groupId, ok, cleanups, {
        log,
        over: { worker },
      })
      return { runner, lines }
    }
    const reportOf = (lines: LogLine[]) =>
      lines.find((l) => l.level === 50 && (l as LogLine & { groupId?: string }).groupId === groupId) as
        | (LogLine & Record<string, unknown>)
        | undefined

    // The first to join leads the group.
    const ingest = runnerOf('ingest', rawTopic)
    await ingest.runner.start()
    await ingest.runner.joined()
    const scorer = runnerOf('scorer', headlinesTopic)
    await scorer.runner.start()
    await scorer.runner.joined()

    await waitFor(() => reportOf(scorer.lines), "the scorer's report")
    const reported = await waitFor(() => reportOf(ingest.lines), "the leader's report")
    expect(reported).toMatchObject({
      groupId,
      topics: [rawTopic],
      otherTopics: [
        { topics: [headlinesTopic], memberIds: [expect.stringMatching(new RegExp(`^${name}-scorer-`))] },
      ],
    })
    expect(reported.msg).toContain(
      `another kind of worker shares consumer group ${groupId}: this ingest, the group's leader, reads ${rawTopic}; 1 other member(s) read ${headlinesTopic}`,
    )
    expect(reported.msg).toContain(
      'give each kind of worker a group of its own (KAFKA_GROUP_ID unset, or one per worker)',
    )
    const leaderDetail =
      "another kind of worker shares the consumer group (KAFKA_GROUP_ID): this worker, the group's leader, assigns its own topics' partitions only, over 1 member(s) reading other topics too: those a member does not read, and the topics only the others read, go unread"
    expect(await ingest.runner.health()).toEqual({ status: 'degraded', ready: false, detail: leaderDetail })
    expect(await scorer.runner.health()).toMatchObject({ status: 'degraded', ready: false })

    // The scorer gone, the ingest has the group to itself: ok again.
    await scorer.runner.stop()
    await until(async () => (await ingest.runner.health()).status === 'ok', 'the leader ok again')
    expect(await ingest.runner.health()).toEqual({ status: 'ok', ready: true })
  })
})

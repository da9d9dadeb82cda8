import { KafkaJSProtocolError } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { askFreshAdmins, topicEnds } from './topic-ends.ts'

/** kafkajs's error for a broker's answer of `type`, as fetchTopicOffsets throws it. */
const protocol = (type: string) =>
  new KafkaJSProtocolError(Object.assign(new Error(`broker said ${type}`), { type }))

/**
 * A Kafka with topics a (partitions 0 and 1) and b, whose fetchTopicOffsets fails with `failures` in turn
 * first; counts the clients made and the ones left connected, and keeps each client's state (`admins`).
 */
function fakeKafka(failures: Error[]) {
  const made = { clients: 0, connected: 0, fetches: 0 }
  const admins: { connected: boolean }[] = []
  const ends: Record<string, number[]> = { a: [5, 7], b: [0] }
  return {
    made,
    admins,
    admin() {
      made.clients++
      const state = { connected: false }
      admins.push(state)
      return {
        state,
        connect: async () => {
          made.connected++
          state.connected = true
        },
        disconnect: async () => {
          if (state.connected) made.connected--
          state.connected = false
        },
        listTopics: async () => Object.keys(ends),
        fetchTopicOffsets: async (topic: string) => {
          made.fetches++
          const failure = failures.shift()
          if (failure) throw failure
          return ends[topic]!.map((high, partition) => ({
            partition,
            offset: String(high),
            high: String(high),
            low: '0',
          }))
        },
      }
    },
  }
}

describe('topicEnds', () => {
  it('asks again, on a fresh client, while a partition of a topic just created has no leader ready', async () => {
    // kafkajs's fetchTopicOffsets gives up at once on NOT_LEADER_FOR_PARTITION: `start --workers ingest`
    // on a new TRADEPULSE_TOPIC_PREFIX, the topics created by ingest a moment before, exited 69 with
    // "This server is not the leader for that topic-partition" (5 runs in 5 on a loaded machine).
    const kafka = fakeKafka([protocol('NOT_LEADER_FOR_PARTITION'), protocol('LEADER_NOT_AVAILABLE')])
    const ends = await topicEnds(kafka, ['a', 'b', 'gone'], { waitMs: 0 })
    expect(ends).toEqual(
      new Map([
        [
          'a',
          new Map([
            [0, 5],
            [1, 7],
          ]),
        ],
        ['b', new Map([[0, 0]])],
      ]),
    )
    expect(kafka.made).toEqual({ clients: 3, connected: 0, fetches: 4 })
  })

  it('throws any other failure at once, and the last one once its attempts are spent', async () => {
    const refused = protocol('TOPIC_AUTHORIZATION_FAILED')
    const other = fakeKafka([refused])
    await expect(topicEnds(other, ['a'], { waitMs: 0 })).rejects.toBe(refused)
    expect(other.made).toEqual({ clients: 1, connected: 0, fetches: 1 })
    const last = protocol('NOT_LEADER_FOR_PARTITION')
    const leaderless = fakeKafka([
      protocol('NOT_LEADER_FOR_PARTITION'),
      protocol('NOT_LEADER_FOR_PARTITION'),
      last,
    ])
    await expect(topicEnds(leaderless, ['a'], { attempts: 3, waitMs: 0 })).rejects.toBe(last)
    expect(leaderless.made).toEqual({ clients: 3, connected: 0, fetches: 3 })
  })
})

describe('askFreshAdmins', () => {
  const ask = (admin: { fetchTopicOffsets(topic: string): Promise<unknown> }) => admin.fetchTopicOffsets('a')

  it('keeps the last admin connected, the one that answered, each before it disconnected as the next was made', async () => {
    const kafka = fakeKafka([new Error('broker unreachable'), new Error('broker unreachable')])
    const named: object[] = []
    const retried: [string, number, number][] = []
    const got = await askFreshAdmins(kafka, ask, {
      attempts: Number.POSITIVE_INFINITY,
      waitMs: (attempt) => attempt - 1,
      retriable: () => true,
      onRetry: (err, attempt, waitMs) => retried.push([(err as Error).message, attempt, waitMs]),
      onAdmin: (admin) => named.push(admin.state),
      keep: true,
    })
    expect(got).toMatchObject({ ok: true, attempts: 3 })
    expect(retried).toEqual([
      ['broker unreachable', 1, 0],
      ['broker unreachable', 2, 1],
    ])
    expect(named).toEqual(kafka.admins)
    expect(kafka.admins.map((a) => a.connected)).toEqual([false, false, true])
  })

  it('throws a failure it is not to ask again at once, on the first admin, left connected when kept', async () => {
    const refused = new Error('not authorized')
    const kafka = fakeKafka([refused])
    const retried: unknown[] = []
    await expect(
      askFreshAdmins(kafka, ask, {
        retriable: (err) => err !== refused,
        onRetry: (err) => retried.push(err),
        keep: true,
      }),
    ).rejects.toBe(refused)
    expect(retried).toEqual([])
    expect(kafka.made).toMatchObject({ clients: 1, fetches: 1 })
    expect(kafka.admins.map((a) => a.connected)).toEqual([true])
  })

  it('stops when shouldStop says so: before the first attempt, and during a wait without asking again', async () => {
    const idle = fakeKafka([])
    expect(await askFreshAdmins(idle, ask, { shouldStop: () => true })).toEqual({
      ok: false,
      stopped: true,
      attempts: 0,
    })
    expect(idle.made.clients).toBe(0)

    // The stop comes during the wait after the first failure: the test's timeout ends it first if not.
    let stopping = false
    const kafka = fakeKafka([new Error('broker unreachable'), new Error('broker unreachable')])
    const got = await askFreshAdmins(kafka, ask, {
      attempts: Number.POSITIVE_INFINITY,
      waitMs: 3_600_000,
      retriable: () => true,
      shouldStop: () => stopping,
      onRetry: () => {
        stopping = true
      },
      keep: true,
    })
    expect(got).toEqual({ ok: false, stopped: true, attempts: 1 })
    expect(kafka.made).toMatchObject({ clients: 1, fetches: 1 })
    // The last admin, kept: the caller's to go on with and disconnect.
    expect(kafka.admins.map((a) => a.connected)).toEqual([true])
  })

  it('without keep disconnects every admin, the one that answered too', async () => {
    const kafka = fakeKafka([new Error('broker unreachable')])
    const got = await askFreshAdmins(kafka, ask, { retriable: () => true, waitMs: 0 })
    expect(got).toMatchObject({ ok: true, attempts: 2 })
    expect(kafka.admins.map((a) => a.connected)).toEqual([false, false])
  })
})

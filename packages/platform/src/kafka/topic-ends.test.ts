import { KafkaJSProtocolError } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { topicEnds } from './topic-ends.ts'

/** kafkajs's error for a broker's answer of `type`, as fetchTopicOffsets throws it. */
const protocol = (type: string) =>
  new KafkaJSProtocolError(Object.assign(new Error(`broker said ${type}`), { type }))

/**
 * A Kafka with topics a (partitions 0 and 1) and b, whose fetchTopicOffsets fails with `failures` in turn
 * first; counts the clients made and the ones left connected.
 */
function fakeKafka(failures: Error[]) {
  const made = { clients: 0, connected: 0, fetches: 0 }
  const ends: Record<string, number[]> = { a: [5, 7], b: [0] }
  return {
    made,
    admin() {
      made.clients++
      return {
        connect: async () => void made.connected++,
        disconnect: async () => void made.connected--,
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

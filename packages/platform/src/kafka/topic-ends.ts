import type { Admin } from 'kafkajs'
import { kafkaErrorType } from './kafka-client.ts'

/**
 * A partition whose leader is not ready yet: a topic just created (ingest creates the run's topics as it
 * starts) on a loaded broker, or a leader moving to another broker. kafkajs's fetchTopicOffsets and
 * fetchTopicOffsetsByTimestamp retry only UNKNOWN_TOPIC_OR_PARTITION and give up on the others at once,
 * and the client keeps the metadata naming the old leader until it expires (5 min): asked again, it asks
 * the same broker.
 */
const NO_LEADER_YET: ReadonlySet<string> = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
])

export type LeaderRetryOptions = { attempts?: number; waitMs?: number }

/** What withLeaderRetry uses of a client: a fresh admin for each attempt. */
export type AdminSource<A> = { admin(): A }

/**
 * `ask` of a fresh admin, connected, asked again on another fresh one (its metadata fresh too) while a
 * partition has no leader ready: at most `attempts` times, `waitMs` apart (10 s in all by default). Any
 * other failure is thrown at once, and the last one once the attempts are spent. Every admin is
 * disconnected.
 */
export async function withLeaderRetry<A extends Pick<Admin, 'connect' | 'disconnect'>, T>(
  kafka: AdminSource<A>,
  ask: (admin: A) => Promise<T>,
  { attempts = 40, waitMs = 250 }: LeaderRetryOptions = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const admin = kafka.admin()
    try {
      await admin.connect()
      return await ask(admin)
    } catch (err) {
      if (attempt >= attempts || !kafkaErrorType(err, NO_LEADER_YET)) throw err
    } finally {
      await admin.disconnect().catch(() => {})
    }
    await new Promise((resolve) => setTimeout(resolve, waitMs))
  }
}

/**
 * The next offset of each partition of each of `topics` Kafka has (a topic it does not have is left out),
 * read with withLeaderRetry.
 */
export async function topicEnds(
  kafka: AdminSource<Pick<Admin, 'connect' | 'disconnect' | 'listTopics' | 'fetchTopicOffsets'>>,
  topics: readonly string[],
  options: LeaderRetryOptions = {},
): Promise<Map<string, Map<number, number>>> {
  return withLeaderRetry(
    kafka,
    async (admin) => {
      const existing = new Set(await admin.listTopics())
      const ends = new Map<string, Map<number, number>>()
      for (const topic of topics.filter((t) => existing.has(t)))
        ends.set(
          topic,
          new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)])),
        )
      return ends
    },
    options,
  )
}

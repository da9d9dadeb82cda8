import { kafkaErrorType } from '@tradepulse/platform'
import type { Admin } from 'kafkajs'

/**
 * A partition whose leader is not ready yet: a topic just created (ingest creates the run's topics as it
 * starts) on a loaded broker. kafkajs's fetchTopicOffsets retries only UNKNOWN_TOPIC_OR_PARTITION and
 * gives up on the others at once.
 */
const NO_LEADER_YET: ReadonlySet<string> = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
])

type Options = { attempts?: number; waitMs?: number }

/**
 * The next offset of each partition of each of `topics` Kafka has (a topic it does not have is left out),
 * asked again, on a fresh client (its metadata fresh too), while a partition has no leader ready: at most
 * `attempts` times, `waitMs` apart (10 s in all by default). Any other failure is thrown at once.
 */
export async function topicEnds(
  kafka: { admin(): Pick<Admin, 'connect' | 'disconnect' | 'listTopics' | 'fetchTopicOffsets'> },
  topics: readonly string[],
  { attempts = 40, waitMs = 250 }: Options = {},
): Promise<Map<string, Map<number, number>>> {
  for (let attempt = 1; ; attempt++) {
    const admin = kafka.admin()
    try {
      await admin.connect()
      const existing = new Set(await admin.listTopics())
      const ends = new Map<string, Map<number, number>>()
      for (const topic of topics.filter((t) => existing.has(t)))
        ends.set(
          topic,
          new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)])),
        )
      return ends
    } catch (err) {
      if (attempt >= attempts || !kafkaErrorType(err, NO_LEADER_YET)) throw err
    } finally {
      await admin.disconnect().catch(() => {})
    }
    await new Promise((resolve) => setTimeout(resolve, waitMs))
  }
}

import { type BaseConfig, TradepulseError } from '@tradepulse/platform'
import type { Kafka } from 'kafkajs'

/** The topics Kafka has, read by an admin client connected for it (its connection fails as the command's). */
export async function listTopics(kafka: Kafka): Promise<string[]> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return await admin.listTopics()
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

/**
 * Refuses a catalogue topic Kafka does not have, naming it and TRADEPULSE_TOPIC_PREFIX (exit 78), as
 * `dlq` does: a mistyped prefix names topics nobody writes to. Subscribing came back with Kafka's "This
 * server does not host this topic-partition" as exit 69 (retry, to a supervisor) with a hint to run
 * `tradepulse topics create`, which made a second catalogue under the typo.
 */
export async function requireTopic(
  kafka: Kafka,
  config: Pick<BaseConfig, 'KAFKA_BROKERS' | 'TRADEPULSE_TOPIC_PREFIX'>,
  command: string,
  topic: string,
): Promise<void> {
  if ((await listTopics(kafka)).includes(topic)) return
  throw missingTopic(config, command, topic)
}

/** The refusal of a catalogue topic Kafka does not have (see requireTopic), for commands that list topics themselves. */
export function missingTopic(
  config: Pick<BaseConfig, 'KAFKA_BROKERS' | 'TRADEPULSE_TOPIC_PREFIX'>,
  command: string,
  topic: string,
): TradepulseError {
  return new TradepulseError(
    'CONFIG_INVALID',
    `${command}: Kafka at ${config.KAFKA_BROKERS.join(',')} (KAFKA_BROKERS) has no topic ${topic} (TRADEPULSE_TOPIC_PREFIX ${JSON.stringify(config.TRADEPULSE_TOPIC_PREFIX)}; the workers create it as they start, as does tradepulse topics create)`,
  )
}

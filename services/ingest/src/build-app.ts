import { createTopicCatalogue, listTopics } from '@tradepulse/contracts'
import {
  closeRedis,
  createKafkaWorker,
  createRedis,
  createRedisDedupStore,
  type KafkaWorker,
  type Logger,
  redisHealth,
} from '@tradepulse/platform'
import { INGEST_HTTP_PORT, type IngestConfig } from './config.ts'
import { createIngestHandler } from './ingest-handler.ts'

/** The ingest worker on Kafka and Redis. */
export function buildIngestApp(config: IngestConfig, deps: { log: Logger }): KafkaWorker {
  const log = deps.log.child({ component: 'ingest' })
  const topics = createTopicCatalogue(config.TRADEPULSE_TOPIC_PREFIX)
  const redis = createRedis(config.REDIS_URL, log, 'tradepulse-ingest')
  const dedup = createRedisDedupStore(redis, {
    prefix: config.REDIS_KEY_PREFIX,
    windowMs: config.INGEST_DEDUP_WINDOW_MS,
  })
  return createKafkaWorker({
    worker: 'ingest',
    config,
    log,
    inputTopics: [topics.raw.name],
    dlqTopic: topics.dlq.name,
    defaultHttpPort: INGEST_HTTP_PORT,
    ...(config.TOPICS_AUTO_CREATE ? { ensureTopics: listTopics(topics) } : {}),
    handler: createIngestHandler({
      topics,
      dedup,
      defaultSource: config.INGEST_DEFAULT_SOURCE,
      limits: {
        maxRecordBytes: config.INGEST_MAX_RECORD_BYTES,
        maxHeadlineChars: 1_000,
        maxBodyChars: 20_000,
      },
    }),
    healthChecks: { redis: redisHealth(redis) },
    onStop: () => closeRedis(redis),
  })
}

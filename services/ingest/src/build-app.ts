import { createTopicCatalogue, LIMITS, listTopics } from '@tradepulse/contracts'
import {
  closeRedis,
  createKafkaTransport,
  createKafkaWorker,
  createMetrics,
  createRedis,
  createRedisDedupStore,
  type DedupStore,
  defaultGroupId,
  groupAlignmentExchange,
  type KafkaWorker,
  kafkaClientConfig,
  redisDatabaseRefused,
  redisHealth,
  topicsAtStart,
  type WorkerDeps,
  watchRedisState,
} from '@tradepulse/platform'
import { Counter } from 'prom-client'
import { INGEST_HTTP_PORT, type IngestConfig } from './config.ts'
import { createIngestHandler } from './ingest-handler.ts'
import { rawEventMs } from './parse-raw.ts'
import { watchRefusedHeadlines } from './refused-headlines.ts'
import { createStandIns } from './stand-ins.ts'

export type IngestDeps = WorkerDeps & {
  /** The dedup store; Redis from config when absent (createRedisDedupStore). */
  dedup?: DedupStore
}

/** How many headlines a warning about a batch's dropped urls, cut sources or replaced surrogates names by id. */
const NAMED_IN_LOG = 10

/** The ingest worker: on Kafka and Redis by default, or on whatever bus and store it is given. */
export function buildIngestApp(config: IngestConfig, deps: IngestDeps): KafkaWorker {
  const log = deps.log.child({ component: 'ingest' })
  const topics = createTopicCatalogue(config.TRADEPULSE_TOPIC_PREFIX)
  const redis = deps.dedup
    ? undefined
    : createRedis(config.REDIS_URL, log, 'tradepulse-ingest', {
        timeoutMs: config.REDIS_TIMEOUT_MS,
      })
  const dedup =
    deps.dedup ??
    createRedisDedupStore(redis!, {
      prefix: config.REDIS_KEY_PREFIX,
      windowMs: config.INGEST_DEDUP_WINDOW_MS,
    })
  // Counted for the handler: a claim call across a closed connection may be answered by ioredis's resend.
  let redisCloses = 0
  redis?.on('close', () => {
    redisCloses++
  })
  const metrics = createMetrics('ingest')
  const state =
    redis &&
    watchRedisState(redis, {
      prefix: config.REDIS_KEY_PREFIX,
      what: 'dedup claims (the headline ids seen)',
      refillMs: config.INGEST_DEDUP_WINDOW_MS,
      remedy: 'Until then a repeat of a headline taken before the loss passes as new',
      log,
      registry: metrics.registry,
    })
  const future = new Counter({
    name: 'tradepulse_ingest_future_published_total',
    help: 'headlines whose publishedAt was ahead of their entry by more than INGEST_MAX_FUTURE_MS, taken at their entry time',
    registers: [metrics.registry],
  })
  const past = new Counter({
    name: 'tradepulse_ingest_past_published_total',
    help: "headlines whose publishedAt was before 2000 (a producer's zero time: 0001-01-01, 1970-01-01), taken at their entry time",
    registers: [metrics.registry],
  })
  const implausible = new Counter({
    name: 'tradepulse_ingest_implausible_timestamp_total',
    help: 'raw records whose Kafka timestamp was not a plausible entry time (before 2000, or ahead of the wall clock by more than INGEST_MAX_FUTURE_MS), taken at the wall clock',
    registers: [metrics.registry],
  })
  const urlDropped = new Counter({
    name: 'tradepulse_ingest_url_dropped_total',
    help: `headlines published without the url they were given: too_long, past ${LIMITS.maxUrlChars} characters; invalid, not an absolute http or https URL, or holding a control character or a lone surrogate`,
    labelNames: ['reason'],
    registers: [metrics.registry],
  })
  const sourceCut = new Counter({
    name: 'tradepulse_ingest_source_cut_total',
    help: `headlines whose source was past ${LIMITS.maxSourceChars} characters once normalised, published with it cut to that`,
    registers: [metrics.registry],
  })
  const surrogatesReplaced = new Counter({
    name: 'tradepulse_ingest_surrogates_replaced_total',
    help: 'headlines published with the lone UTF-16 surrogates of their source or body (which UTF-8 cannot encode) replaced by U+FFFD, by field',
    labelNames: ['field'],
    registers: [metrics.registry],
  })
  const standInsTaken = new Counter({
    name: 'tradepulse_ingest_stand_ins_total',
    help: 'records dropped as duplicates of a headline of their own batch, or of one this process was publishing meanwhile, that Kafka then refused for good, taken in its place: published, or dead-lettered when refused too (their handler outcome stays drop/duplicate)',
    labelNames: ['outcome'],
    registers: [metrics.registry],
  })
  // A headline Kafka refuses for good (output_refused) has its claim released before its batch commits,
  // so a re-send of it within the dedup window is taken; one in the same batch or in a chunk handled while
  // it was being published, dropped as its duplicate before the refusal was known, is published in its
  // place (a stand-in). Only Kafka refuses records, and
  // only the Redis store made here is released from (a bus or store given is used as it is).
  const watched = !deps.transport && redis !== undefined
  const standIns = watched ? createStandIns() : undefined
  const transport =
    deps.transport ??
    (standIns
      ? createKafkaTransport(kafkaClientConfig(config, config.KAFKA_CLIENT_ID ?? 'tradepulse-ingest'), log, {
          wrapRunnerProducer: (producer) =>
            watchRefusedHeadlines(producer, {
              headlinesTopic: topics.headlines.name,
              dlqTopic: topics.dlq.name,
              worker: 'ingest',
              release: (origin, ids) => dedup.releaseClaims(origin, ids),
              standIns: {
                noted: standIns,
                claim: (claims) => dedup.claimHeadlines(claims),
                onTaken: (outcome) => {
                  standInsTaken.inc({ outcome })
                  // Produced outside the batch's own output, so counted here.
                  if (outcome === 'published') metrics.messagesOut.inc({ topic: topics.headlines.name })
                  else {
                    metrics.messagesOut.inc({ topic: topics.dlq.name })
                    metrics.dlq.inc({ reason: 'output_refused' })
                  }
                },
              },
              log,
            }),
        })
      : undefined)
  return createKafkaWorker({
    worker: 'ingest',
    config,
    log,
    metrics,
    inputTopics: [topics.raw.name],
    dlqTopic: topics.dlq.name,
    defaultHttpPort: INGEST_HTTP_PORT,
    ...(transport ? { transport } : {}),
    ...topicsAtStart(config.TOPICS_AUTO_CREATE, listTopics(topics), [topics.headlines.name, topics.dlq.name]),
    handler: createIngestHandler({
      topics,
      dedup,
      ...(redis ? { dedupConnectionCloses: () => redisCloses } : {}),
      defaultSource: config.INGEST_DEFAULT_SOURCE,
      limits: {
        maxRecordBytes: config.INGEST_MAX_RECORD_BYTES,
        maxHeadlineChars: LIMITS.maxHeadlineChars,
        maxBodyChars: LIMITS.maxBodyChars,
        maxFutureMs: config.INGEST_MAX_FUTURE_MS,
      },
      onFuture: (n) => future.inc(n),
      onPast: (n) => past.inc(n),
      onImplausibleTimestamp: (n) => implausible.inc(n),
      // One line a batch, naming the first few ids: a feed whose every url is too long is one line per batch.
      onUrlDropped: (dropped) => {
        for (const reason of ['too_long', 'invalid'] as const) {
          const of = dropped.filter((d) => d.problem.reason === reason)
          if (of.length === 0) continue
          urlDropped.inc({ reason }, of.length)
          log.warn(
            {
              reason,
              count: of.length,
              headlines: of.slice(0, NAMED_IN_LOG).map((d) => ({ id: d.id, url: d.problem.message })),
            },
            `${of.length} headline(s) published without the url given (${reason === 'too_long' ? `longer than ${LIMITS.maxUrlChars} characters` : 'not an absolute http or https URL, or holding a control character or a lone surrogate'})`,
          )
        }
      },
      onSourceCut: (cut) => {
        sourceCut.inc(cut.length)
        log.warn(
          { count: cut.length, headlines: cut.slice(0, NAMED_IN_LOG) },
          `${cut.length} headline(s) published with the source cut to ${LIMITS.maxSourceChars} characters`,
        )
      },
      onSurrogatesReplaced: (replaced) => {
        for (const field of ['source', 'body'] as const) {
          const n = replaced.filter((r) => r.fields.includes(field)).length
          if (n > 0) surrogatesReplaced.inc({ field }, n)
        }
        log.warn(
          { count: replaced.length, headlines: replaced.slice(0, NAMED_IN_LOG) },
          `${replaced.length} headline(s) published with the lone surrogates of their source or body replaced by U+FFFD`,
        )
      },
      ...(standIns ? { standIns } : {}),
    }),
    // Raw partitions catching up a backlog stay within INGEST_ALIGN_AHEAD_MS of each other in event time.
    // Ingest writes every raw partition's headlines to every headlines partition (keyed by id), so one
    // raw partition caught up ahead of another (Kafka fetches them in step by bytes: a sparse feed's
    // megabyte is hours, a dense one's minutes) put headlines hours ahead before older ones on the same
    // headlines partition, where no later worker can put them back in order, and the aggregator counted
    // the older ones late. With several members in the group, across members too, through Redis.
    align: {
      aheadMs: config.INGEST_ALIGN_AHEAD_MS,
      eventMs: rawEventMs(config.INGEST_MAX_FUTURE_MS),
      // Headlines are written per raw partition: a backlog in one fetch goes a step at a time.
      stepWithinFetch: true,
      ...(redis ? { exchange: groupAlignmentExchange(redis, config, defaultGroupId(config, 'ingest')) } : {}),
    },
    ...(redis && state
      ? {
          healthChecks: { redis: redisHealth(redis), redisState: state.health },
          fatal: [redisDatabaseRefused(redis)],
        }
      : {}),
    onStop: async () => {
      state?.stop()
      await dedup.close()
      if (redis) await closeRedis(redis)
    },
  })
}

import { createTopicCatalogue, listTopics } from '@tradepulse/contracts'
import {
  createKafkaWorker,
  type InRecord,
  type KafkaWorker,
  publishedAtMs,
  TradepulseError,
  topicsAtStart,
  type WorkerDeps,
} from '@tradepulse/platform'
import { createScorer, type Scorer } from '@tradepulse/scoring'
import { SCORER_HTTP_PORT, type ScorerConfig } from './config.ts'
import { createScorerHandler } from './scorer-handler.ts'
import { readWatchlistFile } from './watchlist-file.ts'

/**
 * Builds the scorer from config, its scorerVersion stamped with the watchlist's (createScorer); a bad
 * watchlist file (missing, unreadable, empty, not UTF-8, not JSON, or refused by parseWatchlistText: a key
 * given twice, invalid, or what the scorer would take otherwise than meant) is a configuration error
 * naming the variable, the file and what is wrong (readWatchlistFile).
 */
export function scorerFromConfig(config: Pick<ScorerConfig, 'SCORER_WATCHLIST_FILE'>): Scorer {
  const file = config.SCORER_WATCHLIST_FILE
  if (!file) return createScorer()
  try {
    const watchlist = readWatchlistFile(file)
    return createScorer({ watchlist })
  } catch (err) {
    throw new TradepulseError('CONFIG_INVALID', `SCORER_WATCHLIST_FILE (${file}): ${(err as Error).message}`)
  }
}

/**
 * Event-time alignment of the scorer's input partitions while it catches up a backlog: its output goes
 * to the same partitions of headlines.scored (same key, same count), so a scorer that caught up some
 * partitions before others (after a crash, three at a time) handed the aggregator headlines newer by the
 * whole outage on those, and it counted the rest late and never applied them.
 */
export function scorerAlignment(config: Pick<ScorerConfig, 'SCORER_ALIGN_AHEAD_MS'>) {
  return {
    aheadMs: config.SCORER_ALIGN_AHEAD_MS,
    eventMs: (r: InRecord) => publishedAtMs(r.value),
    // Scored headlines are written per input partition: a backlog in one fetch goes a step at a time.
    stepWithinFetch: true,
  }
}

/** The scorer worker on Kafka; `deps.scorer` in place of the one SCORER_WATCHLIST_FILE makes (tests). */
export function buildScorerApp(config: ScorerConfig, deps: WorkerDeps & { scorer?: Scorer }): KafkaWorker {
  const log = deps.log.child({ component: 'scorer' })
  const topics = createTopicCatalogue(config.TRADEPULSE_TOPIC_PREFIX)
  return createKafkaWorker({
    worker: 'scorer',
    config,
    log,
    inputTopics: [topics.headlines.name],
    dlqTopic: topics.dlq.name,
    defaultHttpPort: SCORER_HTTP_PORT,
    ...(deps.transport ? { transport: deps.transport } : {}),
    ...topicsAtStart(config.TOPICS_AUTO_CREATE, listTopics(topics), [topics.scored.name, topics.dlq.name]),
    handler: createScorerHandler({ topics, scorer: deps.scorer ?? scorerFromConfig(config), log }),
    align: scorerAlignment(config),
  })
}

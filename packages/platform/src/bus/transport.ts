import type { TopicSpec } from '@tradepulse/contracts'
import type { BatchRunner, BatchRunnerConfig } from '../kafka/batch-runner.ts'
import type { TimestampTypeDrift, TopicSettingDrift } from '../kafka/kafka-client.ts'
import type { BatchHandler, OutRecord } from '../kafka/records.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'

/**
 * What a worker needs from a message bus: a runner that consumes its input with at-least-once
 * delivery (commit after effects) and produces its output, and topic creation. Kafka in production,
 * in memory for the embedded default; both pass one conformance suite.
 */
export type Transport = {
  readonly kind: 'kafka' | 'memory'
  createRunner(handler: BatchHandler, cfg: BatchRunnerConfig, log: Logger, metrics: Metrics): BatchRunner
  ensureTopics(specs: TopicSpec[]): Promise<string[]>
  /** Those of `names` that do not exist. */
  missingTopics(names: readonly string[]): Promise<string[]>
  /** The existing topics of `specs` whose message.timestamp.type is not theirs (none in memory: one clock). */
  timestampTypeDrift(specs: TopicSpec[]): Promise<TimestampTypeDrift[]>
  /**
   * The existing topics of `specs` whose cleanup.policy, partitions or retention.ms cost records or work
   * (topicSettingsDrift); absent where there are no such settings (in memory).
   */
  topicSettingsDrift?(specs: TopicSpec[]): Promise<TopicSettingDrift[]>
  /** A producer outside any consumed batch (for example timed flushes); sends resolve when acknowledged. */
  createPublisher(): Publisher
}

export type Publisher = {
  send(records: OutRecord[]): Promise<void>
  /** Idempotent. */
  close(): Promise<void>
}

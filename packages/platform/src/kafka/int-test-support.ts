import { randomBytes } from 'node:crypto'
import type { Consumer, Kafka } from 'kafkajs'
import { inject } from 'vitest'
import type { BatchRunnerConfig } from './batch-runner.ts'

// For platform's own integration tests: platform cannot depend on @tradepulse/testing (which depends on
// platform), so the int project's broker comes from its global setup, and these are the few of testing's
// helpers those tests need.

export function kafkaBrokers(): string[] {
  const provided = (inject as (key: string) => unknown)('kafkaBrokers')
  return (typeof provided === 'string' ? provided : (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')).split(
    ',',
  )
}

/** As testing's randomName: with the run's token, so that the run's clean-up knows the topic for its own. */
export function randomName(prefix: string): string {
  const token = process.env.TRADEPULSE_TEST_RUN
  return `${prefix}-${token ? `r${token}-` : ''}${randomBytes(6).toString('hex')}`
}

/** As testing's waitFor: polls until `check` returns a value, or fails naming `what`. */
export async function waitFor<T>(check: () => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** As waitFor, for a check that is itself asynchronous (one that asks Kafka). */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`until: ${what} not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The batch runner settings of platform's Kafka tests on `topic`: small batches, fast heartbeats, retries and commits. */
export function probeRunnerConfig(
  topic: string,
  groupId: string,
  over: Partial<BatchRunnerConfig> = {},
): BatchRunnerConfig {
  return {
    worker: 'probe',
    groupId,
    topics: [topic],
    dlqTopic: topic,
    maxBatch: 100,
    fetchMaxWaitMs: 100,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 200,
    maxBytesPerPartition: 1_048_576,
    partitionsConcurrency: 1,
    retryBaseMs: 20,
    retryMaxMs: 50,
    commitIntervalMs: 20,
    ...over,
  }
}

/**
 * `kafka`, whose consumers are made with `rebalanceTimeoutMs` (how long the group waits for a member
 * to rejoin at a rebalance before dropping it; kafkajs's default is 60 s) and are each passed to `seen`.
 */
export function consumingWith(
  kafka: Kafka,
  opts: { rebalanceTimeoutMs?: number; seen?: (consumer: Consumer) => void },
): Kafka {
  return Object.assign(Object.create(kafka) as Kafka, {
    consumer: (cfg: Parameters<Kafka['consumer']>[0]) => {
      const c = kafka.consumer(
        opts.rebalanceTimeoutMs === undefined ? cfg : { ...cfg!, rebalanceTimeout: opts.rebalanceTimeoutMs },
      )
      opts.seen?.(c)
      return c
    },
  })
}

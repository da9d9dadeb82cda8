import type { TestProject } from 'vitest/node'
import { startInfra } from './infra.ts'
import { deleteTopicsWhere, listTopicNames } from './kafka-helpers.ts'
import { isRandomName, randomKeyPrefix } from './random-name.ts'
import { deleteKeysWhere, scanKeys } from './run-cleanup.ts'

/**
 * One Kafka broker and one Redis server for the whole `int` run; each test uses random names on them.
 * A broker the run started is wiped when it stops. On a broker given in KAFKA_BROKERS (`pnpm
 * infra:up`, kept between runs) the run deletes the topics its tests made, the random-named ones that
 * were not there before it: a broker that keeps every run's partitions gets slower with each run. On a
 * Redis given in REDIS_URL it likewise deletes the keys under random-name prefixes that were not there
 * before it (about 30,000 keys a run). A second run against the same servers at the same time would lose
 * the topics and keys it made after this one started: run one at a time there.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const infra = await startInfra()
  process.stderr.write(
    `[tradepulse] test infra (${infra.source}): kafka ${infra.kafkaBrokers.join(',')} redis ${infra.redisUrl}\n`,
  )
  project.provide('kafkaBrokers', infra.kafkaBrokers.join(','))
  project.provide('redisUrl', infra.redisUrl)
  // Only on servers kept between runs: what is random-named and was not there before is this run's.
  const kept = infra.source === 'env' ? await snapshot(infra) : undefined
  return async () => {
    if (kept) {
      await bestEffort('Redis keys', () =>
        deleteKeysWhere(infra.redisUrl, (key) => {
          const prefix = randomKeyPrefix(key)
          return prefix !== undefined && !kept.keyPrefixes.has(prefix)
        }),
      )
      await bestEffort('topics', () =>
        deleteTopicsWhere(infra.kafkaBrokers, (t) => isRandomName(t) && !kept.topics.has(t)),
      )
    }
    await infra.stop()
  }
}

async function snapshot(infra: { kafkaBrokers: string[]; redisUrl: string }) {
  const keyPrefixes = new Set<string>()
  await scanKeys(infra.redisUrl, (keys) => {
    for (const key of keys) {
      const prefix = randomKeyPrefix(key)
      if (prefix) keyPrefixes.add(prefix)
    }
  })
  return { topics: new Set(await listTopicNames(infra.kafkaBrokers)), keyPrefixes }
}

/** A clean-up that fails says so and lets the run end as its tests decided. */
async function bestEffort(what: string, clean: () => Promise<number>): Promise<void> {
  try {
    process.stderr.write(`[tradepulse] deleted the ${await clean()} ${what} this run made\n`)
  } catch (err) {
    process.stderr.write(`[tradepulse] could not delete this run's ${what}: ${(err as Error).message}\n`)
  }
}

import type { TestProject } from 'vitest/node'
import { startInfra } from './infra.ts'

/** One Kafka broker and one Redis server for the whole `int` run; each test uses random names on them. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const infra = await startInfra()
  process.stderr.write(
    `[tradepulse] test infra (${infra.source}): kafka ${infra.kafkaBrokers.join(',')} redis ${infra.redisUrl}\n`,
  )
  project.provide('kafkaBrokers', infra.kafkaBrokers.join(','))
  project.provide('redisUrl', infra.redisUrl)
  return () => infra.stop()
}

import type { TestProject } from 'vitest/node'
import { startInfra } from './infra.ts'
import { deleteTopicsWhere } from './kafka-helpers.ts'
import { newRunToken, RUN_TOKEN_ENV } from './random-name.ts'
import {
  deleteKeysWhere,
  type LiveRun,
  registerLiveRun,
  runNames,
  type TokenlessNames,
  tokenlessNames,
} from './run-cleanup.ts'

/**
 * One Kafka broker and one Redis server for the whole `int` run; each test uses random names on them.
 * A broker the run started is wiped when it stops. On servers given in KAFKA_BROKERS and REDIS_URL
 * (`pnpm infra:up`, kept between runs) the run deletes the topics and keys its tests made: a broker that
 * keeps every run's partitions gets slower with each run, and a run makes about 30,000 keys.
 *
 * Several runs may use the same servers at once. Each run has a token (8 hex digits), set here in
 * TRADEPULSE_TEST_RUN before vitest starts the test workers, which inherit it; randomName puts it in
 * every name (`e2e-r<token>-<12 hex>`), and the run deletes the random-named topics and keys carrying its
 * token, or a run's that is not live any more (killed before its clean-up), never a live run's. Random
 * names without a token (made outside randomName, or left by older runs) are told apart as before, by a snapshot taken at the start: those that were not there then are
 * deleted, but only when no other run is live on the same Redis (each run marks itself live there).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const infra = await startInfra()
  const token = newRunToken()
  const tokenBefore = process.env[RUN_TOKEN_ENV]
  process.env[RUN_TOKEN_ENV] = token
  process.stderr.write(
    `[tradepulse] test infra (${infra.source}): kafka ${infra.kafkaBrokers.join(',')} redis ${infra.redisUrl}, run token ${token}\n`,
  )
  project.provide('kafkaBrokers', infra.kafkaBrokers.join(','))
  project.provide('redisUrl', infra.redisUrl)
  // Only on servers kept between runs, which other runs may be using too. Marked live first: a run that
  // ends while this one is live leaves this one's names without a token alone.
  let shared: { live: LiveRun; before: TokenlessNames } | undefined
  if (infra.source === 'env') {
    const live = await registerLiveRun(infra.redisUrl, token)
    try {
      shared = { live, before: await tokenlessNames(infra) }
    } catch (err) {
      await live.end().catch(() => {})
      throw err
    }
  }
  return async () => {
    if (shared) await cleanUp(infra, token, shared.live, shared.before)
    if (tokenBefore === undefined) delete process.env[RUN_TOKEN_ENV]
    else process.env[RUN_TOKEN_ENV] = tokenBefore
    await infra.stop()
  }
}

async function cleanUp(
  infra: { kafkaBrokers: string[]; redisUrl: string },
  token: string,
  live: LiveRun,
  before: TokenlessNames,
): Promise<void> {
  const others = await live.others().catch(() => undefined)
  const alone = others !== undefined && others.length === 0
  if (!alone) {
    process.stderr.write(
      `[tradepulse] ${others ? `other test runs are live on these servers (${others.join(', ')})` : 'could not tell whether other test runs are live on these servers'}: random names without a run token are left alone\n`,
    )
  }
  // With the live runs known, what runs killed before their clean-up left goes too.
  const ours = runNames(token, alone ? before : undefined, others ? new Set(others) : undefined)
  await bestEffort('Redis keys', () => deleteKeysWhere(infra.redisUrl, ours.key))
  await bestEffort('topics', () => deleteTopicsWhere(infra.kafkaBrokers, ours.topic))
  await live.end().catch(() => {})
}

/** A clean-up that fails says so and lets the run end as its tests decided. */
async function bestEffort(what: string, clean: () => Promise<number>): Promise<void> {
  try {
    process.stderr.write(
      `[tradepulse] deleted the ${await clean()} ${what} this run (or an ended one) made\n`,
    )
  } catch (err) {
    process.stderr.write(`[tradepulse] could not delete this run's ${what}: ${(err as Error).message}\n`)
  }
}

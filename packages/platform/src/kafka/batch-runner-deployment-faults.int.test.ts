import { type Admin, KafkaJSSASLAuthenticationError, logLevel } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import type { TradepulseError } from '../errors.ts'
import { describeInfraFailure } from '../lifecycle.ts'
import { createLogger } from '../logger.ts'
import type { BatchRunner } from './batch-runner.ts'
import { kafkaBrokers, probeRunner, randomName, testCleanups, until } from './int-test-support.ts'
import { createKafka, createTopicsWithLeaders } from './kafka-client.ts'
import type { BatchHandler } from './records.ts'

// Faults of the deployment met while a batch is handled, on a real broker: no record is to blame, so
// none is dead-lettered and nothing is committed; the worker stops (failed()) naming what to fix, for its
// supervisor to restart it once that is fixed.

const silent = createLogger({ level: 'silent' })

/** Resolves with what `runner.failed()` reports, or undefined if it has not within `ms`. */
async function failedWithin(runner: BatchRunner, ms: number): Promise<TradepulseError | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms)
  })
  try {
    return await Promise.race([runner.failed(), timeout])
  } finally {
    clearTimeout(timer)
  }
}

describe('batch runner on a fault of the deployment inside a batch', () => {
  const brokers = kafkaBrokers()
  const { cleanups, connected } = testCleanups()
  const kafka = () =>
    createKafka({ brokers, clientId: randomName('deploy-fault') }, silent, { logLevel: logLevel.NOTHING })

  /** An input topic holding `values`, an empty dlq topic, and the group's committed offset and the dlq's size. */
  async function topics(values: string[]) {
    const name = randomName('deploy-fault')
    const admin: Admin = await connected(kafka().admin())
    const topic = `${name}.in`
    const dlq = `${name}.dlq`
    await createTopicsWithLeaders(admin, [
      { topic, numPartitions: 1, replicationFactor: 1 },
      { topic: dlq, numPartitions: 1, replicationFactor: 1 },
    ])
    cleanups.push(() => admin.deleteTopics({ topics: [topic, dlq] }))
    const producer = await connected(kafka().producer())
    await producer.send({ topic, messages: values.map((value) => ({ value })) })
    const groupId = randomName('deploy-fault')
    return {
      topic,
      dlq,
      groupId,
      committed: async () =>
        Number((await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions[0]!.offset),
      dlqSize: async () => Number((await admin.fetchTopicOffsets(dlq))[0]!.high),
    }
  }

  it("waits out Kafka refusing the credentials to a handler's own call, then fails naming the variables: nothing dead-lettered, nothing committed", async () => {
    const t = await topics(['a', 'b', 'c'])
    let calls = 0
    // The handler's own Kafka client (an alert producer, say) refused, as kafkajs raises it.
    const handler: BatchHandler = async () => {
      calls++
      throw new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)(
        'SASL PLAIN authentication failed: Authentication failed: Invalid username or password',
      )
    }
    const runner = probeRunner(kafka(), t.topic, t.groupId, handler, cleanups, {
      over: { dlqTopic: t.dlq, credentialsRefusedMs: 1_500 },
    })
    await runner.start()
    await until(
      async () =>
        /^KAFKA_AUTH: auth refused \(KAFKA_SASL_USERNAME, attempt [2-9]/.test(
          (await runner.health()).detail ?? '',
        ),
      'the refusal retried',
    )
    const failure = await failedWithin(runner, 20_000)
    expect(failure).toMatchObject({ code: 'KAFKA_AUTH' })
    expect(failure?.message).toMatch(
      /^Kafka refused the credentials \(KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD\) for 1500 ms: SASL PLAIN authentication failed/,
    )
    // The line the worker exits 69 with names them too.
    expect(describeInfraFailure(failure, { KAFKA_BROKERS: 'kafka-1:9092' })).toMatch(
      /^Kafka at kafka-1:9092 \(KAFKA_BROKERS\) refused the credentials: .*check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/,
    )
    expect(await runner.health()).toMatchObject({ status: 'failed' })
    expect(calls).toBeGreaterThan(1)
    await runner.stop()
    expect(await t.dlqSize()).toBe(0)
    expect(await t.committed()).toBe(-1)
  })
})

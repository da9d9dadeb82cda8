import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createTopicCatalogue, listTopics, type ScoredHeadline } from '@tradepulse/contracts'
import {
  collectTopic,
  createTopics,
  REPO_ROOT,
  randomName,
  testInfra,
  testProducer,
  waitFor,
} from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'

describe('tradepulse start on Kafka and Redis', () => {
  const { kafkaBrokers, redisUrl } = testInfra()

  it('runs the chosen workers on KAFKA_BROKERS and REDIS_URL until SIGINT, then exits 0', async () => {
    const prefix = `${randomName('start')}.`
    const topics = createTopicCatalogue(prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name })),
    )
    const child = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'packages/cli/src/main.ts'),
        'start',
        '--workers',
        'ingest,scorer',
        '--no-sample',
        '--follow',
      ],
      {
        env: {
          PATH: process.env.PATH ?? '',
          KAFKA_BROKERS: kafkaBrokers.join(','),
          REDIS_URL: redisUrl,
          REDIS_KEY_PREFIX: prefix.replace(/\W/g, '_'),
          TRADEPULSE_TOPIC_PREFIX: prefix,
          KAFKA_SESSION_TIMEOUT_MS: '6000',
          KAFKA_HEARTBEAT_INTERVAL_MS: '500',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let err = ''
    child.stderr.on('data', (d) => {
      err += d
    })
    const scored = await collectTopic(kafkaBrokers, topics.scored.name)
    try {
      await waitFor(() => /Running ingest, scorer on Kafka/.test(err), { what: 'workers running' })
      const producer = await testProducer(kafkaBrokers)
      await producer.send({
        topic: topics.raw.name,
        messages: [{ value: JSON.stringify({ id: 'k1', headline: 'China halts rare earth exports' }) }],
      })
      await producer.disconnect()
      const out = await waitFor(() => scored.messages[0], { what: 'scored headline' })
      const h = JSON.parse(out.value!.toString()) as ScoredHeadline
      expect(h.id).toBe('k1')
      expect(h.scores.supplyChain.label).toBe('negative')
    } finally {
      child.kill('SIGINT')
      const code = await new Promise((r) => child.once('exit', r))
      await scored.stop()
      expect(code).toBe(0)
    }
  })

  it('exits 1 once SHUTDOWN_DEADLINE_MS has passed when a stop cannot finish (Kafka unreachable)', async () => {
    const child = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'packages/cli/src/main.ts'),
        'start',
        '--workers',
        'scorer',
        '--no-sample',
        '--follow',
      ],
      {
        env: {
          PATH: process.env.PATH ?? '',
          KAFKA_BROKERS: '127.0.0.1:1',
          REDIS_URL: redisUrl,
          SHUTDOWN_DEADLINE_MS: '1000',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let err = ''
    child.stderr.on('data', (d) => {
      err += d
    })
    const exited = new Promise<number | null>((r) => child.once('exit', r))
    // Starting: kafkajs is retrying its connection to the broker, for far longer than the deadline.
    await waitFor(() => /ECONNREFUSED|Connection error/.test(err), { what: 'the start retrying the broker' })
    child.kill('SIGTERM')
    expect(await exited).toBe(1)
    expect(err).toMatch(/graceful stop exceeded its deadline/)
  })
})

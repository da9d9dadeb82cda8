import { spawn } from 'node:child_process'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'
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

  /**
   * `tradepulse start --workers <workers> --no-sample --follow` on the test Kafka, topics under `prefix`,
   * with short group timings and `env` on top; its stderr so far and its exit code.
   */
  function startOnKafka(workers: string, prefix: string, env: Record<string, string>) {
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'packages/cli/src/main.ts'), 'start', '--workers', workers, '--no-sample', '--follow'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          KAFKA_BROKERS: kafkaBrokers.join(','),
          TRADEPULSE_TOPIC_PREFIX: prefix,
          KAFKA_SESSION_TIMEOUT_MS: '6000',
          KAFKA_HEARTBEAT_INTERVAL_MS: '500',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let err = ''
    child.stderr.on('data', (d) => {
      err += d
    })
    const exited = new Promise<number | null>((r) => child.once('exit', r))
    return { child, stderr: () => err, exited }
  }

  it('runs the chosen workers on KAFKA_BROKERS and REDIS_URL until SIGINT, then exits 0', async () => {
    const prefix = `${randomName('start')}.`
    const topics = createTopicCatalogue(prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name })),
    )
    const { child, stderr, exited } = startOnKafka('ingest,scorer', prefix, {
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix.replace(/\W/g, '_'),
    })
    const scored = await collectTopic(kafkaBrokers, topics.scored.name)
    try {
      // A minute, as the tests below wait: a process starting the CLI under load (its modules, the checks
      // that Kafka and Redis answer) took more than the default 30 s twice here at a load of 20.
      await waitFor(() => /Running ingest, scorer on Kafka/.test(stderr()), {
        what: 'workers running',
        timeoutMs: 60_000,
      })
      const producer = await testProducer(kafkaBrokers)
      await producer.send({
        topic: topics.raw.name,
        messages: [{ value: JSON.stringify({ id: 'k1', headline: 'China halts rare earth exports' }) }],
      })
      await producer.disconnect()
      const out = await waitFor(() => scored.messages[0], { what: 'scored headline', timeoutMs: 60_000 })
      const h = JSON.parse(out.value!.toString()) as ScoredHeadline
      expect(h.id).toBe('k1')
      expect(h.scores.supplyChain.label).toBe('negative')
    } finally {
      child.kill('SIGINT')
      const code = await exited
      await scored.stop()
      expect(code).toBe(0)
    }
  })

  it('starts the scorer alone without Redis: the start checks only what the workers it starts need', async () => {
    const prefix = `${randomName('norediscorer')}.`
    const { child, stderr, exited } = startOnKafka('scorer', prefix, {
      REDIS_URL: 'redis://127.0.0.1:1',
    })
    try {
      await waitFor(() => /Running scorer on Kafka/.test(stderr()) || child.exitCode !== null, {
        what: 'the scorer running',
        timeoutMs: 60_000,
      })
      expect(stderr()).toMatch(/Running scorer on Kafka/)
    } finally {
      child.kill('SIGINT')
    }
    expect(await exited).toBe(0)
  })

  it('exits 1 once SHUTDOWN_DEADLINE_MS has passed when a stop cannot finish (Redis frozen)', async () => {
    // Redis through a proxy that can freeze: the start's check and the worker pass, then Redis stops
    // answering (connections open, nothing comes back), so closing it waits out REDIS_TIMEOUT_MS.
    const proxy = await freezableProxy(new URL(redisUrl))
    const prefix = `${randomName('deadline')}.`
    const { child, stderr, exited } = startOnKafka('aggregator', prefix, {
      REDIS_URL: proxy.url,
      REDIS_KEY_PREFIX: prefix.replace(/\W/g, '_'),
      REDIS_TIMEOUT_MS: '20000',
      SHUTDOWN_DEADLINE_MS: '1000',
    })
    try {
      await waitFor(() => /Running aggregator on Kafka/.test(stderr()), {
        what: 'the aggregator running',
        timeoutMs: 60_000,
      })
      proxy.freeze()
      child.kill('SIGTERM')
      expect(await exited).toBe(1)
      expect(stderr()).toMatch(/graceful stop exceeded its deadline/)
    } finally {
      child.kill('SIGKILL')
      proxy.close()
    }
  })

  it('refuses to play the sample a second time under the same prefixes, naming them, before any worker starts (exit 78)', async () => {
    const prefix = `${randomName('sample-twice')}.`
    const play = () =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          [join(REPO_ROOT, 'packages/cli/src/main.ts'), 'start', '--workers', 'ingest,scorer'],
          {
            env: {
              PATH: process.env.PATH ?? '',
              KAFKA_BROKERS: kafkaBrokers.join(','),
              REDIS_URL: redisUrl,
              TRADEPULSE_TOPIC_PREFIX: prefix,
              REDIS_KEY_PREFIX: prefix.replace(/\W/g, '_'),
              KAFKA_SESSION_TIMEOUT_MS: '6000',
              KAFKA_HEARTBEAT_INTERVAL_MS: '500',
            },
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        )
        let stderr = ''
        child.stderr.on('data', (d) => {
          stderr += d
        })
        child.once('exit', (code) => resolve({ code, stderr }))
      })
    const first = await play()
    expect(first.stderr).toMatch(/216 of 216 scored/)
    expect(first.code).toBe(0)
    const second = await play()
    expect(second.code).toBe(78)
    expect(second.stderr).not.toMatch(/Running|Played/)
    expect(second.stderr).toContain(
      `tradepulse: the sample feed was played before under TRADEPULSE_TOPIC_PREFIX=${prefix} and REDIS_KEY_PREFIX=${prefix.replace(/\W/g, '_')}: ingest took 216 of its 216 headline ids within INGEST_DEDUP_WINDOW_MS and drops them as repeats. It would give no alerts: set another TRADEPULSE_TOPIC_PREFIX and REDIS_KEY_PREFIX to play it again, or pass --no-sample`,
    )
  })
})

/** A TCP proxy to `target` (host and port of a URL) whose traffic can be frozen: connections stay open, nothing passes. */
async function freezableProxy(target: URL) {
  let frozen = false
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname)
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from)
      from.on('data', (d) => {
        if (!frozen) to.write(d)
      })
      from.on('error', () => to.destroy())
      from.on('close', () => to.destroy())
    }
  })
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  )
  const url = new URL(target.href)
  url.hostname = '127.0.0.1'
  url.port = String(port)
  return {
    url: url.href,
    freeze: () => {
      frozen = true
    },
    close: () => {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { stripVTControlCharacters } from 'node:util'
import { createTopicCatalogue, listTopics } from '@tradepulse/contracts'
import {
  createTopics,
  descendants,
  randomName,
  testInfra,
  testKafka,
  testProducer,
  waitFor,
} from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { spawnCli } from '../test-helpers.ts'

/** `tradepulse start ...` spawned with only `env` (and PATH). */
function startCli(args: string[], env: Record<string, string>) {
  return spawnCli(['start', ...args], env)
}

/** --local-infra's broker and Redis server, by command name. */
const SERVERS = ['java', 'redis-server']

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const onPath = (command: string) => {
  try {
    execFileSync('which', [command], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

describe('tradepulse start on a signal during its startup, on Kafka and Redis', { timeout: 60_000 }, () => {
  it('stops the workers that started, starts no more, and exits 0 with one line saying so', async () => {
    const { kafkaBrokers, redisUrl } = testInfra()
    const { child, output, exited } = startCli(['--no-sample'], {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      TRADEPULSE_TOPIC_PREFIX: `${randomName('start-signal')}.`,
      REDIS_KEY_PREFIX: randomName('start-signal'),
      // The workers' own lines: which started, which stopped (pretty: the lines matched below).
      LOG_LEVEL: 'info',
      LOG_PRETTY: 'true',
    })
    // The first worker (ingest) is starting: creating the topics, joining its group, the others to come.
    await waitFor(() => /health and metrics listening/.test(output.err), {
      what: 'the first worker starting',
      timeoutMs: 60_000,
    })
    child.kill('SIGINT')
    expect(await exited, output.err).toEqual([0, null])
    expect(output.err).toContain('tradepulse: stopped by SIGINT during startup\n')
    expect(output.err).not.toMatch(/^Running /m)
    // Each worker that started has stopped, and the one starting at the signal was stopped where it was
    // (it ends its start at the current step: "stopped while starting"); the rest never started.
    const lines = stripVTControlCharacters(output.err)
    const started = [...lines.matchAll(/: (\w+) started$/gm)].map((m) => m[1])
    const stopped = [...lines.matchAll(/: (\w+) stopped$/gm)].map((m) => m[1])
    const cut = [...lines.matchAll(/: (\w+) stopped while starting$/gm)].map((m) => m[1])
    expect(started.length + cut.length, lines).toBeGreaterThan(0)
    expect(started.length + cut.length, lines).toBeLessThan(5)
    expect(stopped, lines).toEqual(expect.arrayContaining([...started, ...cut]))
  })

  it.skipIf(!onPath('java') || !onPath('redis-server'))(
    'with --local-infra, stops the local broker and Redis server while they start, and exits 0 with one line saying so',
    async () => {
      const { child, output, exited } = startCli(['--local-infra', '--no-sample'], {
        // The local broker (jars) and redis-server: processes the CLI starts.
        TRADEPULSE_NO_DOCKER: '1',
        TRADEPULSE_TOPIC_PREFIX: `${randomName('start-signal')}.`,
      })
      // The broker and Redis server run under the keeper the CLI starts, not as the CLI's children.
      const started = await waitFor(
        () => {
          const running = descendants(child.pid!)
          return SERVERS.every((s) => running.some((p) => p.comm === s)) && running
        },
        { what: 'the local broker and Redis server starting', timeoutMs: 60_000 },
      )
      child.kill('SIGINT')
      expect(await exited, output.err).toEqual([0, null])
      expect(output.err).toContain('tradepulse: stopped by SIGINT during startup\n')
      expect(output.err).not.toMatch(/^Running /m)
      expect(
        started.filter((p) => alive(p.pid)),
        output.err,
      ).toEqual([])
    },
  )

  it.skipIf(!onPath('java') || !onPath('redis-server'))(
    'with --local-infra, a CLI killed outright (SIGKILL) leaves no broker or Redis server running: they stop with it',
    { timeout: 120_000 },
    async () => {
      // They were the CLI's own children, stopped by its stop alone: killed (or a second signal while the
      // broker started, which exits at once), it left them running with parent PID 1.
      const { child, output, exited } = startCli(['--local-infra', '--no-sample', '--workers', 'scorer'], {
        TRADEPULSE_NO_DOCKER: '1',
        TRADEPULSE_TOPIC_PREFIX: `${randomName('start-kill')}.`,
      })
      await waitFor(() => / are up \(local\)\.$/m.test(output.err), {
        what: 'the local broker and Redis server up',
        timeoutMs: 90_000,
      })
      const running = descendants(child.pid!)
      const started = running.filter((p) => SERVERS.includes(p.comm)).map((p) => p.pid)
      expect(started, JSON.stringify(running)).toHaveLength(2)
      child.kill('SIGKILL')
      await exited
      try {
        await waitFor(() => !started.some(alive), {
          what: 'the broker and Redis server to stop',
          timeoutMs: 30_000,
        })
      } finally {
        for (const pid of started.filter(alive)) process.kill(pid, 'SIGKILL')
      }
    },
  )
})

describe('tradepulse start on Kafka and Redis: desk webhooks and health', { timeout: 90_000 }, () => {
  it("posts alerts to the webhooks of the desks file it is given (the alerter's default), says so, and names each worker's health and metrics address", async () => {
    // start on Kafka put ALERTER_WEBHOOKS_ENABLED=false under the environment whatever the desks file:
    // alerts reached the desk's topic, and its webhook got nothing, with nothing said.
    const { kafkaBrokers, redisUrl } = testInfra()
    const posts: string[] = []
    const receiver = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => {
        body += d
      })
      req.on('end', () => {
        posts.push(body)
        res.end()
      })
    })
    const port = await new Promise<number>((resolve) =>
      receiver.listen(0, '127.0.0.1', () => resolve((receiver.address() as AddressInfo).port)),
    )
    const desks = join(mkdtempSync(join(tmpdir(), 'start-hooks-')), 'desks.yaml')
    writeFileSync(
      desks,
      `version: "hooks"\ndesks:\n  - id: hooked\n    scopes: ["*"]\n    minSeverity: info\n    webhook:\n      url: http://127.0.0.1:${port}/hook\n      secretEnv: START_HOOK_SECRET\n`,
    )
    const prefix = randomName('start-hooks')
    const { child, output, exited } = startCli(
      ['--workers', 'ingest,scorer,alerter', '--follow', '--no-sample'],
      {
        KAFKA_BROKERS: kafkaBrokers.join(','),
        REDIS_URL: redisUrl,
        TRADEPULSE_TOPIC_PREFIX: `${prefix}.`,
        REDIS_KEY_PREFIX: prefix,
        ALERTER_DESKS_FILE: desks,
        START_HOOK_SECRET: 'a-secret-of-more-than-16-bytes',
      },
    )
    try {
      await waitFor(() => /^Desk webhooks: /m.test(output.err), {
        what: 'the workers running',
        timeoutMs: 60_000,
      })
      expect(output.err).toContain(
        `Desk webhooks: on (ALERTER_WEBHOOKS_ENABLED unset: the alerter's default): alerts are POSTed to the webhooks of the desks in ${desks}.\n`,
      )
      const health =
        /^Health and metrics: ingest (\S+), scorer (\S+), alerter (\S+) \(\/healthz, \/readyz, \/metrics\)$/m.exec(
          output.err,
        )
      expect(health, output.err).not.toBeNull()
      for (const url of health!.slice(1)) expect((await fetch(`${url}/healthz`)).status, url).toBe(200)
      const producer = await testProducer(kafkaBrokers)
      try {
        await producer.send({
          topic: `${prefix}.headlines.raw.v1`,
          messages: [
            {
              key: 'h1',
              value: JSON.stringify({ id: 'h1', headline: 'US raises tariffs on Chinese steel to 25%' }),
            },
          ],
        })
      } finally {
        await producer.disconnect()
      }
      await waitFor(() => posts.length > 0, { what: 'an alert posted to the webhook', timeoutMs: 30_000 })
      expect(JSON.parse(posts[0]!)).toMatchObject({
        evidence: expect.arrayContaining([expect.objectContaining({ headlineId: 'h1' })]),
      })
    } finally {
      child.kill('SIGINT')
      await exited
      receiver.close()
    }
  })
})

describe('tradepulse start on Kafka and Redis: a sample run that lost headlines', {
  timeout: 150_000,
}, () => {
  it('says how many were scored of how many and which stage stopped short, and exits 69, where it said "105 of 216 scored." and exited 0', async () => {
    const { kafkaBrokers, redisUrl } = testInfra()
    const prefix = randomName('start-short')
    const topics = createTopicCatalogue(`${prefix}.`)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({
        name: t.name,
        partitions: t.partitions,
        ...(t.timestampType ? { config: { 'message.timestamp.type': t.timestampType } } : {}),
      })),
    )
    // Another member in the scorer's consumer group (an old scorer left running, say): it takes some of
    // headlines' partitions, and what it reads is never scored.
    const stray = testKafka(kafkaBrokers).consumer({ groupId: `${prefix}.scorer` })
    await stray.connect()
    try {
      await stray.subscribe({ topic: topics.headlines.name })
      const joined = new Promise((resolve) => stray.on(stray.events.GROUP_JOIN, resolve))
      await stray.run({ eachMessage: async () => {} })
      await joined
      const { output, exited } = startCli(['--workers', 'ingest,scorer'], {
        KAFKA_BROKERS: kafkaBrokers.join(','),
        REDIS_URL: redisUrl,
        TRADEPULSE_TOPIC_PREFIX: `${prefix}.`,
        REDIS_KEY_PREFIX: prefix,
      })
      expect(await exited, output.err).toEqual([69, null])
      const scored = /^(\d+) of 216 scored\.$/m.exec(output.err)
      expect(scored, output.err).not.toBeNull()
      const n = Number(scored![1])
      expect(n).toBeLessThan(216)
      expect(output.err).toContain(
        `tradepulse: ${216 - n} of the 216 sample headlines were not scored: ingest passed on all 216 to ${topics.headlines.name}; the scorer stopped short: it scored ${n} of the 216 ingest passed on to ${topics.scored.name} (${216 - n} neither scored nor dead-lettered within 60 s)\n`,
      )
    } finally {
      await stray.disconnect()
    }
  })
})

describe("tradepulse start on Kafka and Redis: a host whose clock is ahead of Kafka's", {
  timeout: 90_000,
}, () => {
  it('names the clock when Kafka refuses the times it stamped the sample with (exit 69)', async () => {
    // The exit line gave kafkajs's innermost message, "The timestamp of the message is out of acceptable
    // range": the sample went out through producer.send, which raises no KafkaClockError, and the line
    // gave the innermost message of any chain.
    const { kafkaBrokers, redisUrl } = testInfra()
    const prefix = randomName('start-clock')
    const dir = mkdtempSync(join(tmpdir(), 'start-clock-'))
    const ahead = join(dir, 'ahead.mjs')
    // 2 h ahead of the broker's (message.timestamp.after.max.ms, 1 h): kafkajs stamps with Date.now().
    writeFileSync(ahead, 'const real = Date.now.bind(Date)\nDate.now = () => real() + 7_200_000\n')
    try {
      const { output, exited } = startCli(['--workers', 'ingest'], {
        KAFKA_BROKERS: kafkaBrokers.join(','),
        REDIS_URL: redisUrl,
        TRADEPULSE_TOPIC_PREFIX: `${prefix}.`,
        REDIS_KEY_PREFIX: prefix,
        NODE_OPTIONS: `--import=${pathToFileURL(ahead).href}`,
      })
      expect(await exited, output.err).toEqual([69, null])
      const raw = createTopicCatalogue(`${prefix}.`).raw.name
      expect(output.err).toContain(
        `(KAFKA_BROKERS) failed: Kafka refused the timestamps of records for ${raw} (INVALID_TIMESTAMP): they were stamped with this host's clock`,
      )
      expect(output.err).not.toMatch(/out of acceptable range/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

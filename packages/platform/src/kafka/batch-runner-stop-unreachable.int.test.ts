import { connect as netConnect } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Admin, ISocketFactory } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { TradepulseError } from '../errors.ts'
import { stopFailedLine } from '../lifecycle.ts'
import { createCapturingLogger } from '../logger.ts'
import { tcpProxy } from '../net-test-support.ts'
import { exitCodeOf, spawnModule } from '../process-test-support.ts'
import {
  kafkaBrokers,
  probeInput,
  probeRunner,
  quietKafka,
  randomName,
  testCleanups,
  waitFor,
} from './int-test-support.ts'
import type { BatchHandler } from './records.ts'

/**
 * A proxy in front of each of the cluster's brokers, by the broker's port, which stops passing anything on
 * once `cut()` is called (the connections stay open: a broker that does not answer).
 */
async function cuttableProxies(admin: Admin, cleanups: (() => Promise<unknown>)[]) {
  let isCut = false
  const ports = new Map<number, number>()
  for (const b of (await admin.describeCluster()).brokers) {
    const proxy = await tcpProxy({ host: b.host, port: b.port }, (client, upstream) => {
      client.on('data', (d: Buffer) => void (isCut || upstream.write(d)))
      upstream.on('data', (d: Buffer) => void (isCut || client.write(d)))
    })
    cleanups.push(() => proxy.close())
    ports.set(b.port, proxy.port)
  }
  return {
    ports,
    cut: () => {
      isCut = true
    },
  }
}

describe('batch runner stopped while Kafka does not answer', () => {
  const { cleanups, connected } = testCleanups()

  // Found by a review: with Kafka unreachable, a worker's stop waited out kafkajs's consumer disconnect
  // (the fetch under way, then LeaveGroup: a request timeout of 30 s each) and then the producer's, one
  // after another, and exited 1 at SHUTDOWN_DEADLINE_MS with a line naming neither Kafka nor the step.
  it('does its Kafka steps within stopMs and fails naming the steps not done, and Kafka', async () => {
    const name = randomName('stop-unreachable')
    const { admin, producer, topic, groupId } = await probeInput(name, connected, cleanups)
    // Every connection of the runner's client goes through a proxy in front of its broker.
    const proxies = await cuttableProxies(admin, cleanups)
    const throughProxy: ISocketFactory = ({ port, onConnect }) =>
      netConnect({ host: '127.0.0.1', port: proxies.ports.get(port) ?? port }, onConnect)
    const handled: string[] = []
    const handler: BatchHandler = async (records) => {
      handled.push(...records.map((r) => r.value!.toString()))
      return records.map(() => ({ kind: 'ok' as const }))
    }
    let batchesEnded = 0
    const { log, lines } = createCapturingLogger<{ msg: string; level: number }>()
    const runner = probeRunner(
      quietKafka(`${name}-runner`, { socketFactory: throughProxy }),
      topic,
      groupId,
      handler,
      cleanups,
      {
        // A commit interval longer than the test: the stop's last commit has something to commit.
        over: { stopMs: 3_000, commitIntervalMs: 600_000 },
        log,
        seen: (consumer) => {
          consumer.on(consumer.events.END_BATCH_PROCESS, () => {
            batchesEnded++
          })
        },
      },
    )
    await runner.start()
    await runner.joined()
    await producer.send({ topic, messages: [{ value: 'a' }] })
    await waitFor(() => handled.length === 1, 'the record handled')
    // And its batch ended: a batch's tail still under way when Kafka is cut (its heartbeat, waiting out a
    // request timeout) is waited for by the stop up to the worker's deadline, not within stopMs; the
    // stop then took past this test's 30 s about once in twenty runs.
    await waitFor(() => batchesEnded === 1, 'the batch ended')

    proxies.cut()
    const stepsSeen = new Set<string>()
    const stopped = runner.stop().then(
      () => undefined,
      (err: unknown) => err,
    )
    let settled = false
    void stopped.finally(() => {
      settled = true
    })
    await waitFor(() => {
      const step = runner.stopStep?.()
      if (step) stepsSeen.add(step)
      return settled
    }, 'the stop settled')
    const err = await stopped
    expect(err).toBeInstanceOf(TradepulseError)
    expect(err).toMatchObject({ code: 'INFRA_KAFKA' })
    const message = (err as Error).message
    expect(message).toMatch(/^the probe worker's stop could not finish its Kafka steps within 3000 ms: /)
    expect(message).toContain('committing the last offsets to Kafka: not done within 1500 ms')
    expect(message).toContain(`disconnecting the Kafka consumer (leaving group ${groupId}): not done within`)
    // The line the worker exits with names Kafka, its variable, and the steps.
    expect(stopFailedLine(err)).toMatch(
      /^stop failed: Kafka at .* \(KAFKA_BROKERS\) failed: the probe worker's stop could not finish its Kafka steps within 3000 ms: committing the last offsets to Kafka: not done/,
    )
    expect([...stepsSeen]).toContain('committing the last offsets to Kafka')
    expect(lines.filter((l) => l.level >= 50)).toEqual([])
  })

  it('exits a worker process 1 within SHUTDOWN_DEADLINE_MS, its last line naming Kafka and the steps', async () => {
    const name = randomName('stop-unreachable-process')
    const { admin, producer, topic } = await probeInput(name, connected, cleanups)
    const proxies = await cuttableProxies(admin, cleanups)
    await producer.send({ topic, messages: [{ value: 'a' }] })
    // A worker's main as the services' are (runUntilSignal, exitOnFatal), its Kafka client through the proxies.
    const index = fileURLToPath(new URL('../index.ts', import.meta.url))
    const main = `
      import { connect } from 'node:net'
      import { BaseConfig, createBatchRunner, createKafka, createKafkaWorker, createLogger, createProducer, exitOnFatal, kafkaClientConfig, loadConfig, runUntilSignal } from ${JSON.stringify(index)}
      const config = loadConfig(BaseConfig, process.env)
      const log = createLogger({ level: config.LOG_LEVEL, pretty: false, name: 'probe' })
      const proxies = JSON.parse(process.env.PROBE_PROXIES)
      const socketFactory = ({ port, onConnect }) => connect({ host: '127.0.0.1', port: proxies[port] ?? port }, onConnect)
      const kafka = createKafka(kafkaClientConfig(config, 'probe'), log, { socketFactory })
      const transport = { kind: 'kafka', createRunner: (h, c, l, m) => createBatchRunner(kafka, createProducer(kafka, l), h, c, l, m) }
      const handler = async (records) => {
        process.stdout.write('handled\\n')
        return records.map(() => ({ kind: 'ok' }))
      }
      const app = createKafkaWorker({ worker: 'probe', config, log, inputTopics: [process.env.PROBE_TOPIC], dlqTopic: process.env.PROBE_TOPIC, defaultHttpPort: 0, handler, transport })
      await runUntilSignal(app, log, config.SHUTDOWN_DEADLINE_MS).catch((err) => exitOnFatal(err, log))
    `
    const worker = spawnModule(main, {
      PATH: process.env.PATH ?? '',
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_GROUP_ID: randomName('group'),
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
      // Longer than the test: the stop's last commit has something to commit.
      KAFKA_COMMIT_INTERVAL_MS: '600000',
      SHUTDOWN_DEADLINE_MS: '6000',
      HTTP_PORT: '0',
      LOG_LEVEL: 'info',
      PROBE_TOPIC: topic,
      PROBE_PROXIES: JSON.stringify(Object.fromEntries(proxies.ports)),
    })
    cleanups.push(async () => void worker.child.kill('SIGKILL'))
    await waitFor(
      () => worker.output().includes('handled') || worker.exit() !== undefined,
      'the record handled',
      60_000,
    )
    proxies.cut()
    worker.child.kill('SIGTERM')
    const exit = await exitCodeOf(worker)
    const output = worker.output()
    expect(exit, output).toBe(1)
    expect(output).not.toContain('exceeded its deadline')
    const last = output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .at(-1)
    expect(last?.level, output).toBe(50)
    expect(last?.msg).toMatch(
      /^stop failed: Kafka at .* \(KAFKA_BROKERS\) failed: the probe worker's stop could not finish its Kafka steps within 4000 ms: committing the last offsets to Kafka: not done within 2000 ms; disconnecting the Kafka consumer \(leaving group [^)]*\): not done within \d+ ms/,
    )
  })
})

import { spawn } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { fileURLToPath } from 'node:url'
import { KafkaJSProtocolError } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { expectOneLine } from '../test-helpers.ts'
import { type FollowKafka, followTopic } from './tail.ts'

const tail = fileURLToPath(new URL('./tail.ts', import.meta.url))
const platform = fileURLToPath(new URL('../../../platform/src/index.ts', import.meta.url))

/** Kafka's refusal of a join, as kafkajs's consumer crashes with it. */
const refusal = (type: string, code: number) =>
  new KafkaJSProtocolError(
    Object.assign(new Error(`broker refused the join: ${type}`), { type, code, retriable: false }),
  )

/**
 * A Kafka client whose topic has one empty partition and whose consumer's run() crashes as kafkajs's does
 * when its first join is refused: the CRASH event inside run, which then resolves.
 */
function standIn(crash: { error: Error; restart: boolean }) {
  const events = new EventEmitter()
  const crashAgain = (c: { error: Error; restart: boolean }) =>
    events.emit('crash', { payload: { ...c, groupId: 'g' } })
  const kafka: FollowKafka = {
    admin: () =>
      ({
        connect: async () => {},
        disconnect: async () => {},
        fetchTopicOffsets: async () => [{ partition: 0, offset: '0', low: '0', high: '0' }],
      }) as unknown as ReturnType<FollowKafka['admin']>,
    consumer: () =>
      ({
        events: { GROUP_JOIN: 'join', CRASH: 'crash' },
        on: (event: string, listener: (e: unknown) => void) => events.on(event, listener),
        connect: async () => {},
        disconnect: async () => {},
        subscribe: async () => {},
        seek: () => {},
        run: async () => void crashAgain(crash),
      }) as unknown as ReturnType<FollowKafka['consumer']>,
  }
  return { kafka, crashAgain }
}

const follow = (kafka: FollowKafka) =>
  followTopic(kafka, {
    topic: 'alerts.v1',
    groupId: 'tradepulse-tail-1-2',
    fromBeginning: false,
    maxWaitTimeInMs: 100,
    sessionTimeout: 10_000,
    heartbeatInterval: 3_000,
    started: () => {},
    onMessage: () => {},
  })

describe('followTopic when its consumer crashes', () => {
  it('waits through a crash kafkajs restarts from, and fails at one it does not, naming the group', async () => {
    const { kafka, crashAgain } = standIn({ error: new Error('Connection error'), restart: true })
    let outcome: unknown
    const following = follow(kafka).catch((err) => {
      outcome = err
    })
    await new Promise((r) => setImmediate(r))
    expect(outcome).toBeUndefined()
    crashAgain({ error: refusal('TOPIC_AUTHORIZATION_FAILED', 29), restart: false })
    await following
    expect(outcome).toMatchObject({
      code: 'INFRA_KAFKA',
      message:
        'tail alerts, consumer group tradepulse-tail-1-2: the Kafka consumer crashed and kafkajs does not restart it (not permitted): broker refused the join: TOPIC_AUTHORIZATION_FAILED',
    })
  })

  // Nothing listened for the crash: kafkajs disconnected the consumer, run() had resolved, and the process
  // exited 0 after "Following …", kafkajs's own line hidden by the client log (fatal only).
  it.each([
    [
      'an ACL refusing the group: 69, naming KAFKA_BROKERS and the group',
      refusal('GROUP_AUTHORIZATION_FAILED', 30),
      69,
      /^tradepulse: Kafka at kafka-1:9092 \(KAFKA_BROKERS\) failed: tail alerts, consumer group tradepulse-tail-1-2: the Kafka consumer crashed and kafkajs does not restart it \(not permitted\): broker refused the join: GROUP_AUTHORIZATION_FAILED$/,
    ],
    [
      'a session timeout the broker refuses: 78, naming KAFKA_SESSION_TIMEOUT_MS',
      refusal('INVALID_SESSION_TIMEOUT', 26),
      78,
      /^tradepulse: invalid configuration: KAFKA_SESSION_TIMEOUT_MS=10000 refused by the Kafka broker \(INVALID_SESSION_TIMEOUT\)/,
    ],
  ])('exits with one line on a crash kafkajs does not restart from: %s', async (_name, error, code, line) => {
    // As main runs a command: its failure goes to exitOnFatal.
    const main = `
      import kafkajs from 'kafkajs'
      import { exitOnFatal } from ${JSON.stringify(platform)}
      import { followTopic } from ${JSON.stringify(tail)}
      import { EventEmitter } from 'node:events'
      const events = new EventEmitter()
      const error = new kafkajs.KafkaJSProtocolError(Object.assign(new Error(${JSON.stringify(error.message)}), { type: ${JSON.stringify(error.type)}, code: ${error.code}, retriable: false }))
      const kafka = {
        admin: () => ({ connect: async () => {}, disconnect: async () => {}, fetchTopicOffsets: async () => [{ partition: 0, offset: '0', low: '0', high: '0' }] }),
        consumer: () => ({
          events: { GROUP_JOIN: 'join', CRASH: 'crash' },
          on: (event, listener) => events.on(event, listener),
          connect: async () => {}, disconnect: async () => {}, subscribe: async () => {}, seek: () => {},
          run: async () => void events.emit('crash', { payload: { error, groupId: 'g', restart: false } }),
        }),
      }
      try {
        await followTopic(kafka, { topic: 'alerts.v1', groupId: 'tradepulse-tail-1-2', fromBeginning: false, maxWaitTimeInMs: 100, sessionTimeout: 10000, heartbeatInterval: 3000, started: () => process.stderr.write('Following alerts.v1; Ctrl-C to stop.\\n'), onMessage: () => {} })
      } catch (err) {
        exitOnFatal(err)
      }
    `
    const child = spawn(process.execPath, ['--input-type=module', '-e', main], {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      env: { PATH: process.env.PATH ?? '', KAFKA_BROKERS: 'kafka-1:9092' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const exit = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(exit, stderr).toBe(code)
    expect(stderr.startsWith('Following alerts.v1; Ctrl-C to stop.\n'), stderr).toBe(true)
    expectOneLine(stderr.slice('Following alerts.v1; Ctrl-C to stop.\n'.length), line)
  })
})

import { createServer, type Socket } from 'node:net'
import type { TopicSpec } from '@tradepulse/contracts'
import {
  type Admin,
  type Kafka,
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  KafkaJSSASLAuthenticationError,
  logLevel,
  type Producer,
} from 'kafkajs'
import { describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { createCapturingLogger, createLogger } from '../logger.ts'
import {
  brokerSocket,
  connectHost,
  createKafka,
  createProducer,
  ensureTopics,
  kafkaErrorType,
  kafkajsBrokers,
  kafkaLogCreator,
  RECORD_REFUSALS,
} from './kafka-client.ts'

/**
 * A Kafka whose producers are fakes: each fails its sends with the queued errors, then succeeds.
 * `connectGate(n)`: a promise the n-th producer's connect waits for; `sendGate(n)`: one its sends wait
 * for once started. `sent`: the topics of its acknowledged requests; `values`: their records' values.
 */
function fakeKafka(
  opts: {
    connectFails?: (n: number) => boolean
    connectGate?: (n: number) => Promise<void> | undefined
    sendGate?: (n: number) => Promise<void> | undefined
  } = {},
) {
  const made: {
    n: number
    sent: string[]
    values: unknown[]
    started: number
    connected: boolean
    fail: unknown[]
  }[] = []
  const kafka = {
    producer: () => {
      const p = {
        n: made.length,
        sent: [] as string[],
        values: [] as unknown[],
        started: 0,
        connected: false,
        fail: [] as unknown[],
      }
      made.push(p)
      return {
        async connect() {
          await opts.connectGate?.(p.n)
          if (opts.connectFails?.(p.n)) throw new Error('broker down')
          p.connected = true
        },
        async disconnect() {
          p.connected = false
        },
        async sendBatch(batch: { topicMessages: { topic: string; messages: { value: unknown }[] }[] }) {
          p.started++
          await opts.sendGate?.(p.n)
          const err = p.fail.shift()
          if (err) throw err
          p.sent.push(...batch.topicMessages.map((t) => t.topic))
          p.values.push(...batch.topicMessages.flatMap((t) => t.messages.map((m) => m.value)))
          return []
        },
      } as unknown as Producer
    },
  } as unknown as Kafka
  return { kafka, made }
}

/** kafkajs's failure of a send whose request timed out on every try (its retrier's error). */
const timedOut = () =>
  new KafkaJSNumberOfRetriesExceeded(
    new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out', {
      broker: 'b:9092',
      clientId: 'c',
      correlationId: 7,
      createdAt: 0,
      sentAt: 0,
      pendingDuration: 0,
    }),
    { retryCount: 5, retryTime: 3_000 },
  )
/** One record for key K: the same partition each time, whatever the value. */
const reading = (topic: string, value: string) => ({
  topicMessages: [{ topic, messages: [{ key: 'K', value }] }],
})

const kafkaError = (type: string) => Object.assign(new Error(type), { type })
/** A request of two records: a refusal in it renews the producer, a single record's does not. */
const batch = (topic: string) => ({ topicMessages: [{ topic, messages: [{ value: 'v' }, { value: 'w' }] }] })

describe('createProducer', () => {
  it('renews the producer after an out-of-sequence send: the next send goes through a new one', async () => {
    const { kafka, made } = fakeKafka()
    const producer = createProducer(kafka)
    await producer.connect()
    made[0]!.fail.push(kafkaError('OUT_OF_ORDER_SEQUENCE_NUMBER'))
    await expect(producer.sendBatch(batch('a'))).rejects.toThrow('OUT_OF_ORDER_SEQUENCE_NUMBER')
    await producer.sendBatch(batch('b'))
    expect(made).toHaveLength(2)
    expect(made[0]).toMatchObject({ sent: [], connected: false })
    expect(made[1]).toMatchObject({ sent: ['b'], connected: true })
  })

  it('renews after a refusal wrapped by the retrier, and not after a broker refusing a record sent alone', async () => {
    const { kafka, made } = fakeKafka()
    const producer = createProducer(kafka)
    await producer.connect()
    made[0]!.fail.push(kafkaError('LEADER_NOT_AVAILABLE'))
    await expect(producer.sendBatch(reading('a', 'v'))).rejects.toThrow()
    await producer.sendBatch(batch('b'))
    expect(made).toHaveLength(1)
    made[0]!.fail.push(
      Object.assign(new Error('retries exceeded'), { cause: kafkaError('MESSAGE_TOO_LARGE') }),
    )
    await expect(producer.sendBatch(batch('c'))).rejects.toThrow()
    await producer.sendBatch(batch('d'))
    expect(made.map((p) => p.sent)).toEqual([['b'], ['d']])
  })

  it('renews after a refusal in a request of several records: partitions the broker wrote are wound back too', async () => {
    const { kafka, made } = fakeKafka()
    const producer = createProducer(kafka)
    await producer.connect()
    made[0]!.fail.push(kafkaError('LEADER_NOT_AVAILABLE'))
    await expect(producer.sendBatch(batch('a'))).rejects.toThrow('LEADER_NOT_AVAILABLE')
    await producer.sendBatch(batch('b'))
    expect(made.map((p) => p.sent)).toEqual([[], ['b']])
  })

  it('renews after a send whose outcome is unknown (timed out): the next record for the partition goes through a new producer', async () => {
    // The broker may have written the timed-out record: kafkajs winds its sequence back all the same, and
    // the next record alone for the partition, sent on it with the same sequence, would be taken by the
    // broker for that one again, acknowledged and not written.
    const { kafka, made } = fakeKafka()
    const producer = createProducer(kafka)
    await producer.connect()
    made[0]!.fail.push(timedOut())
    await expect(producer.sendBatch(reading('indicators', 'old'))).rejects.toThrow(/timed out/)
    await producer.sendBatch(reading('indicators', 'new'))
    expect(made).toHaveLength(2)
    expect(made[0]).toMatchObject({ values: [], connected: false })
    expect(made[1]).toMatchObject({ values: ['new'], connected: true })
  })

  it('renews after a connection lost under a send, as after a timeout', async () => {
    const { kafka, made } = fakeKafka()
    const producer = createProducer(kafka)
    await producer.connect()
    made[0]!.fail.push(new KafkaJSConnectionError('Connection error: read ECONNRESET', { broker: 'b:9092' }))
    await expect(producer.sendBatch(reading('indicators', 'old'))).rejects.toThrow('ECONNRESET')
    await producer.sendBatch(reading('indicators', 'new'))
    expect(made.map((p) => p.values)).toEqual([[], ['new']])
  })

  it('fails the next send while no new producer connects, never going back to the old one; the send after Kafka is back renews', async () => {
    let down = true
    const { kafka, made } = fakeKafka({ connectFails: (n) => n > 0 && down })
    const producer = createProducer(kafka)
    await producer.connect()
    made[0]!.fail.push(timedOut())
    await expect(producer.sendBatch(reading('indicators', 'old'))).rejects.toThrow(/timed out/)
    await expect(producer.sendBatch(reading('indicators', 'new'))).rejects.toThrow('broker down')
    down = false
    await producer.sendBatch(reading('indicators', 'newer'))
    expect(made.flatMap((p) => p.values)).toEqual(['newer'])
    expect(made.at(-1)).toMatchObject({ values: ['newer'], connected: true })
    expect(made.filter((p) => p.connected)).toHaveLength(1)
  })

  it('keeps sequence faults renewing, and fails the next send while no new producer connects', async () => {
    let down = true
    const { kafka, made } = fakeKafka({ connectFails: (n) => n > 0 && down })
    const producer = createProducer(kafka)
    await producer.connect()
    made[0]!.fail.push(kafkaError('UNKNOWN_PRODUCER_ID'))
    await expect(producer.sendBatch(reading('a', 'v'))).rejects.toThrow('UNKNOWN_PRODUCER_ID')
    await expect(producer.sendBatch(batch('b'))).rejects.toThrow('broker down')
    down = false
    await producer.sendBatch(batch('c'))
    expect(made.flatMap((p) => p.sent)).toEqual(['c'])
    expect(made[0]!.connected).toBe(false)
  })

  it('sends one request at a time: a send made while another is out waits for it, and goes through the renewed producer', async () => {
    // Otherwise a send made while kafkajs retried the first (or as it failed) took the sequence wound
    // back for it, on the producer about to be dropped.
    let open = () => {}
    const gate = new Promise<void>((r) => {
      open = r
    })
    const { kafka, made } = fakeKafka({ sendGate: (n) => (n === 0 ? gate : undefined) })
    const producer = createProducer(kafka)
    await producer.connect()
    made[0]!.fail.push(timedOut())
    const first = producer.sendBatch(reading('indicators', 'old'))
    const second = producer.sendBatch(reading('indicators', 'new'))
    await new Promise((r) => setImmediate(r))
    expect(made[0]!.started).toBe(1)
    open()
    await expect(first).rejects.toThrow(/timed out/)
    await second
    expect(made.map((p) => [p.started, p.values])).toEqual([
      [1, []],
      [1, ['new']],
    ])
  })

  it('leaves nothing connected when disconnected while renewing, without waiting for the renewal', async () => {
    let open = () => {}
    const gate = new Promise<void>((r) => {
      open = r
    })
    const { kafka, made } = fakeKafka({ connectGate: (n) => (n === 1 ? gate : undefined) })
    const producer = createProducer(kafka)
    await producer.connect()
    made[0]!.fail.push(kafkaError('INVALID_PRODUCER_EPOCH'))
    await expect(producer.sendBatch(batch('a'))).rejects.toThrow()
    // The new producer's connect is still under way: the disconnect does not wait for it.
    await producer.disconnect()
    expect(made[0]!.connected).toBe(false)
    open()
    await new Promise((r) => setImmediate(r))
    expect(made).toHaveLength(2)
    expect(made.map((p) => p.connected)).toEqual([false, false])
  })

  it('does not renew after the refusal of a record sent alone, whose sequence kafkajs rewinds right', async () => {
    const { kafka, made } = fakeKafka()
    const producer = createProducer(kafka)
    await producer.connect()
    made[0]!.fail.push(kafkaError('MESSAGE_TOO_LARGE'))
    const alone = { topicMessages: [{ topic: 'a', messages: [{ value: 'v' }] }] }
    await expect(producer.sendBatch(alone)).rejects.toThrow('MESSAGE_TOO_LARGE')
    await producer.sendBatch(alone)
    expect(made).toHaveLength(1)
  })
})

describe('kafkaErrorType', () => {
  it('finds a type in the error or an error it wraps, within five levels', () => {
    const deep = (levels: number) => {
      let e: unknown = kafkaError('MESSAGE_TOO_LARGE')
      for (let i = 0; i < levels; i++) e = Object.assign(new Error('wrap'), { cause: e })
      return e
    }
    expect(kafkaErrorType(deep(0), RECORD_REFUSALS)).toBe('MESSAGE_TOO_LARGE')
    expect(kafkaErrorType(deep(4), RECORD_REFUSALS)).toBe('MESSAGE_TOO_LARGE')
    expect(kafkaErrorType(deep(5), RECORD_REFUSALS)).toBeUndefined()
    expect(kafkaErrorType(kafkaError('NOT_LEADER_FOR_PARTITION'), RECORD_REFUSALS)).toBeUndefined()
  })
})

describe('kafkaLogCreator', () => {
  it("keeps kafkajs's crash line for a refused session timeout at debug (the runner reports it), others at error", () => {
    const { log, lines } = createCapturingLogger('debug')
    const write = kafkaLogCreator(log)()
    const crash = (message: string) =>
      write({ namespace: 'Consumer', level: logLevel.ERROR, log: { message: `Crash: ${message}` } })
    crash(
      'KafkaJSProtocolError: The session timeout is not within the range allowed by the broker (as configured by group.min.session.timeout.ms and group.max.session.timeout.ms)',
    )
    crash('KafkaJSNumberOfRetriesExceeded: Connection error: connect ECONNREFUSED 127.0.0.1:9')
    expect(lines.map((l) => [l.level, l.msg.split(':')[1]?.trim()])).toEqual([
      [20, 'KafkaJSProtocolError'],
      [50, 'KafkaJSNumberOfRetriesExceeded'],
    ])
  })

  it('takes an Error given as the message (kafkajs does for a connection refused for good) without throwing into kafkajs', () => {
    const { log, lines } = createCapturingLogger('debug')
    const write = kafkaLogCreator(log)()
    // kafkajs's types give this class no constructor arguments; it takes a message as every KafkaJSError.
    const refusal = new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)(
      'SASL SCRAM SHA512 authentication failed: Authentication failed during re-authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512',
    )
    // As brokerPool's connectBroker logs it, just before it hands the error on.
    expect(() =>
      write({
        namespace: 'BrokerPool',
        level: logLevel.ERROR,
        log: { message: refusal, retryCount: 0, retryTime: 300, stack: refusal.stack },
      }),
    ).not.toThrow()
    expect(lines).toMatchObject([
      {
        level: 50,
        kafka: 'BrokerPool',
        msg: `KafkaJSSASLAuthenticationError: ${refusal.message}`,
        err: { type: 'KafkaJSSASLAuthenticationError', message: refusal.message },
      },
    ])
  })
})

/**
 * An admin whose topic metadata answers as a loaded broker does for a topic it has just created:
 * UNKNOWN_TOPIC_OR_PARTITION `unknown` times, then a partition without a leader, then the leader.
 */
function loadedBrokerAdmin(unknown: number, existing: string[] = []) {
  const calls = { created: [] as { waitForLeaders?: boolean; topics: string[] }[], fetches: 0 }
  const admin = {
    listTopics: async () => existing,
    createTopics: async (o: { waitForLeaders?: boolean; topics: { topic: string }[] }) => {
      calls.created.push({ waitForLeaders: o.waitForLeaders, topics: o.topics.map((t) => t.topic) })
      return true
    },
    fetchTopicMetadata: async ({ topics }: { topics: string[] }) => {
      calls.fetches++
      if (calls.fetches <= unknown)
        throw new KafkaJSProtocolError('This server does not host this topic-partition')
      const leader = calls.fetches === unknown + 1 ? -1 : 0
      return { topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader }] })) }
    },
  }
  return { admin: admin as unknown as Admin, calls }
}

const spec = (name: string): TopicSpec => ({
  name,
  schema: z.unknown(),
  partitions: 1,
  compacted: false,
  retentionMs: 60_000,
})

describe('ensureTopics', () => {
  it('waits out UNKNOWN_TOPIC_OR_PARTITION and a missing leader for a topic just created (kafkajs gave up)', async () => {
    const { admin, calls } = loadedBrokerAdmin(3)
    expect(await ensureTopics(admin, [spec('a'), spec('b')])).toEqual(['a', 'b'])
    expect(calls.created).toEqual([{ waitForLeaders: false, topics: ['a', 'b'] }])
    expect(calls.fetches).toBe(5) // three unknown, one without a leader, then both led
  })
  it('creates only the missing topics, and nothing when all exist', async () => {
    const some = loadedBrokerAdmin(0, ['a'])
    expect(await ensureTopics(some.admin, [spec('a'), spec('b')])).toEqual(['b'])
    expect(some.calls.created).toEqual([{ waitForLeaders: false, topics: ['b'] }])
    const all = loadedBrokerAdmin(0, ['a', 'b'])
    expect(await ensureTopics(all.admin, [spec('a'), spec('b')])).toEqual([])
    expect(all.calls.created).toEqual([])
  })
  it('waits for the leaders by a monotonic clock: a wall clock stepped forward an hour does not give up at once', async () => {
    // The deadline was Date.now() + 30 s: an NTP step forward during the wait failed the start with
    // "no leader after 30000 ms" a few ms in.
    const realNow = Date.now.bind(Date)
    const { admin, calls } = loadedBrokerAdmin(1)
    const fetch = admin.fetchTopicMetadata.bind(admin)
    admin.fetchTopicMetadata = async (o) => {
      const answer = await fetch(o)
      vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 3_600_000)
      return answer
    }
    try {
      expect(await ensureTopics(admin, [spec('a')])).toEqual(['a'])
      expect(calls.fetches).toBe(3) // unknown, without a leader, then led
    } finally {
      vi.restoreAllMocks()
    }
  })
})

describe('IPv6 bootstrap brokers', () => {
  it('are given to kafkajs as names without colons that it splits right, and turned back into addresses', () => {
    const given = [
      '[::1]:9092',
      '[2001:db8::7]:19092',
      '[fe80::1%eth-0]:9092',
      '10.0.0.5:9092',
      'kafka-0:9092',
    ]
    const passed = kafkajsBrokers(given)
    expect(passed).toEqual([
      '--1.ipv6-literal.invalid:9092',
      '2001-db8--7.ipv6-literal.invalid:19092',
      'fe80--1seth-0.ipv6-literal.invalid:9092',
      '10.0.0.5:9092',
      'kafka-0:9092',
    ])
    // kafkajs's own split (connectionPoolBuilder): host before the first colon, port after it.
    const split = passed.map((b) => [connectHost(b.split(':')[0]!), Number(b.split(':')[1])])
    expect(split).toEqual([
      ['::1', 9092],
      ['2001:db8::7', 19092],
      ['fe80::1%eth-0', 9092],
      ['10.0.0.5', 9092],
      ['kafka-0', 9092],
    ])
  })

  /** A TCP server on [::1] that counts the connections it is given and closes them. */
  async function ipv6Listener() {
    const peers: string[] = []
    const server = createServer((socket: Socket) => {
      peers.push(String(socket.remoteAddress))
      socket.destroy()
    })
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '::1', resolve))
    const { port } = server.address() as { port: number }
    return { port, peers, close: () => new Promise((r) => server.close(r)) }
  }

  it("connects to the address a kafkajs host stands for (the client's socket factory)", async () => {
    const listener = await ipv6Listener()
    try {
      const [host, port] = kafkajsBrokers([`[::1]:${listener.port}`])[0]!.split(':') as [string, string]
      const socket = await new Promise<Socket>((resolve, reject) => {
        const s = brokerSocket({
          host,
          port: Number(port),
          ssl: undefined as never,
          onConnect: () => resolve(s),
        })
        s.once('error', reject)
      })
      expect(socket.remoteAddress).toBe('::1')
      socket.destroy()
    } finally {
      await listener.close()
    }
  })

  it('reach a broker at [::1]:port through createKafka (kafkajs alone looked up the host "[")', async () => {
    const listener = await ipv6Listener()
    try {
      const kafka = createKafka(
        { brokers: [`[::1]:${listener.port}`], clientId: 'v6' },
        createLogger({ level: 'silent' }),
        {
          logLevel: logLevel.NOTHING,
          retry: { retries: 0 },
        },
      )
      const admin = kafka.admin()
      // Not a broker: the connection is closed at once, and the connect fails; but it reached [::1].
      await expect(admin.connect()).rejects.toThrow()
      await admin.disconnect()
      expect(listener.peers).toEqual(['::1'])
    } finally {
      await listener.close()
    }
  })
})

import type { DeadLetter } from '@tradepulse/contracts'
import {
  BaseConfig,
  type BatchHandler,
  type BatchRunnerConfig,
  createBatchRunner,
  createCapturingLogger,
  createKafka,
  createKafkaTransport,
  createKafkaWorker,
  createLogger,
  createProducer,
  type Logger,
  loadConfig,
  TradepulseError,
  type Transport,
} from '@tradepulse/platform'
import { collectTopic, createTopics, randomName, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { testKafka } from '@tradepulse/testing/kafka'
import { type Admin, type Kafka, KafkaJSError, KafkaJSProtocolError, type TopicMessages } from 'kafkajs'
import { afterEach, describe, expect, it } from 'vitest'

const silent = createLogger({ level: 'silent' })

describe('batch runner on Kafka', () => {
  const { kafkaBrokers } = testInfra()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  /**
   * A worker on fresh topics. `opts`: input partitions, event-time alignment, a logger, and `admin`,
   * which wraps every admin client the runner makes (to put faults in its requests).
   */
  async function run(
    handler: BatchHandler,
    env: Record<string, string> = {},
    opts: {
      partitions?: number
      align?: BatchRunnerConfig['align']
      log?: Logger
      admin?: (admin: Admin) => Admin
      /** Written to the input topic before the worker starts. */
      backlog?: (topic: string) => TopicMessages[]
      /** The runner's stall limit (BatchRunnerConfig.stallAfterMs). */
      stallAfterMs?: number
      /** How long the runner asks for the partition ends again (BatchRunnerConfig.endsRetryMs). */
      endsRetryMs?: number
    } = {},
  ) {
    const name = randomName('runner')
    const topics = { in: `${name}.in`, out: `${name}.out`, dlq: `${name}.dlq` }
    await createTopics(
      kafkaBrokers,
      Object.values(topics).map((n) => ({
        name: n,
        ...(n === topics.in ? { partitions: opts.partitions ?? 1 } : {}),
      })),
    )
    const config = loadConfig(BaseConfig, {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      KAFKA_GROUP_ID: name,
      HTTP_PORT: '0',
      RETRY_BASE_MS: '20',
      RETRY_MAX_MS: '50',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
      ...env,
    })
    const log = opts.log ?? silent
    const wrap = opts.admin ?? ((admin: Admin) => admin)
    let transport: Transport | undefined
    if (opts.admin || opts.stallAfterMs !== undefined) {
      const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: name }, log)
      const faulty = Object.assign(Object.create(kafka) as Kafka, { admin: () => wrap(kafka.admin()) })
      const stall = {
        ...(opts.stallAfterMs !== undefined ? { stallAfterMs: opts.stallAfterMs } : {}),
        ...(opts.endsRetryMs !== undefined ? { endsRetryMs: opts.endsRetryMs } : {}),
      }
      transport = {
        ...createKafkaTransport({ brokers: config.KAFKA_BROKERS, clientId: name }, log),
        createRunner: (h, c, l, m) =>
          createBatchRunner(faulty, createProducer(kafka, l), h, { ...c, ...stall }, l, m),
      }
    }
    const worker = createKafkaWorker({
      worker: 'test',
      config,
      log,
      inputTopics: [topics.in],
      dlqTopic: topics.dlq,
      handler,
      defaultHttpPort: 0,
      ...(opts.align ? { align: opts.align } : {}),
      ...(transport ? { transport } : {}),
    })
    cleanups.push(() => worker.stop())
    const out = await collectTopic(kafkaBrokers, topics.out)
    const dlq = await collectTopic(kafkaBrokers, topics.dlq)
    const producer = await testProducer(kafkaBrokers)
    cleanups.push(out.stop, dlq.stop, () => producer.disconnect())
    if (opts.backlog) await producer.sendBatch({ topicMessages: opts.backlog(topics.in) })
    await worker.start()
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    cleanups.push(() => admin.disconnect())
    /** The group's committed offsets on the input topic, summed over partitions (records committed). */
    const committed = async () =>
      (await admin.fetchOffsets({ groupId: name, topics: [topics.in] }))[0]!.partitions.reduce(
        (a, p) => a + Math.max(0, Number(p.offset)),
        0,
      )
    /** The group's committed offset on `partition` of the input topic (0 when none). */
    const committedAt = async (partition: number) =>
      Math.max(
        0,
        Number(
          (await admin.fetchOffsets({ groupId: name, topics: [topics.in] }))[0]!.partitions.find(
            (p) => p.partition === partition,
          )?.offset ?? -1,
        ),
      )
    return { worker, topics, out, dlq, producer, committed, committedAt, groupId: name }
  }
  /**
   * The output topic `missing` does not exist: waits for a Kafka fault to be retried, checks nothing is
   * committed, creates the topic, then waits for all `n` records there and committed.
   */
  async function expectNothingCommittedUntilTopicExists(
    worker: { metrics: { registry: { getSingleMetricAsString(name: string): Promise<string> } } },
    committed: () => Promise<number>,
    missing: string,
    n: number,
  ) {
    await waitFor(
      async () =>
        /code="INFRA_KAFKA"[^\n]*} [1-9]/.test(
          await worker.metrics.registry.getSingleMetricAsString('tradepulse_infra_retries_total'),
        ),
      { what: 'a Kafka fault retried', timeoutMs: 60_000 },
    )
    expect(await committed()).toBe(0)
    await createTopics(kafkaBrokers, [{ name: missing }])
    const late = await collectTopic(kafkaBrokers, missing)
    cleanups.push(late.stop)
    await waitFor(() => late.messages.length >= n, {
      what: `${n} out once the topic exists`,
      timeoutMs: 60_000,
    })
    await waitFor(async () => (await committed()) === n, { what: `${n} committed` })
  }
  const echo =
    (topic: string): BatchHandler =>
    async (records) =>
      records.map((r) => ({
        kind: 'ok' as const,
        out: [{ topic, key: r.key?.toString() ?? null, value: r.value ?? '' }],
      }))

  it('retries a batch whose handler asks to, and produces it once when the dependency is back', async () => {
    let calls = 0
    let target = ''
    const { topics, out, producer, worker } = await run(async (records, ctx) => {
      calls++
      if (calls <= 3) return records.map(() => ({ kind: 'retry' as const, reason: 'pricing service down' }))
      return echo(target)(records, ctx)
    })
    target = topics.out
    await producer.send({
      topic: topics.in,
      messages: [
        { key: 'a', value: '1' },
        { key: 'a', value: '2' },
      ],
    })
    await waitFor(() => out.messages.length >= 2, { what: 'output after retries' })
    expect(out.messages.map((m) => m.value!.toString())).toEqual(['1', '2'])
    expect(calls).toBeGreaterThanOrEqual(4)
    expect(await worker.metrics.registry.getSingleMetricAsString('tradepulse_infra_retries_total')).toMatch(
      /code="INFRA_DEPENDENCY"[^\n]* 3/,
    )
  })

  it('reports degraded, not failed, while a batch waits out a fault longer than the stall limit', async () => {
    let retrying = true
    let target = ''
    const { topics, out, producer, worker } = await run(
      async (records, ctx) => {
        if (retrying) return records.map(() => ({ kind: 'retry' as const, reason: 'pricing service down' }))
        return echo(target)(records, ctx)
      },
      {},
      // Any gap in the runner's progress longer than the limit reads as a stall (failed), and a loaded
      // machine stalls a process for a few hundred ms now and then (a slow heartbeat, a GC): the limit is
      // seconds, not the half second it was, and the wait four times it.
      { stallAfterMs: 2_000 },
    )
    target = topics.out
    await worker.runner.joined()
    await producer.send({ topic: topics.in, messages: [{ key: 'a', value: '1' }] })
    // Well past the stall limit with the batch retrying (and no fetch meanwhile): degraded all along.
    const seen = new Set<string>()
    const t0 = Date.now()
    await waitFor(
      async () => {
        const h = await worker.runner.health()
        seen.add(h.status)
        return Date.now() - t0 > 8_000 && seen.has('degraded')
      },
      { what: 'eight seconds of retries', intervalMs: 50 },
    )
    expect([...seen]).not.toContain('failed')
    retrying = false
    await waitFor(() => out.messages.length >= 1, { what: 'output once the dependency is back' })
  })

  it("exports the lag of a batch while it retries, not the last finished batch's 0", async () => {
    let retrying = true
    let target = ''
    const { topics, out, producer, worker } = await run(async (records, ctx) => {
      if (retrying && records.some((r) => r.value?.toString() === 'stuck'))
        return records.map(() => ({ kind: 'retry' as const, reason: 'pricing service down' }))
      return echo(target)(records, ctx)
    })
    target = topics.out
    const lag = async () =>
      /tradepulse_consumer_lag\{topic="[^"]+",partition="0",worker="test"\} (\d+)/.exec(
        await worker.metrics.registry.getSingleMetricAsString('tradepulse_consumer_lag'),
      )?.[1]
    await producer.send({ topic: topics.in, messages: [{ value: 'first' }] })
    await waitFor(async () => out.messages.length === 1 && (await lag()) === '0', { what: 'lag 0 once done' })
    await producer.send({
      topic: topics.in,
      messages: [{ value: 'stuck' }, ...Array.from({ length: 20 }, (_, i) => ({ value: `behind-${i}` }))],
    })
    await waitFor(async () => (await lag()) === '21', { what: 'the waiting batch in the lag' })
    retrying = false
    await waitFor(() => out.messages.length === 22, { what: 'everything out once the dependency is back' })
    await waitFor(async () => (await lag()) === '0', { what: 'lag 0 again' })
  })

  it('keeps its session through a batch that takes longer than the session timeout: nothing read twice', async () => {
    // A slow dependency holds one attempt of the handler past the session timeout (6 s here); the member
    // must not be taken for dead meanwhile, or its partition is handed round and the batch read again.
    const seen: string[] = []
    let target = ''
    const { topics, out, producer, worker } = await run(async (records, ctx) => {
      for (const r of records) seen.push(r.value!.toString())
      if (seen.length === 1) await new Promise((r) => setTimeout(r, 8_000))
      return echo(target)(records, ctx)
    })
    target = topics.out
    await worker.runner.joined()
    await producer.send({ topic: topics.in, messages: [{ key: 'a', value: 'slow' }] })
    await waitFor(() => out.messages.length >= 1, { what: 'the slow batch out', timeoutMs: 30_000 })
    await producer.send({ topic: topics.in, messages: [{ key: 'a', value: 'next' }] })
    await waitFor(() => out.messages.length >= 2, { what: 'the next batch out', timeoutMs: 30_000 })
    expect(seen).toEqual(['slow', 'next'])
    expect(out.messages.map((m) => m.value!.toString())).toEqual(['slow', 'next'])
  })

  it('stops exporting the lag of a partition another member took at a rebalance', async () => {
    let target = ''
    const handler: BatchHandler = async (records, ctx) => echo(target)(records, ctx)
    const first = await run(handler, {}, { partitions: 2 })
    target = first.topics.out
    await first.worker.runner.joined()
    await first.producer.send({
      topic: first.topics.in,
      messages: [0, 1].map((partition) => ({ partition, key: 'k', value: String(partition) })),
    })
    await waitFor(() => first.out.messages.length >= 2, { what: 'both partitions read' })
    const lagOf = async () =>
      [
        ...(await first.worker.metrics.registry.getSingleMetricAsString('tradepulse_consumer_lag')).matchAll(
          /partition="(\d)"/g,
        ),
      ].map((m) => m[1])
    expect((await lagOf()).sort()).toEqual(['0', '1'])
    // A second member of the same group takes one partition.
    const config = loadConfig(BaseConfig, {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      KAFKA_GROUP_ID: first.groupId,
      HTTP_PORT: '0',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
    })
    const second = createKafkaWorker({
      worker: 'test',
      config,
      log: silent,
      inputTopics: [first.topics.in],
      dlqTopic: first.topics.dlq,
      handler,
      defaultHttpPort: 0,
    })
    cleanups.push(() => second.stop())
    await second.start()
    await second.runner.joined()
    await waitFor(async () => (await lagOf()).length === 1, {
      what: "the first member's lag of one partition",
    })
  })

  it('isolates a record that makes the handler throw a bug: it goes to the dlq, the rest pass', async () => {
    let target = ''
    const { topics, out, dlq, producer } = await run(async (records, ctx) => {
      if (records.some((r) => r.value?.toString() === 'boom')) throw new TypeError('cannot read boom')
      return echo(target)(records, ctx)
    })
    target = topics.out
    await producer.send({
      topic: topics.in,
      messages: ['x', 'boom', 'y'].map((v) => ({ key: 'k', value: v })),
    })
    await waitFor(() => out.messages.length >= 2 && dlq.messages.length >= 1, { what: 'output and dlq' })
    expect(out.messages.map((m) => m.value!.toString())).toEqual(['x', 'y'])
    const letter = JSON.parse(dlq.messages[0]!.value!.toString()) as DeadLetter
    expect(letter).toMatchObject({ reason: 'handler_error', payload: 'boom', origin: { topic: topics.in } })
    expect(letter.message).toContain('cannot read boom')
  })

  it('sends a record whose output the broker refuses as too large to the dlq, and goes on with the rest', async () => {
    // 'big' turns into a 2 MB record, over the broker's 1 MB max.message.bytes: refused for good.
    let target = ''
    const { topics, out, dlq, producer, committed } = await run(async (records) =>
      records.map((r) => ({
        kind: 'ok' as const,
        out: [
          {
            topic: target,
            key: 'k',
            value: r.value?.toString() === 'big' ? 'x'.repeat(2_000_000) : r.value!,
          },
        ],
      })),
    )
    target = topics.out
    await producer.send({
      topic: topics.in,
      messages: ['a', 'big', 'c'].map((v) => ({ key: 'k', value: v })),
    })
    // 'a' may come twice, so the wait is for both values, not for two records.
    const values = () => new Set(out.messages.map((m) => m.value!.toString()))
    await waitFor(() => values().size >= 2 && dlq.messages.length >= 1, {
      what: 'the others out and the refused one in the dlq',
      timeoutMs: 30_000,
    })
    // 'a' may come twice: the request that wrote it was part of the one that failed (consumers
    // deduplicate by id).
    expect([...new Set(out.messages.map((m) => m.value!.toString()))]).toEqual(['a', 'c'])
    const letter = JSON.parse(dlq.messages[0]!.value!.toString()) as DeadLetter
    expect(letter).toMatchObject({ reason: 'output_refused', payload: 'big', origin: { topic: topics.in } })
    expect(letter.message).toMatch(/MESSAGE_TOO_LARGE|too large/i)
    await waitFor(async () => (await committed()) === 3, { what: 'all three committed' })
  })

  it("goes on producing after a refusal in a request that other partitions' records shared", async () => {
    // 'big' goes to a second topic, which takes records of at most 1 KB, the others to the output topic:
    // one request carries both partitions; the broker writes 'a' to 'd' and refuses 'big'. kafkajs then rewinds the sequence of every
    // partition of the request, so the idempotent producer would send 'a' alone under a sequence the
    // broker already holds for 'a' and 'b' (OUT_OF_ORDER_SEQUENCE_NUMBER for ever) unless it is renewed.
    let target = ''
    const other = `${randomName('other')}.out`
    await createTopics(kafkaBrokers, [{ name: other, config: { 'max.message.bytes': '1024' } }])
    const { topics, out, dlq, producer, committed } = await run(async (records) =>
      records.map((r) => {
        const v = r.value!.toString()
        return {
          kind: 'ok' as const,
          out: [
            v === 'big'
              ? { topic: other, key: 'k', value: 'x'.repeat(5_000) }
              : { topic: target, key: 'k', value: v },
          ],
        }
      }),
    )
    target = topics.out
    await producer.send({
      topic: topics.in,
      messages: ['a', 'b', 'big', 'c', 'd'].map((v) => ({ key: 'k', value: v })),
    })
    await waitFor(() => dlq.messages.length >= 1, { what: 'the refused one in the dlq', timeoutMs: 30_000 })
    await waitFor(async () => (await committed()) === 5, { what: 'all five committed', timeoutMs: 30_000 })
    await producer.send({ topic: topics.in, messages: [{ key: 'k', value: 'e' }] })
    await waitFor(async () => (await committed()) === 6, {
      what: 'a later record committed',
      timeoutMs: 30_000,
    })
    // Committed means acknowledged; the test's own reader may still be behind.
    await waitFor(() => out.messages.some((m) => m.value!.toString() === 'e'), { what: "'e' read back" })
    expect([...new Set(out.messages.map((m) => m.value!.toString()))]).toEqual(['a', 'b', 'c', 'd', 'e'])
    const letter = JSON.parse(dlq.messages[0]!.value!.toString()) as DeadLetter
    expect(letter).toMatchObject({ reason: 'output_refused', payload: 'big' })
  })

  it('produces output larger than a broker record batch in parts, in order, instead of stalling', async () => {
    // Each input fans out to 40 records of 20 KB on one key (one partition): 800 KB per input, 2.4 MB for
    // the batch, far above the broker's 1 MB max.message.bytes for one record batch.
    let target = ''
    const { topics, out, producer } = await run(async (records) =>
      records.map((r) => ({
        kind: 'ok' as const,
        out: Array.from({ length: 40 }, (_, i) => ({
          topic: target,
          key: 'one-key',
          value: `${r.value?.toString()}-${i}-${'x'.repeat(20_000)}`,
        })),
      })),
    )
    target = topics.out
    await producer.send({ topic: topics.in, messages: ['a', 'b', 'c'].map((v) => ({ key: 'k', value: v })) })
    await waitFor(() => out.messages.length >= 120, { what: '120 large records', timeoutMs: 30_000 })
    const heads = out.messages.map((m) => m.value!.toString().split('-x')[0]!.replace(/-x+$/, ''))
    expect(heads).toEqual(['a', 'b', 'c'].flatMap((v) => Array.from({ length: 40 }, (_, i) => `${v}-${i}`)))
  })

  it('commits finished offsets on its timer, not per batch, and everything finished at a graceful stop', async () => {
    let target = ''
    // A timer far longer than the test: whatever is committed comes from the stop's last commit.
    const { topics, out, producer, worker, committed } = await run(
      async (records, ctx) => echo(target)(records, ctx),
      { KAFKA_COMMIT_INTERVAL_MS: '600000' },
    )
    target = topics.out
    for (let i = 0; i < 5; i++) {
      await producer.send({
        topic: topics.in,
        messages: Array.from({ length: 10 }, (_, j) => ({ key: `k${j}`, value: `${i}-${j}` })),
      })
    }
    await waitFor(() => out.messages.length >= 50, { what: '50 out' })
    expect(await committed()).toBe(0)
    await worker.stop()
    expect(await committed()).toBe(50)
  })

  it('commits nothing while the output cannot be produced, then everything once it can', async () => {
    // The output topic does not exist yet: every produce fails (after kafkajs's own retries) and the
    // runner keeps retrying the batch; nothing may be committed meanwhile, however short the interval.
    const missing = `${randomName('late')}.out`
    const { topics, producer, committed, worker } = await run(
      async (records) =>
        records.map((r) => ({
          kind: 'ok' as const,
          out: [{ topic: missing, key: null, value: r.value ?? '' }],
        })),
      { KAFKA_COMMIT_INTERVAL_MS: '100' },
    )
    await producer.send({
      topic: topics.in,
      messages: Array.from({ length: 20 }, (_, j) => ({ key: `k${j}`, value: `v${j}` })),
    })
    await expectNothingCommittedUntilTopicExists(worker, committed, missing, 20)
  })

  it('commits what it finished every KAFKA_COMMIT_INTERVAL_MS while it runs', async () => {
    let target = ''
    const { topics, out, producer, committed } = await run(
      async (records, ctx) => echo(target)(records, ctx),
      {
        KAFKA_COMMIT_INTERVAL_MS: '200',
      },
    )
    target = topics.out
    await producer.send({
      topic: topics.in,
      messages: Array.from({ length: 30 }, (_, j) => ({ key: `k${j}`, value: `v${j}` })),
    })
    await waitFor(() => out.messages.length >= 30, { what: '30 out' })
    await waitFor(async () => (await committed()) === 30, { what: '30 committed by the timer' })
  })

  it('commits a deferred batch only once its work is done, and handles the next batch meanwhile', async () => {
    let target = ''
    const works: { values: string[]; release: () => void }[] = []
    const handled: string[] = []
    // Partition 1 takes markers, handled without deferral: its commits show the timer committed after
    // partition 0's chunks were handled (or their work done), when a wrong commit of them would be made.
    const { topics, out, producer, committedAt } = await run(
      async (records, ctx) => {
        if (records[0]!.value!.toString().startsWith('mark'))
          return records.map(() => ({ kind: 'ok' as const }))
        const values = records.map((r) => r.value!.toString())
        handled.push(...values)
        let release = () => {}
        const work = new Promise<void>((r) => {
          release = r
        }).then(() => values.map((v) => ({ topic: target, key: null, value: `done-${v}` })))
        works.push({ values, release })
        ctx.defer!(work)
        return records.map(() => ({ kind: 'ok' as const }))
      },
      { KAFKA_COMMIT_INTERVAL_MS: '50', KAFKA_MAX_BATCH: '5' },
      { partitions: 2 },
    )
    target = topics.out
    // A failure part way leaves work held, which the worker's stop would wait for.
    cleanups.push(async () => {
      for (const w of works) w.release()
    })
    const mark = async (n: number) => {
      await producer.send({ topic: topics.in, messages: [{ partition: 1, value: `mark${n}` }] })
      await waitFor(async () => (await committedAt(1)) === n, {
        what: `marker ${n} committed on partition 1`,
      })
    }
    await producer.send({
      topic: topics.in,
      messages: Array.from({ length: 10 }, (_, j) => ({ partition: 0, value: `v${j}` })),
    })
    // The first chunk's work is held; the second chunk is handled anyway.
    await waitFor(() => handled.length >= 10, { what: 'both chunks handled' })
    expect(works.map((w) => w.values)).toEqual([
      ['v0', 'v1', 'v2', 'v3', 'v4'],
      ['v5', 'v6', 'v7', 'v8', 'v9'],
    ])
    await mark(1)
    expect(await committedAt(0)).toBe(0)
    expect(out.messages).toEqual([])
    // Released out of order: the second chunk's output goes out, but nothing is committed before the
    // first chunk is done.
    works[1]!.release()
    await waitFor(() => out.messages.length >= 5, { what: "the second chunk's output" })
    await mark(2)
    expect(await committedAt(0)).toBe(0)
    works[0]!.release()
    await waitFor(async () => (await committedAt(0)) === 10, { what: '10 committed' })
    await waitFor(() => out.messages.length >= 10, { what: 'the deferred output' })
    expect(out.messages.map((m) => m.value!.toString()).sort()).toEqual(
      Array.from({ length: 10 }, (_, j) => `done-v${j}`).sort(),
    )
  })

  it('reads a deferred batch again, without deferral, when its work fails; nothing is lost', async () => {
    let target = ''
    let failures = 0
    const calls: { values: string[]; deferred: boolean }[] = []
    const { topics, out, producer, committed, worker } = await run(
      async (records, ctx) => {
        const values = records.map((r) => r.value!.toString())
        calls.push({ values, deferred: ctx.defer !== undefined })
        const output = values.map((v) => ({ topic: target, key: null, value: v }))
        if (ctx.defer) {
          ctx.defer(
            failures++ === 0
              ? Promise.reject(new TradepulseError('INFRA_REDIS', 'redis went away'))
              : Promise.resolve(output),
          )
          return records.map(() => ({ kind: 'ok' as const }))
        }
        return records.map((_, i) => ({ kind: 'ok' as const, out: [output[i]!] }))
      },
      { KAFKA_COMMIT_INTERVAL_MS: '50' },
    )
    target = topics.out
    await producer.send({
      topic: topics.in,
      messages: Array.from({ length: 6 }, (_, j) => ({ key: 'one', value: `v${j}` })),
    })
    await waitFor(async () => (await committed()) === 6, { what: '6 committed' })
    await waitFor(() => new Set(out.messages.map((m) => m.value!.toString())).size === 6, {
      what: 'every record in the output',
    })
    // The failed batch came again and was handled without deferral.
    const first = calls[0]!
    expect(first.deferred).toBe(true)
    const again = calls.find((c, i) => i > 0 && c.values[0] === first.values[0])
    expect(again?.deferred).toBe(false)
    expect(await worker.metrics.registry.getSingleMetricAsString('tradepulse_infra_retries_total')).toMatch(
      /code="INFRA_REDIS"[^\n]* 1/,
    )
  })

  it('marks nothing after a failed deferred chunk done, even a later chunk that did not defer', async () => {
    let target = ''
    let failed = false
    let fail: (err: Error) => void = () => {}
    let probe: () => Promise<number> = async () => -1
    let ticks = 0
    const committedAtReread: number[] = []
    const { topics, out, producer, committed, worker } = await run(
      async (records, ctx) => {
        const values = records.map((r) => r.value!.toString())
        if (values[0] === 'v0' && ctx.defer && !failed) {
          failed = true
          // Fails when told (below), once the next chunk, which defers nothing, is handled and sent.
          ctx.defer(
            new Promise<never>((_, reject) => {
              fail = reject
            }),
          )
          return records.map(() => ({ kind: 'ok' as const }))
        }
        if (values[0] === 'v0' && failed) {
          // Read again after the failure: two ticks of the commit timer (commits run one at a time, so
          // the second to end began its commit after this call, with whatever was marked done before it);
          // then look.
          const from = ticks
          await waitFor(() => ticks >= from + 2, { what: 'two ticks of the commit timer' })
          committedAtReread.push(await probe())
        }
        return records.map((_, i) => ({
          kind: 'ok' as const,
          out: [{ topic: target, key: null, value: values[i]! }],
        }))
      },
      { KAFKA_COMMIT_INTERVAL_MS: '20', KAFKA_MAX_BATCH: '5' },
    )
    worker.runner.onCommitTick!(() => {
      ticks++
    })
    probe = committed
    target = topics.out
    await producer.send({
      topic: topics.in,
      messages: Array.from({ length: 10 }, (_, j) => ({ key: 'one', value: `v${j}` })),
    })
    // Committed means produced and acknowledged; the collector reads the output topic in its own time.
    const distinct = () => new Set(out.messages.map((m) => m.value!.toString())).size
    // The second chunk (v5 to v9) sent while the first chunk's deferred work is under way; then it fails.
    await waitFor(() => distinct() >= 5, { what: "the second chunk's output" })
    fail(new TradepulseError('INFRA_REDIS', 'redis went away'))
    await waitFor(async () => (await committed()) === 10, { what: '10 committed' })
    expect(committedAtReread).toEqual([0])
    await waitFor(() => distinct() >= 10, { what: 'all 10 on the output topic' })
    expect(distinct()).toBe(10)
  })

  it("retries a deferred batch's output in place while it cannot be produced, committing nothing meanwhile", async () => {
    const missing = `${randomName('late')}.out`
    let calls = 0
    const { topics, producer, committed, worker } = await run(
      async (records, ctx) => {
        calls++
        ctx.defer!(Promise.resolve(records.map((r) => ({ topic: missing, key: null, value: r.value ?? '' }))))
        return records.map(() => ({ kind: 'ok' as const }))
      },
      { KAFKA_COMMIT_INTERVAL_MS: '100' },
    )
    await producer.send({
      topic: topics.in,
      messages: Array.from({ length: 20 }, (_, j) => ({ key: 'one', value: `v${j}` })),
    })
    await expectNothingCommittedUntilTopicExists(worker, committed, missing, 20)
    expect(calls).toBe(1) // retried in place: the batch was not read again
  })

  it("offers no deferral with kafkajs's autoCommit (KAFKA_COMMIT_INTERVAL_MS=0)", async () => {
    let target = ''
    const offered: boolean[] = []
    const { topics, out, producer } = await run(
      async (records, ctx) => {
        offered.push(ctx.defer !== undefined)
        return echo(target)(records, ctx)
      },
      { KAFKA_COMMIT_INTERVAL_MS: '0' },
    )
    target = topics.out
    await producer.send({ topic: topics.in, messages: [{ key: 'k', value: 'v' }] })
    await waitFor(() => out.messages.length >= 1, { what: 'output' })
    expect(offered).toEqual([false])
  })

  it('serves /healthz, /readyz and /metrics with throughput and lag', async () => {
    let target = ''
    const { topics, out, producer, worker } = await run(async (records, ctx) => echo(target)(records, ctx))
    target = topics.out
    await worker.runner.joined()
    await producer.send({ topic: topics.in, messages: [{ key: 'k', value: 'v' }] })
    await waitFor(() => out.messages.length >= 1, { what: 'output' })
    const base = `http://127.0.0.1:${worker.httpPort()}`
    const ready = await waitFor(
      async () => {
        const r = await fetch(`${base}/readyz`)
        return r.status === 200 && ((await r.json()) as { status: string })
      },
      { what: 'ready' },
    )
    expect(ready.status).toBe('ok')
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toMatch(
      new RegExp(`tradepulse_messages_in_total\\{topic="${topics.in}",worker="test"\\} 1`),
    )
    expect(metrics).toMatch(
      new RegExp(`tradepulse_messages_out_total\\{topic="${topics.out}",worker="test"\\} 1`),
    )
    expect(metrics).toMatch(/tradepulse_consumer_lag\{topic="[^"]+",partition="0",worker="test"\} 0/)
    expect(metrics).toContain('tradepulse_batch_seconds_bucket')
    expect((await fetch(`${base}/nope`)).status).toBe(404)
    await worker.stop()
    await worker.stop() // idempotent
  })

  describe("event-time alignment when the partitions' ends cannot be read at an assignment", () => {
    /** Records the runner's log lines (as parsed objects) for the assertions. */
    function capture() {
      return createCapturingLogger<{ msg: string; attempts?: number; partitions?: string[] }>()
    }
    /** Its offsets requests (fetchTopicOffsets) fail with `fault` while `failing()` says so. */
    const failingEnds =
      (failing: () => boolean, fault: () => Error) =>
      (admin: Admin): Admin =>
        Object.assign(Object.create(admin) as Admin, {
          fetchTopicOffsets: async (topic: string) => {
            if (failing()) throw fault()
            return admin.fetchTopicOffsets(topic)
          },
        })
    /** Echoes each record of `<name>.in` to `<name>.out`. */
    const toOut: BatchHandler = async (records) =>
      records.map((r) => ({
        kind: 'ok' as const,
        out: [
          { topic: r.topic.replace(/\.in$/, '.out'), key: r.key?.toString() ?? null, value: r.value ?? '' },
        ],
      }))
    const align = { aheadMs: 60_000, eventMs: (r: { timestamp: number }) => r.timestamp }
    const T0 = Date.parse('2026-01-05T09:00:00Z')
    /** 60 records on partition 0 a minute apart, one on partition 1 at the end: n = 61. */
    const backlog = (topic: string) => [
      {
        topic,
        messages: Array.from({ length: 60 }, (_, i) => ({
          partition: 0,
          key: `a${i}`,
          value: `a${i}`,
          timestamp: String(T0 + i * 60_000),
        })),
      },
      { topic, messages: [{ partition: 1, key: 'b', value: 'b', timestamp: String(T0 + 60 * 60_000) }] },
    ]

    it('retries the offsets request and takes the ends from its answer; every record is handled', async () => {
      let failures = 0
      const { lines, log } = capture()
      // The backlog is there when the worker joins, and the request fails twice at the assignment.
      const name = randomName('ends')
      const { out } = await run(
        toOut,
        {},
        {
          partitions: 2,
          align,
          log,
          backlog,
          admin: failingEnds(
            () => failures++ < 2,
            () => new KafkaJSError(`${name}: broker unreachable`),
          ),
        },
      )
      await waitFor(() => out.messages.length >= 61, { what: '61 records out' })
      await waitFor(() => lines.some((l) => l.msg === "partitions' ends read"), { what: 'the answer logged' })
      expect(lines.find((l) => l.msg === "partitions' ends read")?.attempts).toBe(3)
      expect(lines.filter((l) => l.msg.startsWith("could not read the partitions' ends"))).toHaveLength(1)
      expect(lines.some((l) => l.msg.startsWith("partitions' ends unknown"))).toBe(false)
      expect(new Set(out.messages.map((m) => m.value!.toString())).size).toBe(61)
    })

    // kafkajs gives up at once on NOT_LEADER_FOR_PARTITION, and an admin asked again keeps the metadata
    // naming the old leader until it expires (5 min): the same admin asked again never found the moved
    // leader, and the partitions went unaligned.
    it('asks again on a fresh admin when a partition has no leader: a leader that moved is found', async () => {
      const { lines, log } = capture()
      // The first admin the offsets are asked of names the old leader for good.
      let stale: Admin | undefined
      const notLeader = () =>
        new KafkaJSProtocolError(
          Object.assign(new Error('This server is not the leader for that topic-partition'), {
            type: 'NOT_LEADER_FOR_PARTITION',
          }),
        )
      const staleLeader = (admin: Admin): Admin => {
        const wrapped: Admin = Object.assign(Object.create(admin) as Admin, {
          fetchTopicOffsets: async (topic: string) => {
            stale ??= wrapped
            if (stale === wrapped) throw notLeader()
            return admin.fetchTopicOffsets(topic)
          },
        })
        return wrapped
      }
      const { out } = await run(
        toOut,
        {},
        { partitions: 2, align, log, backlog, admin: staleLeader, endsRetryMs: 6_000 },
      )
      await waitFor(() => out.messages.length >= 61, { what: '61 records out' })
      await waitFor(
        () =>
          lines.some(
            (l) => l.msg === "partitions' ends read" || l.msg.startsWith("partitions' ends unknown"),
          ),
        { what: 'the answer or the fallback logged' },
      )
      expect(lines.some((l) => l.msg.startsWith("partitions' ends unknown"))).toBe(false)
      expect(lines.find((l) => l.msg === "partitions' ends read")?.attempts).toBe(2)
    })

    it.each([
      [
        'a fault retrying cannot mend, at once',
        () =>
          new KafkaJSError('Not authorized to access topics: [Topic authorization failed]', {
            retriable: false,
          }),
      ],
      ['an outage that outlasts the retries (6 s here)', () => new KafkaJSError('broker unreachable')],
    ])('takes the partitions as at their end after %s, names them, and stalls nothing', async (_, fault) => {
      const { lines, log } = capture()
      const { topics, out, producer, worker } = await run(
        toOut,
        {},
        {
          partitions: 2,
          align,
          log,
          admin: failingEnds(() => true, fault),
          endsRetryMs: 6_000,
        },
      )
      await worker.runner.joined()
      await waitFor(() => lines.find((l) => l.msg.startsWith("partitions' ends unknown")), {
        what: 'the fallback logged',
      })
      expect(lines.find((l) => l.msg.startsWith("partitions' ends unknown"))?.partitions).toEqual([
        `${topics.in}/0`,
        `${topics.in}/1`,
      ])
      await producer.sendBatch({ topicMessages: backlog(topics.in) })
      await waitFor(() => out.messages.length >= 61, { what: '61 records out' })
      expect(new Set(out.messages.map((m) => m.value!.toString())).size).toBe(61)
    })
  })
})

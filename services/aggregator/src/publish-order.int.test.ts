import { createTopicCatalogue, IndicatorUpdate, listTopics, type ScoredHeadline } from '@tradepulse/contracts'
import { contributionsOf, indicatorKey, parseIndicatorKey } from '@tradepulse/indicators'
import {
  createKafkaTransport,
  createLogger,
  createRedisIndicatorStore,
  kafkaClientConfig,
  loadConfig,
  type OutRecord,
  type Transport,
} from '@tradepulse/platform'
import {
  type CollectedMessage,
  collectTopic,
  createTopics,
  randomName,
  testKafka,
  waitFor,
} from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { buildAggregatorApp } from './build-app.ts'
import { AggregatorConfig, indicatorOverrides } from './config.ts'
import { useAggregatorTestContext } from './int-test-context.ts'
import { groupProgress, produceScored, scoredSeries } from './scored-fixtures.ts'

const silent = createLogger({ level: 'silent' })
const MARKET = 'market|global:all'

/** A gate: `wait()` resolves once it is open; `close()` holds later waiters until `open()`. */
function createGate() {
  let opened = Promise.resolve()
  let release = () => {}
  return {
    wait: () => opened,
    close() {
      opened = new Promise<void>((r) => {
        release = r
      })
    },
    open: () => release(),
  }
}

/**
 * The Kafka transport with two handles on the aggregator's sends, for forcing the race between its
 * batch output and its trailing edge:
 * - `producer`: every send through a publisher (the trailing edge's producer) waits, in the order sent,
 *   while the gate is closed: a slow producer (a slow connection, a leader moving), which keeps its order.
 * - `deferred`: the deferred work of the batch holding a chosen headline (whose end the runner produces
 *   the batch's output after) is held while that gate is closed: a batch output that is slow to go out.
 */
function gatedTransport(config: AggregatorConfig) {
  const real = createKafkaTransport(kafkaClientConfig(config, randomName('agg-test')), silent)
  const producer = createGate()
  const deferred = createGate()
  /** Every publisher send: its records, and when it settled. */
  const sends: { records: OutRecord[]; settled: Promise<unknown> }[] = []
  let holdBatchOf: string | undefined
  let held = false
  const transport: Transport = {
    ...real,
    createRunner: (handler, cfg, log, metrics) =>
      real.createRunner(
        (records, ctx) => {
          const hold = holdBatchOf !== undefined && records.some((r) => r.key?.toString() === holdBatchOf)
          if (!hold || !ctx.defer) return handler(records, ctx)
          const defer = ctx.defer
          return handler(records, {
            ...ctx,
            defer: (work) =>
              defer(
                work.then(async (out) => {
                  held = true
                  await deferred.wait()
                  return out
                }),
              ),
          })
        },
        cfg,
        log,
        metrics,
      ),
    createPublisher() {
      const publisher = real.createPublisher()
      let tail: Promise<unknown> = Promise.resolve()
      return {
        send(records) {
          const sent = tail.then(async () => {
            await producer.wait()
            await publisher.send(records)
          })
          tail = sent.catch(() => {})
          sends.push({ records, settled: tail })
          return sent
        },
        close: () => publisher.close(),
      }
    },
  }
  return {
    transport,
    producer,
    deferred,
    sends,
    /** Holds the deferred work of the batch holding this headline (by its id, the record key). */
    holdBatchOf: (id: string) => {
      holdBatchOf = id
    },
    held: () => held,
  }
}

/** The updates of a key the publishers were given (sent or waiting to be). */
const sentCounts = (sends: readonly { records: OutRecord[] }[], key: string) =>
  sends.flatMap((s) =>
    s.records
      .filter((r) => r.key === key)
      .map((r) => IndicatorUpdate.parse(JSON.parse(String(r.value))).count),
  )

describe('aggregator: the last indicator update of a key on the topic is its newest reading', () => {
  const ctx = useAggregatorTestContext('aggord')
  const { kafkaBrokers } = ctx

  async function start(extra: Record<string, string>) {
    const topics = createTopicCatalogue(ctx.prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name, partitions: 1 })),
    )
    const config = loadConfig(
      AggregatorConfig,
      ctx.workerEnv({
        AGGREGATOR_PUBLISH_BURST_FACTOR: '0',
        ...extra,
      }),
    )
    const gated = gatedTransport(config)
    const updates = await collectTopic(kafkaBrokers, topics.indicators.name)
    ctx.cleanups.push(updates.stop)
    const app = buildAggregatorApp(config, { log: silent, transport: gated.transport })
    ctx.cleanups.push(async () => {
      gated.producer.open()
      gated.deferred.open()
      await app.stop()
    })
    await app.start()
    await app.runner.joined()
    const store = createRedisIndicatorStore(ctx.redis, {
      prefix: ctx.keyPrefix,
      config: indicatorOverrides(config),
    })
    return { app, topics, gated, updates, store }
  }

  /** A live headline with a market score alone (no entities): market and uncertainty, global scope. */
  const headline = (id: string, market: number): ScoredHeadline => {
    const [h] = scoredSeries(1, { startMs: Date.now(), spanMs: 1, idPrefix: id })
    const now = new Date().toISOString()
    return {
      ...h!,
      publishedAt: now,
      ingestedAt: now,
      scores: {
        tariff: { score: 0, relevance: 0, confidence: 0, label: null },
        supplyChain: { score: 0, relevance: 0, confidence: 0, label: null },
        market: { score: market, label: market > 0 ? 'positive' : 'negative' },
        uncertainty: 0,
      },
      entities: { regions: [], commodities: [], sectors: [], companies: [] },
    }
  }

  const updatesOf = (messages: readonly CollectedMessage[], key: string) =>
    messages
      .filter((m) => m.key === key)
      .sort((a, b) => Number(a.offset) - Number(b.offset))
      .map((m) => IndicatorUpdate.parse(JSON.parse(m.value!.toString())))

  /** Everything on the topic read, every input committed, every publisher send settled. */
  async function settled(
    env: Awaited<ReturnType<typeof start>>,
    keys: readonly string[],
  ): Promise<Map<string, IndicatorUpdate>> {
    const { topics, gated, updates, store } = env
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    try {
      return await waitFor(
        async () => {
          await Promise.all(gated.sends.map((s) => s.settled))
          if (!(await groupProgress(kafkaBrokers, `${ctx.prefix}aggregator`, topics.scored.name)).atEnd)
            return false
          const [end] = await admin.fetchTopicOffsets(topics.indicators.name)
          const read =
            updates.messages.length === 0 ? 0 : Math.max(...updates.messages.map((m) => Number(m.offset) + 1))
          if (read < Number(end!.high)) return false
          // Every key's current reading has been published (the trailing edge has run).
          const last = new Map<string, IndicatorUpdate>()
          for (const key of keys) {
            const { dimension, scope } = parseIndicatorKey(key)
            const current = await store.get(dimension, scope, Date.now())
            const list = updatesOf(updates.messages, key)
            if (!list.some((u) => u.count === current!.count)) return false
            last.set(key, list.at(-1)!)
          }
          return last
        },
        { what: 'every update on the topic and read', timeoutMs: 30_000 },
      )
    } finally {
      await admin.disconnect()
    }
  }

  const keysOf = (headlines: readonly ScoredHeadline[]) => [
    ...new Set(headlines.flatMap(contributionsOf).map((c) => indicatorKey(c.dimension, c.scope))),
  ]

  it('a trailing update still in flight does not land after the newer update a later batch published at once', async () => {
    // Interval long enough that the second headline is surely held back; a large change publishes at once.
    const env = await start({
      AGGREGATOR_PUBLISH_INTERVAL_MS: '3000',
      AGGREGATOR_PUBLISH_LARGE_CHANGE: '0.2',
    })
    const { app, topics, gated, updates, store } = env
    // 0.3 then 0.3 moves the short mean by about 0.08 (held back); -0.9 then by about 0.37 (at once).
    const h = [headline('a', 0.3), headline('b', 0.3), headline('c', -0.9)]
    await produceScored(ctx.producer, topics.scored.name, [h[0]!])
    await waitFor(() => updatesOf(updates.messages, MARKET).length === 1, { what: 'the first update' })
    // The trailing edge's producer stalls; the second headline is held back, then published by the
    // trailing edge, whose send waits.
    gated.producer.close()
    await produceScored(ctx.producer, topics.scored.name, [h[1]!])
    await waitFor(() => sentCounts(gated.sends, MARKET).includes(2), {
      what: 'the trailing update of the second headline, in flight',
    })
    // A large change: the batch of the third headline publishes at once, with the newer reading. Before
    // the fix its update went out through the runner's producer and landed; now the batch waits for the
    // update in flight to be acknowledged before reading the key (counted in publish waits).
    await produceScored(ctx.producer, topics.scored.name, [h[2]!])
    await waitFor(
      async () =>
        updatesOf(updates.messages, MARKET).some((u) => u.count === 3) ||
        /tradepulse_indicator_publish_waits_total\{[^}]*\} [1-9]/.test(await app.metrics.registry.metrics()),
      { what: "the third headline's update on the topic, or waiting for the one in flight" },
    )
    gated.producer.open()
    const last = await settled(env, keysOf(h))
    for (const key of keysOf(h)) {
      const { dimension, scope } = parseIndicatorKey(key)
      const current = await store.get(dimension, scope, Date.parse(last.get(key)!.asOf))
      expect(last.get(key)!.count, key).toBe(3)
      expect(last.get(key)!.mean, key).toEqual(current!.mean)
    }
    // The race was forced: the market key was published three times, the second by the trailing edge.
    expect(
      updatesOf(updates.messages, MARKET)
        .map((u) => u.count)
        .sort(),
    ).toEqual([1, 2, 3])
  })

  it("a batch's update that is slow to go out does not land after the newer trailing update of its key", async () => {
    const env = await start({ AGGREGATOR_PUBLISH_INTERVAL_MS: '1000', AGGREGATOR_PUBLISH_LARGE_CHANGE: '2' })
    const { topics, gated, updates } = env
    const h = [headline('a', 0.5), headline('b', -0.5)]
    gated.holdBatchOf(h[0]!.id)
    gated.deferred.close()
    await produceScored(ctx.producer, topics.scored.name, [h[0]!])
    // The batch read its update (its key's first: published at once) and its end is held.
    await waitFor(() => gated.held(), { what: 'the first batch held' })
    await produceScored(ctx.producer, topics.scored.name, [h[1]!])
    // Within the interval: held back, then published by the trailing edge.
    await waitFor(() => updatesOf(updates.messages, MARKET).some((u) => u.count === 2), {
      what: 'the trailing update of the second headline',
    })
    gated.deferred.open()
    const last = await settled(env, keysOf(h))
    for (const key of keysOf(h)) expect(last.get(key)!.count, key).toBe(2)
    expect(
      updatesOf(updates.messages, MARKET)
        .map((u) => u.count)
        .sort(),
    ).toEqual([1, 2])
  })
})

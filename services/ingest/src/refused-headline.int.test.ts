import { createTopicCatalogue, type DeadLetter, type Headline, listTopics } from '@tradepulse/contracts'
import { createKeys, createLogger, loadConfig } from '@tradepulse/platform'
import { collectTopic, createTopics, randomName, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import type { Producer } from 'kafkajs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildIngestApp } from './build-app.ts'
import { IngestConfig } from './config.ts'

const silent = createLogger({ level: 'silent' })

describe('ingest: a headline Kafka refuses for good', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  let prefix: string
  let keyPrefix: string
  let producer: Producer
  let redis: Redis
  let cleanups: (() => Promise<unknown>)[]

  beforeEach(async () => {
    prefix = `${randomName('ingest')}.`
    keyPrefix = prefix.replace(/\W/g, '_')
    cleanups = []
    producer = await testProducer(kafkaBrokers)
    cleanups.push(() => producer.disconnect())
    redis = new Redis(redisUrl)
    cleanups.push(() => redis.quit())
  })
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c()
  })

  /** A raw record of the headline `id` on one raw partition (handled in order). */
  const raw = (id: string, body?: string) => ({
    key: 'k',
    value: JSON.stringify({ id, source: 'wire', headline: `US raises tariffs on steel (${id})`, body }),
  })

  /**
   * Ingest on topics whose headlines topic takes records of at most 4 KB: a longer body is refused for
   * good. `backlog` is on its raw topic before it starts (one fetch holds it); `env` adds to its config.
   */
  async function startIngest(
    opts: { env?: Record<string, string>; backlog?: ReturnType<typeof raw>[] } = {},
  ) {
    const topics = createTopicCatalogue(prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({
        name: t.name,
        partitions: 2,
        ...(t.name === topics.headlines.name ? { config: { 'max.message.bytes': '4096' } } : {}),
      })),
    )
    if (opts.backlog) await producer.send({ topic: topics.raw.name, messages: opts.backlog })
    const config = loadConfig(IngestConfig, {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: keyPrefix,
      TRADEPULSE_TOPIC_PREFIX: prefix,
      HTTP_PORT: '0',
      TOPICS_AUTO_CREATE: 'false',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
      ...opts.env,
    })
    const app = buildIngestApp(config, { log: silent })
    cleanups.push(() => app.stop())
    await app.start()
    const out = await collectTopic(kafkaBrokers, topics.headlines.name)
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    cleanups.push(out.stop, dlq.stop)
    const ids = () => new Set(out.messages.map((m) => m.key))
    const letters = () => dlq.messages.map((m) => JSON.parse(m.value!.toString()) as DeadLetter)
    return { topics, app, out, dlq, ids, letters, raw }
  }

  it('is dead-lettered and its claim released, so a re-send of it within the dedup window is published', async () => {
    const { topics, app, out, dlq, ids, letters, raw } = await startIngest()
    await producer.send({
      topic: topics.raw.name,
      messages: [raw('before'), raw('big', 'Steel tariffs rise. '.repeat(400)), raw('after')],
    })
    const [letter] = await waitFor(
      () => ids().has('before') && ids().has('after') && letters().length >= 1 && letters(),
      { what: 'the refused headline dead-lettered, the others published' },
    )
    expect(letter).toMatchObject({ reason: 'output_refused', worker: 'ingest' })
    expect(letter!.message).toMatch(/MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE/)
    expect((JSON.parse(letter!.payload) as { id: string }).id).toBe('big')
    expect(ids().has('big')).toBe(false)
    // Only the refused headline's claim is released (soft: before the fix, the re-send below shows it too).
    const keys = createKeys(keyPrefix)
    expect.soft(await redis.exists(keys.dedup('big'))).toBe(0)
    expect(await redis.exists(keys.dedup('before'), keys.dedup('after'))).toBe(2)

    // The feed sends the headline again, within the dedup window, with a body the topic takes; and a
    // true repeat of a headline published before, which is still a duplicate.
    await producer.send({
      topic: topics.raw.name,
      messages: [raw('big', 'Steel tariffs rise.'), raw('before')],
    })
    await waitFor(
      async () =>
        /outcome="drop",reason="duplicate"[^\n]* 1(\n|$)/.test(
          await app.metrics.registry.getSingleMetricAsString('tradepulse_outcomes_total'),
        ),
      { what: 'the repeat of "before" dropped as a duplicate' },
    )
    const [published] = await waitFor(
      () => {
        const found = out.messages.filter((m) => m.key === 'big')
        return found.length > 0 && found
      },
      { what: 'the re-sent headline published' },
    )
    expect((JSON.parse(published!.value!.toString()) as Headline).body).toBe('Steel tariffs rise.')
    expect(ids()).toEqual(new Set(['before', 'after', 'big']))
    expect(dlq.messages).toHaveLength(1)
    expect(await redis.get(keys.dedup('big'))).toMatch(
      new RegExp(`^${topics.raw.name.replace(/\./g, '\\.')}/`),
    )
  })

  it('leaves a re-send in the same batch to be published in its place, and still drops the true duplicates', async () => {
    const { topics, app, out, ids, letters, raw } = await startIngest()
    // One batch: the headline, refused; a re-send still too large, refused too; a re-send the topic takes;
    // a repeat of that one (a true duplicate); another headline.
    await producer.send({
      topic: topics.raw.name,
      messages: [
        raw('x', 'Steel tariffs rise. '.repeat(400)),
        raw('x', 'Steel tariffs rise again. '.repeat(300)),
        raw('x', 'Steel tariffs rise.'),
        raw('x', 'A repeat of the re-send.'),
        raw('y'),
      ],
    })
    await waitFor(() => ids().has('y') && letters().length >= 1, {
      what: 'the refused headline dead-lettered, the other headline published',
    })
    const published = await waitFor(
      () => {
        const found = out.messages.filter((m) => m.key === 'x')
        return found.length > 0 && found
      },
      { what: 'the re-send the topic takes published' },
    )
    const dead = (
      await waitFor(() => letters().length >= 2 && letters(), {
        what: 'the re-send still too large dead-lettered',
      })
    ).sort((a, b) => Number(BigInt(a.origin.offset) - BigInt(b.origin.offset)))
    expect(published.map((m) => (JSON.parse(m.value!.toString()) as Headline).body)).toEqual([
      'Steel tariffs rise.',
    ])
    expect(dead.map((l) => [l.reason, l.worker, l.origin.offset])).toEqual([
      ['output_refused', 'ingest', dead[0]!.origin.offset],
      ['output_refused', 'ingest', String(BigInt(dead[0]!.origin.offset) + 1n)],
    ])
    for (const l of dead) expect(l.message).toMatch(/MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE/)
    // The re-send published holds the claim, so a later repeat is a duplicate.
    const resend = `${topics.raw.name}/${dead[0]!.origin.partition}/${BigInt(dead[0]!.origin.offset) + 2n}`
    expect(await redis.get(createKeys(keyPrefix).dedup('x'))).toBe(resend)

    await producer.send({ topic: topics.raw.name, messages: [raw('x', 'Steel tariffs rise.'), raw('z')] })
    await waitFor(() => ids().has('z'), { what: 'the batch after published' })
    expect(out.messages.filter((m) => m.key === 'x')).toHaveLength(1)
    expect(letters()).toHaveLength(2)
    const outcomes = await app.metrics.registry.getSingleMetricAsString('tradepulse_outcomes_total')
    // Of the first batch, the three records after the first x; of the second, the repeat.
    expect(outcomes).toMatch(/outcome="drop",reason="duplicate"[^\n]* 4(\n|$)/)
    // The two re-sends taken in the first one's place: one dead-lettered, one published.
    const standIns = await app.metrics.registry.getSingleMetricAsString('tradepulse_ingest_stand_ins_total')
    expect(standIns).toMatch(/outcome="dlq"[^\n]* 1(\n|$)/)
    expect(standIns).toMatch(/outcome="published"[^\n]* 1(\n|$)/)
    const dlqTotal = await app.metrics.registry.getSingleMetricAsString('tradepulse_dlq_total')
    expect(dlqTotal).toMatch(/reason="output_refused"[^\n]* 2(\n|$)/)
  })

  it('publishes a re-send in the next chunk of the same fetch in its place, handled while it was being refused', async () => {
    // One fetch, in chunks of two records: [a, x], [x, b]. The second chunk's handler runs while the
    // first's output is being published (and x refused).
    const { topics, out, ids, letters } = await startIngest({
      env: { KAFKA_MAX_BATCH: '2' },
      backlog: [
        raw('a'),
        raw('x', 'Steel tariffs rise. '.repeat(400)),
        raw('x', 'Steel tariffs rise.'),
        raw('b'),
      ],
    })
    await waitFor(() => ids().has('a') && ids().has('b') && letters().length >= 1, {
      what: 'the refused headline dead-lettered, the others published',
    })
    const published = await waitFor(
      () => {
        const found = out.messages.filter((m) => m.key === 'x')
        return found.length > 0 && found
      },
      { what: 'the re-send in the next chunk published' },
    )
    expect(published.map((m) => (JSON.parse(m.value!.toString()) as Headline).body)).toEqual([
      'Steel tariffs rise.',
    ])
    const [letter] = letters()
    expect(letter).toMatchObject({ reason: 'output_refused', worker: 'ingest' })
    expect((JSON.parse(letter!.payload) as { body: string }).body).toMatch(/^Steel tariffs rise\. Steel/)
    // The re-send holds the claim: a later repeat is a duplicate.
    const resend = `${topics.raw.name}/${letter!.origin.partition}/${BigInt(letter!.origin.offset) + 1n}`
    expect(await redis.get(createKeys(keyPrefix).dedup('x'))).toBe(resend)
    await producer.send({ topic: topics.raw.name, messages: [raw('x', 'Steel tariffs rise.'), raw('z')] })
    await waitFor(() => ids().has('z'), { what: 'the batch after published' })
    expect(out.messages.filter((m) => m.key === 'x')).toHaveLength(1)
    expect(letters()).toHaveLength(1)
  })
})

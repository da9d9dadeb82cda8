import { createTopicCatalogue, DeadLetter, Headline, listTopics } from '@tradepulse/contracts'
import {
  createCapturingLogger,
  createKeys,
  createLogger,
  type LogLine,
  loadConfig,
} from '@tradepulse/platform'
import {
  collectTopic,
  createTopics,
  randomName,
  restartEmptyUntilReported,
  spawnWorker,
  startLocalRedis,
  testInfra,
  testProducer,
  waitFor,
} from '@tradepulse/testing'
import { testKafka } from '@tradepulse/testing/kafka'
import { Redis } from 'ioredis'
import { CompressionTypes, ConfigResourceTypes, type Producer } from 'kafkajs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildIngestApp } from './build-app.ts'
import { IngestConfig } from './config.ts'
import { contentId } from './parse-raw.ts'

const silent = createLogger({ level: 'silent' })

describe('ingest worker on Kafka and Redis', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  let prefix: string
  let producer: Producer
  let cleanups: (() => Promise<unknown>)[]

  beforeEach(async () => {
    prefix = `${randomName('ingest')}.`
    cleanups = []
    const topics = createTopicCatalogue(prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name, partitions: 2 })),
    )
    producer = await testProducer(kafkaBrokers)
    cleanups.push(() => producer.disconnect())
  })
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c()
  })

  async function startIngest(extra: Record<string, string> = {}, log = silent) {
    const config = loadConfig(IngestConfig, {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix.replace(/\W/g, '_'),
      TRADEPULSE_TOPIC_PREFIX: prefix,
      HTTP_PORT: '0',
      TOPICS_AUTO_CREATE: 'false',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
      ...extra,
    })
    const app = buildIngestApp(config, { log })
    cleanups.push(() => app.stop())
    await app.start()
    return { app, topics: createTopicCatalogue(prefix) }
  }

  it('passes valid headlines on, drops a duplicate once, and sends every bad record to the dlq with its reason', async () => {
    const { app, topics } = await startIngest()
    const headlines = await collectTopic(kafkaBrokers, topics.headlines.name)
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    cleanups.push(headlines.stop, dlq.stop)

    const good = (i: number) =>
      JSON.stringify({ id: `ok-${i}`, source: 'test', headline: `US raises tariffs on steel, part ${i}` })
    const bad: [string, Buffer | string][] = [
      ['invalid_json', '{"headline": "unterminated'],
      ['schema_invalid', JSON.stringify({ title: 'no headline field' })],
      ['schema_invalid', JSON.stringify({ headline: 42 })],
      ['too_large', JSON.stringify({ headline: 'x'.repeat(100 * 1024) })],
      // Control characters, which JSON would escape six-fold in the dlq record (1.5 MB, past the broker's
      // limit, which stalled the partition): kept as base64.
      ['too_large', Buffer.alloc(300 * 1024, 0)],
      ['invalid_utf8', Buffer.from([0xff, 0xfe, 0x00, 0x81, 0xc3, 0x28, 0x9f])],
      ['invalid_text', '{"headline": "lone \\ud800 surrogate"}'],
      ['empty_headline', JSON.stringify({ headline: '\u200b \u202e\t' })],
    ]
    await producer.send({
      topic: topics.raw.name,
      messages: [
        { value: good(1) },
        ...bad.map(([, value]) => ({ value })),
        { value: good(2) },
        { value: good(1) }, // the same id again: a duplicate
        { value: good(3) },
      ],
    })

    await waitFor(() => dlq.messages.length >= bad.length && headlines.messages.length >= 3, {
      what: 'dlq and headlines',
    })
    const ids = headlines.messages.map((m) => (JSON.parse(m.value!.toString()) as Headline).id).sort()
    expect(ids).toEqual(['ok-1', 'ok-2', 'ok-3'])
    const letters = dlq.messages.map((m) => ({
      letter: JSON.parse(m.value!.toString()) as DeadLetter,
      headers: m.headers,
    }))
    expect(letters.map((l) => l.letter.reason).sort()).toEqual(bad.map(([r]) => r).sort())
    for (const { letter, headers } of letters) {
      expect(letter.origin.topic).toBe(topics.raw.name)
      expect(headers['tp-dlq-reason']).toBe(letter.reason)
      expect(headers['tp-origin-topic']).toBe(topics.raw.name)
      expect(headers['tp-origin-offset']).toBe(letter.origin.offset)
      expect(letter.message.length).toBeGreaterThan(0)
    }
    const binary = letters.find((l) => l.letter.reason === 'invalid_utf8')!.letter
    expect(binary.payloadEncoding).toBe('base64')
    expect(Buffer.from(binary.payload, 'base64')).toEqual(
      Buffer.from([0xff, 0xfe, 0x00, 0x81, 0xc3, 0x28, 0x9f]),
    )

    const control = letters.find(
      (l) => l.letter.reason === 'too_large' && l.letter.payloadEncoding === 'base64',
    )
    expect(control?.letter.payloadTruncated).toBe(true)

    // The duplicate was dropped and counted, not lost silently.
    const metrics = await app.metrics.registry.getSingleMetricAsString('tradepulse_outcomes_total')
    expect(metrics).toMatch(/outcome="drop",reason="duplicate"[^\n]* 1/)
  })

  it("carries a record's trace context on as W3C Trace Context asks: none from two traceparents, a tracestate only with a valid one", async () => {
    const { topics } = await startIngest()
    const out = await collectTopic(kafkaBrokers, topics.headlines.name)
    cleanups.push(out.stop)
    const A = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const B = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const raw = (id: string, headers: Record<string, string | string[]>) => ({
      value: JSON.stringify({ id, source: 'wire', headline: `US raises tariffs on steel (${id})` }),
      headers,
    })
    await producer.send({
      topic: topics.raw.name,
      messages: [
        // Two tracestate headers: one list, in order.
        raw('both', { traceparent: A, tracestate: ['rojo=00f067aa0ba902b7', 'congo=t61rcWkgMzE'] }),
        // Two traceparent headers: invalid, so no trace context at all.
        raw('two-parents', { traceparent: [A, B], tracestate: 'congo=t61rcWkgMzE' }),
        raw('no-parent', { tracestate: 'congo=t61rcWkgMzE' }),
        // A tracestate with a key twice: invalid, dropped; its traceparent still valid.
        raw('bad-state', { traceparent: B, tracestate: 'congo=1,congo=2' }),
      ],
    })
    const byId = await waitFor(
      () => {
        const found = new Map(out.messages.map((m) => [m.key, m.headers]))
        return found.size >= 4 && found
      },
      { what: 'the four headlines' },
    )
    expect(Object.fromEntries(byId)).toEqual({
      both: { traceparent: A, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' },
      'two-parents': {},
      'no-parent': {},
      'bad-state': { traceparent: B },
    })
  })

  /** The worker started, and what it writes to headlines collected. */
  async function startCollecting(extra: Record<string, string> = {}) {
    const started = await startIngest(extra)
    const out = await collectTopic(kafkaBrokers, started.topics.headlines.name)
    cleanups.push(out.stop)
    return { ...started, out }
  }

  it('tells a tombstone from an empty value in their dead letters, by the reason and the message (the payload, which has no null, is empty in both)', async () => {
    // Both went to the dlq as empty_record, "record has no value": two letters alike for two faults.
    const { topics } = await startIngest()
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    cleanups.push(dlq.stop)
    await producer.send({
      topic: topics.raw.name,
      messages: [
        { key: 'deleted', value: null },
        { key: 'blank', value: Buffer.alloc(0) },
      ],
    })
    await waitFor(() => dlq.messages.length >= 2, { what: 'both dead letters' })
    const letters = Object.fromEntries(
      dlq.messages.map((m) => {
        const letter = JSON.parse(m.value!.toString()) as DeadLetter
        return [letter.key, { letter, reason: m.headers['tp-dlq-reason'] }]
      }),
    )
    expect(letters.deleted).toEqual({
      reason: 'tombstone',
      letter: expect.objectContaining({
        reason: 'tombstone',
        message: 'record is a tombstone: its value is null (not empty)',
        payload: '',
      }),
    })
    expect(letters.blank).toEqual({
      reason: 'empty_record',
      letter: expect.objectContaining({
        reason: 'empty_record',
        message: 'record value is empty (0 bytes)',
        payload: '',
      }),
    })
  })

  it('normalises text, keeps a stable content id, and stamps ingestedAt from the raw record', async () => {
    const started = await startCollecting()
    const { topics, out } = started
    const ts = Date.parse('2025-06-06T12:00:00Z')
    await producer.send({
      topic: topics.raw.name,
      // One key, so both land on one partition and the first is claimed first.
      messages: [
        {
          key: 'k',
          value: JSON.stringify({
            headline: '  China\u200b  halts\texports of ｒａｒｅ earths\u202e ',
            source: 'wire',
          }),
          timestamp: String(ts),
        },
        {
          key: 'k',
          value: JSON.stringify({ headline: 'China halts exports of rare earths', source: 'wire' }),
          timestamp: String(ts + 1),
        },
      ],
    })
    await waitFor(() => out.messages.length >= 1 && out.messages, { what: 'headline out' })
    const h = JSON.parse(out.messages[0]!.value!.toString()) as Headline
    expect(h.headline).toBe('China halts exports of rare earths')
    expect(h.ingestedAt).toBe('2025-06-06T12:00:00.000Z')
    expect(h.publishedAt).toBe(h.ingestedAt)
    expect(h.id).toMatch(/^h[0-9a-f]{32}$/)
    expect(out.messages[0]!.key).toBe(h.id)
    // The second record normalises to the same text, so it has the same id and is dropped as a duplicate.
    const { app } = started
    await waitFor(
      async () =>
        /reason="duplicate"[^\n]*} 1(\n|$)/.test(
          await app.metrics.registry.getSingleMetricAsString('tradepulse_outcomes_total'),
        ),
      {
        what: 'duplicate counted',
      },
    )
    expect(out.messages).toHaveLength(1)
    const redis = new Redis(redisUrl)
    cleanups.push(() => redis.quit())
    expect(await redis.pttl(createKeys(prefix.replace(/\W/g, '_')).dedup(h.id))).toBeGreaterThan(
      23 * 3_600_000,
    )
  })

  it('takes null in an optional field as the field absent (a Jackson or Go producer) and dead-letters a null headline, naming it', async () => {
    const { topics, out } = await startCollecting({ INGEST_DEFAULT_SOURCE: 'feed' })
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    cleanups.push(dlq.stop)
    const ts = Date.parse('2025-06-06T12:00:00Z')
    const text = 'EU weighs tariffs on Chinese steel'
    const nullHeadline = '{"id":"n-1","headline":null,"body":null}'
    await producer.send({
      topic: topics.raw.name,
      messages: [
        {
          value: `{"id":null,"source":null,"headline":"${text}","body":null,"url":null,"publishedAt":null}`,
          timestamp: String(ts),
        },
        { value: nullHeadline, timestamp: String(ts) },
      ],
    })
    const [m] = await waitFor(() => out.messages.length >= 1 && out.messages, { what: 'headline out' })
    // A valid Headline (the strict contract), as a record without those fields: the content id, the entry
    // time, no null passed on.
    const h = Headline.parse(JSON.parse(m!.value!.toString()))
    expect(JSON.parse(m!.value!.toString())).toStrictEqual({
      id: contentId('feed', text),
      source: 'feed',
      headline: text,
      publishedAt: '2025-06-06T12:00:00.000Z',
      ingestedAt: '2025-06-06T12:00:00.000Z',
      truncated: false,
    })
    expect(m!.key?.toString()).toBe(h.id)
    const [d] = await waitFor(() => dlq.messages.length >= 1 && dlq.messages, { what: 'dead letter' })
    const letter = DeadLetter.parse(JSON.parse(d!.value!.toString()))
    expect([letter.reason, letter.message, letter.payload]).toEqual([
      'schema_invalid',
      'headline: Invalid input: expected string, received null',
      nullHeadline,
    ])
    expect(out.messages).toHaveLength(1)
  })

  it('takes a publishedAt hours ahead of the raw record as its entry time, and counts it', async () => {
    const { app, topics, out } = await startCollecting()
    const ts = Date.parse('2025-06-06T12:00:00Z')
    await producer.send({
      topic: topics.raw.name,
      messages: [
        {
          value: JSON.stringify({ id: 'tz', headline: 'Tariffs rise', publishedAt: '2025-06-06T20:00:00Z' }),
          timestamp: String(ts),
        },
      ],
    })
    const [m] = await waitFor(() => out.messages.length >= 1 && out.messages, { what: 'headline out' })
    const h = JSON.parse(m!.value!.toString()) as Headline
    expect([h.publishedAt, h.ingestedAt]).toEqual(['2025-06-06T12:00:00.000Z', '2025-06-06T12:00:00.000Z'])
    expect(
      await app.metrics.registry.getSingleMetricAsString('tradepulse_ingest_future_published_total'),
    ).toMatch(/ 1$/m)
  })
  it('publishes a headline whose url is 5,000 characters without it, one whose source is 300 cut to 100, one whose source and body hold lone surrogates with them replaced, each flagged and named, where all three were dead-lettered', async () => {
    const { log, lines } = createCapturingLogger<LogLine & { headlines?: unknown[] }>('warn')
    const { app, topics } = await startIngest({}, log)
    const out = await collectTopic(kafkaBrokers, topics.headlines.name)
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    cleanups.push(out.stop, dlq.stop)
    const link = 'https://news.example/2025/tariffs?utm_source='
    const url = `${link}${'x'.repeat(5_000 - link.length)}`
    const source = `Wire ${'service '.repeat(40)}`.slice(0, 300)
    // One key: one partition, handled in order, so the last record's letter comes after the others' fate.
    await producer.send({
      topic: topics.raw.name,
      messages: [
        { key: 'k', value: JSON.stringify({ id: 'long-url', headline: 'US raises tariffs on steel', url }) },
        { key: 'k', value: JSON.stringify({ id: 'long-source', headline: 'EU weighs tariffs', source }) },
        // JSON.stringify writes a lone surrogate as its escape (\ud83d): valid UTF-8 and JSON.
        {
          key: 'k',
          value: JSON.stringify({
            id: 'lone',
            headline: 'China curbs exports',
            source: 'Wire \ud83d',
            body: 'a\udc00b',
          }),
        },
        { key: 'k', value: '{"headline": "unterminated' },
      ],
    })
    // Each record's fate: published or dead-lettered.
    await waitFor(() => out.messages.length + dlq.messages.length >= 4, { what: 'headlines and letters' })
    // Keyed by id, they may be on different headlines partitions: in any order.
    const published = out.messages.map((m) => Headline.parse(JSON.parse(m.value!.toString())))
    expect(
      published
        .map((h) => [h.id, h.url, h.source, h.body, h.urlDropped, h.sourceTruncated, h.surrogatesReplaced])
        .sort(),
    ).toEqual([
      ['lone', undefined, 'Wire \ufffd', 'a\ufffdb', undefined, undefined, true],
      ['long-source', undefined, source.slice(0, 100).trimEnd(), undefined, undefined, true, undefined],
      ['long-url', undefined, 'unknown', undefined, true, undefined, undefined],
    ])
    expect(dlq.messages.map((m) => (JSON.parse(m.value!.toString()) as DeadLetter).reason)).toEqual([
      'invalid_json',
    ])
    const metric = (name: string) => app.metrics.registry.getSingleMetricAsString(name)
    expect(await metric('tradepulse_ingest_url_dropped_total')).toMatch(/reason="too_long"[^}]*} 1$/m)
    expect(await metric('tradepulse_ingest_source_cut_total')).toMatch(/ 1$/m)
    const replaced = await metric('tradepulse_ingest_surrogates_replaced_total')
    expect(replaced).toMatch(/field="source"[^}]*} 1$/m)
    expect(replaced).toMatch(/field="body"[^}]*} 1$/m)
    expect(lines.filter((l) => l.headlines).map((l) => [l.msg, l.headlines])).toEqual(
      expect.arrayContaining([
        [
          '1 headline(s) published without the url given (longer than 2000 characters)',
          [{ id: 'long-url', url: '5000 characters; the limit is 2000' }],
        ],
        [
          '1 headline(s) published with the source cut to 100 characters',
          [{ id: 'long-source', chars: 300 }],
        ],
        [
          '1 headline(s) published with the lone surrogates of their source or body replaced by U+FFFD',
          [{ id: 'lone', fields: ['source', 'body'] }],
        ],
      ]),
    )
    expect(lines.filter((l) => l.headlines)).toHaveLength(3)
  })
  it("takes a producer's zero publishedAt (0001-01-01) as its entry time, and counts it", async () => {
    const { app, topics, out } = await startCollecting()
    const ts = Date.parse('2025-06-06T12:00:00Z')
    await producer.send({
      topic: topics.raw.name,
      messages: [
        {
          value: JSON.stringify({
            id: 'zero',
            headline: 'Tariffs rise',
            publishedAt: '0001-01-01T00:00:00Z',
          }),
          timestamp: String(ts),
        },
      ],
    })
    const [m] = await waitFor(() => out.messages.length >= 1 && out.messages, { what: 'headline out' })
    const h = JSON.parse(m!.value!.toString()) as Headline
    expect([h.publishedAt, h.ingestedAt]).toEqual(['2025-06-06T12:00:00.000Z', '2025-06-06T12:00:00.000Z'])
    expect(
      await app.metrics.registry.getSingleMetricAsString('tradepulse_ingest_past_published_total'),
    ).toMatch(/ 1$/m)
  })
  it('takes the wall clock as the entry time of a record whose timestamp is implausible, and counts it', async () => {
    const { app, topics, out } = await startCollecting()
    // Brokers since Kafka 3.6 refuse a timestamp more than an hour ahead (message.timestamp.after.max.ms);
    // older ones, and topics configured so, take any: the raw topic is set to take any here.
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    cleanups.push(() => admin.disconnect())
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topics.raw.name,
          configEntries: [{ name: 'message.timestamp.after.max.ms', value: '9223372036854775807' }],
        },
      ],
    })
    // The broker applies a topic's config from its metadata log: wait until it reports the new one.
    await waitFor(
      async () => {
        const { resources } = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [
            {
              type: ConfigResourceTypes.TOPIC,
              name: topics.raw.name,
              configNames: ['message.timestamp.after.max.ms'],
            },
          ],
        })
        return resources[0]?.configEntries[0]?.configValue === '9223372036854775807'
      },
      { what: 'topic config applied' },
    )
    const before = Date.now()
    await producer.send({
      topic: topics.raw.name,
      messages: [
        {
          key: 'k',
          value: JSON.stringify({ id: 'ahead', headline: 'Tariffs rise' }),
          timestamp: String(before + 366 * 86_400_000),
        },
        {
          key: 'k',
          value: JSON.stringify({ id: 'nanos', headline: 'Tariffs fall' }),
          timestamp: String(before * 1_000_000),
        },
        {
          key: 'k',
          value: JSON.stringify({ id: 'seconds', headline: 'Tariffs hold' }),
          timestamp: String(Math.floor(before / 1000)),
        },
      ],
    })
    await waitFor(() => out.messages.length >= 3, { what: 'headlines out' })
    const after = Date.now()
    for (const m of out.messages) {
      const h = JSON.parse(m.value!.toString()) as Headline
      expect(Date.parse(h.ingestedAt), h.id).toBeGreaterThanOrEqual(before)
      expect(Date.parse(h.ingestedAt), h.id).toBeLessThanOrEqual(after)
      expect(h.publishedAt).toBe(h.ingestedAt)
    }
    expect(
      await app.metrics.registry.getSingleMetricAsString('tradepulse_ingest_implausible_timestamp_total'),
    ).toMatch(/ 3$/m)
  })

  it('passes on a record of a long run of combining marks at once, cut, and goes on: it no longer holds the partition', async () => {
    // A 1 MB record of alternating marks held the event loop for 90 s in NFKC's sort, past the session
    // timeout: the member left the group and whoever took the partition next met the same record.
    const { topics, out } = await startCollecting({ INGEST_MAX_RECORD_BYTES: '1048576' })
    const marks = '\u0301\u0316'.repeat(240_000)
    const send = (id: string, headline: string) =>
      producer.send({
        topic: topics.raw.name,
        messages: [{ key: 'k', value: JSON.stringify({ id, headline }) }],
      })
    await send('marks', `Tariffs${marks} rise`)
    await send('after', 'Tariffs rise again')
    // Waited for by id, in any order: a headline's key is its id, and these two ids go to different
    // partitions of the headlines topic, so the collector meets them in either order (it flaked so,
    // about one run in three); and a second copy of 'marks' (a redelivery) is not 'after'.
    const byId = await waitFor(
      () => {
        const seen = new Map(
          out.messages.map((m) => [String(m.key), JSON.parse(m.value!.toString()) as Headline]),
        )
        return seen.has('marks') && seen.has('after') && seen
      },
      { what: 'both headlines out', timeoutMs: 30_000 },
    )
    expect([...byId.keys()].sort()).toEqual(['after', 'marks'])
    expect(byId.get('marks')!.headline).toBe(`Tariffs${'\u0301\u0316'.repeat(15)} rise`.normalize('NFKC'))
    expect(byId.get('after')!.headline).toBe('Tariffs rise again')
  })

  it.each([
    ['Snappy', CompressionTypes.Snappy],
    ['GZIP', CompressionTypes.GZIP],
  ])('reads a %s-compressed batch of raw headlines', async (name, compression) => {
    const { topics, out } = await startCollecting()
    const ids = [1, 2, 3].map((i) => `${name}-${i}`)
    await producer.send({
      topic: topics.raw.name,
      compression,
      messages: ids.map((id) => ({
        key: 'k',
        value: JSON.stringify({ id, headline: `US raises tariffs, ${id}` }),
      })),
    })
    await waitFor(() => out.messages.length >= ids.length, { what: 'headlines out' })
    expect(out.messages.map((m) => m.key).sort()).toEqual(ids)
  })

  it('handles a compressed backlog that takes longer than the session timeout to parse once, keeping its place in the group', async () => {
    const topics = createTopicCatalogue(prefix)
    // 100 records of a megabyte each (about 150 ms each to normalise; gzip makes a few KB of each), one
    // partition, waiting before ingest starts: one fetch holds them all, 10 to 20 s of parsing, past the
    // 6 s session timeout.
    const n = 100
    const body = 'US raises tariffs on steel. '.repeat(37_000)
    for (let from = 0; from < n; from += 20)
      await producer.send({
        topic: topics.raw.name,
        compression: CompressionTypes.GZIP,
        messages: Array.from({ length: 20 }, (_, i) => ({
          key: 'k',
          value: JSON.stringify({
            id: `big-${from + i}`,
            headline: `US raises tariffs, part ${from + i}`,
            body,
          }),
        })),
      })
    const { out } = await startCollecting({ INGEST_MAX_RECORD_BYTES: '1048576' })
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    cleanups.push(() => admin.disconnect())
    const committed = async () => {
      const [t] = await admin.fetchOffsets({ groupId: `${prefix}ingest`, topics: [topics.raw.name] })
      return (t?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0)
    }
    // Before: the batch held the event loop past the session timeout, no heartbeat went out, the member
    // was evicted and the batch handled again.
    await waitFor(async () => (await committed()) === n, {
      what: 'the backlog committed',
      timeoutMs: 90_000,
      intervalMs: 500,
    })
    const keys = out.messages.map((m) => m.key)
    expect(new Set(keys).size).toBe(n)
    expect(keys).toHaveLength(n)
  })

  /**
   * Starts ingest on a fresh topic prefix where only the topics `existing` picks are there, not creating
   * topics; gives the catalogue and what its start threw.
   */
  async function startWithTopics(
    existing: (t: ReturnType<typeof createTopicCatalogue>) => { name: string }[],
  ) {
    const barePrefix = `${randomName('ingest')}.`
    const bare = createTopicCatalogue(barePrefix)
    await createTopics(
      kafkaBrokers,
      existing(bare).map((t) => ({ name: t.name, partitions: 1 })),
    )
    const config = loadConfig(IngestConfig, {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      TRADEPULSE_TOPIC_PREFIX: barePrefix,
      HTTP_PORT: '0',
      TOPICS_AUTO_CREATE: 'false',
    })
    const app = buildIngestApp(config, { log: silent })
    cleanups.push(() => app.stop())
    return { bare, err: await app.start().catch((e: unknown) => e) }
  }

  it('refuses to start, naming them, when its output and dlq topics are missing and it does not create topics', async () => {
    const { bare, err } = await startWithTopics((t) => [t.raw])
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' })
    expect(String(err)).toContain(`topics missing: ${bare.headlines.name}, ${bare.dlq.name} (`)
    expect(String(err)).toContain('tradepulse topics create')
  })

  it('refuses to start, naming it, when the raw topic it reads is missing and it does not create topics', async () => {
    // It failed with "This server does not host this topic-partition" (exit 69), naming no topic.
    const { bare, err } = await startWithTopics((t) => [t.headlines, t.dlq])
    expect(err).toMatchObject({
      code: 'CONFIG_INVALID',
      message: `ingest: topics missing: ${bare.raw.name} (create them with \`tradepulse topics create\`, or set TOPICS_AUTO_CREATE=true)`,
    })
  })

  it('says so when its Redis comes back empty, and goes on: health, counter, and repeats taken as new', async () => {
    // A Redis of its own, restarted without persistence on the same port: what the failure soak found
    // nothing reported.
    const first = await startLocalRedis()
    let server = first
    cleanups.push(() => server.stop())
    const { app, topics } = await startIngest({ REDIS_URL: first.url })
    const out = await collectTopic(kafkaBrokers, topics.headlines.name)
    cleanups.push(out.stop)
    const send = (id: string) =>
      producer.send({
        topic: topics.raw.name,
        messages: [{ key: 'k', value: JSON.stringify({ id, headline: `US raises tariffs, ${id}` }) }],
      })
    await send('before')
    await waitFor(() => out.messages.length >= 1, { what: 'the first headline out' })
    expect((await app.health()).checks.redisState).toEqual({ status: 'ok' })

    const restarted = await restartEmptyUntilReported(first, () => app.health())
    server = restarted.server
    const { health } = restarted
    expect(health.ready).toBe(true)
    expect(health.checks.redisState?.detail).toMatch(
      /^Redis lost its data at .+: dedup claims \(the headline ids seen\) incomplete until /,
    )
    expect(await app.metrics.registry.getSingleMetricAsString('tradepulse_redis_state_lost_total')).toMatch(
      /tradepulse_redis_state_lost_total\{[^}]*\} 1$/m,
    )
    // The stream goes on, and the repeat of a headline claimed before the loss passes, as the line says.
    await send('before')
    await send('after')
    await waitFor(() => out.messages.length >= 3, { what: 'headlines after the loss' })
    expect(out.messages.map((m) => m.key)).toEqual(['before', 'before', 'after'])
  })
})

describe('ingest with a Redis database the server refuses (REDIS_URL)', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  /** The ingest process (its main, as deployed) on `url`; killed in the clean-ups if still running. */
  function runIngest(url: string) {
    const prefix = `${randomName('ingest-db')}.`
    const worker = spawnWorker('services/ingest/src/main.ts', {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: url,
      TRADEPULSE_TOPIC_PREFIX: prefix,
      HTTP_PORT: '0',
    })
    cleanups.push(async () => {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL')
    })
    return { worker, prefix }
  }
  /** The lines of the process's output that name REDIS_URL. */
  const naming = (output: string) => output.split('\n').filter((l) => l.includes('REDIS_URL'))

  it('exits 78 at start with one line naming REDIS_URL and the database', async () => {
    // It started, and retried every batch for ever on a client closed for good, health the only sign.
    const url = new URL(redisUrl)
    const { worker } = runIngest(`redis://${url.host}/99`)
    const { code } = await worker.exited
    expect(code, worker.output()).toBe(78)
    expect(naming(worker.output())).toEqual([
      `tradepulse: Redis at redis://${url.host}/99 (REDIS_URL) refused its database 99 (ERR DB index is out of range): set REDIS_URL to a database the server has (its databases setting), or to none for database 0`,
    ])
  })

  it('stops and exits 78 with that line when a reconnection finds the database refused (the server restarted with fewer)', async () => {
    const server = await startLocalRedis()
    let current: { stop(): Promise<unknown> } = server
    cleanups.push(() => current.stop())
    const { worker, prefix } = runIngest(`${server.url}/5`)
    await waitFor(() => worker.output().includes('"msg":"ingest started"'), { what: 'ingest started' })
    const producer = await testProducer(kafkaBrokers)
    cleanups.push(() => producer.disconnect())
    const send = (id: string) =>
      producer.send({
        topic: `${prefix}headlines.raw.v1`,
        messages: [{ value: JSON.stringify({ id, headline: `US raises tariffs, ${id}` }) }],
      })
    await send('before')
    const db5 = new Redis(`${server.url}/5`)
    cleanups.push(async () => db5.disconnect())
    await waitFor(async () => (await db5.dbsize()) > 0, { what: 'the dedup claim in database 5' })
    db5.disconnect()

    await server.stop()
    current = await startLocalRedis({ port: server.port, databases: 2 })
    await send('after') // a batch under way when the refusal comes
    const { code } = await worker.exited
    expect(code, worker.output()).toBe(78)
    expect(naming(worker.output())).toEqual([
      `tradepulse: Redis at ${server.url}/5 (REDIS_URL) refused its database 5 (ERR DB index is out of range): set REDIS_URL to a database the server has (its databases setting), or to none for database 0`,
    ])
    expect(worker.output()).toContain('"msg":"ingest stopped"')
    // Nothing went to database 0 of the new server.
    const db0 = new Redis(server.url)
    cleanups.push(async () => db0.disconnect())
    expect(await db0.dbsize()).toBe(0)
  })
})

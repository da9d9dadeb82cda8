import {
  createTopicCatalogue,
  type DeadLetter,
  type Headline,
  listTopics,
  type ScoredHeadline,
  TEXT_RULES,
} from '@tradepulse/contracts'
import { createLogger, loadConfig } from '@tradepulse/platform'
import { createScorer, type Scorer } from '@tradepulse/scoring'
import {
  collectTopic,
  createTopics,
  groupCommittedToEnd,
  randomName,
  testInfra,
  testProducer,
  waitFor,
} from '@tradepulse/testing'
import { testKafka } from '@tradepulse/testing/kafka'
import type { Producer } from 'kafkajs'
import { afterEach, describe, expect, it } from 'vitest'
import { buildScorerApp } from './build-app.ts'
import { ScorerConfig } from './config.ts'

describe('scorer worker on Kafka', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  /** A scorer on topics under `prefix` that it does not create (they must exist). */
  function scorerApp(prefix: string, scorer?: Scorer, env: Record<string, string> = {}) {
    const config = loadConfig(ScorerConfig, {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      TRADEPULSE_TOPIC_PREFIX: prefix,
      HTTP_PORT: '0',
      TOPICS_AUTO_CREATE: 'false',
      ...env,
    })
    const app = buildScorerApp(config, {
      log: createLogger({ level: 'silent' }),
      ...(scorer ? { scorer } : {}),
    })
    cleanups.push(() => app.stop())
    return app
  }

  const AT = '2026-03-02T08:00:00.000Z'
  /** A headline as ingest writes it (published and ingested at AT), `fields` over a tariff rise. */
  const headlineOf = (fields: Partial<Headline> & { id: string }): Headline => ({
    source: 't',
    headline: 'US raises tariffs on Chinese steel',
    publishedAt: AT,
    ingestedAt: AT,
    truncated: false,
    ...fields,
  })

  /** The catalogue under a fresh prefix (`partitions` each), a producer, and collectors of scored and dlq. */
  async function freshTopics(partitions: number) {
    const prefix = `${randomName('scorer')}.`
    const topics = createTopicCatalogue(prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name, partitions })),
    )
    const scored = await collectTopic(kafkaBrokers, topics.scored.name)
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    const producer = await testProducer(kafkaBrokers)
    cleanups.push(scored.stop, dlq.stop, () => producer.disconnect())
    return { prefix, topics, scored, dlq, producer }
  }

  /**
   * The real scorer, taking `ms` of CPU a headline (as a 20,000-character body dense with cues costs it on
   * a slow host); `onScore` is told of each call.
   */
  function slowScorer(ms: number, onScore: () => void = () => {}): Scorer {
    const real = createScorer()
    return {
      score: (input) => {
        onScore()
        const until = performance.now() + ms
        while (performance.now() < until) {}
        return real.score(input)
      },
      features: (input) => real.features(input),
    }
  }

  /** `n` tariff headlines h0… to `topic`, each keyed by its id. */
  const sendHeadlines = (producer: Producer, topic: string, n: number) =>
    producer.send({
      topic,
      messages: Array.from({ length: n }, (_, i) => ({
        key: `h${i}`,
        value: JSON.stringify(headlineOf({ id: `h${i}`, headline: `US raises tariffs on steel, part ${i}` })),
      })),
    })

  it('scores headlines with the directions a reader gives them, and sends bad records to the dlq', async () => {
    const { prefix, topics, scored, dlq, producer } = await freshTopics(2)
    await scorerApp(prefix).start()
    const h = (id: string, headline: string) => headlineOf({ id, headline })
    const inputs = [
      h('esc', 'US raises tariffs on Chinese steel to 25% from 10%'),
      h('deesc', 'US and China agree to suspend tariffs for 90 days'),
      h('halt', 'China halts exports of rare earths to US automakers'),
      h('resume', 'China resumes rare earth exports, grants export licences'),
      h('noise', 'Local bakery wins regional bread award'),
    ]
    await producer.send({
      topic: topics.headlines.name,
      messages: [
        ...inputs.map((x) => ({ key: x.id, value: JSON.stringify(x) })),
        { key: 'bad1', value: '{"id":' },
        { key: 'bad2', value: JSON.stringify({ id: 'x', headline: 'no times' }) },
      ],
    })
    await waitFor(() => scored.messages.length >= inputs.length && dlq.messages.length >= 2, {
      what: 'scored and dlq',
    })
    const byId = new Map(
      scored.messages.map((m) => [m.key, JSON.parse(m.value!.toString()) as ScoredHeadline]),
    )
    const labels = Object.fromEntries(
      [...byId].map(([id, s]) => [id, [s.scores.tariff.label, s.scores.supplyChain.label]]),
    )
    expect(labels.esc?.[0]).toBe('negative')
    expect(labels.deesc?.[0]).toBe('positive')
    expect(labels.halt?.[1]).toBe('negative')
    expect(labels.resume?.[1]).toBe('positive')
    expect(labels.noise).toEqual([null, null])
    const esc = byId.get('esc')!
    expect(esc.scorerVersion).toMatch(/^scoring-/)
    expect(esc.entities.regions).toContain('CN')
    expect(esc.explanation.length).toBeGreaterThan(0)
    expect(esc.ingestedAt).toBe(AT)
    const reasons = dlq.messages.map((m) => (JSON.parse(m.value!.toString()) as DeadLetter).reason).sort()
    expect(reasons).toEqual(['invalid_json', 'schema_invalid'])
  })
  it('dead-letters a headline its scorer gives a NaN score for as output_invalid, naming the field, and scores the next', async () => {
    const { prefix, topics, scored, dlq, producer } = await freshTopics(2)
    // The real scorer, but a NaN tariff score for a headline that says "faulty".
    const real = createScorer()
    const faulty: Scorer = {
      score: (input) => {
        const r = real.score(input)
        if (!input.headline.includes('faulty')) return r
        return { ...r, scores: { ...r.scores, tariff: { ...r.scores.tariff, score: Number.NaN } } }
      },
      features: (input) => real.features(input),
    }
    const app = scorerApp(prefix, faulty)
    await app.start()
    const h = (id: string, headline: string) => headlineOf({ id, headline })
    const bad = JSON.stringify(h('bad', 'US faulty tariffs on Chinese steel'))
    // One key: one partition, the faulty headline first.
    await producer.send({
      topic: topics.headlines.name,
      messages: [
        { key: 'k', value: bad },
        { key: 'k', value: JSON.stringify(h('good', 'US raises tariffs on Chinese steel to 25% from 10%')) },
      ],
    })
    await waitFor(() => scored.messages.length >= 1 && dlq.messages.length >= 1, { what: 'scored and dlq' })
    expect(scored.messages.map((m) => m.key?.toString())).toEqual(['good'])
    const out = JSON.parse(scored.messages[0]!.value!.toString()) as ScoredHeadline
    expect(out.scores.tariff.label).toBe('negative')
    expect(dlq.messages).toHaveLength(1)
    const letter = JSON.parse(dlq.messages[0]!.value!.toString()) as DeadLetter
    expect(letter).toMatchObject({
      reason: 'output_invalid',
      message: expect.stringMatching(
        /^scores\.tariff\.score: Invalid input: expected number, received NaN \(the scorer scoring-\S+ gave a result that breaks the ScoredHeadline contract/,
      ),
      worker: 'scorer',
      origin: { topic: topics.headlines.name },
      payload: bad,
    })
    expect(await app.metrics.registry.metrics()).toMatch(
      /tradepulse_dlq_total\{[^}]*reason="output_invalid"[^}]*\} 1\n/,
    )
  })
  it('dead-letters a headline another producer wrote that ingest would refuse, naming the field and the rule, and scores the next', async () => {
    const { prefix, topics, scored, dlq, producer } = await freshTopics(1)
    await scorerApp(prefix).start()
    const h = (fields: Partial<Headline>): Headline => headlineOf({ id: 'x', ...fields })
    const { wellFormed, noControl, noControlButLineFeed, showsSomething, readable } = TEXT_RULES
    // [the record, the letter's message]: what ingest never writes, each written straight to headlines.
    // JSON.stringify writes a lone surrogate as its escape (\ud800): the record is valid UTF-8 and JSON.
    const refused: [Headline, string][] = [
      [h({ id: 'lone', headline: 'US tariffs \ud800 on steel' }), `headline: ${wellFormed.message}`],
      [h({ id: 'body-lone', body: 'China \udc00 retaliates' }), `body: ${wellFormed.message}`],
      [h({ id: 'ctrl', headline: 'US tariffs\u0000\u0007 on steel' }), `headline: ${noControl.message}`],
      [h({ id: 'body-cr', body: 'Tariffs lifted.\r\nChina halts' }), `body: ${noControlButLineFeed.message}`],
      [h({ id: 'blank', headline: '   ' }), `headline: ${readable.message}`],
      [h({ id: 'a\u0000' }), `id: ${noControl.message}`],
      [h({ id: '\u200b' }), `id: ${showsSomething.message}`],
      [h({ id: 'src', source: '\u0085' }), `source: ${noControl.message}; source: ${showsSomething.message}`],
    ]
    // One partition, in order: the good headline after all of them.
    await producer.send({
      topic: topics.headlines.name,
      messages: [
        ...refused.map(([x]) => ({ key: 'k', value: JSON.stringify(x) })),
        { key: 'k', value: JSON.stringify(h({ id: 'good' })) },
      ],
    })
    // Every record handled, scored or dead-lettered (before the fix: all scored, none dead-lettered).
    await waitFor(() => scored.messages.length + dlq.messages.length >= refused.length + 1, {
      what: 'every record scored or dead-lettered',
    })
    expect(scored.messages.map((m) => m.key)).toEqual(['good'])
    expect((JSON.parse(scored.messages[0]!.value!.toString()) as ScoredHeadline).scores.tariff.label).toBe(
      'negative',
    )
    const letters = dlq.messages
      .map((m) => JSON.parse(m.value!.toString()) as DeadLetter)
      .sort((a, b) => Number(a.origin.offset) - Number(b.origin.offset))
    expect(letters.map((l) => [l.origin.offset, l.reason, l.message, l.payload])).toEqual(
      refused.map(([x, message], i) => [String(i), 'schema_invalid', message, JSON.stringify(x)]),
    )
    for (const l of letters)
      expect(l).toMatchObject({ worker: 'scorer', origin: { topic: topics.headlines.name } })
  })
  it('scores a batch that takes longer than the session timeout once, keeping its place in the group', async () => {
    const { prefix, topics, scored, producer } = await freshTopics(1)
    // Each headline costs 100 ms of CPU: the 90 of one fetch take 9 s, past the 6 s session timeout.
    const app = scorerApp(prefix, slowScorer(100), {
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
    })
    const n = 90
    await sendHeadlines(producer, topics.headlines.name, n)
    await app.start()
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    cleanups.push(() => admin.disconnect())
    const committed = async () => {
      const [t] = await admin.fetchOffsets({ groupId: `${prefix}scorer`, topics: [topics.headlines.name] })
      return Number(t?.partitions[0]?.offset ?? -1)
    }
    // Before: the batch held the event loop past the session timeout, no heartbeat went out, the member
    // was evicted and the batch handled again, for ever: nothing committed, headlines scored several times.
    await waitFor(async () => (await committed()) === n, {
      what: 'the batch committed',
      timeoutMs: 90_000,
      intervalMs: 500,
    })
    const keys = scored.messages.map((m) => m.key)
    expect(new Set(keys).size).toBe(n)
    expect(keys).toHaveLength(n)
  })
  it('dead-letters a headline its scorer throws on as handler_error and scores the rest of a batch longer than the session timeout once', async () => {
    const { prefix, topics, scored, dlq, producer } = await freshTopics(1)
    // 100 ms of CPU a headline, throwing on h40: the 80 of one fetch take 8 s, past the 6 s session timeout.
    const slow = slowScorer(100)
    const app = scorerApp(
      prefix,
      {
        ...slow,
        score: (input) => {
          const r = slow.score(input)
          if (input.headline.endsWith('part 40')) throw new RangeError('a scorer bug')
          return r
        },
      },
      { KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '500' },
    )
    const n = 80
    await sendHeadlines(producer, topics.headlines.name, n)
    await app.start()
    // Before: the throw sent the batch to be handled again one record a call, which never gave the event
    // loop a turn: no heartbeat for 8 s, the member evicted and the batch redone the same way, for ever.
    await waitFor(() => groupCommittedToEnd(kafkaBrokers, `${prefix}scorer`, [topics.headlines.name]), {
      what: 'the batch committed',
      timeoutMs: 90_000,
      intervalMs: 500,
    })
    await dlq.caughtUp()
    await scored.caughtUp()
    const keys = scored.messages.map((m) => m.key?.toString())
    expect(keys).toHaveLength(n - 1)
    expect(new Set(keys).size).toBe(n - 1)
    expect(keys).not.toContain('h40')
    expect(dlq.messages.map((m) => JSON.parse(m.value!.toString()) as DeadLetter)).toEqual([
      expect.objectContaining({
        reason: 'handler_error',
        message:
          'INTERNAL (RangeError): a scorer bug (the scorer threw on this headline; nothing was written for it)',
        origin: expect.objectContaining({ offset: '40' }),
      }),
    ])
  })
  it('stops mid-batch at its next slice, leaving the rest of the batch to be scored, none lost, at the next start', async () => {
    const { prefix, topics, scored, dlq, producer } = await freshTopics(1)
    // 100 ms of CPU a headline: each ends a slice, and the 60 of one fetch take 6 s.
    let calls = 0
    const n = 60
    await sendHeadlines(producer, topics.headlines.name, n)
    const first = scorerApp(
      prefix,
      slowScorer(100, () => calls++),
    )
    await first.start()
    await waitFor(() => calls >= 3, { what: 'the batch under way', timeoutMs: 30_000 })
    const callsAtStop = calls
    await first.stop()
    // Before: the stop waited for the whole batch to be scored (57 more headlines here).
    expect(calls - callsAtStop).toBeLessThanOrEqual(1)
    // The next start scores every headline: nothing of the stopped batch was committed, none dead-lettered.
    await scorerApp(prefix).start()
    await waitFor(() => new Set(scored.messages.map((m) => m.key)).size >= n, {
      what: 'every headline scored',
      timeoutMs: 30_000,
    })
    // Every headline committed (its outputs and any dead letter acknowledged), then the dlq read to its end:
    // before, its emptiness was asserted whatever its collector had not fetched yet.
    await waitFor(() => groupCommittedToEnd(kafkaBrokers, `${prefix}scorer`, [topics.headlines.name]), {
      what: 'every headline committed',
    })
    await dlq.caughtUp()
    expect(dlq.messages).toEqual([])
  })
  it("carries a headline's trace context on as W3C Trace Context asks: none from two traceparents, its tracestate headers as one list", async () => {
    const { prefix, topics, scored, producer } = await freshTopics(1)
    await scorerApp(prefix).start()
    const A = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const B = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const headline = (id: string, headers: Record<string, string | string[]>) => ({
      key: id,
      value: JSON.stringify(
        headlineOf({ id, source: 'wire', headline: `US raises tariffs on steel (${id})` }),
      ),
      headers,
    })
    await producer.send({
      topic: topics.headlines.name,
      messages: [
        // Two traceparent headers: invalid, so no trace context at all (before: the second was carried).
        headline('two-parents', { traceparent: [A, B], tracestate: 'congo=t61rcWkgMzE' }),
        // Two tracestate headers: one list, in order (before: the last alone).
        headline('both', { traceparent: A, tracestate: ['rojo=00f067aa0ba902b7', 'congo=t61rcWkgMzE'] }),
        headline('one', { traceparent: B }),
      ],
    })
    const byId = await waitFor(
      () => {
        const found = new Map(scored.messages.map((m) => [m.key, m.headers]))
        return found.size >= 3 && found
      },
      { what: 'the three scored headlines' },
    )
    expect(Object.fromEntries(byId)).toEqual({
      'two-parents': {},
      both: { traceparent: A, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' },
      one: { traceparent: B },
    })
  })
  it('refuses to start, naming them, when its output and dlq topics are missing and it does not create topics', async () => {
    const prefix = `${randomName('scorer')}.`
    const topics = createTopicCatalogue(prefix)
    await createTopics(kafkaBrokers, [{ name: topics.headlines.name, partitions: 1 }])
    const app = scorerApp(prefix)
    const err = await app.start().catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' })
    expect(String(err)).toContain(`topics missing: ${topics.scored.name}, ${topics.dlq.name} (`)
    expect(String(err)).toContain('tradepulse topics create')
  })
})

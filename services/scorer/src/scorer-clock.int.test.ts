import { createTopicCatalogue, type Headline, listTopics } from '@tradepulse/contracts'
import { createCapturingLogger, type LogLine, loadConfig } from '@tradepulse/platform'
import { collectTopic, createTopics, randomName, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { buildScorerApp } from './build-app.ts'
import { ScorerConfig } from './config.ts'

const MIN_MS = 60_000
/** The wall clock, whatever Date.now is made to say: the broker runs on this machine's clock. */
const realNow = () => performance.timeOrigin + performance.now()
/** How far the two readings of the wall clock may disagree. */
const SLACK_MS = 2_000

describe('the scorer on a host whose clock runs behind', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    vi.restoreAllMocks()
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  function scorerApp(prefix: string, autoCreate: boolean) {
    const config = loadConfig(ScorerConfig, {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      TRADEPULSE_TOPIC_PREFIX: prefix,
      HTTP_PORT: '0',
      TOPICS_AUTO_CREATE: String(autoCreate),
    })
    const { log, lines } = createCapturingLogger<LogLine & { topic?: string }>('warn')
    const app = buildScorerApp(config, { log })
    cleanups.push(() => app.stop())
    return { app, lines }
  }

  const headline = (id: string, at: number): Headline => ({
    id,
    source: 't',
    headline: 'US raises tariffs on Chinese steel to 25% from 10%',
    publishedAt: new Date(at).toISOString(),
    ingestedAt: new Date(at).toISOString(),
    truncated: false,
  })

  it("writes headlines.scored records stamped by the broker's clock, not its own 10 min behind", async () => {
    // With the scorer's clock on its records, the aggregators applied every live headline up to 10 min
    // too early, and one more than 10.5 min ahead of its record went to the dlq as event_time_ahead.
    const prefix = `${randomName('scorer-clock')}.`
    const topics = createTopicCatalogue(prefix)
    const real = Date.now.bind(Date)
    vi.spyOn(Date, 'now').mockImplementation(() => real() - 10 * MIN_MS)
    // It creates the catalogue's topics itself, as `tradepulse topics create` would.
    const { app, lines } = scorerApp(prefix, true)
    await app.start()
    const scored = await collectTopic(kafkaBrokers, topics.scored.name)
    cleanups.push(scored.stop)
    const producer = await testProducer(kafkaBrokers)
    cleanups.push(() => producer.disconnect())

    const before = realNow()
    const h = headline('live', before)
    await producer.send({ topic: topics.headlines.name, messages: [{ key: h.id, value: JSON.stringify(h) }] })
    const [record] = await waitFor(() => (scored.messages.length > 0 ? scored.messages : undefined), {
      what: 'the scored headline',
    })
    const after = realNow()
    expect(record!.key).toBe('live')
    expect(record!.timestamp).toBeGreaterThanOrEqual(before - SLACK_MS)
    expect(record!.timestamp).toBeLessThanOrEqual(after + SLACK_MS)
    expect(lines.filter((l) => l.topic === topics.scored.name)).toEqual([])
  })

  it('warns at start when headlines.scored was created with CreateTime, naming the command that sets it', async () => {
    const prefix = `${randomName('scorer-clock')}.`
    const topics = createTopicCatalogue(prefix)
    // As an earlier catalogue created them: with the broker's default timestamp type.
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name })),
    )
    const { app, lines } = scorerApp(prefix, false)
    await app.start()
    // One warning per topic it reads or writes that the catalogue makes LogAppendTime (headlines and dlq
    // too since 51cc98e).
    const warned = lines.filter((l) => l.topic !== undefined)
    expect(warned.map((l) => l.topic).sort()).toEqual(
      [topics.headlines.name, topics.scored.name, topics.dlq.name].sort(),
    )
    expect(warned.find((l) => l.topic === topics.scored.name)).toEqual(
      expect.objectContaining({
        level: 40,
        timestampType: 'CreateTime',
        wanted: 'LogAppendTime',
        msg: expect.stringContaining('`tradepulse topics create` sets it'),
      }),
    )
  })
})

import { createTopicCatalogue, DeadLetter, type Headline, listTopics } from '@tradepulse/contracts'
import { createCapturingLogger, loadConfig } from '@tradepulse/platform'
import { collectTopic, createTopics, randomName, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { buildIngestApp } from './build-app.ts'
import { IngestConfig } from './config.ts'

describe('ingest: the dead letter of a record as large as the broker takes', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('sends a record of 380,000 empty headers, a key of control characters and 256 KB to the dlq, then goes on', async () => {
    const prefix = `${randomName('ingest-dlq-size')}.`
    const topics = createTopicCatalogue(prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name, partitions: 1 })),
    )
    const { log, lines } = createCapturingLogger('warn')
    const config = loadConfig(IngestConfig, {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix.replace(/\W/g, '_'),
      TRADEPULSE_TOPIC_PREFIX: prefix,
      HTTP_PORT: '0',
      TOPICS_AUTO_CREATE: 'false',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
    })
    const app = buildIngestApp(config, { log })
    cleanups.push(() => app.stop())
    await app.start()
    const headlines = await collectTopic(kafkaBrokers, topics.headlines.name)
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    cleanups.push(headlines.stop, dlq.stop)
    const producer = await testProducer(kafkaBrokers)
    cleanups.push(() => producer.disconnect())

    // Just under the broker's 1 MB: the empty headers take 2 bytes each on the wire (760 KB). Their
    // dead letter carried them all (counted as nothing), its key copy as six-fold JSON: over 1 MB, refused,
    // and the record was skipped (dlq_refused) with only a log line.
    const key = Buffer.alloc(16 * 1024, 1)
    const value = Buffer.concat([Buffer.alloc(17_000, 1), Buffer.alloc(262_144 - 17_000, 0x78)])
    await producer.send({
      topic: topics.raw.name,
      acks: -1,
      messages: [{ key, value, headers: { '': new Array<string>(380_000).fill('') } }],
    })
    await producer.send({
      topic: topics.raw.name,
      acks: -1,
      messages: [
        { key: 'k', value: JSON.stringify({ id: 'after', headline: 'US raises tariffs on steel' }) },
      ],
    })

    await waitFor(() => dlq.messages.length >= 1 && headlines.messages.length >= 1, {
      what: 'the dead letter and the good headline after it',
    })
    expect(headlines.messages.map((m) => (JSON.parse(m.value!.toString()) as Headline).id)).toEqual(['after'])
    expect(dlq.messages).toHaveLength(1)
    const [record] = dlq.messages
    const letter = DeadLetter.parse(JSON.parse(record!.value!.toString()))
    expect(letter).toMatchObject({
      reason: 'too_large',
      origin: { topic: topics.raw.name, partition: 0, offset: '0' },
      keyEncoding: 'base64',
      payloadTruncated: false,
    })
    expect(Buffer.from(letter.key!, 'base64')).toEqual(key)
    expect(letter.payloadEncoding === 'utf8' ? Buffer.from(letter.payload) : null).toEqual(value)
    expect(record!.headers).toMatchObject({
      'tp-dlq-reason': 'too_large',
      'tp-origin-offset': '0',
      'tp-dlq-headers-omitted': '380000',
    })
    expect(record!.value!.length).toBeLessThan(900 * 1024)
    const outcomes = await app.metrics.registry.getSingleMetricAsString('tradepulse_outcomes_total')
    expect(outcomes).toMatch(/outcome="dlq",reason="too_large"[^\n]* 1/)
    expect(outcomes).not.toContain('dlq_refused')
    expect(lines.filter((l) => String(l.msg).includes('refused'))).toEqual([])
  })
})

import { createTopics, randomName, testInfra, testKafka, testProducer, waitFor } from '@tradepulse/testing'
import type { Consumer, Producer } from 'kafkajs'
import { afterEach, describe, expect, it } from 'vitest'

// patches/kafkajs@2.2.4.patch: with every partition of a broker paused, kafkajs's fetch loop sleeps
// maxWaitTime before it looks again; published, a resume did not cut that sleep short, so a partition
// held by event-time alignment and resumed waited out the aggregator's whole fetch wait every time.
describe('kafkajs consumer (patched): resuming a paused partition', () => {
  const { kafkaBrokers } = testInfra()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {})
  })

  it('fetches a resumed partition at once, not after the fetch wait of a consumer with all partitions paused', async () => {
    const topic = randomName('kresume')
    await createTopics(kafkaBrokers, [{ name: topic, partitions: 1 }])
    const producer: Producer = await testProducer(kafkaBrokers)
    cleanups.push(() => producer.disconnect())
    // A fetch wait of 10 s: unpatched, the resumed partition would wait it out, twice the 5 s the test
    // gives it (patched, it comes within milliseconds). The consumer's last fetch waits it out at the
    // end, which is why it is not longer.
    const consumer: Consumer = testKafka(kafkaBrokers).consumer({
      groupId: `${topic}.g`,
      maxWaitTimeInMs: 10_000,
      minBytes: 1,
    })
    cleanups.push(() => consumer.disconnect())
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const seen: string[] = []
    let resume: (() => void) | undefined
    // Fetches the loop has begun, and how many had when the partition was paused: the next one finds
    // every partition paused and sleeps.
    let fetches = 0
    let fetchesAtPause = 0
    consumer.on(consumer.events.FETCH_START, () => {
      fetches++
    })
    await consumer.run({
      eachBatch: async ({ batch, pause, resolveOffset }) => {
        for (const m of batch.messages) {
          seen.push(m.value!.toString())
          resolveOffset(m.offset)
        }
        if (seen.length === 1) {
          resume = pause() // the only partition: the fetch loop goes to sleep
          fetchesAtPause = fetches
        }
      },
    })
    await producer.send({ topic, messages: [{ value: 'first' }] })
    await waitFor(() => resume !== undefined, { what: 'the first batch, then a pause', timeoutMs: 30_000 })
    await producer.send({ topic, messages: [{ value: 'second' }] })
    // The loop's next fetch finds nothing to fetch and falls asleep; then resume.
    await waitFor(() => fetches > fetchesAtPause, {
      what: 'a fetch with the partition paused',
      timeoutMs: 30_000,
    })
    expect(seen).toEqual(['first'])
    resume!()
    await waitFor(() => seen.length === 2, { what: 'the second record after the resume', timeoutMs: 5_000 })
    expect(seen).toEqual(['first', 'second'])
  })
})

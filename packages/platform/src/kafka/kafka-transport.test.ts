import { Kafka, type Producer } from 'kafkajs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TradepulseError } from '../errors.ts'
import { createLogger } from '../logger.ts'
import { createKafkaTransport } from './kafka-transport.ts'

/**
 * kafkajs's producers made fakes: a connect fails while `down` is set (as kafkajs's own does once its
 * retries are spent), and each call is counted.
 */
function fakeProducers() {
  const state = { down: false, connects: 0, disconnects: 0, sent: [] as string[] }
  vi.spyOn(Kafka.prototype, 'producer').mockImplementation(
    () =>
      ({
        async connect() {
          state.connects++
          if (state.down) {
            throw Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'), {
              name: 'KafkaJSConnectionError',
              retriable: true,
            })
          }
        },
        async disconnect() {
          state.disconnects++
        },
        async sendBatch(batch: { topicMessages: { messages: { value: string }[] }[] }) {
          for (const t of batch.topicMessages) for (const m of t.messages) state.sent.push(m.value)
          return []
        },
      }) as unknown as Producer,
  )
  return state
}

const record = (value: string) => [{ topic: 'tp.test.v1', key: 'k', value }]
const publisher = () =>
  createKafkaTransport(
    { brokers: ['127.0.0.1:9092'], clientId: 'test' },
    createLogger({ level: 'silent' }),
  ).createPublisher()

describe('Kafka publisher', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('connects again at the next send after a failed connect', async () => {
    const kafka = fakeProducers()
    const p = publisher()
    kafka.down = true
    await expect(p.send(record('a'))).rejects.toThrow('ECONNREFUSED')
    await expect(p.send(record('b'))).rejects.toThrow('ECONNREFUSED')
    kafka.down = false
    await p.send(record('c'))
    await p.send(record('d'))
    expect(kafka.sent).toEqual(['c', 'd'])
    expect(kafka.connects).toBe(3) // once per send until one succeeds, then never again
  })

  it('connects once for sends made together', async () => {
    const kafka = fakeProducers()
    const p = publisher()
    await Promise.all([p.send(record('a')), p.send(record('b'))])
    expect(kafka.sent).toEqual(['a', 'b'])
    expect(kafka.connects).toBe(1)
  })

  it('does not connect after close, and fails the send as retriable', async () => {
    const kafka = fakeProducers()
    const p = publisher()
    kafka.down = true
    await expect(p.send(record('a'))).rejects.toThrow('ECONNREFUSED')
    await p.close()
    kafka.down = false
    const err = await p.send(record('b')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TradepulseError)
    expect(err).toMatchObject({ code: 'SHUTDOWN', retriable: true })
    expect(kafka.connects).toBe(1)
    expect(kafka.sent).toEqual([])
    // The failed connect may have reached a broker: its producer is disconnected, once however often closed.
    await p.close()
    expect(kafka.disconnects).toBe(1)
  })

  it('closes without disconnecting when it never sent', async () => {
    const kafka = fakeProducers()
    const p = publisher()
    await p.close()
    await p.close()
    await expect(p.send(record('a'))).rejects.toThrow('the publisher is closed')
    expect(kafka.connects).toBe(0)
    expect(kafka.disconnects).toBe(0)
  })
})

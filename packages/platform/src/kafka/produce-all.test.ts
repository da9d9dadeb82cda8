import type { Producer } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { recordRefusal } from './batch-processor.ts'
import {
  acknowledgedBefore,
  createProduceQueue,
  KafkaClockError,
  kafkaClockError,
  produceAll,
  RECORD_FRAMING_BYTES,
} from './produce.ts'
import type { OutRecord } from './records.ts'

/** A producer that acknowledges every request but the ones whose numbers (from 1) are in `failing`. */
function fakeProducer(failing: number[]) {
  const written: string[] = []
  let n = 0
  const producer = {
    sendBatch: async ({
      topicMessages,
    }: {
      topicMessages: { topic: string; messages: { value: string }[] }[]
    }) => {
      n++
      if (failing.includes(n)) throw new Error(`request ${n}: NOT_LEADER_FOR_PARTITION`)
      for (const t of topicMessages) for (const m of t.messages) written.push(String(m.value))
    },
  } as unknown as Producer
  return { producer, written }
}
const rec = (value: string, topic = 't'): OutRecord => ({ topic, key: null, value })

describe('produceAll', () => {
  it('tells, on a failed request, which records the requests before it wrote', async () => {
    const f = fakeProducer([3])
    const records = ['a', 'b', 'c', 'd', 'e'].map((v) => rec(v))
    // Two records of one byte (and their framing) a request.
    const maxRequestBytes = 2 * (RECORD_FRAMING_BYTES + 1)
    const err = await produceAll(f.producer, records, { maxRequestBytes }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toBe('request 3: NOT_LEADER_FOR_PARTITION') // the producer's own error
    expect(f.written).toEqual(['a', 'b', 'c', 'd'])
    expect(acknowledgedBefore(err, records)).toEqual(records.slice(0, 4))
    // Only the caller's records (by identity), and nothing for another error.
    expect(acknowledgedBefore(err, [rec('a'), records[1]!])).toEqual([records[1]])
    expect(acknowledgedBefore(new Error('other'), records)).toEqual([])
    expect(acknowledgedBefore('not an object', records)).toEqual([])
  })

  it('tells that nothing was written when the first request fails', async () => {
    const f = fakeProducer([1])
    const records = [rec('a'), rec('b')]
    const err = await produceAll(f.producer, records, { maxRequestBytes: 1 }).catch((e: unknown) => e)
    expect(acknowledgedBefore(err, records)).toEqual([])
  })
})

describe('produce queue after a partial failure', () => {
  it('resolves a caller whose records were all acknowledged and fails the others, each told what it wrote', async () => {
    const f = fakeProducer([3])
    const q = createProduceQueue(f.producer)
    // Three records of 300 KB: one request each (MAX_REQUEST_BYTES is 512 KB), sent as one group.
    const big = (c: string) => rec(c.repeat(300 * 1024))
    const a = [big('a')]
    const b = [big('b'), big('c')]
    const sentA = q.send(a)
    const sentB = q.send(b)
    await expect(sentA).resolves.toBeUndefined()
    const err = await sentB.catch((e: unknown) => e)
    expect((err as Error).message).toBe('request 3: NOT_LEADER_FOR_PARTITION')
    expect(acknowledgedBefore(err, b)).toEqual([b[0]])
    expect(f.written.map((v) => v[0])).toEqual(['a', 'b'])
  })
})

describe('a timestamp Kafka refuses (INVALID_TIMESTAMP)', () => {
  const refusing = {
    sendBatch: async () => {
      throw Object.assign(new Error('The timestamp of the message is out of acceptable range'), {
        name: 'KafkaJSProtocolError',
        type: 'INVALID_TIMESTAMP',
      })
    },
  } as unknown as Producer

  it("is this host's clock when the producer stamped every record: a KafkaClockError, no refusal of a record", async () => {
    const records = [rec('a', 'x'), rec('b', 'y')]
    const err = await produceAll(refusing, records).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KafkaClockError)
    expect(kafkaClockError(err)).toBe(err)
    expect((err as KafkaClockError).topics).toEqual(['x', 'y'])
    expect((err as KafkaClockError).retriable).toBe(true)
    expect((err as Error).message).toMatch(
      /^Kafka refused the timestamps of records for x, y \(INVALID_TIMESTAMP\)/,
    )
    // Before: the batch processor took it for the records' own fault, dead-lettered each and skipped them.
    expect(recordRefusal(err)).toBeUndefined()
    expect(acknowledgedBefore(err, records)).toEqual([])
  })

  it('stays the refusal of a record that was given its own timestamp', async () => {
    const err = await produceAll(refusing, [rec('a'), { ...rec('b'), timestamp: 1 }]).catch((e: unknown) => e)
    expect(kafkaClockError(err)).toBeUndefined()
    expect(recordRefusal(err)).toBe('INVALID_TIMESTAMP')
  })
})

import type { Producer } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { createProduceQueue, produceAll } from './produce.ts'
import type { OutRecord } from './records.ts'
import { sendFindingRefused } from './refused-records.ts'

const rec = (key: string): OutRecord => ({ topic: 't', key, value: key })
const tooLarge = () => Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' })
const down = () => Object.assign(new Error('down'), { type: 'NETWORK_EXCEPTION' })

/**
 * A producer that records the keys of each request and answers it with the next of `answers` (an error
 * to fail with, or undefined to acknowledge); past them, it acknowledges.
 */
function fakeProducer(...answers: (Error | undefined)[]) {
  const requests: string[][] = []
  const producer = {
    sendBatch: async ({ topicMessages }: { topicMessages: { messages: { key: string }[] }[] }) => {
      requests.push(topicMessages.flatMap((t) => t.messages.map((m) => m.key)))
      const answer = answers.shift()
      if (answer) throw answer
    },
  } as unknown as Producer
  return { producer, requests }
}

describe('sendFindingRefused', () => {
  it('sends once when nothing is refused, every record acknowledged', async () => {
    const [a, b] = [rec('a'), rec('b')]
    const f = fakeProducer()
    const found = await sendFindingRefused((rs) => produceAll(f.producer, rs), [a, b])
    expect(found).toEqual({ acknowledged: new Set([a, b]), refused: new Map() })
    expect(f.requests).toEqual([['a', 'b']])
  })

  it('finds the refused record by sending those not acknowledged alone, in order', async () => {
    const [a, b, c] = [rec('a'), rec('b'), rec('c')]
    // One request a record: a's is acknowledged before b's is refused; then b alone refused, c alone taken.
    const f = fakeProducer(undefined, tooLarge(), tooLarge())
    const found = await sendFindingRefused(
      (rs) => produceAll(f.producer, rs, { maxRequestBytes: 1 }),
      [a, b, c],
    )
    expect(f.requests).toEqual([['a'], ['b'], ['b'], ['c']])
    expect([...found.refused]).toEqual([[b, 'MESSAGE_TOO_LARGE']])
    expect(found.acknowledged).toEqual(new Set([a, c]))
    expect(found.fault).toBeUndefined()
  })

  it('returns a fault that is no refusal, with every record acknowledged before it, those sent alone included', async () => {
    const [a, b, c] = [rec('a'), rec('b'), rec('c')]
    const fault = down()
    const f = fakeProducer(tooLarge(), undefined, fault)
    const found = await sendFindingRefused((rs) => produceAll(f.producer, rs), [a, b, c])
    expect(f.requests).toEqual([['a', 'b', 'c'], ['a'], ['b']])
    expect(found).toEqual({ acknowledged: new Set([a]), refused: new Map(), fault })
  })

  it('returns a first fault that is no refusal as it is, with what the send acknowledged before it, sending nothing alone', async () => {
    const [a, b] = [rec('a'), rec('b')]
    const fault = down()
    const f = fakeProducer(undefined, fault)
    let alone = 0
    const found = await sendFindingRefused(
      (rs) => produceAll(f.producer, rs, { maxRequestBytes: 1 }),
      [a, b],
      async () => void alone++,
    )
    expect(found).toEqual({ acknowledged: new Set([a]), refused: new Map(), fault })
    expect(alone).toBe(0)
  })

  // A ProduceQueue fails every caller of a failed request with the same error object. The first version
  // recorded what each caller had acknowledged on that error: the second caller's replaced the first's,
  // which lost its own and sent them again (an alert twice).
  it("keeps each caller's acknowledged records when callers sharing a queue's requests are failed with one error", async () => {
    const [a1, a2, b1, b2] = [rec('a1'), rec('a2'), rec('b1'), rec('b2')]
    const fault = down()
    const f = fakeProducer(tooLarge(), undefined, fault)
    const queue = createProduceQueue(f.producer)
    const [a, b] = await Promise.all([
      sendFindingRefused(queue.send, [a1, a2]),
      sendFindingRefused(queue.send, [b1, b2]),
    ])
    // Both callers shared each request: refused together, a1 and b1 taken alone, a2 and b2 failed together.
    expect(f.requests).toEqual([
      ['a1', 'a2', 'b1', 'b2'],
      ['a1', 'b1'],
      ['a2', 'b2'],
    ])
    expect(a.fault).toBe(fault)
    expect(b.fault).toBe(fault)
    expect(a.acknowledged).toEqual(new Set([a1]))
    expect(b.acknowledged).toEqual(new Set([b1]))
  })
})

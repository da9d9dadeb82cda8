import type { Producer } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { createProduceQueue } from './produce.ts'

type Sent = { topic: string; values: string[] }[]

/** A producer that records each request and acknowledges it when `ack` is called. */
function fakeProducer(fail = false) {
  const requests: Sent[] = []
  const acks: (() => void)[] = []
  const producer = {
    sendBatch: ({ topicMessages }: { topicMessages: { topic: string; messages: { value: string }[] }[] }) => {
      requests.push(topicMessages.map((t) => ({ topic: t.topic, values: t.messages.map((m) => m.value) })))
      return new Promise<void>((resolve, reject) =>
        acks.push(() => (fail ? reject(new Error('broker down')) : resolve())),
      )
    },
  } as unknown as Producer
  return { producer, requests, ack: () => acks.shift()?.() }
}
const rec = (value: string, topic = 't') => ({ topic, key: null, value })
const tick = () => new Promise((r) => setImmediate(r))

describe('produce queue', () => {
  it('sends what callers send in one turn as one request, in call order', async () => {
    const f = fakeProducer()
    const q = createProduceQueue(f.producer)
    const a = q.send([rec('a1'), rec('a2')])
    const b = q.send([rec('b1', 'u')])
    await tick()
    expect(f.requests).toEqual([
      [
        { topic: 't', values: ['a1', 'a2'] },
        { topic: 'u', values: ['b1'] },
      ],
    ])
    f.ack()
    await expect(Promise.all([a, b])).resolves.toEqual([undefined, undefined])
  })

  it('holds what comes while a request is out and sends it all in the next one', async () => {
    const f = fakeProducer()
    const q = createProduceQueue(f.producer)
    const first = q.send([rec('1')])
    await tick()
    const second = q.send([rec('2')])
    const third = q.send([rec('3')])
    await tick()
    expect(f.requests).toHaveLength(1) // one in flight at a time
    f.ack()
    await first
    await tick()
    expect(f.requests.map((r) => r[0]!.values)).toEqual([['1'], ['2', '3']])
    f.ack()
    await Promise.all([second, third])
  })

  it('fails every caller of a failed request, and goes on with the next', async () => {
    const f = fakeProducer(true)
    const q = createProduceQueue(f.producer)
    const a = q.send([rec('a')])
    const b = q.send([rec('b')])
    await tick()
    f.ack()
    await expect(a).rejects.toThrow('broker down')
    await expect(b).rejects.toThrow('broker down')
    const c = q.send([rec('c')])
    await tick()
    f.ack()
    await expect(c).rejects.toThrow('broker down')
    expect(f.requests).toHaveLength(2)
  })

  it('resolves an empty send at once without a request', async () => {
    const f = fakeProducer()
    await createProduceQueue(f.producer).send([])
    expect(f.requests).toEqual([])
  })
})

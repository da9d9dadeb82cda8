import {
  type ClaimAnswer,
  type ClaimRelease,
  createLogger,
  DLQ_HEADERS,
  type TradepulseProducer,
} from '@tradepulse/platform'
import { describe, expect, it } from 'vitest'
import { watchRefusedHeadlines } from './refused-headlines.ts'
import { createStandIns, type StandIn } from './stand-ins.ts'

type Batch = Parameters<TradepulseProducer['sendBatch']>[0]
const silent = createLogger({ level: 'silent' })

const refusal = () => Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' })
const headline = (id: string, size = 10) => ({ key: id, value: 'x'.repeat(size) })
const letter = (offset: string, reason = 'output_refused', worker = 'ingest') => ({
  key: null,
  value: '{}',
  headers: {
    [DLQ_HEADERS.reason]: reason,
    [DLQ_HEADERS.worker]: worker,
    [DLQ_HEADERS.topic]: 'raw',
    [DLQ_HEADERS.partition]: '0',
    [DLQ_HEADERS.offset]: offset,
  },
})

/**
 * A watched producer whose Kafka refuses any headline over 100 bytes; what was sent, released and claimed.
 * `fault` may throw before a request is sent (Kafka down).
 */
function setup(
  answer: (origin: string, id: string) => ClaimRelease = () => 'released',
  opts: {
    claimed?: (origin: string, id: string) => ClaimAnswer
    fault?: (batch: Batch) => void
  } = {},
) {
  const sent: Batch[] = []
  const events: string[] = []
  const taken: string[] = []
  const inner: TradepulseProducer = {
    connect: async () => {},
    disconnect: async () => {},
    sendBatch: async (batch) => {
      opts.fault?.(batch)
      for (const t of batch.topicMessages ?? [])
        for (const m of t.messages)
          if (t.topic === 'headlines' && String(m.value).length > 100) throw refusal()
      sent.push(batch)
      events.push(`sent ${batch.topicMessages!.map((t) => t.topic).join(',')}`)
      return []
    },
  }
  const noted = createStandIns()
  const producer = watchRefusedHeadlines(inner, {
    headlinesTopic: 'headlines',
    dlqTopic: 'dlq',
    worker: 'ingest',
    log: silent,
    release: async (origin, ids) => {
      events.push(`release ${origin} ${ids.join(',')}`)
      return ids.map((id) => answer(origin, id))
    },
    standIns: {
      noted,
      claim: async (claims) => {
        events.push(`claim ${claims.map((c) => `${c.origin} ${c.id}`).join(',')}`)
        return claims.map((c) => opts.claimed?.(c.origin, c.id) ?? 'first')
      },
      onTaken: (outcome) => taken.push(outcome),
    },
  })
  const send = (topic: string, messages: NonNullable<Batch['topicMessages']>[number]['messages']) =>
    producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] })
  return { producer, send, sent, events, noted, taken }
}

/** A record at raw/0/<offset> dropped as a duplicate, with the headline it would publish. */
const standIn = (offset: number, id: string, size = 10): StandIn => ({
  origin: `raw/0/${offset}`,
  record: {
    topic: 'raw',
    partition: 0,
    offset: String(offset),
    key: null,
    value: Buffer.from(`{"id":"${id}"}`),
    headers: {},
    timestamp: 0,
  },
  out: { topic: 'headlines', key: id, value: 'x'.repeat(size) },
})
const letterOffsets = (sent: Batch[]) =>
  sent.flatMap((b) =>
    b
      .topicMessages!.filter((t) => t.topic === 'dlq')
      .flatMap((t) => t.messages.map((m) => m.headers![DLQ_HEADERS.offset])),
  )

describe('watchRefusedHeadlines', () => {
  it('passes sends through untouched and releases nothing while Kafka refuses nothing', async () => {
    const { send, events } = setup()
    await send('headlines', [headline('a'), headline('b')])
    await send('headlines', [headline('c')])
    await send('dlq', [letter('4', 'invalid_json')])
    expect(events).toEqual(['sent headlines', 'sent headlines', 'sent dlq'])
  })

  it("releases the claim of a headline refused alone before its record's dead letter is sent", async () => {
    const { send, events } = setup()
    // The batch's request, refused: the records in it are not known to be the refused ones.
    await expect(send('headlines', [headline('a'), headline('big', 500)])).rejects.toThrow('too large')
    await send('headlines', [headline('a')])
    await expect(send('headlines', [headline('big', 500)])).rejects.toThrow('too large')
    await send('dlq', [letter('1')])
    expect(events).toEqual(['sent headlines', 'release raw/0/1 big', 'sent dlq'])
    // Released, the id is forgotten: a later letter releases nothing.
    await send('dlq', [letter('9')])
    expect(events.slice(3)).toEqual(['sent dlq'])
  })

  it('keeps an id another record holds for its own letter, and releases nothing for letters of other reasons or workers', async () => {
    const { send, events } = setup((origin, id) => (`${origin} ${id}` === 'raw/0/2 b' ? 'released' : 'other'))
    await expect(send('headlines', [headline('a', 500)])).rejects.toThrow()
    await expect(send('headlines', [headline('b', 500)])).rejects.toThrow()
    await send('dlq', [letter('2', 'invalid_json'), letter('2', 'output_refused', 'scorer')])
    expect(events).toEqual(['sent dlq'])
    await send('dlq', [letter('2')])
    expect(events.slice(1)).toEqual(['release raw/0/2 a,b', 'sent dlq'])
    await send('dlq', [letter('3')])
    expect(events.slice(3)).toEqual(['release raw/0/3 a', 'sent dlq'])
  })

  it('does not send the dead letter when the release fails, so the batch is retried, not committed', async () => {
    const sent: Batch[] = []
    const producer = watchRefusedHeadlines(
      {
        connect: async () => {},
        disconnect: async () => {},
        sendBatch: async (batch) => {
          if (batch.topicMessages![0]!.topic === 'headlines') throw refusal()
          sent.push(batch)
          return []
        },
      },
      {
        headlinesTopic: 'headlines',
        dlqTopic: 'dlq',
        worker: 'ingest',
        log: silent,
        release: async () => {
          throw new Error('Redis down')
        },
      },
    )
    await expect(
      producer.sendBatch({ topicMessages: [{ topic: 'headlines', messages: [headline('a')] }] }),
    ).rejects.toThrow('too large')
    await expect(
      producer.sendBatch({ topicMessages: [{ topic: 'dlq', messages: [letter('0')] }] }),
    ).rejects.toThrow('Redis down')
    expect(sent).toEqual([])
  })

  it('publishes a stand-in in place of a refused headline before its letter: the next one when Kafka refuses it too', async () => {
    const { send, events, sent, noted, taken } = setup()
    noted.add('x', 'raw/0/1', [standIn(2, 'x', 500), standIn(3, 'x'), standIn(4, 'x')])
    await expect(send('headlines', [headline('x', 500)])).rejects.toThrow('too large')
    await send('dlq', [letter('1')])
    expect(events).toEqual([
      'release raw/0/1 x',
      'claim raw/0/2 x',
      // Refused too: released, and dead-lettered.
      'release raw/0/2 x',
      'sent dlq',
      'claim raw/0/3 x',
      'sent headlines',
      // The refused one's letter, last; raw/0/4 is a duplicate of raw/0/3, published.
      'sent dlq',
    ])
    expect(letterOffsets(sent)).toEqual(['2', '1'])
    const standInLetter = sent[0]!.topicMessages![0]!.messages[0]!
    expect(standInLetter.headers![DLQ_HEADERS.reason]).toBe('output_refused')
    expect(JSON.parse(String(standInLetter.value))).toMatchObject({
      reason: 'output_refused',
      worker: 'ingest',
    })
    expect(taken).toEqual(['dlq', 'published'])
    expect(noted.size).toBe(0)
  })

  it("takes a stand-in again when the refused one's letter is retried after a fault, and publishes it", async () => {
    let down = true
    const { send, events, noted, taken } = setup(
      (origin) => (origin === 'raw/0/1' && !down ? 'other' : 'released'),
      {
        claimed: () => (down ? 'first' : 'again'),
        fault: (batch) => {
          if (
            down &&
            batch.topicMessages![0]!.topic === 'headlines' &&
            batch.topicMessages![0]!.messages[0]!.key === 'x'
          )
            throw new Error('Kafka down')
        },
      },
    )
    noted.add('x', 'raw/0/1', [standIn(2, 'x')])
    await expect(send('dlq', [letter('1')])).rejects.toThrow('Kafka down')
    expect(events).toEqual(['release raw/0/1 x', 'claim raw/0/2 x'])
    down = false
    await send('dlq', [letter('1')])
    // Its claim held by the stand-in now; the stand-in's re-claim passes it.
    expect(events.slice(2)).toEqual(['release raw/0/1 x', 'claim raw/0/2 x', 'sent headlines', 'sent dlq'])
    expect(taken).toEqual(['published'])
    expect(noted.size).toBe(0)
  })

  it("publishes no stand-in whose id another batch's record has claimed since", async () => {
    const { send, events, noted, taken } = setup(() => 'released', { claimed: () => 'duplicate' })
    noted.add('x', 'raw/0/1', [standIn(2, 'x'), standIn(3, 'x')])
    await send('dlq', [letter('1')])
    expect(events).toEqual(['release raw/0/1 x', 'claim raw/0/2 x', 'sent dlq'])
    expect(taken).toEqual([])
    expect(noted.size).toBe(0)
  })

  it('forgets the stand-ins of a headline Kafka acknowledges, and keeps those of one it refuses', async () => {
    const { send, events, noted } = setup()
    noted.add('x', 'raw/0/1', [standIn(2, 'x')])
    noted.add('y', 'raw/0/3', [standIn(4, 'y')])
    await expect(send('headlines', [headline('a'), headline('y', 500)])).rejects.toThrow('too large')
    expect(noted.size).toBe(2)
    await send('headlines', [headline('a'), headline('x')])
    expect(noted.of('raw/0/1')).toBeUndefined()
    expect(noted.of('raw/0/3')?.id).toBe('y')
    // A letter of another record takes no stand-in.
    await send('dlq', [letter('9')])
    expect(events).toEqual(['sent headlines', 'sent dlq'])
  })

  it('forgets the holders of acknowledged headlines, and tells a refusal with its release before that release is answered', async () => {
    const { send, noted, events } = setup()
    noted.claimed('a', 'raw/0/1')
    noted.claimed('big', 'raw/0/2')
    await send('headlines', [headline('a')])
    expect([noted.holderOf('a'), noted.holderOf('big')]).toEqual([undefined, 'raw/0/2'])
    await expect(send('headlines', [headline('big', 500)])).rejects.toThrow('too large')
    const sending = send('dlq', [letter('2')])
    // Told in the turn its release was asked for, before that release is answered.
    expect(events.at(-1)).toBe('release raw/0/2 big')
    const release = noted.refusedBy('raw/0/2')
    expect(release).toBeDefined()
    expect(await release).toEqual(['released'])
    await sending
    expect(events.at(-1)).toBe('sent dlq')
  })
})

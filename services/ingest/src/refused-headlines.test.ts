import { type ClaimRelease, createLogger, DLQ_HEADERS, type TradepulseProducer } from '@tradepulse/platform'
import { describe, expect, it } from 'vitest'
import { watchRefusedHeadlines } from './refused-headlines.ts'

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

/** A watched producer whose Kafka refuses any headline over 100 bytes; what was sent and released. */
function setup(answer: (origin: string, id: string) => ClaimRelease = () => 'released') {
  const sent: Batch[] = []
  const events: string[] = []
  const inner: TradepulseProducer = {
    connect: async () => {},
    disconnect: async () => {},
    sendBatch: async (batch) => {
      for (const t of batch.topicMessages ?? [])
        for (const m of t.messages) if (String(m.value).length > 100) throw refusal()
      sent.push(batch)
      events.push(`sent ${batch.topicMessages!.map((t) => t.topic).join(',')}`)
      return []
    },
  }
  const producer = watchRefusedHeadlines(inner, {
    headlinesTopic: 'headlines',
    dlqTopic: 'dlq',
    worker: 'ingest',
    log: silent,
    release: async (origin, ids) => {
      events.push(`release ${origin} ${ids.join(',')}`)
      return ids.map((id) => answer(origin, id))
    },
  })
  const send = (topic: string, messages: NonNullable<Batch['topicMessages']>[number]['messages']) =>
    producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] })
  return { producer, send, sent, events }
}

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
})

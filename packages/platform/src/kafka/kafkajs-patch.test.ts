import { createRequire } from 'node:module'
import { describe, expect, it, vi } from 'vitest'

// patches/kafkajs@2.2.4.patch replaces kafkajs's grouping of a produce request's messages by partition
// (quadratic: it copied a partition's array for every message) with one that appends in place, and stops
// the request queue's 1 ms timer loop with nothing pending (and its TimeoutNegativeWarning on Node 24).
// (Its third change, a resume that wakes a fetch loop asleep with every partition paused, is tested on
// Kafka in test/kafkajs-resume.test.ts.)
const require = createRequire(import.meta.url)
type Message = { key: string; value: string }
const group: (args: {
  topic: string
  partitionMetadata: { partitionId: number }[]
  messages: Message[]
  partitioner: (args: { message: Message }) => number
}) => Record<string, Message[]> = require('kafkajs/src/producer/groupMessagesPerPartition.js')

describe('kafkajs grouping of messages by partition (patched)', () => {
  const partitionMetadata = [{ partitionId: 0 }, { partitionId: 1 }, { partitionId: 2 }]

  it('keeps every message, in order within its partition', () => {
    const messages = Array.from({ length: 30_000 }, (_, i) => ({ key: `k${i}`, value: String(i) }))
    const grouped = group({
      topic: 't',
      partitionMetadata,
      messages,
      partitioner: ({ message }) => Number(message.value) % 3,
    })
    expect(Object.keys(grouped).sort()).toEqual(['0', '1', '2'])
    for (const p of [0, 1, 2]) {
      const values = grouped[p]!.map((m) => Number(m.value))
      expect(values).toEqual(messages.map((_, i) => i).filter((i) => i % 3 === p))
    }
  })

  it('gives nothing for a topic without partitions', () => {
    expect(
      group({
        topic: 't',
        partitionMetadata: [],
        messages: [{ key: 'a', value: 'b' }],
        partitioner: () => 0,
      }),
    ).toEqual({})
  })

  it('is the patched version', async () => {
    const { readFileSync } = await import('node:fs')
    const source = readFileSync(require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js'), 'utf8')
    expect(source).toContain('Tradepulse patch')
  })
})

type RequestQueueLike = {
  scheduleCheckPendingRequests(): void
  checkPendingRequests(): void
  throttleCheckTimeoutId: NodeJS.Timeout | null
  pending: unknown[]
}
type Logger = Record<'info' | 'debug' | 'warn' | 'error', () => void>
// kafkajs's Connection hands its queue a logger already namespaced: one with the log methods.
const RequestQueue: new (options: {
  logger: Logger
}) => RequestQueueLike = require('kafkajs/src/network/requestQueue/index.js')

function requestQueue(): RequestQueueLike {
  const noop = () => {}
  const logger = { info: noop, debug: noop, warn: noop, error: noop }
  return new RequestQueue({ logger })
}

describe('kafkajs request queue (patched)', () => {
  it('sets no timer when nothing is pending (the published version looped every 1 ms, idle or not)', () => {
    const queue = requestQueue()
    const original = queue.checkPendingRequests.bind(queue)
    let checks = 0
    queue.checkPendingRequests = () => {
      checks++
      original()
    }
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      queue.checkPendingRequests() // as after every answered request
      expect(queue.throttleCheckTimeoutId).toBeNull()
      // No timer at all: nothing can check again later (published: one, whose check set the next).
      expect(vi.getTimerCount()).toBe(0)
      vi.advanceTimersByTime(50)
      expect(checks).toBe(1)
    } finally {
      vi.clearAllTimers()
      vi.useRealTimers()
    }
  })

  it('emits no TimeoutNegativeWarning when nothing is pending', async () => {
    const queue = requestQueue()
    const warnings: string[] = []
    let marked = () => {}
    const marker = new Promise<void>((resolve) => {
      marked = resolve
    })
    const onWarning = (w: Error) => {
      warnings.push(w.name)
      if (w.name === 'TradepulseTestMarker') marked()
    }
    process.on('warning', onWarning)
    try {
      queue.checkPendingRequests() // as after every answered request
      // Warnings are emitted in the order raised: once this one is here, one the check raised is too.
      process.emitWarning('marker', 'TradepulseTestMarker')
      await marker
      expect(warnings).toEqual(['TradepulseTestMarker'])
    } finally {
      process.off('warning', onWarning)
      if (queue.throttleCheckTimeoutId) clearTimeout(queue.throttleCheckTimeoutId)
    }
  })

  it('still checks again later while a request is pending', async () => {
    const queue = requestQueue()
    queue.pending.push({}) // a request held back (throttled, or too many in flight)
    const checked = new Promise<void>((resolve) => {
      queue.checkPendingRequests = () => resolve()
    })
    queue.scheduleCheckPendingRequests()
    expect(queue.throttleCheckTimeoutId).not.toBeNull()
    await checked
  })
})

// The patch's fourth change: a record's headers decoded in place. Published, kafkajs copied the headers
// object for every header, so a record of 20,000 small headers (about 100 KB, far below Kafka's 1 MB)
// blocked the event loop for a minute on every fetch of it (the session lost, the batch fetched and
// decoded again), and any producer of a topic could stall its consumers so.
type Encoded = { buffer: Buffer }
type HeaderValue = Buffer | string | (Buffer | string)[]
const encodeRecord: (r: { key: Buffer; value: Buffer; headers: Record<string, HeaderValue> }) => Encoded =
  require('kafkajs/src/protocol/recordBatch/record/v0/index.js')
const Decoder: new (b: Buffer) => { readVarIntBytes(): Buffer } = require('kafkajs/src/protocol/decoder.js')
const decodeRecord: (
  d: InstanceType<typeof Decoder>,
  ctx: Record<string, unknown>,
) => {
  value: Buffer
  headers: Record<string, Buffer | Buffer[]>
} = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js')

describe('kafkajs record decoding (patched)', () => {
  const roundTrip = (headers: Record<string, HeaderValue>) => {
    const encoded = encodeRecord({ key: Buffer.from('k'), value: Buffer.from('v'), headers }).buffer
    const record = new Decoder(encoded).readVarIntBytes()
    return decodeRecord(new Decoder(record), { firstOffset: '0', firstTimestamp: '0', magicByte: 2 })
  }
  const text = (v: Buffer | Buffer[] | undefined) =>
    Array.isArray(v) ? v.map((b) => b.toString()) : v?.toString()

  it('decodes a record of 20,000 headers with every header', () => {
    const headers: Record<string, string> = {}
    for (let i = 0; i < 20_000; i++) headers[String(i)] = `h${i}`
    const decoded = roundTrip(headers)
    expect(Object.keys(decoded.headers)).toHaveLength(20_000)
    expect(text(decoded.headers['0'])).toBe('h0')
    expect(text(decoded.headers['19999'])).toBe('h19999')
    expect(decoded.value.toString()).toBe('v')
  })

  it('gathers the values of a repeated key in an array, in order, as published kafkajs did', () => {
    const decoded = roundTrip({ a: ['1', '2', '3'], b: 'x' })
    expect(text(decoded.headers.a)).toEqual(['1', '2', '3'])
    expect(text(decoded.headers.b)).toBe('x')
  })

  it('keeps keys named like Object properties as own headers', () => {
    const headers = JSON.parse('{"__proto__":"p","constructor":"c","toString":"t"}') as Record<string, string>
    const decoded = roundTrip(headers)
    expect(Object.keys(decoded.headers).sort()).toEqual(['__proto__', 'constructor', 'toString'])
    const key: string = 'constructor'
    expect(text(decoded.headers[key])).toBe('c')
    expect(Object.getPrototypeOf(decoded.headers)).toBe(Object.prototype)
  })

  it('is the patched version', async () => {
    const { readFileSync } = await import('node:fs')
    const source = readFileSync(
      require.resolve('kafkajs/src/protocol/recordBatch/record/v0/decoder.js'),
      'utf8',
    )
    expect(source).toContain('tradepulse patch')
  })
})

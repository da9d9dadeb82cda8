import { randomUUID } from 'node:crypto'
import { createTopicCatalogue } from '@tradepulse/contracts'
import {
  type ClaimRelease,
  createLogger,
  createMemoryDedupStore,
  type DedupStore,
  DLQ_HEADERS,
  deadLetterRecord,
  type InRecord,
  type Outcome,
  produceAll,
  type TradepulseProducer,
} from '@tradepulse/platform'
import { describe, expect, it } from 'vitest'
import { createIngestHandler } from './ingest-handler.ts'
import { DEFAULT_INGEST_LIMITS } from './parse-raw.ts'
import { watchRefusedHeadlines } from './refused-headlines.ts'
import { createStandIns } from './stand-ins.ts'

type Batch = Parameters<TradepulseProducer['sendBatch']>[0]

/** A promise settled by hand. */
function gate<T>() {
  let resolve!: (v: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/**
 * Ingest's handler and the runner's watched producer over one dedup store and one set of stand-ins, as
 * buildIngestApp wires them; Kafka refuses any headline whose body is `long`. `dedup` wraps the memory
 * store's calls (to fail or hold them).
 */
function setup(wrap: (store: DedupStore) => DedupStore) {
  const topics = createTopicCatalogue(`t${randomUUID().slice(0, 8)}.`)
  const dedup = wrap(createMemoryDedupStore({ windowMs: 60_000, clock: { now: () => Date.now() } }))
  const standIns = createStandIns()
  const handler = createIngestHandler({
    topics,
    dedup,
    limits: DEFAULT_INGEST_LIMITS,
    defaultSource: 'unknown',
    standIns,
  })
  const published: { id: string; body: string }[] = []
  const letters: string[] = []
  const producer = watchRefusedHeadlines(
    {
      connect: async () => {},
      disconnect: async () => {},
      sendBatch: async (batch: Batch) => {
        for (const t of batch.topicMessages ?? [])
          for (const m of t.messages)
            if (t.topic === topics.headlines.name && JSON.parse(String(m.value)).body === 'long')
              throw Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' })
        for (const t of batch.topicMessages ?? [])
          for (const m of t.messages)
            if (t.topic === topics.headlines.name) {
              const { id, body } = JSON.parse(String(m.value))
              published.push({ id, body })
            } else letters.push(String(m.headers?.[DLQ_HEADERS.offset]))
        return []
      },
    },
    {
      headlinesTopic: topics.headlines.name,
      dlqTopic: topics.dlq.name,
      worker: 'ingest',
      release: (origin, ids) => dedup.releaseClaims(origin, ids),
      standIns: { noted: standIns, claim: (claims) => dedup.claimHeadlines(claims) },
      log: createLogger({ level: 'silent' }),
    },
  )
  const id = `h-${randomUUID()}`
  const raw = (partition: number, offset: number, body: string): InRecord => ({
    topic: topics.raw.name,
    partition,
    offset: String(offset),
    key: null,
    value: Buffer.from(JSON.stringify({ id, headline: 'Tariffs rise', body })),
    headers: {},
    timestamp: Date.now(),
  })
  const ctx = { signal: new AbortController().signal }
  const handle = async (r: InRecord) => (await handler([r], ctx))[0]!
  /** A's headline, alone in its request, as the batch processor sends it to find the one refused. */
  const publish = (o: Outcome) => produceAll(producer, o.kind === 'ok' ? (o.out ?? []) : [])
  const letterOf = (r: InRecord) =>
    produceAll(producer, [
      deadLetterRecord(topics.dlq.name, 'ingest', r, 'output_refused', 'too large', new Date()),
    ])
  return { id, raw, handle, publish, letterOf, published, letters, standIns }
}

const kind = (o: Outcome) => (o.kind === 'drop' ? o.reason : o.kind)

describe('a re-send of a refused headline whose release failed', () => {
  it("is kept as the refused one's stand-in, and published when the letter's retry releases the claim", async () => {
    let failures = 1
    const { id, raw, handle, publish, letterOf, published, letters } = setup((store) => ({
      ...store,
      releaseClaims: async (origin, ids): Promise<ClaimRelease[]> => {
        if (failures-- > 0) throw new Error('Command timed out')
        return store.releaseClaims(origin, ids)
      },
    }))
    const a = raw(0, 7, 'long')
    expect(kind(await handle(a))).toBe('ok')
    await expect(publish(await handle(a))).rejects.toThrow('too large')
    // The letter's release fails (Redis timed out): its send fails, to be retried.
    await expect(letterOf(a)).rejects.toThrow('Command timed out')

    // Meanwhile a corrected re-send on another partition: A still holds the id.
    const b = raw(1, 3, 'short')
    expect(kind(await handle(b))).toBe('duplicate')
    expect(published).toEqual([])

    // The letter's retry releases the claim: the re-send is published in A's place.
    await letterOf(a)
    expect(published).toEqual([{ id, body: 'short' }])
    expect(letters).toEqual(['7'])
    // A later repeat is a duplicate of the re-send.
    expect(kind(await handle(raw(1, 4, 'repeat')))).toBe('duplicate')
  })

  it("claims again after the letter's retry's release when that retry began while it waited, and is published with its own batch", async () => {
    const releases = [gate<void>(), gate<void>()]
    let released = 0
    // The re-send's claim after the failed release is held until the letter's retry is under way.
    const secondClaim = gate<void>()
    let claims = 0
    const { id, raw, handle, publish, letterOf, published, letters, standIns } = setup((store) => ({
      ...store,
      claimHeadlines: async (c) => {
        // A's claim, the re-send's first claim, then its claim again.
        if (++claims === 3) await secondClaim.promise
        return store.claimHeadlines(c)
      },
      releaseClaims: async (origin, ids): Promise<ClaimRelease[]> => {
        await releases[released++]!.promise
        return store.releaseClaims(origin, ids)
      },
    }))
    const a = raw(0, 7, 'long')
    await expect(publish(await handle(a))).rejects.toThrow('too large')
    const firstLetter = letterOf(a)
    const b = raw(1, 3, 'short')
    const handled = handle(b)
    // The release fails; the re-send claims again, held until the retry's release is under way.
    releases[0]!.reject(new Error('Command timed out'))
    await expect(firstLetter).rejects.toThrow('Command timed out')
    const retry = letterOf(a)
    secondClaim.resolve()
    // Answered duplicate (the retry's release not done yet), it waits for that release and claims again.
    await new Promise((r) => setImmediate(r))
    releases[1]!.resolve()
    await retry
    const outcome = await handled
    expect(kind(outcome)).toBe('ok')
    expect(standIns.holderOf(id)).toBe(`${b.topic}/1/3`)
    await publish(outcome)
    expect(published).toEqual([{ id, body: 'short' }])
    expect(letters).toEqual(['7'])
  })
})

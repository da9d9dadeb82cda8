import {
  claimOrigin,
  type DedupStore,
  DLQ_HEADERS,
  type Logger,
  recordRefusal,
  type TradepulseProducer,
} from '@tradepulse/platform'

type Batch = Parameters<TradepulseProducer['sendBatch']>[0]
type HeaderValue = Buffer | string | (Buffer | string)[] | undefined

const text = (v: HeaderValue): string | undefined =>
  typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : undefined

/**
 * The runner's producer, watched for headlines Kafka refuses for good, so that their dedup claims are
 * released before their batch commits.
 *
 * When Kafka refuses a record of a batch's output (RECORD_REFUSALS: too large for the topic, an invalid
 * record), the batch processor sends each input's output alone to find which, and dead-letters the input
 * whose own output is refused (output_refused). Ingest's output is one headline per input, so that alone
 * send is a request of one headline: its id (the record key) is noted when Kafka refuses it. The dead
 * letter that follows names the input's origin; before it is sent, the claim of each noted id is released
 * if that origin holds it (a record claims exactly its own headline's id, so no other claim is touched),
 * and the released ids are forgotten. A release that fails (Redis down) fails the letter's send, which
 * the runner retries with the batch's publish, so the batch never commits with the claim still held.
 *
 * What it costs when nothing is refused: a topic check per produce request (not per record); a request
 * of one headline also gets a rejection handler. Nothing is kept per record.
 */
export function watchRefusedHeadlines(
  producer: TradepulseProducer,
  opts: {
    headlinesTopic: string
    dlqTopic: string
    worker: string
    /** Releases, of the claims of the ids given, the one the origin's record holds (the dedup store's). */
    release: DedupStore['releaseClaims']
    log: Logger
    /** The most refused ids kept waiting for their dead letter (the oldest go first); 1,000 by default. */
    maxPending?: number
  },
): TradepulseProducer {
  const maxPending = opts.maxPending ?? 1_000
  // Ids of headlines Kafka refused, alone in their request, whose dead letter has not been sent yet.
  const pending = new Set<string>()

  const noteRefused = (id: string) => {
    pending.delete(id)
    if (pending.size >= maxPending) pending.delete(pending.values().next().value as string)
    pending.add(id)
  }

  /** The origins of the output_refused dead letters of this worker in a request. */
  const refusedOrigins = (batch: Batch): string[] => {
    const origins: string[] = []
    for (const t of batch.topicMessages ?? []) {
      if (t.topic !== opts.dlqTopic) continue
      for (const m of t.messages) {
        const h = m.headers
        if (
          !h ||
          text(h[DLQ_HEADERS.reason]) !== 'output_refused' ||
          text(h[DLQ_HEADERS.worker]) !== opts.worker
        )
          continue
        const topic = text(h[DLQ_HEADERS.topic])
        const partition = text(h[DLQ_HEADERS.partition])
        const offset = text(h[DLQ_HEADERS.offset])
        if (topic !== undefined && partition !== undefined && offset !== undefined)
          origins.push(claimOrigin({ topic, partition, offset }))
      }
    }
    return origins
  }

  const releaseFor = async (origin: string) => {
    const ids = [...pending]
    if (ids.length === 0) {
      opts.log.warn(
        { origin },
        'Kafka refused a headline for good, but its id is not known: its claim is kept',
      )
      return
    }
    const answers = await opts.release(origin, ids)
    let released = false
    answers.forEach((a, i) => {
      // Another record's claim: that id's own letter is still to come.
      if (a === 'other') return
      pending.delete(ids[i]!)
      if (a === 'released') {
        released = true
        opts.log.warn(
          { id: ids[i], origin },
          'Kafka refused a headline for good; its record is dead-lettered and its dedup claim released, so a re-send is taken',
        )
      }
    })
    if (!released)
      opts.log.warn(
        { origin },
        'Kafka refused a headline for good; no claim of its record was left to release',
      )
  }

  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    sendBatch(batch) {
      const topics = batch.topicMessages ?? []
      if (topics.length === 1 && topics[0]!.topic === opts.headlinesTopic) {
        const { messages } = topics[0]!
        if (messages.length !== 1) return producer.sendBatch(batch)
        const key = messages[0]!.key
        return producer.sendBatch(batch).catch((err: unknown) => {
          if (key !== null && key !== undefined && recordRefusal(err) !== undefined) noteRefused(String(key))
          throw err
        })
      }
      if (!topics.some((t) => t.topic === opts.dlqTopic)) return producer.sendBatch(batch)
      const origins = refusedOrigins(batch)
      if (origins.length === 0) return producer.sendBatch(batch)
      return (async () => {
        for (const origin of origins) await releaseFor(origin)
        return producer.sendBatch(batch)
      })()
    },
  }
}

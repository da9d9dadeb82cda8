import {
  claimOrigin,
  type DedupStore,
  DLQ_HEADERS,
  deadLetterRecord,
  type Logger,
  normalizeError,
  produceAll,
  recordRefusal,
  type TradepulseProducer,
} from '@tradepulse/platform'
import type { StandIn, StandIns } from './stand-ins.ts'

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
 * A later record carrying the same headline id (a feed's corrected re-send), of the refused one's batch or
 * of a chunk handled while the refused one's output was being published (the runner handles a fetch's next
 * chunk then), was dropped as a duplicate of its claim before Kafka refused it: the handler noted it as a
 * stand-in (`standIns`), having been told which of this process's records hold claims whose headlines are
 * not acknowledged yet. One the handler answers once the refused record's release is under way is no
 * stand-in: it claims again after that release, and is published with its own chunk; but should that
 * release fail (Redis timed out), the claim is still the refused one's and the letter's send fails: the
 * re-send is then a stand-in after all, taken when the letter's retry releases the claim (one answered
 * while that retry's release is under way claims again after it). Once the refused record's claim is
 * released, and before its letter is sent, the stand-in claims the id and its headline is published in the
 * refused one's place; should Kafka refuse that too, its claim is released, it is dead-lettered
 * (output_refused) and the next stand-in is tried. A stand-in
 * finding the id claimed by a record of neither (another batch's) is a duplicate of that one after all. A
 * fault on the way fails the letter's send, so the batch's publish is retried and this is done again: the
 * stand-in's re-claim passes it again. The stand-ins of a headline Kafka acknowledges are forgotten.
 *
 * What it costs when nothing is refused: a topic check per produce request (not per record), and for each
 * headline acknowledged its holder forgotten (one map deletion; the handler noted it with one map entry,
 * all the record keeps while its headline is on its way, at most 100,000 of them); a request of one
 * headline also gets a rejection handler.
 */
export function watchRefusedHeadlines(
  producer: TradepulseProducer,
  opts: {
    headlinesTopic: string
    dlqTopic: string
    worker: string
    /** Releases, of the claims of the ids given, the one the origin's record holds (the dedup store's). */
    release: DedupStore['releaseClaims']
    /** Stand-ins, none when absent. */
    standIns?: {
      /** Those the handler noted (createIngestHandler's standIns). */
      noted: StandIns
      /** Claims a stand-in's headline id for its record (the dedup store's claimHeadlines). */
      claim: DedupStore['claimHeadlines']
      /** Told of each stand-in taken: its headline published, or dead-lettered as Kafka refused it too. */
      onTaken?: (outcome: 'published' | 'dlq') => void
    }
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

  /** The stand-ins of `id` in turn, after the claim of the record `holder` (refused) was released. */
  const takeStandIns = async (
    { noted, claim, onTaken }: NonNullable<typeof opts.standIns>,
    id: string,
    holder: string,
    standIns: StandIn[],
  ) => {
    while (standIns.length > 0) {
      const s = standIns[0]!
      const [answer] = await claim([{ id, origin: s.origin }])
      if (answer === 'duplicate') {
        opts.log.info(
          { id, origin: s.origin, refused: holder },
          "Kafka refused a headline for good, but another batch's record has claimed its id since: its re-send is a duplicate of that one",
        )
        break
      }
      try {
        await produceAll(producer, [s.out])
      } catch (err) {
        const refusal = recordRefusal(err)
        if (refusal === undefined) throw err
        // Refused too: its claim released and its record dead-lettered, as the batch does the first one's.
        await opts.release(s.origin, [id])
        const message = `Kafka refused its output (${refusal}): ${normalizeError(err).message}`
        await produceAll(producer, [
          deadLetterRecord(opts.dlqTopic, opts.worker, s.record, 'output_refused', message, new Date()),
        ])
        standIns.shift()
        onTaken?.('dlq')
        opts.log.warn(
          { id, origin: s.origin, refused: holder, reason: 'output_refused', message },
          'Kafka refused for good a re-send of a headline it had refused; its record is dead-lettered and its dedup claim released',
        )
        continue
      }
      onTaken?.('published')
      opts.log.warn(
        { id, origin: s.origin, refused: holder },
        'Kafka refused a headline for good; a re-send of it in the same batch, dropped as its duplicate, is published in its place',
      )
      break
    }
    noted.forget(id)
    pending.delete(id)
  }

  const releaseFor = async (origin: string) => {
    const standIns = opts.standIns
    const waiting = standIns?.noted.of(origin)
    const ids = [...pending]
    // The handler knows the id the refused record claimed: released even if its refusal went unseen.
    if (waiting && !pending.has(waiting.id)) ids.push(waiting.id)
    if (ids.length === 0) {
      opts.log.warn(
        { origin },
        'Kafka refused a headline for good, but its id is not known: its claim is kept',
      )
      return
    }
    const releasing = opts.release(origin, ids)
    // Told in the turn its stand-ins were read: a duplicate the handler answers from now on claims again
    // once this release is done, rather than waiting here unseen.
    standIns?.noted.refused(origin, releasing)
    const answers = await releasing
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
    if (!released && !waiting)
      opts.log.warn(
        { origin },
        'Kafka refused a headline for good; no claim of its record was left to release',
      )
    // Released, or held by a stand-in already (a retry of this letter's send): the stand-ins' turn.
    if (standIns && waiting) await takeStandIns(standIns, waiting.id, origin, waiting.standIns)
  }

  /** Forgets the holders and stand-ins of the headlines of an acknowledged request. */
  const acknowledged = (batch: Batch) => {
    const standIns = opts.standIns?.noted
    if (!standIns) return
    for (const t of batch.topicMessages ?? []) {
      if (t.topic !== opts.headlinesTopic) continue
      for (const m of t.messages)
        if (m.key !== null && m.key !== undefined) standIns.acknowledged(String(m.key))
    }
  }

  const send = async (batch: Batch) => {
    const result = await producer.sendBatch(batch)
    acknowledged(batch)
    return result
  }

  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    sendBatch(batch) {
      const topics = batch.topicMessages ?? []
      if (topics.length === 1 && topics[0]!.topic === opts.headlinesTopic) {
        const { messages } = topics[0]!
        if (messages.length !== 1) return send(batch)
        const key = messages[0]!.key
        return send(batch).catch((err: unknown) => {
          if (key !== null && key !== undefined && recordRefusal(err) !== undefined) noteRefused(String(key))
          throw err
        })
      }
      if (!topics.some((t) => t.topic === opts.dlqTopic)) return send(batch)
      const origins = refusedOrigins(batch)
      if (origins.length === 0) return send(batch)
      return (async () => {
        for (const origin of origins) await releaseFor(origin)
        return send(batch)
      })()
    },
  }
}

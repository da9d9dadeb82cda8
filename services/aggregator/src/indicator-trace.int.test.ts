import { createTopicCatalogue, IndicatorUpdate, listTopics, type ScoredHeadline } from '@tradepulse/contracts'
import { createLogger, loadConfig } from '@tradepulse/platform'
import { type CollectedMessage, collectTopic, createTopics, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { buildAggregatorApp } from './build-app.ts'
import { AggregatorConfig } from './config.ts'
import { useAggregatorTestContext } from './int-test-context.ts'
import { scoredSeries } from './scored-fixtures.ts'

const silent = createLogger({ level: 'silent' })
const MARKET = 'market|global:all'

/** A W3C traceparent with a random trace id and parent id, sampled. */
const traceparent = () => {
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('')
  return `00-${hex(32)}-${hex(16)}-01`
}
const traceIdOf = (tp: string | undefined) => tp?.split('-')[1]

describe('aggregator: an indicator update carries the trace context of the newest headline that moved it', () => {
  const ctx = useAggregatorTestContext('aggtrace')
  const { kafkaBrokers } = ctx

  /** A live headline with a market score alone (no entities): market and uncertainty, global scope. */
  const headline = (id: string, enteredMs: number): ScoredHeadline => {
    const [h] = scoredSeries(1, { startMs: Date.now(), spanMs: 1, idPrefix: id })
    return {
      ...h!,
      publishedAt: new Date().toISOString(),
      ingestedAt: new Date(enteredMs).toISOString(),
      scores: {
        tariff: { score: 0, relevance: 0, confidence: 0, label: null },
        supplyChain: { score: 0, relevance: 0, confidence: 0, label: null },
        market: { score: 0.1, label: 'neutral' },
        uncertainty: 0,
      },
      entities: { regions: [], commodities: [], sectors: [], companies: [] },
    }
  }

  const updatesOf = (messages: readonly CollectedMessage[], key: string) =>
    messages
      .filter((m) => m.key === key)
      .sort((a, b) => Number(a.offset) - Number(b.offset))
      .map((m) => ({ update: IndicatorUpdate.parse(JSON.parse(m.value!.toString())), headers: m.headers }))

  /** An aggregator on the test's topics and Redis, and what it publishes; `send` produces scored headlines. */
  async function start() {
    const topics = createTopicCatalogue(ctx.prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name, partitions: 1 })),
    )
    const updates = await collectTopic(kafkaBrokers, topics.indicators.name)
    ctx.cleanups.push(updates.stop)
    const config = loadConfig(
      AggregatorConfig,
      ctx.workerEnv({
        // Long enough that the headlines after the first are surely held back for the trailing edge.
        AGGREGATOR_PUBLISH_INTERVAL_MS: '3000',
        AGGREGATOR_PUBLISH_LARGE_CHANGE: '2',
        AGGREGATOR_PUBLISH_BURST_FACTOR: '0',
      }),
    )
    const app = buildAggregatorApp(config, { log: silent })
    ctx.cleanups.push(() => app.stop())
    await app.start()
    await app.runner.joined()
    const send = (headlines: { h: ScoredHeadline; traceparent?: string }[]) =>
      ctx.producer.send({
        topic: topics.scored.name,
        messages: headlines.map(({ h, traceparent }) => ({
          key: h.id,
          value: JSON.stringify(h),
          ...(traceparent ? { headers: { traceparent } } : {}),
        })),
      })
    return { updates, send }
  }

  it('a scored headline with a traceparent in, the indicator update out with the same trace; held back, the newest by entry time', async () => {
    const { updates, send } = await start()
    const t0 = Date.now() - 60_000

    // One headline: its update (the key's first, published at once) carries its trace context.
    const first = traceparent()
    await send([{ h: headline('a', t0), traceparent: first }])
    const [published] = await waitFor(() => {
      const list = updatesOf(updates.messages, MARKET)
      return list.length > 0 && list
    })
    expect(published!.update.count).toBe(1)
    expect(published!.headers.traceparent).toBe(first)
    expect(traceIdOf(published!.headers.traceparent as string)).toBe(traceIdOf(first))

    // Two more within the interval, held back: the trailing update carries the trace of the newer by
    // entry time (ingestedAt, as its own ingestedAt), not of the one read last.
    const newer = traceparent()
    const older = traceparent()
    await send([
      { h: headline('b', t0 + 2_000), traceparent: newer },
      { h: headline('c', t0 + 1_000), traceparent: older },
    ])
    const trailing = await waitFor(
      () => updatesOf(updates.messages, MARKET).find((u) => u.update.count === 3),
      { what: 'the trailing update' },
    )
    expect(trailing.headers.traceparent).toBe(newer)
    expect(trailing.update.ingestedAt).toBe(new Date(t0 + 2_000).toISOString())

    // Headlines without a valid traceparent (none, or a malformed one): their update carries none, not
    // an earlier headline's, and not a new, unrelated trace.
    await send([
      { h: headline('d', t0 + 3_000) },
      { h: headline('e', t0 + 4_000), traceparent: `00-${'z'.repeat(32)}-${'0'.repeat(15)}1-01` },
    ])
    const untraced = await waitFor(
      () => updatesOf(updates.messages, MARKET).find((u) => u.update.count === 5),
      { what: 'the update of the untraced headlines' },
    )
    expect(untraced.headers.traceparent).toBeUndefined()
  })

  it('a late headline (outside the grace) gives an update neither its trace nor its entry time, and alone publishes nothing', async () => {
    const { updates, send } = await start()
    const t0 = Date.now() - 60_000
    /** Published `agoMs` before now (AGGREGATOR_GRACE_MS is 10 min by default: 20 min ago is late). */
    const published = (h: ScoredHeadline, agoMs: number) => ({
      ...h,
      publishedAt: new Date(Date.now() - agoMs).toISOString(),
    })
    const first = traceparent()
    await send([{ h: headline('a', t0), traceparent: first }])
    await waitFor(() => updatesOf(updates.messages, MARKET).length > 0, { what: 'the first update' })
    // Held back together: an on-time headline, and a late one entered after it. The trailing update is the
    // on-time one's: its trace and its entry time, not the late one's, which moved nothing.
    const onTime = traceparent()
    const lateTrace = traceparent()
    await send([
      { h: headline('b', t0 + 1_000), traceparent: onTime },
      { h: published(headline('late', t0 + 2_000), 20 * 60_000), traceparent: lateTrace },
    ])
    const trailing = await waitFor(
      () => updatesOf(updates.messages, MARKET).find((u) => u.update.count === 2),
      { what: 'the trailing update' },
    )
    expect(trailing.headers.traceparent).toBe(onTime)
    expect(trailing.update.ingestedAt).toBe(new Date(t0 + 1_000).toISOString())
    // A late headline alone, entered last, then an on-time one: the only update after is the on-time
    // one's, with its trace (an update for the late one would be on the topic before it, one partition,
    // or, held back with it, carry the late one's trace, the newer by entry time).
    const lateAlone = traceparent()
    await send([{ h: published(headline('late2', t0 + 5_000), 25 * 60_000), traceparent: lateAlone }])
    const last = traceparent()
    await send([{ h: headline('c', t0 + 4_000), traceparent: last }])
    await waitFor(() => updatesOf(updates.messages, MARKET).find((u) => u.update.count === 3), {
      what: 'the update of the last on-time headline',
    })
    const traces = updatesOf(updates.messages, MARKET).map((u) => u.headers.traceparent)
    expect(traces).toEqual([first, onTime, last])
  })
})

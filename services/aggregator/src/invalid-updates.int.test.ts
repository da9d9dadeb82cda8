import { PassThrough } from 'node:stream'
import {
  createTopicCatalogue,
  DeadLetter,
  IndicatorUpdateReader,
  LIMITS,
  listTopics,
  type ScoredHeadline,
} from '@tradepulse/contracts'
import { contributionsOf, indicatorKey } from '@tradepulse/indicators'
import { createLogger, loadConfig } from '@tradepulse/platform'
import { type CollectedMessage, collectTopic, createTopics, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { buildAggregatorApp } from './build-app.ts'
import { AggregatorConfig } from './config.ts'
import { dirtyKeysKey } from './dirty-keys.ts'
import { useAggregatorTestContext } from './int-test-context.ts'
import { groupProgress, scoredSeries } from './scored-fixtures.ts'

const MARKET = 'market|global:all'
const UNCERTAINTY = 'uncertainty|global:all'
const MIN_MS = 60_000

describe('aggregator on Kafka and Redis: what breaks the IndicatorUpdate contract', () => {
  const ctx = useAggregatorTestContext('agginv')
  const { kafkaBrokers } = ctx

  async function start() {
    const topics = createTopicCatalogue(ctx.prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name, partitions: 1 })),
    )
    const out = new PassThrough()
    let logged = ''
    out.on('data', (chunk: Buffer) => {
      logged += chunk.toString()
    })
    const config = loadConfig(
      AggregatorConfig,
      ctx.workerEnv({
        AGGREGATOR_PUBLISH_INTERVAL_MS: '500',
        AGGREGATOR_PUBLISH_LARGE_CHANGE: '2',
        AGGREGATOR_PUBLISH_BURST_FACTOR: '0',
      }),
    )
    const app = buildAggregatorApp(config, { log: createLogger({ level: 'warn' }, out) })
    ctx.cleanups.push(() => app.stop())
    const updates = await collectTopic(kafkaBrokers, topics.indicators.name)
    ctx.cleanups.push(updates.stop)
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    ctx.cleanups.push(dlq.stop)
    await app.start()
    await app.runner.joined()
    const send = (headlines: readonly ScoredHeadline[]) =>
      ctx.producer.send({
        topic: topics.scored.name,
        messages: headlines.map((h) => ({ key: h.id, value: JSON.stringify(h) })),
      })
    const metric = async (name: string) =>
      Number(/ (\d+)$/m.exec(await app.metrics.registry.getSingleMetricAsString(name))?.[1] ?? 0)
    const errors = () =>
      logged
        .split('\n')
        .filter((l) => l.length > 0)
        .map(
          (l) =>
            JSON.parse(l) as {
              level: number
              msg: string
              marks?: number
              sample?: { key: string; problem: string }[]
            },
        )
        .filter((l) => l.level === 50)
    /**
     * The input committed (each record's output and dead letter acknowledged), then both collectors read to
     * the topics' ends: "no dead letter", "no such update" asserted after it say what the topics hold, not
     * how far a collector had fetched.
     */
    const atEnd = async () => {
      await waitFor(
        async () => (await groupProgress(kafkaBrokers, `${ctx.prefix}aggregator`, topics.scored.name)).atEnd,
        { what: 'the input committed' },
      )
      await Promise.all([updates.caughtUp(), dlq.caughtUp()])
    }
    /**
     * Marks keys held back by a member long gone (a stamp of 0 µs: older than any recovery age), as a
     * batch that left them pending would, so this member's trailing edge takes them over.
     */
    const markStale = (...keys: string[]) =>
      ctx.redis.zadd(dirtyKeysKey(ctx.keyPrefix, `${ctx.prefix}aggregator`), ...keys.flatMap((k) => ['0', k]))
    /**
     * Sends three live headlines and waits for their updates (the uncertainty one too when asked), then
     * gives the Redis state key of the global market indicator, the only one of its kind.
     */
    const seededMarketState = async (uncertaintyToo = false) => {
      await send(live('a', 3))
      await waitFor(() => countsOf(updates.messages, MARKET).includes(3), { what: 'the first update' })
      if (uncertaintyToo)
        await waitFor(() => countsOf(updates.messages, UNCERTAINTY).includes(3), {
          what: 'the first uncertainty update',
        })
      const [state, ...others] = await ctx.redis.keys(`${ctx.keyPrefix}*:ind:{global:all}:market`)
      expect(others).toEqual([])
      return state!
    }
    return { topics, updates, dlq, send, metric, errors, atEnd, markStale, seededMarketState }
  }

  /** Live headlines (published a few seconds ago), ids `<id>-<i>`. */
  const live = (id: string, n: number) =>
    scoredSeries(n, { startMs: Date.now() - 5_000, spanMs: 1_000, idPrefix: id }).map((h) => ({
      ...h,
      publishedAt: new Date(Date.now() - 2_000).toISOString(),
    }))
  const keysOf = (headlines: readonly ScoredHeadline[]) =>
    new Set(headlines.flatMap(contributionsOf).map((c) => indicatorKey(c.dimension, c.scope)))
  const countsOf = (messages: readonly CollectedMessage[], key: string) =>
    messages
      .filter((m) => m.key === key)
      .sort((a, b) => Number(a.offset) - Number(b.offset))
      .map((m) => IndicatorUpdateReader.parse(JSON.parse(m.value!.toString())).count)

  it('dead-letters a headline naming an entity id past the bound, with its origin and the field: no Redis key or update made of it, the rest counted', async () => {
    const { topics, updates, dlq, send, atEnd } = await start()
    const long = `Company ${'x'.repeat(LIMITS.maxScopeIdChars)}`
    const headlines = live('e', 5)
    headlines[2] = {
      ...headlines[2]!,
      entities: { regions: ['CN'], commodities: [], sectors: [], companies: [long] },
    }
    await send(headlines)
    const letter = await waitFor(() => dlq.messages[0], { what: 'the dead letter' })
    expect(DeadLetter.parse(JSON.parse(letter.value!.toString()))).toMatchObject({
      reason: 'schema_invalid',
      message: 'entities.companies.0: Too big: expected string to have <=64 characters',
      worker: 'aggregator',
      origin: { topic: topics.scored.name, partition: 0, offset: '2' },
    })
    await waitFor(() => countsOf(updates.messages, MARKET).includes(4), { what: 'the other four counted' })
    await atEnd()
    expect(dlq.messages).toHaveLength(1)
    expect(updates.messages.some((m) => m.key?.includes('xxxxxxxx'))).toBe(false)
    expect(await ctx.redis.keys(`${ctx.keyPrefix}*xxxxxxxx*`)).toEqual([])
  })

  it('does not publish an update read from damaged Redis state (not a number): counted, logged at error, the other keys published, the key published again once its state is whole', async () => {
    const { updates, dlq, send, metric, errors, atEnd, seededMarketState } = await start()
    // A minute bucket of the global market indicator, five minutes back (inside its 15 min and 1 h
    // volume windows and the buzz window, and touched by no headline of the next batch), no longer a
    // number: the apply scripts read such a field as 0, the read gives NaN.
    const state = await seededMarketState()
    const minute = Math.floor((Date.now() - 5 * MIN_MS) / MIN_MS)
    await ctx.redis.hset(state, `n${minute}`, 'garbage')
    const before = updates.messages.length
    const next = live('b', 2)
    await send(next)
    await waitFor(async () => (await metric('tradepulse_indicator_updates_invalid_total')) >= 1, {
      what: 'the broken update counted',
    })
    // Every other key the batch moved is published with it (the global uncertainty key counts every headline).
    await waitFor(() => countsOf(updates.messages, 'uncertainty|global:all').includes(5), {
      what: 'the other global keys published',
    })
    for (const k of keysOf(next)) {
      if (k === MARKET) continue
      await waitFor(() => updates.messages.slice(before).some((m) => m.key === k), { what: k })
    }
    expect(countsOf(updates.messages, MARKET)).toEqual([3])
    const [line] = errors()
    expect(line?.msg).toMatch(/^indicator updates break the IndicatorUpdate contract; not published/)
    // Buzz has no reading yet (0): the namespace was born with this test's first headlines, minutes ago.
    expect(line?.sample).toEqual([
      {
        key: MARKET,
        problem:
          'volume.15m: Invalid input: expected number, received NaN; volume.1h: Invalid input: expected number, received NaN',
      },
    ])
    // A headline of that minute makes the bucket a number again: the key is published, counting it.
    const [late] = live('c', 1)
    await send([{ ...late!, publishedAt: new Date(minute * MIN_MS + 30_000).toISOString() }])
    await waitFor(() => countsOf(updates.messages, MARKET).includes(6), {
      what: 'the key published again',
    })
    await atEnd()
    // Nothing malformed on the topic (countsOf parses every record), nothing dead-lettered.
    for (const m of updates.messages) IndicatorUpdateReader.parse(JSON.parse(m.value!.toString()))
    expect(dlq.messages).toEqual([])
  })

  it('leaves out a held-back key whose Redis state holds a time that is none (upd not a time): counted, logged at error once, the other keys of the tick published, its mark cleared, the key published again once its state is whole', async () => {
    const { updates, dlq, send, metric, errors, atEnd, markStale, seededMarketState } = await start()
    const state = await seededMarketState(true)
    await ctx.redis.hset(state, 'upd', 'not a time')
    // Both held back and left by a member gone: this one's trailing edge takes them over together.
    await markStale(MARKET, UNCERTAINTY)
    // The other key of the tick is published (before, the RangeError failed the tick, every tick).
    await waitFor(() => countsOf(updates.messages, UNCERTAINTY).length === 2, {
      what: 'the other key recovered',
    })
    await waitFor(async () => (await metric('tradepulse_indicator_updates_invalid_total')) >= 1, {
      what: 'the broken update counted',
    })
    const dirty = dirtyKeysKey(ctx.keyPrefix, `${ctx.prefix}aggregator`)
    await waitFor(async () => (await ctx.redis.zscore(dirty, MARKET)) === null, { what: 'its mark cleared' })
    expect(countsOf(updates.messages, MARKET)).toEqual([3])
    expect(errors().map((l) => l.sample)).toEqual([
      [{ key: MARKET, problem: 'updatedAt: Invalid ISO datetime' }],
    ])
    // The next headline rewrites upd: the key is published again, counting it.
    await send(live('c', 1))
    await waitFor(() => countsOf(updates.messages, MARKET).includes(4), { what: 'the key published again' })
    await atEnd()
    expect(await metric('tradepulse_indicator_updates_invalid_total')).toBe(1)
    expect(errors()).toHaveLength(1)
    for (const m of updates.messages) IndicatorUpdateReader.parse(JSON.parse(m.value!.toString()))
    expect(dlq.messages).toEqual([])
  })

  it('resets an indicator whose Redis state holds a newest event time far past the clock (ref 1e15 ms): the next headlines are applied to it, not late, counted and logged at error once; honest late headlines stay late', async () => {
    const { updates, dlq, send, metric, errors, atEnd, seededMarketState } = await start()
    const state = await seededMarketState()
    await ctx.redis.hset(state, 'ref', '1e15')
    // Before, every later headline was late in the global market indicator until its key expired (a
    // week): its count stayed 3, and nothing but tradepulse_indicator_late_total said so.
    const next = live('b', 2)
    await send(next)
    await waitFor(() => countsOf(updates.messages, MARKET).includes(5), {
      what: 'the next headlines applied',
    })
    expect(await metric('tradepulse_indicator_refs_invalid_total')).toBe(1)
    expect(await metric('tradepulse_indicator_late_total')).toBe(0)
    expect(await ctx.redis.hget(state!, 'ref')).toBe(String(Date.parse(next[0]!.publishedAt)))
    const [line, ...more] = errors()
    expect(more).toEqual([])
    expect(line).toMatchObject({
      msg: expect.stringMatching(
        /^indicator states held a newest event time no headline could have given them/,
      ),
      indicators: 1,
      sample: [{ key: MARKET, ref: '1e15', resetTo: next[0]!.publishedAt }],
    })
    // Whole again: a headline 15 minutes older than the newest is late as ever, and nothing is reset.
    const [old] = live('old', 1)
    const oldAt = new Date(Date.parse(next[0]!.publishedAt) - 15 * MIN_MS).toISOString()
    await send([{ ...old!, publishedAt: oldAt }])
    await waitFor(async () => (await metric('tradepulse_indicator_late_total')) >= 1, {
      what: 'the old headline counted late',
    })
    await send(live('c', 1))
    await waitFor(() => countsOf(updates.messages, MARKET).includes(6), { what: 'the stream goes on' })
    await atEnd()
    expect(await metric('tradepulse_indicator_refs_invalid_total')).toBe(1)
    expect(errors()).toHaveLength(1)
    for (const m of updates.messages) IndicatorUpdateReader.parse(JSON.parse(m.value!.toString()))
    expect(dlq.messages).toEqual([])
  })

  it('repairs an indicator whose Redis counters hold values no apply writes (cnt 2.5, w2 NaN): the next headline is applied, the fields taken as 0 and written back, counted and logged at error once, and its update published', async () => {
    const { updates, dlq, send, metric, errors, atEnd, seededMarketState } = await start()
    const state = await seededMarketState()
    await ctx.redis.hset(state, 'cnt', '2.5', 'w2', 'NaN')
    // Before, each apply added to them (3.5, nan): the indicator was withheld by every reader for as long
    // as headlines kept renewing its key, and nothing counted the damage.
    await send(live('b', 1))
    await waitFor(async () => (await metric('tradepulse_indicator_fields_invalid_total')) >= 2, {
      what: 'the damaged fields counted',
    })
    await waitFor(() => countsOf(updates.messages, MARKET).includes(1), {
      what: 'the repaired key published (its count taken as 0, then one headline)',
    })
    expect(await ctx.redis.hget(state!, 'cnt')).toBe('1')
    const repaired = errors().filter((l) =>
      /^indicator states held values no apply/.test(l.msg),
    ) as unknown as {
      fields: number
      sample: { key: string; field: string; stored: string }[]
    }[]
    expect(repaired).toHaveLength(1)
    expect(repaired[0]).toMatchObject({ fields: 2 })
    expect(repaired[0]!.sample).toEqual(
      expect.arrayContaining([
        { key: MARKET, field: 'cnt', stored: '2.5' },
        { key: MARKET, field: 'w2', stored: 'NaN' },
      ]),
    )
    await send(live('c', 1))
    await waitFor(() => countsOf(updates.messages, MARKET).includes(2), { what: 'the stream goes on' })
    await atEnd()
    expect(await metric('tradepulse_indicator_fields_invalid_total')).toBe(2)
    for (const m of updates.messages) IndicatorUpdateReader.parse(JSON.parse(m.value!.toString()))
    expect(dlq.messages).toEqual([])
  })

  it('does not publish a held-back key whose Redis ref is damaged (the year 9999), leaving it to the next apply: counted, logged at error once, the other keys of the tick published, its mark cleared; the next headline repairs it and the key is published', async () => {
    const { updates, dlq, send, metric, errors, atEnd, markStale, seededMarketState } = await start()
    const state = await seededMarketState(true)
    const year9999 = String(Date.UTC(9999, 11, 31, 23, 59))
    await ctx.redis.hset(state, 'ref', year9999)
    // Both held back and left by a member gone: this one's trailing edge takes them over together.
    await markStale(MARKET, UNCERTAINTY)
    await waitFor(() => countsOf(updates.messages, UNCERTAINTY).length === 2, {
      what: 'the other key recovered',
    })
    // Before, the market key was published too, at asOf 9999-12-31T23:59:00.000Z (which the contract takes).
    await waitFor(async () => (await metric('tradepulse_indicator_updates_withheld_total')) >= 1, {
      what: 'the withheld update counted',
    })
    const dirty = dirtyKeysKey(ctx.keyPrefix, `${ctx.prefix}aggregator`)
    await waitFor(async () => (await ctx.redis.zscore(dirty, MARKET)) === null, { what: 'its mark cleared' })
    expect(countsOf(updates.messages, MARKET)).toEqual([3])
    const [line, ...more] = errors()
    expect(more).toEqual([])
    expect(line).toMatchObject({
      msg: expect.stringMatching(/^indicator updates not published: their indicator's newest event time/),
      updates: 1,
      sample: [{ key: MARKET, ref: year9999 }],
    })
    // The next headline's apply resets the ref to it (counted as such) and the key is published, at a time
    // of now.
    const [next] = live('c', 1)
    await send([next!])
    await waitFor(() => countsOf(updates.messages, MARKET).includes(4), { what: 'the key published again' })
    await atEnd()
    const asOfs = updates.messages
      .filter((m) => m.key === MARKET)
      .map((m) => Date.parse(IndicatorUpdateReader.parse(JSON.parse(m.value!.toString())).asOf))
    for (const asOf of asOfs) expect(asOf).toBeLessThan(Date.now() + 60_000)
    expect(await metric('tradepulse_indicator_updates_withheld_total')).toBe(1)
    expect(await metric('tradepulse_indicator_refs_invalid_total')).toBe(1)
    expect(errors()).toHaveLength(2)
    for (const m of updates.messages) IndicatorUpdateReader.parse(JSON.parse(m.value!.toString()))
    expect(dlq.messages).toEqual([])
  })

  it('replaces a damaged event-time watermark (the year 9999) at its next publish: no update goes out at it', async () => {
    const { updates, dlq, send, atEnd } = await start()
    await send(live('a', 3))
    await waitFor(() => countsOf(updates.messages, MARKET).includes(3), { what: 'the first update' })
    const [watermark, ...others] = await ctx.redis.keys(`${ctx.keyPrefix}*:watermark`)
    expect(others).toEqual([])
    await ctx.redis.set(watermark!, String(Date.UTC(9999, 11, 31, 23, 59)))
    const next = live('b', 2)
    await send(next)
    await waitFor(() => countsOf(updates.messages, MARKET).includes(5), { what: 'the next update' })
    await atEnd()
    // Before, every update after it was read and published at 9999-12-31T23:59:00.000Z, for as long as
    // the key lived (each publish refreshed its expiry).
    const asOfs = updates.messages.map((m) =>
      Date.parse(IndicatorUpdateReader.parse(JSON.parse(m.value!.toString())).asOf),
    )
    for (const asOf of asOfs) expect(asOf).toBeLessThan(Date.now() + 60_000)
    expect(Number(await ctx.redis.get(watermark!))).toBe(Date.parse(next[0]!.publishedAt))
    expect(dlq.messages).toEqual([])
  })

  it('clears a held-back mark that names no indicator key: counted, logged at error once, the other keys of the tick published', async () => {
    const { updates, dlq, send, metric, errors, atEnd, markStale } = await start()
    await send(live('a', 3))
    await waitFor(() => countsOf(updates.messages, UNCERTAINTY).includes(3), { what: 'the first update' })
    await markStale('not-an-indicator-key', UNCERTAINTY)
    // Before, the mark threw in every tick of the trailing edge, and the good one never went out.
    await waitFor(() => countsOf(updates.messages, UNCERTAINTY).length === 2, {
      what: 'the other key recovered',
    })
    await waitFor(async () => (await metric('tradepulse_indicator_marks_invalid_total')) >= 1, {
      what: 'the bad mark counted',
    })
    const dirty = dirtyKeysKey(ctx.keyPrefix, `${ctx.prefix}aggregator`)
    await waitFor(async () => (await ctx.redis.zscore(dirty, 'not-an-indicator-key')) === null, {
      what: 'the bad mark cleared',
    })
    const [line, ...more] = errors()
    expect(more).toEqual([])
    expect(line).toMatchObject({
      msg: expect.stringMatching(/^held-back indicator marks name no indicator key; cleared/),
      marks: 1,
      sample: [{ key: 'not-an-indicator-key', problem: 'not of the form <dimension>|<kind>:<id>' }],
    })
    // The stream goes on.
    await send(live('b', 2))
    await waitFor(() => countsOf(updates.messages, UNCERTAINTY).includes(5), {
      what: 'the next batch published',
    })
    await atEnd()
    expect(await metric('tradepulse_indicator_marks_invalid_total')).toBe(1)
    expect(errors()).toHaveLength(1)
    expect(dlq.messages).toEqual([])
  })
})

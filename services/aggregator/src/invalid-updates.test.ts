// What breaks the IndicatorUpdate contract never reaches the indicators topic, and never stops the stream:
// a headline naming an entity id past a scope id's bound is dead-lettered by the reader, an update read
// from the store that breaks it (a scope applied before the bound, state that is not numbers) is left
// out, counted and logged at error, and everything else goes on.
import { PassThrough } from 'node:stream'
import {
  createManualClock,
  createTopicCatalogue,
  IndicatorUpdate,
  LIMITS,
  MAX_BUILT_KEY_CHARS,
  type ScoredHeadline,
} from '@tradepulse/contracts'
import {
  applyContributions,
  type Contribution,
  contributionsOf,
  createIndicatorState,
  type IndicatorStore,
  indicatorKey,
  readIndicator,
  resolveIndicatorConfig,
} from '@tradepulse/indicators'
import { createLogger, createMemoryIndicatorStore, type InRecord, type OutRecord } from '@tradepulse/platform'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createAggregator, updateProblem } from './aggregator-handler.ts'
import { createAggregatorMetrics } from './aggregator-metrics.ts'
import { type DirtyKeys, memoryDirtyKeys } from './dirty-keys.ts'
import { HOUR_MS, MIN_MS, scoredSeries } from './scored-fixtures.ts'

const T0 = Date.parse('2026-03-02T00:00:00Z')
const WALL_MS = T0 + 30 * 24 * HOUR_MS
const GRACE = 10 * MIN_MS
const MARKET = 'market|global:all'
const topics = createTopicCatalogue('t.')
const ctx = { signal: new AbortController().signal }

type LogLine = {
  level: number
  msg: string
  updates?: number
  marks?: number
  sample?: { key: string; problem: string }[]
}

function build(options: {
  store?: IndicatorStore
  dirty?: DirtyKeys
  clock?: ReturnType<typeof createManualClock>
}) {
  const clock = options.clock ?? createManualClock(WALL_MS)
  const store = options.store ?? createMemoryIndicatorStore({ config: { graceMs: GRACE } })
  const registry = new Registry()
  const out = new PassThrough()
  let logged = ''
  out.on('data', (chunk: Buffer) => {
    logged += chunk.toString()
  })
  const sent: OutRecord[] = []
  const aggregator = createAggregator({
    clock,
    monotonic: clock,
    topics,
    store,
    ...(options.dirty ? { dirty: options.dirty } : {}),
    log: createLogger({ level: 'info' }, out),
    metrics: createAggregatorMetrics(registry),
    graceMs: GRACE,
    publish: { intervalMs: 1_000, largeChange: 0.1, burstFactor: 0, shortLabel: '15m' },
    send: async (records) => {
      sent.push(...records)
    },
  })
  const counter = async (name: string) =>
    Number(/ (\d+)$/m.exec(await registry.getSingleMetricAsString(name))?.[1] ?? 0)
  const errors = () =>
    logged
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as LogLine)
      .filter((l) => l.level === 50)
  return {
    aggregator,
    store,
    clock,
    sent,
    counter,
    errors,
    keys: () => sent.map((r) => String(r.key)),
    clearSent: () => sent.splice(0),
  }
}

const recordsOf = (headlines: readonly ScoredHeadline[]): InRecord[] =>
  headlines.map((h, i) => ({
    topic: topics.scored.name,
    partition: 0,
    offset: String(i),
    key: Buffer.from(h.id),
    value: Buffer.from(JSON.stringify(h)),
    headers: {},
    timestamp: 0,
  }))

const series = (id: string, n: number) => scoredSeries(n, { startMs: T0, spanMs: 30 * MIN_MS, idPrefix: id })
const naming = (h: ScoredHeadline, company: string): ScoredHeadline => ({
  ...h,
  entities: { regions: [], commodities: [], sectors: [], companies: [company] },
})
const keysOf = (headlines: readonly ScoredHeadline[]) =>
  new Set(headlines.flatMap(contributionsOf).map((c) => indicatorKey(c.dimension, c.scope)))

describe('aggregator: what breaks the IndicatorUpdate contract', () => {
  it('dead-letters a headline naming an entity id longer than a scope id may be, naming the field, and applies the rest: no state or update is made of it', async () => {
    const { aggregator, store, sent, keys } = build({})
    const long = 'x'.repeat(LIMITS.maxScopeIdChars + 1)
    const headlines = series('e', 10)
    headlines[3] = naming(headlines[3]!, long)
    const outcomes = await aggregator.handler(recordsOf(headlines), ctx)
    expect(outcomes[3]).toEqual({
      kind: 'dlq',
      reason: 'schema_invalid',
      message: 'entities.companies.0: Too big: expected string to have <=64 characters',
    })
    expect(outcomes.filter((o) => o.kind === 'ok')).toHaveLength(9)
    expect(keys()).toContain(MARKET)
    expect(keys().some((k) => k.includes(long))).toBe(false)
    expect(await store.get('market', { kind: 'entity', id: long }, T0 + HOUR_MS)).toBeUndefined()
    // The other nine counted, in the global market key as everywhere.
    const market = IndicatorUpdate.parse(JSON.parse(String(sent.find((r) => r.key === MARKET)!.value)))
    expect(market.count).toBe(9)
  })

  it('publishes the update of the longest watchlist id, every character escaped: the longest key a valid scope builds fits the contract', async () => {
    expect(
      indicatorKey('supplyChain', { kind: 'commodity', id: '{'.repeat(LIMITS.maxScopeIdChars) }),
    ).toHaveLength(MAX_BUILT_KEY_CHARS)
    expect(MAX_BUILT_KEY_CHARS).toBeLessThanOrEqual(LIMITS.maxIndicatorKeyChars)
    const { aggregator, sent, counter } = build({})
    const id = '{'.repeat(LIMITS.maxScopeIdChars)
    const headlines = series('w', 5).map((h) => naming(h, id))
    const outcomes = await aggregator.handler(recordsOf(headlines), ctx)
    expect(outcomes.every((o) => o.kind === 'ok')).toBe(true)
    const company = sent.filter((r) => String(r.key).startsWith('market|entity:'))
    expect(company.map((r) => r.key)).toEqual([`market|entity:${'%7B'.repeat(LIMITS.maxScopeIdChars)}`])
    expect(IndicatorUpdate.parse(JSON.parse(String(company[0]!.value))).scope).toEqual({ kind: 'entity', id })
    expect(await counter('tradepulse_indicator_updates_invalid_total')).toBe(0)
  })

  it('does not publish the update of a scope past the bound that a member before it applied and held back: counted, logged at error naming the field, the other keys published, its mark settled', async () => {
    const clock = createManualClock(WALL_MS)
    const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
    const dirty = memoryDirtyKeys(clock)
    // A member of the version before the bound applied these, and held their updates back before it died.
    const long = `Company ${'x'.repeat(1_000)}`
    const headlines = series('old', 6)
    headlines[2] = naming(headlines[2]!, long)
    await store.applyBatch(headlines.flatMap(contributionsOf))
    const held = [...keysOf(headlines)]
    const broken = held.filter((k) => k.includes(long))
    expect(broken.length).toBeGreaterThan(1)
    await dirty.mark(held, new Map(held.map((k) => [k, T0])))
    // This member takes the marks over once they are old enough.
    const b = build({ store, dirty, clock })
    clock.advance(11_000)
    const n = await b.aggregator.flushDue()
    expect(n).toBe(held.length - broken.length)
    expect(b.keys().sort()).toEqual(held.filter((k) => !broken.includes(k)).sort())
    for (const r of b.sent) IndicatorUpdate.parse(JSON.parse(String(r.value)))
    expect(await b.counter('tradepulse_indicator_updates_invalid_total')).toBe(broken.length)
    expect(await b.counter('tradepulse_indicator_updates_total')).toBe(held.length - broken.length)
    const [line, ...more] = b.errors()
    expect(more).toEqual([])
    expect(line!.msg).toMatch(/^indicator updates break the IndicatorUpdate contract; not published/)
    expect(line!.updates).toBe(broken.length)
    // The key cut in the log, its length given; the fields named.
    const sample = line!.sample![0]!
    expect(sample.key).toMatch(/^[a-zA-Z]+\|entity:Company x+… \(\d+ characters\)$/)
    expect(sample.key.length).toBeLessThan(LIMITS.maxIndicatorKeyChars + 30)
    expect(sample.problem).toMatch(
      /^key: Too big: expected string to have <=256 characters; scope\.id: Too big: expected string to have <=64 characters$/,
    )
    // Settled: not taken over again, nor retried at every tick.
    await new Promise((r) => setImmediate(r))
    expect(await dirty.claimStale(0, 100)).toEqual([])
    clock.advance(11_000)
    expect(await b.aggregator.flushDue()).toBe(0)
    expect(await b.counter('tradepulse_indicator_updates_invalid_total')).toBe(broken.length)
  })

  it('does not publish an update the store reads as no number (damaged state), and the batch completes with the other keys published', async () => {
    const memory = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
    // A hash field that is not a number reads as NaN, which JSON writes as null.
    const store: IndicatorStore = {
      ...memory,
      get: async (dimension, scope, asOfMs) => {
        const u = await memory.get(dimension, scope, asOfMs)
        return u && u.key === MARKET ? { ...u, buzz: Number.NaN } : u
      },
    }
    const { aggregator, keys, counter, errors } = build({ store })
    const headlines = series('d', 10)
    const outcomes = await aggregator.handler(recordsOf(headlines), ctx)
    expect(outcomes.every((o) => o.kind === 'ok')).toBe(true)
    expect(keys()).not.toContain(MARKET)
    expect(keys().sort()).toEqual([...keysOf(headlines)].filter((k) => k !== MARKET).sort())
    expect(await counter('tradepulse_indicator_updates_invalid_total')).toBe(1)
    expect(errors().map((l) => l.sample)).toEqual([
      [{ key: MARKET, problem: 'buzz: Invalid input: expected number, received NaN' }],
    ])
  })

  /**
   * The memory store, but for MARKET, read as readIndicator reads the Redis hash whose `upd` field holds
   * something that is not a time (stateFromHash gives it NaN): the same contributions, its time none.
   */
  function damagedUpd(headlines: readonly ScoredHeadline[]): IndicatorStore {
    const memory = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
    const config = resolveIndicatorConfig({ graceMs: GRACE })
    const state = createIndicatorState(config)
    const market: Contribution[] = headlines
      .flatMap(contributionsOf)
      .filter((c) => c.dimension === 'market' && c.scope.kind === 'global')
    applyContributions(state, market, WALL_MS, config)
    return {
      ...memory,
      get: async (dimension, scope, asOfMs) => {
        const u = await memory.get(dimension, scope, asOfMs)
        return u && u.key === MARKET
          ? readIndicator({ ...state, updatedMs: Number.NaN }, { dimension, scope }, asOfMs, config)
          : u
      },
    }
  }

  it('does not publish an update whose state holds a time that is none (upd not a time), and the batch completes with the other keys published: a RangeError failed the batch before', async () => {
    const headlines = series('u', 10)
    const { aggregator, keys, counter, errors } = build({ store: damagedUpd(headlines) })
    const outcomes = await aggregator.handler(recordsOf(headlines), ctx)
    expect(outcomes.every((o) => o.kind === 'ok')).toBe(true)
    expect(keys().sort()).toEqual([...keysOf(headlines)].filter((k) => k !== MARKET).sort())
    expect(await counter('tradepulse_indicator_updates_invalid_total')).toBe(1)
    expect(errors().map((l) => l.sample)).toEqual([
      [{ key: MARKET, problem: 'updatedAt: Invalid ISO datetime' }],
    ])
  })

  it('leaves out a held-back key whose state holds a time that is none on the trailing edge, once: the other keys of the tick published, its mark settled, not retried at every tick', async () => {
    const clock = createManualClock(WALL_MS)
    const headlines = series('t', 6)
    const store = damagedUpd(headlines)
    const dirty = memoryDirtyKeys(clock)
    // Held back by a member that died before its trailing edge.
    await store.applyBatch(headlines.flatMap(contributionsOf))
    const held = [...keysOf(headlines)]
    await dirty.mark(held, new Map(held.map((k) => [k, T0])))
    const b = build({ store, dirty, clock })
    clock.advance(11_000)
    expect(await b.aggregator.flushDue()).toBe(held.length - 1)
    expect(b.keys().sort()).toEqual(held.filter((k) => k !== MARKET).sort())
    expect(await b.counter('tradepulse_indicator_updates_invalid_total')).toBe(1)
    expect(b.errors().map((l) => l.sample)).toEqual([
      [{ key: MARKET, problem: 'updatedAt: Invalid ISO datetime' }],
    ])
    expect(await dirty.claimStale(0, 100)).toEqual([])
    for (let i = 0; i < 3; i++) {
      clock.advance(11_000)
      expect(await b.aggregator.flushDue()).toBe(0)
    }
    expect(b.errors()).toHaveLength(1)
  })

  it('clears a held-back mark that names no indicator key, logged at error once and counted, and publishes the other keys of the tick: the trailing edge failed at every tick before', async () => {
    const clock = createManualClock(WALL_MS)
    const store = createMemoryIndicatorStore({ config: { graceMs: GRACE } })
    const dirty = memoryDirtyKeys(clock)
    const headlines = series('m', 6)
    await store.applyBatch(headlines.flatMap(contributionsOf))
    const held = [...keysOf(headlines)]
    const bad = ['garbage', 'sentiment|global:all', 'market|entity:A{b}', `x${'y'.repeat(1_000)}`]
    await dirty.mark([...held, ...bad], new Map(held.map((k) => [k, T0])))
    const b = build({ store, dirty, clock })
    clock.advance(11_000)
    expect(await b.aggregator.flushDue()).toBe(held.length)
    expect(b.keys().sort()).toEqual(held.sort())
    for (const r of b.sent) IndicatorUpdate.parse(JSON.parse(String(r.value)))
    expect(await b.counter('tradepulse_indicator_marks_invalid_total')).toBe(bad.length)
    expect(await b.counter('tradepulse_indicator_updates_invalid_total')).toBe(0)
    const [line, ...more] = b.errors()
    expect(more).toEqual([])
    expect(line!.msg).toMatch(/^held-back indicator marks name no indicator key; cleared/)
    expect(line!.marks).toBe(bad.length)
    expect(line!.sample).toEqual([
      { key: 'garbage', problem: 'not of the form <dimension>|<kind>:<id>' },
      { key: 'sentiment|global:all', problem: 'no dimension "sentiment"' },
      { key: 'market|entity:A{b}', problem: 'a scope id not escaped as indicatorKey writes it' },
      {
        key: `x${'y'.repeat(LIMITS.maxIndicatorKeyChars - 1)}… (1001 characters)`,
        problem: 'not of the form <dimension>|<kind>:<id>',
      },
    ])
    // Cleared: not taken over again, nor retried at every tick.
    expect(await dirty.claimStale(0, 100)).toEqual([])
    b.clearSent()
    for (let i = 0; i < 3; i++) {
      clock.advance(11_000)
      expect(await b.aggregator.flushDue()).toBe(0)
    }
    expect(b.errors()).toHaveLength(1)
    expect(await b.counter('tradepulse_indicator_marks_invalid_total')).toBe(bad.length)
    // A batch goes on as ever, its keys published.
    const next = series('n', 3)
    const outcomes = await b.aggregator.handler(recordsOf(next), ctx)
    expect(outcomes.every((o) => o.kind === 'ok')).toBe(true)
    expect(b.keys()).toContain(MARKET)
  })
})

describe('updateProblem', () => {
  const update: IndicatorUpdate = {
    key: 'tariff|region:CN',
    dimension: 'tariff',
    scope: { kind: 'region', id: 'CN' },
    asOf: '2026-03-02T00:00:00.000Z',
    mean: { '15m': -0.2 },
    weight: { '15m': 1 },
    volume: { '15m': 1 },
    buzz: 0,
    momentum: 0,
    diffusion: -1,
    count: 1,
    updatedAt: '2026-03-02T00:00:00.000Z',
  }

  it('names each field that breaks the strict contract, and nothing when none does', () => {
    expect(updateProblem(update)).toBeUndefined()
    const cases: [Partial<IndicatorUpdate> & Record<string, unknown>, string][] = [
      [{ count: Number.NaN }, 'count: Invalid input: expected number, received NaN'],
      [
        { mean: { '15m': Number.POSITIVE_INFINITY } },
        'mean.15m: Invalid input: expected number, received Infinity',
      ],
      [{ weight: { '15m': -1 } }, 'weight.15m: Too small: expected number to be >=0'],
      [{ scope: { kind: 'region', id: '' } }, 'scope.id: Too small: expected string to have >=1 characters'],
      [{ asOf: 'not a time' }, 'asOf: Invalid ISO datetime'],
      [{ trace: 'x' }, '(root): Unrecognized key: "trace"'],
    ]
    for (const [change, problem] of cases)
      expect(updateProblem({ ...update, ...change } as IndicatorUpdate)).toBe(problem)
  })
})

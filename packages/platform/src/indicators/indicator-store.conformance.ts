import { type Dimension, IndicatorUpdate, type Scope, type ScoredHeadline } from '@tradepulse/contracts'
import {
  type Contribution,
  contributionsOf,
  type IndicatorStore,
  indicatorKey,
  parseIndicatorKey,
  resolveIndicatorConfig,
} from '@tradepulse/indicators'
import { afterEach, describe, expect, it } from 'vitest'
import {
  closeEnough,
  HOUR_MS,
  inBatches,
  MIN_MS,
  randomSeries,
  scoredHeadline,
  seededRandom,
  shuffledWithinGrace,
  T0,
} from './indicator-fixtures.ts'
import type { IndicatorStoreOptions } from './indicator-store-options.ts'

export type IndicatorStoreHarness = {
  store: IndicatorStore
  /** Remaining time to live of an indicator's storage in ms; undefined when it does not exist. */
  ttlMs(dimension: Dimension, scope: Scope): Promise<number | undefined>
  /** Removes everything the harness created and releases its connections. */
  cleanup(): Promise<void>
}

export type CreateIndicatorStoreHarness = (options: IndicatorStoreOptions) => Promise<IndicatorStoreHarness>

const contributionsOfAll = (headlines: readonly ScoredHeadline[]) => headlines.flatMap(contributionsOf)

async function applyHeadlines(store: IndicatorStore, batches: readonly ScoredHeadline[][]) {
  const total = { applied: 0, duplicates: 0, late: 0, lateAgain: 0 }
  for (const batch of batches) {
    const r = await store.applyBatch(contributionsOfAll(batch))
    total.applied += r.applied
    total.duplicates += r.duplicates
    total.late += r.late
    total.lateAgain += r.lateAgain
  }
  return total
}

/** The contributions of a list, as the store reports them (by key and headline), sorted. */
const reported = (list: readonly Pick<Contribution, 'dimension' | 'scope' | 'headlineId'>[] | undefined) =>
  (list ?? []).map((c) => `${indicatorKey(c.dimension, c.scope)} ${c.headlineId}`).sort()

function targetsOf(contributions: readonly Contribution[]) {
  return [...new Set(contributions.map((c) => indicatorKey(c.dimension, c.scope)))].map(parseIndicatorKey)
}

async function expectSameIndicators(
  a: IndicatorStore,
  b: IndicatorStore,
  keysOf: Contribution[],
  asOfMs: number,
) {
  for (const { dimension, scope } of targetsOf(keysOf)) {
    const [ra, rb] = await Promise.all([a.get(dimension, scope, asOfMs), b.get(dimension, scope, asOfMs)])
    const what = `${dimension} ${scope.kind}:${scope.id}`
    expect(ra, what).toBeDefined()
    expect(rb, what).toBeDefined()
    for (const [label, value] of Object.entries(ra!.mean)) {
      expect(
        closeEnough(value, rb!.mean[label]!),
        `${what} mean ${label}: ${value} vs ${rb!.mean[label]}`,
      ).toBe(true)
    }
    expect(closeEnough(ra!.momentum, rb!.momentum), `${what} momentum`).toBe(true)
    expect(rb!.volume, what).toEqual(ra!.volume)
    expect(rb!.buzz, what).toBe(ra!.buzz)
    expect(rb!.diffusion, what).toBe(ra!.diffusion)
    expect(rb!.count, what).toBe(ra!.count)
  }
}

/**
 * The behaviour every IndicatorStore adapter must have. Call it from one test file per adapter with a
 * factory that gives a fresh, empty store (its own namespace or key prefix) for each test.
 */
export function describeIndicatorStoreConformance(
  adapter: string,
  createHarness: CreateIndicatorStoreHarness,
): void {
  describe(`IndicatorStore conformance: ${adapter}`, () => {
    const harnesses: IndicatorStoreHarness[] = []
    const create = async (options: IndicatorStoreOptions = {}) => {
      const h = await createHarness(options)
      harnesses.push(h)
      return h
    }
    afterEach(async () => {
      await Promise.all(harnesses.splice(0).map((h) => h.cleanup()))
    })

    it('reads back known values: two headlines one half-life apart', async () => {
      const { store } = await create({ config: { priorWeight: 0 } })
      const CN: Scope = { kind: 'region', id: 'CN' }
      await applyHeadlines(store, [
        [scoredHeadline('a', T0, { tariff: 1, regions: ['CN'] })],
        [scoredHeadline('b', T0 + HOUR_MS, { tariff: -1, regions: ['CN'] })],
      ])
      const r = await store.get('tariff', CN, T0 + HOUR_MS)
      expect(IndicatorUpdate.parse(r)).toEqual(r)
      expect(r).toMatchObject({ key: 'tariff|region:CN', dimension: 'tariff', scope: CN, count: 2 })
      expect(r!.mean['1h']).toBeCloseTo(-1 / 3, 12)
      expect(r!.volume).toEqual({ '15m': 1, '1h': 1, '24h': 2 })
      expect(r!.diffusion).toBe(-1)
      expect(await store.get('supplyChain', CN, T0 + HOUR_MS)).toBeUndefined()
      expect(await store.get('tariff', { kind: 'region', id: 'US' }, T0)).toBeUndefined()
    })

    it('is idempotent: every headline applied twice changes nothing', async () => {
      const { store } = await create()
      const series = randomSeries(120, 2 * HOUR_MS, 11)
      const all = contributionsOfAll(series)
      const once = await applyHeadlines(store, inBatches(series, seededRandom(1)))
      expect(once).toEqual({ applied: all.length, duplicates: 0, late: 0, lateAgain: 0 })
      const asOf = T0 + 2 * HOUR_MS
      const before = await Promise.all(targetsOf(all).map((t) => store.get(t.dimension, t.scope, asOf)))

      // Within one batch, a second copy is a duplicate.
      const fresh = (await create()).store
      const doubled = await fresh.applyBatch([...contributionsOf(series[0]!), ...contributionsOf(series[0]!)])
      expect(doubled.applied).toBe(doubled.duplicates)

      const again = await applyHeadlines(
        store,
        inBatches(shuffledWithinGrace(series, seededRandom(2)), seededRandom(3)),
      )
      expect(again.applied).toBe(0)
      // Copies within the dedup retention are duplicates; older ones are late; neither is applied.
      expect(again.duplicates).toBeGreaterThan(0)
      expect(again.duplicates + again.late).toBe(all.length)
      expect(again.lateAgain).toBe(0)
      const after = await Promise.all(targetsOf(all).map((t) => store.get(t.dimension, t.scope, asOf)))
      expect(after).toEqual(before)
    })

    it("applies a headline's market and uncertainty contributions given in separate applies, each once: idempotence per indicator", async () => {
      // The Redis store kept uncertainty's applied ids in market's set (d07548d): the second of the two
      // was taken for a duplicate of the first and dropped.
      const headline = scoredHeadline('split', T0, { market: 0.5, tariff: -0.5, regions: ['CN'] })
      const all = contributionsOf(headline)
      const of = (d: Dimension) => all.filter((c) => c.dimension === d)
      expect(of('market').length).toBeGreaterThan(0)
      expect(of('uncertainty').length).toBeGreaterThan(0)
      const whole = (await create()).store
      await whole.applyBatch(all)
      for (const [first, second] of [
        ['market', 'uncertainty'],
        ['uncertainty', 'market'],
      ] as const) {
        const { store } = await create()
        const rest = all.filter((c) => c.dimension !== first && c.dimension !== second)
        expect(await store.applyBatch([...rest, ...of(first)])).toMatchObject({
          applied: rest.length + of(first).length,
          duplicates: 0,
        })
        expect(await store.applyBatch(of(second))).toMatchObject({
          applied: of(second).length,
          duplicates: 0,
        })
        await expectSameIndicators(whole, store, all, T0)
        // Each applied once: given again, alone or together, every one is a duplicate.
        expect(await store.applyBatch(of(second))).toMatchObject({
          applied: 0,
          duplicates: of(second).length,
        })
        expect(await store.applyBatch(all)).toMatchObject({ applied: 0, duplicates: all.length })
        await expectSameIndicators(whole, store, all, T0)
      }
    })

    it('gives the same values for any arrival order within the grace period', async () => {
      const { store } = await create()
      const series = randomSeries(150, 2 * HOUR_MS, 5)
      const all = contributionsOfAll(series)
      const ordered = store.withNamespace('ordered')
      expect(await applyHeadlines(ordered, inBatches(series, seededRandom(1)))).toMatchObject({ late: 0 })
      for (const seed of [2, 3]) {
        const random = seededRandom(seed)
        const other = store.withNamespace(`shuffled${seed}`)
        const r = await applyHeadlines(other, inBatches(shuffledWithinGrace(series, random), random))
        expect(r).toEqual({ applied: all.length, duplicates: 0, late: 0, lateAgain: 0 })
        for (const asOf of [T0 + 2 * HOUR_MS, T0 + 2 * HOUR_MS + 7 * MIN_MS, T0 + 30 * HOUR_MS]) {
          await expectSameIndicators(ordered, other, all, asOf)
        }
        const [ta, tb] = await Promise.all(
          [ordered, other].map((s) => s.top('market', 'region', 'momentum', 3, T0 + 2 * HOUR_MS)),
        )
        expect(tb!.map((u) => u.scope.id)).toEqual(ta!.map((u) => u.scope.id))
      }
    })

    it('counts and reports late headlines without applying them', async () => {
      const { store } = await create()
      const CN: Scope = { kind: 'region', id: 'CN' }
      await applyHeadlines(store, [[scoredHeadline('a', T0 + HOUR_MS, { tariff: 1, regions: ['CN'] })]])
      const before = await store.get('tariff', CN, T0 + HOUR_MS)
      const late = scoredHeadline('late', T0 + HOUR_MS - 11 * MIN_MS, { tariff: -1, regions: ['CN'] })
      const r = await store.applyBatch(contributionsOf(late))
      // tariff, market, uncertainty × global, region:CN
      expect(r).toMatchObject({ applied: 0, duplicates: 0, late: 6 })
      expect(r.lateContributions).toHaveLength(6)
      expect(
        r.lateContributions.every((c) => c.headlineId === 'late' && c.eventMs === T0 + HOUR_MS - 11 * MIN_MS),
      ).toBe(true)
      expect(await store.get('tariff', CN, T0 + HOUR_MS)).toEqual(before)
      // Delivered again (a crash before the commit): late again, not counted late a second time, and not
      // a duplicate (one that moved the indicator).
      const again = await store.applyBatch(contributionsOf(late))
      expect(again).toMatchObject({ applied: 0, duplicates: 0, late: 0, lateAgain: 6 })
      expect(again.lateContributions).toEqual([])
      expect(again.lateAgainContributions).toHaveLength(6)
      expect(new Set(again.lateAgainContributions!.map((c) => `${c.headlineId} ${c.eventMs}`))).toEqual(
        new Set([`late ${T0 + HOUR_MS - 11 * MIN_MS}`]),
      )
      expect(again.duplicateContributions).toBeUndefined()
      expect(await store.get('tariff', CN, T0 + HOUR_MS)).toEqual(before)
      // Within the grace it is applied.
      const onTime = scoredHeadline('onTime', T0 + HOUR_MS - 9 * MIN_MS, { tariff: -1, regions: ['CN'] })
      expect(await store.applyBatch(contributionsOf(onTime))).toMatchObject({ applied: 6, late: 0 })
    })

    it('answers a batch applied again (its answer lost) with what it applied as duplicates and what it judged late as late again, each by contribution', async () => {
      const { store } = await create()
      await applyHeadlines(store, [[scoredHeadline('a', T0 + HOUR_MS, { tariff: 1, regions: ['CN'] })]])
      const batch = contributionsOfAll([
        scoredHeadline('onTime', T0 + HOUR_MS - MIN_MS, { tariff: -1, regions: ['CN'] }),
        scoredHeadline('late', T0 + HOUR_MS - 11 * MIN_MS, { tariff: -1, sectors: ['autos'] }),
      ])
      const onTime = batch.filter((c) => c.headlineId === 'onTime')
      const late = batch.filter((c) => c.headlineId === 'late')
      const first = await store.applyBatch(batch)
      // The late headline in the global scope only: its sector is new, nothing there is newer.
      const lateInGlobal = late.filter((c) => c.scope.kind === 'global')
      expect(first).toMatchObject({ applied: onTime.length + late.length - lateInGlobal.length, late: 3 })
      expect(reported(first.lateContributions)).toEqual(reported(lateInGlobal))
      const states = await Promise.all(
        targetsOf(batch).map((t) => store.get(t.dimension, t.scope, T0 + HOUR_MS)),
      )
      const second = await store.applyBatch(batch)
      expect(second).toMatchObject({ applied: 0, late: 0, lateAgain: 3, duplicates: batch.length - 3 })
      expect(reported(second.lateAgainContributions)).toEqual(reported(lateInGlobal))
      expect(reported(second.duplicateContributions)).toEqual(
        reported(batch.filter((c) => !lateInGlobal.includes(c))),
      )
      expect(
        await Promise.all(targetsOf(batch).map((t) => store.get(t.dimension, t.scope, T0 + HOUR_MS))),
      ).toEqual(states)
    })

    it('refuses a batch holding a contribution whose weight or value is outside its domain, naming it, and writes nothing of it', async () => {
      const { store } = await create()
      const CN: Scope = { kind: 'region', id: 'CN' }
      const ok = contributionsOf(scoredHeadline('ok', T0, { tariff: 0.5, regions: ['CN'] }))
      const base = ok.find((c) => c.dimension === 'tariff' && c.scope.kind === 'region')!
      // Weights (or values) of 1e308: two of them overflowed the sums to Infinity. Before, the memory store
      // kept them (its indicator then withheld as invalid_state), the Redis fast path refused the sums.
      for (const [bad, problem] of [
        [{ weight: 1e308 }, 'weight 1e+308 is not a number in [0, 1]'],
        [{ value: 1e308 }, 'value 1e+308 is not a number in [-1, 1]'],
        [{ weight: 1.5 }, 'weight 1.5 is not a number in [0, 1]'],
        [{ weight: -0.5 }, 'weight -0.5 is not a number in [0, 1]'],
        [{ value: -2 }, 'value -2 is not a number in [-1, 1]'],
        [{ weight: Number.NaN }, 'weight NaN is not a number in [0, 1]'],
      ] as const) {
        const twice = [1, 2].map((i) => ({ ...base, ...bad, headlineId: `bad${i}`, eventMs: T0 + i }))
        await expect(store.applyBatch([...ok, ...twice]), problem).rejects.toMatchObject({
          code: 'INTERNAL',
          retriable: false,
          message: `invalid indicator contribution for bad1: ${problem}`,
        })
        await expect(store.applyRuns([twice, ok]), problem).rejects.toMatchObject({ code: 'INTERNAL' })
      }
      expect(await store.get('tariff', CN, T0 + 2)).toBeUndefined()
      expect(await store.get('tariff', { kind: 'global', id: 'all' }, T0 + 2)).toBeUndefined()
      // The bounds themselves are taken.
      const edges = [
        { ...base, headlineId: 'heaviest', weight: 1, value: -1 },
        { ...base, headlineId: 'lightest', weight: 0, value: 1 },
      ]
      expect(await store.applyBatch([...ok, ...edges])).toMatchObject({ applied: ok.length + 2 })
      expect((await store.get('tariff', CN, T0))?.count).toBe(3)
    })

    it('sets a time to live on every indicator it writes', async () => {
      const h = await create()
      await applyHeadlines(h.store, [[scoredHeadline('a', T0, { tariff: 1, regions: ['CN'] })]])
      const { ttlMs } = resolveIndicatorConfig()
      for (const scope of [
        { kind: 'global', id: 'all' },
        { kind: 'region', id: 'CN' },
      ] as Scope[]) {
        const ttl = await h.ttlMs('tariff', scope)
        expect(ttl).toBeGreaterThan(ttlMs - 60_000)
        expect(ttl).toBeLessThanOrEqual(ttlMs)
      }
      expect(await h.ttlMs('tariff', { kind: 'region', id: 'US' })).toBeUndefined()
    })

    it('ranks the top scopes of a kind by buzz and by momentum', async () => {
      const { store } = await create()
      const asOf = T0 + 30 * MIN_MS
      // A namespace born a week before (its born time set by its first apply), so the regions' first
      // headlines are news against real zeros: in a namespace born with them, buzz has no reading yet.
      await applyHeadlines(store, [[scoredHeadline('week-old', asOf - 7 * 24 * HOUR_MS)]])
      const mentions = { CN: 5, US: 3, BR: 1 }
      const headlines = Object.entries(mentions).flatMap(([region, count]) =>
        Array.from({ length: count }, (_, i) =>
          scoredHeadline(`${region}${i}`, asOf - i * MIN_MS, {
            market: region === 'US' ? -0.9 : 0.1,
            regions: [region],
          }),
        ),
      )
      await applyHeadlines(store, [headlines])
      const byBuzz = await store.top('market', 'region', 'buzz', 2, asOf)
      expect(byBuzz.map((u) => [u.scope.id, u.buzz])).toEqual([
        ['CN', 5],
        ['US', 3],
      ])
      const byMomentum = await store.top('market', 'region', 'momentum', 10, asOf)
      expect(byMomentum).toHaveLength(3)
      const magnitudes = byMomentum.map((u) => Math.abs(u.momentum))
      expect(magnitudes).toEqual([...magnitudes].sort((a, b) => b - a))
      expect(byMomentum[0]).toEqual(await store.get('market', byMomentum[0]!.scope, asOf))
    })

    it('folds scopes beyond the cap into other', async () => {
      const { store } = await create({ maxScopesPerKind: 2 })
      await applyHeadlines(store, [
        [
          scoredHeadline('a', T0, { regions: ['CN', 'US'] }),
          scoredHeadline('b', T0, { regions: ['CN', 'US', 'XX', 'YY'] }),
        ],
        [scoredHeadline('c', T0 + MIN_MS, { regions: ['ZZ', 'CN'] })],
      ])
      expect((await store.get('market', { kind: 'region', id: 'CN' }, T0 + MIN_MS))?.count).toBe(3)
      expect(await store.get('market', { kind: 'region', id: 'XX' }, T0 + MIN_MS)).toBeUndefined()
      // b once (for XX and YY), c once (ZZ).
      expect((await store.get('market', { kind: 'region', id: 'other' }, T0 + MIN_MS))?.count).toBe(2)
      const top = await store.top('market', 'region', 'buzz', 10, T0 + MIN_MS)
      expect(top.map((u) => u.scope.id).sort()).toEqual(['CN', 'US'])
    })

    it('reports what it folded into other, by the scope each contribution named, per run', async () => {
      const { store } = await create({ maxScopesPerKind: 2 })
      const folded = (contributions: readonly Contribution[], admitted: readonly string[]) =>
        contributions
          .filter((c) => c.scope.kind === 'region' && !admitted.includes(c.scope.id))
          .map(({ dimension, scope, headlineId }) => ({ dimension, scope, headlineId }))
      const a = contributionsOfAll([scoredHeadline('a', T0, { tariff: 0.5, regions: ['CN', 'US'] })])
      expect((await store.applyBatch(a)).folded).toBeUndefined()
      const b = contributionsOfAll([
        scoredHeadline('b', T0, { tariff: -0.5, regions: ['CN', 'XX', 'YY'], sectors: ['autos'] }),
      ])
      const c = contributionsOfAll([scoredHeadline('c', T0 + MIN_MS, { regions: ['ZZ'] })])
      const [rb, none, rc] = await store.applyRuns([b, a, c])
      // Every contribution to XX and YY, though b counts once in other per dimension.
      expect(rb!.folded).toEqual(folded(b, ['CN']))
      expect(rb!.folded!.length).toBeGreaterThan(0)
      expect(none!.folded).toBeUndefined()
      expect(rc!.folded).toEqual(folded(c, []))
      // Applied again, b is folded again (and a duplicate in other).
      const again = await store.applyBatch(b)
      expect(again.folded).toEqual(folded(b, ['CN']))
      expect(again.applied).toBe(0)
      expect((await store.get('tariff', { kind: 'region', id: 'other' }, T0 + MIN_MS))?.count).toBe(1)
    })

    it('applies runs in one call exactly as one applyBatch each', async () => {
      const { store } = await create()
      const other = store.withNamespace('runs2')
      const series = randomSeries(120, 3 * HOUR_MS, 31)
      // Each run is judged against the runs before it, as consecutive applyBatch calls are.
      const runs = inBatches(series, seededRandom(4), 40).map(contributionsOfAll)
      const oneByOne = []
      for (const run of runs) oneByOne.push(await store.applyBatch(run))
      const together = await other.applyRuns([[], ...runs])
      expect(together[0]).toEqual({ applied: 0, duplicates: 0, late: 0, lateAgain: 0, lateContributions: [] })
      expect(together.slice(1)).toEqual(oneByOne)
      await expectSameIndicators(store, other, contributionsOfAll(series), T0 + 3 * HOUR_MS)
      await other.clear()
    })

    it("reads buzz against its namespace's born time: no reading (0) for a young namespace's steady scope, then near 0; a scope new to it spikes; clear forgets it", async () => {
      const { store } = await create()
      const us = { kind: 'region', id: 'US' } as const
      // 6 headlines an hour from T0 (on the hour), one apply each: a Redis that lost its data, or a first
      // deployment. Against a week of zeros, buzz read 6 at once, and still about 4 twelve hours on.
      const steady = async (id: string, fromMs: number, hours: number) => {
        const read: number[] = []
        for (let i = 0; i < hours * 6; i++) {
          const t = fromMs + i * 10 * MIN_MS
          await applyHeadlines(store, [[scoredHeadline(`${id}${i}`, t, { regions: ['US'] })]])
          read.push((await store.get('market', us, t))!.buzz)
        }
        return read
      }
      const first = await steady('s', T0, 8)
      // Six whole hours known behind the last hour's window from T0 + 7 h on (the 43rd headline).
      expect(first.slice(0, 42)).toEqual(Array(42).fill(0))
      for (const z of first.slice(42)) expect(z).toBeCloseTo(0, 9)
      // A scope new to the namespace: its zeros are real, its first burst is news, once the namespace
      // has 6 whole hours behind the burst's hour (at 8 hours old); at 6 hours old, no reading yet.
      const burst = async (region: string, atMs: number) => {
        await applyHeadlines(store, [
          Array.from({ length: 8 }, (_, i) =>
            scoredHeadline(`${region}${i}`, atMs - i * MIN_MS, { regions: [region] }),
          ),
        ])
        return (await store.get('market', { kind: 'region', id: region }, atMs))!.buzz
      }
      expect(await burst('BR', T0 + 6 * HOUR_MS)).toBe(0)
      const burstAt = T0 + 8 * HOUR_MS
      expect(await burst('CN', burstAt)).toBe(8)
      const [top] = await store.top('market', 'region', 'buzz', 1, burstAt)
      expect([top?.scope.id, top?.buzz]).toEqual(['CN', 8])
      // Cleared (a rebuild's old namespace), it is born again with its next apply.
      await store.clear()
      const again = await steady('t', T0 + 24 * HOUR_MS, 8)
      expect(again.slice(0, 42)).toEqual(Array(42).fill(0))
    })

    it('switches namespaces for a rebuild', async () => {
      const { store } = await create()
      const fresh = store.withNamespace('rebuild2')
      await applyHeadlines(fresh, [[scoredHeadline('a', T0, { regions: ['CN'] })]])
      expect(await store.get('market', { kind: 'region', id: 'CN' }, T0)).toBeUndefined()
      expect((await fresh.get('market', { kind: 'region', id: 'CN' }, T0))?.count).toBe(1)
      expect(await store.activeNamespace()).toBeUndefined()
      await store.activateNamespace('rebuild2')
      expect(await fresh.activeNamespace()).toBe('rebuild2')
      expect(await fresh.clear()).toBeGreaterThan(0)
      expect(await fresh.get('market', { kind: 'region', id: 'CN' }, T0)).toBeUndefined()
    })

    it('keeps the larger event-time watermark of its namespace, whoever raises it', async () => {
      const { store } = await create()
      // Another member's handle on the same namespace, as a second aggregator holds.
      const member = store.withNamespace(store.namespace)
      expect(await store.watermark()).toBeUndefined()
      expect(await store.advanceWatermark(T0 + 5_000)).toBe(T0 + 5_000)
      expect(await member.advanceWatermark(T0 + 3_000)).toBe(T0 + 5_000)
      expect(await member.advanceWatermark(T0 + 7_000)).toBe(T0 + 7_000)
      expect(await store.advanceWatermark(T0)).toBe(T0 + 7_000)
      // Read by a reader without raising it.
      expect(await member.watermark()).toBe(T0 + 7_000)
      // Per namespace: a fresh one starts from what it is given.
      const fresh = store.withNamespace('rebuild3')
      expect(await fresh.advanceWatermark(T0)).toBe(T0)
      await expect(store.advanceWatermark(Number.NaN)).rejects.toThrow(/finite/)
      await fresh.clear()
      expect(await fresh.watermark()).toBeUndefined()
      expect(await fresh.advanceWatermark(T0 - 1)).toBe(T0 - 1)
    })
  })
}

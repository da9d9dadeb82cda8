import { createManualClock } from '@tradepulse/contracts'
import { type Contribution, contributionsOf, type WithheldIndicator } from '@tradepulse/indicators'
import { describe, expect, it } from 'vitest'
import { MIN_MS, scoredHeadline, T0 } from './indicator-fixtures.ts'
import { describeIndicatorStoreConformance } from './indicator-store.conformance.ts'
import { createMemoryIndicatorStore } from './memory-indicator-store.ts'

describeIndicatorStoreConformance('memory', async (options) => {
  const store = createMemoryIndicatorStore({ clock: createManualClock(Date.UTC(2026, 0, 1)), ...options })
  return {
    store,
    ttlMs: async (dimension, scope) => store.ttlMs(dimension, scope),
    cleanup: async () => {},
  }
})

describe('memory indicator store: a damaged reference time', () => {
  it('leaves an indicator out of its reads (get, top) while its reference time is past the clock by more than maxRefAheadMs, naming it, as the Redis store does', async () => {
    const clock = createManualClock(T0)
    const store = createMemoryIndicatorStore({ clock, maxRefAheadMs: MIN_MS })
    const CN = { kind: 'region' as const, id: 'CN' }
    const headline = (id: string, atMs: number, region: string) =>
      contributionsOf(scoredHeadline(id, atMs, { tariff: -0.5, regions: [region] }))
    await store.applyBatch([...headline('a', T0 - MIN_MS, 'CN'), ...headline('b', T0, 'MX')])
    // Only the clock can bring one here: set back an hour, MX's newest event is an hour past it.
    clock.set(T0 - 60 * MIN_MS)
    const withheld: WithheldIndicator[] = []
    expect(await store.get('tariff', { kind: 'region', id: 'MX' }, T0, withheld)).toBeUndefined()
    const top = await store.top('tariff', 'region', 'momentum', 10, T0, withheld)
    expect(top.map((u) => u.scope.id)).toEqual([])
    expect(withheld).toEqual([
      { dimension: 'tariff', scope: { kind: 'region', id: 'MX' }, reason: 'damaged_ref', stored: String(T0) },
      { dimension: 'tariff', scope: CN, reason: 'damaged_ref', stored: String(T0 - MIN_MS) },
      { dimension: 'tariff', scope: { kind: 'region', id: 'MX' }, reason: 'damaged_ref', stored: String(T0) },
    ])
    // Within the bound (a minute past the clock) it is read.
    clock.set(T0 - MIN_MS)
    const none: WithheldIndicator[] = []
    expect((await store.get('tariff', { kind: 'region', id: 'MX' }, T0, none))?.count).toBe(1)
    expect(none).toEqual([])
  })

  it('takes an event-time watermark past the clock by more than maxRefAheadMs as none, and replaces it when raised', async () => {
    const clock = createManualClock(T0)
    const store = createMemoryIndicatorStore({ clock, maxRefAheadMs: MIN_MS })
    expect(await store.advanceWatermark(T0)).toBe(T0)
    clock.set(T0 - 60 * MIN_MS)
    expect(await store.watermark()).toBeUndefined()
    expect(await store.advanceWatermark(T0 - 61 * MIN_MS)).toBe(T0 - 61 * MIN_MS)
    expect(await store.watermark()).toBe(T0 - 61 * MIN_MS)
    // Within the bound the larger stays.
    expect(await store.advanceWatermark(T0 - 65 * MIN_MS)).toBe(T0 - 61 * MIN_MS)
  })
})

describe('memory indicator store: state that reads as no number', () => {
  it('leaves out of every read (get, top) an indicator whose update breaks the IndicatorUpdate contract, naming it with the fields, as the Redis store does; top ranks its n among the others', async () => {
    const store = createMemoryIndicatorStore({ clock: createManualClock(T0) })
    const CN = { kind: 'region' as const, id: 'CN' }
    // Weights of 1e308 (finite: contributionProblem takes them) overflow CN's sums to Infinity, which read
    // as a mean of NaN: before, CN was read with nulls (JSON's NaN), and top's one was CN.
    const huge = (headlineId: string, eventMs: number): Contribution => ({
      dimension: 'tariff',
      scope: CN,
      headlineId,
      eventMs,
      value: 1,
      weight: 1e308,
      sign: 1,
    })
    await store.applyBatch([
      huge('a', T0 - 2 * MIN_MS),
      huge('b', T0 - MIN_MS),
      ...contributionsOf(scoredHeadline('c', T0, { tariff: -0.5, regions: ['MX'] })),
    ])
    const withheld: WithheldIndicator[] = []
    expect(await store.get('tariff', CN, T0, withheld)).toBeUndefined()
    expect(await store.get('tariff', CN, T0)).toBeUndefined() // nothing to tell, nothing told
    const top = await store.top('tariff', 'region', 'momentum', 1, T0, withheld)
    expect(top.map((u) => u.scope.id)).toEqual(['MX'])
    const cn = {
      dimension: 'tariff',
      scope: CN,
      reason: 'invalid_state',
      stored: String(T0 - MIN_MS),
      problem: expect.stringMatching(/^mean\.15m: Invalid input: expected number, received NaN; /),
    }
    expect(withheld).toEqual([cn, cn])

    // The next apply to it takes the sums that are no finite number as absent, reports them, and it reads again.
    const r = await store.applyBatch([{ ...huge('d', T0), weight: 1 }])
    expect(r.damagedFields?.map((d) => [d.dimension, d.scope.id, d.field, d.stored])).toEqual(
      ['w1', 'x1', 'w2', 'x2', 'w3', 'x3'].map((field) => ['tariff', 'CN', field, 'Infinity']),
    )
    const again: WithheldIndicator[] = []
    expect(await store.get('tariff', CN, T0, again)).toMatchObject({ count: 3, weight: { '15m': 1 } })
    expect(again).toEqual([])
  })
})

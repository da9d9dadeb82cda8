import { createManualClock } from '@tradepulse/contracts'
import { type Contribution, contributionsOf, type WithheldIndicator } from '@tradepulse/indicators'
import { describe, expect, it } from 'vitest'
import { HOUR_MS, MIN_MS, scoredHeadline, T0 } from './indicator-fixtures.ts'
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

describe('memory indicator store: contributions that would overflow its sums', () => {
  it("refuses weights and values of 1e308, which overflowed an indicator's sums to Infinity (withheld as invalid_state at every read), and keeps the indicator as it was", async () => {
    const store = createMemoryIndicatorStore({ clock: createManualClock(T0) })
    const CN = { kind: 'region' as const, id: 'CN' }
    const before = contributionsOf(scoredHeadline('c', T0 - 3 * MIN_MS, { tariff: -0.5, regions: ['CN'] }))
    await store.applyBatch(before)
    const read = await store.get('tariff', CN, T0)
    const huge = (headlineId: string, eventMs: number, over: Partial<Contribution>): Contribution => ({
      dimension: 'tariff',
      scope: CN,
      headlineId,
      eventMs,
      value: 1,
      weight: 1,
      sign: 1,
      ...over,
    })
    for (const over of [{ weight: 1e308 }, { value: 1e308 }]) {
      await expect(
        store.applyBatch([huge('a', T0 - 2 * MIN_MS, over), huge('b', T0 - MIN_MS, over)]),
      ).rejects.toMatchObject({
        code: 'INTERNAL',
        retriable: false,
        message: expect.stringMatching(/1e\+308/),
      })
    }
    const withheld: WithheldIndicator[] = []
    expect(await store.get('tariff', CN, T0, withheld)).toEqual(read)
    expect(withheld).toEqual([])
  })
})

describe('memory indicator store: expired entries', () => {
  it('deletes expired states, registries and born times, so a run of days with new scopes each day holds a bounded number of entries (it grew by every scope ever seen, ~2.2 MB a day)', async () => {
    const DAY_MS = 24 * HOUR_MS
    const PER_DAY = 6 // one new scope every 4 hours
    const clock = createManualClock(T0)
    const store = createMemoryIndicatorStore({ clock })
    const old = store.withNamespace('old') // a namespace left behind, as by a rebuild
    const contribution = (id: string): Contribution => ({
      dimension: 'market',
      scope: { kind: 'entity', id },
      headlineId: `h-${id}`,
      eventMs: clock.now(),
      value: 0.3,
      weight: 1,
      sign: 1,
    })
    await old.applyBatch([contribution('left')])
    const held: number[] = []
    for (let day = 0; day < 40; day++) {
      for (let i = 0; i < PER_DAY; i++) {
        clock.advance(DAY_MS / PER_DAY)
        await store.applyBatch([contribution(`E${day}_${i}`)])
      }
      held.push(store.heldEntries())
    }
    // A state lives ~7.1 days (ttlMs) after its write: at most 8 days of scopes, plus the registry and born time.
    const bound = 8 * PER_DAY + 2
    expect(Math.max(...held)).toBeLessThanOrEqual(bound)
    expect(held.at(-1)).toBe(held[19])
    expect(old.heldEntries()).toBe(0)
    // What is left reads as before: the newest scope, and none of the first day's.
    expect((await store.get('market', { kind: 'entity', id: 'E39_5' }, clock.now()))?.count).toBe(1)
    expect(await store.get('market', { kind: 'entity', id: 'E0_0' }, clock.now())).toBeUndefined()
    const top = await store.top('market', 'entity', 'momentum', 100, clock.now())
    expect(top.length).toBe(held.at(-1)! - 2)
  })
})
